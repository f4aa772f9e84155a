"""Run the study notebooks top to bottom and save them in place with their outputs (figures included).

    python -m notebooks.execute --data-root ../shared/data                  # all of them
    python -m notebooks.execute notebooks/02_landmarks.ipynb                # some ($LOOKALIKE_DATA_ROOT set)

Re-run them whenever the weights, the training logs in docs/training/ or docs/evaluation.json change.
Each runs in a fresh kernel of this interpreter (ipykernel's own kernel spec, whatever `python3` kernel is
installed elsewhere), started in notebooks/ with the repository on its PYTHONPATH; the data root comes from
--data-root or $LOOKALIKE_DATA_ROOT, as everywhere in the package. No execution timestamps are stored, and
progress bars are switched off, so that a re-run changes only what really changed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from jupyter_client.kernelspec import NATIVE_KERNEL_NAME, KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from pipeline.settings import DATA_ROOT_ENV, data_root

NOTEBOOKS_DIR = Path(__file__).resolve().parent
REPO_ROOT = NOTEBOOKS_DIR.parent
CELL_TIMEOUT_S = 600
MAX_NOTEBOOK_BYTES = 2 * 1024 * 1024


def notebook_paths() -> list[Path]:
    """The study notebooks, in order: notebooks/NN_*.ipynb."""
    return sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


def this_interpreters_kernel() -> KernelManager:
    """A kernel manager for ipykernel's built-in spec, which starts sys.executable: the notebooks run in the
    environment running this code, not in whatever an installed `python3` kernel spec points at."""
    native_only = KernelSpecManager(kernel_dirs=[])  # no installed specs: only the native one remains
    return KernelManager(kernel_name=NATIVE_KERNEL_NAME, kernel_spec_manager=native_only)


def kernel_environment() -> dict[str, str]:
    """This process's environment, with the repository importable and tqdm's progress bars off."""
    python_path = [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(python_path), "TQDM_DISABLE": "1"}


def execute_notebook(path: Path, cell_timeout_s: int = CELL_TIMEOUT_S) -> nbformat.NotebookNode:
    """Run a notebook in a fresh kernel and return it with its new outputs; a failing cell raises
    nbclient's CellExecutionError (the file on disk is not touched)."""
    notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    client = NotebookClient(notebook, km=this_interpreters_kernel(), timeout=cell_timeout_s, record_timing=False,
                            resources={"metadata": {"path": str(path.resolve().parent)}})
    client.execute(cleanup_kc=True, env=kernel_environment())  # shut the kernel down: we made its manager
    return notebook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m notebooks.execute", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebooks/NN_*.ipynb")
    parser.add_argument("--data-root", help="folder holding celeba/, celeba_align_small/ and mtfl/ "
                                            f"(default ${DATA_ROOT_ENV})")
    parser.add_argument("--timeout", type=int, default=CELL_TIMEOUT_S, help="seconds allowed per cell")
    args = parser.parse_args(argv)
    try:
        os.environ[DATA_ROOT_ENV] = str(data_root(args.data_root))
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 2
    for path in args.notebooks or notebook_paths():
        started = time.perf_counter()
        nbformat.write(execute_notebook(path, args.timeout), path)
        size = path.stat().st_size
        warning = "  TOO LARGE: use smaller figures" if size > MAX_NOTEBOOK_BYTES else ""
        print(f"{path.name}: {time.perf_counter() - started:.0f} s, {size / 1024:.0f} KiB{warning}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
