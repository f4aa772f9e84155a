"""The embedder's training faces: train-partition CelebA identities from both CelebA folders, and every
crop of `faces_extra` (named people and unlabelled faces).

Test-partition identities and MTFL never appear here (they are used for evaluation); faces_extra holds no
LFW person.
"""

from __future__ import annotations

import random

import cv2
import numpy as np
import pandas as pd

from readers import DataPaths
from readers.celeba import aligned_points
from readers.faces_extra import read_faces_extra

VALIDATION_SEED = 0  # the held-out people of embedder training (validation_sets)


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


def all_training_faces(data: DataPaths) -> pd.DataFrame:
    """CelebA's training faces and faces_extra's in one table, one row per face.

    Columns: source (wild, align, or the faces_extra collection), key (unique), path, points (in the image),
    identity (a string: `celeba/<id>`, `name/<person>`, or '' for a face with no label), aligned (the image is
    already a 112x112 ArcFace crop), outside (share of black border; 0 for CelebA).
    """
    celeba = embedder_training_faces(data)
    celeba = celeba.assign(key=celeba.source + "/" + celeba.image_id, identity="celeba/" + celeba.identity.astype(str),
                           aligned=False, outside=np.float32(0))
    extra = read_faces_extra(data.faces_extra) if data.faces_extra.is_dir() else None
    if extra is None:
        return celeba.drop(columns="image_id")
    extra = extra.assign(key=extra.path, path=[data.faces_extra / p for p in extra.path], aligned=True,
                         identity=np.where(extra.identity != "", "name/" + extra.identity, ""),
                         outside=extra.outside.astype(np.float32))
    columns = ["source", "key", "path", "points", "identity", "aligned", "outside"]
    return pd.concat([celeba[columns], extra[columns]], ignore_index=True)


def held_out_identities(faces: pd.DataFrame, source_filter: pd.Series, min_photos: int, fraction: float,
                        seed: int) -> set[str]:
    """A seeded `fraction` of the identities among `source_filter` faces with at least `min_photos` photos."""
    counts = faces.identity[source_filter & (faces.identity != "")].value_counts()
    candidates = sorted(counts[counts >= min_photos].index, key=lambda name: (len(name), name))  # numeric order
    return set(random.Random(seed).sample(candidates, min(len(candidates), max(2, int(len(candidates) * fraction)))))


def validation_sets(faces: pd.DataFrame) -> dict[str, np.ndarray]:
    """Row indices of the people embedder training holds out, by set: `wild`, in-the-wild CelebA identities
    (all their photos, aligned ones included), and `named`, named faces_extra people. Drawn with a fixed seed,
    never a run's: every run, and a run continued from another, holds out the same people, so validation
    figures compare and never include a person an earlier stage trained on."""
    wild = held_out_identities(faces, faces.source == "wild", 4, 0.1, VALIDATION_SEED)
    named = held_out_identities(faces, faces.identity.str.startswith("name/"), 3, 0.1, VALIDATION_SEED)
    sets = {"wild": np.flatnonzero(faces.identity.isin(wild)), "named": np.flatnonzero(faces.identity.isin(named))}
    return {name: rows for name, rows in sets.items() if len(rows)}


def validation_image_ids(data: DataPaths) -> list[str]:
    """The in-the-wild photos of the CelebA identities that embedder training holds out."""
    faces = all_training_faces(data)
    rows = validation_sets(faces)["wild"]
    return sorted(key.split("/", 1)[1] for key in faces.key.to_numpy()[rows] if key.startswith("wild/"))
