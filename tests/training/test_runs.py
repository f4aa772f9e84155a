"""Runs as files: a training run writes only into its --out folder (never the committed weights), publishing is
the explicit step that copies a run into a weights folder, and the committed runs' config files are valid."""

from __future__ import annotations

import hashlib
import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.settings import DEFAULT_WEIGHTS_DIR, ONNX_CACHE_ENV, REPO_ROOT, MissingDataRootError, data_root
from training import publish
from training.common import CHECKPOINT, LOG, OPTIONS, parse_options

CONFIGS = REPO_ROOT / "training" / "configs"
# The cheapest script to smoke-run: a few photos, one epoch, validation at one size (about 10 s on 2 cores).
SMOKE_CONFIG = {"epochs": 1, "batch": 2, "holdout": 2, "val_sizes": "320", "limit": 50}


def file_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under `folder`, by relative path."""
    return {str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """(run folder, hashes of the committed weights before it ran) of a detector run from a config file."""
    try:
        root = data_root()
    except MissingDataRootError as error:
        pytest.skip(str(error))
    folder = tmp_path_factory.mktemp("smoke")
    config = folder / "smoke.json"
    config.write_text(json.dumps(SMOKE_CONFIG))
    before = file_hashes(DEFAULT_WEIGHTS_DIR)
    command = [sys.executable, "-m", "training.detector", "--config", str(config), "--limit", "6",
               "--data-root", str(root), "--out", str(folder / "run"), "--threads", "1", "--device", "cpu"]
    subprocess.run(command, cwd=REPO_ROOT, check=True, timeout=300)
    return folder / "run", before


def test_a_training_run_writes_only_into_its_out_folder(smoke_run):
    run, before = smoke_run
    assert file_hashes(DEFAULT_WEIGHTS_DIR) == before
    assert {"detector.safetensors", "detector.json", LOG, CHECKPOINT, OPTIONS} <= {p.name for p in run.iterdir()}
    assert json.loads((run / "detector.json").read_text())["training"]["epochs"] == 1
    options = json.loads((run / OPTIONS).read_text())
    assert (options["epochs"], options["limit"], options["out"]) == (1, 6, str(run))  # file, then command line


def test_publishing_copies_the_run_into_the_weights_folder_and_exports_it(smoke_run, tmp_path, monkeypatch, capsys):
    run, before = smoke_run
    weights = tmp_path / "weights"
    shutil.copytree(DEFAULT_WEIGHTS_DIR, weights)
    monkeypatch.setenv(ONNX_CACHE_ENV, str(tmp_path / "onnx"))
    assert publish.main([str(run), "--weights", str(weights)]) == 0
    published = file_hashes(weights)
    for name in ("detector.safetensors", "detector.json"):
        assert published[name] == file_hashes(run)[name]
    for name in ("landmarks.safetensors", "landmarks.json", "embedder.safetensors", "embedder.json"):
        assert published[name] == before[name]
    assert {p.name for p in next((tmp_path / "onnx").iterdir()).iterdir()} >= {"detector.onnx", "embedder.onnx"}
    assert "build-index" in capsys.readouterr().out
    assert file_hashes(DEFAULT_WEIGHTS_DIR) == before


def test_publishing_refuses_a_folder_without_weights(tmp_path, capsys):
    weights = tmp_path / "weights"
    with pytest.raises(SystemExit) as stop:
        publish.main([str(tmp_path), "--weights", str(weights)])
    assert stop.value.code == 2
    assert "holds no weights" in capsys.readouterr().err
    assert not weights.exists()


def committed_configs() -> dict[str, dict]:
    """training/configs/*.json by name; each name starts with the script that runs it."""
    return {path.stem: json.loads(path.read_text()) for path in sorted(CONFIGS.glob("*.json"))}


@pytest.mark.parametrize("name", sorted(committed_configs()))
def test_each_committed_run_config_is_valid_for_its_script(name):
    script = importlib.import_module(f"training.{name.split('_')[0]}")
    args = parse_options(script.options_parser(), ["--config", str(CONFIGS / f"{name}.json")])
    assert args.config == CONFIGS / f"{name}.json"
    assert f"{name}.json" in (CONFIGS / "README.md").read_text()


def test_continued_stages_start_from_the_stage_before():
    configs = committed_configs()
    assert configs["detector_cpu_continued"]["init"] == f"{configs['detector']['out']}/detector.safetensors"
    assert configs["landmarks_continued"]["init"] == f"{configs['landmarks']['out']}/landmarks.safetensors"
    # the landmarks were continued before the detector was: MTFL was cut with the first stage's detector
    assert configs["landmarks_continued"]["detector_dir"] == configs["detector"]["out"]
