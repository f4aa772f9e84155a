"""Helpers shared by the training scripts: options from a run's config file, threads, schedules, resumable
checkpoints, logging, and the epoch loop itself."""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, get_worker_info

from pipeline.config import save_config

CHECKPOINT = "last.pt"  # in a run's --out folder: the script resumes from it
LOG = "log.jsonl"
OPTIONS = "config.json"  # the options a run ran with, readable again with --config

# `train_epoch(epoch, epochs)`: one epoch's steps against a schedule of `epochs`; returns the figures to log.
TrainEpoch = Callable[[int, int], dict[str, Any]]
# `end_epoch(finished, epochs)`: validate and write the weights after `finished` of `epochs` epochs; returns the
# figures to log.
EndEpoch = Callable[[int, int], dict[str, Any]]


def parse_options(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse a training script's options, adding `--config FILE`: a run's settings as a JSON object of option
    values (names with `_` for `-`), so that a run is a file (training/configs/); options given on the command
    line override the file's. An unknown name in the file is an error, not a silently ignored typo."""
    parser.add_argument("--config", type=Path, default=None,
                        help="a run's settings as JSON (option names with _ for -); options given here override it")
    args = parser.parse_args(argv)
    if args.config is None:
        return args
    values = json.loads(args.config.read_text())
    unknown = sorted(set(values) - set(vars(args)))
    if unknown:
        parser.error(f"{args.config}: unknown options {', '.join(unknown)}")
    parser.set_defaults(**values)  # argparse converts string defaults with each option's type (paths)
    return parser.parse_args(argv)


def start_run_folder(args: argparse.Namespace) -> None:
    """Create the run's --out folder and write there the options it runs with (config file and command line
    resolved), so the folder tells exactly how its weights were made; `--config OUT/config.json` reruns it."""
    args.out.mkdir(parents=True, exist_ok=True)
    options = {name: str(value) if isinstance(value, Path) else value for name, value in vars(args).items()}
    (args.out / OPTIONS).write_text(json.dumps(options, indent=2) + "\n")


def start_run(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> tuple[argparse.Namespace,
                                                                                           EpochBudget]:
    """What every training run does first: its options (parse_options), its time budget, torch's threads, the
    seeds of Python's, numpy's and torch's generators, and its --out folder (start_run_folder)."""
    args = parse_options(parser, argv)
    budget = EpochBudget(args.budget_minutes)
    set_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    start_run_folder(args)
    return args, budget


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


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def save_weights(model: torch.nn.Module, path: Path) -> None:
    """Write a state dict as safetensors, floating tensors in float16 (halves the committed size;
    the loaders cast back to float32)."""
    from safetensors.torch import save_file

    state = {k: (v.half() if v.is_floating_point() else v).contiguous().cpu() for k, v in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path))


def save_part(part: str, model: torch.nn.Module, config: Any, folder: Path, facts: dict[str, Any]) -> None:
    """Write `<part>.safetensors` and `<part>.json` (the model's config, the run's facts under `training`) into
    the run folder: the two files `python -m training.publish` copies into a weights folder."""
    save_weights(model, folder / f"{part}.safetensors")
    save_config(config, folder / f"{part}.json", facts)


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


class EpochLoop:
    """The epoch skeleton every training script shares, so that its bookkeeping lives once: resume from the run
    folder's checkpoint; per epoch, train, save the checkpoint, fit the number of epochs to the time budget,
    validate and write the weights (the script's `end_epoch`, which knows whether this epoch is the last), log
    one line with both callables' figures."""

    def __init__(self, out: Path, modules: dict[str, Any], epochs: int, budget: EpochBudget) -> None:
        self.checkpoint, self.modules = out / CHECKPOINT, modules
        self.requested, self.budget = epochs, budget
        self.log = RunLog(out / LOG)
        self.epoch = load_checkpoint(self.checkpoint, modules)  # the next epoch to run: above 0 when resuming

    def run(self, train_epoch: TrainEpoch, end_epoch: EndEpoch) -> int:
        """Run the epochs left (the budget may shorten the schedule as it goes); return how many have run."""
        epochs = self.requested
        self.budget.begin()
        while self.epoch < epochs:
            figures = train_epoch(self.epoch, epochs)
            save_checkpoint(self.checkpoint, self.epoch, self.modules)
            self.budget.epoch_done()
            finished = self.epoch + 1
            epochs = self.budget.fit(self.requested, finished)
            figures |= end_epoch(finished, epochs)
            self.log.write(epoch=self.epoch, **figures)
            self.epoch = finished
        return self.epoch
