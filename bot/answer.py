"""Answering an accepted request (bot/requests.py): the same code in an embedded front-end and in a distributed
worker. Texts come in the request's language; "sending photo..." shows meanwhile.

Every photo is answered on its own: an unusable photo, a failed download or an error of ours ends that photo's
answer with a reply saying so, and the next photo of the album is answered all the same.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.types import Message
from aiogram.utils.chat_action import ChatActionSender
from aiogram.utils.i18n import I18n
from redis.exceptions import RedisError

from bot import texts
from bot.config import Settings
from bot.outbox import SendingStopped
from bot.replies import reply_cards, reply_photo, reply_text
from bot.requests import PhotoExpiredError, Request, RequestKind
from bot.retry import DownloadError
from bot.service import LookalikeReply, LookalikeService
from pipeline.photo import PhotoError
from reply.compare import NotEnoughFacesError

logger = logging.getLogger(__name__)

# Telegram unreachable, after bot/retry.py's retries: a distributed worker runs the job again later.
TRANSIENT = (TelegramNetworkError, TelegramServerError, TelegramRetryAfter)
# Failures that are no photo's: Telegram or Redis unreachable, another run sending this request's answer.
NOT_EXPLAINED = (*TRANSIENT, RedisError, SendingStopped)


async def send_reply(to: Message, reply: LookalikeReply) -> None:
    """For a photo of several faces the numbered overview (captioned with what was found) first, then every
    face's card, as albums of up to 10."""
    if not reply.cards:
        await reply_text(to, texts.no_face())
        return
    await reply_cards(to, ([reply.overview] if reply.overview is not None else []) + reply.cards)


def explanation(error: Exception, settings: Settings) -> str:
    """What to tell the user when answering a photo failed with `error` (an unexpected one is logged)."""
    if isinstance(error, PhotoError):
        return texts.photo_problem(error.problem, settings.max_file_bytes)
    if isinstance(error, DownloadError):
        logger.warning("Could not download a photo: %s", error)
        return texts.download_failed()
    if isinstance(error, PhotoExpiredError):
        return texts.photo_expired()
    logger.error("Answering a photo failed", exc_info=error)
    return texts.something_went_wrong()


@asynccontextmanager
async def explaining_failures(to: Message, settings: Settings) -> AsyncIterator[None]:
    """Run the block; when it fails, a reply says why (the photo, the download, or an error of ours), and the
    request goes on. Failures of the delivery itself (NOT_EXPLAINED) end the request (a distributed worker runs it
    again later)."""
    try:
        yield
    except NOT_EXPLAINED:
        raise
    except Exception as error:
        await reply_text(to, explanation(error, settings))


@dataclass(frozen=True)
class Answerer:
    """`await answerer(request)`: the request answered with `service`, sent with `bot`."""

    bot: Bot
    service: LookalikeService
    settings: Settings
    i18n: I18n

    async def __call__(self, request: Request) -> None:
        with self.i18n.context(), self.i18n.use_locale(request.language):
            async with ChatActionSender.upload_photo(bot=self.bot, chat_id=request.message.chat.id):
                if request.kind is RequestKind.COMPARE:
                    await self.compare(request)
                    return
                for photo in request.photos:
                    assert photo.message is not None  # a look-up's photos are messages
                    async with explaining_failures(photo.message, self.settings):
                        reply = await self.service.find_lookalikes(photo.read(), third_person=request.third_person)
                        await send_reply(photo.message, reply)

    async def compare(self, request: Request) -> None:
        async with explaining_failures(request.message, self.settings):
            try:
                reply = await self.service.compare([photo.read() for photo in request.photos])
            except NotEnoughFacesError as error:
                text = texts.compare_no_face(error.photo) if error.photo else texts.compare_need_two_faces(error.found)
                await reply_text(request.message, text)
                return
            await reply_photo(request.message, reply.jpeg, reply.caption, filename="compare.jpg")
