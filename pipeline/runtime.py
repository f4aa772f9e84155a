"""How the three models run when serving: their ONNX files (pipeline/onnx_files.py) in ONNX Runtime sessions.

A model is a `Runner`, a function from a float32 NCHW numpy batch to the network's output. Serving builds them
from ONNX files and never imports torch; training builds the same kind of function around its PyTorch modules
(training/networks.py: torch_runner), so the inference classes (detector, landmarks, embedder) run either. ONNX
Runtime is 1.5x (detector) to 4x (one face through the landmark or embedding model) faster on a CPU here
(`python -m benchmarks.pipeline_stages --runtime torch` against the default, see README.md), and the two agree
to about 1e-5 (tests/training/test_runtime.py). ONNX Runtime runs each call on the calling thread, with `threads`
threads inside one call, and one session serves several threads at once.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

# ONNX Runtime's Linux wheels record telemetry (a device id and an event database under
# ~/.cache/Microsoft/DeveloperTools/.onnxruntime, a session file in the temp folder) as soon as the module is
# imported, before disable_telemetry_events() can be called; this variable, read at import, turns that off.
TELEMETRY_OFF = ("ORT_DISABLE_TELEMETRY", "1")

Runner = Callable[[np.ndarray], np.ndarray]
ONNX_OPSET = 17


def default_threads() -> int:
    """torch's thread setting when torch is loaded (training, evaluation and the notebooks set it), else 0:
    ONNX Runtime's default, one thread per physical core."""
    torch = sys.modules.get("torch")
    return torch.get_num_threads() if torch is not None else 0


def onnx_runner(model: Path, threads: int | None = None) -> Runner:
    """A function batch -> output running the ONNX file `model` in an ONNX Runtime session with `threads` threads
    inside one call (default: default_threads())."""
    os.environ.setdefault(*TELEMETRY_OFF)
    import onnxruntime

    onnxruntime.disable_telemetry_events()
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = default_threads() if threads is None else threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])

    def run(batch: np.ndarray) -> np.ndarray:
        (output,) = session.run(None, {"input": batch})
        return output

    return run
