"""GEXF and Kumu exports of every account's graph, built from tables (present/portfolio.py)."""

import math

import networkx as nx
import openpyxl
import pandas as pd
import pytest

from cxinfluence.exceptions import CxInfluenceError
from cxinfluence.network.graph import account_graphs
from cxinfluence.network.influence import influence_weights
from cxinfluence.present.exports import write_gexf
from cxinfluence.present.portfolio import (
    EXCEL_MAX_ROWS,
    portfolio_tables,
    write_portfolio_gexf,
    write_portfolio_kumu,
)
from cxinfluence.sentiment.schemes import sentiment_tables
from cxinfluence.village.asof import default_as_of
from cxinfluence.village.core import Village


@pytest.fixture(scope="module")
def synthetic(small_synthetic):
    _, v, _ = small_synthetic
    as_of = default_as_of(v)
    infl = influence_weights(v, as_of)
    _, people = sentiment_tables(v, as_of, window_days=365, lead_days=0, influence=infl)
    return v, as_of, infl, people


def test_same_graph_as_the_networkx_export_of_every_account(synthetic, tmp_path):
    """Independent check: networkx graphs of every account (account_graphs + exports.write_gexf), read back."""
    v, as_of, infl, people = synthetic
    nodes, edges = portfolio_tables(v, infl, people)
    P = nx.read_gexf(write_portfolio_gexf(nodes, edges, tmp_path / "p.gexf"))
    graphs = account_graphs(v, None, as_of, departed="exclude", influence=infl, window_days=365)
    Q = nx.read_gexf(write_gexf(graphs, tmp_path / "q.gexf"))
    assert len(graphs) == v.accounts["account_id"].nunique() >= 40  # every account, not only mapped ones
    assert set(P.nodes) == set(Q.nodes) and P.number_of_nodes() == len(infl)
    assert set(P.edges) == set(Q.edges) and P.number_of_edges() > 0
    for n in P.nodes:
        for key in ("account_id", "name", "title", "role", "department", "veto", "n_responses", "last_heard"):
            assert P.nodes[n].get(key) == Q.nodes[n].get(key), (n, key)
        for key in ("influence", "sentiment"):
            a, b = P.nodes[n].get(key), Q.nodes[n].get(key)
            assert (a is None and b is None) or math.isclose(a, b, abs_tol=1e-12), (n, key)
    for u, w in P.edges:
        for key in ("kind", "weight", "reports_to_weight", "influences_weight", "account_id"):
            assert P.edges[u, w][key] == Q.edges[u, w][key], (u, w, key)


def test_kumu_workbook_has_one_row_per_person_and_tie(synthetic, tmp_path):
    v, _, infl, people = synthetic
    nodes, edges = portfolio_tables(v, infl, people)
    book = openpyxl.load_workbook(write_portfolio_kumu(nodes, edges, tmp_path / "k.xlsx"), read_only=True)
    el = list(book["Elements"].iter_rows(values_only=True))
    co = list(book["Connections"].iter_rows(values_only=True))
    assert el[0][:3] == ("ID", "Label", "Type") and len(el) - 1 == len(nodes)
    assert co[0][:4] == ("From", "To", "Type", "Direction") and len(co) - 1 == len(edges)
    assert {r[2] for r in co[1:]} <= {"reports to", "influences", "reports to and influences"}
    ids = {r[0] for r in el[1:]}
    assert all(r[0] in ids and r[1] in ids for r in co[1:])


def _hostile():
    s = pd.DataFrame({"stakeholder_id": ["p1", "p2", "p1", "p2"], "account_id": ["A", "A", "B", "B"],
                      "name": ["=HYPERLINK(\"x\")", "Eve\u202eevil", "Ann & <Co>", "bell\x07char"],
                      "role": ["decider", "user", "buyer", "user"], "veto": [True, False, False, False]})
    r = pd.DataFrame({"source_id": ["p2", "p2", "p1"], "target_id": ["p1", "p1", "p2"],
                      "kind": ["reports_to", "influences", "influences"], "weight": [1.0, 2.0, None]})
    infl = pd.DataFrame({"account_id": ["A", "A", "B", "B"], "stakeholder_id": ["p1", "p2", "p1", "p2"],
                         "influence": [0.6, 0.4, 0.5, 0.5]})
    return Village(pd.DataFrame({"account_id": ["A", "B"]}), s, r, None, None), infl


def test_ids_repeated_across_accounts_are_prefixed_and_ties_stay_inside_each_account(tmp_path):
    v, infl = _hostile()
    nodes, edges = portfolio_tables(v, infl)
    assert nodes["id"].tolist() == ["A/p1", "A/p2", "B/p1", "B/p2"]
    got = sorted(zip(edges["source"], edges["target"], edges["kind"], edges["weight"]))
    assert got == [("A/p1", "A/p2", "influences", 1.0), ("A/p2", "A/p1", "reports_to+influences", 3.0),
                   ("B/p1", "B/p2", "influences", 1.0), ("B/p2", "B/p1", "reports_to+influences", 3.0)]


def test_customer_text_is_safe_in_both_files(tmp_path):
    v, infl = _hostile()
    nodes, edges = portfolio_tables(v, infl)
    G = nx.read_gexf(write_portfolio_gexf(nodes, edges, tmp_path / "h.gexf"))  # well-formed despite \x07, &, <
    names = {G.nodes[n]["name"] for n in G.nodes}
    assert names == {"=HYPERLINK(\"x\")", "Eveevil", "Ann & <Co>", "bellchar"}  # bidi and control chars gone
    ws = openpyxl.load_workbook(write_portfolio_kumu(nodes, edges, tmp_path / "h.xlsx"))["Elements"]
    assert ws["B2"].value == "=HYPERLINK(\"x\")" and ws["B2"].data_type == "s"  # text, never a formula
    assert not list(tmp_path.glob("*.tmp"))


def test_bad_input_is_refused_with_the_fix():
    v, infl = _hostile()
    with pytest.raises(CxInfluenceError, match="influence_weights"):
        portfolio_tables(v, infl.drop(columns="influence"))
    too_many = pd.DataFrame({"id": range(3)})
    import cxinfluence.present.portfolio as mod

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(mod, "EXCEL_MAX_ROWS", 3)
        with pytest.raises(CxInfluenceError, match="at most"):
            mod.write_portfolio_kumu(too_many, pd.DataFrame(columns=["source", "target"]), "/nonexistent/k.xlsx")
    assert EXCEL_MAX_ROWS == 2 ** 20


def test_the_same_data_give_the_same_bytes(synthetic, tmp_path):
    """No time stamps in the workbooks or the slide SVGs: reruns can be compared by digest."""
    import time

    from cxinfluence.present.exports import write_kumu

    v, as_of, infl, people = synthetic
    nodes, edges = portfolio_tables(v, infl, people)
    a = write_portfolio_kumu(nodes, edges, tmp_path / "a.xlsx").read_bytes()
    graphs = account_graphs(v, None, as_of, departed="mark", influence=infl)
    c = write_kumu(graphs, tmp_path / "c.xlsx").read_bytes()
    time.sleep(1.1)
    assert write_portfolio_kumu(nodes, edges, tmp_path / "b.xlsx").read_bytes() == a
    assert write_kumu(graphs, tmp_path / "d.xlsx").read_bytes() == c
    assert write_portfolio_gexf(nodes, edges, tmp_path / "a.gexf").read_bytes() == \
        write_portfolio_gexf(nodes, edges, tmp_path / "b.gexf").read_bytes()


def test_people_written_before_the_ties_are_made_give_the_same_file(small_synthetic, tmp_path):
    # the run's writer when the portfolio is too big for a workbook: the same bytes as writing both tables
    from cxinfluence.network.influence import influence_weights
    from cxinfluence.present.portfolio import write_portfolio_graph
    from cxinfluence.sentiment.schemes import sentiment_tables
    from cxinfluence.village.asof import default_as_of

    _, v, _ = small_synthetic
    as_of = default_as_of(v)
    infl = influence_weights(v, as_of)
    _, people = sentiment_tables(v, as_of, influence=infl)
    for village, influence, ss in ((v, infl, people), (v, infl, None), (*_hostile(), None)):
        nodes, edges = portfolio_tables(village, influence, ss)
        want = write_portfolio_gexf(nodes, edges, tmp_path / "both.gexf").read_bytes()
        kept, ties = write_portfolio_graph(village, influence, ss, tmp_path / "streamed.gexf")
        assert (tmp_path / "streamed.gexf").read_bytes() == want
        assert list(kept.columns) == ["id", "account_id"] and len(kept) == len(nodes)
        pd.testing.assert_frame_equal(ties, edges)
    assert not list(tmp_path.glob("*.tmp"))
