"""Publish training runs: make a run folder's weights the pipeline's, then export them for serving.

    python -m training.publish runs/detector_cpu_continued runs/landmarks_continued [--weights DIR]

A training script writes only into its `--out` folder; this is the one step that changes a weights folder
(default: the committed `pipeline/weights/`). For each run folder it copies `<part>.safetensors` and `<part>.json`
of whichever of the detector, landmarks and embedder the folder holds, then exports the ONNX files serving reads
(training/export.py). The gallery index holds what the previous weights computed, so it must be rebuilt after.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from pipeline.config import PARTS
from pipeline.settings import DEFAULT_WEIGHTS_DIR
from training.export import exported


def part_files(part: str, folder: Path) -> tuple[Path, Path]:
    """A part's weights and config in a run or weights folder."""
    return folder / f"{part}.safetensors", folder / f"{part}.json"


def run_parts(run: Path) -> list[str]:
    """The parts a run folder holds both files of."""
    return [part for part in PARTS if all(path.is_file() for path in part_files(part, run))]


def publication(runs: list[Path], weights: Path) -> dict[str, Path]:
    """Which run each part is published from; ValueError (saying why) when a run holds no weights, two runs hold
    the same part, or the weights folder would still lack a part (serving and the export need all three)."""
    sources: dict[str, Path] = {}
    for run in runs:
        parts = run_parts(run)
        if not parts:
            raise ValueError(f"{run} holds no weights (none of {', '.join(f'{p}.safetensors' for p in PARTS)} "
                             "with its .json): is it a finished training run's --out folder?")
        for part in parts:
            if part in sources:
                raise ValueError(f"{sources[part]} and {run} both hold {part}: publish one of them")
            sources[part] = run
    present = set(run_parts(weights))
    missing = [part for part in PARTS if part not in sources and part not in present]
    if missing:
        raise ValueError(f"{weights} would lack {', '.join(missing)}: start from a copy of {DEFAULT_WEIGHTS_DIR}")
    return sources


def publish(sources: dict[str, Path], weights: Path) -> None:
    """Copy each part's two files from its run into the weights folder."""
    weights.mkdir(parents=True, exist_ok=True)
    for part, run in sources.items():
        for source, target in zip(part_files(part, run), part_files(part, weights), strict=True):
            shutil.copyfile(source, target)
        print(f"published {part} from {run}/ into {weights}/")


def rebuild_command(weights: Path) -> str:
    """The gallery rebuild to run after publishing into `weights`."""
    chosen = "" if weights.resolve() == DEFAULT_WEIGHTS_DIR.resolve() else f" --weights {weights}"
    return f"lookalike build-index --data-root DATA --out index_data{chosen}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.publish", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR", help="training run folders (their --out)")
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS_DIR,
                        help="weights folder to publish into (default: the committed pipeline/weights)")
    args = parser.parse_args(argv)
    try:
        sources = publication(args.runs, args.weights)
    except ValueError as error:
        parser.error(str(error))
    publish(sources, args.weights)
    print(f"ONNX files for {args.weights}/: {exported(args.weights)}")
    print(f"The gallery index was built with the previous weights: rebuild it with `{rebuild_command(args.weights)}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
