"""The run's tables written on a background thread as soon as their stage is done (pipeline/outputs.EarlyTables):
the bytes of the final tables, sent before the pictures and the report, in pieces that change no byte."""

import numpy as np
import pandas as pd
import pytest

from cxinfluence.pipeline import outputs
from cxinfluence.pipeline.outputs import TABLES, EarlyTables, _write_in_pieces
from cxinfluence.village.io import write_csv


def _table(n):
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "id": pd.array([f"a{i}" if i % 4 else "=cmd" for i in range(n)], dtype="str"),
        "x": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),
        "k": np.arange(n),
        "ok": rng.random(n) < 0.5,
        "day": pd.to_datetime(["2025-01-02" if i % 3 else None for i in range(n)]),
        "kind": pd.Categorical(["a", "b"] * (n // 2) + ["a"] * (n % 2)),
    })


def test_pieces_write_the_bytes_of_the_whole_table(tmp_path, monkeypatch):
    monkeypatch.setattr(outputs, "PIECE_ROWS", 3)
    df = _table(10)
    _write_in_pieces(df, tmp_path / "pieces.csv")
    write_csv(df, tmp_path / "whole.csv")
    assert (tmp_path / "pieces.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()


def test_a_table_of_python_objects_is_converted_whole(tmp_path, monkeypatch):
    # numbers in the first rows, text later: pyarrow cannot convert the column whole, so pandas writes the table
    # (text unquoted); in pieces the first would be pyarrow's (text quoted) and the file a mix
    monkeypatch.setattr(outputs, "PIECE_ROWS", 2)
    df = pd.DataFrame({"id": pd.array(["a", "b", "c", "d"], dtype="str"), "v": pd.array([1, 2, "x", 3.5], dtype=object)})
    _write_in_pieces(df, tmp_path / "early.csv")
    write_csv(df, tmp_path / "whole.csv")
    assert (tmp_path / "early.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()


def test_finish_names_the_tables_still_the_runs_and_raises_what_a_write_raised(tmp_path):
    tables = {"a": _table(5), "b": _table(4), "none": None, "text": "not a table"}
    with EarlyTables(tmp_path, tables) as early:
        early.ready("a", "b", "none", "text", "missing")
        early.ready("a")  # sent once
        tables["b"] = _table(6)  # replaced after it was sent: written again at the end
        assert early.finish() == {"a"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv"]
    write_csv(tables["a"], tmp_path / "want.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "want.csv").read_bytes()
    with EarlyTables(tmp_path / "gone", {"a": _table(3)}) as early:
        early.ready("a")
        with pytest.raises(FileNotFoundError):
            early.finish()


def test_a_run_sends_each_table_when_its_stage_ends_with_the_bytes_of_the_final_table(small_synthetic, tmp_path,
                                                                                      monkeypatch):
    from cxinfluence.pipeline import runner

    events = []
    ready, report = EarlyTables.ready, runner._report
    monkeypatch.setattr(EarlyTables, "ready", lambda self, *names: (events.extend(names), ready(self, *names))[1])
    monkeypatch.setattr(runner, "_report", lambda *a, **k: (events.append("<report>"), report(*a, **k))[1])
    path, _, _ = small_synthetic
    result = runner.run(path, tmp_path / "out", quiet=True, maps=2, n_boot=20)
    early = ["influence", "coverage", "listening_plan", "account_sentiment", "models", "scheme_comparison",
             "model_frame", "actions", "accounts_at_risk"]
    assert set(early) <= set(events[:events.index("<report>")])
    written = sorted(n for n in TABLES if (tmp_path / "out" / f"{n}.csv").exists())
    assert set(early) <= set(written)
    for name in written:  # what the thread wrote while the run went on is the table the run ended with
        write_csv(result.tables[name], tmp_path / "want.csv")
        assert (tmp_path / "out" / f"{name}.csv").read_bytes() == (tmp_path / "want.csv").read_bytes(), name
    assert result.early is None
