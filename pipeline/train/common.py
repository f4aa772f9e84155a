"""Helpers shared by the training scripts: threads, schedules, resumable checkpoints, logging."""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, get_worker_info


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

    state = {k: (v.half() if v.is_floating_point() else v).contiguous().cpu() for k, v in model.state_dict().items()}
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



def add_runtime_arguments(parser) -> None:
    """Options every training script shares: where it runs, how many loader processes, a time budget."""
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--workers", type=int, default=0, help="augmentation processes (0: in the main process)")
    parser.add_argument("--budget-minutes", type=float, default=0.0,
                        help="shorten the schedule so the run ends within this time (0: no limit)")


def seed_worker(worker_id: int) -> None:
    """Give each loader process its own random streams (forked processes would otherwise share them)."""
    info = get_worker_info()
    seed = info.seed % 2**32
    random.seed(seed)
    np.random.seed(seed)
    transform = getattr(info.dataset, "transform", None)
    if transform is not None and hasattr(transform, "set_random_seed"):
        transform.set_random_seed(seed)


def make_loader(dataset: Dataset, batch: int, workers: int, shuffle: bool, collate_fn=None) -> DataLoader:
    return DataLoader(dataset, batch_size=batch, shuffle=shuffle, drop_last=shuffle, num_workers=workers,
                      collate_fn=collate_fn, worker_init_fn=seed_worker, persistent_workers=workers > 0)


@dataclass
class EpochBudget:
    """Fits the number of epochs to a wall-clock budget counted from the run's start (data loading included),
    re-estimated after every epoch. The learning-rate schedule is computed against `fit(...)`, so a shortened
    run still anneals to its end."""

    minutes: float
    started: float = field(default_factory=time.time)
    loop_started: float = 0.0
    epochs_timed: int = 0

    def begin(self) -> None:
        self.loop_started = time.time()

    def epoch_done(self) -> None:
        self.epochs_timed += 1

    def fit(self, requested: int, finished: int) -> int:
        if self.minutes <= 0 or self.epochs_timed == 0:
            return requested
        now = time.time()
        per_epoch = (now - self.loop_started) / self.epochs_timed
        affordable = int((self.started + self.minutes * 60 - now) // per_epoch)
        return max(finished, min(requested, finished + affordable))
