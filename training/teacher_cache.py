"""Cache every training face as our pipeline cuts it, and the teachers' embeddings of it (training only).

    python -m training.teacher_cache --data-root ../shared/data --teachers teachers/ \
        --names sface mobilefacenet --out runs/cache_v3

Writes into `--out`:
- `faces.csv`: one row per training face (training.faces.all_training_faces, without the points),
- `crops.npy`: (N, 112, 112, 3) uint8, each face as the pipeline cuts it (training.faces.pipeline_crop: OUR
  landmarks and alignment, and for in-the-wild photos our detector), in that order (about 2.4 GB for the shared
  data): what the student learns from and what the teachers see, so a target is the teacher's view of exactly
  the crop the student is shown before augmentation. (faces_extra's own crops are not all on the ArcFace template
  they name: utk's and pubfig's faces are about 0.6x its size, so a teacher's embedding of them is another view:
  MobileFaceNet's cosine between the two views has a median of 0.73 for utk, 0.61 for pubfig, 0.99 elsewhere.)
- `<teacher>.npy`: (N, D) float32 unit embeddings of each crop.
Each file is filled in chunks and the count of finished rows kept beside it (`*.done`), so a stopped run
resumes where it was. The student then learns from fresh augmentations of the cached crops (mirrored or not).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from pipeline import FacePipeline
from pipeline.align import CROP_SIZE
from readers import DataPaths
from training.faces import all_training_faces, pipeline_crop
from training.teachers import DEFAULT_TEACHERS_DIR, TEACHER_SPECS, load_teacher

CHUNK = 512


def fill_in_chunks(path: Path, shape: tuple[int, ...], dtype: str, rows: Callable[[int, int], np.ndarray],
                   desc: str) -> np.ndarray:
    """Create (or reopen) the .npy at `path` and fill rows [done, N) chunk by chunk, recording progress."""
    done_file = path.with_suffix(".done")
    done = int(done_file.read_text()) if done_file.exists() and path.exists() else 0
    array = np.lib.format.open_memmap(path, mode="r+" if done else "w+", dtype=dtype, shape=shape)
    with tqdm(total=shape[0], initial=done, desc=desc, mininterval=30) as bar:
        for start in range(done, shape[0], CHUNK):
            stop = min(start + CHUNK, shape[0])
            array[start:stop] = rows(start, stop)
            array.flush()
            done_file.write_text(str(stop))
            bar.update(stop - start)
    return array


def cache_crops(faces: pd.DataFrame, data: DataPaths, out: Path, threads: int) -> np.ndarray:
    pipe, celeba, rows = FacePipeline.load(threads=threads), data.celeba, list(faces.itertuples())
    return fill_in_chunks(out / "crops.npy", (len(faces), CROP_SIZE, CROP_SIZE, 3), "uint8",
                          lambda a, b: np.stack([pipeline_crop(pipe, celeba, r) for r in rows[a:b]]), "crops")


def cache_teacher(name: str, crops: np.ndarray, folder: Path, out: Path, threads: int) -> None:
    teacher = load_teacher(name, folder, threads)
    dimension = teacher(crops[:1]).shape[1]

    fill_in_chunks(out / f"{name}.npy", (len(crops), dimension), "float32",
                   lambda start, stop: teacher(np.asarray(crops[start:stop])), name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--teachers", type=Path, default=DEFAULT_TEACHERS_DIR)
    parser.add_argument("--names", nargs="*", default=["sface", "mobilefacenet"],
                        choices=["dlib", *TEACHER_SPECS])
    parser.add_argument("--out", type=Path, default=Path("runs/cache_v3"))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    args.out.mkdir(parents=True, exist_ok=True)
    data = DataPaths.from_root(args.data_root)
    faces = all_training_faces(data)
    table = args.out / "faces.csv"
    if table.exists() and pd.read_csv(table, keep_default_na=False).key.tolist() != faces.key.tolist():
        raise SystemExit(f"{table} lists other faces: use a new --out folder")
    faces.drop(columns=["points", "path"]).to_csv(table, index=False)
    crops = cache_crops(faces, data, args.out, args.threads)
    for name in args.names:
        cache_teacher(name, crops, args.teachers, args.out, args.threads)


if __name__ == "__main__":
    main()
