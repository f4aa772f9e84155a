"""Box geometry shared by serving (the detector's tiling), the index build, training and evaluation."""

from __future__ import annotations

import numpy as np

IOU_MATCH = 0.5


def clip_boxes(boxes: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A copy of (N, 4+) x1y1x2y2 boxes clipped to an image of `shape` (height, width, ...)."""
    clipped = boxes.copy()
    clipped[:, [0, 2]] = clipped[:, [0, 2]].clip(0, shape[1])
    clipped[:, [1, 3]] = clipped[:, [1, 3]].clip(0, shape[0])
    return clipped


def paired_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of x1y1x2y2 boxes (last axis 4) pair by pair, broadcasting the leading axes: (N, 4) with (N, 4) gives
    (N,), one box (4,) with (N, 4) gives its IoU with each."""
    top_left = np.maximum(a[..., :2], b[..., :2])
    bottom_right = np.minimum(a[..., 2:4], b[..., 2:4])
    inter = np.prod(np.clip(bottom_right - top_left, 0, None), axis=-1)
    area_a = np.prod(a[..., 2:4] - a[..., :2], axis=-1)
    area_b = np.prod(b[..., 2:4] - b[..., :2], axis=-1)
    return inter / (area_a + area_b - inter + 1e-9)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix between (N, 4) and (M, 4) x1y1x2y2 boxes."""
    return paired_iou(a[:, None, :], b[None, :, :])


def same_faces(boxes: np.ndarray, others: np.ndarray) -> np.ndarray:
    """(N,) bool: box i and box i of `others` (both (N, 4) x1y1x2y2) frame the same face (IoU >= 0.5)."""
    return paired_iou(boxes, others) >= IOU_MATCH
