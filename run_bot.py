"""Start the lookalike Telegram bot: settings from the environment and .env (see .env.example).

    python run_bot.py             # long polling
    python run_bot.py --webhook   # aiohttp web server for Telegram's webhook (WEBHOOK_* settings)
    python run_bot.py --worker    # with REDIS_URL: a worker answering the front-ends' jobs (README "Running at scale")

Without REDIS_URL the bot runs embedded: this process and WORKERS local worker processes. With it, polling or
webhook start a front-end (webhook: as many replicas as wanted; polling: one), and workers do the answering.
"""

from __future__ import annotations

import argparse
import sys

from bot.config import ConfigError, Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--webhook", action="store_true", help="receive updates by webhook, not polling")
    mode.add_argument("--worker", action="store_true", help="answer jobs from Redis (REDIS_URL) with WORKERS processes")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        from bot.main import run  # loads aiogram and the reply path: only once the settings are known to be usable

        run(settings, use_webhook=args.webhook, worker=args.worker)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
