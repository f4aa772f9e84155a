"""The result card: the user's aligned face beside its look-alikes, one image per face, readable on a phone.

Shared by the command line and the bot, so both send the same picture. Each look-alike gets a frame whose
colour says how strong the resemblance is, calibrated around the embedder's verification threshold (the
cosine similarity above which the embedder calls two faces the same person), not a fixed scale:

    weak      similarity <  threshold - w
    similar   threshold - w <= similarity < threshold + w
    strong    similarity >= threshold + w

with w = 0.1, narrowed to half the room left above the threshold when the threshold is near 1, so every
band stays reachable. Drawn with PIL in a few milliseconds: what is the same on every card with as many
look-alikes (title, ranks, legend, note) is drawn once into a cached template, which each card copies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Protocol

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

BAND_HALF_WIDTH = 0.1
COLUMNS = 4
TILE = 168  # look-alike crops drawn at 1.5x their 112 px
USER_FACE = 280
FRAME = 6
GAP = 14
MARGIN = 20
LABEL_HEIGHT = 62
TITLE_HEIGHT = 48
BACKGROUND = (255, 255, 255)
TEXT = (33, 33, 33)
MUTED_TEXT = (100, 100, 100)
NOTE_BACKGROUND = (255, 243, 205)


class CardMatch(Protocol):
    """What the card needs from one look-alike (index.gallery.Match has these)."""

    rank: int
    identity: int
    similarity: float
    crop: np.ndarray


@dataclass(frozen=True)
class Band:
    name: str
    colour: tuple[int, int, int]


WEAK = Band("weak", (150, 150, 150))
SIMILAR = Band("similar", (230, 145, 20))
STRONG = Band("strong", (40, 160, 70))


def band_half_width(threshold: float) -> float:
    return min(BAND_HALF_WIDTH, (1.0 - threshold) / 2)


def similarity_band(similarity: float, threshold: float) -> Band:
    """The colour band of a similarity, relative to the verification threshold."""
    width = band_half_width(threshold)
    if similarity >= threshold + width:
        return STRONG
    if similarity >= threshold - width:
        return SIMILAR
    return WEAK


def similarity_text(similarity: float, threshold: float) -> str:
    """Two decimals, or three when the bands are too narrow for two to tell them apart."""
    return f"{similarity:.{2 if band_half_width(threshold) >= 0.05 else 3}f}"


def legend_entries(threshold: float) -> list[tuple[Band, str]]:
    """Each band with the similarity range it covers, strongest first."""
    width = band_half_width(threshold)
    low, high = similarity_text(threshold - width, threshold), similarity_text(threshold + width, threshold)
    return [(STRONG, f"strong  >= {high}"), (SIMILAR, f"similar  {low}-{high}"), (WEAK, f"weak  < {low}")]


@cache
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled scalable font: always there, no system fonts needed; cached, used read-only."""
    return ImageFont.load_default(size=size)


def wrap_text(text: str, typeface: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> list[str]:
    """Greedy word wrap so that every line fits in `width` pixels."""
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and typeface.getlength(candidate) <= width:
            lines[-1] = candidate
        else:
            lines.append(word)
    return lines


def enlarged(crop: np.ndarray, side: int) -> Image.Image:
    """The crop scaled up to side x side, bicubic (OpenCV's: 4x faster than Pillow's here, same look)."""
    return Image.fromarray(cv2.resize(np.ascontiguousarray(crop), (side, side), interpolation=cv2.INTER_CUBIC))


def tile_width() -> int:
    return TILE + 2 * FRAME


def tile_height() -> int:
    return TILE + 2 * FRAME + LABEL_HEIGHT


def draw_match(card: Image.Image, draw: ImageDraw.ImageDraw, match: CardMatch, threshold: float,
               origin: tuple[int, int]) -> None:
    """One look-alike: its crop in a band-coloured frame, similarity, then its CelebA identity (the rank,
    the same on every card, is in the template)."""
    x, y = origin
    band = similarity_band(match.similarity, threshold)
    draw.rectangle((x, y, x + tile_width() - 1, y + TILE + 2 * FRAME - 1), fill=band.colour)
    card.paste(enlarged(match.crop, TILE), (x + FRAME, y + FRAME))
    label_y = y + TILE + 2 * FRAME + 4
    big = font(26)
    similarity = similarity_text(match.similarity, threshold)
    draw.text((x + tile_width() - big.getlength(similarity), label_y), similarity, font=big, fill=band.colour)
    draw.text((x, label_y + 32), f"CelebA #{match.identity}", font=font(20), fill=MUTED_TEXT)


def draw_legend(draw: ImageDraw.ImageDraw, threshold: float, origin: tuple[int, int]) -> None:
    """Colour swatches with their similarity ranges and the threshold they are calibrated on."""
    x, y = origin
    small = font(20)
    for band, label in legend_entries(threshold):
        draw.rectangle((x, y + 2, x + 20, y + 22), fill=band.colour)
        draw.text((x + 28, y), label, font=small, fill=TEXT)
        x += 28 + int(small.getlength(label)) + 28
    draw.text((x, y), f"(same person >= {similarity_text(threshold, threshold)})", font=small, fill=MUTED_TEXT)


@dataclass(frozen=True)
class Layout:
    """Where things go on a card with `ranks` look-alikes and an optional note."""

    width: int
    height: int
    top: int  # of the face and the grid
    grid_x: int
    legend_y: int
    note_lines: tuple[str, ...]
    note_height: int

    def tile_origin(self, index: int) -> tuple[int, int]:
        row, column = divmod(index, COLUMNS)
        return self.grid_x + column * (tile_width() + GAP), self.top + row * (tile_height() + GAP)


@lru_cache(maxsize=64)
def card_layout(count: int, note: str | None) -> Layout:
    columns = max(1, min(COLUMNS, count))
    rows = max(1, -(-count // COLUMNS))
    grid_width = columns * tile_width() + (columns - 1) * GAP
    grid_height = rows * tile_height() + (rows - 1) * GAP
    body_height = max(USER_FACE + 40, grid_height)
    width = max(MARGIN * 2 + USER_FACE + 2 * GAP + grid_width, 900)
    note_lines = tuple(wrap_text(note, font(22), width - 2 * MARGIN - 20)) if note else ()
    note_height = 28 * len(note_lines) + 20 if note_lines else 0
    legend_y = MARGIN + TITLE_HEIGHT + body_height + GAP
    height = legend_y + 30 + (GAP + note_height if note_lines else 0) + MARGIN
    return Layout(width, height, MARGIN + TITLE_HEIGHT, MARGIN + USER_FACE + 2 * GAP, legend_y, note_lines,
                  note_height)


@lru_cache(maxsize=16)
def card_template(ranks: tuple[int, ...], threshold: float, note: str | None) -> Image.Image:
    """The parts of a card that depend only on the ranks shown, the threshold and the note; never modified."""
    layout = card_layout(len(ranks), note)
    card = Image.new("RGB", (layout.width, layout.height), BACKGROUND)
    draw = ImageDraw.Draw(card)
    draw.text((MARGIN, MARGIN), "Your CelebA look-alikes", font=font(32), fill=TEXT)
    draw.text((MARGIN, layout.top + USER_FACE + 6), "You", font=font(26), fill=TEXT)
    for index, rank in enumerate(ranks):
        x, y = layout.tile_origin(index)
        draw.text((x, y + TILE + 2 * FRAME + 4), f"#{rank}", font=font(26), fill=TEXT)
    draw_legend(draw, threshold, (MARGIN, layout.legend_y))
    if layout.note_lines:
        note_y = layout.legend_y + 30 + GAP
        draw.rectangle((MARGIN, note_y, layout.width - MARGIN, note_y + layout.note_height), fill=NOTE_BACKGROUND)
        draw.multiline_text((MARGIN + 10, note_y + 10), "\n".join(layout.note_lines), font=font(22), fill=TEXT,
                            spacing=6)
    return card


def render_card(face_crop: np.ndarray, matches: Sequence[CardMatch], threshold: float,
                note: str | None = None) -> np.ndarray:
    """The card for one face as an RGB uint8 array: the face, up to 8 look-alikes, a legend, an optional note.

    `threshold` is the embedder's verification threshold (FacePipeline.verification_threshold); `note` is a
    warning about the photo (for example a small or blurred face), drawn at the bottom when given.
    """
    card = card_template(tuple(match.rank for match in matches), threshold, note).copy()
    layout = card_layout(len(matches), note)
    draw = ImageDraw.Draw(card)
    card.paste(enlarged(face_crop, USER_FACE), (MARGIN, layout.top))
    for index, match in enumerate(matches):
        draw_match(card, draw, match, threshold, layout.tile_origin(index))
    return np.asarray(card)


def encode_jpeg(image: np.ndarray, quality: int = 90) -> bytes:
    """RGB uint8 array -> JPEG bytes (for sending or saving a card).

    OpenCV's encoder: the same libjpeg-turbo output as Pillow's, a little faster, and it lets go of Python's
    GIL while it works, so the bot's worker threads encode cards in parallel (Pillow's holds it)."""
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"could not encode a {image.shape} image as JPEG")
    return encoded.tobytes()
