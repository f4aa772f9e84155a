"""Sending answers within Telegram's limits, each as a reply to the photo it is about.

Several cards go out as albums (sendMediaGroup, at most 10 photos each: one request, one notification, and
far from the per-chat rate limits that one sendPhoto per face runs into); each card keeps its text in its
caption. Texts are split at line breaks (else at spaces, else anywhere) to fit Telegram's 1024-unit caption
and 4096-unit message limits; what does not fit a caption follows as a message. A reply whose outcome is
unknown is not sent again (bot/retry.py), nor one a first run of the same request sent (bot/outbox.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from aiogram.types import BufferedInputFile, InputMediaPhoto, Message

from bot.outbox import send
from bot.service import CaptionedPhoto
from bot.texts import CAPTION_LIMIT, MESSAGE_LIMIT

ALBUM_LIMIT = 10  # photos in one sendMediaGroup


def length(text: str) -> int:
    """The length of `text` as Telegram counts it: UTF-16 code units (an emoji may count 2)."""
    return len(text.encode("utf-16-le")) // 2


def hard_cut(text: str, limit: int) -> Iterator[str]:
    """`text` in pieces of at most `limit` units, cut between characters."""
    piece = ""
    for character in text:
        if piece and length(piece + character) > limit:
            yield piece
            piece = ""
        piece += character
    if piece:
        yield piece


def tokens(text: str, limit: int) -> Iterator[str]:
    """`text` as whole lines, a line too long as words, a word too long as pieces; joined, they give `text`."""
    for line in text.splitlines(keepends=True):
        if length(line) <= limit:
            yield line
            continue
        for word in re.split(r"(?<= )", line):
            yield from ([word] if length(word) <= limit else hard_cut(word, limit))


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """`text` in as few pieces of at most `limit` units as splitting between tokens allows."""
    pieces = [""]
    for token in tokens(text, limit):
        if pieces[-1] and length(pieces[-1] + token) > limit:
            pieces.append("")
        pieces[-1] += token
    return [piece.strip() for piece in pieces if piece.strip()]


def caption_and_rest(text: str) -> tuple[str, list[str]]:
    """A caption that fits, and the messages that carry the rest of `text`."""
    first, *rest = split_text(text, CAPTION_LIMIT) or [""]
    return first, split_text("\n".join(rest)) if rest else []


async def reply_text(to: Message, text: str) -> None:
    """`text` as one reply to `to`, or several when it is longer than a message may be."""
    for piece in split_text(text):
        await send(to.reply(piece, allow_sending_without_reply=True))


async def reply_photo(to: Message, jpeg: bytes, caption: str, filename: str = "lookalikes.jpg") -> None:
    text, rest = caption_and_rest(caption)
    await send(to.reply_photo(BufferedInputFile(jpeg, filename=filename), caption=text,
                                   allow_sending_without_reply=True))
    for piece in rest:
        await send(to.reply(piece, allow_sending_without_reply=True))


def albums(cards: Sequence[CaptionedPhoto]) -> list[Sequence[CaptionedPhoto]]:
    """The cards in groups of at most ALBUM_LIMIT."""
    return [cards[start:start + ALBUM_LIMIT] for start in range(0, len(cards), ALBUM_LIMIT)]


async def reply_cards(to: Message, cards: Sequence[CaptionedPhoto]) -> None:
    """Every card, as albums of up to 10 (a single card as a photo), replying to the photo `to`."""
    for album in albums(cards):
        if len(album) == 1:
            await reply_photo(to, album[0].jpeg, album[0].caption)
            continue
        media, overflow = [], []
        for card in album:
            caption, rest = caption_and_rest(card.caption)
            media.append(InputMediaPhoto(media=BufferedInputFile(card.jpeg, filename="lookalikes.jpg"),
                                         caption=caption))
            overflow += rest
        await send(to.reply_media_group(media, allow_sending_without_reply=True))
        for piece in overflow:
            await send(to.reply(piece, allow_sending_without_reply=True))
