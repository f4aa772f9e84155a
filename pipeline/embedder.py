"""The face embedder: a timm backbone's last feature map, a global depthwise-conv head (MobileFaceNet
style: it keeps where on the face a feature is, which average pooling throws away), then a linear layer.
The output is L2-normalised by `Embedder`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import timm
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

from .config import EmbedderConfig
from .landmarks import normalise
from .runtime import Runtime, make_runner


class EmbeddingNet(nn.Module):
    """Aligned crop -> embedding (not normalised)."""

    def __init__(self, config: EmbedderConfig) -> None:
        super().__init__()
        self.backbone = timm.create_model(config.backbone, pretrained=False, features_only=True, out_indices=(-1,))
        channels = self.backbone.feature_info.channels()[-1]
        with torch.no_grad():
            grid = self.backbone(torch.zeros(1, 3, config.input_size, config.input_size))[-1].shape[-1]
        self.head = nn.Sequential(
            nn.Conv2d(channels, channels, grid, groups=channels, bias=False),  # global depthwise conv
            nn.BatchNorm2d(channels),
            nn.Flatten(),
            nn.Dropout(0.2),
            nn.Linear(channels, config.embedding_size),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(images)[-1])


class Embedder:
    """`embed(crops)` -> (N, D) float32 unit vectors for aligned 112x112 RGB uint8 crops."""

    def __init__(self, model: EmbeddingNet, config: EmbedderConfig, runtime: Runtime = "torch",
                 threads: int | None = None) -> None:
        self.model = model.eval()
        self.config = config
        example = torch.zeros(1, 3, config.input_size, config.input_size)
        self.forward = make_runner(self.model, example, {0: "batch"}, runtime, threads)

    @classmethod
    def load(cls, weights: Path, config: EmbedderConfig, runtime: Runtime = "torch",
             threads: int | None = None) -> Embedder:
        model = EmbeddingNet(config)
        model.load_state_dict(load_file(str(weights)))
        return cls(model.float(), config, runtime, threads)

    @torch.inference_mode()
    def embed(self, crops: np.ndarray, batch_size: int = 64) -> np.ndarray:
        if len(crops) == 0:
            return np.zeros((0, self.config.embedding_size), np.float32)
        out = []
        for start in range(0, len(crops), batch_size):
            batch = normalise(crops[start:start + batch_size], self.config.mean, self.config.std)
            out.append(F.normalize(self.forward(batch), dim=1))
        return torch.cat(out).numpy().astype(np.float32)
