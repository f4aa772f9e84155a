"""ONNX Runtime, from the exported files (training/export.py), and PyTorch (training/reference.py) run the same
models to the same faces; serving from the files never imports torch, and refuses weights not exported yet."""

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline import FacePipeline
from pipeline.image import read_rgb
from pipeline.landmarks import LandmarkRegressor
from pipeline.onnx_files import FINGERPRINT_FILE, MissingOnnxError, weights_key
from pipeline.settings import DEFAULT_WEIGHTS_DIR, ONNX_CACHE_ENV
from training.export import exported
from training.reference import torch_pipeline

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def pipelines() -> tuple[FacePipeline, FacePipeline]:
    return torch_pipeline(), FacePipeline.load()


@pytest.mark.parametrize("image_id", ["182709.jpg", "000093.jpg", "183240.jpg"])
@pytest.mark.parametrize("scale", [1.0, 2.7])  # other input shapes than the one the detector was traced at
def test_both_runtimes_find_the_same_faces(pipelines: tuple[FacePipeline, FacePipeline], data_root: Path,
                                           image_id: str, scale: float) -> None:
    photo = read_rgb(data_root / "celeba" / "img_celeba" / image_id)
    photo = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    reference, onnx = (pipe(photo) for pipe in pipelines)
    assert len(onnx) == len(reference) >= 1
    for expected, found in zip(reference, onnx, strict=True):
        np.testing.assert_allclose(found.box, expected.box, atol=0.01 * scale)
        assert found.score == pytest.approx(expected.score, abs=1e-4)
        np.testing.assert_allclose(found.landmarks, expected.landmarks, atol=0.05 * scale)
        # The crops may differ by one grey level where a landmark moved by 1e-4 px; the same happens between
        # PyTorch on one thread and on two.
        assert np.abs(found.crop.astype(int) - expected.crop).max() <= 1
        assert float(found.embedding @ expected.embedding) > 0.9999


def test_model_outputs_agree_on_a_batch(pipelines: tuple[FacePipeline, FacePipeline]) -> None:
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, (5, 112, 112, 3), dtype=np.uint8)
    reference, onnx = (pipe.embed_crops(crops) for pipe in pipelines)
    np.testing.assert_allclose(onnx, reference, atol=1e-4)


def test_flipped_and_repeated_landmark_passes_agree(pipelines: tuple[FacePipeline, FacePipeline],
                                                   celeba_photo: np.ndarray) -> None:
    boxes, _ = pipelines[0].detector.detect(celeba_photo)
    expected, found = (
        LandmarkRegressor(pipe.landmarks.forward, replace(pipe.landmarks.config, flip_average=True, passes=2))
        .predict(celeba_photo, boxes) for pipe in pipelines)
    np.testing.assert_allclose(found, expected, atol=0.05)
    assert np.abs(found - pipelines[1].landmarks.predict(celeba_photo, boxes)).max() > 0.05  # the options did act


SERVE_WITHOUT_TORCH = """
import json, sys
import cv2
from pipeline import FacePipeline
photo = cv2.cvtColor(cv2.imread(sys.argv[1]), cv2.COLOR_BGR2RGB)
faces = FacePipeline.load()(photo)
heavy = sorted(name for name in ("torch", "torchvision", "timm", "yolov5", "onnx") if name in sys.modules)
print(json.dumps({"heavy": heavy, "embedding": faces[0].embedding.tolist()}))
"""


def test_serving_from_exported_files_never_imports_torch(pipelines: tuple[FacePipeline, FacePipeline],
                                                        data_root: Path) -> None:
    photo = data_root / "celeba" / "img_celeba" / "182709.jpg"
    exported(DEFAULT_WEIGHTS_DIR)  # as scripts/setup.sh did
    output = subprocess.run([sys.executable, "-c", SERVE_WITHOUT_TORCH, str(photo)], capture_output=True, text=True,
                            check=True, cwd=Path(__file__).resolve().parents[2])
    result = json.loads(output.stdout.strip().splitlines()[-1])
    assert result["heavy"] == []
    (reference,) = pipelines[0](read_rgb(photo))
    assert float(np.asarray(result["embedding"], np.float32) @ reference.embedding) > 0.9999


def test_new_weights_or_configs_are_exported_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ONNX_CACHE_ENV, str(tmp_path / "cache"))
    weights = shutil.copytree(DEFAULT_WEIGHTS_DIR, tmp_path / "weights")
    with pytest.raises(MissingOnnxError, match="python -m training.export"):
        FacePipeline.load(weights)  # serving never exports
    first = exported(weights)
    assert sorted(p.name for p in first.iterdir()) == ["detector.onnx", "embedder.onnx", FINGERPRINT_FILE,
                                                      "landmarks.onnx"]
    assert exported(weights) == first

    config = json.loads((weights / "embedder.json").read_text())
    (weights / "embedder.json").write_text(json.dumps({**config, "verification_threshold": 0.5}))
    second = exported(weights)
    assert second != first and first.is_dir()
    assert (second / FINGERPRINT_FILE).read_text() != (first / FINGERPRINT_FILE).read_text()
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == sorted([first.name, second.name])  # no leftovers

    key = weights_key(weights)
    with (weights / "detector.safetensors").open("r+b") as file:
        file.seek(-1, 2)
        last = file.read(1)
        file.seek(-1, 2)
        file.write(bytes([last[0] ^ 1]))
    assert weights_key(weights) != key
