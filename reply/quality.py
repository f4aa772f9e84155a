"""Face-quality checks: is a face too small, strongly turned or blurred for a trustworthy match?

A face that fails a check still gets its card, with a note (CardText.note_for in card.py) saying why the match
may be poor, in the bot and on the command line alike.
The measures are cheap and use only what the pipeline already returns: the detector's box, the five
landmarks and the aligned crop. Default thresholds were chosen on CelebA's in-the-wild photos so that
only the worst few percent of faces are flagged (QualityThresholds; the bot reads them from its settings).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np

from pipeline import Face


@dataclass(frozen=True)
class QualityThresholds:
    """When a face gets the "the match may be poor" note."""

    min_face_px: float = 40.0  # shorter side of the detector's box, in photo pixels
    max_turn: float = 0.6  # nose offset from the face centre line, in half eye distances (turn_amount)
    min_sharpness: float = 40.0  # variance of the Laplacian of the aligned 112x112 grey crop


class QualityIssue(StrEnum):
    TOO_SMALL = "too_small"
    TURNED = "turned"
    BLURRED = "blurred"


def assess_face(face: Face, thresholds: QualityThresholds) -> list[QualityIssue]:
    """The quality issues of one face, in a fixed order; [] for a good face."""
    failed = {
        QualityIssue.TOO_SMALL: face_size(face) < thresholds.min_face_px,
        QualityIssue.TURNED: turn_amount(face.landmarks) > thresholds.max_turn,
        QualityIssue.BLURRED: sharpness(face.crop) < thresholds.min_sharpness,
    }
    return [issue for issue, is_failed in failed.items() if is_failed]


def face_size(face: Face) -> float:
    """The shorter side of the detector's box, in pixels of the photo."""
    return min(face.width, face.height)


def turn_amount(landmarks: np.ndarray) -> float:
    """How far the head is turned sideways: 0 for a frontal face, about 1 when the nose lines up with an eye.

    The nose's offset from the face's centre line (the mean of the eyes and mouth corners), measured along
    the line between the eyes and in units of half the eye distance, so that a tilted but frontal head
    (which alignment straightens) does not count as turned.
    """
    points = np.asarray(landmarks, dtype=np.float64)
    left_eye, right_eye, nose = points[0], points[1], points[2]
    eye_line = right_eye - left_eye
    squared_eye_distance = float(eye_line @ eye_line)
    if squared_eye_distance < 1e-6:  # both eyes in one place: a full profile
        return float("inf")
    centre = points[[0, 1, 3, 4]].mean(axis=0)
    return abs(float((nose - centre) @ eye_line)) / squared_eye_distance * 2.0


def sharpness(crop: np.ndarray) -> float:
    """Variance of the Laplacian of the grey aligned crop: low when the face is blurred or upscaled."""
    grey = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())
