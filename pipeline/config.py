"""Configuration in one place: data root, model configs stored beside the weights, default paths."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_WEIGHTS_DIR = PACKAGE_DIR / "weights"
DATA_ROOT_ENV = "LOOKALIKE_DATA_ROOT"
ONNX_CACHE_ENV = "LOOKALIKE_ONNX_CACHE"
# The pipeline's models in the order they run; each has <part>.json and <part>.safetensors in a weights folder.
PARTS = ("detector", "landmarks", "embedder")

T = TypeVar("T")


def data_root(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The folder holding `celeba/`, `celeba_align_small/` and `mtfl/`: an explicit value, else $LOOKALIKE_DATA_ROOT."""
    value = explicit if explicit is not None else os.environ.get(DATA_ROOT_ENV)
    if not value:
        raise RuntimeError(
            f"No data root given: pass --data-root or set {DATA_ROOT_ENV} "
            "(the folder that holds celeba/, celeba_align_small/ and mtfl/)."
        )
    return Path(value).expanduser().resolve()


def onnx_cache_root() -> Path:
    """Where the models exported to ONNX are kept (pipeline/onnx_files.py): $LOOKALIKE_ONNX_CACHE, else
    lookalike/onnx in the user's cache folder ($XDG_CACHE_HOME, else ~/.cache)."""
    explicit = os.environ.get(ONNX_CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "lookalike" / "onnx"


@dataclass
class DetectorConfig:
    """yolov5 face detector: architecture (the yolov5 yaml as a dict), input size and thresholds."""

    model_yaml: dict[str, Any] = field(default_factory=dict)
    input_size: int = 320
    conf_threshold: float = 0.5
    iou_threshold: float = 0.45
    max_faces: int = 100
    min_face_px: float = 8.0


@dataclass
class LandmarkConfig:
    """Landmark regressor: timm backbone, crop size and how the crop is cut around a detector box."""

    backbone: str = "mobilenetv3_large_100"
    input_size: int = 64
    # Crop side over the box's longer side. Training cuts its crops at this default; a weights' JSON may set
    # another margin for inference, chosen on validation (`python -m pipeline.evaluate --landmark-margin`).
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
    """Embedder: timm backbone, embedding size, normalisation and the verification threshold."""

    backbone: str = "mobilenetv3_large_100"
    input_size: int = 112
    embedding_size: int = 256
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
