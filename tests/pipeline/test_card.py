"""The result card: 1 to 8 look-alikes, colours calibrated on the threshold, the note, JPEG bytes."""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np
import pytest
from PIL import Image

from pipeline.card import (
    FRAME,
    GAP,
    MARGIN,
    SIMILAR,
    STRONG,
    TITLE_HEIGHT,
    USER_FACE,
    WEAK,
    encode_jpeg,
    render_card,
    similarity_band,
    tile_width,
)

THRESHOLD = 0.4


@dataclass
class FakeMatch:
    rank: int
    identity: int
    similarity: float
    crop: np.ndarray


@pytest.fixture(scope="module")
def face_crop(celeba_photo: np.ndarray) -> np.ndarray:
    """A 112x112 stand-in for an aligned face: the centre square of a shared CelebA photo."""
    height, width = celeba_photo.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    return cv2.resize(celeba_photo[top:top + side, left:left + side], (112, 112))


def matches(crop: np.ndarray, similarities: list[float]) -> list[FakeMatch]:
    return [FakeMatch(rank, 7000 + rank, s, crop) for rank, s in enumerate(similarities, start=1)]


def frame_colour(card: np.ndarray, index: int) -> tuple[int, ...]:
    """The colour in the middle of the top frame edge of look-alike tile `index` (first row)."""
    x = MARGIN + USER_FACE + 2 * GAP + index * (tile_width() + GAP) + tile_width() // 2
    return tuple(int(v) for v in card[MARGIN + TITLE_HEIGHT + FRAME // 2, x])


@pytest.mark.parametrize("count", [1, 3, 8])
def test_card_renders_for_one_to_eight_lookalikes(face_crop: np.ndarray, count: int) -> None:
    card = render_card(face_crop, matches(face_crop, [0.7 - 0.05 * i for i in range(count)]), THRESHOLD)

    assert card.dtype == np.uint8 and card.ndim == 3 and card.shape[2] == 3
    assert card.shape[1] >= 900  # wide enough to read on a phone once scaled to its screen


def test_eight_lookalikes_take_two_rows(face_crop: np.ndarray) -> None:
    one_row = render_card(face_crop, matches(face_crop, [0.5] * 4), THRESHOLD)
    two_rows = render_card(face_crop, matches(face_crop, [0.5] * 8), THRESHOLD)

    assert two_rows.shape[0] > one_row.shape[0]
    assert two_rows.shape[1] == one_row.shape[1]


def test_frames_are_coloured_by_band_around_the_threshold(face_crop: np.ndarray) -> None:
    card = render_card(face_crop, matches(face_crop, [0.62, 0.41, 0.12]), THRESHOLD)

    assert [frame_colour(card, i) for i in range(3)] == [STRONG.colour, SIMILAR.colour, WEAK.colour]


def test_bands_move_with_the_threshold() -> None:
    assert similarity_band(0.45, threshold=0.4) == SIMILAR
    assert similarity_band(0.45, threshold=0.3) == STRONG
    assert similarity_band(0.45, threshold=0.6) == WEAK


def test_every_band_stays_reachable_when_the_threshold_is_near_one() -> None:
    assert [similarity_band(s, threshold=0.97) for s in (0.99, 0.97, 0.90)] == [STRONG, SIMILAR, WEAK]


def test_note_is_drawn_below(face_crop: np.ndarray) -> None:
    found = matches(face_crop, [0.5, 0.45])
    plain = render_card(face_crop, found, THRESHOLD)
    noted = render_card(face_crop, found, THRESHOLD, note="The face is small: matches are less reliable.")

    assert noted.shape[0] > plain.shape[0]
    assert np.array_equal(noted[: plain.shape[0] - MARGIN], plain[: plain.shape[0] - MARGIN])


def test_encode_jpeg_gives_a_decodable_jpeg(face_crop: np.ndarray) -> None:
    card = render_card(face_crop, matches(face_crop, [0.5]), THRESHOLD)
    data = encode_jpeg(card)

    assert data[:2] == b"\xff\xd8"
    decoded = Image.open(io.BytesIO(data))
    assert decoded.format == "JPEG" and decoded.size == (card.shape[1], card.shape[0])


def test_cards_do_not_leak_into_each_other(face_crop: np.ndarray) -> None:
    """The cached template is copied, never drawn on: a card is the same whatever was drawn before it."""
    first = render_card(face_crop, matches(face_crop, [0.62, 0.41, 0.12]), THRESHOLD)
    render_card(face_crop[::-1].copy(), matches(face_crop[:, ::-1].copy(), [0.1, 0.05, 0.01]), THRESHOLD)

    assert np.array_equal(render_card(face_crop, matches(face_crop, [0.62, 0.41, 0.12]), THRESHOLD), first)
