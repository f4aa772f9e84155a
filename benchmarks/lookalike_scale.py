"""The look-alike scale of a built index: the figures its build measured, by group of unseen people, and a check
on in-the-wild photos that the scale was not measured on.

    python -m benchmarks.lookalike_scale [--index index_data] [--data-root ../shared/data]

1. For each gallery (CelebA, and the named one when the index has it), scale.json's bands and the share of
   unseen people's closest and 8th look-alikes in each band, then the same shares by group of those people
   (faces_extra source: aaf, mostly East Asian adults; tmdb, portraits of named people).
2. A check, not a choice (the scale was set before it ran, on faces_extra people): CelebA *test* photos
   through the whole pipeline (detector, landmarks, alignment), each photo's largest face searched in the CelebA
   gallery with its own person's photos left out, so each is an unseen person in the photos users send.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from index.bands import LookalikeScale
from index.extra import ExtraConfig, pipeline_crops, split_extra
from index.gallery import NAMED_DIR, Gallery
from index.scale import band_shares
from pipeline import FacePipeline, settings
from pipeline.image import read_rgb

from .common import TEST_PARTITION, format_table, load_note

RANK = 8


def closest_and_last(gallery: Gallery, embeddings: np.ndarray, leave_out: np.ndarray | None = None) -> np.ndarray:
    """(N, 2): similarity of each embedding's closest and RANK-th look-alike; `leave_out`: an identity per
    embedding whose faces are not counted."""
    rows = []
    for number, embedding in enumerate(embeddings):
        found = gallery.nearest(embedding, RANK + 1)
        similarities = [s for row, s in found if leave_out is None or gallery.identities[row] != leave_out[number]]
        rows.append((similarities[0], similarities[RANK - 1]))
    return np.array(rows)


def share_row(label: str, similarities: np.ndarray, scale: LookalikeScale) -> list[object]:
    closest, last = band_shares(similarities[:, 0], scale), band_shares(similarities[:, 1], scale)
    return [label, len(similarities), *(100 * closest[b] for b in ("strong", "similar", "weak")),
            *(100 * last[b] for b in ("strong", "similar", "weak"))]


def celeba_test_faces(pipe: FacePipeline, data_root: Path) -> tuple[np.ndarray, np.ndarray]:
    """(embeddings, identities) of the largest face in each CelebA test photo that has one."""
    celeba = data_root / "celeba"
    partition = pd.read_csv(celeba / "Eval" / "list_eval_partition.txt", sep=r"\s+", header=None,
                            names=["image_id", "partition"], dtype={"image_id": str})
    identity = pd.read_csv(celeba / "Anno" / "identity_CelebA.txt", sep=r"\s+", header=None,
                           names=["image_id", "identity"], dtype={"image_id": str}).set_index("image_id")
    embeddings, identities = [], []
    for image_id in partition.loc[partition["partition"] == TEST_PARTITION, "image_id"]:
        faces = pipe(read_rgb(celeba / "img_celeba" / image_id))
        if faces:
            embeddings.append(faces[0].embedding)
            identities.append(int(identity.at[image_id, "identity"]))
    return np.stack(embeddings), np.array(identities)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.lookalike_scale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=settings.index_dir())
    parser.add_argument("--data-root", type=Path, default=None,
                        help="default: $LOOKALIKE_DATA_ROOT, else ../shared/data (pipeline/settings.py)")
    args = parser.parse_args(argv)
    args.data_root = settings.data_root(args.data_root)
    pipe = FacePipeline.load(threads=1)
    folder = args.data_root / "faces_extra"
    split = split_extra(folder, ExtraConfig())
    unseen = pipe.embed_crops(pipeline_crops(pipe, folder, split.unseen))
    sources = split.unseen["source"].to_numpy()
    headers = ["people", "n", "closest: strong %", "similar %", "weak %", f"#{RANK}: strong %", "similar %", "weak %"]
    for name, path in (("CelebA gallery", args.index), ("named gallery", args.index / NAMED_DIR)):
        if not path.is_dir():
            continue
        gallery = Gallery.load(path)
        assert gallery.scale is not None, f"{path} has no look-alike scale"
        similarities = closest_and_last(gallery, unseen)
        rows = [share_row("all unseen (the scale's people)", similarities, gallery.scale)]
        rows += [share_row(source, similarities[sources == source], gallery.scale) for source in np.unique(sources)]
        if name == "CelebA gallery":
            embeddings, identities = celeba_test_faces(pipe, args.data_root)
            rows.append(share_row("CelebA test photos, own person left out (check)",
                                  closest_and_last(gallery, embeddings, identities), gallery.scale))
        print(f"\n{name}: strong >= {gallery.scale.strong:.3f}, similar >= {gallery.scale.similar:.3f}")
        print(format_table(headers, rows))
    print(f"({load_note()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
