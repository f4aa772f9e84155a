"""What the look-alike and compare routers share: finding the images a message is about, downloading them
truthfully (within the size limit, in memory only), and handing the request on in the sender's turn
(bot/requests.py), or saying why not."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiogram import Bot
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import Document, Message, Update
from aiogram.utils.i18n import I18n

from bot import texts
from bot.config import Settings
from bot.queue import QueueFullError
from bot.replies import reply_text
from bot.requests import PhotoInput, Request, RequestKind, Requests, Unavailable, sender_of
from bot.retry import DownloadError, download_file
from pipeline.photo import PhotoError, PhotoProblem
from serving.admission import Busy

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


async def download(bot: Bot, image: ImageFile, max_bytes: int) -> bytes:
    """The file's bytes, in memory only and at most `max_bytes` of them; a file Telegram says is too large is not
    downloaded at all.

    Raises PhotoError (TOO_LARGE_FILE) when Telegram reports the file too big to serve (getFile's "file is too
    big", or no file path) or it turns out larger than `max_bytes` while streaming, DownloadError when it cannot be
    fetched.
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
    return await download_file(bot, file.file_path, max_bytes)


async def download_input(bot: Bot, message: Message | None, image: ImageFile, max_bytes: int) -> PhotoInput:
    """The photo's bytes for a request, or why there are none (explained when the request is answered)."""
    try:
        return PhotoInput(message, await download(bot, image, max_bytes))
    except PhotoError as error:
        return PhotoInput(message, problem=error.problem)
    except DownloadError as error:
        logger.warning("Could not download a photo: %s", error)
        return PhotoInput(message, unavailable=Unavailable.DOWNLOAD_FAILED)


async def accept(kind: RequestKind, message: Message, photos: list[tuple[Message | None, ImageFile]], bot: Bot,
                 requests: Requests, settings: Settings, event_update: Update, i18n: I18n) -> None:
    """Take the request (the photos' messages and files, in order) in the sender's turn, or say truthfully why
    not: their queue is full, or the bot is busy."""
    sender = sender_of(message)
    try:
        async with requests.accepting(sender, len(photos), event_update.update_id) as submit:
            inputs = [await download_input(bot, to, file, settings.max_file_bytes) for to, file in photos]
            await submit(Request(kind, event_update.update_id, sender, message, inputs, i18n.current_locale,
                                 third_person=in_group(message)))
    except QueueFullError as full:
        await reply_text(message, texts.queue_full(full.unanswered))
    except Busy:
        logger.warning("Busy: a request of %d photo(s) refused", len(photos))
        await reply_text(message, texts.busy())
