"""Private messages no other router understood: animations get their own answer, the rest a hint."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.types import Message

from bot import texts
from bot.config import Settings
from bot.replies import reply_text
from pipeline.photo import PhotoProblem


async def refuse_animation(message: Message, settings: Settings) -> None:
    await reply_text(message, texts.photo_problem(PhotoProblem.ANIMATED, settings.max_file_bytes))


async def ask_for_photo(message: Message) -> None:
    await reply_text(message, texts.send_a_photo())


def create_router() -> Router:
    router = Router(name="fallback")
    router.message.filter(F.chat.type == ChatType.PRIVATE)  # stay quiet in groups
    router.message.register(refuse_animation, F.animation)
    router.message.register(ask_for_photo)
    return router
