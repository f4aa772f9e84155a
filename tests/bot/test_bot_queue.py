"""The per-user queue: one request at a time per user, in arrival order, bounded, and forgotten when done."""

from __future__ import annotations

import asyncio

import pytest

from bot.queue import InMemoryUserQueue, QueueFullError


def test_a_users_requests_run_one_at_a_time_in_arrival_order() -> None:
    async def scenario() -> list[str]:
        queue, log = InMemoryUserQueue(max_waiting=5), []

        async def request(user: int, name: str) -> None:
            async with queue.turn(user):
                log.append(f"{name} starts")
                await asyncio.sleep(0.01)
                log.append(f"{name} ends")

        await asyncio.gather(*(request(1, name) for name in "abc"))
        assert queue.unanswered(1) == 0 and not queue._lines  # nothing kept for an idle user
        return log

    assert asyncio.run(scenario()) == ["a starts", "a ends", "b starts", "b ends", "c starts", "c ends"]


def test_past_the_limit_the_request_is_refused_with_the_count_and_others_are_not_held_up() -> None:
    async def scenario() -> None:
        queue = InMemoryUserQueue(max_waiting=1)
        release = asyncio.Event()

        async def request(user: int) -> None:
            async with queue.turn(user):
                await release.wait()

        held = [asyncio.create_task(request(1)) for _ in range(2)]  # one in progress, one waiting
        await asyncio.sleep(0)
        with pytest.raises(QueueFullError) as full:
            async with queue.turn(1):
                pass
        assert full.value.unanswered == 2
        async with queue.turn(2):  # another user goes straight ahead
            pass
        release.set()
        await asyncio.gather(*held)
        async with queue.turn(1):  # and the first has room again
            pass

    asyncio.run(scenario())


def test_a_failed_request_gives_up_its_turn() -> None:
    async def scenario() -> None:
        queue = InMemoryUserQueue(max_waiting=0)
        with pytest.raises(RuntimeError):
            async with queue.turn(1):
                raise RuntimeError("boom")
        async with queue.turn(1):
            pass

    asyncio.run(scenario())
