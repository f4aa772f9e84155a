from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from bot.config import QualityThresholds
from pipeline import Face
from pipeline.align import ARCFACE_TEMPLATE, align_face
from readers import DataPaths
from reply.quality import QualityIssue, assess_face, sharpness, turn_amount

THRESHOLDS = QualityThresholds()


def rotated(points: np.ndarray, degrees: float) -> np.ndarray:
    angle = np.deg2rad(degrees)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return points @ rotation.T


def make_face(box: tuple[float, float, float, float], landmarks: np.ndarray, crop: np.ndarray) -> Face:
    return Face(box=np.array(box, np.float32), score=0.99, landmarks=landmarks, crop=crop,
                embedding=np.zeros(8, np.float32))


@pytest.fixture(scope="module")
def real_crop(data_root: Path) -> np.ndarray:
    """An aligned crop of a sharp, frontal CelebA face, from the data set's own landmarks."""
    celeba = DataPaths.from_root(data_root).celeba
    rgb = cv2.cvtColor(cv2.imread(str(celeba.wild_dir / "000114.jpg")), cv2.COLOR_BGR2RGB)
    return align_face(rgb, celeba.landmark_array("000114.jpg"))


def test_a_frontal_face_is_not_turned_even_when_tilted() -> None:
    assert turn_amount(ARCFACE_TEMPLATE) < 0.05
    assert turn_amount(rotated(ARCFACE_TEMPLATE, 35)) < 0.05


def test_a_nose_in_line_with_an_eye_is_strongly_turned() -> None:
    profile = ARCFACE_TEMPLATE.copy()
    profile[2, 0] = profile[0, 0]  # nose below the left eye
    assert turn_amount(profile) > 0.9
    assert turn_amount(rotated(profile, -20)) > 0.9


def test_blur_lowers_sharpness_below_the_threshold(real_crop: np.ndarray) -> None:
    blurred = cv2.GaussianBlur(real_crop, (0, 0), 3)
    assert sharpness(real_crop) > THRESHOLDS.min_sharpness
    assert sharpness(blurred) < THRESHOLDS.min_sharpness


def test_a_good_face_has_no_issue(real_crop: np.ndarray) -> None:
    assert assess_face(make_face((0, 0, 120, 150), ARCFACE_TEMPLATE, real_crop), THRESHOLDS) == []


def test_a_small_turned_blurred_face_has_every_issue(real_crop: np.ndarray) -> None:
    profile = ARCFACE_TEMPLATE.copy()
    profile[2, 0] = profile[1, 0]
    face = make_face((10, 10, 30, 36), profile, cv2.GaussianBlur(real_crop, (0, 0), 3))
    every_issue = [QualityIssue.TOO_SMALL, QualityIssue.TURNED, QualityIssue.BLURRED]
    assert assess_face(face, THRESHOLDS) == every_issue
