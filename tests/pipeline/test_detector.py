import numpy as np
import pytest

from pipeline.detector import decode_predictions, letterbox, non_max_suppression


def test_letterbox_keeps_aspect_and_pads_to_stride() -> None:
    image = np.zeros((384, 256, 3), np.uint8)
    padded, scale = letterbox(image, 320)
    assert scale == 320 / 384
    assert padded.shape == (320, 224, 3)  # 256 * 320/384 = 213.3 -> 213, padded to 224


def test_decode_keeps_confident_boxes_and_suppresses_overlaps() -> None:
    # cx, cy, w, h, objectness, class probability
    raw = np.array([[[50, 50, 20, 20, 0.9, 1.0],
                     [51, 50, 20, 20, 0.8, 1.0],     # overlaps the first: suppressed
                     [150, 150, 30, 30, 0.7, 1.0],
                     [10, 10, 5, 5, 0.2, 1.0]]], np.float32)     # below threshold
    found = decode_predictions(raw, conf_threshold=0.5, iou_threshold=0.45, max_det=10)[0]
    assert found.shape == (2, 5)
    np.testing.assert_allclose(found[0], [40, 40, 60, 60, 0.9], rtol=1e-6)
    np.testing.assert_allclose(found[1, :4], [135, 135, 165, 165])


@pytest.mark.parametrize("iou_threshold", [0.3, 0.45, 0.7])
def test_suppression_keeps_what_torchvision_keeps(iou_threshold: float) -> None:
    torch = pytest.importorskip("torch")
    torchvision = pytest.importorskip("torchvision")
    rng = np.random.default_rng(0)
    corners = rng.uniform(0, 200, (300, 2)).astype(np.float32)
    boxes = np.concatenate([corners, corners + rng.uniform(10, 60, (300, 2)).astype(np.float32)], axis=1)
    scores = rng.uniform(0, 1, 300).astype(np.float32)
    expected = torchvision.ops.nms(torch.from_numpy(boxes), torch.from_numpy(scores), iou_threshold).numpy()
    np.testing.assert_array_equal(non_max_suppression(boxes, scores, iou_threshold), expected)
