"""Settings shared by every entry point, defined once: environment variable names and their defaults.

The bot (bot/config.py adds its own settings and reads the environment and `.env` at start-up), the `lookalike`
command, the training and evaluation scripts, the tests and the benchmarks all import them from here, so a
name or a default changes in one place. Each function reads the process environment (or the mapping given) when
called; nothing is read at import.

The data root (the folder that holds celeba/, celeba_align_small/, mtfl/ and faces_extra/) follows one rule
everywhere: an explicit value (--data-root), else $LOOKALIKE_DATA_ROOT, else the workplace's shared data beside
the checkout (../shared/data) when it exists, else MissingDataRootError. Tests skip what needs data on that error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

DATA_ROOT_ENV = "LOOKALIKE_DATA_ROOT"
WEIGHTS_DIR_ENV = "LOOKALIKE_WEIGHTS_DIR"
INDEX_DIR_ENV = "LOOKALIKE_INDEX_DIR"
ONNX_CACHE_ENV = "LOOKALIKE_ONNX_CACHE"
LOOKALIKES_ENV = "LOOKALIKES"
MAX_FACES_ENV = "MAX_FACES"

SHARED_DATA_ROOT = REPO_ROOT.parent / "shared" / "data"  # the workplace's layout: ../shared/data
DEFAULT_WEIGHTS_DIR = REPO_ROOT / "pipeline" / "weights"  # the committed weights
DEFAULT_INDEX_DIR = Path("index_data")  # relative to the current folder
LOOKALIKES = 8  # CelebA look-alikes on each face's card
MAX_FACES = 10  # faces answered per photo, largest first; the others are counted, not searched


class MissingDataRootError(RuntimeError):
    """No data root was given and none is where the workplace keeps it."""


def environment(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def data_root(explicit: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """The data root by the rule in this module's docstring."""
    value = explicit if explicit is not None else environment(environ).get(DATA_ROOT_ENV)
    if value:
        return Path(value).expanduser().resolve()
    if SHARED_DATA_ROOT.is_dir():
        return SHARED_DATA_ROOT
    raise MissingDataRootError(f"No data root: pass --data-root or set {DATA_ROOT_ENV} (the folder that holds "
                               f"celeba/, celeba_align_small/, mtfl/ and faces_extra/; looked in {SHARED_DATA_ROOT})")


def weights_dir(environ: Mapping[str, str] | None = None) -> Path:
    """$LOOKALIKE_WEIGHTS_DIR (development weights), else the committed weights."""
    value = environment(environ).get(WEIGHTS_DIR_ENV)
    return Path(value).expanduser() if value else DEFAULT_WEIGHTS_DIR


def index_dir(environ: Mapping[str, str] | None = None) -> Path:
    """$LOOKALIKE_INDEX_DIR, else index_data/ in the current folder."""
    value = environment(environ).get(INDEX_DIR_ENV)
    return Path(value).expanduser() if value else DEFAULT_INDEX_DIR


def onnx_cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """Where the models exported to ONNX are kept (pipeline/onnx_files.py): $LOOKALIKE_ONNX_CACHE, else
    lookalike/onnx in the user's cache folder ($XDG_CACHE_HOME, else ~/.cache)."""
    env = environment(environ)
    explicit = env.get(ONNX_CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    return Path(env.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "lookalike" / "onnx"
