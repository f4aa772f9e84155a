"""Last line of defence: an unexpected error is logged and the user gets an apology, never silence."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import ErrorEvent

from .. import texts

logger = logging.getLogger(__name__)


async def apologise(event: ErrorEvent) -> None:
    logger.error("Update %d failed", event.update.update_id, exc_info=event.exception)
    if event.update.message is not None:
        await event.update.message.answer(texts.SOMETHING_WENT_WRONG)


def create_router() -> Router:
    router = Router(name="errors")
    router.errors.register(apologise)
    return router
