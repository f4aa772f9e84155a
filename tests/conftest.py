"""Shared fixtures: the data root, the committed pipeline, a few real CelebA photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline import settings


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The data root by the project's one rule (pipeline/settings.py); tests that need data skip without it."""
    try:
        root = settings.data_root()
    except settings.MissingDataRootError as error:
        pytest.skip(str(error))
    if not (root / "celeba").is_dir():
        pytest.skip(f"no CelebA data under {root}")
    return root


@pytest.fixture(scope="session")
def face_pipeline():
    """The pipeline with the committed weights ($LOOKALIKE_WEIGHTS_DIR overrides, for development)."""
    from pipeline import FacePipeline

    return FacePipeline.load(settings.weights_dir())


@pytest.fixture(scope="session")
def celeba_photo(data_root: Path) -> np.ndarray:
    """A test-partition CelebA photo with one clear face."""
    from pipeline.image import read_rgb

    return read_rgb(data_root / "celeba" / "img_celeba" / "182709.jpg")


# A small real gallery: 10 in-the-wild photos (identity 7256 three times, 7252 twice; 000093.jpg is also in
# the aligned folder, so it tests that a photo is indexed once) and 3 aligned photos. 10 identities in all.
SMALL_GALLERY_PHOTOS = [
    "000114.jpg", "000825.jpg", "009399.jpg",  # identity 7256
    "001145.jpg", "001568.jpg",  # identity 7252
    "001004.jpg", "001053.jpg", "001084.jpg", "001085.jpg", "000093.jpg",
    "000001.jpg", "000002.jpg", "000003.jpg",  # aligned photos only
]


@pytest.fixture(scope="session")
def small_index(face_pipeline, data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index directory built by index.build from SMALL_GALLERY_PHOTOS."""
    from index.build import build_index

    out_dir = tmp_path_factory.mktemp("small_index")
    build_index(face_pipeline, data_root, out_dir, image_ids=SMALL_GALLERY_PHOTOS)
    return out_dir


@pytest.fixture(scope="session")
def small_gallery(small_index: Path):
    from index.gallery import Gallery

    return Gallery.load(small_index)


# A small index with a named gallery (index/extra.py): the small CelebA gallery's photos plus ten named
# people of faces_extra; used by the index and the bot tests.
# The first ten people, by name, with five portraits each in faces_extra's tmdb set (one of some also has
# photos in another set): one photo of each is held out of the named gallery.
NAMED_PEOPLE = ("Abigail Breslin", "Adeline Rudolph", "Adria Arjona", "Ai Kayano", "Akshay Kumar", "Alan Ritchson",
                "Alan Tudyk", "Alexa Davalos", "Alexander Skarsgård", "Alexandra Daddario")


@pytest.fixture(scope="session")
def named_people() -> tuple[str, ...]:
    return NAMED_PEOPLE


@pytest.fixture(scope="session")
def named_config():
    from index.extra import ExtraConfig

    return ExtraConfig(names=NAMED_PEOPLE, unlabelled_people=200, unseen_named_share=0.0)


@pytest.fixture(scope="session")
def named_index(face_pipeline, data_root: Path, small_gallery, named_config,
                tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small gallery's photos again, with the named gallery of NAMED_PEOPLE and both scales."""
    if not (data_root / "faces_extra").is_dir():
        pytest.skip("no faces_extra in the data root")
    from index.build import build_index

    out_dir = tmp_path_factory.mktemp("named_index")
    build_index(face_pipeline, data_root, out_dir, image_ids=list(small_gallery.image_ids), named=True,
                extra=named_config)
    return out_dir


@pytest.fixture(scope="session")
def named_engine(face_pipeline, named_index: Path):
    from index.engine import LookalikeEngine, named_gallery
    from index.gallery import Gallery

    gallery = Gallery.load(named_index)
    return LookalikeEngine(face_pipeline, gallery, named_gallery(gallery, face_pipeline, named_index))


@pytest.fixture
def redis_server(tmp_path: Path):
    """A fresh real redis-server on 127.0.0.1 (tests/redis_server.py); skips, saying why, where none is installed."""
    from tests.redis_server import RedisServer, redis_server_binary

    if redis_server_binary() is None:
        pytest.skip("redis-server is not installed: bash scripts/setup.sh installs it (Debian package, as root)")
    with RedisServer(tmp_path / "redis") as server:
        yield server
