"""The /compare verdict bands and the choice of faces, without models."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.face import Face
from reply.compare import (
    LOOKALIKE_MARGIN,
    NotEnoughFacesError,
    Verdict,
    compare_faces,
    faces_to_compare,
    verdict,
)

THRESHOLD = 0.435


def face(direction: list[float], shade: int = 0) -> Face:
    embedding = np.asarray(direction, np.float32) / np.linalg.norm(direction)
    return Face(box=np.zeros(4, np.float32), score=1.0, landmarks=np.zeros((5, 2), np.float32),
                crop=np.full((112, 112, 3), shade, np.uint8), embedding=embedding)


@pytest.mark.parametrize(("similarity", "expected"), [
    (0.9, Verdict.SAME), (THRESHOLD, Verdict.SAME),
    (THRESHOLD - 0.01, Verdict.LOOKALIKE), (THRESHOLD - LOOKALIKE_MARGIN, Verdict.LOOKALIKE),
    (THRESHOLD - LOOKALIKE_MARGIN - 0.01, Verdict.DIFFERENT), (-0.2, Verdict.DIFFERENT),
])
def test_verdict_bands(similarity: float, expected: Verdict) -> None:
    assert verdict(similarity, THRESHOLD) is expected


def test_two_largest_faces_of_one_photo_or_the_largest_of_each_of_two() -> None:
    a, b, c = face([1, 0]), face([0, 1]), face([1, 1])
    assert faces_to_compare([[a, b, c]]) == (a, b)
    assert faces_to_compare([[a, b], [c]]) == (a, c)
    with pytest.raises(NotEnoughFacesError) as one_face:
        faces_to_compare([[a]])
    assert (one_face.value.found, one_face.value.photo) == (1, None)
    with pytest.raises(NotEnoughFacesError) as second_empty:
        faces_to_compare([[a], []])
    assert second_empty.value.photo == 2


def test_comparison_puts_both_faces_side_by_side() -> None:
    comparison = compare_faces(face([1, 0], shade=10), face([1, 1], shade=200), THRESHOLD)
    assert comparison.similarity == pytest.approx(np.sqrt(0.5))
    assert comparison.verdict is Verdict.SAME
    left, right = comparison.image[:, 0], comparison.image[:, -1]
    assert (left == 10).all() and (right == 200).all()
