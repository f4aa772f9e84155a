"""Bot fixtures: a small real look-alike service (the real local worker processes over the small test index) and a
few small test photos, as bytes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from bad_photos import crowd, encode
from PIL import Image

from bot.service import LookalikeService
from index.engine import LookalikeEngine
from index.gallery import Gallery
from pipeline import settings
from reply.replier import Replier
from serving import Inference, InferenceConfig, InProcessPool, LocalPool

ONE_FACE = "000114.jpg"  # one clear, frontal face
SAME_PERSON = "000825.jpg"  # another photo of ONE_FACE's person (CelebA identity 7256)
OTHER_FACE = "004074.jpg"  # another person's clear, frontal face


def jpeg_bytes(image: Image.Image) -> bytes:
    return encode(image, quality=90)


@pytest.fixture(scope="session")
def inference_config(small_index: Path) -> InferenceConfig:
    """What the bot's worker processes load in the tests: the small real test index, the committed weights."""
    return InferenceConfig(index_dir=small_index, weights_dir=settings.weights_dir(), max_faces=10)


@pytest.fixture(scope="session")
def bot_service(inference_config: InferenceConfig) -> Iterator[LookalikeService]:
    """The service over two local worker processes, models loaded and warmed up as at start-up."""
    service = LookalikeService(LocalPool(inference_config, workers=2))
    yield service
    service.close()


@pytest.fixture(scope="session")
def in_process_service(face_pipeline, small_gallery: Gallery) -> Iterator[LookalikeService]:
    """The same service with the models in this process (for tests that watch the reply path at work)."""
    service = LookalikeService(InProcessPool(Inference(Replier(LookalikeEngine(face_pipeline, small_gallery))), 2))
    yield service
    service.close()


@pytest.fixture(scope="session")
def celeba_dir(data_root: Path) -> Path:
    return data_root / "celeba" / "img_celeba"


@pytest.fixture(scope="session")
def face_jpeg(celeba_dir: Path) -> bytes:
    return (celeba_dir / ONE_FACE).read_bytes()


@pytest.fixture(scope="session")
def same_person_jpeg(celeba_dir: Path) -> bytes:
    return (celeba_dir / SAME_PERSON).read_bytes()


@pytest.fixture(scope="session")
def other_face_jpeg(celeba_dir: Path) -> bytes:
    return (celeba_dir / OTHER_FACE).read_bytes()


@pytest.fixture(scope="session")
def eight_faces_jpeg(face_photo: Image.Image) -> bytes:
    """Eight copies of the one face, 4 x 2: the detector finds all eight."""
    return crowd(face_photo, faces=8, columns=4)


@pytest.fixture(scope="session")
def face_photo(celeba_dir: Path) -> Image.Image:
    """The one-face photo, decoded (RGB), for building awkward variants of it (bad_photos.py)."""
    return Image.open(celeba_dir / ONE_FACE).convert("RGB")


@pytest.fixture(scope="session")
def two_faces_jpeg(celeba_dir: Path) -> bytes:
    """Two people side by side, the second one shrunk: exactly two faces, the larger on the left."""
    first = Image.open(celeba_dir / ONE_FACE)
    second = Image.open(celeba_dir / OTHER_FACE)
    second = second.resize((second.width * 3 // 5, second.height * 3 // 5), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (first.width + second.width, max(first.height, second.height)), "white")
    canvas.paste(first, (0, 0))
    canvas.paste(second, (first.width, 0))
    return jpeg_bytes(canvas)


@pytest.fixture(scope="session")
def no_face_jpeg() -> bytes:
    """A flat grey picture: nothing to find."""
    return jpeg_bytes(Image.new("RGB", (320, 240), (128, 128, 128)))


@pytest.fixture(scope="session")
def tiny_face_jpeg(celeba_dir: Path) -> bytes:
    """The one-face photo shrunk into the corner of a large blank canvas: a face too small to match well."""
    photo = Image.open(celeba_dir / ONE_FACE)
    small = photo.resize((photo.width // 4, photo.height // 4), Image.Resampling.LANCZOS)  # face about 30 px
    canvas = Image.new("RGB", (400, 400), (255, 255, 255))
    canvas.paste(small, (0, 0))
    return jpeg_bytes(canvas)


@pytest.fixture(scope="session")
def corrupt_jpeg(face_jpeg: bytes) -> bytes:
    """A JPEG cut off after a third of its bytes: the header reads, the pixels do not."""
    return face_jpeg[: len(face_jpeg) // 3]
