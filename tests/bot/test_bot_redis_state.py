"""The distributed mode's state in Redis, on fakeredis (fast; the scenarios in test_bot_distributed.py run the real
server): per-sender lines, albums collected across front-ends, a request's round trip through a job."""

from __future__ import annotations

import asyncio

import fakeredis
from aiogram import Bot
from aiogram.types import Message
from arq.connections import ArqRedis
from fake_bot_api import TOKEN, FakeBotAPI

from bot.distributed import Lines, RedisAlbums, decode, encode, key
from bot.requests import PhotoInput, Request, RequestKind, Unavailable
from pipeline.photo import PhotoProblem

SENDER = 42


def fake_redis() -> ArqRedis:
    return ArqRedis(connection_pool=fakeredis.FakeAsyncRedis().connection_pool)


def message(api: FakeBotAPI, **content: object) -> Message:
    return Message.model_validate(api.message(SENDER, **content))


def test_a_job_waits_until_it_heads_its_senders_line_in_update_order() -> None:
    async def scenario() -> None:
        redis = fake_redis()
        lines = Lines(redis)
        for update_id in (7, 5, 6):  # accepted out of order: the line follows Telegram's order
            await lines.join(SENDER, str(update_id), update_id)
            await redis.set(f"arq:job:{update_id}", b"job")
        assert await lines.unanswered(SENDER) == 3
        assert not await lines.wait_for_turn(SENDER, "6", 6, patience_s=0.1)
        assert await lines.wait_for_turn(SENDER, "5", 5, patience_s=0.1)
        await lines.leave(SENDER, "5")
        assert await lines.wait_for_turn(SENDER, "6", 6, patience_s=0.1)

    asyncio.run(scenario())


def test_a_head_that_is_no_job_any_more_is_dropped_from_the_line() -> None:
    async def scenario() -> None:
        lines = Lines(fake_redis())
        await lines.join(SENDER, "1", 1)
        await lines.stored("1")  # accepted, but its job is gone (arq gave up on it): nothing holds the line
        await lines.join(SENDER, "2", 2)
        await lines.stored("2")
        await lines.redis.set("arq:job:2", b"job")
        assert await lines.wait_for_turn(SENDER, "2", 2, patience_s=1)
        assert await lines.unanswered(SENDER) == 1

    asyncio.run(scenario())


def test_a_job_being_accepted_keeps_its_place() -> None:
    async def scenario() -> None:
        lines = Lines(fake_redis())
        await lines.join(SENDER, "1", 1)  # a front-end still downloading its photos
        await lines.join(SENDER, "2", 2)
        assert not await lines.wait_for_turn(SENDER, "2", 2, patience_s=0.2)

    asyncio.run(scenario())


def test_an_albums_parts_reaching_two_front_ends_are_collected_once() -> None:
    async def scenario() -> None:
        async with FakeBotAPI() as api:
            redis, bot = fake_redis(), Bot(TOKEN)
            first, second = RedisAlbums(redis, bot, 60), RedisAlbums(redis, bot, 60)  # two front-ends
            parts = [message(api, photo=[], media_group_id="g") for _ in range(3)]
            leads = [await albums.join("1:g", part, update_id)
                     for albums, part, update_id in zip((first, second, first), parts, (10, 11, 12), strict=True)]
            assert leads == [True, False, False]
            collected = await first.collect("1:g", 10)
            assert sorted(part.message_id for part in collected) == [part.message_id for part in parts]
            assert await second.join("1:g", parts[0], 10)  # the lead delivered again: it leads with what it had
            assert len(await second.collect("1:g", 10)) == 3
            late = message(api, photo=[], media_group_id="g")
            assert await second.join("1:g", late, 13)  # after the collection: an album of its own
            await bot.session.close()

    asyncio.run(scenario())


def test_a_request_survives_its_trip_through_a_job() -> None:
    async def scenario() -> None:
        async with FakeBotAPI() as api:
            redis, bot = fake_redis(), Bot(TOKEN)
            photo, other = message(api, caption="/top8"), message(api)
            request = Request(RequestKind.LOOKUP, 99, SENDER, photo, [
                PhotoInput(photo, b"jpeg bytes"), PhotoInput(other, problem=PhotoProblem.TOO_LARGE_FILE),
                PhotoInput(other, unavailable=Unavailable.DOWNLOAD_FAILED), PhotoInput(other, b"gone")],
                language="ru", third_person=True)
            keys = [key("photo", "t", 0), None, None, key("photo", "t", 3)]
            await redis.set(key("photo", "t", 0), b"jpeg bytes")  # the last photo's bytes have expired
            back = await decode(encode(request, "t", keys), redis, bot)
            assert (back.kind, back.update_id, back.sender, back.language, back.third_person) == (
                RequestKind.LOOKUP, 99, SENDER, "ru", True)
            assert back.message.caption == "/top8" and back.message.bot is bot
            assert [(p.data, p.problem, p.unavailable) for p in back.photos] == [
                (b"jpeg bytes", None, None), (None, PhotoProblem.TOO_LARGE_FILE, None),
                (None, None, Unavailable.DOWNLOAD_FAILED), (None, None, Unavailable.EXPIRED)]
            replies_to = [p.message.message_id for p in back.photos if p.message is not None]
            assert replies_to == [photo.message_id] + [other.message_id] * 3
            await bot.session.close()

    asyncio.run(scenario())


def test_lines_are_per_sender() -> None:
    async def scenario() -> None:
        lines = Lines(fake_redis())
        senders = {1: 3, 2: 1, 3: 2}  # sender: update id
        for sender, update_id in senders.items():
            await lines.join(sender, str(update_id), update_id)
        for sender, update_id in senders.items():  # nobody waits for another sender
            assert await lines.wait_for_turn(sender, str(update_id), update_id, patience_s=0.1)

    asyncio.run(scenario())
