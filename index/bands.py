"""The look-alike scale: where "strong", "similar" and "weak" start for one gallery, measured at the index build
(index/scale.py) from how close people who are not in the gallery get to their own closest look-alike.

With the default shares, "strong" is closer than 90% of those people's closest look-alike (one person in ten
gets one), "similar" closer than half of them, "weak" below that. The cards colour and explain the bands
(reply/card.py); the CLI prints their names.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np


class Band(StrEnum):
    STRONG = "strong"
    SIMILAR = "similar"
    WEAK = "weak"


@dataclass(frozen=True)
class LookalikeScale:
    """Where the bands start: the similarity that only `strong_share` of people not in the gallery reach with
    their closest look-alike, and the one that `similar_share` of them reach (index/scale.py measures them)."""

    strong: float
    similar: float
    strong_share: float = 0.1
    similar_share: float = 0.5

    @classmethod
    def from_best(cls, best: np.ndarray, strong_share: float = 0.1, similar_share: float = 0.5) -> LookalikeScale:
        """The scale from unseen people's closest-look-alike similarities."""
        return cls(strong=float(np.quantile(best, 1 - strong_share)),
                   similar=float(np.quantile(best, 1 - similar_share)),
                   strong_share=strong_share, similar_share=similar_share)

    def band(self, similarity: float) -> Band:
        if similarity >= self.strong:
            return Band.STRONG
        if similarity >= self.similar:
            return Band.SIMILAR
        return Band.WEAK
