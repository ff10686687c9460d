"""The portfolio graphs written one partition at a time (present/portfoliostream.py) equal the whole run's."""

import warnings

import numpy as np
import openpyxl
import pandas as pd
import pytest

from cxinfluence.exceptions import PartitionError
from cxinfluence.network.influence import influence_weights
from cxinfluence.pipeline import outputs
from cxinfluence.present import portfoliostream
from cxinfluence.pipeline.runner import run
from cxinfluence.present.portfolio import portfolio_tables, write_portfolio_gexf, write_portfolio_kumu
from cxinfluence.present.portfoliostream import PortfolioGraphWriter, kumu_note
from cxinfluence.sentiment.schemes import sentiment_tables
from cxinfluence.village.asof import default_as_of
from cxinfluence.village.core import Village
from cxinfluence.village.load import load_village
from cxinfluence.village.partitions import partition_of, read_partition, write_partitioned
from cxinfluence.village.synth import make_village

HOSTILE = 'Ann & <Co> "Q"\x07\x1f\u202eend'


def _awkward(n_accounts, seed, *, ties=True):
    """A synthetic village with an account of one person, an account without ties, departed people and customer
    text holding XML specials and control characters (``ties=False``: no tie at all)."""
    v, _ = make_village(n_accounts, seed=seed)
    s, r, resp = v.stakeholders.copy(), v.relationships.copy(), v.responses.copy()
    accounts = v.accounts["account_id"].tolist()
    one = s.index[s["account_id"] == accounts[0]]
    gone = set(s.loc[one[1:], "stakeholder_id"])  # the first account keeps one person
    s = s.drop(index=one[1:]).reset_index(drop=True)
    tieless = set(s.loc[s["account_id"] == accounts[1], "stakeholder_id"])  # the second account has no tie
    r = r[~r["source_id"].isin(gone | tieless) & ~r["target_id"].isin(gone)].reset_index(drop=True)
    resp = resp[~resp["stakeholder_id"].isin(gone)].reset_index(drop=True)
    s = s.astype({"name": object, "title": object})
    s.loc[s.index[1::7], "name"] = HOSTILE
    s.loc[s.index[2::11], "title"] = 'VP <Ops> & "x"\x0b'
    s.loc[s.index[3::13], "name"] = None
    if not ties:
        r = r.iloc[:0]
    return Village(v.accounts, s, r, resp, v.outcomes)


def _run(path):
    """The whole partitioned folder loaded, and the run's influence and stakeholder sentiment tables on it."""
    whole = load_village(path, warn=False)
    as_of = default_as_of(whole)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        infl = influence_weights(whole, as_of)
        _, people = sentiment_tables(whole, as_of, window_days=365, lead_days=0, influence=infl)
    return whole, infl, people


def _stream(path, k_parts, infl, people, out, check=True):
    """The writer fed every partition in order, each with its rows of the run's tables."""
    with PortfolioGraphWriter(out) as w:
        for k in range(k_parts):
            part = read_partition(path, k, warn=False)
            mine = partition_of(infl["account_id"], k_parts) == k
            ppl = people[partition_of(people["account_id"], k_parts) == k] if "account_id" in people.columns \
                else people[people["stakeholder_id"].isin(part.stakeholders["stakeholder_id"])]
            w.add(part, infl[mine].reset_index(drop=True), ppl.reset_index(drop=True))
            if check:  # never more than what fits an Excel sheet is kept
                assert w.kept_partitions == 0 or max(w.people, w.ties) < outputs.EXCEL_MAX_ROWS
    return w.notes


def _whole(whole, infl, people, out):
    """What the run writes for the whole village (pipeline/outputs.py ``_write_portfolio``, here from the public
    pieces it calls; test_the_runs_own_files_are_these ties the two together); returns the notes."""
    nodes, edges = portfolio_tables(whole, infl, people)
    (out / "networks").mkdir(parents=True)
    write_portfolio_gexf(nodes, edges, out / "networks" / "portfolio.gexf")
    if max(len(nodes), len(edges)) + 1 > outputs.EXCEL_MAX_ROWS:
        return [kumu_note(len(nodes), len(edges))]
    write_portfolio_kumu(nodes, edges, out / "networks" / "portfolio_kumu.xlsx")
    return []


def _cells(path):
    book = openpyxl.load_workbook(path, read_only=True)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in book.worksheets}


def _same_cells(a, b):
    for sheet in a:
        assert len(a[sheet]) == len(b[sheet]), sheet
        for ra, rb in zip(a[sheet], b[sheet]):
            assert len(ra) == len(rb)
            for x, y in zip(ra, rb):
                assert x == y or (isinstance(x, float) and isinstance(y, float) and np.isnan(x) and np.isnan(y)), \
                    (sheet, ra, rb)
    assert a.keys() == b.keys()


@pytest.mark.parametrize("n_accounts,seed,ties,parts", [
    (30, 5, True, 1), (30, 5, True, 3), (30, 5, True, 8),
    (5, 9, True, 8),  # partitions without an account
    (12, 2, False, 3),  # no tie anywhere
])
def test_stream_writes_the_bytes_of_the_whole_run(tmp_path, n_accounts, seed, ties, parts):
    path = write_partitioned(_awkward(n_accounts, seed, ties=ties), tmp_path / "village", parts)
    whole, infl, people = _run(path)
    assert not whole.stakeholders["active_to"].isna().all()  # departed people are there and left out
    assert (whole.stakeholders["name"] == HOSTILE).any()
    notes_whole = _whole(whole, infl, people, tmp_path / "whole")
    notes = _stream(path, parts, infl, people, tmp_path / "stream")
    a, b = (tmp_path / x / "networks" for x in ("whole", "stream"))
    gexf = (a / "portfolio.gexf").read_bytes()
    assert gexf.count(b"<node ") == len(infl) and (gexf.count(b"<edge ") > 0) == ties
    assert (b / "portfolio.gexf").read_bytes() == gexf
    assert notes == notes_whole == []
    _same_cells(_cells(b / "portfolio_kumu.xlsx"), _cells(a / "portfolio_kumu.xlsx"))
    assert (b / "portfolio_kumu.xlsx").read_bytes() == (a / "portfolio_kumu.xlsx").read_bytes()  # even the bytes
    assert sorted(p.name for p in b.iterdir()) == ["portfolio.gexf", "portfolio_kumu.xlsx"]  # no scratch left


@pytest.mark.parametrize("limit", [40, 400])  # the ties, or the people and the ties, do not fit
def test_too_big_for_excel_gives_the_whole_runs_note_and_keeps_nothing(tmp_path, monkeypatch, limit):
    path = write_partitioned(_awkward(30, 5), tmp_path / "village", 8)
    whole, infl, people = _run(path)
    for module in (outputs, portfoliostream):
        monkeypatch.setattr(module, "EXCEL_MAX_ROWS", limit)
    notes_whole = _whole(whole, infl, people, tmp_path / "whole")
    notes = _stream(path, 8, infl, people, tmp_path / "stream")
    assert len(notes) == 1 and notes == notes_whole
    nodes, edges = portfolio_tables(whole, infl, people)
    assert notes[0] == kumu_note(len(nodes), len(edges))
    assert not (tmp_path / "stream" / "networks" / "portfolio_kumu.xlsx").exists()
    assert ((tmp_path / "stream" / "networks" / "portfolio.gexf").read_bytes()
            == (tmp_path / "whole" / "networks" / "portfolio.gexf").read_bytes())


def test_edge_ids_run_on_across_partitions(tmp_path):
    path = write_partitioned(_awkward(20, 4), tmp_path / "village", 4)
    _, infl, people = _run(path)
    _stream(path, 4, infl, people, tmp_path / "out")
    text = (tmp_path / "out" / "networks" / "portfolio.gexf").read_text(encoding="utf-8")
    ids = [int(line.split('"')[1]) for line in text.splitlines() if line.startswith("<edge ")]
    assert ids == list(range(len(ids))) and len(ids) > 20


def test_no_partition_gives_the_empty_portfolio(tmp_path):
    v = _awkward(4, 1)
    nodes, edges = portfolio_tables(v, influence_weights(v).iloc[:0])
    write_portfolio_gexf(nodes, edges, tmp_path / "empty.gexf")
    assert PortfolioGraphWriter(tmp_path).close() == []
    assert (tmp_path / "networks" / "portfolio.gexf").read_bytes() == (tmp_path / "empty.gexf").read_bytes()
    assert _cells(tmp_path / "networks" / "portfolio_kumu.xlsx")["Elements"][1:] == []


def test_rows_the_whole_run_would_write_otherwise_are_refused(tmp_path):
    path = write_partitioned(_awkward(12, 3), tmp_path / "village", 2)
    _, infl, _ = _run(path)
    part = read_partition(path, 0, warn=False)
    mine = infl[partition_of(infl["account_id"], 2) == 0].reset_index(drop=True)
    w = PortfolioGraphWriter(tmp_path / "out")
    with pytest.raises(PartitionError, match="twice"):  # the whole run would prefix every id with its account
        w.add(part, pd.concat([mine, mine.iloc[:1]], ignore_index=True))
    with pytest.raises(PartitionError, match="not its stakeholders"):  # another partition's person
        w.add(part, pd.concat([mine, infl[partition_of(infl["account_id"], 2) == 1].iloc[:1]], ignore_index=True))
    w.discard()
    assert list((tmp_path / "out" / "networks").iterdir()) == []


def test_an_error_inside_the_block_leaves_no_scratch_and_no_output(tmp_path):
    path = write_partitioned(_awkward(12, 3), tmp_path / "village", 2)
    _, infl, people = _run(path)
    with pytest.raises(RuntimeError):
        with PortfolioGraphWriter(tmp_path / "out") as w:
            w.add(read_partition(path, 0, warn=False), infl[partition_of(infl["account_id"], 2) == 0], people)
            raise RuntimeError("the run failed")
    assert list((tmp_path / "out" / "networks").iterdir()) == []
    with pytest.raises(PartitionError, match="closed"):
        w.add(read_partition(path, 1, warn=False), infl.iloc[:0], people)


@pytest.mark.parametrize("limit", [None, 40])
def test_the_runs_own_files_are_these(tmp_path, monkeypatch, limit):
    """The real run on the whole partitioned folder (loaded, and streamed one partition at a time): its portfolio
    files and note are the stream's, fed the run's own tables (and so the helper above writes what the run writes)."""
    path = write_partitioned(_awkward(12, 3), tmp_path / "village", 3)
    if limit:
        for module in (outputs, portfoliostream):
            monkeypatch.setattr(module, "EXCEL_MAX_ROWS", limit)
    # the loaded folder's run (its tables feed the writers below) and the streamed run of the folder itself
    result = run(load_village(path, warn=False), tmp_path / "run", maps=0, n_boot=0, folds=2, quiet=True)
    streamed = run(path, tmp_path / "streamed", maps=0, n_boot=0, folds=2, quiet=True)
    infl, people = result.tables["influence"], result.tables["stakeholder_sentiment"]
    noted = [s["reason"] for s in result.skipped if s["stage"] == "Portfolio graphs"]
    assert [s["reason"] for s in streamed.skipped if s["stage"] == "Portfolio graphs"] == noted
    assert _stream(path, 3, infl, people, tmp_path / "stream") == noted == _whole(
        load_village(path, warn=False), infl, people, tmp_path / "whole")
    assert len(noted) == (limit is not None)
    names = ["portfolio.gexf"] + ([] if limit else ["portfolio_kumu.xlsx"])
    for out in ("stream", "whole", "streamed"):
        assert sorted(p.name for p in (tmp_path / out / "networks").iterdir()) == names
        assert ((tmp_path / out / "networks" / "portfolio.gexf").read_bytes()
                == (tmp_path / "run" / "networks" / "portfolio.gexf").read_bytes())
        if not limit:
            _same_cells(_cells(tmp_path / out / "networks" / "portfolio_kumu.xlsx"),
                        _cells(tmp_path / "run" / "networks" / "portfolio_kumu.xlsx"))
            assert ((tmp_path / out / "networks" / "portfolio_kumu.xlsx").read_bytes()
                    == (tmp_path / "run" / "networks" / "portfolio_kumu.xlsx").read_bytes())
