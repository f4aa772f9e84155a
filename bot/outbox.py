"""Every message of a request sent once, even when the request is handled twice: a distributed job run again after
its worker died, or an update Telegram delivered again because its first delivery was not acknowledged.

Inside `sending_once(log)`, the messages sent (through `send`) are numbered in the order they go out, and the
n-th is skipped when `log` says it went out already; after each message is sent, `log` records it. The answer to a
request is the same on every run (the same photo gives the same cards), so the numbers match. The one gap: a
worker killed between Telegram's answer and the record sends that message again (Telegram has no idempotency
key). Outside `sending_once` (the embedded mode) `send` is bot/retry.py's `send_once` and nothing is recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

from bot.retry import send_once

logger = logging.getLogger(__name__)


class SendingStopped(Exception):  # noqa: N818 (a state: this run may send no more)
    """This run of the request may send nothing more: another run took it over (its worker was taken for dead)."""


class SentLog(Protocol):
    """Which messages of one request went out already, by number."""

    async def was_sent(self, number: int) -> bool:
        """Whether message `number` went out; raises SendingStopped when this run may send no more."""
        ...


    async def record(self, number: int) -> None: ...


@dataclass
class Outbox:
    log: SentLog
    sent: int = 0  # messages sent (or skipped) so far in this run


current_outbox: ContextVar[Outbox | None] = ContextVar("current_outbox", default=None)


@contextmanager
def sending_once(log: SentLog) -> Iterator[None]:
    """Number the messages sent in the block, skipping those `log` has seen (an await in the block keeps it)."""
    token = current_outbox.set(Outbox(log))
    try:
        yield
    finally:
        current_outbox.reset(token)


async def send(request: Awaitable[object]) -> None:
    """Send a message request (bot/retry.py's send_once), unless this request's earlier run sent it."""
    outbox = current_outbox.get()
    if outbox is None:
        await send_once(request)
        return
    number, outbox.sent = outbox.sent, outbox.sent + 1
    if await outbox.log.was_sent(number):
        logger.info("Message %d of this request was sent by an earlier run; not sent again", number)
        return
    await send_once(request)
    await outbox.log.record(number)
