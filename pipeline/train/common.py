"""Helpers shared by the training scripts: threads, schedules, resumable checkpoints, logging."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch


def set_threads(threads: int) -> None:
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)


def cosine_lr(step: int, total: int, base: float, warmup: int) -> float:
    """Linear warm-up then cosine decay to 1% of the base rate."""
    if step < warmup:
        return base * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return base * (0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0))))


@dataclass
class RunLog:
    """Per-epoch figures written as JSON lines next to the checkpoint (the notebooks plot them)."""

    path: Path
    started: float = field(default_factory=time.time)

    def write(self, **figures: Any) -> None:
        figures["elapsed_s"] = round(time.time() - self.started, 1)
        print(json.dumps(figures), flush=True)
        with self.path.open("a") as stream:
            stream.write(json.dumps(figures) + "\n")


def save_checkpoint(path: Path, epoch: int, modules: dict[str, Any]) -> None:
    """Save state dicts of models and optimizers plus the finished epoch, atomically."""
    state = {name: module.state_dict() for name, module in modules.items()}
    state["epoch"] = epoch
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def load_checkpoint(path: Path, modules: dict[str, Any]) -> int:
    """Restore state dicts saved by save_checkpoint; return the next epoch to run (0 if none)."""
    if not path.exists():
        return 0
    state = torch.load(path, map_location="cpu", weights_only=True)
    for name, module in modules.items():
        module.load_state_dict(state[name])
    return int(state["epoch"]) + 1


def save_weights(model: torch.nn.Module, path: Path) -> None:
    """Write a state dict as safetensors, floating tensors in float16 (halves the committed size;
    the loaders cast back to float32)."""
    from safetensors.torch import save_file

    state = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path))


def add_init_argument(parser, weights_name: str) -> None:
    parser.add_argument("--init", type=Path, default=None,
                        help=f"start from these weights (e.g. pipeline/weights/{weights_name}) instead of random")


def initialise_from(model: torch.nn.Module, weights: Path | None) -> None:
    """Fine-tune from earlier weights (safetensors) when given; a resumed checkpoint overrides this."""
    if weights is not None:
        from safetensors.torch import load_file

        model.load_state_dict(load_file(str(weights)))

