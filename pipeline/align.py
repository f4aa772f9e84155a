"""Five-point alignment onto the standard ArcFace 112x112 template (similarity transform, Umeyama)."""

from __future__ import annotations

import cv2
import numpy as np

CROP_SIZE = 112

# The insightface/ArcFace reference points for a 112x112 crop, in CelebA order:
# left eye, right eye, nose tip, left mouth corner, right mouth corner (image left/right).
ARCFACE_TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float32,
)


def estimate_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity transform (rotation, uniform scale, translation) mapping src onto dst.

    Umeyama (1991), as insightface aligns ArcFace crops. Returns a 2x3 matrix M such that dst ~= M @ [x, y, 1].
    OpenCV's cv2.estimateAffinePartial2D is not this fit: it is a robust estimator (RANSAC or LMedS) that drops
    points it takes for outliers, so on a turned or blurred face it aligns on a subset of the five points and the
    crop moves by pixels (tests/pipeline/test_align.py measures it); the embedder was trained on the full fit.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    cov = dst_c.T @ src_c / len(src)
    u, singular, vt = np.linalg.svd(cov)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1.0
    rotation = u @ sign @ vt
    src_var = (src_c**2).sum() / len(src)
    scale = float(np.trace(np.diag(singular) @ sign) / src_var) if src_var > 0 else 1.0
    translation = dst_mean - scale * rotation @ src_mean
    return np.hstack([scale * rotation, translation[:, None]]).astype(np.float32)


def align_face(image: np.ndarray, landmarks: np.ndarray, size: int = CROP_SIZE) -> np.ndarray:
    """Warp `image` so that the five `landmarks` land on the ArcFace template; returns a size x size crop."""
    template = ARCFACE_TEMPLATE * (size / CROP_SIZE)
    matrix = estimate_similarity(landmarks, template)
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
