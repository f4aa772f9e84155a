"""The look-alike search: a photo, an image sent as a file, or /top8 (as a caption, a reply, or alone)."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, Document, Message
from aiogram.utils.chat_action import ChatActionSender

from pipeline.photo import PhotoError, PhotoProblem

from .. import texts
from ..config import Settings
from ..retry import download_file, send_once
from ..service import LookalikeReply, LookalikeService
from ..throttle import UserThrottle


@dataclass(frozen=True)
class ImageFile:
    """A Telegram file to search in; `size` as Telegram reports it (None when it does not)."""

    file_id: str
    size: int | None


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


def replied_image(message: Message) -> ImageFile | None:
    """The image in the message this one replies to, if any."""
    return image_in(message.reply_to_message) if message.reply_to_message is not None else None


async def download(bot: Bot, image: ImageFile, max_bytes: int) -> bytes:
    """The file's bytes, in memory only; a file Telegram says is too large is not downloaded at all."""
    if image.size is not None and image.size > max_bytes:
        raise PhotoError(PhotoProblem.TOO_LARGE_FILE, f"{image.size} bytes")
    file = await bot.get_file(image.file_id)
    if file.file_path is None:  # Telegram gives no path for a file it cannot serve (over 20 MB)
        raise PhotoError(PhotoProblem.TOO_LARGE_FILE, "no file path")
    return await download_file(bot, file.file_path)


async def send_reply(message: Message, reply: LookalikeReply) -> None:
    """Every card, then the note on skipped faces; a card whose outcome is unknown is not sent again."""
    if not reply.cards:
        await send_once(message.answer(texts.NO_FACE))
        return
    for card in reply.cards:
        photo = BufferedInputFile(card.jpeg, filename="lookalikes.jpg")
        await send_once(message.answer_photo(photo, caption=card.caption))
    if reply.skipped:
        await send_once(message.answer(texts.faces_skipped(len(reply.cards), reply.skipped)))


async def answer_with_lookalikes(message: Message, image: ImageFile, bot: Bot, service: LookalikeService,
                                 throttle: UserThrottle, settings: Settings) -> None:
    """Download, search and reply, one request per user at a time, showing "sending photo..." meanwhile."""
    user_id = message.from_user.id if message.from_user is not None else message.chat.id
    with throttle.claim(user_id) as granted:
        if not granted:
            await message.answer(texts.PLEASE_WAIT)
            return
        async with ChatActionSender.upload_photo(bot=bot, chat_id=message.chat.id):
            try:
                reply = await service.find_lookalikes(await download(bot, image, settings.max_file_bytes))
            except PhotoError as error:
                await message.answer(texts.photo_problem(error.problem, settings.max_file_bytes))
                return
            await send_reply(message, reply)


async def refuse_document(message: Message, settings: Settings) -> None:
    await message.answer(texts.photo_problem(PhotoProblem.NOT_AN_IMAGE, settings.max_file_bytes))


async def ask_for_photo(message: Message) -> None:
    await message.answer(texts.ASK_FOR_PHOTO)


def create_router() -> Router:
    router = Router(name="lookup")
    # `.as_("image")` hands the ImageFile found by the filter to the handler as its `image` argument.
    router.message.register(answer_with_lookalikes, F.func(image_in).as_("image"))  # caption /top8 or not
    router.message.register(refuse_document, F.document, ~F.animation)
    router.message.register(answer_with_lookalikes, Command("top8"), F.func(replied_image).as_("image"))
    router.message.register(ask_for_photo, Command("top8"))  # alone, or replying to something else
    return router
