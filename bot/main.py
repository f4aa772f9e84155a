"""The three ways to run the bot (run_bot.py):

- embedded (the default): this process receives updates (long polling, or `--webhook`) and answers them with
  local worker processes (serving.LocalPool, WORKERS of them); per-user queues, albums and the /compare wait live
  in memory, so one process serves a token.
- distributed (REDIS_URL set): this process is a front-end (`--webhook`: as many replicas as wanted behind a
  proxy; or long polling: one instance only) that receives, downloads and stores jobs (bot/distributed.py), or,
  with `--worker`, a worker on any machine that answers them (bot/worker.py).
"""

from __future__ import annotations

from bot.app import configure_logging, create_bot, embedded_dispatcher, serve
from bot.config import ConfigError, Settings
from bot.distributed import run_front_end
from bot.service import LookalikeService
from bot.worker import run_worker
from serving.pool import LocalPool, WorkerStartError


def start_pool(settings: Settings) -> LocalPool:
    """The local worker processes, models loaded; a missing index or model file is a ConfigError."""
    try:
        return LocalPool(settings.inference(), settings.workers)
    except WorkerStartError as error:
        raise ConfigError(str(error)) from None


def run(settings: Settings, use_webhook: bool = False, worker: bool = False) -> None:
    """Serve until stopped: embedded, or (REDIS_URL set) as a distributed front-end or `worker`."""
    if use_webhook:
        settings.webhook.check()
    if worker and not settings.serving.distributed:
        raise ConfigError("--worker needs REDIS_URL: workers take their jobs from Redis")
    configure_logging(settings)
    if worker:
        run_worker(settings, start_pool(settings))
    elif settings.serving.distributed:
        run_front_end(settings, use_webhook)
    else:
        pool = start_pool(settings)
        try:
            bot = create_bot(settings)
            serve(settings, bot, embedded_dispatcher(settings, bot, LookalikeService(pool)), use_webhook,
                  in_background=True)
        finally:
            pool.close()
