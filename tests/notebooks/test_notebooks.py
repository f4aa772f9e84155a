"""The study notebooks run top to bottom on the committed weights, headless, in a kernel of this interpreter,
and the committed copies are executed and small. A failing cell fails the test with its traceback.

Each notebook takes about half a minute here. Re-run and save them with `python -m notebooks.execute`.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from notebooks.execute import MAX_NOTEBOOK_BYTES, execute_notebook, notebook_paths
from pipeline.settings import DATA_ROOT_ENV

NOTEBOOKS = notebook_paths()
STAGES = ["01_detection", "02_landmarks", "03_dataset", "04_recognition", "05_inference", "06_bot"]


def test_one_notebook_per_stage() -> None:
    assert [path.stem for path in NOTEBOOKS] == STAGES


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_committed_notebook_is_executed_and_small(path: Path) -> None:
    assert path.stat().st_size < MAX_NOTEBOOK_BYTES, "use smaller figures"
    code_cells = [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]
    assert all(cell.execution_count is not None for cell in code_cells), "run python -m notebooks.execute"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_top_to_bottom(path: Path, data_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_ROOT_ENV, str(data_root))
    executed = execute_notebook(path)  # raises CellExecutionError, with the cell's traceback, when a cell fails
    images = [output for cell in executed.cells for output in cell.get("outputs", [])
              if "image/png" in output.get("data", {})]
    assert images, "no figure shown: has something switched matplotlib away from the inline backend?"
