"""Retrying Bot API requests and file downloads: aiogram reports failures but does not retry them.

When a failed request is sent again (tests/bot/test_bot_faults.py plays each case against the fake server):

- Telegram answers that the request failed: 429 flood control (wait `retry_after`), or a 5xx answer,
  JSON or an HTML page from its front servers (nginx's "502 Bad Gateway"): sent again.
- The connection failed, or was closed before any answer (typically during the upload): sent again, taken
  as not having got through.
- The request got through but its answer was lost: the answer timed out, or came back unreadable. A request
  that only reads (getUpdates, getFile, ...) or whose repetition nobody sees (sendChatAction) is sent again.
  A message to a user (sendMessage, sendPhoto, ...) is not: Telegram has most likely delivered it, the Bot
  API has no way to ask, and no idempotency key to make a second copy harmless, so sending it again would
  show the user a duplicate. OutcomeUnknownError is raised instead, and the handlers count the message as
  delivered (no apology, the next card still goes out). The price: a message whose request timed out before
  Telegram handled it is lost; with the default 60 s timeout that is much rarer than a late answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable
from http import HTTPStatus

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramEntityTooLarge,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiohttp import ClientError, ClientResponseError, ConnectionTimeoutError

from pipeline.photo import PhotoError, PhotoProblem

logger = logging.getLogger(__name__)

RETRYABLE = (TelegramRetryAfter, TelegramServerError, TelegramNetworkError, ClientDecodeError)
# Besides every get* method: requests that may be repeated because a repetition changes nothing users see.
REPEATABLE_METHODS = frozenset({"sendChatAction", "setWebhook", "deleteWebhook", "setMyCommands"})
CHUNK_BYTES = 64 * 1024  # a download is read (and its size checked) this much at a time


class OutcomeUnknownError(TelegramNetworkError):
    """A message request that reached Telegram but whose answer was lost: probably delivered, not repeated."""


class DownloadError(Exception):
    """A file could not be downloaded; the message names neither the URL nor the file path (nor the token)."""


class TelegramSession(AiohttpSession):
    """aiogram's session, reading a 5xx answer that is not JSON (a front server's error page) as a server error.

    aiogram reports an unreadable answer as ClientDecodeError whatever its status, which would hide the most
    common transient failure, a 502 from Telegram's front servers, from the retry rules above.
    """

    def check_response(self, bot: Bot, method: TelegramMethod[TelegramType], status_code: int,
                       content: str) -> Response[TelegramType]:
        try:
            return super().check_response(bot, method, status_code, content)
        except ClientDecodeError:
            if status_code >= HTTPStatus.INTERNAL_SERVER_ERROR:
                raise TelegramServerError(method=method, message=f"HTTP {status_code}, not a Bot API answer") from None
            raise


def is_repeatable(method_name: str) -> bool:
    """Whether sending the request twice is harmless."""
    return method_name.startswith("get") or method_name in REPEATABLE_METHODS


def may_have_been_carried_out(error: Exception) -> bool:
    """Whether a failed request may nevertheless have reached Telegram and been carried out."""
    if isinstance(error, ClientDecodeError):
        return True  # Telegram answered, but we cannot read what
    cause = error.__cause__  # aiogram (from 3.25: pyproject.toml) chains the aiohttp error
    return isinstance(cause, TimeoutError) and not isinstance(cause, ConnectionTimeoutError)


def backoff_delay(first_delay_s: float, attempt: int) -> float:
    return first_delay_s * 2 ** (attempt - 1)


class RetryMiddleware(BaseRequestMiddleware):
    """Send a failed request again (see the module docstring for when), up to `attempts` times in all.

    429 Too Many Requests waits the `retry_after` seconds Telegram asks for; other failures wait
    `first_delay_s`, doubling each time.
    """

    def __init__(self, attempts: int = 4, first_delay_s: float = 0.5) -> None:
        self.attempts = attempts
        self.first_delay_s = first_delay_s

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Response[TelegramType]:
        name = method.__api_method__
        attempt = 1
        while True:
            try:
                return await make_request(bot, method)
            except TelegramEntityTooLarge:
                raise  # the same upload will be too large again
            except RETRYABLE as error:
                if may_have_been_carried_out(error) and not is_repeatable(name):
                    logger.warning("%s: no readable answer (%s); not sent again, it was probably delivered",
                                   name, type(error).__name__)
                    raise OutcomeUnknownError(method=method, message=type(error).__name__) from error
                if attempt >= self.attempts:
                    raise
                delay = self.delay(error, attempt)
                logger.warning("%s failed (%s); retry %d of %d in %.1f s", name, type(error).__name__,
                               attempt, self.attempts - 1, delay)
                await asyncio.sleep(delay)
                attempt += 1

    def delay(self, error: Exception, attempt: int) -> float:
        if isinstance(error, TelegramRetryAfter):
            return float(error.retry_after)
        return backoff_delay(self.first_delay_s, attempt)


async def download_file(bot: Bot, file_path: str, max_bytes: int, attempts: int = 4,
                        first_delay_s: float = 0.5) -> bytes:
    """A file's bytes, in memory only; a network error or a 5xx answer is retried (a download changes nothing).

    Raises PhotoError (TOO_LARGE_FILE) as soon as more than `max_bytes` have arrived (whatever the file's declared
    size), DownloadError without the aiohttp error attached: aiohttp's messages quote the file's URL, which holds
    the bot token and the file path.
    """
    timeout = math.ceil(bot.session.timeout)
    for attempt in range(1, attempts + 1):
        try:
            return await read_at_most(bot, file_path, max_bytes, timeout)
        except (ClientError, TimeoutError) as error:
            reason = f"HTTP {error.status}" if isinstance(error, ClientResponseError) else type(error).__name__
            if attempt == attempts or (isinstance(error, ClientResponseError) and error.status < 500):
                raise DownloadError(f"download failed ({reason}) after {attempt} attempt(s)") from None
            delay = backoff_delay(first_delay_s, attempt)
            logger.warning("Download failed (%s); retry %d of %d in %.1f s", reason, attempt, attempts - 1, delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")  # the last attempt returns or raises


async def read_at_most(bot: Bot, file_path: str, max_bytes: int, timeout: int) -> bytes:
    """The file streamed into memory, stopping (PhotoError) once it is longer than `max_bytes`."""
    url = bot.session.api.file_url(bot.token, file_path)
    received = bytearray()
    stream = bot.session.stream_content(url=url, timeout=timeout, chunk_size=CHUNK_BYTES, raise_for_status=True)
    try:
        async for chunk in stream:
            received += chunk
            if len(received) > max_bytes:
                raise PhotoError(PhotoProblem.TOO_LARGE_FILE, f"over {max_bytes} bytes while downloading")
    finally:
        await stream.aclose()
    return bytes(received)


async def send_once(request: Awaitable[object]) -> None:
    """Await a message request; one whose outcome is unknown counts as delivered (see the module docstring)."""
    with contextlib.suppress(OutcomeUnknownError):  # logged by RetryMiddleware
        await request
