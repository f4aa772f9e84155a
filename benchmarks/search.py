"""Which FAISS index for the gallery: recall@8 against exact search, single-query time, memory, build time.

    python -m benchmarks.search                      # CelebA's full size (202,599) and 1,000,000 vectors
    python -m benchmarks.search --sizes 20000        # a quick check

Synthetic vectors shaped like face embeddings (dimension = the embedder's 256): each identity is a random
unit centre with about 20 faces around it (face = centre + Gaussian noise, renormalised; two faces of one
identity have cosine ~0.5), so near neighbours form clusters as in a real gallery. Queries are new faces of
gallery identities. Every query asks for MIN_FETCH neighbours, as Gallery.search's over-fetch does; recall@8
is the share of the exact top 8 found in the index's top 8. Queries run one at a time on one thread (how the
bot searches), except the flat rows marked with more threads, which show why it is one. Build times use all
cores. Memory is the serialised index size.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import faiss
import numpy as np

from index.gallery import HNSW_EF_CONSTRUCTION, HNSW_M, MIN_FETCH

DIM = 256
FACES_PER_IDENTITY = 20
NOISE = 1.0  # per-face noise relative to the unit centre: face-to-centre cosine ~0.7
K = 8


@dataclass
class Row:
    size: int
    index: str
    setting: str
    threads: int
    recall_at_8: float
    query_ms_median: float
    query_ms_p99: float
    memory_mb: float
    build_s: float


def unit_rows(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def synthetic_faces(size: int, queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(gallery (size, DIM), queries (queries, DIM)): clustered unit vectors, made in chunks."""
    rng = np.random.default_rng(seed)
    centres = unit_rows(rng.standard_normal((max(1, size // FACES_PER_IDENTITY), DIM), dtype=np.float32))

    def faces_of(identities: np.ndarray) -> np.ndarray:
        noise = rng.standard_normal((len(identities), DIM), dtype=np.float32) * (NOISE / np.sqrt(DIM))
        return unit_rows(centres[identities] + noise)

    gallery = np.empty((size, DIM), np.float32)
    for start in range(0, size, 100_000):
        stop = min(size, start + 100_000)
        gallery[start:stop] = faces_of(np.arange(start, stop) % len(centres))
    return gallery, faces_of(rng.integers(0, len(centres), queries))


def exact_top8(gallery: np.ndarray, queries: np.ndarray) -> np.ndarray:
    flat = faiss.IndexFlatIP(DIM)
    flat.add(gallery)
    return flat.search(queries, K)[1]


def timed_build(make: Callable[[], faiss.Index], gallery: np.ndarray) -> tuple[faiss.Index, float]:
    started = time.perf_counter()
    index = make()
    if not index.is_trained:
        index.train(gallery[np.random.default_rng(1).permutation(len(gallery))[:200_000]])
    index.add(gallery)
    return index, time.perf_counter() - started


def measure(index: faiss.Index, queries: np.ndarray, truth: np.ndarray, params: faiss.SearchParameters | None,
            threads: int) -> tuple[float, float, float]:
    """(recall@8, median ms, p99 ms) over single-vector queries."""
    faiss.omp_set_num_threads(threads)
    found, times = [], []
    for query in queries:
        started = time.perf_counter()
        _, ids = index.search(query[None], MIN_FETCH, params=params)
        times.append((time.perf_counter() - started) * 1000)
        found.append(ids[0, :K])
    recall = np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth, strict=True)])
    return float(recall), float(np.median(times)), float(np.percentile(times, 99))


def memory_mb(index: faiss.Index) -> float:
    return faiss.serialize_index(index).nbytes / 2**20


def benchmark_size(size: int, queries_count: int, all_threads: int, with_ivf: bool) -> list[Row]:
    gallery, queries = synthetic_faces(size, queries_count)
    faiss.omp_set_num_threads(all_threads)
    truth = exact_top8(gallery, queries)
    rows = []

    def record(name: str, index: faiss.Index, build_s: float,
               settings: list[tuple[str, faiss.SearchParameters | None, int]]) -> None:
        size_mb = memory_mb(index)
        for setting, params, threads in settings:
            recall, median, p99 = measure(index, queries, truth, params, threads)
            rows.append(Row(size, name, setting, threads, recall, median, p99, size_mb, build_s))
            print(format_row(rows[-1]), flush=True)

    flat, build_s = timed_build(lambda: faiss.IndexFlatIP(DIM), gallery)
    record("flat", flat, build_s, [("exact", None, 1), ("exact", None, all_threads)])
    del flat

    faiss.omp_set_num_threads(all_threads)

    def make_hnsw() -> faiss.Index:
        index = faiss.IndexHNSWFlat(DIM, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        return index

    hnsw, build_s = timed_build(make_hnsw, gallery)
    record(f"hnsw M={HNSW_M}", hnsw, build_s,
           [(f"efSearch={ef}", faiss.SearchParametersHNSW(efSearch=ef), 1) for ef in (64, 128, 256)])
    del hnsw

    if with_ivf:
        faiss.omp_set_num_threads(all_threads)
        nlist = int(4 * np.sqrt(size))
        ivf, build_s = timed_build(lambda: faiss.IndexIVFFlat(faiss.IndexFlatIP(DIM), DIM, nlist,
                                                              faiss.METRIC_INNER_PRODUCT), gallery)
        record(f"ivf nlist={nlist}", ivf, build_s,
               [(f"nprobe={n}", faiss.SearchParametersIVF(nprobe=n), 1) for n in (16, 64)])
    return rows


HEADER = (f"{'size':>9}  {'index':<16} {'setting':<13} {'thr':>3}  {'recall@8':>8}  {'ms med':>7}  "
          f"{'ms p99':>7}  {'MB':>7}  {'build s':>7}")


def format_row(row: Row) -> str:
    return (f"{row.size:>9}  {row.index:<16} {row.setting:<13} {row.threads:>3}  {row.recall_at_8:>8.3f}  "
            f"{row.query_ms_median:>7.2f}  {row.query_ms_p99:>7.2f}  {row.memory_mb:>7.0f}  "
            f"{row.build_s:>7.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.search", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[202_599, 1_000_000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="threads for building and for the flat multi-thread comparison")
    parser.add_argument("--no-ivf", action="store_true", help="skip IVF (its training is the slowest build)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "search.json")
    args = parser.parse_args(argv)

    print(f"dim {DIM}, {args.queries} queries of {MIN_FETCH} neighbours each, faiss {faiss.__version__}")
    print(HEADER)
    rows = [row for size in args.sizes
            for row in benchmark_size(size, args.queries, args.threads, with_ivf=not args.no_ivf)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"dim": DIM, "queries": args.queries, "fetch": MIN_FETCH,
                                    "faiss": faiss.__version__, "rows": [asdict(r) for r in rows]}, indent=2))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
