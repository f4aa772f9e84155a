"""A gallery index directory of CelebA's full size (202,599 faces) made from synthetic vectors, for measuring
memory and search time at that size without embedding 202,599 photos.

    python -m benchmarks.synthetic_index [--size 202599] [--base index_data] [--out DIR]

The vectors are benchmarks/search.py's clustered unit vectors (about 20 faces per identity), in the index
type Gallery uses at that size (HNSW above 100,000 faces). Metadata rows and crops are the base index's,
repeated, with the synthetic identities; the manifest carries the base's weights fingerprint, so that the
weights of the base index accept it. Built once (about 4 minutes on 2 cores) and reused until Gallery's
index type for that size changes; after new weights only the fingerprint is copied again.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

import faiss
import numpy as np
import pandas as pd

from index.gallery import CROPS_FILE, INDEX_FILE, MANIFEST_FILE, METADATA_FILE, create_faiss_index
from pipeline import settings

from .common import REPORTS
from .search import FACES_PER_IDENTITY, synthetic_faces

CELEBA_SIZE = 202_599


def synthetic_index(base_dir: Path, out_dir: Path, size: int = CELEBA_SIZE) -> Path:
    """The directory `out_dir` holding a `size`-face index shaped like `base_dir`'s, built if missing. The
    vectors do not depend on the weights: when only those changed, only the manifest is written again."""
    base_manifest = json.loads((base_dir / MANIFEST_FILE).read_text())
    manifest_path = out_dir / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    index_type = type(create_faiss_index(base_manifest["embedding_size"], size)).__name__
    if manifest.get("count") != size or manifest.get("index_type") != index_type:
        manifest = build(base_dir, out_dir, size)
    manifest.update({key: base_manifest[key] for key in ("weights_fingerprint", "embedding_size")})
    manifest_path.write_text(json.dumps(manifest, indent=2))
    return out_dir


def build(base_dir: Path, out_dir: Path, size: int) -> dict:
    """Write the index, metadata and crops; returns the manifest to write last."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MANIFEST_FILE).unlink(missing_ok=True)  # unfinished until the manifest is written again
    started = time.perf_counter()
    vectors, _ = synthetic_faces(size, queries=1)
    index = create_faiss_index(vectors.shape[1], size)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    index.add(vectors)
    faiss.write_index(index, str(out_dir / INDEX_FILE))

    base_rows = pd.read_csv(base_dir / METADATA_FILE, dtype={"image_id": str})
    rows = base_rows.iloc[np.arange(size) % len(base_rows)].reset_index(drop=True)
    rows["identity"] = np.arange(size) % max(1, size // FACES_PER_IDENTITY)  # as synthetic_faces clusters them
    rows["image_id"] = [f"synthetic_{n:06d}.jpg" for n in range(size)]
    rows.to_csv(out_dir / METADATA_FILE, index=False)
    shutil.copyfile(base_dir / CROPS_FILE, out_dir / CROPS_FILE)  # a copy: the base may be rebuilt later
    return {"count": size, "index_type": type(index).__name__, "synthetic": True, "base": str(base_dir),
            "build_seconds": round(time.perf_counter() - started, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.synthetic_index", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=CELEBA_SIZE)
    parser.add_argument("--base", type=Path, default=settings.index_dir())
    parser.add_argument("--out", type=Path, default=None, help=f"default: {REPORTS}/synthetic-SIZE")
    args = parser.parse_args(argv)
    out_dir = synthetic_index(args.base, args.out or REPORTS / f"synthetic-{args.size}", args.size)
    manifest = json.loads((out_dir / MANIFEST_FILE).read_text())
    print(f"{out_dir}/: {manifest['count']} faces, {manifest['index_type']}, built in {manifest['build_seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
