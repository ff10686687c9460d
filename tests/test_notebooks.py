"""Every notebook runs end to end on the sample village, and is committed thin and clean."""

import re
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.slow  # end-to-end: `make test-fast` skips it, `make test` and CI run it

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
EXPECTED = ["01", "02", "03", "04", "05", "06", "07"]


def test_numbered_notebooks_exist():
    assert [nb.name[:2] for nb in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_thin_with_parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: needs exactly one code cell tagged 'parameters'"
    assert "sample_village" in tagged[0].source
    for cell in code:
        # Anything with a loop or a def belongs in the package, where it is tested.
        assert not re.search(r"^\s*(def|class|for|while)\b", cell.source, re.M), f"{path.name}: logic in a notebook cell:\n{cell.source}"
    assert sum(c.cell_type == "markdown" for c in nb.cells) >= len(code) // 2, f"{path.name}: explain the results in prose"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_executes_end_to_end(path, tmp_path):
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
