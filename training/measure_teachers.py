"""Measure the teachers and their ensembles with the project's verification protocol.

    python -m training.measure_teachers --data-root ../shared/data --teachers teachers/ \
        --out reports/teachers.json

The crops are those of our own pipeline (detector -> landmarks -> ArcFace alignment, the celebrity's face of
each in-the-wild photo), so a teacher is measured exactly as our embedder is. Two sets: the *validation*
identities (in-the-wild train identities that embedder training holds out: where the choice is made) and the
CelebA *test* identities (reported, never chosen on), plus the named faces_extra people training holds out
(*named*, through our landmarks and alignment). Ensembles concatenate the members' unit embeddings.
"""

from __future__ import annotations

import argparse
import json
from itertools import combinations
from pathlib import Path

import numpy as np

from pipeline.embedder import unit_rows
from pipeline.face_pipeline import FacePipeline
from readers import DataPaths
from training.evaluate import celebrity_crops, named_validation_crops, verification
from training.faces import validation_image_ids
from training.metrics import pair_scores
from training.teachers import DEFAULT_TEACHERS_DIR, TEACHER_SPECS, load_teacher

SETS = ("validation", "named", "test")


def cached_crops(cache: Path, pipe: FacePipeline, data: DataPaths) -> dict[str, tuple[np.ndarray, np.ndarray, int]]:
    """Crops of the three sets through our pipeline, computed once and kept in `cache` (an .npz)."""
    if not cache.exists():
        sets = {"validation": validation_image_ids(data), "test": data.celeba.image_ids("test")}
        arrays = {}
        for name, image_ids in sets.items():
            crops, identities, missing = celebrity_crops(pipe, data, image_ids)
            arrays |= {f"{name}_crops": crops, f"{name}_identities": identities, f"{name}_missing": missing}
        crops, identities = named_validation_crops(pipe, data)
        arrays |= {"named_crops": crops, "named_identities": identities, "named_missing": 0}
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, **arrays)
    stored = np.load(cache)
    return {name: (stored[f"{name}_crops"], stored[f"{name}_identities"], int(stored[f"{name}_missing"]))
            for name in SETS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--teachers", type=Path, default=DEFAULT_TEACHERS_DIR)
    parser.add_argument("--names", nargs="+", default=["dlib", *TEACHER_SPECS])
    parser.add_argument("--crops", type=Path, default=Path("runs/validation_crops.npz"))
    parser.add_argument("--out", type=Path, default=Path("reports/teachers.json"))
    args = parser.parse_args()

    pipe = FacePipeline.load()
    sets = cached_crops(args.crops, pipe, DataPaths.from_root(args.data_root))
    embeddings = {"ours": {name: pipe.embed_crops(crops) for name, (crops, _, _) in sets.items()}}
    for name in args.names:
        teacher = load_teacher(name, args.teachers, threads=2)
        embeddings[name] = {set_name: teacher(crops) for set_name, (crops, _, _) in sets.items()}
    members = [name for name in embeddings if name != "ours"]
    for size in range(2, len(members) + 1):
        for group in combinations(members, size):
            embeddings["+".join(group)] = {
                set_name: unit_rows(np.concatenate([embeddings[m][set_name] for m in group], axis=1))
                for set_name in sets}
    report = {}
    for name, by_set in embeddings.items():
        report[name] = {}
        for set_name, (_, identities, missing) in sets.items():
            figures = verification(*pair_scores(by_set[set_name], identities), identities, missing)
            report[name][set_name] = {k: round(v, 4) if isinstance(v, float) else v
                                      for k, v in figures.items() if k != "curve"}
        v, n, t = report[name]["validation"], report[name]["named"], report[name]["test"]
        print(f"{name:40s} validation TPR@1e-2 {v['tpr_at_fpr_0.01']:.3f} @1e-3 {v['tpr_at_fpr_0.001']:.3f} "
              f"named {n['tpr_at_fpr_0.01']:.3f} | "
              f"test AUC {t['auc']:.3f} TPR@1e-2 {t['tpr_at_fpr_0.01']:.3f} @1e-3 {t['tpr_at_fpr_0.001']:.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
