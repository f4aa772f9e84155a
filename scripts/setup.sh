#!/usr/bin/env bash
# Create .venv (Python 3.11) and install lookalike with its test tools. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
# torch first and pinned: this build lies on the workplace's disk (a plain `torch` may pull gigabytes).
.venv/bin/pip install -q --disable-pip-version-check torch==2.14.1 torchvision==0.29.1
.venv/bin/pip install -q --disable-pip-version-check -e ".[dev]"
# Export the committed models to ONNX (training/export.py): the bot and the CLI serve from these files, never torch.
.venv/bin/python -m training.export >/dev/null
