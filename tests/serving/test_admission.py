"""The global admission limit: places taken and given back, refused past the limit, shared by every process that
uses one Redis, and never lost to a holder that died (its places expire)."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from serving import Busy, LocalAdmission, RedisAdmission, admitted


def test_local_places_are_held_for_the_block_and_refused_past_the_limit() -> None:
    async def scenario() -> None:
        limit = LocalAdmission(max_photos=3)
        async with admitted(limit, photos=2):
            assert limit.held == 2
            with pytest.raises(Busy):
                await limit.reserve(2)
            ticket = await limit.reserve(1)
            await limit.release(ticket)
        assert limit.held == 0

    asyncio.run(scenario())


def test_redis_places_are_shared_by_front_ends_and_expire(redis_server) -> None:
    async def scenario() -> None:
        first, second = Redis.from_url(redis_server.url), Redis.from_url(redis_server.url)
        one, other = RedisAdmission(first, max_photos=4, ttl_s=1), RedisAdmission(second, max_photos=4, ttl_s=1)
        ticket = await one.reserve(3)
        with pytest.raises(Busy, match="3 of 4"):
            await other.reserve(2)  # the other front-end sees the places taken
        await other.release(await other.reserve(1))
        await one.release(ticket)
        held = await other.reserve(4)  # all free again
        await asyncio.sleep(1.2)  # a holder that never releases: its places expire
        await one.release(await one.reserve(4))
        await other.release(held)  # late, harmless
        await first.aclose()
        await second.aclose()

    asyncio.run(scenario())


def test_two_front_ends_never_both_take_the_last_place(redis_server) -> None:
    async def scenario() -> int:
        clients = [Redis.from_url(redis_server.url) for _ in range(8)]
        limits = [RedisAdmission(client, max_photos=5, ttl_s=60) for client in clients]

        async def try_once(limit: RedisAdmission) -> bool:
            try:
                await limit.reserve(1)
                return True
            except Busy:
                return False

        taken = await asyncio.gather(*(try_once(limit) for limit in limits for _ in range(4)))
        for client in clients:
            await client.aclose()
        return sum(taken)

    assert asyncio.run(scenario()) == 5
