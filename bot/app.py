"""Wiring: settings -> Bot (session, retries, optional local Bot API server) + Dispatcher (routers, services).

`run` is what `run_bot.py` calls; the end-to-end tests use `create_bot` and `create_dispatcher` the same way,
pointed at a fake Bot API server through BOT_API_BASE_URL.
"""

from __future__ import annotations

import asyncio
import logging
import re

from aiogram import Bot, Dispatcher
from aiogram.client.telegram import TelegramAPIServer
from aiogram.utils.i18n import SimpleI18nMiddleware
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.albums import AlbumMiddleware
from bot.config import ConfigError, Settings
from bot.handlers import create_routers
from bot.i18n import create_i18n
from bot.queue import InMemoryUserQueue
from bot.retry import RetryMiddleware, TelegramSession
from bot.service import LookalikeService
from index.engine import IndexMismatchError
from index.gallery import MissingIndexError
from pipeline.onnx_files import MissingOnnxError


def create_bot(settings: Settings) -> Bot:
    """A Bot talking to api.telegram.org, or to BOT_API_BASE_URL when set; failed requests are retried."""
    if settings.api_base_url:
        session = TelegramSession(api=TelegramAPIServer.from_base(settings.api_base_url))
    else:
        session = TelegramSession()
    session.middleware(RetryMiddleware())
    return Bot(settings.bot_token, session=session)


def create_dispatcher(settings: Settings, service: LookalikeService) -> Dispatcher:
    """A Dispatcher with every router; handlers receive `settings`, `service`, `queue` and `i18n` by name.

    Middlewares, outermost first: albums are collected into one update (bot/albums.py), then the user's
    language is chosen (aiogram's i18n, bot/i18n.py).
    """
    i18n = create_i18n()
    dispatcher = Dispatcher(settings=settings, service=service, queue=InMemoryUserQueue(settings.queue_length),
                            i18n=i18n)
    dispatcher.message.outer_middleware(AlbumMiddleware(settings.album_wait_s))
    SimpleI18nMiddleware(i18n).setup(dispatcher)
    dispatcher.include_routers(*create_routers())
    return dispatcher


async def run_polling(bot: Bot, dispatcher: Dispatcher, handle_signals: bool = True) -> None:
    """Long-poll until stopped. `handle_signals=False` leaves SIGINT/SIGTERM alone: for an event loop that is
    not the program's own (a Jupyter kernel's), or one outside the main thread."""
    await bot.delete_webhook()  # Telegram refuses getUpdates while a webhook is set
    await dispatcher.start_polling(bot, handle_signals=handle_signals)


async def register_webhook(bot: Bot, settings: Settings) -> None:
    """Dispatcher start-up hook in webhook mode: tell Telegram where to post updates."""
    assert settings.webhook.url is not None  # checked by `run` before start-up
    await bot.set_webhook(settings.webhook.url, secret_token=settings.webhook.secret)


def create_webhook_app(settings: Settings, bot: Bot, dispatcher: Dispatcher) -> web.Application:
    """An aiohttp app that receives updates at WEBHOOK_PATH (aiogram's webhook example, with our settings)."""
    dispatcher.startup.register(register_webhook)
    app = web.Application()
    handler = SimpleRequestHandler(dispatcher, bot, secret_token=settings.webhook.secret)
    handler.register(app, path=settings.webhook.path)
    setup_application(app, dispatcher, bot=bot)
    return app


def run(settings: Settings, use_webhook: bool = False) -> None:
    """Load the models, then serve updates by long polling (default) or by webhook until stopped."""
    if use_webhook and settings.webhook.url is None:
        raise ConfigError("webhook mode needs WEBHOOK_BASE_URL, the public https address of this server")
    configure_logging(settings)
    try:
        service = LookalikeService.load(settings)
    except (MissingIndexError, IndexMismatchError, MissingOnnxError) as error:
        raise ConfigError(str(error)) from None
    try:
        bot = create_bot(settings)
        dispatcher = create_dispatcher(settings, service)
        if use_webhook:
            web.run_app(create_webhook_app(settings, bot, dispatcher), host=settings.webhook.host,
                        port=settings.webhook.port, print=None)
        else:
            asyncio.run(run_polling(bot, dispatcher))
    finally:
        service.close()


class RedactingFormatter(logging.Formatter):
    """Removes the bot token, and the rest of any URL it is part of (file paths), from every log line."""

    def __init__(self, secret: str) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.secret_pattern = re.compile(re.escape(secret) + r"\S*")

    def format(self, record: logging.LogRecord) -> str:
        return self.secret_pattern.sub("<redacted>", super().format(record))


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter(settings.bot_token))
    logging.basicConfig(level=settings.log_level, handlers=[handler], force=True)
