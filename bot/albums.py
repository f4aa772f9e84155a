"""Albums: Telegram delivers an album as one update per photo, sharing a `media_group_id`. The middleware
holds the first of them for a short window, collects the others, and lets one update through with the whole
album, so that handlers answer an album as one request (each of its photos gets its answer).

The update let through is the album's message with a caption when there is one (clients put the caption on
one photo, usually the first), so that filters such as Command("top8") see it; handlers receive every
message of the album, in order, as `album`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Message, TelegramObject

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class AlbumMiddleware(BaseMiddleware):
    """An outer message middleware; `wait_s` is how long an album's photos are collected after its first."""

    def __init__(self, wait_s: float) -> None:
        self.wait_s = wait_s
        self._collecting: dict[tuple[int, str], list[Message]] = {}

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not isinstance(event, Message) or event.media_group_id is None:
            return await handler(event, data)
        key = (event.chat.id, event.media_group_id)
        collected = self._collecting.get(key)
        if collected is not None:  # a later photo of an album being collected: handled with the first
            collected.append(event)
            return None
        self._collecting[key] = [event]
        try:
            await asyncio.sleep(self.wait_s)
        finally:
            album = sorted(self._collecting.pop(key), key=lambda message: message.message_id)
        data["album"] = album
        lead = next((message for message in album if message.caption), album[0])
        return await handler(lead, data)
