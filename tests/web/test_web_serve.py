"""`lookalike serve` as deployed: its own process (the bot's worker processes behind it) on 127.0.0.1 answers the
page, a photo and a bad file, stops on Ctrl+C, and writes no file at all: its working, home and temp folders
stay empty, its DEBUG log holds nothing of the photos (no bytes, no base64, no file names). Without an index it
says what to run and exits with 2."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from pipeline import settings
from tests.web.support import BOUNDARY, part_head, part_tail

START_S = 180  # spawning the worker processes and loading the models, on a busy machine
LOOKALIKE = Path(sys.executable).with_name("lookalike")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_command(*options: str) -> list[str]:
    command = [str(LOOKALIKE)] if LOOKALIKE.exists() else [sys.executable, "-m", "cli.main"]
    return [*command, "serve", *options]


def post(url: str, name: str, content: bytes) -> tuple[int, bytes]:
    body = part_head(name) + content + part_tail()
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_until_served(url: str, process: subprocess.Popen) -> None:
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


def files_under(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def test_serve_answers_stops_and_writes_nothing(named_index: Path, example_photo: Path, tmp_path: Path) -> None:
    work, home, temp = (tmp_path / name for name in ("work", "home", "temp"))
    for folder in (work, home, temp):
        folder.mkdir()
    port = free_port()
    environ = {**os.environ, "HOME": str(home), "TMPDIR": str(temp), "XDG_CACHE_HOME": "", "LOG_LEVEL": "DEBUG",
               "WORKERS": "1", settings.ONNX_CACHE_ENV: str(settings.onnx_cache_root())}
    process = subprocess.Popen(serve_command("--port", str(port), "--index", str(named_index)), cwd=work,
                               env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    photo = example_photo.read_bytes()
    try:
        wait_until_served(f"{url}/", process)
        answered = post(f"{url}/api/lookup", "private-name.jpg", photo)
        refused = post(f"{url}/", "notes-of-someone.txt", b"Shopping list\n- eggs\n")
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    log = output.decode(errors="replace")

    assert process.returncode == 0, log
    status, body = answered
    answer = json.loads(body)
    assert status == 200 and len(answer["faces"][0]["matches"]) == 8 and answer["faces"][0]["named"]
    assert refused[0] == 415 and b'class="error"' in refused[1]
    assert f"The look-alike page is at http://127.0.0.1:{port}/" in log and '"POST /api/lookup HTTP/1.1" 200' in log
    assert files_under(work) == files_under(home) == files_under(temp) == []
    for secret in ("private-name", "notes-of-someone", "Shopping", base64.b64encode(photo[:60]).decode()[:40],
                   base64.b64encode(photo[1000:1060]).decode()[:40], "\\xff\\xd8", "127.0.0.1 "):
        assert secret not in log, secret


def test_serve_without_an_index_says_what_to_run(tmp_path: Path) -> None:
    result = subprocess.run(serve_command("--port", str(free_port()), "--index", str(tmp_path / "nothing")),
                            capture_output=True, text=True, timeout=START_S, cwd=tmp_path,
                            env={**os.environ, "WORKERS": "1"})

    assert result.returncode == 2
    assert "lookalike build-index" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [[sys.executable, "-m", "web"], serve_command()])
def test_both_commands_take_the_same_options(command: list[str]) -> None:
    result = subprocess.run([*command, "--help"], capture_output=True, text=True, timeout=60, check=True)

    for option in ("--host", "--port", "--index", "--weights", "--workers"):
        assert option in result.stdout
