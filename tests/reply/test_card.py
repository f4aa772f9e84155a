"""The result card: 1 to 8 look-alikes, colours on the look-alike scale, the named look-alike, the note, JPEG
bytes, legibility; the overview that numbers the faces."""

from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np
import pytest
from PIL import Image

from index.bands import Band, LookalikeScale
from index.scale import band_shares
from pipeline.image import encode_jpeg
from reply.card import (
    BAND_COLOURS,
    ENGLISH,
    FRAME,
    GAP,
    LEGEND_FONT,
    MARGIN,
    NAME_FONT,
    NOTE_FONT,
    OVERVIEW_SIDE,
    SENT_MAX_SIDE,
    TITLE_HEIGHT,
    USER_FACE,
    CardText,
    font,
    number_label,
    number_label_origin,
    overview_scale,
    render_card,
    render_overview,
    tile_width,
)

SCALE = LookalikeScale(strong=0.6, similar=0.45)


@dataclass
class FakeMatch:
    rank: int
    identity: int
    similarity: float
    crop: np.ndarray
    name: str = ""


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
    card = render_card(face_crop, matches(face_crop, [0.7 - 0.05 * i for i in range(count)]), SCALE)

    assert card.dtype == np.uint8 and card.ndim == 3 and card.shape[2] == 3
    assert card.shape[1] >= 900  # wide enough to read on a phone once scaled to its screen


def test_eight_lookalikes_take_two_rows(face_crop: np.ndarray) -> None:
    one_row = render_card(face_crop, matches(face_crop, [0.5] * 4), SCALE)
    two_rows = render_card(face_crop, matches(face_crop, [0.5] * 8), SCALE)

    assert two_rows.shape[0] > one_row.shape[0]
    assert two_rows.shape[1] == one_row.shape[1]


def test_frames_are_coloured_by_band_on_the_scale(face_crop: np.ndarray) -> None:
    card = render_card(face_crop, matches(face_crop, [0.62, 0.5, 0.12]), SCALE)

    assert [frame_colour(card, i) for i in range(3)] == [BAND_COLOURS[band] for band in Band]


@pytest.mark.parametrize("centre", [0.25, 0.5, 0.8])
def test_strong_is_what_only_one_unseen_person_in_ten_reaches(centre: float) -> None:
    """Synthetic closest-look-alike similarities of unseen people, wherever an embedder puts them: 10% of
    them strong, 40% similar, half weak; their 8th look-alikes, lower, almost never strong."""
    rng = np.random.default_rng(0)
    best = rng.normal(centre, 0.05, 20_000)
    eighth = best - rng.uniform(0.05, 0.15, best.shape)
    scale = LookalikeScale.from_best(best)

    shares = band_shares(best, scale)
    assert shares["strong"] == pytest.approx(0.1, abs=0.01)
    assert shares["similar"] == pytest.approx(0.4, abs=0.01)
    assert shares["weak"] == pytest.approx(0.5, abs=0.01)
    assert band_shares(eighth, scale)["strong"] < 0.01
    assert scale.similar == pytest.approx(centre, abs=0.01)


def test_the_shares_are_settings() -> None:
    best = np.random.default_rng(1).uniform(0.2, 0.6, 20_000)
    scale = LookalikeScale.from_best(best, strong_share=0.02, similar_share=0.2)

    assert band_shares(best, scale)["strong"] == pytest.approx(0.02, abs=0.005)
    assert band_shares(best, scale)["similar"] == pytest.approx(0.18, abs=0.01)


def test_the_legend_states_the_rule_in_words_without_the_same_person_threshold() -> None:
    legend = [rule for _, rule in ENGLISH.legend(LookalikeScale(0.6, 0.45, strong_share=0.1, similar_share=0.5))]

    assert legend == ["strong: closer than 90% of people's closest look-alike",
                      "similar: closer than 50% of people's closest look-alike",
                      "weak: as close as most people's look-alikes"]
    assert not any("same person" in rule for rule in legend)


def test_cards_stay_legible_at_phone_width(face_crop: np.ndarray) -> None:
    """The card is sent at its own size (no side above Telegram's 1,280 px), and its legend, names and note
    are drawn at 18 px or more in that size."""
    named = FakeMatch(1, 0, 0.5, face_crop, name="Shah Rukh Khan")
    card = render_card(face_crop, matches(face_crop, [0.5] * 8), SCALE, note="A small face: less reliable.",
                       number=12, named=named)

    assert max(card.shape[:2]) <= SENT_MAX_SIDE
    assert min(LEGEND_FONT, NAME_FONT, NOTE_FONT) >= 18
    assert font(NAME_FONT).size >= 18


def test_the_named_look_alike_gets_its_own_row(face_crop: np.ndarray) -> None:
    found = matches(face_crop, [0.5] * 8)
    plain = render_card(face_crop, found, SCALE)
    named = render_card(face_crop, found, SCALE, named=FakeMatch(1, 0, 0.55, face_crop[::-1].copy(), "Amy Acker"))

    assert named.shape[0] > plain.shape[0] and named.shape[1] == plain.shape[1]
    assert np.array_equal(named[:MARGIN + TITLE_HEIGHT + 300], plain[:MARGIN + TITLE_HEIGHT + 300])


def test_the_number_and_the_words_are_the_callers(face_crop: np.ndarray) -> None:
    found = matches(face_crop, [0.5, 0.45])
    first = render_card(face_crop, found, SCALE, number=1)
    second = render_card(face_crop, found, SCALE, number=2)
    russian = render_card(face_crop, found, SCALE, number=1,
                          text=CardText(numbered_title="Лицо {number}: похожие знаменитости CelebA"))

    title = slice(MARGIN, MARGIN + TITLE_HEIGHT)
    assert not np.array_equal(first[title], second[title])
    assert not np.array_equal(first[title], russian[title])
    assert np.array_equal(first[MARGIN + TITLE_HEIGHT:], second[MARGIN + TITLE_HEIGHT:])


def test_card_without_a_scale_has_grey_frames_and_no_legend(face_crop: np.ndarray) -> None:
    card = render_card(face_crop, matches(face_crop, [0.9, 0.1]), None)

    assert [frame_colour(card, i) for i in range(2)] == [BAND_COLOURS[Band.WEAK]] * 2
    assert card.shape[0] < render_card(face_crop, matches(face_crop, [0.9, 0.1]), SCALE).shape[0]


def test_note_is_drawn_below(face_crop: np.ndarray) -> None:
    found = matches(face_crop, [0.5, 0.45])
    plain = render_card(face_crop, found, SCALE)
    noted = render_card(face_crop, found, SCALE, note="The face is small: matches are less reliable.")

    assert noted.shape[0] > plain.shape[0]
    assert np.array_equal(noted[: plain.shape[0] - MARGIN], plain[: plain.shape[0] - MARGIN])


def test_encode_jpeg_gives_a_decodable_jpeg(face_crop: np.ndarray) -> None:
    card = render_card(face_crop, matches(face_crop, [0.5]), SCALE)
    data = encode_jpeg(card)

    assert data[:2] == b"\xff\xd8"
    decoded = Image.open(io.BytesIO(data))
    assert decoded.format == "JPEG" and decoded.size == (card.shape[1], card.shape[0])


def test_cards_do_not_leak_into_each_other(face_crop: np.ndarray) -> None:
    """The cached template is copied, never drawn on: a card is the same whatever was drawn before it."""
    first = render_card(face_crop, matches(face_crop, [0.62, 0.41, 0.12]), SCALE)
    render_card(face_crop[::-1].copy(), matches(face_crop[:, ::-1].copy(), [0.1, 0.05, 0.01]), SCALE)

    assert np.array_equal(render_card(face_crop, matches(face_crop, [0.62, 0.41, 0.12]), SCALE), first)


def test_overview_tags_each_box_with_its_number(celeba_photo: np.ndarray) -> None:
    photo = np.concatenate([celeba_photo, celeba_photo], axis=1)
    width = celeba_photo.shape[1]
    boxes = [np.array([60, 80, 200, 260], np.float32), np.array([width + 60, 80, width + 200, 260], np.float32)]
    overview = render_overview(photo, boxes, [2, 1])

    assert max(overview.shape[:2]) == OVERVIEW_SIDE
    assert [tag_at(overview, box * overview_scale(photo.shape)) for box in boxes] == [2, 1]


def tag_at(overview: np.ndarray, box: np.ndarray) -> int | None:
    """The number whose tag is on `box` (overview pixels), of 1-40; None when there is none."""
    for number in range(1, 41):
        label = number_label(number)
        x, y = number_label_origin(box, label, overview.shape)
        if np.array_equal(overview[y:y + label.height, x:x + label.width], np.asarray(label)):
            return number
    return None
