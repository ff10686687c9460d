"""The fast account pages (issue 18) are byte-identical to the pages of the code before
(tests/account_page_reference.py, a frozen copy of present/account_page.py), on a synthetic run with hostile
names and comments."""

import importlib.util
import resource
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

HOSTILE = "<img src=x onerror=alert(1)> \u202eevil"


def _reference():
    spec = importlib.util.spec_from_file_location("account_page_reference",
                                                  Path(__file__).with_name("account_page_reference.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    """A run's inputs to the pages: village, result and map entries (small maps with a script, as the real ones)."""
    from cxinfluence.pipeline.runner import run
    from cxinfluence.village.synth import make_village

    village, _ = make_village(30, seed=5)
    people = village.stakeholders.copy()
    people.loc[people.index[:3], "name"] = HOSTILE
    accounts = village.accounts.copy()
    accounts.loc[accounts.index[0], "name"] = HOSTILE
    responses = village.responses.copy()
    responses.loc[responses.index[-40:], "comment"] = HOSTILE + " price delivery"
    village = village.__class__(accounts, people, village.relationships, responses, village.outcomes)
    out = tmp_path_factory.mktemp("run") / "out"
    result = run(village, out, quiet=True, maps=0, folds=3, n_boot=20, currency="€")
    ids = [str(a) for a in village.accounts["account_id"]][:8] + ["no-such-account"]
    entries = []
    for i, a in enumerate(ids):
        rel = f"maps/m{i}.html"
        entries.append((a, a, rel, None))
    return village, result, entries


def _write(fn, analysed, folder):
    village, result, entries = analysed
    (folder / "maps").mkdir(parents=True)
    for i, (a, _, rel, _) in enumerate(entries):
        if i % 3:  # some accounts without a map file
            (folder / rel).write_text(f"<html><script>var a = {i};</script><p>{HOSTILE}</p></html>", encoding="utf-8")
    pages = fn(village, result, entries, folder, name=lambda a: f"p-{a}", currency="€", window_days=365)
    return pages, {p: (folder / p).read_bytes() for p in pages.values()}


@pytest.mark.slow  # a whole run (about 15 s), then the pages twice
def test_pages_are_byte_identical_to_the_code_before(analysed, tmp_path):
    from cxinfluence.present.account_page import write_account_pages

    old_pages, old = _write(_reference().write_account_pages, analysed, tmp_path / "old")
    new_pages, new = _write(write_account_pages, analysed, tmp_path / "new")
    assert new_pages == old_pages and len(new) == len(analysed[2])
    # the run has what the pages show: trends, interest maps, comments (else the comparison proves little)
    both = b"".join(new.values())
    assert both.count(b"data:image/png;base64,") >= 8 and b"What each party cares about" in both
    assert b"Latest comments" in both and b"onerror=alert" not in both.replace(b"&lt;img src=x onerror=alert", b"")
    assert [p for p in old if old[p] != new[p]] == []


@pytest.mark.slow  # the pages on one process, then on two (a spawned worker writes the second half)
def test_pages_on_two_processes_are_those_of_one(analysed, tmp_path):
    from functools import partial

    from cxinfluence.present.account_page import write_account_pages

    one_pages, one = _write(partial(write_account_pages, workers=1), analysed, tmp_path / "one")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
    two_pages, two = _write(partial(write_account_pages, workers=2), analysed, tmp_path / "two")
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - before > 0.5  # a worker did write pages
    assert two_pages == one_pages and list(two_pages) == [str(e[0]) for e in analysed[2]]
    assert len(one) == len(analysed[2]) and [p for p in one if one[p] != two[p]] == []



@pytest.mark.slow  # the pages beside other work: the kept worker fed from the front, this process from the back
@pytest.mark.parametrize("busy_s", [0.5, 2.0])
def test_pages_beside_other_work_are_those_of_one_process(analysed, tmp_path, busy_s, monkeypatch):
    import importlib
    import time
    from functools import partial

    from cxinfluence.present import workers
    from cxinfluence.present.account_page import write_account_pages

    account_page = importlib.import_module("cxinfluence.present.account_page")  # the package exports a function so named

    one_pages, one = _write(partial(write_account_pages, workers=1), analysed, tmp_path / "one")
    sent, calls, start = [], [], workers.start_worker
    monkeypatch.setattr(workers, "start_worker", lambda *a: sent.append(start(*a)) or sent[-1])
    with workers.kept_worker():
        beside_pages, beside = _write(partial(write_account_pages, workers=2, alongside=lambda: (
            calls.append(1), time.sleep(busy_s))), analysed, tmp_path / "beside")
    assert calls == [1] and beside_pages == one_pages
    assert [p for p in one if one[p] != beside[p]] == [] and len(beside) == len(one)
    chunks = -(-len(analysed[2]) // account_page.PAGE_CHUNK)
    assert chunks > 2 and 0 < len(sent) <= chunks  # the worker is fed chunk by chunk
    if busy_s < 1:  # back soon: this process writes chunks from the back while the worker (warming up) has its first
        assert len(sent) < chunks
    none = []
    assert write_account_pages(*analysed[:2], [], tmp_path, name=str, alongside=lambda: none.append(1)) == {}
    assert none == [1]  # no pages: the work beside them is still done

def _same_village(got, want):
    for name, table in want.tables().items():
        pd.testing.assert_frame_equal(getattr(got, name), table, obj=name)


def test_sub_village_is_the_reference_on_a_synthetic_village():
    from cxinfluence.present.pagedata import sub_village, sub_village_reference
    from cxinfluence.village.synth import make_village

    village, _ = make_village(40, seed=3)
    ids = [str(a) for a in village.accounts["account_id"]]
    for chosen in (ids[:5], ids[7:8] + ["no-such-account"] + ids[2:4], ["no-such-account"], ids):
        got, want = sub_village(village, chosen), sub_village_reference(village, chosen)
        assert len(want.responses) or chosen == ["no-such-account"]
        _same_village(got, want)


@pytest.mark.parametrize("sorted_ids", [True, False])
def test_sub_village_is_the_reference_with_repeated_ids_and_unknown_references(sorted_ids):
    """Unvalidated villages: a stakeholder id on two rows (in a mapped and an unmapped account), people and
    outcomes of an account the accounts table lacks, blank and unknown references, ids in any order."""
    from cxinfluence.present.pagedata import sub_village, sub_village_reference
    from cxinfluence.village.core import Village

    people = ["a1", "a2", "b1", "b2", "c1", "a1", "x1"]
    if not sorted_ids:
        people = people[::-1]
    accounts = pd.DataFrame({"account_id": ["A", "B", "C"], "name": ["a", "b", "c"]}, index=[10, 11, 12])
    stakeholders = pd.DataFrame({"stakeholder_id": people,
                                 "account_id": ["A", "A", "B", "B", "C", "B", "X"][::1 if sorted_ids else -1]},
                                index=range(100, 107))
    relationships = pd.DataFrame({"source_id": ["a1", "a2", "b1", "x1", "a1", None],
                                  "target_id": ["a2", "b1", "b2", "a1", "zz", "a1"]})
    responses = pd.DataFrame({"stakeholder_id": ["a1", "b1", None, "zz", "x1", "a2", "b2", "c1"],
                              "nps": np.arange(8.0)}, index=range(50, 58))
    outcomes = pd.DataFrame({"account_id": ["A", "X", "B", None, "C"], "renewed": [1.0, 0.0, 1.0, 0.0, 1.0]})
    village = Village(accounts, stakeholders, relationships, responses, outcomes)
    for chosen in (["A"], ["B"], ["X"], ["A", "X", "C"], ["B", "nope"], ["nan"]):
        _same_village(sub_village(village, chosen), sub_village_reference(village, chosen))


def test_mapped_keeps_the_rows_and_index_of_a_boolean_cut():
    from cxinfluence.present.pagedata import mapped

    table = pd.DataFrame({"account_id": ["A", "B", "A", None, "C"], "x": range(5)}, index=list("vwxyz"))
    for ids in (["A"], ["B", "C"], ["nan"], []):
        pd.testing.assert_frame_equal(mapped(table, ids), table[table["account_id"].astype(str).isin(ids)])
    assert mapped(None, ["A"]) is None and mapped(pd.DataFrame({"x": [1]}), ["A"]).shape == (1, 1)


def _chunked(frame, pieces=4):
    """``frame`` with its text columns as Arrow arrays of several chunks (as Parquet loads them)."""
    import pyarrow as pa

    out = frame.copy()
    for c in frame.columns:
        if isinstance(frame[c].dtype, pd.StringDtype):
            whole = pa.array(frame[c].array._pa_array.combine_chunks())
            bounds = np.linspace(0, len(whole), pieces + 1).astype(int)
            out[c] = pd.array(pa.chunked_array([whole.slice(a, b - a) for a, b in zip(bounds, bounds[1:])],
                                               type=whole.type), dtype=frame[c].dtype)
    return out


def test_take_rows_is_iloc_on_chunked_text():
    from cxinfluence.present.pagedata import take_rows

    frame = _chunked(pd.DataFrame({"id": pd.array(["a", None, "c", "d", "", "f", "g"], dtype="str"),
                                   "n": np.arange(7.0), "kind": pd.array(list("xyxyxyx"), dtype="str")},
                                  index=[9, 3, 4, 7, 1, 0, 8]), pieces=3)
    assert frame["id"].array._pa_array.num_chunks == 3
    for rows in ([], [0], [1, 2, 3], [0, 6], list(range(7)), [4, 5], [5, 1], [2, 2]):
        got, want = take_rows(frame, rows), frame.iloc[rows]
        pd.testing.assert_frame_equal(got, want)
        assert list(got.columns) == list(frame.columns)


def test_sub_village_is_the_reference_on_chunked_tables():
    from cxinfluence.present.pagedata import sub_village, sub_village_reference
    from cxinfluence.village.synth import make_village

    village, _ = make_village(40, seed=4)
    village = village.__class__(*(_chunked(t) for t in village.tables().values()))
    assert village.responses["stakeholder_id"].array._pa_array.num_chunks == 4
    ids = [str(a) for a in village.accounts["account_id"]]
    for chosen in (ids[:3], ids[10:12] + ids[30:31], ids):
        _same_village(sub_village(village, chosen), sub_village_reference(village, chosen))


def test_portfolio_median_is_the_whole_portfolios(tmp_path):
    """The "Portfolio median" beside each account's score is the median over every account, not over the
    accounts that got a page (a bug until 2026-12-02: the snapshot was cut to the mapped accounts first)."""
    from cxinfluence.pipeline.runner import run
    from cxinfluence.village.filenames import account_file_name
    from cxinfluence.village.synth import make_village

    village, _ = make_village(60, seed=4)
    result = run(village, tmp_path / "out", maps=2, n_boot=0, folds=2, quiet=True)
    snap = result.tables["snapshot"]
    chosen = result.tables["accounts_at_risk"]["account_id"].astype(str).head(2).tolist()
    mapped = snap[snap["account_id"].astype(str).isin(chosen)]
    columns = ["mean", "role_weighted", "influence_weighted"]
    whole = [f"{snap[c].median():+.2f}" for c in columns]
    assert whole != [f"{mapped[c].median():+.2f}" for c in columns]  # the two medians differ on this village
    for account_id in chosen:
        page = (tmp_path / "out" / "accounts" / account_file_name(account_id, suffix=".html")).read_text(encoding="utf-8")
        for c, cell in zip(columns, whole):
            if pd.notna(mapped.loc[mapped["account_id"].astype(str) == account_id, c]).all():
                assert f">{cell}<" in page, (account_id, c, cell)
