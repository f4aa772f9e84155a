"""Start the web page: settings, the bot's worker setup (serving/: worker processes that load the models, and the
global admission limit, counted in Redis when REDIS_URL is set), then aiohttp until stopped.

A missing or stale index, missing ONNX files or a bad setting print one line with what to do and exit with 2,
as the bot does. The access log names the request, its status, size and time; never the client's address or
anything of a photo.
"""

from __future__ import annotations

import argparse
import logging
import sys

from aiohttp import web
from redis.asyncio import Redis

from bot.config import ConfigError
from serving.admission import LocalAdmission, RedisAdmission
from serving.pool import InferencePool, LocalPool, WorkerStartError
from web.app import create_app
from web.config import WebSettings, settings_from

ACCESS_LOG_FORMAT = '"%r" %s %b %Tf s'


def with_admission(pool: InferencePool, settings: WebSettings) -> web.Application:
    """The app with the global admission limit: counted in Redis (one limit with the bot and other pages) when
    REDIS_URL is set, closed with the app; else in this process."""
    if settings.redis_url is None:
        return create_app(pool, settings, LocalAdmission(settings.max_photos))
    redis = Redis.from_url(settings.redis_url)
    app = create_app(pool, settings, RedisAdmission(redis, settings.max_photos, settings.admission_ttl_s))

    async def close_redis(_: web.Application) -> None:
        await redis.aclose()

    app.on_cleanup.append(close_redis)
    return app


def serve(args: argparse.Namespace) -> int:
    """`lookalike serve` / `python -m web`: 0 when stopped, 2 when it cannot start."""
    try:
        settings = settings_from(args)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.inference.log_level, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        pool = LocalPool(settings.inference, settings.workers)
    except WorkerStartError as error:  # no index, a stale one, no ONNX files: the message says what to run
        print(f"error: {error}", file=sys.stderr)
        return 2
    address = f"http://{settings.host}:{settings.port}/"
    started = f"The look-alike page is at {address} (Ctrl+C stops it)"
    try:
        web.run_app(with_admission(pool, settings), host=settings.host, port=settings.port,
                    access_log_format=ACCESS_LOG_FORMAT, print=lambda _: print(started, flush=True))
    except OSError as error:  # the port is taken, or the address is not this machine's
        print(f"error: cannot listen on {address}: {error.strerror or error}", file=sys.stderr)
        return 2
    finally:
        pool.close()
    return 0
