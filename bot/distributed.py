"""Distributed mode (REDIS_URL set): front-ends receive updates, download the photos and store each request as a
job in Redis; workers on any machine (bot/worker.py) answer the jobs. Nothing here loads a model.

    Telegram --webhook--> front-ends: run_bot.py --webhook, replicas behind a proxy (or one run_bot.py polling)
                              |  jobs (id = update_id) and their photos, per-sender lines, albums, /compare waits
                              v
                           Redis: arq's queue, aiogram's RedisStorage, the keys below, each with a TTL
                              |
                              v
                        workers: run_bot.py --worker, WORKERS local worker processes each -> replies to Telegram

What lives in Redis (besides arq's "arq:*" keys and aiogram's "fsm:*" ones, the /compare waits):

- `lookalike:photo:<ticket>:<n>`: a request's photo bytes, until its worker is done, at most JOB_TTL_SECONDS.
- `lookalike:line:<sender>`: a sorted set of the sender's unanswered jobs by update id: a worker starts a job only
  when it heads its sender's line (per-sender order, one job in flight per sender); `lookalike:accepting:<job>`
  marks a job whose photos a front-end is still downloading (a head that is neither accepting nor an arq job is
  gone, and dropped).
- `lookalike:album:<chat>:<group>` and `lookalike:album-lead:...`: the parts of an album being collected, whichever
  front-end received them; the update that arrived first leads (bot/albums.py).
- `lookalike:sent:<scope>`: the numbers of the messages a job (or an update) sent already (bot/outbox.py).
- `lookalike:admitted`: the global admission limit's places (serving/admission.py); `lookalike:polling`: the lock
  that keeps a second polling front-end from starting.

A front-end answers Telegram's webhook only once the request is stored (its handler is done): an update it could
not store (Redis down, the front-end stopped) is delivered again by Telegram, to any replica, and its job id keeps
a second delivery from making a second job.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.types import Message, TelegramObject, Update
from arq.connections import ArqRedis, RedisSettings
from redis import exceptions as redis_errors
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from bot.app import create_bot, create_dispatcher, run_polling, serve
from bot.config import ConfigError, Settings
from bot.handlers.compare import SECOND_PHOTO_WAIT_S
from bot.i18n import create_i18n
from bot.outbox import SendingStopped, sending_once
from bot.queue import QueueFullError
from bot.requests import PhotoInput, Request, RequestKind, Submit, Unavailable
from pipeline.photo import PhotoProblem
from serving.admission import RedisAdmission

logger = logging.getLogger(__name__)

ANSWER_JOB = "answer"  # the workers' arq function (bot/worker.py)
SENT_TTL_S = 24 * 3600  # how long the record of sent messages outlives a request
ACCEPTING_S = 120.0  # a front-end downloading a request's photos for longer has died
ALBUM_TTL_S = 120.0  # an album's parts (message JSON, no photo) once collected, or when their lead never came
LINE_TTL_S = 24 * 3600  # a sender's line, refreshed by every request
POLLING_LOCK_S = 30.0


def key(*parts: object) -> str:
    return ":".join(("lookalike", *map(str, parts)))


# OSError: a refused connection (Redis restarting), which redis-py retries only when told to.
RETRY_ON = (redis_errors.ConnectionError, redis_errors.TimeoutError, redis_errors.BusyLoadingError, OSError)


def reconnecting() -> Retry:
    """A command that meets a closed or refused connection, or a Redis still loading its data after a restart, is
    retried with back-off (100 ms doubling to 2 s) for about a minute."""
    return Retry(ExponentialBackoff(cap=2.0, base=0.05), retries=40)


def connect(url: str) -> ArqRedis:
    """A Redis client (arq's, which also enqueues) that rides out a Redis restart."""
    return ArqRedis.from_url(url, retry=reconnecting(), retry_on_error=list(RETRY_ON), health_check_interval=5)


def retrying_redis_settings(url: str) -> RedisSettings:
    """The same, as the settings an arq Worker connects with (and a minute of tries for its first connection)."""
    return dataclasses.replace(RedisSettings.from_dsn(url), retry=reconnecting(), retry_on_error=list(RETRY_ON),
                               conn_retries=60, conn_retry_delay=1)


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


# The scripts go with each call (EVAL, not a cached EVALSHA: a restarted Redis has forgotten its scripts).
# KEYS: the job's run key, arq's in-progress mark. ARGV: this run's token, the lease in ms. The lease is this run's
# when it holds it or nobody does (a Redis restart outlasted it, and no other run took it meanwhile).
RENEW_LEASE = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
    return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
return 1
"""
RELEASE_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""
# KEYS: the sent set, the job's run key. ARGV: the message number, this run's token (empty: no lease to check), the
# lease in ms. A lease nobody holds (it ran out while Redis restarted) is taken back.
WAS_SENT = """
if ARGV[2] ~= '' then
    local holder = redis.call('GET', KEYS[2])
    if holder and holder ~= ARGV[2] then
        return -1
    end
    if not holder then
        redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
    end
end
return redis.call('SISMEMBER', KEYS[1], ARGV[1])
"""


class JobLease:
    """The one run of a job that may send its messages: a token in `lookalike:run:<job>`, renewed while the run
    goes on together with arq's in-progress mark of the job (which keeps other workers from starting it). A run
    whose worker dies stops renewing, and both expire after `lease_s`."""

    def __init__(self, redis: ArqRedis, job_id: str, lease_s: float) -> None:
        self.redis, self.job_id, self.lease_ms = redis, job_id, round(lease_s * 1000)
        self.key, self.token = key("run", job_id), uuid.uuid4().hex

    async def renew(self) -> bool:
        """Take or keep the lease; False when another run holds it."""
        return bool(await self.redis.eval(RENEW_LEASE, 2, self.key, f"arq:in-progress:{self.job_id}", self.token,
                                          self.lease_ms))

    async def release(self) -> None:
        await self.redis.eval(RELEASE_LEASE, 1, self.key, self.token)


class RedisSentLog:
    """The messages a job (or an update, `scope`) sent, as a set of numbers; with a `lease`, a run that lost it
    is stopped (SendingStopped) before it sends another message."""

    def __init__(self, redis: ArqRedis, scope: str, lease: JobLease | None = None) -> None:
        self.redis, self.key, self.lease = redis, key("sent", scope), lease

    async def was_sent(self, number: int) -> bool:
        lease = self.lease
        run_key, token, lease_ms = (lease.key, lease.token, lease.lease_ms) if lease is not None else (self.key, "", 0)
        answer = int(await self.redis.eval(WAS_SENT, 2, self.key, run_key, number, token, lease_ms))
        if answer < 0:
            raise SendingStopped(f"{self.key}: another run holds the lease")
        return bool(answer)

    async def record(self, number: int) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.sadd(self.key, str(number))
            pipe.expire(self.key, SENT_TTL_S)
            await pipe.execute()


class SendingOnce(BaseMiddleware):
    """An outer update middleware: an update delivered twice sends no message twice (bot/outbox.py)."""

    def __init__(self, redis: ArqRedis) -> None:
        self.redis = redis

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        with sending_once(RedisSentLog(self.redis, f"update:{event.update_id}")):
            return await handler(event, data)


class RedisAlbums:
    """The albums being collected, in Redis: their parts may reach different front-ends (bot/albums.py)."""

    def __init__(self, redis: ArqRedis, bot: Bot, ttl_s: float) -> None:
        self.redis, self.bot, self.ttl_s = redis, bot, round(ttl_s)

    async def join(self, album: str, message: Message, update_id: int) -> bool:
        if await self.redis.exists(key("album-collected", update_id)):
            return True  # the leading update, delivered again after its album was collected
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key("album", album), str(message.message_id), message.model_dump_json(exclude_none=True))
            pipe.expire(key("album", album), self.ttl_s)
            pipe.set(key("album-lead", album), update_id, nx=True, ex=self.ttl_s)
            pipe.get(key("album-lead", album))
            *_, lead = await pipe.execute()
        return int(lead) == update_id

    async def collect(self, album: str, update_id: int) -> list[Message]:
        collected = key("album-collected", update_id)
        async with self.redis.pipeline(transaction=True) as pipe:  # later parts start a new album
            pipe.rename(key("album", album), collected)
            pipe.delete(key("album-lead", album))
            pipe.expire(collected, self.ttl_s)
            await pipe.execute(raise_on_error=False)  # no parts left: a second delivery collected them already
        parts = await self.redis.hgetall(collected)
        return [Message.model_validate_json(part, context={"bot": self.bot}) for part in parts.values()]


class Lines:
    """Per-sender lines of unanswered jobs, ordered by update id (Telegram's order)."""

    def __init__(self, redis: ArqRedis) -> None:
        self.redis = redis

    async def unanswered(self, sender: int) -> int:
        return int(await self.redis.zcard(key("line", sender)))

    async def join(self, sender: int, job_id: str, update_id: int) -> None:
        """Take the job's place in line before its photos are downloaded (so that a later update of the same
        sender, stored sooner, still waits for it)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(key("accepting", job_id), 1, ex=round(ACCEPTING_S))
            pipe.zadd(key("line", sender), {job_id: update_id})
            pipe.expire(key("line", sender), LINE_TTL_S)
            await pipe.execute()

    async def stored(self, job_id: str) -> None:
        await self.redis.delete(key("accepting", job_id))

    async def leave(self, sender: int, job_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(key("line", sender), job_id)
            pipe.delete(key("accepting", job_id))
            await pipe.execute()

    async def wait_for_turn(self, sender: int, job_id: str, update_id: int, patience_s: float,
                            poll_s: float = 0.05) -> bool:
        """Wait until the job heads its sender's line: True then, False after `patience_s` seconds.

        A head that is no job any more (its request failed, or was dropped by arq after its last try), is not being
        accepted and has no run going on either, is taken out of the line, so that one lost job never blocks its
        sender.
        """
        line = key("line", sender)
        await self.redis.zadd(line, {job_id: update_id}, nx=True)  # stored by the front-end, unless it died
        deadline = asyncio.get_running_loop().time() + patience_s
        while True:
            head = [text(member) for member in await self.redis.zrange(line, 0, 0)]
            if head == [job_id]:
                return True
            if head and not await self.redis.exists(f"arq:job:{head[0]}", key("accepting", head[0]),
                                                    key("run", head[0])):
                logger.warning("Job %s headed a line but exists no more; dropped from the line", head[0])
                await self.redis.zrem(line, head[0])
                continue
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(poll_s)


def encode(request: Request, ticket: str, photo_keys: list[str | None]) -> dict[str, Any]:
    """A request as a job's argument (pickled by arq): messages as JSON, photos as the keys of their bytes."""
    return {
        "kind": request.kind.value, "update_id": request.update_id, "sender": request.sender,
        "language": request.language, "third_person": request.third_person, "ticket": ticket,
        "message": request.message.model_dump_json(exclude_none=True),
        "photos": [{"message": photo.message.model_dump_json(exclude_none=True) if photo.message else None,
                    "key": photo_key, "problem": photo.problem.value if photo.problem else None,
                    "unavailable": photo.unavailable.value if photo.unavailable else None}
                   for photo, photo_key in zip(request.photos, photo_keys, strict=True)],
    }


async def decode(payload: dict[str, Any], redis: ArqRedis, bot: Bot) -> Request:
    """The request of a job, its photos' bytes read from Redis (EXPIRED where they are gone)."""

    def message(data: str) -> Message:
        return Message.model_validate_json(data, context={"bot": bot})

    photos = []
    for photo in payload["photos"]:
        data = await redis.get(photo["key"]) if photo["key"] else None
        unavailable = Unavailable(photo["unavailable"]) if photo["unavailable"] else None
        if photo["key"] and data is None:
            unavailable = Unavailable.EXPIRED
        photos.append(PhotoInput(message(photo["message"]) if photo["message"] else None, data,
                                 PhotoProblem(photo["problem"]) if photo["problem"] else None, unavailable))
    return Request(RequestKind(payload["kind"]), payload["update_id"], payload["sender"], message(payload["message"]),
                   photos, payload["language"], payload["third_person"])


def photo_keys(payload: dict[str, Any]) -> list[str]:
    return [photo["key"] for photo in payload["photos"] if photo["key"]]


class RedisRequests:
    """Distributed: a request becomes a job in Redis (id: its update id) that a worker answers in the sender's
    turn; the front-end holds its photos only while downloading and storing them."""

    def __init__(self, redis: ArqRedis, admission: RedisAdmission, settings: Settings) -> None:
        self.redis, self.admission, self.settings = redis, admission, settings
        self.lines = Lines(redis)

    @asynccontextmanager
    async def accepting(self, sender: int, photos: int, update_id: int) -> AsyncIterator[Submit]:
        job_id = str(update_id)
        unanswered = await self.lines.unanswered(sender)
        if unanswered > self.settings.queue_length:
            raise QueueFullError(unanswered)
        ticket = await self.admission.reserve(photos)
        await self.lines.join(sender, job_id, update_id)
        stored = False

        async def submit(request: Request) -> None:
            nonlocal stored
            await self.store(request, ticket)
            stored = True

        try:
            yield submit
        finally:
            if not stored:
                await self.admission.release(ticket)
                await self.lines.leave(sender, job_id)

    async def store(self, request: Request, ticket: str) -> None:
        """The photos' bytes (with their TTL), then the job; a job already there (the update delivered again)
        is left alone and this delivery's photos and places are given back."""
        job_id = str(request.update_id)
        keys = [key("photo", ticket, number) if photo.data is not None else None
                for number, photo in enumerate(request.photos)]
        async with self.redis.pipeline(transaction=True) as pipe:
            for photo, photo_key in zip(request.photos, keys, strict=True):
                if photo_key is not None:
                    pipe.set(photo_key, photo.data, ex=round(self.settings.serving.job_ttl_s))
            await pipe.execute()
        payload = encode(request, ticket, keys)
        if await self.redis.enqueue_job(ANSWER_JOB, payload, _job_id=job_id) is None:
            logger.info("Update %s delivered again: its job exists already", job_id)
            await discard(self.redis, self.admission, payload)
        await self.lines.stored(job_id)


async def discard(redis: ArqRedis, admission: RedisAdmission, payload: dict[str, Any]) -> None:
    """Give back what a job held: its photos' bytes and its admission places."""
    if photo_keys(payload):
        await redis.delete(*photo_keys(payload))
    await admission.release(payload["ticket"])


def front_end_dispatcher(settings: Settings, bot: Bot, redis: ArqRedis) -> Dispatcher:
    """A front-end's dispatcher: requests stored as jobs, albums and /compare waits in Redis."""
    admission = RedisAdmission(redis, settings.serving.max_photos, settings.serving.job_ttl_s)
    wait = round(SECOND_PHOTO_WAIT_S)  # Redis takes whole seconds
    storage = RedisStorage(redis, state_ttl=wait, data_ttl=wait)
    dispatcher = create_dispatcher(settings, RedisRequests(redis, admission, settings), create_i18n(), storage,
                                   RedisAlbums(redis, bot, ALBUM_TTL_S))
    dispatcher.update.outer_middleware(SendingOnce(redis))
    return dispatcher


@asynccontextmanager
async def polling_lock(redis: ArqRedis) -> AsyncIterator[None]:
    """Only one front-end may long-poll a bot (Telegram hands each update to one getUpdates): hold a lock in
    Redis while polling, and refuse to start when another front-end holds it."""
    token = uuid.uuid4().hex
    if not await redis.set(key("polling"), token, nx=True, px=round(POLLING_LOCK_S * 1000)):
        raise ConfigError("another front-end is long-polling this bot, and only one may: stop it, or run several "
                          "front-ends with --webhook")

    async def keep() -> None:
        while True:
            await asyncio.sleep(POLLING_LOCK_S / 3)
            if text(await redis.get(key("polling")) or b"") != token:
                logger.error("Another front-end took the polling lock: two are polling this bot")
            await redis.pexpire(key("polling"), round(POLLING_LOCK_S * 1000))

    keeper = asyncio.create_task(keep())
    try:
        yield
    finally:
        keeper.cancel()
        if text(await redis.get(key("polling")) or b"") == token:
            await redis.delete(key("polling"))


def run_front_end(settings: Settings, use_webhook: bool) -> None:
    """Receive updates (webhook replicas, or one polling instance), store them as jobs; stop on SIGTERM once the
    updates received are stored."""
    assert settings.serving.redis_url is not None
    redis = connect(settings.serving.redis_url)
    bot = create_bot(settings)
    dispatcher = front_end_dispatcher(settings, bot, redis)
    if use_webhook:
        dispatcher["redelivered_on_error"] = True  # an update not stored fails, and Telegram delivers it again
        serve(settings, bot, dispatcher, use_webhook=True, in_background=False)
        return

    async def poll() -> None:
        try:
            async with polling_lock(redis):
                await run_polling(bot, dispatcher, settings.serving.shutdown_timeout_s)
        finally:
            await redis.aclose()

    asyncio.run(poll())
