"""The teachers' conversion on a small hand-made graph, and the teachers themselves on real crops (when fetched)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from tests.pipeline.test_face_pipeline import OTHER, SAME_A, SAME_B, read
from training.teachers import DEFAULT_TEACHERS_DIR, TEACHER_SPECS, batch_free, dequantised, load_teacher

REPO_ROOT = Path(__file__).resolve().parents[2]


def quantised_model() -> tuple[onnx.ModelProto, np.ndarray]:
    """Input (1, 2, 3, 3) -> Conv with int8 weights through DequantizeLinear (per output channel) -> Reshape to
    [1, -1], as the packaged SFace graph is built. Returns the model and its float weights."""
    rng = np.random.default_rng(0)
    quantised = rng.integers(-100, 100, (4, 2, 1, 1)).astype(np.int8)
    scale = np.array([0.01, 0.02, 0.03, 0.04], np.float32)
    zero = np.zeros(4, np.int8)
    weights = (quantised.astype(np.float32) * scale[:, None, None, None]).astype(np.float32)
    nodes = [
        helper.make_node("DequantizeLinear", ["wq", "scale", "zero"], ["w"], axis=0),
        helper.make_node("Conv", ["x", "w"], ["conv"]),
        helper.make_node("Reshape", ["conv", "shape"], ["y"]),
    ]
    shape = np.array([1, -1], np.int64)
    initialisers = [numpy_helper.from_array(quantised, "wq"), numpy_helper.from_array(scale, "scale"),
                    numpy_helper.from_array(zero, "zero"), numpy_helper.from_array(shape, "shape")]
    graph = helper.make_graph(nodes, "q", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 36])], initialisers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), weights


def run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def test_quantised_weights_are_folded_and_any_batch_is_taken() -> None:
    model, weights = quantised_model()
    x = np.random.default_rng(1).normal(size=(3, 2, 3, 3)).astype(np.float32)
    before = run(model, x[:1])
    plain = batch_free(dequantised(model))
    onnx.checker.check_model(plain)
    assert "DequantizeLinear" not in {node.op_type for node in plain.graph.node}
    folded = {t.name: numpy_helper.to_array(t) for t in plain.graph.initializer}["w"]
    np.testing.assert_allclose(folded, weights, rtol=1e-6)
    after = run(plain, x)
    assert after.shape == (3, 36)
    np.testing.assert_allclose(after[:1], before, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(after[2:], run(model, x[2:]), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", list(TEACHER_SPECS))
def test_teacher_embeds_real_crops(name: str, face_pipeline, data_root: Path) -> None:
    """Aligned crops in, unit embeddings out: the same person closer than a stranger."""
    folder = Path(os.environ.get("LOOKALIKE_TEACHERS_DIR", REPO_ROOT / DEFAULT_TEACHERS_DIR))
    if not (folder / f"{name}.onnx").exists():
        pytest.skip(f"teacher {name} not fetched: `pip install -e '.[train]' && python -m training.teachers`")
    crops = np.stack([face_pipeline(read(data_root, photo))[0].crop for photo in (SAME_A, SAME_B, OTHER)])
    a, b, other = load_teacher(name, folder)(crops)
    np.testing.assert_allclose(np.linalg.norm([a, b, other], axis=1), 1.0, atol=1e-5)
    assert float(a @ b) > float(a @ other) + 0.1
