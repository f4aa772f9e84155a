"""Group photos: how many of N real faces the detector finds in a large collage, and how long a photo takes.

    python -m benchmarks.group_photos [--faces 12 20 30] [--sizes 1500 2000] [--photos 3] [--repeat 3]

Each collage is a grid (about 4:3) of N cut-outs of different people, each around the one face of a CelebA
*test* photo (benchmarks/common.py: single_face_cutouts, not filtered by our detector), scaled so that its
longer side has the given size; `--photos` different collages per (N, size). A face counts as found when one
detection (each used once) has its centre within 15% of a cell's side from the cell's centre and its longer
side between 0.3 and 0.6 of the cell (the cut-out is 2.2 face boxes wide, so a face box is 0.45 of it); other
detections are counted as extra. Times (one thread, median of --repeat after a warm-up): the detector alone
(`detect`), and photo -> faces with landmarks and embeddings (`pipeline`). "first pass only" is the detector
without its detail pass (the code before this benchmark's change). Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from pipeline import FacePipeline, settings
from pipeline.detector import FaceDetector

from .common import REPORTS, format_table, load_note, median_ms, single_face_cutouts, write_report

CENTRE_TOLERANCE = 0.15
FACE_SIDE_RANGE = (0.3, 0.6)


def collage(cutouts: Sequence[np.ndarray], longer_side: int) -> tuple[np.ndarray, float]:
    """The cut-outs in a grid of about 4:3 scaled to `longer_side` pixels; (image, cell side in pixels)."""
    columns = round(math.sqrt(len(cutouts) * 4 / 3))
    rows = math.ceil(len(cutouts) / columns)
    cell = longer_side / max(columns, rows)
    side = round(cell)
    grid = np.full((rows * side, columns * side, 3), 255, np.uint8)
    for number, cutout in enumerate(cutouts):
        row, column = divmod(number, columns)
        grid[row * side:(row + 1) * side, column * side:(column + 1) * side] = cv2.resize(
            cutout, (side, side), interpolation=cv2.INTER_AREA if cutout.shape[0] > side else cv2.INTER_CUBIC)
    return grid, float(side)


def cell_centres(count: int, columns: int, side: float) -> np.ndarray:
    return np.array([[(n % columns + 0.5) * side, (n // columns + 0.5) * side] for n in range(count)])


def count_found(boxes: np.ndarray, count: int, side: float) -> tuple[int, int]:
    """(faces found, extra detections) of a collage of `count` cells of `side` pixels."""
    columns = round(math.sqrt(count * 4 / 3))
    centres = (boxes[:, :2] + boxes[:, 2:4]) / 2
    longer = np.max(boxes[:, 2:4] - boxes[:, :2], axis=1) / side
    used = np.zeros(len(boxes), bool)
    found = 0
    for centre in cell_centres(count, columns, side):
        near = (np.abs(centres - centre).max(axis=1) <= CENTRE_TOLERANCE * side) & ~used
        near &= (longer >= FACE_SIDE_RANGE[0]) & (longer <= FACE_SIDE_RANGE[1])
        if near.any():
            used[np.flatnonzero(near)[0]] = True
            found += 1
    return found, int((~used).sum())


def first_pass_only(detector: FaceDetector) -> FaceDetector:
    """The same detector without its detail pass (a pixel budget of 0)."""
    return FaceDetector(detector.forward, detector.config, dataclasses.replace(detector.tiling, max_pixels=0))


def measure(pipe: FacePipeline, photos: list[np.ndarray], sides: list[float], count: int,
            repeat: int) -> dict[str, float]:
    baseline = first_pass_only(pipe.detector)
    found = [count_found(pipe.detector.detect(photo)[0], count, side) for photo, side in zip(photos, sides,
                                                                                               strict=True)]
    before = [count_found(baseline.detect(photo)[0], count, side)[0] for photo, side in zip(photos, sides,
                                                                                             strict=True)]
    faces = count * len(photos)
    return {
        "faces": faces,
        "found": sum(f for f, _ in found),
        "found_share": sum(f for f, _ in found) / faces,
        "extra": sum(e for _, e in found),
        "found_first_pass_only": sum(before),
        "detect_ms": float(np.median([median_ms(lambda p=p: pipe.detector.detect(p), repeat) for p in photos])),
        "detect_first_pass_only_ms": float(np.median([median_ms(lambda p=p: baseline.detect(p), repeat)
                                                      for p in photos])),
        "pipeline_ms": float(np.median([median_ms(lambda p=p: pipe(p), repeat) for p in photos])),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.group_photos", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces", type=int, nargs="+", default=[12, 20, 30])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1500, 2000])
    parser.add_argument("--photos", type=int, default=3, help="collages per (faces, size), of different people")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data-root", type=Path, default=None,
                        help="default: $LOOKALIKE_DATA_ROOT, else ../shared/data (pipeline/settings.py)")
    args = parser.parse_args(argv)
    pipe = FacePipeline.load(threads=1)
    cutouts = single_face_cutouts(settings.data_root(args.data_root), max(args.faces) * args.photos)
    rows, results = [], []
    for count in args.faces:
        groups = [cutouts[n * max(args.faces):n * max(args.faces) + count] for n in range(args.photos)]
        for size in args.sizes:
            made = [collage(group, size) for group in groups]
            figures = measure(pipe, [photo for photo, _ in made], [side for _, side in made], count, args.repeat)
            height, width = made[0][0].shape[:2]
            results.append({"faces_per_photo": count, "size": size, "width": width, "height": height, **figures})
            rows.append([f"{count} faces, {width}x{height}", f"{figures['found']}/{figures['faces']}",
                         100 * figures["found_share"], figures["extra"], figures["found_first_pass_only"],
                         figures["detect_ms"], figures["detect_first_pass_only_ms"], figures["pipeline_ms"]])
    print(format_table(["photo", "found", "found %", "extra", "first pass only: found", "detect ms",
                        "first pass only ms", "photo -> faces ms"], rows))
    print(f"({args.photos} collages each; one thread; {load_note()})")
    write_report(REPORTS / "group_photos.json", {"collages_per_row": args.photos, "rows": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
