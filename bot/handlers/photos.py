"""What the look-alike and compare routers share: finding the images a message is about, downloading them
truthfully, taking the user's turn in the queue, and explaining a photo that cannot be used."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiogram import Bot
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import Document, Message

from bot import texts
from bot.config import Settings
from bot.queue import QueueFullError, UserQueue
from bot.replies import reply_text
from bot.retry import DownloadError, download_file
from pipeline.photo import PhotoError, PhotoProblem

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageFile:
    """A Telegram file to search in; `size` as Telegram reports it (None when it does not)."""

    file_id: str
    size: int | None


@dataclass(frozen=True)
class Photo:
    """An image to answer, and the message it came in: answers reply to that message."""

    message: Message
    file: ImageFile


def is_image_document(document: Document) -> bool:
    """Trust the MIME type when the client sent one; decoding has the last word either way."""
    mime_type = document.mime_type or "application/octet-stream"
    return mime_type.startswith("image/") or mime_type == "application/octet-stream"


def image_in(message: Message) -> ImageFile | None:
    """The largest size of a photo, or an image document; None for anything else.

    An animation (a GIF, which Telegram turns into a video) comes with a `document` too; it is left to the
    fallback router, which says that animations are not supported.
    """
    if message.animation is not None:
        return None
    if message.photo:
        largest = message.photo[-1]
        return ImageFile(largest.file_id, largest.file_size)
    if message.document is not None and is_image_document(message.document):
        return ImageFile(message.document.file_id, message.document.file_size)
    return None


def sent_photos(message: Message, album: list[Message] | None = None) -> dict[str, list[Photo]] | bool:
    """Filter: the images of the message, or of the album it leads (bot/albums.py), as `photos`."""
    messages = album or [message]
    photos = [Photo(item, file) for item in messages if (file := image_in(item)) is not None]
    return {"photos": photos} if photos else False


def replied_photo(message: Message) -> dict[str, list[Photo]] | bool:
    """Filter: the image of the message this one replies to, as `photos`."""
    replied = message.reply_to_message
    file = image_in(replied) if replied is not None else None
    return {"photos": [Photo(replied, file)]} if replied is not None and file is not None else False


def in_group(message: Message) -> bool:
    return message.chat.type != ChatType.PRIVATE


def user_of(message: Message) -> int:
    return message.from_user.id if message.from_user is not None else message.chat.id


async def download(bot: Bot, image: ImageFile, max_bytes: int) -> bytes:
    """The file's bytes, in memory only; a file Telegram says is too large is not downloaded at all.

    Raises PhotoError (TOO_LARGE_FILE) when Telegram reports the file too big to serve (getFile's "file is
    too big", or no file path), DownloadError when it cannot be fetched.
    """
    if image.size is not None and image.size > max_bytes:
        raise PhotoError(PhotoProblem.TOO_LARGE_FILE, f"{image.size} bytes")
    try:
        file = await bot.get_file(image.file_id)
    except TelegramBadRequest as error:
        if "too big" in error.message.lower():
            raise PhotoError(PhotoProblem.TOO_LARGE_FILE, "Telegram: file is too big") from None
        raise DownloadError(f"getFile refused: {error.message}") from None
    if file.file_path is None:  # Telegram gives no path for a file it cannot serve (over 20 MB)
        raise PhotoError(PhotoProblem.TOO_LARGE_FILE, "no file path")
    return await download_file(bot, file.file_path)


@asynccontextmanager
async def explaining_failures(to: Message, settings: Settings) -> AsyncIterator[None]:
    """Run the block; an unusable photo or a failed download ends it with a reply saying so."""
    try:
        yield
    except PhotoError as error:
        await reply_text(to, texts.photo_problem(error.problem, settings.max_file_bytes))
    except DownloadError as error:
        logger.warning("Could not download a photo: %s", error)
        await reply_text(to, texts.download_failed())


async def in_turn(message: Message, queue: UserQueue, work: Callable[[], Awaitable[None]]) -> None:
    """`work()` once the user's earlier requests are answered; a true reply instead when their queue is full."""
    try:
        async with queue.turn(user_of(message)):
            await work()
    except QueueFullError as full:
        await reply_text(message, texts.queue_full(full.unanswered))
