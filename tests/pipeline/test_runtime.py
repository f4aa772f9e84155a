"""ONNX Runtime and PyTorch run the same models to the same faces (pipeline/runtime.py)."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline import FacePipeline
from pipeline.runtime import default_runtime

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def pipelines() -> tuple[FacePipeline, FacePipeline]:
    return FacePipeline.load(runtime="torch"), FacePipeline.load(runtime="onnx")


def read(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def test_onnx_is_the_default_when_installed() -> None:
    assert default_runtime() == "onnx"


@pytest.mark.parametrize("image_id", ["182709.jpg", "000093.jpg", "183240.jpg"])
@pytest.mark.parametrize("scale", [1.0, 2.7])  # other input shapes than the one the detector was traced at
def test_both_runtimes_find_the_same_faces(pipelines: tuple[FacePipeline, FacePipeline], data_root: Path,
                                           image_id: str, scale: float) -> None:
    photo = read(data_root / "celeba" / "img_celeba" / image_id)
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
