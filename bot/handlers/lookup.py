"""The look-alike search. In a private chat: a photo, an image sent as a file, an album, or /top8 (as a
caption, a reply, or alone). In a group: only /top8 addressed to the bot (plain, or /top8@<its username>),
as the caption of a photo or album, or as a reply to a photo; captions then speak of "this face", not "your".
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.chat_action import ChatActionSender

from bot import texts
from bot.config import Settings
from bot.handlers.photos import Photo, download, explaining_failures, in_group, in_turn, replied_photo, sent_photos
from bot.queue import UserQueue
from bot.replies import reply_cards, reply_text
from bot.service import LookalikeReply, LookalikeService
from pipeline.photo import PhotoProblem


async def send_reply(to: Message, reply: LookalikeReply) -> None:
    """For a photo of several faces the numbered overview (captioned with what was found) first, then every
    face's card, as albums of up to 10."""
    if not reply.cards:
        await reply_text(to, texts.no_face())
        return
    await reply_cards(to, ([reply.overview] if reply.overview is not None else []) + reply.cards)


async def answer_photo(photo: Photo, bot: Bot, service: LookalikeService, settings: Settings) -> None:
    """Download one photo, find its look-alikes and reply to it; a photo that fails is explained."""
    async with explaining_failures(photo.message, settings):
        data = await download(bot, photo.file, settings.max_file_bytes)
        reply = await service.find_lookalikes(data, third_person=in_group(photo.message))
        await send_reply(photo.message, reply)


async def answer_with_lookalikes(message: Message, photos: list[Photo], bot: Bot, service: LookalikeService,
                                 queue: UserQueue, settings: Settings) -> None:
    """Each photo (one, or an album's) answered in turn, after the user's earlier photos; "sending photo..."
    is shown meanwhile."""

    async def work() -> None:
        async with ChatActionSender.upload_photo(bot=bot, chat_id=message.chat.id):
            for photo in photos:
                await answer_photo(photo, bot, service, settings)

    await in_turn(message, queue, work)


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
