"""The models' configs, stored as JSON beside their weights (the preprocessing travels with the weights).

Settings shared by the entry points (data root, weights and index folders, ONNX cache) are in settings.py."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

# The pipeline's models in the order they run; each has <part>.json and <part>.safetensors in a weights folder.
PARTS = ("detector", "landmarks", "embedder")

T = TypeVar("T")


@dataclass
class DetectorConfig:
    """yolov5 face detector: architecture (the yolov5 yaml as a dict), input size and thresholds."""

    model_yaml: dict[str, Any] = field(default_factory=dict)
    input_size: int = 320
    conf_threshold: float = 0.5
    iou_threshold: float = 0.45
    max_detections: int = 100  # boxes kept from one network run, at most
    min_face_px: float = 8.0


@dataclass
class LandmarkConfig:
    """Landmark regressor: timm backbone, crop size and how the crop is cut around a detector box."""

    backbone: str = "mobilenetv3_large_100"
    input_size: int = 64
    # Crop side over the box's longer side. Training cuts its crops at this default; a weights' JSON may set
    # another margin for inference, chosen on validation (`python -m training.evaluate --landmark-margin`).
    box_margin: float = 1.35
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    wing_omega: float = 0.1
    wing_epsilon: float = 0.01
    # Least-squares (2, 4) map from point scales to a face box, fitted on CelebA's train faces; with it, each
    # pass after the first re-cuts the crop around the box the previous points imply, as training cut it.
    box_from_points: list[list[float]] | None = None
    passes: int = 1
    # Also read each crop mirrored and average the two predictions (twice the landmark model's time).
    flip_average: bool = False


@dataclass
class EmbedderConfig:
    """Embedder: the network (MobileFaceNet, training/mobilefacenet.py), embedding size, normalisation and the
    verification threshold."""

    backbone: str = "mobilefacenet"
    input_size: int = 112
    embedding_size: int = 192
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    arcface_scale: float = 32.0
    arcface_margin: float = 0.4
    # Cosine similarity above which two faces are called the same person, chosen on training identities.
    verification_threshold: float = 0.4


def save_config(config: Any, path: Path, extra: dict[str, Any] | None = None) -> None:
    """Write a config dataclass (plus free-form training facts) as JSON."""
    payload = asdict(config)
    if extra:
        payload["training"] = extra
    path.write_text(json.dumps(payload, indent=2))


PartConfigs = tuple[DetectorConfig, LandmarkConfig, EmbedderConfig]


def load_part_configs(weights_dir: Path) -> PartConfigs:
    """The configs of the three models stored beside their weights, in PARTS order."""
    return (load_config(DetectorConfig, weights_dir / "detector.json"),
            load_config(LandmarkConfig, weights_dir / "landmarks.json"),
            load_config(EmbedderConfig, weights_dir / "embedder.json"))


def load_config(cls: type[T], path: Path) -> T:
    """Read a config dataclass from JSON, ignoring keys it does not know (such as `training`)."""
    payload = json.loads(Path(path).read_text())
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    values = {k: tuple(v) if isinstance(v, list) and k in ("mean", "std") else v
              for k, v in payload.items() if k in known}
    return cls(**values)
