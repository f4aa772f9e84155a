"""Detection and verification metrics (training/metrics.py)."""

import numpy as np
import pytest

from training.metrics import DetectionTally, match_detections, roc, threshold_at_fpr


def test_each_true_face_is_matched_once_by_the_most_confident_detection() -> None:
    truth = np.array([[0, 0, 10, 10]], np.float32)
    boxes = np.array([[0, 0, 10, 11], [0, 0, 10, 10]], np.float32)

    assert match_detections(boxes, np.array([0.9, 0.8]), truth).tolist() == [1, 0]


def test_tally_reports_recall_precision_and_best_recall_at_precision() -> None:
    tally = DetectionTally()
    truth = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], np.float32)
    # one hit at 0.9, a false box at 0.6, the second face at 0.3
    tally.add(np.array([[0, 0, 10, 10], [50, 50, 60, 60], [20, 20, 30, 30]], np.float32),
              np.array([0.9, 0.6, 0.3], np.float32), truth)
    tally.add(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 4), np.float32))

    summary = tally.summary(conf_threshold=0.5)

    assert (summary["photos"], summary["true_faces"]) == (2, 2)
    assert summary["recall"] == 0.5 and summary["precision"] == 0.5
    assert summary["best_recall_at_precision_0.95"] == 0.5  # recall 1.0 only comes at precision 2/3


def test_roc_reads_its_thresholds_as_validation_does() -> None:
    genuine = np.linspace(0.3, 0.9, 50)
    impostor = np.linspace(-0.2, 0.5, 1000)
    result = roc(genuine, impostor)
    threshold, tpr = threshold_at_fpr(genuine, impostor, 1e-2)
    assert (result["threshold_at_fpr_0.01"], result["tpr_at_fpr_0.01"]) == (threshold, tpr)
    assert threshold == pytest.approx(0.493, abs=1e-3) and tpr == pytest.approx(0.68)  # 34 of the 50 genuine pairs
    assert 0.5 < result["auc"] < 1.0
