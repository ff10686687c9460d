"""Tests of the per-account buying-center graph."""

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from cxinfluence.exceptions import GraphError, VillageWarning
from cxinfluence.network.edges import endorsement_graph
from cxinfluence.network.graph import NODE_ATTRIBUTES, account_graph, account_graphs
from cxinfluence.network.influence import influence_weights
from cxinfluence.village.core import Village

AS_OF = "2024-06-30"


@pytest.fixture
def v():
    s = pd.DataFrame({
        "stakeholder_id": ["pm", "op", "buy", "ehs", "left", "new", "other"],
        "account_id": ["A", "A", "A", "A", "A", "A", "B"],
        "name": ["Pat", "Olu", "Bea", "Eve", "Lou", "Nia", "Oz"],
        "title": ["Plant Manager", "Operator", "Buyer", "EHS Manager", "Engineer", "Engineer", "CFO"],
        "role": ["decider", "user", "buyer", "gatekeeper", "influencer", "influencer", "decider"],
        "department": ["operations", "operations", "procurement", "safety", "engineering", "engineering", "finance"],
        "veto": [True, False, False, True, False, False, True],
        "influence_rating": [5.0, 2.0, 3.0, np.nan, 4.0, 3.0, np.nan],
        "active_from": pd.to_datetime([None, None, None, None, None, "2024-09-01", None]),
        "active_to": pd.to_datetime([None, None, None, None, "2024-02-01", None, None]),
    })
    r = pd.DataFrame({
        "source_id": ["op", "buy", "ehs", "left", "buy", "op", "left"],
        "target_id": ["pm", "pm", "pm", "pm", "pm", "buy", "op"],
        "kind": ["reports_to", "reports_to", "reports_to", "reports_to", "influences", "influences", "influences"],
        "weight": [1.0, 1.0, 1.0, 1.0, 2.0, np.nan, 1.0],
    })
    resp = pd.DataFrame({
        "stakeholder_id": ["pm", "pm", "pm", "op", "ehs", "ehs"],
        "date": pd.to_datetime(["2023-01-10", "2024-02-01", "2024-05-01", AS_OF, "2024-01-15", "2024-03-15"]),
        "nps": [3.0, 9.0, np.nan, 10.0, 6.0, 8.0],
        "csat": [1.0, 5.0, 4.0, 5.0, np.nan, np.nan],
        "comment": ["old", "great support", "  ", "future", None, "fine"],
    })
    return Village(pd.DataFrame({"account_id": ["A", "B", "C"]}), s, r, resp, pd.DataFrame())


def test_nodes_edges_and_attributes(v):
    G = account_graph(v, "A", AS_OF)
    assert set(G) == {"pm", "op", "buy", "ehs"}  # left has gone, new has not joined
    assert G.graph == {"account_id": "A", "as_of": AS_OF, "departed": "exclude"}
    # data direction kept; both kinds on buy -> pm merged
    assert G.edges["op", "pm"] == {"kind": "reports_to", "weight": 1.0, "reports_to_weight": 1.0, "influences_weight": 0.0}
    assert G.edges["buy", "pm"] == {"kind": "reports_to+influences", "weight": 3.0,
                                    "reports_to_weight": 1.0, "influences_weight": 2.0}
    assert G.edges["op", "buy"]["kind"] == "influences" and G.edges["op", "buy"]["weight"] == 1.0
    pm = G.nodes["pm"]
    assert set(pm) == set(NODE_ATTRIBUTES)
    # window [2023-06-30, 2024-06-30): 2023-01-10 is too old, the 2024-06-30 response is on the as-of date
    assert pm["n_responses"] == 2
    # sentiment by hand: nps 9 -> 0.8, csat 5 -> 1 => 0.9; csat 4 -> 0.5 ; mean 0.7
    assert pm["sentiment"] == pytest.approx(0.7)
    assert pm["nps"] == 9.0 and pm["csat"] == 4.0  # latest non-blank value of each item
    assert pm["latest_comment"] == "great support"  # blank comment skipped
    assert pm["last_heard"] == "2024-05-01"
    assert G.nodes["op"]["sentiment"] is None and G.nodes["op"]["last_heard"] is None
    assert G.nodes["op"]["n_responses"] == 0 and G.nodes["op"]["nps"] is None
    assert G.nodes["ehs"]["nps"] == 8.0 and G.nodes["ehs"]["latest_comment"] == "fine"
    assert pm["veto"] is True and pm["active"] is True and pm["active_to"] is None
    assert pm["name"] == "Pat" and pm["role"] == "decider" and pm["department"] == "operations"
    for _, attrs in G.nodes(data=True):
        for key, value in attrs.items():
            assert value is None or type(value) in (str, bool, int, float), (key, type(value))
    for _, _, attrs in G.edges(data=True):
        assert all(type(x) in (str, float) for x in attrs.values())


def test_influence_on_nodes_and_pagerank_of_endorsement_graph(v):
    G = account_graph(v, "A", AS_OF)
    with pytest.warns(VillageWarning, match="'C'"):  # account C has nobody
        w = influence_weights(v, AS_OF, tol=1e-13, max_iter=1000)
    w = w[w["account_id"] == "A"].set_index("stakeholder_id")
    assert sum(nx.get_node_attributes(G, "influence").values()) == pytest.approx(1.0)
    H = endorsement_graph(G)
    # influences op -> buy becomes buy -> op; reports_to and the reversed influences pm <- buy... merge
    assert H.edges["op", "pm"]["weight"] == 1.0 and H.edges["buy", "op"]["weight"] == 1.0
    assert H.edges["buy", "pm"]["weight"] == 1.0 and H.edges["pm", "buy"]["weight"] == 2.0
    pr = pd.Series(nx.pagerank(H, tol=1e-13, max_iter=1000))
    assert np.abs(pr[w.index] - w["pagerank"]).max() < 1e-12
    for sid in G:
        assert G.nodes[sid]["influence"] == pytest.approx(w.loc[sid, "influence"], abs=1e-5)


def test_departed_mark_keeps_leavers_and_their_ties(v):
    G = account_graph(v, "A", AS_OF, departed="mark")
    assert set(G) == {"pm", "op", "buy", "ehs", "left"}  # still not "new": joins later
    left = G.nodes["left"]
    assert left["active"] is False and left["active_to"] == "2024-02-01" and left["influence"] == 0.0
    assert G.has_edge("left", "pm") and G.has_edge("left", "op")
    assert sum(G.nodes[n]["influence"] for n in G if G.nodes[n]["active"]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="departed='drop'"):
        account_graph(v, "A", AS_OF, departed="drop")


def test_as_of_none_and_overrides(v):
    G = account_graph(v, "A")  # as_of omitted: the day after the latest response, as everywhere
    assert G.graph["as_of"] == (v.responses["date"].max() + pd.Timedelta(days=1)).date().isoformat()
    assert set(G) == {"pm", "op", "buy", "ehs"}  # "new" joins after that day
    assert G.nodes["op"]["n_responses"] == 1 and G.nodes["op"]["nps"] == 10.0
    custom = pd.DataFrame({"stakeholder_id": ["pm", "op", "buy", "ehs"], "influence": [0.4, 0.3, 0.2, 0.1]})
    given = pd.DataFrame({"stakeholder_id": ["op"], "sentiment": [-0.5], "n_responses": [4]})
    H = account_graph(v, "A", AS_OF, influence=custom, sentiment=given)
    assert H.nodes["pm"]["influence"] == 0.4 and H.nodes["op"]["sentiment"] == -0.5
    assert H.nodes["op"]["n_responses"] == 4 and H.nodes["pm"]["sentiment"] is None
    with pytest.raises(ValueError, match="expected at least stakeholder_id, influence"):
        account_graph(v, "A", AS_OF, influence=pd.DataFrame({"x": [1]}))


def test_account_graphs_and_unknown_account(v):
    graphs = account_graphs(v, as_of=AS_OF)
    assert list(graphs) == ["A", "B", "C"]
    assert list(graphs["B"]) == ["other"] and graphs["B"].nodes["other"]["influence"] == 1.0
    assert graphs["C"].number_of_nodes() == 0
    assert nx.utils.graphs_equal(graphs["A"], account_graph(v, "A", AS_OF))
    with pytest.raises(GraphError, match="account_id='Z' is not in the village"):
        account_graph(v, "Z", AS_OF)


def test_endorsement_graph_plain_kinds_and_bad_kind():
    G = nx.DiGraph()
    G.add_edge("a", "b", kind="influences", weight=2.0)
    G.add_edge("b", "a", kind="reports_to")
    H = endorsement_graph(G)
    assert dict(H.edges) == {("b", "a"): {"weight": 3.0}}
    G.add_edge("a", "c", kind="friend")
    with pytest.raises(GraphError, match="kind='friend'"):
        endorsement_graph(G)


def test_one_account_of_a_large_village_is_cut_out_first_with_the_same_graph(sample_village):
    """account_graph works on the account's own rows (subset_village); the graph equals the one built
    from the whole village (account_graphs of every account), node and edge order and attributes included."""
    import math

    from cxinfluence.village.asof import default_as_of

    v = sample_village
    as_of = default_as_of(v)
    infl = influence_weights(v, as_of)

    def same(x, y):
        return x == y or (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))

    for options in ({}, {"influence": infl}, {"departed": "mark", "influence": infl, "window_days": None}):
        whole = account_graphs(v, None, as_of, **options)
        for acc in v.accounts["account_id"].iloc[::37]:
            one, ref = account_graph(v, acc, as_of, **options), whole[acc]
            assert list(one.nodes) == list(ref.nodes) and list(one.edges) == list(ref.edges) and one.graph == ref.graph
            for n in one.nodes:
                assert one.nodes[n].keys() == ref.nodes[n].keys()
                assert all(same(one.nodes[n][k], ref.nodes[n][k]) for k in one.nodes[n]), (acc, n)
            assert all(one.edges[e] == ref.edges[e] for e in one.edges)
    with pytest.raises(GraphError, match="not in the village"):
        account_graph(v, "NO-SUCH-ACCOUNT")
