"""The yolov5 face detector (one class, "face"): build from its yaml, load local weights, detect.

Everything here works offline: the architecture is a yaml dict stored in the model's JSON config, the
weights are a safetensors state dict (no pickled module objects), and only yolov5's model code is used
(not its hub loader, downloads or plotting).
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import os
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import torch
import torchvision
from safetensors.torch import load_file

from .config import DetectorConfig
from .metrics import clip_boxes
from .runtime import Runtime, onnx_runner, torch_runner

os.environ.setdefault("YOLOv5_VERBOSE", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

STRIDE = 32
PAD_VALUE = 114

# Anchors for faces (width:height about 0.8) at the sizes CelebA faces take at 320 px.
FACE_ANCHORS = [
    [8, 10, 12, 15, 18, 22],
    [26, 32, 36, 45, 50, 62],
    [70, 88, 100, 125, 140, 175],
]


def face_yolo_yaml(depth: float = 0.33, width: float = 0.25) -> dict:
    """The yolov5 v6 architecture (yolov5n by default) with one class and face-shaped anchors."""
    backbone = [
        [-1, 1, "Conv", [64, 6, 2, 2]],
        [-1, 1, "Conv", [128, 3, 2]],
        [-1, 3, "C3", [128]],
        [-1, 1, "Conv", [256, 3, 2]],
        [-1, 6, "C3", [256]],
        [-1, 1, "Conv", [512, 3, 2]],
        [-1, 9, "C3", [512]],
        [-1, 1, "Conv", [1024, 3, 2]],
        [-1, 3, "C3", [1024]],
        [-1, 1, "SPPF", [1024, 5]],
    ]
    head = [
        [-1, 1, "Conv", [512, 1, 1]],
        [-1, 1, "nn.Upsample", [None, 2, "nearest"]],
        [[-1, 6], 1, "Concat", [1]],
        [-1, 3, "C3", [512, False]],
        [-1, 1, "Conv", [256, 1, 1]],
        [-1, 1, "nn.Upsample", [None, 2, "nearest"]],
        [[-1, 4], 1, "Concat", [1]],
        [-1, 3, "C3", [256, False]],
        [-1, 1, "Conv", [256, 3, 2]],
        [[-1, 14], 1, "Concat", [1]],
        [-1, 3, "C3", [512, False]],
        [-1, 1, "Conv", [512, 3, 2]],
        [[-1, 10], 1, "Concat", [1]],
        [-1, 3, "C3", [1024, False]],
        [[17, 20, 23], 1, "Detect", ["nc", "anchors"]],
    ]
    return {
        "nc": 1,
        "depth_multiple": depth,
        "width_multiple": width,
        "anchors": FACE_ANCHORS,
        "backbone": backbone,
        "head": head,
    }


def build_yolo(model_yaml: dict) -> torch.nn.Module:
    """Instantiate yolov5's Model from a yaml dict, silencing its layer table."""
    with warnings.catch_warnings(), matplotlib_backend_kept():  # yolov5 imports the deprecated pkg_resources
        warnings.simplefilter("ignore")
        from yolov5.models.yolo import Model  # heavy import, done once on first use
    logging.getLogger("yolov5").setLevel(logging.ERROR)  # after the import, which resets it to INFO
    undo_ultralytics_pil_patch()

    with contextlib.redirect_stdout(io.StringIO()):
        return Model(dict(model_yaml), ch=3, nc=1)


@contextlib.contextmanager
def matplotlib_backend_kept() -> Iterator[None]:
    """yolov5's plotting module calls matplotlib.use("Agg") when it is imported, which would stop a notebook
    from showing its figures: put back the backend that was configured, or running, before."""
    import matplotlib

    backend = matplotlib.rcParams._get("backend")  # as configured: may be "auto", not resolved yet
    yield
    if matplotlib.rcParams._get("backend") == backend:
        return
    matplotlib.rcParams._set("backend", backend)  # first: IPython's inline backend checks it when it loads
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].switch_backend(backend)


def undo_ultralytics_pil_patch() -> None:
    """yolov5 imports ultralytics, which replaces PIL.Image.open with a wrapper that tries to pip-install
    a HEIF plugin whenever a file is not an image. Put Pillow's own function back: no installs at run time,
    and a non-image stays a plain UnidentifiedImageError."""
    from PIL import Image

    patches = sys.modules.get("ultralytics.utils.patches")
    original = getattr(patches, "_image_open", None)
    if original is not None:
        Image.open = original


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


def to_tensor(images: list[np.ndarray]) -> torch.Tensor:
    """Stack equally sized RGB uint8 images into a float NCHW tensor in 0..1."""
    batch = np.stack(images).transpose(0, 3, 1, 2)
    return torch.from_numpy(np.ascontiguousarray(batch)).float().div_(255.0)


def decode_predictions(
    raw: torch.Tensor, conf_threshold: float, iou_threshold: float, max_det: int
) -> list[torch.Tensor]:
    """yolov5 inference output (B, N, 6: cx, cy, w, h, objectness, class prob) -> per image (M, 5) x1y1x2y2+score."""
    results = []
    for prediction in raw:
        scores = prediction[:, 4] * prediction[:, 5]
        keep = scores > conf_threshold
        prediction, scores = prediction[keep], scores[keep]
        centre, size = prediction[:, :2], prediction[:, 2:4]
        boxes = torch.cat([centre - size / 2, centre + size / 2], dim=1)
        order = torchvision.ops.nms(boxes, scores, iou_threshold)[:max_det]
        results.append(torch.cat([boxes[order], scores[order, None]], dim=1))
    return results


class DetectionsOnly(torch.nn.Module):
    """yolov5's inference output alone: in eval mode it returns (detections, per-level feature maps)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(images)[0]


def exportable(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of the model whose Detect layer builds its grids from the input's shape on every call, so that
    a traced graph works for every input size (instead of keeping the grids of the size it was traced at)."""
    copied = copy.deepcopy(model).eval()
    copied.model[-1].dynamic = True
    return DetectionsOnly(copied)


class FaceDetector:
    """Finds faces in an RGB image: `detect(image)` -> (boxes (N, 4) x1y1x2y2 in image pixels, scores (N,))."""

    def __init__(self, model: torch.nn.Module, config: DetectorConfig, runtime: Runtime = "torch",
                 threads: int | None = None) -> None:
        self.model = model.eval()
        self.config = config
        if runtime == "torch":
            self.forward = torch_runner(DetectionsOnly(self.model))
            # yolov5's Detect layer caches its anchor grid per input shape and rebuilds it in place, so two
            # threads running photos of different shapes would race: one forward pass at a time.
            self._forward_lock: contextlib.AbstractContextManager = threading.Lock()
        else:  # an ONNX Runtime session keeps no state between calls
            example = torch.zeros(1, 3, config.input_size, config.input_size)
            self.forward = onnx_runner(exportable(self.model), example, {0: "batch", 2: "height", 3: "width"},
                                       threads or torch.get_num_threads())
            self._forward_lock = contextlib.nullcontext()

    @classmethod
    def load(cls, weights: Path, config: DetectorConfig, runtime: Runtime = "torch",
             threads: int | None = None) -> FaceDetector:
        model = build_yolo(config.model_yaml)
        model.load_state_dict(load_file(str(weights)))
        return cls(model.float().eval(), config, runtime, threads)

    @torch.inference_mode()
    def detect(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        padded, scale = letterbox(image, self.config.input_size)
        with self._forward_lock:
            raw = self.forward(to_tensor([padded]))
        found = decode_predictions(
            raw, self.config.conf_threshold, self.config.iou_threshold, self.config.max_faces
        )[0].numpy()
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
