"""Export the models to ONNX files for serving without torch (pipeline/onnx_files.py); prints their folder.

    python -m pipeline.export [--weights DIR]

FacePipeline.load does the same on its first run with new weights: this command does it ahead of time, on a
machine that has torch, for one that serves without it (copy the folder to its $LOOKALIKE_ONNX_CACHE).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .config import DEFAULT_WEIGHTS_DIR
from .onnx_files import exported


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS_DIR,
                        help="model weights folder (default: the committed weights)")
    args = parser.parse_args(argv)
    print(exported(args.weights))
    return 0


if __name__ == "__main__":
    sys.exit(main())
