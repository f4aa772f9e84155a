import numpy as np
import torch

from pipeline.detector import decode_predictions, letterbox


def test_letterbox_keeps_aspect_and_pads_to_stride() -> None:
    image = np.zeros((384, 256, 3), np.uint8)
    padded, scale = letterbox(image, 320)
    assert scale == 320 / 384
    assert padded.shape == (320, 224, 3)  # 256 * 320/384 = 213.3 -> 213, padded to 224


def test_decode_keeps_confident_boxes_and_suppresses_overlaps() -> None:
    # cx, cy, w, h, objectness, class probability
    raw = torch.tensor([[[50, 50, 20, 20, 0.9, 1.0],
                         [51, 50, 20, 20, 0.8, 1.0],     # overlaps the first: suppressed
                         [150, 150, 30, 30, 0.7, 1.0],
                         [10, 10, 5, 5, 0.2, 1.0]]])     # below threshold
    found = decode_predictions(raw, conf_threshold=0.5, iou_threshold=0.45, max_det=10)[0]
    assert found.shape == (2, 5)
    np.testing.assert_allclose(found[0].numpy(), [40, 40, 60, 60, 0.9], rtol=1e-6)
    np.testing.assert_allclose(found[1, :4].numpy(), [135, 135, 165, 165])
