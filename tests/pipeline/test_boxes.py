import numpy as np
import pytest

from pipeline.boxes import DetectionTally, box_iou, clip_boxes, match_detections, paired_iou, same_faces


def test_box_iou() -> None:
    boxes = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], np.float32)

    assert box_iou(boxes[:1], boxes)[0] == pytest.approx([1.0, 1 / 3, 0.0])
    assert paired_iou(boxes[0], boxes) == pytest.approx([1.0, 1 / 3, 0.0])


def test_same_faces_compares_boxes_pairwise_at_iou_one_half_or_more() -> None:
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]], np.float32)
    others = np.array([[0, 0, 10, 10], [0, 0, 10, 16], [0, 0, 10, 25]], np.float32)  # IoU 1, 0.625, 0.4

    assert same_faces(boxes, others).tolist() == [True, True, False]
    assert same_faces(boxes[:0], others[:0]).shape == (0,)


def test_clip_boxes_keeps_the_original() -> None:
    boxes = np.array([[-5, 2, 50, 70]], np.float32)

    assert clip_boxes(boxes, (60, 40, 3)).tolist() == [[0, 2, 40, 60]]
    assert boxes[0, 0] == -5


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
