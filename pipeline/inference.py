"""FacePipeline: image -> faces (box, score, 5 landmarks, aligned crop, unit embedding), largest first."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .align import align_face
from .config import DEFAULT_WEIGHTS_DIR, PARTS, PartConfigs, load_part_configs
from .detector import FaceDetector
from .embedder import Embedder
from .face import Face
from .image import to_rgb
from .landmarks import LandmarkRegressor
from .onnx_files import FINGERPRINT_FILE, exported
from .runtime import Runtime, default_runtime, onnx_runner

if TYPE_CHECKING:
    from torch import nn


@dataclass
class FacePipeline:
    """The three models behind one call.

    >>> pipe = FacePipeline.load()
    >>> faces = pipe(rgb_uint8_image)          # list[Face], largest first; [] when there is no face
    >>> vectors = pipe.embed_crops(crops)      # batched path for many aligned 112x112 crops
    """

    detector: FaceDetector
    landmarks: LandmarkRegressor
    embedder: Embedder
    fingerprint: str  # of the weights and configs: an index is valid only for the weights that built it

    @classmethod
    def load(cls, weights_dir: str | Path | None = None, runtime: Runtime | None = None,
             threads: int | None = None) -> FacePipeline:
        """Load the committed weights (or those in `weights_dir`): detector, landmarks, embedder + JSON configs.

        `runtime`: "onnx" (ONNX Runtime, the default when it is installed: faster on CPU, and torch is not
        imported once the models are exported, see pipeline/onnx_files.py) or "torch". `threads`: threads inside
        one model call (default: torch's setting when torch is loaded, else one per physical core).
        """
        folder = Path(weights_dir) if weights_dir is not None else DEFAULT_WEIGHTS_DIR
        configs = load_part_configs(folder)
        if (runtime or default_runtime()) == "torch":
            models, fingerprint = torch_models(folder, configs, threads)
        else:
            onnx_dir = exported(folder)
            models = [onnx_runner(onnx_dir / f"{part}.onnx", threads) for part in PARTS]
            fingerprint = (onnx_dir / FINGERPRINT_FILE).read_text()
        detector, landmarks, embedder = models
        return cls(detector=FaceDetector(detector, configs[0]), landmarks=LandmarkRegressor(landmarks, configs[1]),
                   embedder=Embedder(embedder, configs[2]), fingerprint=fingerprint)

    @property
    def verification_threshold(self) -> float:
        return self.embedder.config.verification_threshold

    def __call__(self, image: np.ndarray) -> list[Face]:
        rgb = to_rgb(image)
        boxes, scores = self.detector.detect(rgb)
        if len(boxes) == 0:
            return []
        order = np.argsort(-(boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))
        boxes, scores = boxes[order], scores[order]
        points = self.landmarks.predict(rgb, boxes)
        crops = np.stack([align_face(rgb, p) for p in points])
        embeddings = self.embedder.embed(crops)
        return [
            Face(box=box, score=float(score), landmarks=pts, crop=crop, embedding=emb)
            for box, score, pts, crop, emb in zip(boxes, scores, points, crops, embeddings, strict=True)
        ]

    def embed_crops(self, crops: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """Embeddings for many aligned (N, 112, 112, 3) RGB uint8 crops at once."""
        return self.embedder.embed(crops, batch_size=batch_size)

    def faces_in_box(self, image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Landmarks and aligned crops for given boxes (no detection): ((N, 5, 2), (N, 112, 112, 3))."""
        rgb = to_rgb(image)
        points = self.landmarks.predict(rgb, np.asarray(boxes, np.float32))
        crops = np.stack([align_face(rgb, p) for p in points]) if len(points) else np.zeros((0, 112, 112, 3), np.uint8)
        return points, crops


def torch_models(weights_dir: Path, configs: PartConfigs, threads: int | None) -> tuple[list[nn.Module], str]:
    """The three PyTorch models of `weights_dir` and their fingerprint; `threads` sets torch's thread count."""
    import torch

    from .networks import load_models, weights_fingerprint

    if threads:
        torch.set_num_threads(threads)
    models = load_models(weights_dir, configs)
    return models, weights_fingerprint(configs, models)
