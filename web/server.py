"""Start the web page: settings, the models behind the seam (web/lookups.py), then aiohttp until stopped.

A missing or stale index, missing ONNX files or a bad setting print one line with what to do and exit with 2,
as the bot does. The access log names the request, its status, size and time; never the client's address or
anything of a photo.
"""

from __future__ import annotations

import argparse
import logging
import sys

from aiohttp import web

from bot.config import ConfigError
from index.engine import IndexMismatchError
from index.gallery import MissingIndexError
from pipeline.onnx_files import MissingOnnxError
from web.app import create_app
from web.config import settings_from
from web.lookups import PooledLookups

ACCESS_LOG_FORMAT = '"%r" %s %b %Tf s'


def serve(args: argparse.Namespace) -> int:
    """`lookalike serve` / `python -m web`: 0 when stopped, 2 when it cannot start."""
    try:
        settings = settings_from(args)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        force=True)
    try:
        lookups = PooledLookups.load(settings)
    except (MissingIndexError, IndexMismatchError, MissingOnnxError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    address = f"http://{settings.host}:{settings.port}/"
    try:
        web.run_app(create_app(lookups, settings), host=settings.host, port=settings.port,
                    access_log_format=ACCESS_LOG_FORMAT,
                    print=lambda _: print(f"The look-alike page is at {address} (Ctrl+C stops it)", flush=True))
    except OSError as error:  # the port is taken, or the address is not this machine's
        print(f"error: cannot listen on {address}: {error.strerror or error}", file=sys.stderr)
        return 2
    finally:
        lookups.close()
    return 0
