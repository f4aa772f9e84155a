"""Last line of defence: an unexpected error is logged and the user gets an apology, never silence.

The exceptions: a message whose outcome is unknown (bot/retry.py) was probably delivered, so the user has
their answer and an apology would be a second, wrong one; and a distributed webhook front-end that lost Redis
(`redelivered_on_error`) lets the update fail instead, so that Telegram delivers it again (to any replica).
"""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import ErrorEvent
from redis import exceptions as redis_errors

from bot import texts
from bot.replies import reply_text
from bot.retry import OutcomeUnknownError

logger = logging.getLogger(__name__)

# redis-py's, after its own retries
REDIS_UNREACHABLE = (redis_errors.ConnectionError, redis_errors.TimeoutError, redis_errors.BusyLoadingError)


async def apologise(event: ErrorEvent, redelivered_on_error: bool = False) -> None:
    if isinstance(event.exception, OutcomeUnknownError):
        return  # logged by RetryMiddleware
    if redelivered_on_error and isinstance(event.exception, REDIS_UNREACHABLE):
        logger.error("Update %d not stored (%s): Telegram will deliver it again", event.update.update_id,
                     type(event.exception).__name__)
        raise event.exception
    logger.error("Update %d failed", event.update.update_id, exc_info=event.exception)
    if event.update.message is not None:
        await reply_text(event.update.message, texts.something_went_wrong())


def create_router() -> Router:
    router = Router(name="errors")
    router.errors.register(apologise)
    return router
