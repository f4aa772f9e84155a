"""/start and /help: what the bot does, how to get a good result, and that photos are not kept."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandStart
from aiogram.types import Message

from .. import texts


async def send_welcome(message: Message) -> None:
    await message.answer(texts.WELCOME)


async def send_help(message: Message) -> None:
    await message.answer(texts.HELP)


def create_router() -> Router:
    router = Router(name="start")
    router.message.register(send_welcome, CommandStart())
    router.message.register(send_help, Command("help"))
    return router
