"""Retrying Bot API requests: aiogram reports flood control and server errors but does not retry them."""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import (
    TelegramEntityTooLarge,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType

logger = logging.getLogger(__name__)

RETRYABLE = (TelegramRetryAfter, TelegramServerError, TelegramNetworkError)


class RetryMiddleware(BaseRequestMiddleware):
    """Retry a failed request up to `attempts` times in all.

    429 Too Many Requests waits the `retry_after` seconds Telegram asks for; 5xx answers and network errors
    wait `first_delay_s`, doubling each time. A request that never reached Telegram is safe to repeat; one
    whose answer was lost may arrive twice, which beats a user never getting their reply.
    """

    def __init__(self, attempts: int = 4, first_delay_s: float = 0.5) -> None:
        self.attempts = attempts
        self.first_delay_s = first_delay_s

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Response[TelegramType]:
        for attempt in range(1, self.attempts):
            try:
                return await make_request(bot, method)
            except TelegramEntityTooLarge:
                raise  # the same upload will be too large again
            except RETRYABLE as error:
                delay = self.delay(error, attempt)
                logger.warning("%s failed (%s); retry %d of %d in %.1f s", method.__api_method__,
                               type(error).__name__, attempt, self.attempts - 1, delay)
                await asyncio.sleep(delay)
        return await make_request(bot, method)

    def delay(self, error: Exception, attempt: int) -> float:
        if isinstance(error, TelegramRetryAfter):
            return float(error.retry_after)
        return self.first_delay_s * 2 ** (attempt - 1)
