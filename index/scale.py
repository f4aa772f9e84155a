"""The look-alike scale of a gallery, measured at the index build so that it follows the embedder that built the
index: for people who are in no gallery (index/extra.py), the similarity of their closest and k-th closest
look-alike. The card's bands start where only `strong_share` and `similar_share` of those people's closest
look-alike reach (index/bands.py), so "strong" means closer than most people get.

Written to <gallery>/scale.json with the figures behind it: for these people, the share of their closest and
k-th look-alikes, and of all k, in each band, and quantiles of both similarities.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from index.bands import Band, LookalikeScale
from index.gallery import SCALE_FILE, Gallery

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)


@dataclass(frozen=True)
class ScaleConfig:
    strong_share: float = 0.1  # one unseen person in ten has a closest look-alike this close
    similar_share: float = 0.5  # one in two
    rank: int = 8  # look-alikes per face on a card


def band_shares(similarities: np.ndarray, scale: LookalikeScale) -> dict[str, float]:
    """Share of the similarities in each band."""
    bands = [scale.band(float(s)) for s in np.ravel(similarities)]
    return {band.value: round(bands.count(band) / max(len(bands), 1), 4) for band in Band}


def quantiles(values: np.ndarray) -> dict[str, float]:
    return {f"{q:g}": round(float(np.quantile(values, q)), 4) for q in QUANTILES}


def measure_scale(gallery: Gallery, embeddings: np.ndarray, config: ScaleConfig) -> dict[str, Any]:
    """The scale of `gallery` for unseen people's `embeddings`, with its figures (scale.json's content)."""
    rank = min(config.rank, len(np.unique(gallery.identities)))
    similarities = np.array([[similarity for _, similarity in gallery.nearest(embedding, rank)]
                             for embedding in embeddings])
    best, last = similarities[:, 0], similarities[:, -1]
    scale = LookalikeScale.from_best(best, config.strong_share, config.similar_share)
    return {
        "scale": asdict(scale),
        "rule": "bands start where the closest look-alike of (1 - share) of unseen people ends",
        "people": len(embeddings),
        "rank": rank,
        "share_in_band": {"closest": band_shares(best, scale), f"look-alike {rank}": band_shares(last, scale),
                          f"all {rank}": band_shares(similarities, scale)},
        "quantiles": {"closest": quantiles(best), f"look-alike {rank}": quantiles(last)},
    }


def write_scale(gallery_dir: Path, figures: dict[str, Any], people: str) -> None:
    """scale.json beside the gallery; `people` says who the unseen people were."""
    (Path(gallery_dir) / SCALE_FILE).write_text(json.dumps({**figures, "people_from": people}, indent=2))
