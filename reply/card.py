"""The result card: the user's aligned face beside its look-alikes, one image per face, readable on a phone;
and, for a photo of several faces, the overview that numbers them.

Shared by the command line and the bot, so both send the same pictures. Each look-alike gets a frame whose
colour places its similarity on a look-alike scale measured at the index build (index/scale.py): how close
people who are not in the gallery get to their own closest look-alike. With the default shares,

    strong    closer than 90% of those people's closest look-alike (rare: one person in ten gets one)
    similar   closer than half of them
    weak      below that: as close as most people's look-alikes

The card says this in words (CardText: English by default, any language by passing another CardText). The
embedder's same-person threshold is not on the card: a look-alike is not a claim that it is the same person.
Below the 8 CelebA look-alikes the card can show the closest named celebrity, coloured on its own gallery's
scale. Drawn with PIL in a few milliseconds: what is the same on every card with as many look-alikes (title,
ranks, legend, note) is drawn once into a cached template, which each card copies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from index.bands import Band, LookalikeScale
from index.gallery import Match
from reply.quality import QualityIssue

COLUMNS = 4
TILE = 168  # look-alike crops drawn at 1.5x their 112 px
USER_FACE = 280
NAMED_TILE = 140
FRAME = 6
GAP = 14
MARGIN = 20
LABEL_HEIGHT = 62
TITLE_HEIGHT = 48
BACKGROUND = (255, 255, 255)
TEXT = (33, 33, 33)
MUTED_TEXT = (100, 100, 100)
NOTE_BACKGROUND = (255, 243, 205)
# Text sizes in pixels of the card as it is sent (no wider than SENT_MAX_SIDE, so Telegram does not shrink it):
# phones show a card about 1.1 times smaller than that, and text below 18 px would no longer read easily.
TITLE_FONT = 32
SIMILARITY_FONT = 26
NAME_FONT = 22
LEGEND_FONT = 22
NOTE_FONT = 22
SENT_MAX_SIDE = 1280
LEGEND_LINE = 30


# Each band's frame colour on the cards.
BAND_COLOURS = {Band.STRONG: (40, 160, 70), Band.SIMILAR: (230, 145, 20), Band.WEAK: (150, 150, 150)}


@dataclass(frozen=True)
class CardText:
    """Every word on a card and on the overview (English by default; the bot passes translations).

    `{number}`, `{identity}`, `{name}` and `{percent}` are filled in; `{percent}` is the share of unseen people
    whose closest look-alike is less similar than the band's start, with its sign ("90%": the texts hold no
    "%", which gettext tools would take for a printf conversion)."""

    title: str = "Your CelebA look-alikes"
    numbered_title: str = "Face {number}: your CelebA look-alikes"
    you: str = "You"
    celeba_person: str = "CelebA #{identity}"
    named: str = "Closest named celebrity: {name}"
    strong: str = "strong: closer than {percent} of people's closest look-alike"
    similar: str = "similar: closer than {percent} of people's closest look-alike"
    weak: str = "weak: as close as most people's look-alikes"
    note: str = "Match may be poor: {issues}"
    small_face: str = "small face"
    turned_head: str = "turned head"
    blurred: str = "blurred"

    def note_for(self, issues: Sequence[QualityIssue]) -> str | None:
        """The short warning drawn on a face's card, or None for a good face."""
        if not issues:
            return None
        words = {QualityIssue.TOO_SMALL: self.small_face, QualityIssue.TURNED: self.turned_head,
                 QualityIssue.BLURRED: self.blurred}
        return self.note.format(issues=", ".join(words[issue] for issue in issues))

    def legend(self, scale: LookalikeScale) -> list[tuple[Band, str]]:
        """Each band with its rule in words, strongest first."""
        return [(Band.STRONG, self.strong.format(percent=f"{round(100 * (1 - scale.strong_share))}%")),
                (Band.SIMILAR, self.similar.format(percent=f"{round(100 * (1 - scale.similar_share))}%")),
                (Band.WEAK, self.weak)]


ENGLISH = CardText()


FONT_FILE = Path(__file__).resolve().parent / "assets" / "DejaVuSans.ttf"  # Latin and Cyrillic (assets/README.md)


@cache
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans, shipped with the package (no system fonts needed), so that the card's words can be Russian as
    well as English; cached, used read-only."""
    return ImageFont.truetype(str(FONT_FILE), size=size)


@lru_cache(maxsize=4096)
def wrap_text(text: str, typeface: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> tuple[str, ...]:
    """Greedy word wrap so that every line fits in `width` pixels (cached: the same texts come back on every
    card, and `font` gives the same typeface object for a size)."""
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and typeface.getlength(candidate) <= width:
            lines[-1] = candidate
        else:
            lines.append(word)
    return tuple(lines)


@lru_cache(maxsize=8192)
def text_mask(text: str, size: int) -> tuple[Image.Image, float]:
    """`text` drawn once at `size` px as an "L" mask (as ImageDraw.text would draw it at the mask's origin), and
    its advance width. The texts that change from card to card (similarities, CelebA numbers, names, titles)
    come back often, and FreeType rendering was most of a card's drawing time: a pasted mask costs a tenth.
    Never modified; at most a few KB each."""
    typeface = font(size)
    _, _, right, bottom = typeface.getbbox(text)
    mask = Image.new("L", (max(1, int(right) + 1), max(1, int(bottom) + 1)), 0)
    ImageDraw.Draw(mask).text((0, 0), text, font=typeface, fill=255)
    return mask, typeface.getlength(text)


def draw_text(card: Image.Image, origin: tuple[float, float], text: str, size: int, colour: tuple[int, ...]) -> None:
    """`text` at `origin` in `colour`, as ImageDraw.text draws it, from the cached mask."""
    mask, _ = text_mask(text, size)
    card.paste(colour, (round(origin[0]), round(origin[1])), mask)


def text_length(text: str, size: int) -> float:
    return text_mask(text, size)[1]


def enlarged(crop: np.ndarray, side: int) -> Image.Image:
    """The crop scaled up to side x side, bicubic (OpenCV's: 4x faster than Pillow's here, same look)."""
    return Image.fromarray(cv2.resize(np.ascontiguousarray(crop), (side, side), interpolation=cv2.INTER_CUBIC))


def tile_width() -> int:
    return TILE + 2 * FRAME


def tile_height() -> int:
    return TILE + 2 * FRAME + LABEL_HEIGHT


def similarity_text(similarity: float) -> str:
    return f"{similarity:.2f}"


def band_of(similarity: float, scale: LookalikeScale | None) -> Band:
    """The similarity's band on `scale`; every frame is grey on an index built without a scale."""
    return scale.band(similarity) if scale is not None else Band.WEAK


def person_label(match: Match, text: CardText) -> str:
    """A named look-alike's name, else its CelebA identity number."""
    return match.name or text.celeba_person.format(identity=match.identity)


def draw_framed(card: Image.Image, draw: ImageDraw.ImageDraw, crop: np.ndarray, side: int, colour: tuple[int, ...],
                origin: tuple[int, int]) -> None:
    x, y = origin
    draw.rectangle((x, y, x + side + 2 * FRAME - 1, y + side + 2 * FRAME - 1), fill=colour)
    card.paste(enlarged(crop, side), (x + FRAME, y + FRAME))


def draw_match(card: Image.Image, draw: ImageDraw.ImageDraw, match: Match, scale: LookalikeScale | None,
               text: CardText, origin: tuple[int, int]) -> None:
    """One look-alike: its crop in a band-coloured frame, similarity, then who it is (the rank, the same on
    every card, is in the template)."""
    x, y = origin
    band = band_of(match.similarity, scale)
    draw_framed(card, draw, match.crop, TILE, BAND_COLOURS[band], origin)
    label_y = y + TILE + 2 * FRAME + 4
    similarity = similarity_text(match.similarity)
    draw_text(card, (x + tile_width() - text_length(similarity, SIMILARITY_FONT), label_y), similarity,
              SIMILARITY_FONT, BAND_COLOURS[band])
    draw_text(card, (x, label_y + 32), person_label(match, text), NAME_FONT, MUTED_TEXT)


def draw_named(card: Image.Image, draw: ImageDraw.ImageDraw, match: Match, scale: LookalikeScale | None,
               text: CardText, layout: Layout) -> None:
    """The closest named celebrity: photo, name and similarity, in the row below the grid."""
    band = band_of(match.similarity, scale)
    draw_framed(card, draw, match.crop, NAMED_TILE, BAND_COLOURS[band], (MARGIN, layout.named_y))
    x = MARGIN + NAMED_TILE + 2 * FRAME + GAP
    lines = wrap_text(text.named.format(name=match.name), font(TITLE_FONT), layout.width - x - MARGIN)
    for number, line in enumerate(lines):
        draw_text(card, (x, layout.named_y + 8 + number * (TITLE_FONT + 6)), line, TITLE_FONT, TEXT)
    below = layout.named_y + 8 + len(lines) * (TITLE_FONT + 6) + 4
    draw_text(card, (x, below), similarity_text(match.similarity), SIMILARITY_FONT, BAND_COLOURS[band])


def draw_legend(draw: ImageDraw.ImageDraw, legend: tuple[tuple[Band, str], ...], layout: Layout) -> None:
    """Colour swatches with their rules in words, one band a line (wrapped when long)."""
    y = layout.legend_y
    typeface = font(LEGEND_FONT)
    for band, rule in legend:
        draw.rectangle((MARGIN, y + 4, MARGIN + 20, y + 24), fill=BAND_COLOURS[band])
        for line in wrap_text(rule, typeface, layout.width - 2 * MARGIN - 28):
            draw.text((MARGIN + 28, y), line, font=typeface, fill=TEXT)
            y += LEGEND_LINE


@dataclass(frozen=True)
class Layout:
    """Where things go on a card with `count` look-alikes, an optional named look-alike, legend and note."""

    width: int
    height: int
    top: int  # of the face and the grid
    grid_x: int
    named_y: int  # of the named look-alike's row (the legend's, when there is none)
    legend_y: int
    note_lines: tuple[str, ...]
    note_y: int
    note_height: int

    def tile_origin(self, index: int) -> tuple[int, int]:
        row, column = divmod(index, COLUMNS)
        return self.grid_x + column * (tile_width() + GAP), self.top + row * (tile_height() + GAP)


def legend_height(legend: tuple[tuple[Band, str], ...], width: int) -> int:
    typeface = font(LEGEND_FONT)
    return LEGEND_LINE * sum(len(wrap_text(rule, typeface, width - 2 * MARGIN - 28)) for _, rule in legend)


@lru_cache(maxsize=64)
def card_layout(count: int, named: bool, legend: tuple[tuple[Band, str], ...], note: str | None) -> Layout:
    columns = max(1, min(COLUMNS, count))
    rows = max(1, -(-count // COLUMNS))
    grid_width = columns * tile_width() + (columns - 1) * GAP
    grid_height = rows * tile_height() + (rows - 1) * GAP
    body_height = max(USER_FACE + 40, grid_height)
    width = max(MARGIN * 2 + USER_FACE + 2 * GAP + grid_width, 900)
    note_lines = tuple(wrap_text(note, font(NOTE_FONT), width - 2 * MARGIN - 20)) if note else ()
    note_height = 28 * len(note_lines) + 20 if note_lines else 0
    named_y = MARGIN + TITLE_HEIGHT + body_height + GAP
    legend_y = named_y + (NAMED_TILE + 2 * FRAME + GAP if named else 0)
    note_y = legend_y + legend_height(legend, width) + GAP
    height = note_y + (note_height + GAP if note_lines else 0) + MARGIN - GAP
    return Layout(width, height, MARGIN + TITLE_HEIGHT, MARGIN + USER_FACE + 2 * GAP, named_y, legend_y, note_lines,
                  note_y, note_height)


@lru_cache(maxsize=32)
def card_template(ranks: tuple[int, ...], you: str, named: bool, legend: tuple[tuple[Band, str], ...],
                  note: str | None) -> Image.Image:
    """The parts of a card that depend only on the ranks shown, its words, legend and note; never modified.
    The title, which carries the face's number, is drawn on each card, so that cards of every number share one
    template."""
    layout = card_layout(len(ranks), named, legend, note)
    card = Image.new("RGB", (layout.width, layout.height), BACKGROUND)
    draw = ImageDraw.Draw(card)
    draw.text((MARGIN, layout.top + USER_FACE + 6), you, font=font(SIMILARITY_FONT), fill=TEXT)
    for index, rank in enumerate(ranks):
        x, y = layout.tile_origin(index)
        draw.text((x, y + TILE + 2 * FRAME + 4), f"#{rank}", font=font(SIMILARITY_FONT), fill=TEXT)
    draw_legend(draw, legend, layout)
    if layout.note_lines:
        draw.rectangle((MARGIN, layout.note_y, layout.width - MARGIN, layout.note_y + layout.note_height),
                       fill=NOTE_BACKGROUND)
        draw.multiline_text((MARGIN + 10, layout.note_y + 10), "\n".join(layout.note_lines), font=font(NOTE_FONT),
                            fill=TEXT, spacing=6)
    return card


def render_card(face_crop: np.ndarray, matches: Sequence[Match], scale: LookalikeScale | None,
                note: str | None = None, *, number: int | None = None, named: Match | None = None,
                named_scale: LookalikeScale | None = None, text: CardText = ENGLISH) -> np.ndarray:
    """The card for one face as an RGB uint8 array: the face, up to 8 look-alikes, the closest named celebrity
    when given, a legend, an optional note.

    `scale`: the look-alike scale of the look-alikes' gallery (None: no colours, no legend); `named_scale` the
    named gallery's. `note`: a warning about the photo (a small or blurred face), drawn at the bottom.
    `number`: the face's number on the photo's overview (render_overview), in the title.
    """
    title = text.title if number is None else text.numbered_title.format(number=number)
    legend = tuple(text.legend(scale)) if scale is not None else ()
    ranks = tuple(match.rank for match in matches)
    card = card_template(ranks, text.you, named is not None, legend, note).copy()
    layout = card_layout(len(matches), named is not None, legend, note)
    draw = ImageDraw.Draw(card)
    draw_text(card, (MARGIN, MARGIN), title, TITLE_FONT, TEXT)
    card.paste(enlarged(face_crop, USER_FACE), (MARGIN, layout.top))
    for index, match in enumerate(matches):
        draw_match(card, draw, match, scale, text, layout.tile_origin(index))
    if named is not None:
        draw_named(card, draw, named, named_scale, text, layout)
    return np.asarray(card)


# --- the overview of a photo of several faces -------------------------------------------------------------

OVERVIEW_SIDE = 1280  # the photo's longer side on the overview: Telegram's photo size, a phone's full width
NUMBER_FONT = 36
BOX_COLOUR = (255, 214, 0)
OTHER_BOX_COLOUR = (235, 235, 235)
BOX_WIDTH = 4
LABEL_PADDING = 6


def overview_scale(shape: tuple[int, ...]) -> float:
    return OVERVIEW_SIDE / max(shape[:2])


def number_label(number: int) -> Image.Image:
    """The tag that numbers a face on the overview: its number, dark on the boxes' colour."""
    typeface = font(NUMBER_FONT)
    label = Image.new("RGB", (int(typeface.getlength(str(number))) + 2 * LABEL_PADDING,
                              NUMBER_FONT + 2 * LABEL_PADDING), BOX_COLOUR)
    ImageDraw.Draw(label).text((LABEL_PADDING, LABEL_PADDING - 2), str(number), font=typeface, fill=TEXT)
    return label


def number_label_origin(box: np.ndarray, label: Image.Image, shape: tuple[int, ...]) -> tuple[int, int]:
    """Where a face's tag goes on an overview of `shape` (box in overview pixels): on the box's top-left
    corner, above the box when there is room, inside the photo."""
    x = int(min(max(box[0], 0), shape[1] - label.width))
    y = int(box[1]) - label.height if box[1] >= label.height else int(max(box[1], 0))
    return x, y


def render_overview(photo: np.ndarray, boxes: Sequence[np.ndarray], numbers: Sequence[int],
                    others: Sequence[np.ndarray] = ()) -> np.ndarray:
    """The photo scaled for a phone (longer side OVERVIEW_SIDE) with each face's box and number, as RGB uint8:
    sent before the cards of a photo of several faces, each card titled with the same number. `others`: faces
    found but given no card (beyond the answer's limit), framed thinly without a number."""
    scale = overview_scale(photo.shape)
    size = (round(photo.shape[1] * scale), round(photo.shape[0] * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    scaled = cv2.resize(np.ascontiguousarray(photo), size, interpolation=interpolation)
    overview = Image.fromarray(scaled)
    draw = ImageDraw.Draw(overview)
    for box in others:
        draw.rectangle(tuple(float(v) * scale for v in box[:4]), outline=OTHER_BOX_COLOUR, width=BOX_WIDTH // 2)
    for box in boxes:
        draw.rectangle(tuple(float(v) * scale for v in box[:4]), outline=BOX_COLOUR, width=BOX_WIDTH)
    for box, number in zip(boxes, numbers, strict=True):  # tags over every box
        label = number_label(number)
        overview.paste(label, number_label_origin(np.asarray(box[:4]) * scale, label, scaled.shape))
    return np.asarray(overview)
