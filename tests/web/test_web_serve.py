"""`lookalike serve` as deployed: its own process (the bot's worker processes behind it) on 127.0.0.1 answers the
page, a photo and a bad file, stops on Ctrl+C, and writes no file at all: its working, home and temp folders
stay empty, its DEBUG log holds nothing of the photos (no bytes, no base64, no file names). Without an index it
says what to run and exits with 2."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import settings
from tests.web.support import START_S, ServeProcess, free_port, post_photo, serve_command


def files_under(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def test_serve_answers_stops_and_writes_nothing(named_index: Path, example_photo: Path, tmp_path: Path) -> None:
    work, home, temp = (tmp_path / name for name in ("work", "home", "temp"))
    for folder in (work, home, temp):
        folder.mkdir()
    environ = {"HOME": str(home), "TMPDIR": str(temp), "XDG_CACHE_HOME": "", "LOG_LEVEL": "DEBUG", "WORKERS": "1",
               settings.ONNX_CACHE_ENV: str(settings.onnx_cache_root())}
    photo = example_photo.read_bytes()
    with ServeProcess(["--index", str(named_index)], environ, cwd=work) as served:
        answered = post_photo(f"{served.url}/api/lookup", "private-name.jpg", photo)
        refused = post_photo(f"{served.url}/", "notes-of-someone.txt", b"Shopping list\n- eggs\n")
    log = served.output

    assert served.returncode == 0, log
    status, body = answered
    answer = json.loads(body)
    assert status == 200 and len(answer["faces"][0]["matches"]) == 8 and answer["faces"][0]["named"]
    assert refused[0] == 415 and b'class="error"' in refused[1]
    assert f"The look-alike page is at {served.url}/" in log and '"POST /api/lookup HTTP/1.1" 200' in log
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
