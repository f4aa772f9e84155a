"""Evaluation metrics: detections matched to true faces (recall, precision) and verification from pairs of
embeddings (ROC AUC, TPR at a false-positive rate). Shared by the evaluation command and the training runs'
validation, so that a run is judged by the numbers the evaluation reports."""

from __future__ import annotations

import numpy as np

from pipeline.boxes import IOU_MATCH, box_iou


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


def pair_scores(embeddings: np.ndarray, identities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cosine similarities of all same-identity (genuine) and all different-identity (impostor) pairs."""
    similarity = embeddings @ embeddings.T
    upper = np.triu_indices(len(identities), k=1)
    same = identities[upper[0]] == identities[upper[1]]
    return similarity[upper][same], similarity[upper][~same]


def threshold_at_fpr(genuine: np.ndarray, impostor: np.ndarray, fpr: float) -> tuple[float, float]:
    """The cosine with `fpr` of impostor pairs above it, and the share of genuine pairs above it (TPR)."""
    threshold = float(np.quantile(impostor, 1.0 - fpr))
    return threshold, float((genuine > threshold).mean())


def roc(genuine: np.ndarray, impostor: np.ndarray) -> dict:
    """ROC AUC and TPR at fixed FPRs from genuine/impostor cosine scores."""
    scores = np.concatenate([genuine, impostor])
    labels = np.concatenate([np.ones(len(genuine)), np.zeros(len(impostor))])
    order = np.argsort(-scores, kind="stable")
    labels = labels[order]
    tpr = np.concatenate([[0.0], np.cumsum(labels) / len(genuine)])
    fpr = np.concatenate([[0.0], np.cumsum(1 - labels) / len(impostor)])
    result = {"auc": float(np.trapezoid(tpr, fpr)), "genuine_pairs": int(len(genuine)),
              "impostor_pairs": int(len(impostor))}
    for target in (1e-2, 1e-3):
        threshold, rate = threshold_at_fpr(genuine, impostor, target)
        result[f"tpr_at_fpr_{target:g}"] = rate
        result[f"threshold_at_fpr_{target:g}"] = threshold
    step = max(1, len(fpr) // 2000)
    result["curve"] = {"fpr": fpr[::step].tolist(), "tpr": tpr[::step].tolist()}
    return result
