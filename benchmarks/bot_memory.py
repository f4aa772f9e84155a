"""Resident memory of the bot (run_bot.py, embedded: the front-end and its 2 worker processes together, against the
fake Bot API server on loopback) with the shared gallery index and with a synthetic index of CelebA's full size
(202,599 faces), and where it goes.

    python -m benchmarks.bot_memory [--index index_data] [--photos-per-user 12]

For each index: the bot is started, its memory read when idle (models and index loaded, warmed up), then
2 users send --photos-per-user photos each (1 to 8 faces, 640 and 2000 px) and it is read again; peak is
the highest of the samples taken every 0.5 s. RSS counts every resident page, shared libraries included;
USS only the pages no other process shares. The breakdown imports the bot's libraries one group at a time
in a fresh interpreter. The synthetic index is built on first use (benchmarks/synthetic_index.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from pipeline import settings

from .bot_driver import BotProcess, FakeBotAPI, Workload, all_processes, run_workload, upload
from .common import MB, REPORTS, findable_photos, format_table, load_note, write_report
from .synthetic_index import CELEBA_SIZE, synthetic_index

# Each step runs in one fresh interpreter, in this order, and reports the RSS after it.
BREAKDOWN_STEPS = {
    "python": "pass",
    "numpy, OpenCV, Pillow": "import numpy, cv2, PIL.Image",
    "faiss, pandas": "import faiss, pandas",
    "aiogram, aiohttp": "import aiogram, aiohttp, aiogram.types",
    "onnxruntime": "import onnxruntime",
    "models (ONNX Runtime sessions)": "from pipeline import FacePipeline; p = FacePipeline.load()",
}


def import_breakdown() -> dict[str, float]:
    """RSS (MB) after each step of BREAKDOWN_STEPS in one new interpreter."""
    lines = ["import json, psutil", "rss = {}"]
    for name, code in BREAKDOWN_STEPS.items():
        lines += [code, f"rss[{name!r}] = psutil.Process().memory_info().rss / {MB}"]
    lines.append("print(json.dumps(rss))")
    output = subprocess.run([sys.executable, "-c", "\n".join(lines)], capture_output=True, text=True, check=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


def uss_mb(bot: BotProcess) -> float:
    """The pages only the bot's processes hold, all of them together."""
    return sum(process.memory_full_info().uss for process in all_processes(bot)) / MB


async def measure_index(index_dir: Path, photos_per_user: int, data_root: Path, log: Path) -> dict[str, Any]:
    photos = findable_photos(data_root, [640, 2000], range(1, 9))
    async with FakeBotAPI() as api:
        uploaded = upload(api, photos)
        async with BotProcess(api, index_dir, workers=2, log_path=log) as bot:
            idle = bot.rss_mb(), uss_mb(bot)
            result = await run_workload(api, bot, uploaded, Workload(users=2, photos_per_user=photos_per_user))
            after = bot.rss_mb(), uss_mb(bot)
            summary = result.summary()
            return {"index": str(index_dir), "faces": json.loads((index_dir / "manifest.json").read_text())["count"],
                    "start_s": bot.start_s, "photos": summary["photos"], "errors": summary["errors"],
                    "error_kinds": summary["error_kinds"],
                    "rss_mb_idle": idle[0], "uss_mb_idle": idle[1], "rss_mb_after": after[0],
                    "uss_mb_after": after[1], "rss_mb_peak": summary["rss_mb_peak"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bot_memory", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=settings.index_dir())
    parser.add_argument("--synthetic-size", type=int, default=CELEBA_SIZE)
    parser.add_argument("--photos-per-user", type=int, default=12)
    parser.add_argument("--data-root", type=Path, default=None,
                        help="default: $LOOKALIKE_DATA_ROOT, else ../shared/data (pipeline/settings.py)")
    parser.add_argument("--out", type=Path, default=REPORTS / "bot_memory.json")
    args = parser.parse_args(argv)
    args.data_root = settings.data_root(args.data_root)

    breakdown = import_breakdown()
    print("RSS of a fresh interpreter after each step (MB):")
    print(format_table(["step", "MB", "added"], [[name, mb, mb - previous] for (name, mb), previous
                                                 in zip(breakdown.items(), [0.0, *breakdown.values()], strict=False)]))
    synthetic = synthetic_index(args.index, REPORTS / f"synthetic-{args.synthetic_size}", args.synthetic_size)
    rows = [asyncio.run(measure_index(index_dir, args.photos_per_user, args.data_root,
                                      REPORTS / f"bot_memory_{index_dir.name}.log"))
            for index_dir in (args.index, synthetic)]
    columns = ["faces", "start_s", "photos", "errors", "rss_mb_idle", "rss_mb_after", "rss_mb_peak", "uss_mb_after"]
    print(f"\nbot process, {load_note()}")
    print(format_table(columns, [[row[c] for c in columns] for row in rows]))
    write_report(args.out, {"import_breakdown_rss_mb": breakdown, "bot": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
