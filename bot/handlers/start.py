"""/start and /help: what the bot does, how to get a good result, and that photos are not kept; and, at
start-up, the command menu in every language the bot speaks (setMyCommands per language_code)."""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandStart
from aiogram.types import BotCommand, Message
from aiogram.utils.i18n import I18n

from bot import texts
from bot.replies import reply_text

logger = logging.getLogger(__name__)


async def send_welcome(message: Message) -> None:
    await reply_text(message, texts.welcome())


def commands_in(i18n: I18n, locale: str) -> list[BotCommand]:
    with i18n.context(), i18n.use_locale(locale):
        return [BotCommand(command=command, description=text) for command, text in texts.command_descriptions()]


async def set_commands(bot: Bot, i18n: I18n) -> None:
    """The command menu: the default language for everyone, then one list per translated language. A
    failure is logged, not fatal: the commands work without the menu."""
    for locale in (i18n.default_locale, *i18n.available_locales):
        language_code = None if locale == i18n.default_locale else locale
        try:
            await bot.set_my_commands(commands_in(i18n, locale), language_code=language_code)
        except TelegramAPIError as error:
            logger.warning("Could not set the command menu for %s: %s", locale, type(error).__name__)


def create_router() -> Router:
    router = Router(name="start")
    router.startup.register(set_commands)
    router.message.register(send_welcome, CommandStart())
    router.message.register(send_welcome, Command("help"))
    return router
