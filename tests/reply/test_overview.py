"""A photo of several faces: numbered 1, 2, ... largest first; the overview tags each face's box with the
number its card carries, and each card shows that face's look-alikes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from index.engine import LookalikeEngine
from index.gallery import Gallery
from pipeline.photo import read_photo
from reply.card import number_label, number_label_origin, overview_scale, render_card
from reply.compare import compare_images
from reply.replier import Replier

# Three gallery photos of three people side by side: each face's best look-alike is its own photo.
PHOTOS = ("000114.jpg", "001004.jpg", "001145.jpg")


@pytest.fixture(scope="module")
def engine(face_pipeline, small_gallery: Gallery) -> LookalikeEngine:
    return LookalikeEngine(face_pipeline, small_gallery)


@pytest.fixture(scope="module")
def side_by_side(data_root: Path) -> np.ndarray:
    photos = [read_photo(data_root / "celeba" / "img_celeba" / name) for name in PHOTOS]
    return np.concatenate([cv2.resize(p, (round(p.shape[1] * 384 / p.shape[0]), 384)) for p in photos], axis=1)


def tag_position(overview: np.ndarray, number: int) -> tuple[int, int]:
    """Where the tag of `number` is on the overview (best template match)."""
    scores = cv2.matchTemplate(overview, np.asarray(number_label(number)), cv2.TM_SQDIFF)
    _, _, best, _ = cv2.minMaxLoc(scores)
    return best


def test_overview_numbers_match_the_cards(engine: LookalikeEngine, side_by_side: np.ndarray) -> None:
    result = engine.lookup(side_by_side)
    overview = Replier.overview(side_by_side, result)
    scale = overview_scale(side_by_side.shape)

    assert overview is not None
    assert [face.number for face in result.faces] == list(range(1, len(result.faces) + 1))
    for face in result.faces:
        label = number_label(face.number)
        assert tag_position(overview, face.number) == number_label_origin(face.face.box * scale, label,
                                                                          overview.shape)
        expected = render_card(face.face.crop, face.matches, engine.gallery.scale, number=face.number)
        assert np.array_equal(Replier(engine).card(face), expected)
    photo_of_face = {face.matches[0].image_id: int(face.face.box[0] + face.face.box[2]) // 2
                     for face in result.faces[:3]}
    assert sorted(photo_of_face, key=photo_of_face.get) == list(PHOTOS)  # card k shows face k's look-alikes


def test_a_photo_of_one_face_has_no_overview_and_no_number(engine: LookalikeEngine, celeba_photo) -> None:
    result = engine.lookup(celeba_photo)

    assert len(result.faces) == 1 and result.faces[0].number is None and result.found == 1
    assert Replier.overview(celeba_photo, result) is None


def test_faces_beyond_the_limit_are_counted_as_found(engine: LookalikeEngine, side_by_side: np.ndarray) -> None:
    result = engine.lookup(side_by_side, max_faces=2)
    overview = Replier.overview(side_by_side, result)

    assert len(result.faces) == 2 and result.found == 2 + result.skipped >= 3
    assert len(result.skipped_boxes) == result.skipped
    assert overview is not None and tag_position(overview, 3) != number_label_origin(
        result.skipped_boxes[0] * overview_scale(side_by_side.shape), number_label(3), overview.shape)


class CountingEmbedder:
    """The pipeline's embedder, counting the crops it embeds."""

    def __init__(self, embedder) -> None:
        self.embedder = embedder
        self.config = embedder.config
        self.crops = 0

    def embed(self, crops: np.ndarray, batch_size: int = 64) -> np.ndarray:
        self.crops += len(crops)
        return self.embedder.embed(crops, batch_size=batch_size)


def test_the_face_limit_bounds_the_work_and_keeps_the_answer(engine: LookalikeEngine, side_by_side: np.ndarray) -> None:
    """MAX_FACES bounds the embeddings (and landmarks) as well as the cards; /compare of one photo embeds two."""
    counting = CountingEmbedder(engine.pipeline.embedder)
    bounded = dataclasses.replace(engine, pipeline=dataclasses.replace(engine.pipeline, embedder=counting))
    every = engine.lookup(side_by_side)
    result = Replier(bounded, max_faces=2).lookup(side_by_side)
    assert counting.crops == 2 and result.found == every.found >= 3
    assert [face.number for face in result.faces] == [1, 2]
    assert [face.matches[0].image_id for face in result.faces] == [face.matches[0].image_id for face in every.faces[:2]]
    counting.crops = 0
    compare_images(bounded.pipeline, [side_by_side])
    assert counting.crops == 2
