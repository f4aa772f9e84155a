"""Web fixtures: the reply path over the small real named index in serving's pool, the app served on
127.0.0.1 from a thread of the test process, headless Chromium, and the photos the tests upload."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cli.main import EXAMPLE_PHOTO
from reply.replier import Replier
from serving.inference import Inference
from serving.pool import InProcessPool
from tests.web.browser import chromium, missing_browser
from tests.web.support import TEST_SETTINGS, LiveServer
from web.app import create_app

ONE_FACE = "000114.jpg"  # CelebA photos with one clear frontal face: two of one person, one of another
SAME_PERSON = "000825.jpg"
OTHER_FACE = "004074.jpg"


@pytest.fixture(scope="session")
def web_pool(named_engine) -> Iterator[InProcessPool]:
    """The worker pool over the small named index (CelebA look-alikes and the closest named celebrity), in this
    process: serving's InProcessPool, the same interface as the worker processes of `lookalike serve`."""
    inference = Inference(Replier(named_engine))
    inference.warm_up()
    pool = InProcessPool(inference, workers=2)
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def live_url(web_pool: InProcessPool) -> Iterator[str]:
    """The app with generous limits, running on 127.0.0.1 for the browser tests."""
    server = LiveServer(create_app(web_pool, TEST_SETTINGS))
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def browser_available() -> None:
    reason = missing_browser()
    if reason is not None:
        pytest.skip(reason)


@pytest.fixture()
def browser(browser_available: None) -> Iterator:
    """A fresh headless Chromium (English), desktop width."""
    with chromium() as driver:
        yield driver


@pytest.fixture(scope="session")
def example_photo() -> Path:
    return EXAMPLE_PHOTO


@pytest.fixture(scope="session")
def celeba_dir(data_root: Path) -> Path:
    return data_root / "celeba" / "img_celeba"


@pytest.fixture(scope="session")
def group_photo(celeba_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three people side by side (three one-face CelebA photos): three faces."""
    photos = [np.asarray(Image.open(celeba_dir / name).convert("RGB").resize((256, 384)))
              for name in (ONE_FACE, "001004.jpg", "001145.jpg")]
    path = tmp_path_factory.mktemp("photos") / "group.jpg"
    Image.fromarray(np.concatenate(photos, axis=1)).save(path, quality=90)
    return path


@pytest.fixture(scope="session")
def text_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("files") / "notes.txt"
    path.write_text("Shopping list\n- eggs\n- milk\n")
    return path


@pytest.fixture(scope="session")
def face_photo(celeba_dir: Path) -> Path:
    return celeba_dir / ONE_FACE


@pytest.fixture(scope="session")
def same_person_photo(celeba_dir: Path) -> Path:
    return celeba_dir / SAME_PERSON


@pytest.fixture(scope="session")
def other_face_photo(celeba_dir: Path) -> Path:
    return celeba_dir / OTHER_FACE
