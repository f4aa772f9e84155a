"""The three networks in PyTorch: built from their configs, loaded from safetensors, run on numpy batches as
runners (pipeline/runtime.py: training validates through the serving classes, training/reference.py), exported
to ONNX (training/export.py).

Importing this module imports torch and timm (yolov5 on the detector's first build); serving never imports it.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import logging
import os
import sys
import threading
import warnings
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import numpy as np
import timm
import torch
from safetensors.torch import load_file
from torch import nn

from pipeline.config import PARTS, DetectorConfig, EmbedderConfig, LandmarkConfig, PartConfigs
from pipeline.runtime import ONNX_OPSET, Runner
from training.mobilefacenet import MobileFaceNet

os.environ.setdefault("YOLOv5_VERBOSE", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

# Anchors for faces (width:height about 0.8) at the sizes CelebA faces take at 320 px.
FACE_ANCHORS = [
    [8, 10, 12, 15, 18, 22],
    [26, 32, 36, 45, 50, 62],
    [70, 88, 100, 125, 140, 175],
]

# Input axes that may change between calls: the batch, and the photo's size for the detector.
DYNAMIC_AXES = {
    "detector": {0: "batch", 2: "height", 3: "width"},
    "landmarks": {0: "batch"},
    "embedder": {0: "batch"},
}


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


def build_yolo(model_yaml: dict) -> nn.Module:
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


class DetectionsOnly(nn.Module):
    """yolov5's inference output alone: in eval mode it returns (detections, per-level feature maps)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model(images)[0]


def exportable(model: nn.Module) -> nn.Module:
    """A copy of the detector whose Detect layer builds its grids from the input's shape on every call, so that
    a traced graph works for every input size (instead of keeping the grids of the size it was traced at)."""
    copied = copy.deepcopy(model).eval()
    copied.model[-1].dynamic = True
    return DetectionsOnly(copied)


def feature_grid(backbone: nn.Module, input_size: int) -> int:
    """The side of the backbone's last feature map for a square input of `input_size`."""
    with torch.no_grad():
        return backbone(torch.zeros(1, 3, input_size, input_size))[-1].shape[-1]


class LandmarkNet(nn.Module):
    """A timm backbone's last feature map -> 1x1 conv -> flatten -> 10 values (x, y of five points).

    Flattening instead of global average pooling keeps where on the face each feature fired, which is
    exactly what a coordinate regressor needs.
    """

    def __init__(self, config: LandmarkConfig) -> None:
        super().__init__()
        self.backbone = timm.create_model(config.backbone, pretrained=False, features_only=True, out_indices=(-1,))
        channels = self.backbone.feature_info.channels()[-1]
        grid = feature_grid(self.backbone, config.input_size)
        self.reduce = nn.Sequential(nn.Conv2d(channels, 64, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True))
        self.head = nn.Linear(64 * grid * grid, 10)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.reduce(self.backbone(images)[-1]).flatten(1))


def normalise(crops: np.ndarray | torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...],
              device: str | torch.device = "cpu") -> torch.Tensor:
    """(N, H, W, 3) uint8 RGB (an array, or a loader's tensor) -> (N, 3, H, W) float on `device`, normalised
    per channel: pipeline.image.model_input in PyTorch, for training batches."""
    tensor = torch.from_numpy(np.ascontiguousarray(crops)) if isinstance(crops, np.ndarray) else crops
    tensor = tensor.to(device, non_blocking=True).permute(0, 3, 1, 2).float().div_(255.0)
    mean_t = torch.tensor(mean, device=device).view(1, 3, 1, 1)
    std_t = torch.tensor(std, device=device).view(1, 3, 1, 1)
    return (tensor - mean_t) / std_t


def build_model(part: str, config: DetectorConfig | LandmarkConfig | EmbedderConfig) -> nn.Module:
    """The untrained network of a pipeline part ("detector", "landmarks" or "embedder")."""
    if part == "detector":
        return build_yolo(config.model_yaml)
    if part == "landmarks":
        return LandmarkNet(config)
    if config.backbone != "mobilefacenet":
        raise ValueError(f"embedder backbone {config.backbone!r}: this version builds MobileFaceNet only "
                         "(training/mobilefacenet.py; the mobilenetv3 student is in git history, before issue 19)")
    return MobileFaceNet(config.embedding_size)


def load_model(part: str, weights_dir: Path, config: DetectorConfig | LandmarkConfig | EmbedderConfig) -> nn.Module:
    """A part's network with the weights in `weights_dir/<part>.safetensors`, in float32 and eval mode."""
    model = build_model(part, config)
    model.load_state_dict(load_file(str(weights_dir / f"{part}.safetensors")))
    return model.float().eval()


def load_models(weights_dir: Path, configs: PartConfigs) -> list[nn.Module]:
    """The three networks of `weights_dir`, in PARTS order."""
    return [load_model(part, weights_dir, config) for part, config in zip(PARTS, configs, strict=True)]


def torch_runner(module: nn.Module) -> Runner:
    """The module itself, in eval mode, without autograd, on numpy batches: they go to the module's device (a GPU
    while training validates) and outputs come back to the CPU."""
    module.eval()
    device = next(module.parameters()).device

    @torch.inference_mode()
    def run(batch: np.ndarray) -> np.ndarray:
        return module(torch.from_numpy(batch).to(device)).cpu().numpy()

    return run


def detector_runner(model: nn.Module) -> Runner:
    """yolov5's model as a runner of its detections. Its Detect layer caches its anchor grid per input shape and
    rebuilds it in place, so two threads running photos of different shapes would race: one call at a time."""
    run = torch_runner(DetectionsOnly(model))
    lock = threading.Lock()

    def locked(batch: np.ndarray) -> np.ndarray:
        with lock:
            return run(batch)

    return locked


def model_runner(part: str, model: nn.Module) -> Runner:
    """A part's network as the runner its serving class takes."""
    return detector_runner(model) if part == "detector" else torch_runner(model)


def onnx_graph(part: str, model: nn.Module, input_size: int) -> bytes:
    """A part's network traced on one square input and exported to ONNX (serialised model bytes)."""
    module = exportable(model) if part == "detector" else model.eval()
    example = torch.zeros(1, 3, input_size, input_size)
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about Python-side shape checks, exporter deprecations
        torch.onnx.export(module, (example,), buffer, input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": DYNAMIC_AXES[part], "output": {0: "batch"}},
                          opset_version=ONNX_OPSET, dynamo=False)
    return buffer.getvalue()


def weights_fingerprint(configs: PartConfigs, models: list[nn.Module]) -> str:
    """Hash of the models' configs and weights: an index is valid only for the weights that built it."""
    digest = hashlib.sha256()
    for config, model in zip(configs, models, strict=True):
        digest.update(json.dumps(asdict(config), sort_keys=True).encode())
        for name, tensor in model.state_dict().items():
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()
