"""The embedder's training faces: train-partition CelebA identities only, from both CelebA folders.

Test-partition identities and MTFL never appear here (they are used for evaluation).
"""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd

from ..data import DataPaths
from ..data.celeba import aligned_points


def embedder_training_faces(data: DataPaths) -> pd.DataFrame:
    """One row per face: source, image_id, path, identity and its five points (column `points`, (5, 2))."""
    wild, align = data.celeba, data.celeba_align
    banned = set(wild.identities[wild.partitions.reindex(wild.identities.index) != 0].unique())
    rows = []
    for image_id in wild.image_ids("train"):
        if image_id in wild.landmarks.index:
            rows.append(("wild", image_id, wild.wild_dir / image_id, int(wild.identities[image_id]),
                         wild.landmark_array(image_id)))
    align_width: int | None = None
    for image_id in align.image_ids("train", images="align"):
        identity = int(align.identities[image_id])
        if identity in banned:
            continue
        path = align.align_dir / image_id
        if align_width is None:
            align_width = cv2.imread(str(path)).shape[1]
        rows.append(("align", image_id, path, identity, aligned_points(align, image_id, align_width)))
    frame = pd.DataFrame(rows, columns=["source", "image_id", "path", "identity", "points"])
    frame["points"] = frame["points"].map(lambda p: np.asarray(p, np.float32))
    return frame
