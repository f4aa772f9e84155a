"""The yolov5 face detector (one class, "face") at inference: letterbox the photo, run the network, decode its
boxes and suppress overlaps, all on numpy arrays.

The network (yolov5's code, built from the yaml stored in the model's JSON config) lives in pipeline/networks.py;
serving runs its exported ONNX graph (pipeline/onnx_files.py) and never imports torch or yolov5.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING

import cv2
import numpy as np

from .config import DetectorConfig
from .image import model_input
from .metrics import clip_boxes, paired_iou
from .runtime import Runner, is_torch_module

if TYPE_CHECKING:
    from torch import nn

STRIDE = 32
PAD_VALUE = 114


def letterbox(image: np.ndarray, size: int) -> tuple[np.ndarray, float]:
    """Resize so the longer side is `size`, pad right/bottom to a multiple of 32; return (image, scale)."""
    height, width = image.shape[:2]
    scale = size / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    pad_w = (STRIDE - new_w % STRIDE) % STRIDE
    pad_h = (STRIDE - new_h % STRIDE) % STRIDE
    padded = cv2.copyMakeBorder(resized, 0, pad_h, 0, pad_w, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3)
    return padded, scale


def to_batch(images: list[np.ndarray]) -> np.ndarray:
    """Stack equally sized RGB uint8 images into a float32 NCHW batch in 0..1."""
    return model_input(np.stack(images), mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0))


def non_max_suppression(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices of the boxes kept, most confident first: each box suppresses the less confident ones it overlaps
    by more than `iou_threshold` (as torchvision.ops.nms)."""
    order = np.argsort(-scores, kind="stable")
    keep = []
    while len(order):
        best, order = order[0], order[1:]
        keep.append(best)
        order = order[paired_iou(boxes[best], boxes[order]) <= iou_threshold]
    return np.asarray(keep, np.int64)


def decode_predictions(raw: np.ndarray, conf_threshold: float, iou_threshold: float,
                       max_det: int) -> list[np.ndarray]:
    """yolov5 inference output (B, N, 6: cx, cy, w, h, objectness, class prob) -> per image (M, 5) x1y1x2y2+score."""
    results = []
    for prediction in raw:
        scores = prediction[:, 4] * prediction[:, 5]
        keep = scores > conf_threshold
        prediction, scores = prediction[keep], scores[keep]
        centre, size = prediction[:, :2], prediction[:, 2:4]
        boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
        order = non_max_suppression(boxes, scores, iou_threshold)[:max_det]
        results.append(np.concatenate([boxes[order], scores[order, None]], axis=1))
    return results


class FaceDetector:
    """Finds faces in an RGB image: `detect(image)` -> (boxes (N, 4) x1y1x2y2 in image pixels, scores (N,))."""

    def __init__(self, model: Runner | nn.Module, config: DetectorConfig) -> None:
        """`model`: the network as a runner (pipeline/runtime.py), or yolov5's PyTorch model itself (training
        validates through this class on its device, and runtime "torch")."""
        self.config = config
        self._forward_lock: contextlib.AbstractContextManager = contextlib.nullcontext()  # runners keep no state
        if is_torch_module(model):
            from .networks import DetectionsOnly, torch_runner

            model = torch_runner(DetectionsOnly(model))
            # yolov5's Detect layer caches its anchor grid per input shape and rebuilds it in place, so two
            # threads running photos of different shapes would race: one forward pass at a time.
            self._forward_lock = threading.Lock()
        self.forward: Runner = model

    def detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        padded, scale = letterbox(image, self.config.input_size)
        with self._forward_lock:
            raw = self.forward(to_batch([padded]))
        found = decode_predictions(raw, self.config.conf_threshold, self.config.iou_threshold,
                                   self.config.max_faces)[0]
        boxes = clip_boxes(found[:, :4] / scale, image.shape)
        sizes = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
        keep = sizes >= self.config.min_face_px
        return boxes[keep].astype(np.float32), found[keep, 4].astype(np.float32)

    def detect_in_close_crop(self, image: np.ndarray) -> np.ndarray | None:
        """The most confident box in an image that is all face (such as MTFL's 80x80 crops), or None.

        The image is first framed in half its size of padding on each side, so the face sits in a scene as in
        a photo; the box comes back in the image's own pixels.
        """
        pad = image.shape[0] // 2
        framed = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(PAD_VALUE,) * 3)
        boxes, scores = self.detect(framed)
        return boxes[np.argmax(scores)] - pad if len(boxes) else None
