"""Per-user request queue: a user's photos are answered one at a time, in the order they arrived.

The embedded mode's (bot/requests.py: LocalRequests takes a turn for every request): the in-memory implementation
serves one process. The distributed mode keeps each sender's line in Redis instead (bot/distributed.py: Lines),
where the workers take turns.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol


class QueueFullError(Exception):
    """The user already has `unanswered` requests in the queue (the one in progress included)."""

    def __init__(self, unanswered: int) -> None:
        super().__init__(f"{unanswered} requests unanswered")
        self.unanswered = unanswered


class UserQueue(Protocol):
    def turn(self, user_id: int) -> AbstractAsyncContextManager[None]:
        """Wait until the user's earlier requests are answered, then hold the user's turn for the block.

        Raises QueueFullError at once when the user's queue is full.
        """
        ...


@dataclass
class UserLine:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # wakes its waiters first come, first served
    unanswered: int = 0


class InMemoryUserQueue:
    """At most `1 + max_waiting` requests per user: one in progress, the others waiting in order.

    Lives on the event loop (no thread locks needed); a user without requests takes no memory.
    """

    def __init__(self, max_waiting: int) -> None:
        self.max_waiting = max_waiting
        self._lines: dict[int, UserLine] = {}

    @asynccontextmanager
    async def turn(self, user_id: int) -> AsyncIterator[None]:
        line = self._lines.setdefault(user_id, UserLine())
        if line.unanswered > self.max_waiting:
            raise QueueFullError(line.unanswered)
        line.unanswered += 1
        try:
            async with line.lock:
                yield
        finally:
            line.unanswered -= 1
            if line.unanswered == 0:
                del self._lines[user_id]

    def unanswered(self, user_id: int) -> int:
        line = self._lines.get(user_id)
        return line.unanswered if line is not None else 0
