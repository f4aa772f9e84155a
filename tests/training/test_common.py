"""Training helpers: options from a run's config file, the shared epoch loop, the time budget that shortens a
schedule, and the learning-rate schedule."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import torch

from training.common import (
    CHECKPOINT,
    LOG,
    OPTIONS,
    EpochBudget,
    EpochLoop,
    cosine_lr,
    parse_options,
    start_run_folder,
)


def budget_after(epochs_run: int, seconds_each: float, minutes: float, loading_s: float = 0.0) -> EpochBudget:
    """A budget whose clock reads as if `epochs_run` epochs of `seconds_each` ran after `loading_s` of loading."""
    budget = EpochBudget(minutes, started=1000.0)
    budget.loop_started = 1000.0 + loading_s
    budget.epochs_timed = epochs_run
    return budget


def test_budget_keeps_the_request_before_any_epoch_is_timed():
    assert EpochBudget(1.0).fit(requested=50, finished=0) == 50


def test_budget_without_limit_keeps_the_request(monkeypatch):
    monkeypatch.setattr("time.time", lambda: 1100.0)
    assert budget_after(10, 10.0, minutes=0.0).fit(requested=500, finished=10) == 500


def test_budget_shortens_to_what_fits(monkeypatch):
    # 60 s of loading, then 10 epochs of 12 s: 180 s used of 600; 420 s left -> 35 more epochs.
    monkeypatch.setattr("time.time", lambda: 1000.0 + 60 + 120)
    assert budget_after(10, 12.0, minutes=10.0, loading_s=60).fit(requested=100, finished=10) == 45


def test_budget_never_goes_below_the_epochs_already_run(monkeypatch):
    monkeypatch.setattr("time.time", lambda: 1000.0 + 900)
    assert budget_after(10, 90.0, minutes=10.0).fit(requested=100, finished=10) == 10


def test_cosine_lr_warms_up_then_decays_to_one_percent():
    assert cosine_lr(0, 100, 1.0, warmup=10) == pytest.approx(0.1)
    assert cosine_lr(9, 100, 1.0, warmup=10) == pytest.approx(1.0)
    assert cosine_lr(100, 100, 1.0, warmup=10) == pytest.approx(0.01)


def script_parser() -> argparse.ArgumentParser:
    """Options shaped like a training script's."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("runs/x"))
    parser.add_argument("--init", type=Path, default=None)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--teachers", nargs="+", default=["a"])
    return parser


def write_json(path: Path, values: dict) -> Path:
    path.write_text(json.dumps(values))
    return path


def test_options_without_a_config_file_are_the_defaults():
    args = parse_options(script_parser(), [])
    assert (args.epochs, args.config, args.out) == (30, None, Path("runs/x"))


def test_a_config_file_sets_options_and_the_command_line_overrides_it(tmp_path):
    config = write_json(tmp_path / "run.json", {"epochs": 71, "lr": 5e-4, "init": "runs/d/w.safetensors",
                                                "teachers": ["b", "c"]})
    args = parse_options(script_parser(), ["--config", str(config), "--lr", "1e-3"])
    assert (args.epochs, args.lr, args.teachers) == (71, 1e-3, ["b", "c"])
    assert args.init == Path("runs/d/w.safetensors")  # typed as on the command line


def test_an_unknown_name_in_a_config_file_is_an_error(tmp_path, capsys):
    config = write_json(tmp_path / "run.json", {"epoch": 71})
    with pytest.raises(SystemExit) as stop:
        parse_options(script_parser(), ["--config", str(config)])
    assert stop.value.code == 2
    assert "unknown options epoch" in capsys.readouterr().err


def test_a_run_folder_records_the_options_it_ran_with_and_they_rerun_it(tmp_path):
    config = write_json(tmp_path / "run.json", {"epochs": 71})
    args = parse_options(script_parser(), ["--config", str(config), "--out", str(tmp_path / "run")])
    start_run_folder(args)
    recorded = json.loads((tmp_path / "run" / OPTIONS).read_text())
    assert recorded["epochs"] == 71 and recorded["out"] == str(tmp_path / "run")
    rerun = parse_options(script_parser(), ["--config", str(tmp_path / "run" / OPTIONS)])
    assert vars(rerun) == vars(args) | {"config": tmp_path / "run" / OPTIONS}


class FixedBudget(EpochBudget):
    """A budget that, once an epoch is timed, affords `affordable` epochs in all."""

    def __init__(self, affordable: int) -> None:
        super().__init__(minutes=1.0)
        self.affordable = affordable

    def fit(self, requested: int, finished: int) -> int:
        return max(finished, min(requested, self.affordable))


class Recorder:
    """Train/end callables for EpochLoop that record their calls and move a weight, to check resumption."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.model, self.calls = model, []

    def train_epoch(self, epoch: int, epochs: int) -> dict[str, float]:
        self.calls.append(("train", epoch, epochs))
        with torch.no_grad():
            self.model.weight += 1.0
        return {"loss": float(epoch)}

    def end_epoch(self, finished: int, epochs: int) -> dict[str, float]:
        self.calls.append(("end", finished, epochs))
        return {"val": finished / epochs}


def run_loop(out: Path, epochs: int, budget: EpochBudget) -> tuple[Recorder, int, torch.nn.Module]:
    model = torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.zeros_(model.weight)
    recorder = Recorder(model)
    ran = EpochLoop(out, {"model": model}, epochs, budget).run(recorder.train_epoch, recorder.end_epoch)
    return recorder, ran, model


def test_epoch_loop_trains_ends_and_logs_each_epoch(tmp_path):
    recorder, ran, _ = run_loop(tmp_path, 2, EpochBudget(0.0))
    assert ran == 2
    assert recorder.calls == [("train", 0, 2), ("end", 1, 2), ("train", 1, 2), ("end", 2, 2)]
    lines = [json.loads(line) for line in (tmp_path / LOG).read_text().splitlines()]
    assert [{k: v for k, v in line.items() if k != "elapsed_s"} for line in lines] == [
        {"epoch": 0, "loss": 0.0, "val": 0.5}, {"epoch": 1, "loss": 1.0, "val": 1.0}]
    assert (tmp_path / CHECKPOINT).is_file()


def test_epoch_loop_resumes_from_the_checkpoint(tmp_path):
    run_loop(tmp_path, 2, EpochBudget(0.0))
    recorder, ran, model = run_loop(tmp_path, 3, EpochBudget(0.0))
    assert ran == 3
    assert recorder.calls == [("train", 2, 3), ("end", 3, 3)]
    assert model.weight.item() == 3.0  # two epochs restored, one more trained


def test_epoch_loop_anneals_to_the_epochs_the_budget_affords(tmp_path):
    recorder, ran, _ = run_loop(tmp_path, 10, FixedBudget(affordable=2))
    assert ran == 2
    assert recorder.calls == [("train", 0, 10), ("end", 1, 2), ("train", 1, 2), ("end", 2, 2)]
