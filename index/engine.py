"""The look-up engine: a photo's faces (the pipeline) and each face's look-alikes (the gallery index).

    engine = LookalikeEngine.load("index_data")
    result = engine.lookup(rgb)                       # LookupResult: one FaceMatches per face, largest first

The reply built from a result (cards, overview, quality notes) is reply/replier.py's.

Nothing is mutated after loading, so one engine can serve lookups from several threads at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index.gallery import Gallery, Match
from pipeline import Face, FacePipeline
from pipeline.settings import LOOKALIKES, MAX_FACES


class IndexMismatchError(RuntimeError):
    """The index was built with other model weights: its vectors are not comparable with this pipeline's."""


@dataclass
class FaceMatches:
    face: Face
    matches: list[Match]
    number: int | None = None  # the face's number on the photo's overview; None when the photo has one face
    named: Match | None = None  # the closest named person, when the index has a named gallery


@dataclass
class LookupResult:
    faces: list[FaceMatches]  # largest face first
    skipped: int  # faces found beyond max_faces, not searched
    skipped_boxes: list[np.ndarray] = field(default_factory=list)  # their boxes

    @property
    def found(self) -> int:
        """Faces the detector found (what a reply may state: what was found, not what the photo holds)."""
        return len(self.faces) + self.skipped


def check_same_weights(gallery: Gallery, pipeline: FacePipeline, index_dir: str | Path) -> None:
    if gallery.weights_fingerprint != pipeline.fingerprint:
        raise IndexMismatchError(
            f"The index in {index_dir}/ was built with other model weights than the ones loaded: rebuild it "
            f"with `lookalike build-index --out {index_dir}` (or delete it and run `lookalike demo`)."
        )


def named_gallery(gallery: Gallery, pipeline: FacePipeline, index_dir: str | Path) -> Gallery | None:
    """The named gallery that `gallery`'s build added to `index_dir`, or None when it added none."""
    folder = gallery.manifest.get("named")
    if not folder:
        return None
    named = Gallery.load(Path(index_dir) / folder)
    check_same_weights(named, pipeline, index_dir)
    return named


@dataclass(frozen=True)
class LookalikeEngine:
    pipeline: FacePipeline
    gallery: Gallery
    named: Gallery | None = None  # the named people's gallery (index/extra.py), when the index has one

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
        return cls(pipeline, gallery, named_gallery(gallery, pipeline, index_dir))

    def lookup(self, rgb: np.ndarray, top: int = LOOKALIKES, max_faces: int = MAX_FACES) -> LookupResult:
        """Every face in the photo (largest first, at most `max_faces`) with its `top` look-alikes, the closest
        named person, and its number (1, 2, ... in this order) when the photo has several faces."""
        faces = self.pipeline(rgb)
        searched = faces[:max_faces]
        numbered = len(faces) > 1
        return LookupResult(
            faces=[self.face_matches(face, top, number if numbered else None)
                   for number, face in enumerate(searched, start=1)],
            skipped=len(faces) - len(searched),
            skipped_boxes=[face.box for face in faces[max_faces:]],
        )

    def face_matches(self, face: Face, top: int = LOOKALIKES, number: int | None = None) -> FaceMatches:
        """One face's look-alikes and closest named person."""
        named = self.named.search(face.embedding, 1)[0] if self.named is not None else None
        return FaceMatches(face, self.gallery.search(face.embedding, top), number, named)
