"""Helpers shared by the benchmark scripts: test photos built from real CelebA faces, timing, memory,
tables and JSON reports.

Test photos: `tiled_photo` cuts each face out of a test-partition CelebA photo that holds one face (a
square around the face, from Anno/faces_all.csv), tiles them in a grid and scales the grid so that its
longer side has the requested size; so a "2000-px photo with 8 faces" is made of real faces, in code.
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd
import psutil
from PIL import Image

from pipeline import FacePipeline
from pipeline.detector import FaceDetector
from pipeline.image import encode_jpeg
from pipeline.photo import decode_photo

REPO = Path(__file__).resolve().parents[1]
REPORTS = REPO / "reports" / "benchmarks"
TEST_PARTITION = 2
FACE_MARGIN = 2.2  # the cut-out square's side, in longer sides of the face box
MB = 1024 * 1024


# --- data and test photos -----------------------------------------------------------------------------


def single_face_cutouts(data_root: Path, count: int, seed: int = 0,
                        accept: Callable[[np.ndarray], bool] | None = None) -> list[np.ndarray]:
    """`count` RGB squares, each around the one face of a different test-partition CelebA photo.

    `accept` (say, "our detector finds exactly one face in it") filters the candidates, taken in a random
    order fixed by `seed`."""
    celeba = data_root / "celeba"
    faces = pd.read_csv(celeba / "Anno" / "faces_all.csv", dtype={"image_id": str})
    partition = pd.read_csv(celeba / "Eval" / "list_eval_partition.txt", sep=r"\s+", header=None,
                            names=["image_id", "partition"], dtype={"image_id": str})
    test_ids = set(partition.loc[partition["partition"] == TEST_PARTITION, "image_id"])
    per_photo = faces.groupby("image_id")["face"].transform("size")
    candidates = faces[(per_photo == 1) & faces["image_id"].isin(test_ids) & (faces["score"] > 0.99)]
    cutouts: list[np.ndarray] = []
    for row in candidates.sample(frac=1.0, random_state=seed).itertuples():
        rgb = np.asarray(Image.open(celeba / "img_celeba" / row.image_id).convert("RGB"))
        side = max(row.x2 - row.x1, row.y2 - row.y1) * FACE_MARGIN
        centre_x, centre_y = (row.x1 + row.x2) / 2, (row.y1 + row.y2) / 2
        frame = np.array([[1, 0, side / 2 - centre_x], [0, 1, side / 2 - centre_y]], np.float64)
        cutout = cv2.warpAffine(rgb, frame, (round(side), round(side)), borderMode=cv2.BORDER_REPLICATE)
        if accept is None or accept(cutout):
            cutouts.append(cutout)
        if len(cutouts) == count:
            return cutouts
    raise ValueError(f"only {len(cutouts)} of the {count} face photos asked for in {celeba}")


def tiled_photo(cutouts: Sequence[np.ndarray], longer_side: int, tile: int = 256) -> np.ndarray:
    """The cut-outs in a grid (up to 4 columns), scaled so that the longer side is `longer_side` pixels."""
    columns = min(4, len(cutouts))
    rows = math.ceil(len(cutouts) / columns)
    grid = np.full((rows * tile, columns * tile, 3), 255, np.uint8)
    for number, cutout in enumerate(cutouts):
        row, column = divmod(number, columns)
        grid[row * tile:(row + 1) * tile, column * tile:(column + 1) * tile] = cv2.resize(
            cutout, (tile, tile), interpolation=cv2.INTER_AREA if cutout.shape[0] > tile else cv2.INTER_CUBIC)
    scale = longer_side / max(grid.shape[:2])
    size = (round(grid.shape[1] * scale), round(grid.shape[0] * scale))
    return cv2.resize(grid, size, interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)


@dataclass(frozen=True)
class BenchPhoto:
    name: str
    faces: int  # faces tiled into it
    size: int  # longer side, pixels
    width: int
    height: int
    data: bytes  # JPEG


def bench_photo(cutouts: Sequence[np.ndarray], size: int) -> BenchPhoto:
    rgb = tiled_photo(cutouts, size)
    return BenchPhoto(f"{size}px-{len(cutouts)}face", len(cutouts), size, rgb.shape[1], rgb.shape[0], encode_jpeg(rgb))


FaceCounter = Callable[[np.ndarray], int]  # how many faces a detector finds in an RGB image


def bench_photos(data_root: Path, sizes: Sequence[int], face_counts: Sequence[int],
                 count_faces: FaceCounter | None = None, tries: int = 20) -> list[BenchPhoto]:
    """One JPEG per (size, face count); the faces of a photo are different people, the same across sizes.

    With `count_faces`, the faces are ones the detector finds: each cut-out alone (as one tile of the
    largest photo at the smallest size), then every photo as a whole; else the next random choice is tried.
    """
    most, smallest = max(face_counts), min(sizes)
    blank = np.full((8, 8, 3), 255, np.uint8)

    def found_alone(cutout: np.ndarray) -> bool:
        assert count_faces is not None
        return count_faces(tiled_photo([cutout] + [blank] * (most - 1), smallest)) == 1

    for seed in range(tries):
        cutouts = single_face_cutouts(data_root, most, seed, found_alone if count_faces else None)
        photos = [bench_photo(cutouts[:count], size) for size in sizes for count in face_counts]
        if count_faces is None or all(count_faces(decode_photo(p.data)) == p.faces for p in photos):
            return photos
    raise ValueError(f"no choice of faces in {tries} tries gives photos whose faces are all found")


def findable_photos(data_root: Path, sizes: Sequence[int], face_counts: Sequence[int],
                    detector: FaceDetector | None = None) -> list[BenchPhoto]:
    """bench_photos whose faces `detector` (default: the committed one) finds."""
    detector = detector or FacePipeline.load().detector
    return bench_photos(data_root, sizes, face_counts, lambda rgb: len(detector.detect(rgb)[0]))


# --- timing, memory, machine --------------------------------------------------------------------------


def median_ms(action: Callable[[], object], repeat: int, warm_up: int = 1) -> float:
    """Median wall time of `action` in milliseconds over `repeat` calls, after `warm_up` untimed calls."""
    for _ in range(warm_up):
        action()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return float(np.median(times) * 1000)


def seconds(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def percentiles(values: Sequence[float], points: Sequence[float] = (50, 95, 99)) -> dict[str, float]:
    """{"p50": ..., "p95": ..., "p99": ...} (NaN when there are no values)."""
    array = np.asarray(values, np.float64)
    return {f"p{point:g}": float(np.percentile(array, point)) if len(array) else math.nan for point in points}


def rss_mb(pid: int | None = None) -> float:
    """Resident memory of a process (this one by default), MiB."""
    return psutil.Process(pid).memory_info().rss / MB


def machine() -> dict[str, Any]:
    """What the figures were measured on, and how busy the machine was (other jobs share its cores)."""
    load_1, load_5, load_15 = os.getloadavg()
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "load_average_1_5_15": [round(load_1, 2), round(load_5, 2), round(load_15, 2)],
        "python": platform.python_version(),
    }


def load_note() -> str:
    load_1, load_5, _ = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {load_1:.2f} (1 min) / {load_5:.2f} (5 min)"


# --- output -------------------------------------------------------------------------------------------


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table: numbers right-aligned with one decimal, text left-aligned."""
    def cell(value: object) -> str:
        return f"{value:.1f}" if isinstance(value, float) else str(value)

    cells = [[cell(value) for value in row] for row in rows]
    widths = [max([len(header)] + [len(row[i]) for row in cells]) for i, header in enumerate(headers)]
    numeric = [all(isinstance(row[i], int | float) for row in rows) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric, strict=True))

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(row) for row in cells)])


def write_report(path: Path, payload: dict[str, Any]) -> None:
    """Write the figures as JSON, with the machine facts, and say where."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"machine": machine(), **payload}, indent=2))
    print(f"wrote {path}")
