"""Helpers of the web tests: settings, the app served from a thread, multipart bodies built by hand."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import FormData, web
from aiohttp.test_utils import TestClient, TestServer

from reply.card import CardText
from reply.replier import Reply
from serving.inference import ComparedFaces, GalleryScales
from serving.pool import InProcessPool
from tests.redis_server import free_port
from web.config import WebSettings

T = TypeVar("T")

# Generous limits for the tests that do not test them: many photos from one client (127.0.0.1).
TEST_SETTINGS = WebSettings(photos_per_minute=6000, burst=1000, max_photos=50)


def settings_with(**changes: Any) -> WebSettings:
    """TEST_SETTINGS with some settings changed."""
    return replace(TEST_SETTINGS, **changes)


class LiveServer:
    """An app served on 127.0.0.1 (a free port) by its own event loop in a thread of the test process."""

    def __init__(self, app: web.Application) -> None:
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(app)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.port = self.call(self.start())

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    async def start(self) -> int:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        return self.runner.addresses[0][1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.call(self.runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


async def with_client(app: web.Application, scenario: Callable[[TestClient], Awaitable[T]]) -> T:
    """`scenario(client)` against the app served by aiohttp's test server (127.0.0.1, a free port)."""
    async with TestClient(TestServer(app)) as client:
        return await scenario(client)


def form(*photos: tuple[str, bytes], field: str = "photo") -> FormData:
    """A multipart form with one file part per (file name, bytes), as a browser sends the page's form."""
    data = FormData()
    for name, content in photos:
        data.add_field(field, content, filename=name, content_type="application/octet-stream")
    return data


BOUNDARY = "lookalike-test-boundary"
MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def part_head(name: str = "photo.jpg") -> bytes:
    """The start of a multipart body up to the first byte of one photo part's content."""
    return (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="photo"; filename="{name}"\r\n'
            "Content-Type: image/jpeg\r\n\r\n").encode()


def part_tail() -> bytes:
    return f"\r\n--{BOUNDARY}--\r\n".encode()


async def stalled_body(first: bytes, resume: asyncio.Event) -> AsyncIterator[bytes]:
    """A chunked multipart body: `first` (after the part's head), then nothing until `resume` is set; a server
    that answers before the end of the body answers while it waits."""
    yield part_head() + first
    await resume.wait()
    yield part_tail()


class GatedPool:
    """The real pool, each answer held until the test opens the gate (or failing, when told to)."""

    def __init__(self, inner: InProcessPool, failure: Exception | None = None) -> None:
        self.inner, self.failure = inner, failure
        self.gate = asyncio.Event()
        self.waiting = 0

    @property
    def scales(self) -> GalleryScales:
        return self.inner.scales

    async def reply(self, photo: bytes, text: CardText) -> Reply:
        self.waiting += 1
        await self.gate.wait()
        if self.failure is not None:
            raise self.failure
        return await self.inner.reply(photo, text)

    async def compare(self, photos: Sequence[bytes]) -> ComparedFaces:
        return await self.inner.compare(photos)

    def close(self) -> None:
        pass


START_S = 180  # spawning the worker processes and loading the models, on a busy machine
LOOKALIKE = Path(sys.executable).with_name("lookalike")


def serve_command(*options: str) -> list[str]:
    command = [str(LOOKALIKE)] if LOOKALIKE.exists() else [sys.executable, "-m", "cli.main"]
    return [*command, "serve", *options]


def wait_until_served(url: str, process: subprocess.Popen) -> None:
    """Until `url` answers 200 (AssertionError after START_S, or when the process exits first)."""
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        assert process.poll() is None, "lookalike serve exited while starting"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"the page was not served within {START_S} s")


class ServeProcess:
    """`lookalike serve` on a free port of 127.0.0.1 in its own process, with `environ` over this one's; on exit,
    stopped with Ctrl+C (SIGINT), its `output` (stdout and stderr) and `returncode` kept."""

    def __init__(self, options: list[str], environ: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = serve_command("--port", str(self.port), *options)
        self.environ = {**os.environ, **(environ or {})}
        self.cwd = cwd
        self.output = ""
        self.returncode: int | None = None

    def __enter__(self) -> ServeProcess:
        self.process = subprocess.Popen(self.command, cwd=self.cwd, env=self.environ, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT)
        try:
            wait_until_served(f"{self.url}/", self.process)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.process.send_signal(signal.SIGINT)
        output, _ = self.process.communicate(timeout=60)
        self.output, self.returncode = output.decode(errors="replace"), self.process.returncode


def post_photo(url: str, name: str, content: bytes) -> tuple[int, bytes]:
    """POST one photo as the page's form, with the standard library (no event loop); (status, body)."""
    body = part_head(name) + content + part_tail()
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
