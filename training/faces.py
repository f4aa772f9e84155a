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

from index.build import celebrity_box
from pipeline import FacePipeline
from pipeline.image import read_rgb
from readers import CelebA, DataPaths
from readers.celeba import aligned_points
from readers.faces_extra import read_faces_extra

VALIDATION_SEED = 0  # the held-out people of embedder training (validation_people), fixed once for every run
# How many people each validation set holds out: in-the-wild CelebA train identities with 4+ photos (about as many
# identities and photos as the CelebA test partition: 58 identities, 1,252 photos) and named faces_extra people
# with 3+ photos; at most VALIDATION_PHOTOS of each named person are paired (a few have over 200 photos).
VALIDATION_PEOPLE = {"wild": 60, "named": 150}
VALIDATION_PHOTOS = 12


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


def pipeline_crop(pipe: FacePipeline, celeba: CelebA, row) -> np.ndarray:
    """The face as the pipeline cuts it, as the index build does: in an in-the-wild photo, the celebrity's face
    our detector finds (the annotated box when it misses it), then our landmarks and alignment; in an aligned
    photo or crop, FacePipeline.face_near_points of its known points."""
    image = read_rgb(row.path)
    found = None if row.aligned or row.source == "align" else celebrity_box(pipe, celeba, row.key.split("/", 1)[1],
                                                                             image)
    if found is None:
        return pipe.face_near_points(image, row.points)[1]
    return pipe.faces_in_box(image, found[0][None])[1][0]


def held_out_identities(faces: pd.DataFrame, source_filter: pd.Series, min_photos: int, people: int,
                        seed: int) -> set[str]:
    """`people` identities drawn with `seed` among the `source_filter` faces' identities with `min_photos`+ photos."""
    counts = faces.identity[source_filter & (faces.identity != "")].value_counts()
    candidates = sorted(counts[counts >= min_photos].index, key=lambda name: (len(name), name))  # numeric order
    return set(random.Random(seed).sample(candidates, min(len(candidates), people)))


def validation_people(faces: pd.DataFrame) -> dict[str, set[str]]:
    """The people embedder training holds out, by set: `wild`, in-the-wild CelebA train identities (never trained
    on, aligned photos included), and `named`, named faces_extra people. Drawn with a fixed seed, never a run's:
    every run, and a run continued from another, holds out the same people, so validation figures compare and
    never include a person an earlier stage trained on."""
    return {"wild": held_out_identities(faces, faces.source == "wild", 4, VALIDATION_PEOPLE["wild"], VALIDATION_SEED),
            "named": held_out_identities(faces, faces.identity.str.startswith("name/"), 3, VALIDATION_PEOPLE["named"],
                                         VALIDATION_SEED)}


def validation_sets(faces: pd.DataFrame) -> dict[str, np.ndarray]:
    """Row indices of the faces each validation set pairs: the in-the-wild photos of its CelebA people (what
    `python -m training.evaluate --validation` runs through the full pipeline), and up to VALIDATION_PHOTOS
    photos (first by key) of each named person."""
    people = validation_people(faces)
    wild = faces.identity.isin(people["wild"]) & (faces.source == "wild")
    named = faces[faces.identity.isin(people["named"])].sort_values("key").groupby("identity").head(VALIDATION_PHOTOS)
    return {"wild": np.flatnonzero(wild), "named": np.sort(named.index.to_numpy())}


def stacked_sets(sets: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(the sets' rows one after another, each set's positions in them): embed the rows once, then pair each set
    within its own positions (training.embedder.validate)."""
    rows = np.concatenate(list(sets.values()))
    starts = np.cumsum([0, *(len(set_rows) for set_rows in sets.values())])
    return rows, {name: np.arange(starts[n], starts[n + 1]) for n, name in enumerate(sets)}


def held_out_rows(faces: pd.DataFrame) -> np.ndarray:
    """(N,) bool: faces of the validation people, all their photos (those validation pairs and the rest)."""
    return faces.identity.isin(set().union(*validation_people(faces).values())).to_numpy()


def validation_image_ids(data: DataPaths) -> list[str]:
    """The in-the-wild photos of the CelebA identities that embedder training holds out."""
    faces = all_training_faces(data)
    return sorted(key.split("/", 1)[1] for key in faces.key.to_numpy()[validation_sets(faces)["wild"]])
