import numpy as np
import pytest

from pipeline.boxes import box_iou, clip_boxes, paired_iou, same_faces


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
