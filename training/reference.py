"""The serving pipeline run by PyTorch instead of ONNX Runtime: the reference the exported files are checked
against (tests/training/test_runtime.py), and `python -m benchmarks.pipeline_stages --runtime torch`."""

from __future__ import annotations

from pathlib import Path

import torch

from pipeline import FacePipeline
from pipeline.config import PARTS, load_part_configs
from pipeline.detector import FaceDetector
from pipeline.embedder import Embedder
from pipeline.landmarks import LandmarkRegressor
from pipeline.settings import DEFAULT_WEIGHTS_DIR
from training.networks import load_models, model_runner, weights_fingerprint


def torch_pipeline(weights: str | Path | None = None, threads: int | None = None) -> FacePipeline:
    """FacePipeline over the PyTorch models of `weights` (default: the committed ones); `threads` sets torch's."""
    if threads:
        torch.set_num_threads(threads)
    folder = Path(weights) if weights is not None else DEFAULT_WEIGHTS_DIR
    configs = load_part_configs(folder)
    models = load_models(folder, configs)
    detector, landmarks, embedder = (model_runner(part, model) for part, model in zip(PARTS, models, strict=True))
    return FacePipeline(detector=FaceDetector(detector, configs[0]), landmarks=LandmarkRegressor(landmarks, configs[1]),
                        embedder=Embedder(embedder, configs[2]), fingerprint=weights_fingerprint(configs, models))
