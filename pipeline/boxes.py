"""Detection metrics shared by the evaluation command, the index build and the detector's training run."""

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


def match_detections(boxes: np.ndarray, scores: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Greedy matching in score order: 1 for a detection that takes an unmatched true face, else 0."""
    hits = np.zeros(len(boxes), np.int64)
    if len(truth) == 0 or len(boxes) == 0:
        return hits
    iou = box_iou(boxes, truth)
    taken = np.zeros(len(truth), bool)
    for index in np.argsort(-scores):
        candidates = np.where(~taken & (iou[index] >= IOU_MATCH))[0]
        if len(candidates):
            best = candidates[np.argmax(iou[index, candidates])]
            taken[best] = True
            hits[index] = 1
    return hits


class DetectionTally:
    """Detections of many photos matched against their true faces, summarised as recall and precision."""

    def __init__(self) -> None:
        self.scores: list[np.ndarray] = []
        self.hits: list[np.ndarray] = []
        self.true_faces = 0

    def add(self, boxes: np.ndarray, scores: np.ndarray, truth: np.ndarray) -> None:
        self.scores.append(scores)
        self.hits.append(match_detections(boxes, scores, truth))
        self.true_faces += len(truth)

    def summary(self, conf_threshold: float, min_precision: float = 0.95) -> dict:
        """Recall and precision at `conf_threshold`, the best recall at precision >= `min_precision` and the
        precision-recall curve (about 200 points)."""
        scores = np.concatenate(self.scores) if self.scores else np.zeros(0, np.float32)
        hits = np.concatenate(self.hits) if self.hits else np.zeros(0, np.int64)
        order = np.argsort(-scores, kind="stable")
        scores, hits = scores[order], hits[order]
        recall = np.cumsum(hits) / max(self.true_faces, 1)
        precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
        at_working = scores >= conf_threshold
        eligible = precision >= min_precision
        step = max(1, len(recall) // 200)
        return {
            "photos": len(self.scores),
            "true_faces": self.true_faces,
            "conf_threshold": conf_threshold,
            "recall": float(hits[at_working].sum() / max(self.true_faces, 1)),
            "precision": float(hits[at_working].mean()) if at_working.any() else 0.0,
            f"best_recall_at_precision_{min_precision:g}": float(recall[eligible].max()) if eligible.any() else 0.0,
            "curve": {"recall": recall[::step].tolist(), "precision": precision[::step].tolist()},
        }
