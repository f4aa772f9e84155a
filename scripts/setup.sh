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
# redis-server (the Debian package), which the distributed mode's tests start on a free port of 127.0.0.1; they skip,
# saying why, where it is missing. Installed when this runs as root with apt-get (as CI does), else left to you.
if ! command -v redis-server >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        { apt-get install -y -q redis-server || { apt-get update -q && apt-get install -y -q redis-server; }; } \
            >/dev/null 2>&1 || echo "setup.sh: could not install redis-server; the Redis tests will skip" >&2
    else
        echo "setup.sh: redis-server is not installed (apt-get install redis-server, as root); the Redis tests will skip" >&2
    fi
fi
# The web page's browser tests (tests/web/test_web_browser.py) drive Debian's Chromium and its driver: installed
# here where this runs as root with apt-get (as CI does); elsewhere those tests skip and say why.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 \
            || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium chromium-driver >/dev/null 2>&1; } \
            || echo "warning: apt-get could not install chromium and chromium-driver: the browser tests will skip" >&2
    else
        echo "note: chromium and chromium-driver are missing (install them as root: apt-get install -y chromium" \
             "chromium-driver); the web page's browser tests will skip" >&2
    fi
fi
