"""The three models exported to ONNX once per weights and reused, so that serving imports neither torch nor timm
nor yolov5 (whose imports alone take about 700 MB of memory).

FacePipeline.load exports them the first time it runs with new weights (torch must be installed then), and so
does `python -m pipeline.export`. The files go to <onnx_cache_root()>/<key>/ (pipeline/config.py), where the
key hashes the weights folder's configs and weights: new weights, or a changed config, get new files. A folder
holds detector.onnx, landmarks.onnx, embedder.onnx and fingerprint.txt (the weights fingerprint an index is
checked against, index/engine.py); it is written beside its final place and renamed into it, so it is
complete or absent.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

from .config import PARTS, load_part_configs, onnx_cache_root
from .runtime import ONNX_OPSET

FINGERPRINT_FILE = "fingerprint.txt"
EXPORT_VERSION = 1  # raise it when the export itself changes, so that files exported before are not reused


def weights_key(weights_dir: Path) -> str:
    """Hash of the weights folder's six files (and of how they are exported)."""
    digest = hashlib.sha256(f"opset {ONNX_OPSET}, export {EXPORT_VERSION}".encode())
    for part in PARTS:
        for path in (weights_dir / f"{part}.json", weights_dir / f"{part}.safetensors"):
            with path.open("rb") as file:
                digest.update(path.name.encode() + hashlib.file_digest(file, "sha256").digest())
    return digest.hexdigest()[:32]


def exported(weights_dir: Path) -> Path:
    """The folder of the ONNX files for the weights in `weights_dir`, exported first when missing."""
    target = onnx_cache_root() / weights_key(weights_dir)
    if not target.is_dir():
        export(weights_dir, target)
    return target


def export(weights_dir: Path, target: Path) -> None:
    """Export the models of `weights_dir`, and their fingerprint, into the new folder `target` (needs torch)."""
    try:
        from .networks import load_models, onnx_graph, weights_fingerprint
    except ModuleNotFoundError as error:
        raise RuntimeError(f"No ONNX files for the weights in {weights_dir}/ yet, and exporting them needs "
                           f"{error.name}: run `python -m pipeline.export` where it is installed") from error
    configs = load_part_configs(weights_dir)
    models = load_models(weights_dir, configs)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        for part, config, model in zip(PARTS, configs, models, strict=True):
            (staging / f"{part}.onnx").write_bytes(onnx_graph(part, model, config.input_size))
        (staging / FINGERPRINT_FILE).write_text(weights_fingerprint(configs, models))
        try:
            staging.rename(target)
        except OSError:
            if not target.is_dir():  # else another process renamed its complete copy in first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
