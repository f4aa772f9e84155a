"""MTFL (CUHK) landmark lists: count line, header, then `relative/path.jpg` + 10 numbers (CelebA order)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from readers.celeba import LANDMARK_COLUMNS


def read_mtfl_list(path: Path) -> pd.DataFrame:
    """Return a frame with `path` (relative to the MTFL folder) and the 10 landmark columns."""
    return pd.read_csv(path, sep=r"\s+", skiprows=2, header=None, names=["path", *LANDMARK_COLUMNS])


def mtfl_points(table: pd.DataFrame) -> np.ndarray:
    """All rows' landmarks as an (N, 5, 2) float32 array."""
    return table[LANDMARK_COLUMNS].to_numpy(np.float32).reshape(-1, 5, 2)


def mtfl_validation_rows(rows: int, seed: int = 0) -> np.ndarray:
    """Indices of the 5% of MTFL's training list that landmark training holds out for validation."""
    return np.random.default_rng(seed).permutation(rows)[: rows // 20]
