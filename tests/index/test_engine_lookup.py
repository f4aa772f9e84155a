"""LookalikeEngine: a photo's own face comes back first; limits; concurrent lookups; stale indexes refused."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from index.engine import IndexMismatchError, LookalikeEngine, check_same_weights
from index.gallery import Gallery
from pipeline.photo import read_photo


@pytest.fixture(scope="module")
def engine(face_pipeline, small_gallery: Gallery) -> LookalikeEngine:
    return LookalikeEngine(face_pipeline, small_gallery)


def test_a_gallery_photo_finds_its_own_face_first(engine: LookalikeEngine, data_root: Path) -> None:
    result = engine.lookup(read_photo(data_root / "celeba" / "img_celeba" / "000114.jpg"))

    best = result.faces[0].matches[0]
    assert (best.image_id, best.identity) == ("000114.jpg", 7256)
    assert best.similarity > 0.95
    assert len(result.faces[0].matches) == 8


def test_faces_beyond_max_faces_are_counted_not_searched(engine: LookalikeEngine, celeba_photo) -> None:
    found = len(engine.pipeline(celeba_photo))
    result = engine.lookup(celeba_photo, max_faces=0)

    assert result.faces == [] and result.skipped == found


def test_concurrent_lookups_give_the_serial_answers(engine: LookalikeEngine, data_root: Path) -> None:
    """The bot looks up from worker threads; photos of different shapes give the detector different grids."""
    names = ("000114.jpg", "001004.jpg", "001145.jpg")  # 384x323, 266x384, 247x384
    photos = [read_photo(data_root / "celeba" / "img_celeba" / name) for name in names]
    serial = [largest_face_answer(engine, photo) for photo in photos]
    with ThreadPoolExecutor(max_workers=6) as pool:
        parallel = list(pool.map(lambda photo: largest_face_answer(engine, photo), photos * 4))

    for (box, image_id, similarity), (serial_box, serial_id, serial_similarity) in zip(parallel, serial * 4,
                                                                                       strict=True):
        assert box == pytest.approx(serial_box, abs=0.5)
        assert image_id == serial_id
        assert similarity == pytest.approx(serial_similarity, abs=1e-3)  # float sums vary with threads


def largest_face_answer(engine: LookalikeEngine, photo) -> tuple[list[float], str, float]:
    face_matches = engine.lookup(photo, top=1).faces[0]
    best = face_matches.matches[0]
    return face_matches.face.box.tolist(), best.image_id, best.similarity




def test_index_built_with_other_weights_is_refused(face_pipeline, small_gallery: Gallery,
                                                   small_index: Path) -> None:
    stale = Gallery(small_gallery.index, small_gallery.metadata, small_gallery.crops,
                    {**small_gallery.manifest, "weights_fingerprint": "other weights"})

    with pytest.raises(IndexMismatchError, match="lookalike build-index"):
        check_same_weights(stale, face_pipeline, small_index)
