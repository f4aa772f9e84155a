"""Time from update to sent card: the real bot (as run_bot.py wires it) against the fake Bot API server.

    python -m benchmarks.bot_latency [--index index_data] [--photo PATH] [--runs 10]

One user sends a one-face photo, waits for the card, and sends the next; the figure is the time from the
update being offered on getUpdates to the sendPhoto request arriving (download, decode, models, search,
card, upload included). Loopback only (127.0.0.1). Needs a built gallery index.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "bot"))

from fake_bot_api import FakeBotAPI  # noqa: E402  (the test suite's fake server)

from bot.app import create_bot, create_dispatcher, run_polling  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.service import LookalikeService  # noqa: E402
from index.gallery import default_index_dir  # noqa: E402

USER = 1


async def measure(settings_index: Path, photo: bytes, runs: int) -> list[float]:
    async with FakeBotAPI() as api:
        settings = Settings(bot_token=api.token, api_base_url=api.base_url, index_dir=settings_index, cooldown_s=0.0)
        service = LookalikeService.load(settings)
        bot, dispatcher = create_bot(settings), create_dispatcher(settings, service)
        polling = asyncio.create_task(run_polling(bot, dispatcher))
        seconds = []
        try:
            for run in range(runs + 1):
                started = time.perf_counter()
                api.send(api.photo_message(USER, photo))
                await api.wait_for(lambda n=run: len(api.sent("sendPhoto", USER)) > n, timeout_s=60)
                if run:  # the first run is a warm-up
                    seconds.append(time.perf_counter() - started)
        finally:
            await dispatcher.stop_polling()
            await asyncio.wait_for(polling, timeout=10)
            service.close()
        return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=None)
    parser.add_argument("--photo", type=Path, default=REPO / "examples" / "astronaut.jpg")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("reports/bot_latency.json"))
    args = parser.parse_args()
    index_dir = args.index or default_index_dir()
    seconds = asyncio.run(measure(index_dir, args.photo.read_bytes(), args.runs))
    figures = {"runs": len(seconds), "median_s": float(np.median(seconds)), "max_s": float(np.max(seconds))}
    print(f"update -> card, {args.photo.name}, {len(seconds)} runs: median {figures['median_s'] * 1000:.0f} ms, "
          f"max {figures['max_s'] * 1000:.0f} ms")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
