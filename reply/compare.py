"""Two faces compared: their cosine similarity, a verdict, and both aligned faces side by side.

Shared by the bot's /compare and `lookalike compare`. The verdict uses the embedder's calibrated
verification threshold t (FacePipeline.verification_threshold, set at FPR 1e-2 on held-out identities):

    same person    similarity >= t
    look-alikes    t - m <= similarity < t
    different      similarity <  t - m

with the look-alike margin m = 0.1 (a choice, not calibrated; the cards used the same 0.1 band around t for
"similar"). Pairs in that margin are closer than most pairs of strangers (t itself is reached by 1% of them:
docs/evaluation.json) without being close enough for the embedder to call them one person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np

from pipeline import Face, FacePipeline

LOOKALIKE_MARGIN = 0.1
FACE_SIDE = 280  # each aligned 112-px face is shown at 2.5x, as on the cards
GAP = 16  # pixels of white between the two faces


class Verdict(StrEnum):
    SAME = "same"
    LOOKALIKE = "lookalike"
    DIFFERENT = "different"


class NotEnoughFacesError(ValueError):
    """The photos hold fewer than two faces to compare; `photo` is the 1-based photo without a face, if any."""

    def __init__(self, found: int, photo: int | None = None) -> None:
        super().__init__(f"found {found} face(s)" + (f"; none in photo {photo}" if photo else ""))
        self.found = found
        self.photo = photo


@dataclass(frozen=True)
class Comparison:
    similarity: float
    verdict: Verdict
    same_from: float  # the verification threshold
    lookalike_from: float
    image: np.ndarray  # RGB uint8: the first face, a gap, the second face


def lookalike_floor(threshold: float) -> float:
    """The lowest similarity still called "look-alikes"."""
    return threshold - LOOKALIKE_MARGIN


def verdict(similarity: float, threshold: float) -> Verdict:
    if similarity >= threshold:
        return Verdict.SAME
    if similarity >= lookalike_floor(threshold):
        return Verdict.LOOKALIKE
    return Verdict.DIFFERENT


def faces_to_compare(faces_per_photo: Sequence[Sequence[Face]]) -> tuple[Face, Face]:
    """The two faces to compare: the two largest of one photo, or the largest of each of two photos.

    `faces_per_photo` holds each photo's faces, largest first (as FacePipeline returns them).
    """
    if len(faces_per_photo) == 1:
        faces = faces_per_photo[0]
        if len(faces) < 2:
            raise NotEnoughFacesError(len(faces))
        return faces[0], faces[1]
    for number, faces in enumerate(faces_per_photo, start=1):
        if not faces:
            raise NotEnoughFacesError(sum(len(f) > 0 for f in faces_per_photo), photo=number)
    first, second = faces_per_photo[:2]
    return first[0], second[0]


def side_by_side(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Two aligned crops in one image, each enlarged to FACE_SIDE pixels, with a white gap between them."""
    enlarged = [cv2.resize(np.ascontiguousarray(crop), (FACE_SIDE, FACE_SIDE), interpolation=cv2.INTER_CUBIC)
                for crop in (first, second)]
    gap = np.full((FACE_SIDE, GAP, 3), 255, np.uint8)
    return np.concatenate([enlarged[0], gap, enlarged[1]], axis=1)


def compare_faces(first: Face, second: Face, threshold: float) -> Comparison:
    """Cosine similarity of two faces' unit embeddings, its verdict, and the faces side by side."""
    similarity = float(np.dot(first.embedding, second.embedding))
    return Comparison(similarity, verdict(similarity, threshold), threshold, lookalike_floor(threshold),
                      side_by_side(first.crop, second.crop))


def compare_images(pipeline: FacePipeline, images: Sequence[np.ndarray]) -> Comparison:
    """The two largest faces of one image, or the largest of each of two, compared at the pipeline's threshold
    (only those faces get landmarks and an embedding). Raises NotEnoughFacesError when there are not two faces."""
    per_image = 2 if len(images) == 1 else 1
    faces = [pipeline.find(image, max_faces=per_image).faces for image in images]
    return compare_faces(*faces_to_compare(faces), pipeline.verification_threshold)
