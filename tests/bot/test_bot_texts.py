from __future__ import annotations

import logging

import numpy as np
import pytest

from bot import texts
from bot.app import RedactingFormatter
from index.gallery import Match
from pipeline.photo import PhotoProblem
from reply.quality import QualityIssue

MATCHES = [Match(rank=r, identity=1000 + r, image_id=f"{r:06d}.jpg", similarity=0.7 - r / 20,
                 crop=np.zeros((112, 112, 3), np.uint8)) for r in range(1, 9)]


@pytest.mark.parametrize("problem", list(PhotoProblem))
def test_every_photo_problem_has_a_message(problem: PhotoProblem) -> None:
    assert texts.photo_problem(problem, max_file_bytes=20 * 1024 * 1024)


def test_the_size_limit_is_stated_in_megabytes() -> None:
    assert "5 MB" in texts.photo_problem(PhotoProblem.TOO_LARGE_FILE, max_file_bytes=5 * 1024 * 1024)


def test_caption_lists_the_eight_lookalikes_with_similarities() -> None:
    caption = texts.card_caption(2, 3, MATCHES, [])
    lines = caption.splitlines()
    assert lines[0].startswith("Face 2 of 3")
    assert lines[1] == "1. celebrity #1001 · similarity 0.65"
    assert len(lines) == 9
    assert texts.card_caption(1, 1, MATCHES, []).startswith("Your 8 closest")
    assert len(caption) <= 1024  # Telegram's caption limit


def test_quality_issues_reach_the_card_and_the_caption() -> None:
    issues = [QualityIssue.TOO_SMALL, QualityIssue.BLURRED]
    assert texts.card_text().note_for([]) is None
    assert texts.card_text().note_for(issues) == "Match may be poor: small face, blurred"
    caption = texts.card_caption(1, 1, MATCHES, issues)
    assert "may be poor" in caption and "come closer" in caption and "hold the camera still" in caption
    assert len(caption) <= 1024


def test_log_lines_lose_the_token_and_the_file_path_after_it() -> None:
    token = "123456:AAE-secret"
    record = logging.LogRecord("aiohttp", logging.ERROR, __file__, 1,
                               "GET http://127.0.0.1/file/bot%s/photos/file_7.jpg failed", (token,), None)
    line = RedactingFormatter(token).format(record)
    assert token not in line and "file_7" not in line
    assert line.endswith("GET http://127.0.0.1/file/bot<redacted> failed")


def test_the_overview_says_what_was_found_and_how_many_got_no_card() -> None:
    assert texts.faces_found(2, 2) == "I found 2 faces."
    assert texts.faces_found(13, 10) == "I found 13 faces: here are the 10 largest (3 more)."
    assert texts.faces_found(3, 1) == "I found 3 faces: here is the largest (2 more)."
