"""Last line of defence: an unexpected error is logged and the user gets an apology, never silence.

The exception: a message whose outcome is unknown (bot/retry.py) was probably delivered, so the user has
their answer and an apology would be a second, wrong one.
"""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import ErrorEvent

from bot import texts
from bot.replies import reply_text
from bot.retry import OutcomeUnknownError

logger = logging.getLogger(__name__)


async def apologise(event: ErrorEvent) -> None:
    if isinstance(event.exception, OutcomeUnknownError):
        return  # logged by RetryMiddleware
    logger.error("Update %d failed", event.update.update_id, exc_info=event.exception)
    if event.update.message is not None:
        await reply_text(event.update.message, texts.something_went_wrong())


def create_router() -> Router:
    router = Router(name="errors")
    router.errors.register(apologise)
    return router
