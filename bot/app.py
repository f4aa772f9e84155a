"""Wiring: settings -> Bot (session, retries, optional local Bot API server) + Dispatcher (routers, services), and
serving it by long polling or webhook (bot/main.py chooses the mode).

On SIGTERM or SIGINT a front-end stops taking updates and waits up to SHUTDOWN_TIMEOUT_SECONDS for the updates
it accepted: embedded, until they are answered; distributed, until they are stored as jobs (a worker answers them).

The end-to-end tests use `create_bot` and `embedded_dispatcher` the same way, pointed at a fake Bot API server
through BOT_API_BASE_URL.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.storage.base import BaseStorage
from aiogram.types import TelegramObject
from aiogram.utils.i18n import I18n, SimpleI18nMiddleware
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.albums import AlbumCollector, AlbumMiddleware, MemoryAlbums
from bot.answer import Answerer
from bot.config import Settings
from bot.handlers import create_routers
from bot.i18n import create_i18n
from bot.queue import InMemoryUserQueue
from bot.requests import LocalRequests, Requests
from bot.retry import RetryMiddleware, TelegramSession
from bot.service import LookalikeService
from serving.admission import LocalAdmission

logger = logging.getLogger(__name__)


def create_bot(settings: Settings) -> Bot:
    """A Bot talking to api.telegram.org, or to BOT_API_BASE_URL when set; failed requests are retried."""
    if settings.api_base_url:
        session = TelegramSession(api=TelegramAPIServer.from_base(settings.api_base_url))
    else:
        session = TelegramSession()
    session.middleware(RetryMiddleware())
    return Bot(settings.bot_token, session=session)


class InFlight(BaseMiddleware):
    """An outer update middleware that knows the updates being handled, so that shutdown can wait for them."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            return await handler(event, data)
        finally:
            self.tasks.discard(task)

    async def drain(self, timeout_s: float) -> None:
        """Wait until the updates being handled are done, at most `timeout_s` seconds."""
        if not self.tasks:
            return
        logger.info("Stopping: waiting for %d update(s) being handled", len(self.tasks))
        _, pending = await asyncio.wait(set(self.tasks), timeout=timeout_s)
        if pending:
            logger.warning("Stopping: %d update(s) still unanswered after %.0f s", len(pending), timeout_s)


def create_dispatcher(settings: Settings, requests: Requests, i18n: I18n, storage: BaseStorage | None = None,
                      albums: AlbumCollector | None = None) -> Dispatcher:
    """A Dispatcher with every router; handlers receive `settings`, `requests` and `i18n` by name. `storage` holds
    the /compare wait (default: memory), `albums` collects albums (default: memory).

    Middlewares, outermost first: the updates in flight are tracked (InFlight, as `in_flight`), albums are
    collected into one update (bot/albums.py), then the user's language is chosen (aiogram's i18n, bot/i18n.py).
    """
    in_flight = InFlight()
    dispatcher = Dispatcher(storage=storage, settings=settings, requests=requests, i18n=i18n, in_flight=in_flight)
    dispatcher.update.outer_middleware(in_flight)
    dispatcher.message.outer_middleware(AlbumMiddleware(settings.album_wait_s, albums or MemoryAlbums()))
    SimpleI18nMiddleware(i18n).setup(dispatcher)
    dispatcher.include_routers(*create_routers())
    return dispatcher


def embedded_dispatcher(settings: Settings, bot: Bot, service: LookalikeService) -> Dispatcher:
    """The embedded mode's dispatcher: requests answered in this process, `service` over local workers."""
    i18n = create_i18n()
    requests = LocalRequests(InMemoryUserQueue(settings.queue_length), LocalAdmission(settings.serving.max_photos),
                             Answerer(bot, service, settings, i18n))
    return create_dispatcher(settings, requests, i18n)


def in_flight(dispatcher: Dispatcher) -> InFlight:
    tracker = dispatcher["in_flight"]
    assert isinstance(tracker, InFlight)
    return tracker


async def run_polling(bot: Bot, dispatcher: Dispatcher, shutdown_timeout_s: float,
                      handle_signals: bool = True) -> None:
    """Long-poll until stopped (SIGTERM, SIGINT, or `dispatcher.stop_polling()`), then wait for the updates being
    handled. `handle_signals=False` leaves the signals alone: for an event loop that is not the program's own (a
    Jupyter kernel's), or one outside the main thread."""
    await bot.delete_webhook()  # Telegram refuses getUpdates while a webhook is set
    try:
        await dispatcher.start_polling(bot, handle_signals=handle_signals, close_bot_session=False)
        await in_flight(dispatcher).drain(shutdown_timeout_s)
    finally:
        await bot.session.close()


async def register_webhook(bot: Bot, settings: Settings) -> None:
    """Dispatcher start-up hook in webhook mode: tell Telegram where to post updates."""
    assert settings.webhook.url is not None  # checked by `run` before start-up
    await bot.set_webhook(settings.webhook.url, secret_token=settings.webhook.secret)


def create_webhook_app(settings: Settings, bot: Bot, dispatcher: Dispatcher, in_background: bool) -> web.Application:
    """An aiohttp app that receives updates at WEBHOOK_PATH, refusing (401) any request without the secret.

    `in_background`: Telegram gets its answer at once and the update is handled afterwards (embedded: shutdown
    waits for those); otherwise only once the handler is done (distributed: once the job is stored, so that an
    update a front-end could not store is delivered again, to another replica).
    """
    dispatcher.startup.register(register_webhook)
    app = web.Application()

    async def drain(_: web.Application) -> None:
        await in_flight(dispatcher).drain(settings.serving.shutdown_timeout_s)

    app.on_shutdown.append(drain)  # before the handler's own shutdown, which closes the bot's session
    handler = SimpleRequestHandler(dispatcher, bot, handle_in_background=in_background,
                                   secret_token=settings.webhook.secret)
    handler.register(app, path=settings.webhook.path)
    setup_application(app, dispatcher, bot=bot)
    return app


def serve(settings: Settings, bot: Bot, dispatcher: Dispatcher, use_webhook: bool, in_background: bool) -> None:
    if use_webhook:
        web.run_app(create_webhook_app(settings, bot, dispatcher, in_background), host=settings.webhook.host,
                    port=settings.webhook.port, print=None, shutdown_timeout=settings.serving.shutdown_timeout_s)
    else:
        asyncio.run(run_polling(bot, dispatcher, settings.serving.shutdown_timeout_s))


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
