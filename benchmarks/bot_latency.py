"""Time from update to sent card: the real bot (run_bot.py in its own process) against the fake Bot API server.

    python -m benchmarks.bot_latency [--index index_data] [--photo PATH] [--runs 10]

One user sends a photo, waits for its last card, and sends the next (benchmarks/bot_driver.py; the load
test is the same with many users and photos); the figure is the time from the update being queued on the
fake server to the card's sendPhoto request arriving there (download, decode, models, search, card, upload
included). The first photo is a warm-up and not counted. Loopback only (127.0.0.1). Needs a built index.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import numpy as np
from PIL import Image

from pipeline import settings

from .bot_driver import BotProcess, FakeBotAPI, Workload, run_workload, upload
from .common import REPO, REPORTS, BenchPhoto, write_report


async def measure(index_dir: Path, photo: BenchPhoto, runs: int, log: Path) -> list[float]:
    async with FakeBotAPI() as api:
        uploaded = upload(api, [photo])
        async with BotProcess(api, index_dir, workers=2, log_path=log) as bot:
            result = await run_workload(api, bot, uploaded, Workload(users=1, photos_per_user=runs + 1))
    answered = [request for request in result.requests if request.error is None and request.done_at is not None]
    return [request.seconds for request in answered[1:]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=None)
    parser.add_argument("--photo", type=Path, default=REPO / "examples" / "astronaut.jpg")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--out", type=Path, default=REPORTS / "bot_latency.json")
    args = parser.parse_args()
    width, height = Image.open(args.photo).size
    photo = BenchPhoto(args.photo.name, 1, max(width, height), width, height, args.photo.read_bytes())
    seconds = asyncio.run(measure(args.index or settings.index_dir(), photo, args.runs,
                                  REPORTS / "bot_latency_bot.log"))
    figures = {"runs": len(seconds), "median_s": float(np.median(seconds)), "max_s": float(np.max(seconds))}
    print(f"update -> card, {args.photo.name}, {len(seconds)} runs: median {figures['median_s'] * 1000:.0f} ms, "
          f"max {figures['max_s'] * 1000:.0f} ms")
    write_report(args.out, figures)


if __name__ == "__main__":
    main()
