"""Privacy: after a run with photos (and failures that get logged), no image is on disk in the working or temp
directory, and the bot's DEBUG log holds no token, no Telegram file path and no image data; and run_bot.py,
serving photos, writes no file at all, not even in its home folder (ONNX Runtime's telemetry is off).

The runs happen in an empty working directory with TMPDIR (and tempfile's cached choice, or the process's
HOME) pointed at empty directories, so every file found there afterwards was written during the run.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import bad_photos
import pytest
from fake_bot_api import DOWNLOAD, TOKEN, FakeBotAPI, Fault
from harness import BotProcess, bot_process, cards_for, running_bot
from PIL import Image

from bot import texts
from bot.app import configure_logging
from bot.config import Settings
from bot.service import LookalikeService
from pipeline import settings

ALICE, BOB, CAROL, DAVE, ERIN = 401, 402, 403, 404, 405
IMAGE_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")
MAX_FILES_SCANNED = 10_000


def is_image(head: bytes) -> bool:
    webp = head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    return webp or head.startswith(IMAGE_SIGNATURES)


def image_files_under(root: Path) -> list[Path]:
    """Files under `root` that start like a JPEG, PNG, GIF or WebP."""
    found = []
    for count, path in enumerate(root.rglob("*")):
        assert count < MAX_FILES_SCANNED, f"more than {MAX_FILES_SCANNED} files under {root}"
        if path.is_file():
            with path.open("rb") as file:
                if is_image(file.read(12)):
                    found.append(path)
    return found


@dataclass
class Scratch:
    """The run's working directory and temp directory, both empty at the start."""

    work: Path
    temp: Path

    def images(self) -> list[Path]:
        return image_files_under(self.work) + image_files_under(self.temp)


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Scratch:
    dirs = Scratch(work=tmp_path / "work", temp=tmp_path / "temp")
    dirs.work.mkdir()
    dirs.temp.mkdir()
    monkeypatch.chdir(dirs.work)
    monkeypatch.setenv("TMPDIR", str(dirs.temp))
    monkeypatch.setattr(tempfile, "tempdir", None)  # gettempdir() reads TMPDIR again
    assert Path(tempfile.gettempdir()) == dirs.temp
    return dirs


class RecordList(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class BotLog:
    """The bot's log as it writes it (its own handler and formatter), and the raw records behind it."""

    written: io.StringIO = field(default_factory=io.StringIO)
    raw: RecordList = field(default_factory=RecordList)

    def raw_text(self) -> str:
        """Each record's message and traceback, unformatted: what any other log handler would get."""
        plain = logging.Formatter("%(message)s")
        return "\n".join(plain.format(record) for record in self.raw.records)


@pytest.fixture
def bot_log() -> Iterator[BotLog]:
    """Logging configured as run_bot.py does, at DEBUG; the root logger is restored afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    log = BotLog()
    configure_logging(Settings(bot_token=TOKEN, log_level="DEBUG"))
    (handler,) = root.handlers
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(log.written)
    root.addHandler(log.raw)
    try:
        yield log
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def secrets_in(text: str, api: FakeBotAPI) -> list[str]:
    """The token, file paths, file URLs and image bytes (JPEG's start, as text or escaped) found in `text`."""
    candidates = [TOKEN, "/file/bot", *api.file_paths, "\xff\xd8", "\\xff\\xd8", "JFIF"]
    return [candidate for candidate in candidates if candidate in text]


def test_no_image_on_disk_and_no_secret_in_the_debug_log(scratch: Scratch, bot_log: BotLog,
                                                         bot_service: LookalikeService, face_photo: Image.Image,
                                                         face_jpeg: bytes, two_faces_jpeg: bytes) -> None:
    async def scenario() -> FakeBotAPI:
        async with running_bot(bot_service) as api:
            api.inject("getFile", Fault.malformed())
            api.inject("sendPhoto", Fault.disconnect())
            for _ in range(4):  # one download fails every attempt: "send it again", and a log line
                api.inject(DOWNLOAD, Fault.bad_gateway())
            api.send(api.photo_message(ALICE, face_jpeg))
            await api.wait_for(lambda: api.texts(ALICE), timeout_s=30)
            api.send(api.photo_message(BOB, two_faces_jpeg),
                     api.document_message(CAROL, bad_photos.png_48_bit(face_photo), "me.png", "image/png"),
                     api.document_message(DAVE, bad_photos.truncated_jpeg(face_photo), "cut.jpg", "image/jpeg"),
                     api.photo_message(ERIN, bad_photos.webp(face_photo)))
            await api.wait_for(lambda: cards_for(api, BOB, 2) and cards_for(api, CAROL, 1) and api.texts(DAVE)
                               and cards_for(api, ERIN, 1), timeout_s=30)
            return api

    api = asyncio.run(scenario())
    assert len(api.file_paths) >= 5 and len(api.downloads) == 4  # ALICE's download failed
    assert scratch.images() == []
    written = bot_log.written.getvalue()
    assert " DEBUG " in written  # DEBUG lines, and the failed download, were logged
    assert re.search(r"WARNING bot\.handlers\.photos: Could not download a photo: download failed", written)
    assert api.texts(ALICE) == [texts.download_failed()]
    assert secrets_in(written, api) == []
    assert secrets_in(bot_log.raw_text(), api) == []  # not even before the bot's formatter redacts
    assert max(len(line) for line in written.splitlines()) < 1000


def test_the_disk_scan_finds_an_image_in_the_temp_directory(scratch: Scratch, face_photo: Image.Image) -> None:
    """The scan above can fail: an image written through tempfile, or into the working directory, is found."""
    with tempfile.NamedTemporaryFile(suffix=".tmp", delete=False) as file:
        file.write(bad_photos.webp(face_photo))
    Path("nested").mkdir()
    Path("nested/card").write_bytes(bad_photos.encode(face_photo, "PNG"))
    assert sorted(scratch.images()) == sorted([Path(file.name), scratch.work / "nested" / "card"])


def files_under(root: Path) -> list[Path]:
    return sorted(root.rglob("*"))


def test_serving_photos_writes_no_file_at_all(small_index: Path, face_jpeg: bytes, two_faces_jpeg: bytes,
                                             same_person_jpeg: bytes, tmp_path: Path) -> None:
    """run_bot.py with HOME, TMPDIR and its working directory pointed at empty folders answers a photo, a
    photo of two faces, an album and a /compare; afterwards all three folders are still empty. (The models'
    ONNX files are read from the cache they were exported to, as in a deployment after scripts/setup.sh.)"""
    home, temp, work = tmp_path / "home", tmp_path / "temp", tmp_path / "work"
    for folder in (home, temp, work):
        folder.mkdir()
    environ = {"HOME": str(home), "TMPDIR": str(temp), "XDG_CACHE_HOME": "",
               settings.ONNX_CACHE_ENV: str(settings.onnx_cache_root())}

    async def scenario() -> BotProcess:
        async with FakeBotAPI() as api, bot_process(api, small_index, work, environ) as bot:
            api.send(api.photo_message(ALICE, face_jpeg), api.photo_message(BOB, two_faces_jpeg),
                     *api.album(api.photo_message(CAROL, face_jpeg), api.photo_message(CAROL, face_jpeg)),
                     *api.album(api.photo_message(DAVE, face_jpeg, caption="/compare"),
                                api.photo_message(DAVE, same_person_jpeg)))
            await api.wait_for(lambda: cards_for(api, ALICE, 1) and cards_for(api, BOB, 2)
                               and cards_for(api, CAROL, 2) and cards_for(api, DAVE, 1)
                               or bot.returncode is not None, timeout_s=120)
        return bot

    bot = asyncio.run(scenario())
    assert not bot.stopped_by_itself and bot.returncode == 0, bot.log
    assert files_under(home) == [] and files_under(temp) == [] and files_under(work) == []
