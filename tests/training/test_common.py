"""Training helpers: the time budget that shortens a schedule, and the learning-rate schedule."""

from __future__ import annotations

import pytest

from training.common import EpochBudget, cosine_lr


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
