"""The look-alike query service behind the command line and the bot: photo -> faces -> look-alikes -> cards.

    engine = LookalikeEngine.load("index_data")
    result = engine.lookup(rgb)                       # LookupResult: one FaceMatches per face, largest first
    card = engine.card(result.faces[0])               # RGB uint8 array; pipeline.card.encode_jpeg for bytes

Nothing is mutated after loading, so one engine can serve lookups from several threads at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline import Face, FacePipeline
from pipeline.card import render_card

from .gallery import Gallery, Match

WEIGHTS_DIR_ENV = "LOOKALIKE_WEIGHTS_DIR"


class IndexMismatchError(RuntimeError):
    """The index was built with other model weights: its vectors are not comparable with this pipeline's."""


@dataclass
class FaceMatches:
    face: Face
    matches: list[Match]


@dataclass
class LookupResult:
    faces: list[FaceMatches]  # largest face first
    skipped: int  # faces found beyond max_faces, not searched


def default_weights_dir() -> Path | None:
    """$LOOKALIKE_WEIGHTS_DIR when set (development weights), else None: the committed weights."""
    value = os.environ.get(WEIGHTS_DIR_ENV)
    return Path(value) if value else None


def check_same_weights(gallery: Gallery, pipeline: FacePipeline, index_dir: str | Path) -> None:
    if gallery.weights_fingerprint != pipeline.fingerprint:
        raise IndexMismatchError(
            f"The index in {index_dir}/ was built with other model weights than the ones loaded: rebuild it "
            f"with `lookalike build-index --out {index_dir}` (or delete it and run `lookalike demo`)."
        )


@dataclass(frozen=True)
class LookalikeEngine:
    pipeline: FacePipeline
    gallery: Gallery

    @classmethod
    def load(cls, index_dir: str | Path, weights_dir: str | Path | None = None,
             threads: int | None = None) -> LookalikeEngine:
        """Load the pipeline (committed weights unless `weights_dir`; `threads` inside each model call, see
        FacePipeline.load) and the index built with those weights.

        Raises MissingIndexError when there is no finished index, IndexMismatchError when it is stale.
        """
        gallery = Gallery.load(index_dir)  # first: a missing index fails before the models load
        pipeline = FacePipeline.load(weights_dir, threads=threads)
        check_same_weights(gallery, pipeline, index_dir)
        return cls(pipeline, gallery)

    @property
    def threshold(self) -> float:
        """The embedder's verification threshold: the cards' colours are calibrated on it."""
        return self.pipeline.verification_threshold

    def lookup(self, rgb: np.ndarray, top: int = 8, max_faces: int = 10) -> LookupResult:
        """Every face in the photo (largest first, at most `max_faces`) with its `top` look-alikes."""
        faces = self.pipeline(rgb)
        searched = faces[:max_faces]
        return LookupResult(
            faces=[FaceMatches(face, self.gallery.search(face.embedding, top)) for face in searched],
            skipped=len(faces) - len(searched),
        )

    def card(self, face_matches: FaceMatches, note: str | None = None) -> np.ndarray:
        """The result card of one face (RGB uint8), colours calibrated on this pipeline's threshold."""
        return render_card(face_matches.face.crop, face_matches.matches, self.threshold, note)
