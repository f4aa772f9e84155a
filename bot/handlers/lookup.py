"""The look-alike search. In a private chat: a photo, an image sent as a file, an album, or /top8 (as a
caption, a reply, or alone). In a group: only /top8 addressed to the bot (plain, or /top8@<its username>),
as the caption of a photo or album, or as a reply to a photo; captions then speak of "this face", not "your".
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.types import Message, Update
from aiogram.utils.i18n import I18n

from bot import texts
from bot.config import Settings
from bot.handlers.photos import Photo, accept, replied_photo, sent_photos
from bot.replies import reply_text
from bot.requests import RequestKind, Requests
from pipeline.photo import PhotoProblem


async def answer_with_lookalikes(message: Message, photos: list[Photo], bot: Bot, requests: Requests,
                                 settings: Settings, event_update: Update, i18n: I18n) -> None:
    """Each photo (one, or an album's) answered in turn, after the sender's earlier photos, each replying to its
    photo."""
    await accept(RequestKind.LOOKUP, message, [(photo.message, photo.file) for photo in photos], bot, requests,
                 settings, event_update, i18n)


async def refuse_document(message: Message, settings: Settings) -> None:
    await reply_text(message, texts.photo_problem(PhotoProblem.NOT_AN_IMAGE, settings.max_file_bytes))


async def ask_for_photo(message: Message) -> None:
    await reply_text(message, texts.ask_for_photo())


def create_router() -> Router:
    router = Router(name="lookup")
    private = F.chat.type == ChatType.PRIVATE
    top8 = Command("top8")  # also matches "/top8@<this bot>", never "/top8@other_bot"
    router.message.register(answer_with_lookalikes, private, sent_photos)  # with /top8 as caption or without
    router.message.register(answer_with_lookalikes, top8, sent_photos)  # a group photo captioned /top8
    router.message.register(refuse_document, private, F.document, ~F.animation)
    router.message.register(answer_with_lookalikes, top8, replied_photo)
    router.message.register(ask_for_photo, top8)  # alone, or replying to something else
    return router
