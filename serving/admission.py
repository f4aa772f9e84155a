"""The global admission limit: at most `max_photos` photos accepted and not yet answered, across every front-end
(the bot's, the web page's). A photo past it is refused at once with `Busy` ("busy, send it again in a minute")
instead of holding its bytes in memory (or in Redis) behind thousands of others.

A place is held from `reserve` (before the photo is downloaded or read) until `release` (once it is answered);
the two may run in different processes (a front-end reserves, a distributed worker releases), so a reservation is
a ticket, a string. `admitted` holds places for a block in one process:

    async with admitted(limit, photos=1):      # raises Busy when every place is taken
        reply = await pool.reply(photo, text)

`LocalAdmission` counts in this process; `RedisAdmission` counts in Redis for every process sharing it, each
reservation expiring after `ttl_s` (a front-end that died holding one gives its places back).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

from redis.asyncio import Redis


class Busy(Exception):  # noqa: N818 (a state, not a failure of the code)
    """Every place is taken: the photos are not accepted now."""


class AdmissionLimit(Protocol):
    async def reserve(self, photos: int) -> str:
        """Hold places for `photos` photos and return the ticket that releases them; raises Busy when they are
        not all free."""
        ...

    async def release(self, ticket: str) -> None:
        """Give the ticket's places back (a ticket already released or expired changes nothing)."""
        ...


@asynccontextmanager
async def admitted(limit: AdmissionLimit, photos: int = 1) -> AsyncIterator[None]:
    """Hold places for `photos` photos while the block runs; raises Busy at once when they are not free."""
    ticket = await limit.reserve(photos)
    try:
        yield
    finally:
        await limit.release(ticket)


class LocalAdmission:
    """At most `max_photos` photos held at once in this process (on its event loop: no locks needed)."""

    def __init__(self, max_photos: int) -> None:
        self.max_photos = max_photos
        self._held: dict[str, int] = {}
        self._numbers = itertools.count()

    @property
    def held(self) -> int:
        return sum(self._held.values())

    async def reserve(self, photos: int) -> str:
        if self.held + photos > self.max_photos:
            raise Busy(f"{self.held} of {self.max_photos} places taken")
        ticket = str(next(self._numbers))
        self._held[ticket] = photos
        return ticket

    async def release(self, ticket: str) -> None:
        self._held.pop(ticket, None)


# KEYS[1]: the sorted set of held places (member "<ticket>/<n>", score: when it expires, Redis's clock).
# ARGV: the ticket, the number of photos, the limit, the time to live in seconds. Returns the places held before.
RESERVE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
local held = redis.call('ZCARD', KEYS[1])
local photos = tonumber(ARGV[2])
if held + photos > tonumber(ARGV[3]) then
    return -1 - held
end
for n = 1, photos do
    redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[4]) * 1000, ARGV[1] .. '/' .. n)
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return held
"""


class RedisAdmission:
    """At most `max_photos` photos held at once by every process using this Redis key; a reservation expires
    after `ttl_s` seconds. Reserving is one Lua script, so two front-ends never both take the last place."""

    def __init__(self, redis: Redis, max_photos: int, ttl_s: float, key: str = "lookalike:admitted") -> None:
        self.redis, self.max_photos, self.ttl_s, self.key = redis, max_photos, ttl_s, key

    async def reserve(self, photos: int) -> str:
        ticket = f"{uuid.uuid4().hex}:{photos}"
        # EVAL, not a cached EVALSHA: a restarted Redis has forgotten its scripts
        held = int(await self.redis.eval(RESERVE, 1, self.key, ticket, photos, self.max_photos, round(self.ttl_s)))
        if held < 0:
            raise Busy(f"{-1 - held} of {self.max_photos} places taken")
        return ticket

    async def release(self, ticket: str) -> None:
        photos = int(ticket.rpartition(":")[2])
        await self.redis.zrem(self.key, *(f"{ticket}/{n}" for n in range(1, photos + 1)))
