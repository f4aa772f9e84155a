"""Albums: Telegram delivers an album as one update per photo, sharing a `media_group_id`. The middleware
holds the first of them for a short window, collects the others, and lets one update through with the whole
album, so that handlers answer an album as one request (each of its photos gets its answer).

The update let through is the album's message with a caption when there is one (clients put the caption on
one photo, usually the first), so that filters such as Command("top8") see it; handlers receive every
message of the album, in order, as `album`.

Where the album's parts are collected is an `AlbumCollector`: this process's memory (`MemoryAlbums`), or Redis
when several front-ends share the work (bot/distributed.py: the parts of one album may reach different ones).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiogram import BaseMiddleware
from aiogram.types import Message, TelegramObject, Update

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class AlbumCollector(Protocol):
    async def join(self, album: str, message: Message, update_id: int) -> bool:
        """Add one of the album's messages; True when this update leads the album (it collects the album after
        the window and lets it through), False when another update does."""
        ...

    async def collect(self, album: str, update_id: int) -> list[Message]:
        """The album's messages that arrived, for its leading update; a later one starts a new album."""
        ...


class MemoryAlbums:
    """The albums being collected, in this process."""

    def __init__(self) -> None:
        self._collecting: dict[str, list[Message]] = {}

    async def join(self, album: str, message: Message, update_id: int) -> bool:
        collected = self._collecting.get(album)
        if collected is not None:
            collected.append(message)
            return False
        self._collecting[album] = [message]
        return True

    async def collect(self, album: str, update_id: int) -> list[Message]:
        return self._collecting.pop(album)


class AlbumMiddleware(BaseMiddleware):
    """An outer message middleware; `wait_s` is how long an album's photos are collected after its first."""

    def __init__(self, wait_s: float, albums: AlbumCollector) -> None:
        self.wait_s = wait_s
        self.albums = albums

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not isinstance(event, Message) or event.media_group_id is None:
            return await handler(event, data)
        album_key = f"{event.chat.id}:{event.media_group_id}"
        update: Update = data["event_update"]
        if not await self.albums.join(album_key, event, update.update_id):
            return None  # a later photo of an album being collected: handled with the first
        await asyncio.sleep(self.wait_s)
        album = sorted(await self.albums.collect(album_key, update.update_id), key=lambda message: message.message_id)
        data["album"] = album
        lead = next((message for message in album if message.caption), album[0])
        return await handler(lead, data)
