"""Time of each stage from photo bytes to result cards, per photo size, face count and thread count; start-up
time; and, side by side in the same run, the seed system's way of searching and drawing.

    python -m benchmarks.pipeline_stages [--index index_data] [--sizes 640 2000] [--faces 1 8]
                                         [--threads 1 2] [--runtime onnx|torch] [--repeat 20]

Photos: real CelebA test faces tiled into one JPEG (benchmarks/common.py), faces our detector finds.
Stages, for all the faces of a photo: decode (bytes -> RGB, EXIF, size cap), detect (letterbox + detector
+ NMS), landmarks, align, embed, search (gallery look-up of 8 identities, crops decoded), render (one card
per face, JPEG-encoded). "sum" adds the stages; "photo -> cards" times the bot's whole job in one call
(Inference.reply with the bot's captions: the same plus the face-quality checks). Seed columns: "search seed" is
scikit-learn's cosine similarity against every gallery vector plus a pandas group-by per person (then the
same crops); "render seed" is a matplotlib 3x3 grid saved as JPEG. Medians of --repeat runs after a
warm-up (--seed-repeat for the slow seed rows), on `threads` threads for PyTorch/ONNX Runtime, OpenCV and
BLAS. Start-up: loading the index, the models (exported to ONNX on the first run with new weights), checking
the index's fingerprint, and the warm-up the bot does. Prints tables and writes JSON.
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics.pairwise import cosine_similarity
from threadpoolctl import threadpool_limits

from bot.service import captioned_reply
from index.engine import LookalikeEngine, check_same_weights
from index.gallery import Gallery, Match
from pipeline import FacePipeline, settings
from pipeline.align import align_face
from pipeline.image import encode_jpeg
from pipeline.photo import decode_photo
from reply.card import render_card
from reply.replier import Replier
from serving import Inference
from training.reference import torch_pipeline

from .common import (
    REPORTS,
    BenchPhoto,
    findable_photos,
    format_table,
    load_note,
    median_ms,
    seconds,
    write_report,
)

STAGES = ("decode", "detect", "landmarks", "align", "embed", "search", "render")
SEED = ("search seed", "render seed")
TOP = 8


# --- the seed system's way ----------------------------------------------------------------------------


def seed_search(gallery: Gallery, vectors: np.ndarray, embedding: np.ndarray, k: int = TOP) -> list[Match]:
    """Cosine similarity against every gallery vector, then each person's best face by a pandas group-by."""
    similarities = cosine_similarity(embedding[None], vectors)[0]
    frame = pd.DataFrame({"identity": gallery.identities, "similarity": similarities})
    best_rows = frame.groupby("identity")["similarity"].idxmax()
    top = frame.loc[best_rows].nlargest(k, "similarity")
    return [Match(rank=rank, identity=int(row.identity), image_id=str(gallery.image_ids[row.Index]),
                  similarity=float(row.similarity), crop=gallery.crop(row.Index))
            for rank, row in enumerate(top.itertuples(), start=1)]


def seed_card(face_crop: np.ndarray, matches: list[Match]) -> bytes:
    """The user's face and 8 look-alikes in a matplotlib 3x3 grid, as JPEG."""
    figure = Figure(figsize=(9, 9), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots(3, 3)
    tiles = [(face_crop, "You")] + [(m.crop, f"#{m.rank} CelebA {m.identity}: {m.similarity:.2f}") for m in matches]
    for axis, (image, title) in zip(axes.flat, tiles, strict=False):
        axis.imshow(image)
        axis.set_title(title, fontsize=10)
    for axis in axes.flat:
        axis.axis("off")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="jpg")
    return buffer.getvalue()


# --- measuring ----------------------------------------------------------------------------------------


def stage_actions(service: Inference, vectors: np.ndarray,
                  data: bytes) -> tuple[int, dict[str, Callable[[], object]]]:
    """(faces found, one action per stage and seed column) for one photo; each stage gets the outputs of the
    stage before it, computed once here."""
    pipe, gallery = service.replier.engine.pipeline, service.replier.engine.gallery
    rgb = decode_photo(data)
    boxes, _ = pipe.detector.detect(rgb)
    points = pipe.landmarks.predict(rgb, boxes)
    crops = np.stack([align_face(rgb, p) for p in points])
    embeddings = pipe.embedder.embed(crops)
    found = [gallery.search(e, TOP) for e in embeddings]
    seed_found = [seed_search(gallery, vectors, e) for e in embeddings]
    same = all([m.identity for m in a] == [m.identity for m in b] for a, b in zip(found, seed_found, strict=True))
    if not same:
        print("  note: the seed search's top 8 differ from FAISS's (ties or an approximate index)")
    return len(boxes), {
        "decode": lambda: decode_photo(data),
        "detect": lambda: pipe.detector.detect(rgb),
        "landmarks": lambda: pipe.landmarks.predict(rgb, boxes),
        "align": lambda: [align_face(rgb, p) for p in points],
        "embed": lambda: pipe.embedder.embed(crops),
        "search": lambda: [gallery.search(e, TOP) for e in embeddings],
        "render": lambda: [encode_jpeg(render_card(c, m, gallery.scale)) for c, m in zip(crops, found, strict=True)],
        "photo -> cards": lambda: captioned_reply(service.reply(data)),
        "search seed": lambda: [seed_search(gallery, vectors, e) for e in embeddings],
        "render seed": lambda: [seed_card(c, m) for c, m in zip(crops, found, strict=True)],
    }


def set_threads(threads: int) -> None:
    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)


def start_up(index_dir: Path, runtime: str, threads: int) -> tuple[Inference, dict[str, float]]:
    """A service as the bot builds it (on `threads` threads), and the seconds each start-up step took."""
    set_threads(threads)
    figures = {"index load": seconds(lambda: Gallery.load(index_dir))}
    gallery = Gallery.load(index_dir)
    started = time.perf_counter()
    pipe = FacePipeline.load(threads=threads) if runtime == "onnx" else torch_pipeline(threads=threads)
    figures["models load"] = time.perf_counter() - started
    figures["fingerprint check"] = seconds(lambda: check_same_weights(gallery, pipe, index_dir))
    service = Inference(Replier(LookalikeEngine(pipe, gallery)))
    figures["warm-up"] = seconds(service.warm_up)
    return service, figures


def measure_photo(service: Inference, vectors: np.ndarray, photo: BenchPhoto, threads: int, repeat: int,
                  seed_repeat: int) -> dict[str, object]:
    faces, actions = stage_actions(service, vectors, photo.data)
    with threadpool_limits(threads):
        ms = {name: median_ms(action, seed_repeat if name in SEED else repeat) for name, action in actions.items()}
    return {"photo": photo.name, "threads": threads, "faces": faces, "ms": {"sum": sum(ms[s] for s in STAGES), **ms}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pipeline_stages", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=settings.index_dir())
    parser.add_argument("--data-root", type=Path, default=None,
                        help="default: $LOOKALIKE_DATA_ROOT, else ../shared/data (pipeline/settings.py)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[640, 2000])
    parser.add_argument("--faces", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--runtime", choices=["onnx", "torch"], default="onnx")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed-repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPORTS / "pipeline_stages.json")
    args = parser.parse_args(argv)
    args.data_root = settings.data_root(args.data_root)

    print(f"{load_note()}; runtime {args.runtime}; index {args.index}/")
    started_up = [start_up(args.index, args.runtime, threads) for threads in args.threads]
    print(format_table(["threads", *started_up[0][1]],
                       [[threads, *figures.values()] for threads, (_, figures) in zip(args.threads, started_up,
                                                                                      strict=True)]))
    gallery = started_up[0][0].replier.engine.gallery
    vectors = gallery.index.reconstruct_n(0, len(gallery))
    photos = findable_photos(args.data_root, args.sizes, args.faces, started_up[0][0].replier.engine.pipeline.detector)
    rows = []
    for threads, (service, _) in zip(args.threads, started_up, strict=True):
        set_threads(threads)
        for photo in photos:
            rows.append(measure_photo(service, vectors, photo, threads, args.repeat, args.seed_repeat))
            print(f"  {photo.name}, {threads} thread(s): {rows[-1]['ms']['photo -> cards']:.0f} ms", flush=True)
    columns = ["sum", *STAGES, "photo -> cards", *SEED]
    print(f"\nmilliseconds, median of {args.repeat} ({args.seed_repeat} for the seed columns); {load_note()}")
    print(format_table(["photo", "thr", "faces", *columns],
                       [[row["photo"], row["threads"], row["faces"], *(row["ms"][c] for c in columns)]
                        for row in rows]))
    write_report(args.out, {
        "runtime": args.runtime, "index": str(args.index), "gallery_size": len(gallery), "repeat": args.repeat,
        "start_up_s": {str(threads): figures for threads, (_, figures) in zip(args.threads, started_up, strict=True)},
        "rows": rows,
    })
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
