"""End-to-end time of a look-alike query per photo: the `lookalike query` command, and a warm engine.

    python -m benchmarks.cli_query [PHOTO ...] [--index index_data] [--repeat 5]

cold: `lookalike query PHOTO` as a fresh process (Python start, imports, loading models and index, the
query, the card JPEG), median of --repeat runs. warm: the engine loaded once (as the bot holds it), then per
photo the median time of each stage: read, faces (detect + landmarks + align + embed), search, card (render
+ JPEG) and their total.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from cli.main import EXAMPLE_PHOTO
from index.engine import FaceMatches, LookalikeEngine
from pipeline import settings
from pipeline.image import encode_jpeg
from pipeline.photo import read_photo
from reply.replier import Replier

STAGES = ("read", "faces", "search", "card")


def cold_seconds(photo: Path, index_dir: Path, weights: Path | None, repeat: int) -> float:
    """Median wall time of the whole command in a new process."""
    command = [sys.executable, "-m", "cli.main", "query", str(photo), "--index", str(index_dir)]
    if weights is not None:
        command += ["--weights", str(weights)]
    times = []
    with tempfile.TemporaryDirectory() as cards:
        for _ in range(repeat):
            started = time.perf_counter()
            subprocess.run([*command, "--out", cards], check=True, capture_output=True)
            times.append(time.perf_counter() - started)
    return float(np.median(times))


def one_warm_query(engine: LookalikeEngine, photo: Path) -> list[float]:
    """Seconds spent in each of STAGES for one query."""
    marks = [time.perf_counter()]
    rgb = read_photo(photo)
    marks.append(time.perf_counter())
    faces = engine.pipeline(rgb)
    marks.append(time.perf_counter())
    found = [FaceMatches(face, engine.gallery.search(face.embedding, 8)) for face in faces]
    marks.append(time.perf_counter())
    replier = Replier(engine)
    for face_matches in found:
        encode_jpeg(replier.card(face_matches))
    marks.append(time.perf_counter())
    return list(np.diff(marks))


def warm_stages_ms(engine: LookalikeEngine, photo: Path, repeat: int) -> dict[str, float]:
    """Median milliseconds of each stage, and of the total, over `repeat` queries (after one warm-up)."""
    one_warm_query(engine, photo)
    runs = np.array([one_warm_query(engine, photo) for _ in range(repeat)]) * 1000
    medians = dict(zip(STAGES, np.median(runs, axis=0).tolist(), strict=True))
    return {**medians, "total": float(np.median(runs.sum(axis=1)))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cli_query", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photos", nargs="*", type=Path, default=[EXAMPLE_PHOTO])
    parser.add_argument("--index", type=Path, default=settings.index_dir())
    parser.add_argument("--weights", type=Path, default=settings.weights_dir())
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args(argv)

    engine = LookalikeEngine.load(args.index, args.weights)
    print(f"gallery: {len(engine.gallery)} faces ({type(engine.gallery.index).__name__}) in {args.index}/")
    print(f"{'photo':<28} {'cold s':>7}  " + "  ".join(f"{name + ' ms':>9}" for name in (*STAGES, "total")))
    results = []
    for photo in args.photos:
        cold = cold_seconds(photo, args.index, args.weights, args.repeat)
        warm = warm_stages_ms(engine, photo, args.repeat)
        results.append({"photo": str(photo), "cold_s": cold, "warm_ms": warm})
        print(f"{photo.name:<28} {cold:>7.2f}  " + "  ".join(f"{value:>9.1f}" for value in warm.values()))
    if args.out:
        args.out.write_text(json.dumps({"gallery_size": len(engine.gallery), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
