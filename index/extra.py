"""faces_extra (beside celeba/ in the data root; read its README.md): the named people that become the index's
second gallery, a photo of each held out to check that gallery, and the people the look-alike scale is
measured on (index/scale.py).

Every named row of faces.csv (a non-empty `identity`, whatever its `source`) is a named person's face, so a new
named set added to faces.csv joins the gallery without code changes. Names are shown with underscores as
spaces; one spelling is one person. The crops come aligned by another aligner (MTCNN's points), and not all on
the ArcFace template they name (utk's and pubfig's faces are about 0.6x its size), so every crop is cut again
as the pipeline cuts a user's face (FacePipeline.face_near_points: our landmarks and alignment) before it is
embedded.

The scale's people must be in no gallery: adults from the unlabelled sets (one photo per person) and a share
of the named people from portrait sets, whose photos are then all kept out of the named gallery.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline import FacePipeline
from pipeline.image import read_rgb
from readers.faces_extra import FACES_FILE, read_faces_extra

EXTRA_DIR = "faces_extra"


@dataclass(frozen=True)
class ExtraConfig:
    """Which faces_extra faces go where."""

    # The scale's unseen people from unlabelled sets: one photo each, adults, with little black border (aaf has
    # none; utk's crops are half black, so they are not used).
    unlabelled_sources: tuple[str, ...] = ("aaf",)
    unlabelled_people: int = 600
    min_age: int = 18
    max_age: int = 70
    max_outside: float = 0.05
    # ... and named people from portrait sets (one photo each), left out of the named gallery altogether.
    unseen_named_sources: tuple[str, ...] = ("tmdb",)
    unseen_named_share: float = 0.2
    # One photo of each named person with at least this many is held out of the named gallery, to check it.
    hold_out_from: int = 3
    names: tuple[str, ...] | None = None  # only these named people (for small test galleries); None: all
    seed: int = 0


@dataclass
class ExtraSplit:
    """faces.csv rows (with `name` and, for the gallery, `identity` as a number) by role."""

    gallery: pd.DataFrame  # the named gallery's faces
    held_out: pd.DataFrame  # one photo of each named person with hold_out_from+ photos, not in the gallery
    unseen: pd.DataFrame  # one photo each of people in no gallery: the scale's people


def extra_folder(data_root: Path) -> Path | None:
    """The data root's faces_extra folder, or None when it has none."""
    folder = Path(data_root) / EXTRA_DIR
    return folder if (folder / FACES_FILE).is_file() else None


def read_faces(folder: Path) -> pd.DataFrame:
    faces = read_faces_extra(folder)
    faces["name"] = faces["identity"].str.replace("_", " ").str.strip()
    return faces.drop(columns="identity")


def split_extra(folder: Path, config: ExtraConfig) -> ExtraSplit:
    faces = read_faces(folder)
    named = faces[faces["name"] != ""]
    if config.names is not None:
        named = named[named["name"].isin(config.names)]
    portraits = named[named["source"].isin(config.unseen_named_sources)]
    portrait_people = sorted(portraits["name"].unique())
    unseen_names = set(random.Random(config.seed).sample(portrait_people,
                                                         round(len(portrait_people) * config.unseen_named_share)))
    unseen_named = portraits[portraits["name"].isin(unseen_names)].groupby("name").head(1)
    named = named[~named["name"].isin(unseen_names)].sort_values("path")
    counts = named.groupby("name")["path"].transform("size")
    last = named.groupby("name").cumcount(ascending=False) == 0
    held_out = named[last & (counts >= config.hold_out_from)]
    gallery = named.drop(held_out.index)
    codes = {name: code for code, name in enumerate(sorted(gallery["name"].unique()))}
    return ExtraSplit(gallery=gallery.assign(identity=gallery["name"].map(codes)),
                      held_out=held_out, unseen=pd.concat([unlabelled_people(faces, config), unseen_named]))


def unlabelled_people(faces: pd.DataFrame, config: ExtraConfig) -> pd.DataFrame:
    adults = faces[faces["source"].isin(config.unlabelled_sources) & (faces["name"] == "")
                   & faces["age"].between(config.min_age, config.max_age) & (faces["outside"] <= config.max_outside)]
    return adults.sample(n=min(config.unlabelled_people, len(adults)), random_state=config.seed)


def read_crop(folder: Path, path: str) -> np.ndarray:
    """A 112x112 face crop of faces_extra as it is stored, RGB uint8."""
    return read_rgb(folder / path)


def pipeline_crops(pipeline: FacePipeline, folder: Path, rows: pd.DataFrame) -> np.ndarray:
    """(N, 112, 112, 3): the rows' faces cut again as the pipeline cuts a face (module docstring)."""
    crops = [pipeline.face_near_points(read_crop(folder, row.path), row.points)[1]
             for row in rows.itertuples(index=False)]
    return np.stack(crops) if crops else np.zeros((0, 112, 112, 3), np.uint8)


