"""index.build on real CelebA photos: what the index directory holds, and photos it must skip."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from index.build import build_index
from index.gallery import CROPS_FILE, INDEX_FILE, MANIFEST_FILE, METADATA_FILE, Gallery


def test_index_directory_holds_index_metadata_crops_and_manifest(small_index: Path, face_pipeline) -> None:
    for name in (INDEX_FILE, METADATA_FILE, CROPS_FILE, MANIFEST_FILE):
        assert (small_index / name).is_file()
    manifest = json.loads((small_index / MANIFEST_FILE).read_text())
    metadata = pd.read_csv(small_index / METADATA_FILE, dtype={"image_id": str})

    assert manifest["count"] == len(metadata) == 13
    assert manifest["embedding_size"] == face_pipeline.embedder.config.embedding_size
    assert manifest["weights_fingerprint"] == face_pipeline.fingerprint
    assert set(manifest["sources"]) == {"wild", "align"}
    assert metadata.image_id.is_unique  # 000093.jpg is in both folders and indexed once, from the wild photo
    assert metadata.set_index("image_id").at["000093.jpg", "source"] == "wild"
    assert (metadata[metadata.source == "align"].box_from == "geometry").all()
    assert metadata.set_index("image_id").at["000114.jpg", "identity"] == 7256


def test_crops_come_back_as_aligned_faces(small_gallery: Gallery) -> None:
    crops = [small_gallery.crop(row) for row in range(len(small_gallery))]

    assert all(crop.shape == (112, 112, 3) and crop.dtype == np.uint8 for crop in crops)
    assert small_gallery.crops.nbytes / len(crops) < 12_000  # JPEG bytes, not raw 37,632-byte arrays


def make_celeba_root(root: Path, photos: dict[str, Path | bytes | np.ndarray]) -> Path:
    """A CelebA root in the official layout holding the given photos (all identity 1, partition 0)."""
    folder = root / "celeba" / "img_celeba"
    folder.mkdir(parents=True)
    (root / "celeba" / "Anno").mkdir()
    (root / "celeba" / "Eval").mkdir()
    for name, content in photos.items():
        if isinstance(content, Path):
            shutil.copy(content, folder / name)
        elif isinstance(content, bytes):
            (folder / name).write_bytes(content)
        else:
            Image.fromarray(content).save(folder / name)
    for table, value in (("Anno/identity_CelebA.txt", 1), ("Eval/list_eval_partition.txt", 0)):
        (root / "celeba" / table).write_text("".join(f"{name} {value}\n" for name in photos))
    return root


def test_photos_without_a_face_are_listed_and_corrupt_files_skipped(
    face_pipeline, data_root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = make_celeba_root(tmp_path / "data", {
        "000001.jpg": data_root / "celeba" / "img_celeba" / "000114.jpg",
        "000002.jpg": np.full((240, 320, 3), 128, np.uint8),
        "000003.jpg": b"\xff\xd8\xff\xe0 this is not really a JPEG",
    })
    with caplog.at_level(logging.WARNING):
        manifest = build_index(face_pipeline, root, tmp_path / "index", sources=["wild"])

    assert manifest["count"] == 1
    assert manifest["photos_without_face"] == ["000002.jpg"]
    assert manifest["photos_without_face_count"] == 1
    assert manifest["corrupt_files_skipped"] == ["000003.jpg"]
    assert "000003.jpg" in caplog.text
    assert len(Gallery.load(tmp_path / "index")) == 1
