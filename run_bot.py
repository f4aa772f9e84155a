"""Start the lookalike Telegram bot: settings from the environment and .env (see .env.example).

    python run_bot.py             # long polling
    python run_bot.py --webhook   # aiohttp web server for Telegram's webhook (WEBHOOK_* settings)
"""

from __future__ import annotations

import argparse
import sys

from bot.config import ConfigError, Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--webhook", action="store_true", help="receive updates by webhook, not polling")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        from bot.app import run  # loads torch and faiss: only once the settings are known to be usable

        run(settings, use_webhook=args.webhook)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
