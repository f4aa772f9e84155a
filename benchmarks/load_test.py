"""Load test: the real bot as deployed against the fake Bot API server on loopback, with N simulated users each
sending M photos of 1 to 8 real CelebA faces (--faces).

    python -m benchmarks.load_test [--users 10 50] [--photos-per-user 20] [--rate 0] [--workers 2]
    python -m benchmarks.load_test --mode distributed [--front-ends 2] [--workers 2] ...

--mode embedded (the default): run_bot.py polling, with --workers local worker processes. --mode distributed: a
redis-server, --front-ends webhook front-ends and --workers worker commands of one worker process each
(README "Running at scale"), all on this machine; the fake server posts the updates to the front-ends in turn.

The scenarios (one per --users value) run one after another against the same bot, which is started once. For
each: throughput (answered photos per second while all users are at it: between the 10th and the 90th
percentile of reply times), p50/p95/p99/max time from update to the last card, errors (text replies instead of
cards, timeouts), photos answered twice and users answered out of order, the CPU cores used by each role (the
front-end, the workers, ...; "driver": this process, the fake server and the users: in production the Bot API
is elsewhere) and its CPU milliseconds per photo, and the resident memory of each process. Memory is sampled
every 0.5 s over the whole run: "flat" compares the bot's memory (all its processes) after --settle photos
(allocators and caches warmed up) with the end. With --rate 0 every user sends the next photo 0.1 s after the
last card arrives (the bot saturated); with --rate R the users together offer about R photos per second (Poisson-like).
Photos are chosen at random (fixed seed) among one per face count (1..8) and size (--sizes). Bounded: at
most --photos-per-user photos per user, --timeout-s per reply, --time-limit-s per scenario. Writes JSON.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from pipeline import settings

from .bot_driver import (
    BotProcess,
    DistributedBot,
    FakeBotAPI,
    MemorySample,
    RunResult,
    Workload,
    run_workload,
    upload,
)
from .common import REPORTS, findable_photos, format_table, load_note, machine, rss_mb, write_report


def flatness(samples: list[MemorySample], settle: int) -> dict[str, float]:
    """The bot's memory once `settle` photos were answered, at the end, and the change in percent."""
    settled = next((s for s in samples if s.photos_done >= settle), samples[0])
    end = samples[-1]
    return {"after_photos": settled.photos_done, "rss_mb_settled": settled.rss_mb, "rss_mb_end": end.rss_mb,
            "end_photos": end.photos_done, "change_pct": 100.0 * (end.rss_mb - settled.rss_mb) / settled.rss_mb}


def summary_row(summary: dict[str, Any]) -> list[object]:
    latency = summary["latency_s"]
    return [summary["users"], summary["photos"], summary["errors"], summary["duplicates"],
            summary["users_out_of_order"], summary["photos_per_s"], latency["p50"], latency["p95"], latency["p99"],
            latency["max"], summary["bot_cpu_cores"], summary["driver_cpu_cores"], summary["rss_mb_start"],
            summary["rss_mb_end"], summary["rss_mb_peak"]]


HEADERS = ["users", "photos", "errors", "twice", "out of order", "photos/s", "p50 s", "p95 s", "p99 s", "max s",
           "bot cores", "driver cores", "MB before", "MB after", "MB peak"]


def role_rows(summary: dict[str, Any]) -> list[list[object]]:
    """Per role: cores used, CPU ms per answered photo, processes and their mean resident memory at the end."""
    rows: list[list[object]] = []
    for role, cores in summary["cpu_cores"].items():
        sizes = summary["rss_mb_per_process"].get(role, [])
        rows.append([role, cores, summary["cpu_ms_per_photo"][role], len(sizes),
                     sum(sizes) / len(sizes) if sizes else float("nan")])
    return rows


ROLE_HEADERS = ["role", "cores", "CPU ms/photo", "processes", "MB each"]


def deployment(args: argparse.Namespace, api: FakeBotAPI) -> BotProcess | DistributedBot:
    if args.mode == "distributed":
        return DistributedBot(api, args.index, args.front_ends, args.workers, args.log.parent / "distributed")
    return BotProcess(api, args.index, args.workers, args.log)


async def load_test(args: argparse.Namespace) -> dict[str, Any]:
    photos = findable_photos(args.data_root, args.sizes, args.faces)
    results: list[RunResult] = []
    async with FakeBotAPI() as api:
        uploaded = upload(api, photos)
        async with deployment(args, api) as bot:
            idle_mb = bot.rss_mb()
            print(f"bot started in {bot.start_s:.1f} s, {idle_mb:.0f} MB; {load_note()}", flush=True)
            for number, users in enumerate(args.users):
                workload = Workload(users, args.photos_per_user, args.rate, args.timeout_s, args.time_limit_s,
                                    first_user=1000 * (number + 1))
                results.append(await run_workload(api, bot, uploaded, workload, seed=number))
                print(format_table(HEADERS, [summary_row(results[-1].summary())]), flush=True)
                print(format_table(ROLE_HEADERS, role_rows(results[-1].summary())), flush=True)
    samples = [sample for result in results for sample in result.memory]
    done_before = 0
    for result in results:  # photo counts over the whole run, for the flatness check
        for sample in result.memory:
            sample.photos_done += done_before
        done_before += len(result.requests)
    return {"idle_rss_mb": idle_mb, "start_s": bot.start_s, "scenarios": [r.summary() for r in results],
            "memory": flatness(samples, args.settle), "samples": [vars(s) for s in samples]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load_test", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, nargs="+", default=[10, 50])
    parser.add_argument("--photos-per-user", type=int, default=20)
    parser.add_argument("--rate", type=float, default=0.0, help="photos/s offered by all users; 0: saturate")
    parser.add_argument("--mode", choices=["embedded", "distributed"], default="embedded")
    parser.add_argument("--workers", type=int, default=2,
                        help="embedded: the bot's WORKERS setting; distributed: worker commands (one process each)")
    parser.add_argument("--front-ends", type=int, default=2, help="distributed: webhook front-ends")
    parser.add_argument("--sizes", type=int, nargs="+", default=[640, 1280])
    parser.add_argument("--faces", type=int, nargs="+", default=list(range(1, 9)),
                        help="face counts of the photos (default 1 to 8); e.g. 1 2 for portraits and couples")
    parser.add_argument("--settle", type=int, default=100, help="photos before memory counts as warmed up")
    parser.add_argument("--timeout-s", type=float, default=60.0)
    parser.add_argument("--time-limit-s", type=float, default=900.0)
    parser.add_argument("--index", type=Path, default=settings.index_dir())
    parser.add_argument("--data-root", type=Path, default=None,
                        help="default: $LOOKALIKE_DATA_ROOT, else ../shared/data (pipeline/settings.py)")
    parser.add_argument("--log", type=Path, default=REPORTS / "load_test_bot.log")
    parser.add_argument("--out", type=Path, default=REPORTS / "load_test.json")
    args = parser.parse_args(argv)
    args.data_root = settings.data_root(args.data_root)

    figures = asyncio.run(load_test(args))
    memory = figures["memory"]
    offered = f"{args.rate} photos/s offered" if args.rate else "saturating"
    shape = (f"{args.front_ends} front-ends, {args.workers} workers" if args.mode == "distributed"
             else f"{args.workers} workers")
    print(f"\n{load_note()}; {args.mode}, {shape}; {offered}, sizes {args.sizes}")
    print(format_table(HEADERS, [summary_row(s) for s in figures["scenarios"]]))
    for scenario in figures["scenarios"]:
        print(format_table(ROLE_HEADERS, role_rows(scenario)))
    print(f"bot memory: {figures['idle_rss_mb']:.0f} MB idle, {memory['rss_mb_settled']:.0f} MB after "
          f"{memory['after_photos']} photos, {memory['rss_mb_end']:.0f} MB after {memory['end_photos']} "
          f"({memory['change_pct']:+.1f}%); this process {rss_mb():.0f} MB")
    write_report(args.out, {"settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
                            **figures, "load_after": machine()["load_average_1_5_15"]})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
