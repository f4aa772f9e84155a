"""How the three models run: eagerly in PyTorch, or exported to ONNX (in memory, at load time) and run by
ONNX Runtime, which is 1.5x (detector) to 4x (one face through the landmark or embedding model) faster on
a CPU here (`python -m benchmarks.pipeline_stages --runtime torch` against the default, see README.md).

Both take and return float32 NCHW tensors and agree to about 1e-5 (tests/pipeline/test_runtime.py). The
PyTorch module stays the reference: its weights are what the index's fingerprint hashes, and the ONNX
graph is traced from it, so new weights of the same architecture need nothing more. ONNX Runtime runs each
call on the calling thread, with `threads` threads inside one call, and one session serves several
threads at once.
"""

from __future__ import annotations

import importlib.util
import io
import warnings
from collections.abc import Callable
from typing import Literal

import torch
from torch import nn

Runtime = Literal["onnx", "torch"]
Runner = Callable[[torch.Tensor], torch.Tensor]
ONNX_OPSET = 17


def default_runtime() -> Runtime:
    """"onnx" when onnxruntime and onnx (its exporter needs it) are installed, else "torch"."""
    available = all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))
    return "onnx" if available else "torch"


def torch_runner(module: nn.Module) -> Runner:
    """The module itself, in eval mode, without autograd; batches go to the module's device (a GPU while
    training validates) and outputs come back to the CPU."""
    module.eval()
    device = next(module.parameters()).device

    @torch.inference_mode()
    def run(batch: torch.Tensor) -> torch.Tensor:
        return module(batch.to(device)).cpu()

    return run


def onnx_runner(module: nn.Module, example: torch.Tensor, dynamic_axes: dict[int, str], threads: int = 1) -> Runner:
    """The module traced on `example`, exported to ONNX in memory and loaded into an ONNX Runtime session.

    `dynamic_axes` names the input axes that may change between calls (the batch; height and width for the
    detector); the output's first axis is always dynamic.
    """
    import onnxruntime

    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about Python-side shape checks, exporter deprecations
        torch.onnx.export(module.eval(), (example,), buffer, input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": dynamic_axes, "output": {0: "batch"}}, opset_version=ONNX_OPSET,
                          dynamo=False)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = onnxruntime.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])

    def run(batch: torch.Tensor) -> torch.Tensor:
        (output,) = session.run(None, {"input": batch.contiguous().numpy()})
        return torch.from_numpy(output)

    return run


def make_runner(module: nn.Module, example: torch.Tensor, dynamic_axes: dict[int, str], runtime: Runtime,
                threads: int | None = None) -> Runner:
    """A function batch -> output for `module` on the chosen runtime; `threads` (default: torch's setting
    when called) is the number of threads inside one ONNX Runtime call."""
    if runtime == "torch":
        return torch_runner(module)
    return onnx_runner(module, example, dynamic_axes, threads or torch.get_num_threads())
