"""Per-face time of each FacePipeline stage for a 640-px photo with one face, on one CPU thread.

    python -m benchmarks.pipeline_stages [--photo examples/astronaut.jpg] [--repeat 30]

Stages: detect (letterbox + yolov5 + NMS), landmarks (crop + regressor), align (similarity warp),
embed (one 112x112 crop), and the whole `pipe(image)` call. Medians over --repeat runs after a warm-up.
Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from pipeline import FacePipeline
from pipeline.align import align_face
from pipeline.photo import read_photo

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "astronaut.jpg"


def median_ms(action, repeat: int) -> float:
    action()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return float(np.median(times) * 1000)


def resize_longer_side(image: np.ndarray, size: int) -> np.ndarray:
    scale = size / max(image.shape[:2])
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photo", type=Path, default=EXAMPLE)
    parser.add_argument("--size", type=int, default=640)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("reports/pipeline_stages.json"))
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    pipe = FacePipeline.load()
    image = resize_longer_side(read_photo(args.photo), args.size)
    boxes, _ = pipe.detector.detect(image)
    if len(boxes) == 0:
        raise SystemExit(f"no face found in {args.photo}")
    box = boxes[:1]
    points = pipe.landmarks.predict(image, box)
    crop = align_face(image, points[0])[None]
    figures = {
        "detect": median_ms(lambda: pipe.detector.detect(image), args.repeat),
        "landmarks": median_ms(lambda: pipe.landmarks.predict(image, box), args.repeat),
        "align": median_ms(lambda: align_face(image, points[0]), args.repeat),
        "embed": median_ms(lambda: pipe.embed_crops(crop), args.repeat),
        "total pipe(image)": median_ms(lambda: pipe(image), args.repeat),
    }
    print(f"{args.photo.name} at {image.shape[1]}x{image.shape[0]}, {args.threads} thread(s), median of {args.repeat}")
    for stage, ms in figures.items():
        print(f"  {stage:<18} {ms:8.1f} ms")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"photo": str(args.photo), "size": list(image.shape[:2]),
                                    "threads": args.threads, "ms": figures}, indent=2))


if __name__ == "__main__":
    main()
