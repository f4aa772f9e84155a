"""Try the embedder in int8: ONNX Runtime's static quantisation, calibrated on training crops, measured against
the float model on the validation people and for speed (training only).

    python -m training.quantize --weights pipeline/weights --cache runs/cache_v3 --out runs/int8

Writes `<out>/embedder_int8.onnx` (from the exported float file of `--weights`, training/export.py) and prints, for
both files, the validation figures of training/embedder.py (our pipeline's crops of the validation people) and
the embedding time per face on one thread, batch 1 and 8. The project keeps int8 only if the mean validation
TPR at FPR 1e-2 drops by 0.005 or less.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.config import EmbedderConfig, load_config
from pipeline.embedder import Embedder
from pipeline.image import model_input
from pipeline.runtime import onnx_runner
from training.embedder import validate
from training.export import exported
from training.faces import held_out_rows, stacked_sets, validation_sets


def calibration_batches(crops: np.ndarray, candidates: np.ndarray, config: EmbedderConfig, count: int, batch: int,
                        seed: int):
    """Model inputs of `count` crops drawn from the `candidates` rows, `batch` at a time, as ONNX Runtime's
    CalibrationDataReader wants."""
    from onnxruntime.quantization import CalibrationDataReader

    rows = np.sort(np.random.default_rng(seed).choice(candidates, count, replace=False))

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.starts = iter(range(0, count, batch))

        def get_next(self) -> dict[str, np.ndarray] | None:
            start = next(self.starts, None)
            if start is None:
                return None
            return {"input": model_input(np.asarray(crops[rows[start:start + batch]]), config.mean, config.std)}

    return Reader()


def quantise(source: Path, target: Path, reader, per_channel: bool) -> None:
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = target.with_suffix(".pre.onnx")
    quant_pre_process(str(source), str(prepared))
    quantize_static(str(prepared), str(target), reader, quant_format=QuantFormat.QOperator, per_channel=per_channel,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    prepared.unlink()


def milliseconds_per_face(path: Path, batch: int, repeats: int = 30) -> float:
    run = onnx_runner(path, threads=1)
    inputs = np.random.default_rng(0).normal(size=(batch, 3, 112, 112)).astype(np.float32)
    run(inputs)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run(inputs)
        times.append(time.perf_counter() - started)
    return round(float(np.median(times)) * 1000 / batch, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=Path("pipeline/weights"))
    parser.add_argument("--cache", type=Path, default=Path("runs/cache_v3"))
    parser.add_argument("--out", type=Path, default=Path("runs/int8"))
    parser.add_argument("--calibration", type=int, default=1024, help="training crops to calibrate on")
    parser.add_argument("--per-tensor", action="store_true", help="one weight scale per tensor, not per channel")
    args = parser.parse_args()

    config = load_config(EmbedderConfig, args.weights / "embedder.json")
    faces = pd.read_csv(args.cache / "faces.csv", keep_default_na=False)
    crops = np.load(args.cache / "crops.npy", mmap_mode="r")
    training = np.flatnonzero(~held_out_rows(faces))
    args.out.mkdir(parents=True, exist_ok=True)
    float_file, int8_file = exported(args.weights) / "embedder.onnx", args.out / "embedder_int8.onnx"
    quantise(float_file, int8_file, calibration_batches(crops, training, config, args.calibration, 32, 0),
             per_channel=not args.per_tensor)
    rows, parts = stacked_sets(validation_sets(faces))
    validation_crops, identities = np.asarray(crops[rows]), faces.identity.to_numpy()[rows]
    report = {}
    for name, path in (("float32", float_file), ("int8", int8_file)):
        embedder = Embedder(onnx_runner(path, threads=2), config)
        report[name] = {**validate(embedder.embed(validation_crops), identities, parts),
                        "ms_per_face_batch_1": milliseconds_per_face(path, 1),
                        "ms_per_face_batch_8": milliseconds_per_face(path, 8)}
        print(name, json.dumps(report[name]), flush=True)
    (args.out / "report.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
