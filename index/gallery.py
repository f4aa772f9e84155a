"""The gallery: a built index directory, loaded once and searched per face.

An index directory (written by index.build) holds

    faces.index     the FAISS index of the gallery's unit embeddings; vector i is row i of faces.csv
    faces.csv       one row per gallery face: image_id, identity, name (a named person's, empty for CelebA,
                    whose people are known by number only), partition, source (the photo's collection: "wild"
                    or "align" for CelebA, "pubfig", "tmdb", ... for named sets), box_from, box (x1, y1, x2,
                    y2), detection score, the five landmarks, and where its crop lies in crops.bin
    crops.bin       the aligned 112x112 crops as JPEG bytes, one after another (the card needs them, so the
                    bot never needs the CelebA folder at run time)
    manifest.json   what built it: the pipeline's weights fingerprint, embedding size, count, build date,
                    source folders, photos without a face and corrupt files skipped; written last, so a
                    directory without it is an unfinished build
    scale.json      the look-alike scale of this gallery (index/scale.py): where the card's colour bands
                    start, measured on people who are not in it; absent when the build had no such people

The CelebA gallery's directory may hold a second gallery of named people in NAMED_DIR (same layout), whose
closest person each card adds; the main manifest is written after it.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pandas as pd
from PIL import Image

from index.bands import LookalikeScale

INDEX_FILE = "faces.index"
METADATA_FILE = "faces.csv"
CROPS_FILE = "crops.bin"
MANIFEST_FILE = "manifest.json"
SCALE_FILE = "scale.json"
NAMED_DIR = "named"

# Index type by gallery size, chosen with benchmarks/search.py (see its results): exact search below
# FLAT_MAX_SIZE vectors, HNSW above it.
FLAT_MAX_SIZE = 100_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128

# Over-fetch for the per-identity dedupe: a celebrity has up to ~30 photos in CelebA, so most of the
# nearest faces of a good match can be the same person.
OVERFETCH = 8
MIN_FETCH = 64


class MissingIndexError(FileNotFoundError):
    """No finished index in the directory (never built, or the build was interrupted)."""


@dataclass
class Match:
    """One look-alike: rank (1 = most similar), identity (CelebA's number, or a named gallery's own), photo,
    cosine similarity, aligned crop, and the person's name in a named gallery (else empty)."""

    rank: int
    identity: int
    image_id: str
    similarity: float
    crop: np.ndarray
    name: str = ""


def create_faiss_index(dim: int, size: int) -> faiss.Index:
    """An empty inner-product index suited to a gallery of `size` unit vectors. HNSW keeps its vectors in
    float16: half the memory of float32 (about 100 MB less at CelebA's 202,599 faces) for the same neighbours
    (recall@64 0.837 against 0.838 on 40,000 of benchmarks/search.py's vectors)."""
    if size <= FLAT_MAX_SIZE:
        return faiss.IndexFlatIP(dim)
    index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_fp16, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    index.hnsw.efSearch = HNSW_EF_SEARCH
    return index


def search_parameters(index: faiss.Index, fetch: int) -> faiss.SearchParameters | None:
    """Per-call search parameters (no shared state is changed): HNSW must explore at least `fetch` nodes."""
    if isinstance(index, faiss.IndexHNSW):
        return faiss.SearchParametersHNSW(efSearch=max(HNSW_EF_SEARCH, fetch))
    return None


def normalised(vector: np.ndarray) -> np.ndarray:
    """A (1, D) float32 unit row."""
    row = np.asarray(vector, np.float32).reshape(1, -1)
    return row / max(float(np.linalg.norm(row)), 1e-12)


def best_per_identity(rows: np.ndarray, similarities: np.ndarray,
                      identities: np.ndarray) -> list[tuple[int, float]]:
    """(row, similarity) of the most similar face of each identity, most similar first."""
    seen: set[int] = set()
    best = []
    for row, similarity in zip(rows, similarities, strict=True):
        if row < 0 or identities[row] in seen:  # FAISS pads missing results with -1
            continue
        seen.add(int(identities[row]))
        best.append((int(row), float(similarity)))
    return best


def read_scale(index_dir: Path) -> LookalikeScale | None:
    """The gallery's look-alike scale (scale.json's `scale`), or None when it was built without one."""
    path = index_dir / SCALE_FILE
    return LookalikeScale(**json.loads(path.read_text())["scale"]) if path.is_file() else None


def decode_crop(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def read_manifest(index_dir: Path) -> dict[str, Any]:
    path = Path(index_dir) / MANIFEST_FILE
    if not path.is_file():
        raise MissingIndexError(
            f"No gallery index in {index_dir}/: build one with `lookalike build-index --data-root DATA_ROOT "
            f"--out {index_dir}` (or run `lookalike demo`, which builds it when missing)."
        )
    return json.loads(path.read_text())


class Gallery:
    """A loaded index directory. Read-only after loading, so concurrent searches from threads are safe."""

    def __init__(self, index: faiss.Index, metadata: pd.DataFrame, crops: np.ndarray,
                 manifest: dict[str, Any], scale: LookalikeScale | None = None) -> None:
        self.index = index
        self.metadata = metadata
        self.crops = crops
        self.manifest = manifest
        self.scale = scale
        self.identities = metadata["identity"].to_numpy(np.int64)
        names = metadata["name"] if "name" in metadata else pd.Series(index=metadata.index, dtype=object)
        self.names = names.astype(object).where(names.notna(), "").astype(str).to_numpy()
        # Plain arrays for the per-match look-ups: pandas' .at costs more than the search itself here.
        self.image_ids = metadata["image_id"].to_numpy()
        self.crop_offsets = metadata["crop_offset"].to_numpy(np.int64)
        self.crop_sizes = metadata["crop_size"].to_numpy(np.int64)

    @classmethod
    def load(cls, index_dir: str | Path) -> Gallery:
        index_dir = Path(index_dir)
        manifest = read_manifest(index_dir)
        index = faiss.read_index(str(index_dir / INDEX_FILE))
        metadata = pd.read_csv(index_dir / METADATA_FILE, dtype={"image_id": str})
        crops = np.memmap(index_dir / CROPS_FILE, dtype=np.uint8, mode="r")
        if index.ntotal != len(metadata):
            raise ValueError(f"{index_dir}: {index.ntotal} vectors but {len(metadata)} metadata rows")
        return cls(index, metadata, crops, manifest, read_scale(index_dir))

    def __len__(self) -> int:
        return self.index.ntotal

    @property
    def weights_fingerprint(self) -> str:
        return self.manifest["weights_fingerprint"]

    def crop(self, row: int) -> np.ndarray:
        """The aligned 112x112 RGB crop of gallery row `row`."""
        start = int(self.crop_offsets[row])
        return decode_crop(self.crops[start:start + int(self.crop_sizes[row])].tobytes())

    def nearest(self, embedding: np.ndarray, k: int = 8) -> list[tuple[int, float]]:
        """(row, similarity) of the k most similar identities (the best face of each), most similar first;
        fewer if fewer exist."""
        # One thread per query: for a single vector, OpenMP start-up costs more than it saves (see
        # benchmarks/search.py). The setting is per calling thread, so it is made here, where searches run.
        faiss.omp_set_num_threads(1)
        query = normalised(embedding)
        fetch = min(len(self), max(k * OVERFETCH, MIN_FETCH))
        while True:
            similarities, rows = self.index.search(query, fetch, params=search_parameters(self.index, fetch))
            best = best_per_identity(rows[0], similarities[0], self.identities)
            if len(best) >= k or fetch >= len(self):
                return best[:k]
            fetch = min(len(self), fetch * 4)

    def search(self, embedding: np.ndarray, k: int = 8) -> list[Match]:
        """The k most similar identities as look-alikes (the best face of each, its crop decoded)."""
        return [
            Match(rank=rank, identity=int(self.identities[row]), similarity=similarity,
                  image_id=str(self.image_ids[row]), crop=self.crop(row), name=str(self.names[row]))
            for rank, (row, similarity) in enumerate(self.nearest(embedding, k), start=1)
        ]
