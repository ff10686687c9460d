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


# Run first in the kernel (not saved): before the inline backend shows and closes a cell's figures, name any
# figure that draws no data (cxinfluence.plots.drawn_marks), so a blank chart fails the test.
BLANK = "CX-BLANK-FIGURE"
FIGURE_CHECK = f"""
import matplotlib.pyplot as _cx_plt
from IPython import get_ipython as _cx_ip
from matplotlib_inline.backend_inline import flush_figures as _cx_flush
from cxinfluence.plots import drawn_marks as _cx_drawn


def _cx_check_figures(*_):
    for _n in _cx_plt.get_fignums():
        _f = _cx_plt.figure(_n)
        if _cx_drawn(_f) == 0:
            print("{BLANK}:", [a.get_title(loc="left") or a.get_title() for a in _f.axes])


_cx_events = _cx_ip().events
if _cx_flush in _cx_events.callbacks["post_execute"]:
    _cx_events.unregister("post_execute", _cx_flush)
_cx_events.register("post_execute", _cx_check_figures)
_cx_events.register("post_execute", _cx_flush)
"""
# pandas cuts long text at display.max_colwidth with "...": a finding shown that way is cut mid-sentence
TRUNCATED = re.compile(r"\w\.\.\.(?=\s*(<|$))", re.M)


def run_notebook(path):
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(FIGURE_CHECK))
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    return nb


def content_problems(nb) -> list:
    """Blank figures and text cut by pandas, per cell, from an executed notebook."""
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for out in cell.outputs:
            texts = [out.get("text", "")] + [out.get("data", {}).get(k, "") for k in ("text/plain", "text/html")]
            for text in texts:
                text = "".join(text) if isinstance(text, list) else text
                if BLANK in text:
                    problems.append((i, "blank figure", text.strip()[:200]))
                cut = TRUNCATED.search(text)
                if cut:
                    problems.append((i, "truncated text", text[max(0, cut.start() - 60):cut.end()]))
    return problems


def test_content_checks_catch_a_blank_figure_and_a_cut_finding(tmp_path):
    path = tmp_path / "bad.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nimport numpy as np\n"
                                          "fig, ax = plt.subplots(); ax.scatter([np.nan], [1.0]); "
                                          "ax.set_title('n = 300')"),
                nbformat.v4.new_code_cell("fig, ax = plt.subplots(); ax.plot([1, 2]); ax.set_title('fine')"),
                nbformat.v4.new_code_cell("import pandas as pd\n"
                                          "pd.DataFrame({'sentence': ['Each 0.1 higher sentiment goes with ' * 3]})")]
    nbformat.write(nb, path)
    problems = content_problems(run_notebook(path))
    assert [(i, kind) for i, kind, _ in problems] == [(1, "blank figure"), (3, "truncated text"),
                                                       (3, "truncated text")]
    assert "n = 300" in problems[0][2]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_executes_end_to_end(path, tmp_path):
    nb = run_notebook(path)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    # every figure draws data, and no finding or comment is cut mid-sentence
    assert content_problems(nb) == []
