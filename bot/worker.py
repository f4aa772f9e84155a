"""A distributed worker (`python run_bot.py --worker`, REDIS_URL set): answers the jobs front-ends stored in Redis
(bot/distributed.py) with WORKERS local worker processes, and sends the replies to Telegram. Run one per machine
(or more); each takes jobs from the shared queue.

A job (arq, at least once) is one request, answered like the embedded mode's (bot/answer.py):

- in its sender's turn: it waits (at most TURN_PATIENCE_S in its slot, then goes back to the queue) until it heads
  the sender's line, so a sender's requests are answered in the order sent, one at a time, whichever workers take
  them;
- under a lease: arq marks a running job "in progress" for JOB_LEASE_SECONDS, and the job renews the mark while it
  runs; a worker that dies (SIGKILL, a lost machine) stops renewing, and the job goes to another worker once the
  mark expires;
- once: its messages are numbered (bot/outbox.py), so a job run again sends only what the first run did not;
- on SIGTERM the worker takes no new job and lets the running ones finish for SHUTDOWN_TIMEOUT_SECONDS; those
  still running then are cancelled and go back to the queue (handed back) for another worker;
- when Telegram or Redis cannot be reached (after their own retries), the job is tried again later (RETRY_DELAY_S),
  up to MAX_TRIES runs; then its sender's line moves on without it (logged).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from arq import Retry
from arq.connections import ArqRedis
from arq.worker import Worker, func
from redis.exceptions import RedisError, WatchError

from bot.answer import TRANSIENT, Answerer
from bot.app import create_bot
from bot.config import Settings
from bot.distributed import (
    ANSWER_JOB,
    RETRY_ON,
    JobLease,
    Lines,
    RedisSentLog,
    decode,
    discard,
    retrying_redis_settings,
)
from bot.i18n import create_i18n
from bot.outbox import SendingStopped, sending_once
from bot.service import LookalikeService
from serving.admission import RedisAdmission
from serving.pool import LocalPool

logger = logging.getLogger(__name__)

TURN_PATIENCE_S = 10.0
RETRY_DELAY_S = 2.0
MAX_TRIES = 20  # runs of one job (arq counts each; a wait for the turn past TURN_PATIENCE_S is one)
JOB_TIMEOUT_S = 300.0  # a run longer than this is cancelled (and fails)
RESTART_DELAY_S = 1.0
RESULT_TTL_S = 3600.0  # a finished job's record (no photos in it) refuses a second job for the same update


@asynccontextmanager
async def holding(lease: JobLease) -> AsyncIterator[bool]:
    """Take the job's lease and keep renewing it (every third of it) while the block runs; yields False, and
    renews nothing, when another run of the job holds it."""
    if not await lease.renew():
        yield False
        return

    async def renew() -> None:
        while True:
            await asyncio.sleep(lease.lease_ms / 3000)
            if not await lease.renew():
                logger.warning("Job %s: another run took its lease over", lease.job_id)
                return

    renewing = asyncio.create_task(renew())
    try:
        yield True
    finally:
        renewing.cancel()
        await lease.release()


async def answer_job(ctx: dict[str, Any], payload: dict[str, Any]) -> None:
    """The arq function: one request, answered in its sender's turn, each message sent once."""
    redis: ArqRedis = ctx["redis"]
    settings: Settings = ctx["settings"]
    job_id, tries = ctx["job_id"], ctx["job_try"]
    lease = JobLease(redis, job_id, settings.serving.job_lease_s)
    try:
        async with holding(lease) as held:
            if not held:
                raise Retry(defer=settings.serving.job_lease_s)  # another run is answering it (or has died)
            in_turn = await Lines(redis).wait_for_turn(payload["sender"], job_id, payload["update_id"],
                                                       TURN_PATIENCE_S)
            if not in_turn and tries < MAX_TRIES:
                raise Retry(defer=1)  # back to the queue, freeing this slot for the job it waits for
            request = await decode(payload, redis, ctx["bot"])
            with sending_once(RedisSentLog(redis, f"job:{job_id}", lease)):
                await ctx["answerer"](request)
    except SendingStopped as error:
        logger.warning("Job %s: stopped, another run answers it", job_id)
        raise Retry(defer=settings.serving.job_lease_s) from error  # in case that run dies too
    except (*TRANSIENT, *RETRY_ON) as error:
        if tries < MAX_TRIES:
            raise Retry(defer=RETRY_DELAY_S) from error
        logger.error("Job %s failed %d times (%s); given up", job_id, tries, type(error).__name__)
    await finish(ctx, payload)


async def finish(ctx: dict[str, Any], payload: dict[str, Any]) -> None:
    """The job is done: out of its sender's line, its photos deleted, its admission places given back."""
    await Lines(ctx["redis"]).leave(payload["sender"], ctx["job_id"])
    await discard(ctx["redis"], ctx["admission"], payload)


class LeasedWorker(Worker):
    """arq's worker, never starting a job it is running already (its lease may have run out while Redis was down:
    arq then offers it again, and two runs in one worker would confuse arq's own records), riding out a Redis
    restart while it starts jobs (arq's start watches keys, which a lost connection ends with an error that would
    stop the worker), and stopping cleanly on SIGTERM whenever it comes (close)."""

    async def close(self) -> None:
        """arq's close gathers the job tasks and re-raises the CancelledError of a job that SIGTERM cancelled while arq
        was still reading it from Redis (before the job's own cancellation handling): the worker would end with a
        traceback and exit code 1. Such a job is not lost (its in-progress mark expires and another worker runs it),
        so its task is let go here."""
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        for job_id, task in list(self.tasks.items()):
            if task.cancelled():
                del self.tasks[job_id]
        await super().close()

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        for job_id in job_ids:
            if job_id.decode() in self.tasks:
                continue
            try:
                await super().start_jobs([job_id])
            except (*RETRY_ON, WatchError) as error:
                # arq took a slot for the job before Redis failed (arq 0.26-0.28): give it back, try on the next poll
                self.job_counter -= 1
                self.sem.release()
                logger.warning("Could not start a job (%s); Redis is back soon, or the next poll tries again",
                               type(error).__name__)
                return


def run_until_stopped(worker: Worker, lease_s: float) -> bool:
    """Run the arq worker: True once stopped by a signal, False when it lost Redis for longer than the client's
    retries (it is then started again)."""
    worker.in_progress_timeout_s = lease_s  # a job's lease, renewed by answer_job
    try:
        worker.run()
    except (*RETRY_ON, RedisError) as error:
        logger.error("Lost Redis (%s); starting again in %.0f s", type(error).__name__, RESTART_DELAY_S)
        return False
    return True


def run_worker(settings: Settings, pool: LocalPool) -> None:
    """Answer jobs until SIGTERM/SIGINT, then let the running ones finish (or hand them back)."""
    assert settings.serving.redis_url is not None
    bot = create_bot(settings)
    i18n = create_i18n()

    async def startup(ctx: dict[str, Any]) -> None:
        ctx.update(settings=settings, bot=bot, answerer=Answerer(bot, LookalikeService(pool), settings, i18n),
                   admission=RedisAdmission(ctx["redis"], settings.serving.max_photos, settings.serving.job_ttl_s))
        logger.info("Worker ready: %d worker process(es)", len(pool.pids))

    async def shutdown(ctx: dict[str, Any]) -> None:
        await bot.session.close()

    def new_worker() -> LeasedWorker:
        assert settings.serving.redis_url is not None
        answer = func(answer_job, name=ANSWER_JOB, timeout=JOB_TIMEOUT_S, max_tries=MAX_TRIES, keep_result=RESULT_TTL_S)
        return LeasedWorker(functions=[answer], redis_settings=retrying_redis_settings(settings.serving.redis_url),
                            on_startup=startup, on_shutdown=shutdown, max_jobs=4 * settings.workers, poll_delay=0.05,
                            job_completion_wait=round(settings.serving.shutdown_timeout_s), log_results=False)

    try:
        while not run_until_stopped(new_worker(), settings.serving.job_lease_s):
            time.sleep(RESTART_DELAY_S)
    finally:
        pool.close()

