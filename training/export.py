"""Export the models to ONNX files for serving without torch (pipeline/onnx_files.py); prints their folder.

    python -m training.export [--weights DIR]

Serving reads the files and never exports: scripts/setup.sh runs this for the committed weights, and
`python -m training.publish` for the weights it publishes. For a machine that serves without torch, run it
where torch is installed and copy the folder it prints to that machine's $LOOKALIKE_ONNX_CACHE.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from pipeline.config import PARTS, load_part_configs
from pipeline.onnx_files import FINGERPRINT_FILE, onnx_folder
from pipeline.settings import weights_dir
from training.networks import load_models, onnx_graph, weights_fingerprint


def exported(weights: Path) -> Path:
    """The folder of the ONNX files for the weights in `weights`, exported first when missing."""
    target = onnx_folder(weights)
    if not target.is_dir():
        export(weights, target)
    return target


def export(weights: Path, target: Path) -> None:
    """Export the models of `weights`, and their fingerprint, into the new folder `target`."""
    configs = load_part_configs(weights)
    models = load_models(weights, configs)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=weights_dir(),
                        help="model weights folder (default $LOOKALIKE_WEIGHTS_DIR, else the committed weights)")
    args = parser.parse_args(argv)
    print(exported(args.weights))
    return 0


if __name__ == "__main__":
    sys.exit(main())
