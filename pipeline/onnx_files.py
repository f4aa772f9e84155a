"""The three models' ONNX files, exported once per weights and reused, so that serving imports neither torch nor
timm nor yolov5 (whose imports alone take about 700 MB of memory).

`python -m training.export [--weights DIR]` writes them (torch must be installed there; scripts/setup.sh runs it
for the committed weights, and `python -m training.publish` for published ones) into <onnx_cache_root()>/<key>/
(pipeline/settings.py), where the key hashes the weights folder's configs and weights: new weights, or a changed
config, get new files. A folder holds detector.onnx, landmarks.onnx, embedder.onnx and fingerprint.txt (the
weights fingerprint an index is checked against, index/engine.py); it is written beside its final place and
renamed into it, so it is complete or absent.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pipeline.config import PARTS
from pipeline.runtime import ONNX_OPSET
from pipeline.settings import onnx_cache_root

FINGERPRINT_FILE = "fingerprint.txt"
EXPORT_VERSION = 2  # raise it when the export itself changes, so that files exported before are not reused


class MissingOnnxError(RuntimeError):
    """The weights have no exported ONNX files yet (the message says how to export them)."""


def weights_key(weights_dir: Path) -> str:
    """Hash of the weights folder's six files (and of how they are exported)."""
    digest = hashlib.sha256(f"opset {ONNX_OPSET}, export {EXPORT_VERSION}".encode())
    for part in PARTS:
        for path in (weights_dir / f"{part}.json", weights_dir / f"{part}.safetensors"):
            with path.open("rb") as file:
                digest.update(path.name.encode() + hashlib.file_digest(file, "sha256").digest())
    return digest.hexdigest()[:32]


def onnx_folder(weights_dir: Path) -> Path:
    """Where the ONNX files of the weights in `weights_dir` are, or will be once exported."""
    return onnx_cache_root() / weights_key(weights_dir)


def exported_folder(weights_dir: Path) -> Path:
    """The folder of the ONNX files for the weights in `weights_dir`; MissingOnnxError when not exported yet."""
    folder = onnx_folder(weights_dir)
    if not folder.is_dir():
        raise MissingOnnxError(f"The weights in {weights_dir}/ have no ONNX files in {folder.parent}/ yet: "
                               f"run `python -m training.export --weights {weights_dir}` (it needs torch).")
    return folder
