"""Reader for `faces_extra/`: ArcFace-aligned 112x112 face crops from five public collections.

`faces.csv` lists one crop per row: `path` (relative to the folder), `source`, `identity` (a person's name
for the named sets, empty where every photo shows a different person), `age`, `gender`, `outside` (share of
black border), `score`, and the five points in the crop. The crops need no alignment: they already sit on
the ArcFace template.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from readers.celeba import LANDMARK_COLUMNS

FACES_FILE = "faces.csv"


def read_faces_extra(folder: Path) -> pd.DataFrame:
    """faces.csv as it is (`identity` '' when unnamed), plus `points`: the five points as (5, 2) arrays."""
    table = pd.read_csv(folder / FACES_FILE, dtype={"identity": str, "gender": str})
    table["identity"] = table["identity"].fillna("")
    table["points"] = list(table[LANDMARK_COLUMNS].to_numpy(np.float32).reshape(-1, 5, 2))
    return table
