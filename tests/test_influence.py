"""Tests of the portfolio PageRank kernel and the blended influence weights."""

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from cxinfluence.exceptions import ConvergenceError, GraphError, VillageWarning
from cxinfluence.network.edges import endorsement_edges
from cxinfluence.network.influence import ROLE_PRIORS, influence_weights
from cxinfluence.network.pagerank import pagerank_arrays, pagerank_reference, portfolio_pagerank
from cxinfluence.village.core import Village

TIGHT = dict(tol=1e-13, max_iter=1000)


def village(people, ties=(), accounts=None):
    """people: list of dicts; ties: (source, target, kind[, weight])."""
    s = pd.DataFrame(people)
    for col, default in (("role", None), ("veto", False)):
        if col not in s:
            s[col] = default
    rows = [dict(source_id=t[0], target_id=t[1], kind=t[2], weight=t[3] if len(t) > 3 else np.nan) for t in ties]
    r = pd.DataFrame(rows, columns=["source_id", "target_id", "kind", "weight"])
    acc = pd.DataFrame({"account_id": accounts if accounts is not None else sorted(s["account_id"].unique())})
    return Village(acc, s, r, pd.DataFrame(), pd.DataFrame())


def graph_only(v, **kw):
    return influence_weights(v, graph_share=1, role_share=0, rating_share=0, **kw).set_index("stakeholder_id")


# ---------------------------------------------------------------- direction

def test_manager_with_three_reports_outranks_them_hand_computed():
    people = [dict(stakeholder_id=i, account_id="A") for i in ("m", "r1", "r2", "r3")]
    v = village(people, [("r1", "m", "reports_to"), ("r2", "m", "reports_to"), ("r3", "m", "reports_to")])
    pr = graph_only(v, **TIGHT)["pagerank"]
    # by hand: m dangles, so x_r = .15/4 + .85 x_m/4 and x_m = .15/4 + .85 (3 x_r + x_m/4)
    # => x_m = 0.133125 / 0.245625, x_r = (1 - x_m) / 3
    x_m = 0.133125 / 0.245625
    assert pr["m"] == pytest.approx(x_m, abs=1e-12)
    assert pr[["r1", "r2", "r3"]].to_numpy() == pytest.approx([(1 - x_m) / 3] * 3, abs=1e-12)
    assert pr["m"] > pr[["r1", "r2", "r3"]].max()


def test_person_who_influences_many_outranks_those_influenced():
    people = [dict(stakeholder_id=i, account_id="A") for i in ("champ", "b", "c", "d")]
    v = village(people, [("champ", "b", "influences"), ("champ", "c", "influences"), ("champ", "d", "influences")])
    pr = graph_only(v, **TIGHT)["pagerank"]
    # same shape as the manager star once influences ties are reversed
    x = 0.133125 / 0.245625
    assert pr["champ"] == pytest.approx(x, abs=1e-12)
    assert pr["champ"] > pr[["b", "c", "d"]].max()


def test_influencing_an_influential_person_counts():
    # y is listened to by three people; x influences y only; z influences one nobody
    people = [dict(stakeholder_id=i, account_id="A") for i in ("x", "y", "p", "q", "r", "z", "nobody")]
    ties = [("y", "p", "influences"), ("y", "q", "influences"), ("y", "r", "influences"),
            ("x", "y", "influences"), ("z", "nobody", "influences")]
    pr = graph_only(village(people, ties), **TIGHT)["pagerank"]
    assert pr["x"] > pr["z"]
    # y defers only to x, so all of y's standing passes on to x
    assert pr["x"] > pr["y"] > pr["p"]


# ------------------------------------------------------------ vs networkx

def random_portfolio(seed, n_accounts=60, with_self_loops=False):
    rng = np.random.default_rng(seed)
    nodes, edges = [], []
    for a in range(n_accounts):
        n = int(rng.integers(1, 16))
        ids = [f"a{a}_{i}" for i in range(n)]
        nodes += [(f"A{a}", i) for i in ids]
        m = int(rng.integers(0, 3 * n))
        for _ in range(m):
            u, w = rng.choice(n, 2, replace=True)
            if u == w and not with_self_loops:
                continue
            edges.append((ids[u], ids[w], float(rng.choice([1.0, 0.5, 2.5]))))
    rng.shuffle(nodes)
    return (pd.DataFrame(nodes, columns=["account_id", "stakeholder_id"]),
            pd.DataFrame(edges, columns=["source_id", "target_id", "weight"]))


def nx_reference(nodes, edges, **kw):
    out = {}
    for acc, grp in nodes.groupby("account_id"):
        G = nx.DiGraph()
        G.add_nodes_from(grp["stakeholder_id"])
        for u, v, w in edges.itertuples(index=False):
            if u in G and v in G:  # parallel rows are summed, as in the kernel
                G.add_edge(u, v, weight=G[u][v]["weight"] + w if G.has_edge(u, v) else w)
        out.update(nx.pagerank(G, **kw))
    return pd.Series(out)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_portfolio_pagerank_matches_networkx_tight_tolerance(seed):
    nodes, edges = random_portfolio(seed, with_self_loops=True)
    ours = portfolio_pagerank(nodes, edges, **TIGHT).set_index("stakeholder_id")["pagerank"]
    ref = nx_reference(nodes, edges, **TIGHT)
    assert np.abs(ours[ref.index].to_numpy() - ref.to_numpy()).max() < 1e-9
    sums = portfolio_pagerank(nodes, edges, **TIGHT).groupby("account_id")["pagerank"].sum()
    assert np.abs(sums - 1).max() < 1e-12


def test_power_method_replicates_networkx_stopping_rule_at_its_tolerance():
    # per-account convergence: each account stops at the same iteration as nx,
    # so even networkx's loose default tol=1e-6 agrees far below that tolerance
    nodes, edges = random_portfolio(5)
    ours = portfolio_pagerank(nodes, edges, tol=1e-6, method="power").set_index("stakeholder_id")["pagerank"]
    ref = nx_reference(nodes, edges)
    assert np.abs(ours[ref.index].to_numpy() - ref.to_numpy()).max() < 1e-12
    ours_a = portfolio_pagerank(nodes, edges, alpha=0.6, weight=None, tol=1e-6,
                                method="power").set_index("stakeholder_id")["pagerank"]
    ref_a = nx_reference(nodes, edges.assign(weight=1.0), alpha=0.6)
    assert np.abs(ours_a[ref_a.index].to_numpy() - ref_a.to_numpy()).max() < 1e-12


def test_influence_weights_pagerank_matches_networkx_on_endorsement_graph():
    nodes, edges = random_portfolio(7)
    rng = np.random.default_rng(7)
    kinds = rng.choice(["reports_to", "influences"], len(edges))
    people = nodes.assign(role=rng.choice(list(ROLE_PRIORS), len(nodes)), veto=False)
    v = Village(pd.DataFrame({"account_id": nodes["account_id"].unique()}), people,
                edges.assign(kind=kinds), pd.DataFrame(), pd.DataFrame())
    ours = influence_weights(v, **TIGHT).set_index("stakeholder_id")
    endorse = pd.DataFrame({"source_id": np.where(kinds == "influences", edges["target_id"], edges["source_id"]),
                            "target_id": np.where(kinds == "influences", edges["source_id"], edges["target_id"]),
                            "weight": edges["weight"]})
    ref = nx_reference(nodes, endorse, **TIGHT)
    assert np.abs(ours.loc[ref.index, "pagerank"].to_numpy() - ref.to_numpy()).max() < 1e-9
    assert np.abs(ours.groupby("account_id")["influence"].sum() - 1).max() < 1e-12


# ---------------------------------------------------------------- degenerate

def test_one_person_account_has_influence_one():
    v = village([dict(stakeholder_id="solo", account_id="A", role="buyer", influence_rating=3.0),
                 dict(stakeholder_id="x", account_id="B"), dict(stakeholder_id="y", account_id="B")])
    w = influence_weights(v).set_index("stakeholder_id")
    assert w.loc["solo", ["pagerank", "role_prior", "rating_share", "influence"]].tolist() == [1.0, 1.0, 1.0, 1.0]


def test_account_without_ties_has_uniform_pagerank():
    people = [dict(stakeholder_id=f"p{i}", account_id="A", role=r) for i, r in enumerate(["decider", "user", "user", "buyer"])]
    w = influence_weights(village(people), **TIGHT).set_index("stakeholder_id")
    assert w["pagerank"].to_numpy() == pytest.approx([0.25] * 4, abs=1e-15)
    # role prior by hand: 3, 1, 1, 2 over 7; no ratings -> blend renormalised over 0.5 + 0.3
    prior = np.array([3, 1, 1, 2]) / 7
    assert w["role_prior"].to_numpy() == pytest.approx(prior)
    assert w["rating_share"].isna().all()
    assert w["influence"].to_numpy() == pytest.approx((0.5 * 0.25 + 0.3 * prior) / 0.8)


def test_dangling_nodes_and_disconnected_pieces_match_networkx():
    people = [dict(stakeholder_id=i, account_id="A") for i in "abcdefg"]
    ties = [("a", "b", "reports_to"), ("c", "b", "reports_to"),       # piece 1, b dangles
            ("d", "e", "influences"), ("e", "d", "influences", 2.0),  # piece 2, a 2-cycle
            ("f", "d", "reports_to")]                                 # g isolated
    pr = graph_only(village(people, ties), **TIGHT)["pagerank"]
    G = nx.DiGraph()
    G.add_nodes_from("abcdefg")
    G.add_weighted_edges_from([("a", "b", 1.0), ("c", "b", 1.0), ("e", "d", 1.0), ("d", "e", 2.0), ("f", "d", 1.0)])
    ref = pd.Series(nx.pagerank(G, **TIGHT))
    assert np.abs(pr[ref.index] - ref).max() < 1e-12
    assert pr.sum() == pytest.approx(1.0, abs=1e-12)


def test_parallel_ties_of_both_kinds_are_summed():
    # a reports to b (w 1) and b influences a (w 2): both say "a defers to b", weight 3
    people = [dict(stakeholder_id=i, account_id="A") for i in "abc"]
    ties = [("a", "b", "reports_to", 1.0), ("b", "a", "influences", 2.0), ("a", "c", "influences")]
    e = endorsement_edges(village(people, ties).relationships, pd.DataFrame(people))
    assert e.set_index(["source_id", "target_id"])["weight"].to_dict() == {("a", "b"): 3.0, ("c", "a"): 1.0}
    assert set(e["kind"]) == {"reports_to+influences", "influences"}
    pr = graph_only(village(people, ties), **TIGHT)["pagerank"]
    G = nx.DiGraph()
    G.add_nodes_from("abc")
    G.add_weighted_edges_from([("a", "b", 3.0), ("c", "a", 1.0)])
    ref = pd.Series(nx.pagerank(G, **TIGHT))
    assert np.abs(pr[ref.index] - ref).max() < 1e-12


def test_account_with_nobody_active_gets_no_rows_and_a_warning():
    people = [dict(stakeholder_id="gone", account_id="A", active_to=pd.Timestamp("2023-01-01")),
              dict(stakeholder_id="here", account_id="B", active_to=pd.NaT)]
    v = village(people, accounts=["A", "B", "C"])
    with pytest.warns(VillageWarning, match=r"2 account\(s\) have no active stakeholder.*'A', 'C'"):
        w = influence_weights(v, "2024-01-01")
    assert w["account_id"].tolist() == ["B"]
    with pytest.warns(VillageWarning):
        empty = influence_weights(village(people[:1]), "2024-01-01")
    assert empty.empty and "influence" in empty.columns


def test_departed_people_and_their_ties_are_dropped_as_of():
    people = [dict(stakeholder_id="m", account_id="A", active_to=pd.Timestamp("2024-03-01")),
              dict(stakeholder_id="r", account_id="A", active_to=pd.NaT),
              dict(stakeholder_id="s", account_id="A", active_to=pd.NaT)]
    ties = [("r", "m", "reports_to"), ("s", "m", "reports_to")]
    v = village(people, ties)
    before = graph_only(v, as_of="2024-01-01", **TIGHT)["pagerank"]
    after = graph_only(v, as_of="2024-06-01", **TIGHT)["pagerank"]
    assert before["m"] > before["r"]
    assert set(after.index) == {"r", "s"} and after.to_numpy() == pytest.approx([0.5, 0.5])


def test_ties_across_accounts_are_ignored_with_a_warning():
    people = [dict(stakeholder_id="a", account_id="A"), dict(stakeholder_id="b", account_id="A"),
              dict(stakeholder_id="z", account_id="Z")]
    v = village(people, [("a", "z", "reports_to"), ("a", "b", "reports_to")])
    with pytest.warns(VillageWarning, match="different accounts"):
        w = graph_only(v, **TIGHT)
    assert w.loc["z", "pagerank"] == 1.0
    assert w.loc["b", "pagerank"] == pytest.approx(0.925 / 1.425, abs=1e-12)  # the two-node a -> b graph by hand


def test_ties_across_accounts_warn_on_every_call_and_ties_within_are_checked_once():
    import warnings as _warnings

    people = [dict(stakeholder_id="a", account_id="A"), dict(stakeholder_id="b", account_id="A"),
              dict(stakeholder_id="z", account_id="Z")]
    across = village(people, [("a", "z", "reports_to"), ("a", "b", "reports_to")])
    results = []
    for _ in range(3):  # the second and third calls read the ties' ends from the village's cache
        with pytest.warns(VillageWarning, match="1 tie"):
            results.append(graph_only(across, **TIGHT))
    assert all(r.equals(results[0]) for r in results)
    within = village(people, [("a", "b", "reports_to"), ("z", "z", "influences")])
    with _warnings.catch_warnings():
        _warnings.simplefilter("error")  # nothing to warn about, on any call
        results = [graph_only(within, **TIGHT) for _ in range(3)]
    assert all(r.equals(results[0]) for r in results)
    assert results[0].loc["b", "pagerank"] == pytest.approx(0.925 / 1.425, abs=1e-12)
    # the village remembers that its ties stay within accounts (the later calls skip that check)
    flags = [entry[1] for key, entry in within.__dict__["_id_rows"].items()
             if key == ("remembered", "endorsement ends within accounts")]
    assert flags == [True]


# ---------------------------------------------------------------- blend

def test_blend_hand_computed_with_imputed_rating():
    people = [dict(stakeholder_id="pm", account_id="A", role="decider", influence_rating=5.0),
              dict(stakeholder_id="op", account_id="A", role="user", influence_rating=2.0),
              dict(stakeholder_id="buy", account_id="A", role="buyer", influence_rating=np.nan)]
    v = village(people, [("op", "pm", "reports_to"), ("buy", "pm", "reports_to")])
    before = v.stakeholders.copy()
    w = influence_weights(v, **TIGHT).set_index("stakeholder_id")
    pd.testing.assert_frame_equal(v.stakeholders, before)
    # PageRank by hand: x_pm = .05 + .85 (2 x_o + x_pm / 3), x_o = .05 + .85 x_pm / 3
    x_pm = (0.05 + 0.85 * 2 * 0.05) / (1 - 0.85 / 3 - 0.85 ** 2 * 2 / 3)
    x_o = 0.05 + 0.85 * x_pm / 3
    assert w.loc["pm", "pagerank"] == pytest.approx(x_pm, abs=1e-12)
    assert w["role_prior"].tolist() == pytest.approx([3 / 6, 1 / 6, 2 / 6])
    assert w["rating_share"].tolist() == pytest.approx([5 / 10.5, 2 / 10.5, 3.5 / 10.5])  # blank -> account mean 3.5
    assert w["rating_imputed"].tolist() == [False, False, True]
    expected = 0.5 * np.array([x_pm, x_o, x_o]) + 0.3 * np.array([.5, 1 / 6, 1 / 3]) + 0.2 * np.array([5, 2, 3.5]) / 10.5
    assert w["influence"].to_numpy() == pytest.approx(expected, abs=1e-12)
    assert w.loc["pm", "veto"] == False  # noqa: E712 - taken from the data


def test_custom_priors_and_shares():
    people = [dict(stakeholder_id="g", account_id="A", role="gatekeeper"),
              dict(stakeholder_id="u", account_id="A", role="user"),
              dict(stakeholder_id="?", account_id="A", role=None)]
    v = village(people)
    w = influence_weights(v, graph_share=0, role_share=1, rating_share=0,
                          role_weights={"gatekeeper": 6.0, "user": 3.0}).set_index("stakeholder_id")
    # blank role -> UNKNOWN_ROLE_PRIOR = 1
    assert w["influence"].tolist() == pytest.approx([0.6, 0.3, 0.1])
    w2 = influence_weights(v, graph_share=2, role_share=2, rating_share=0).set_index("stakeholder_id")
    w1 = influence_weights(v, graph_share=1, role_share=1, rating_share=0).set_index("stakeholder_id")
    assert w2["influence"].to_numpy() == pytest.approx(w1["influence"].to_numpy())


@pytest.mark.parametrize("kw, match", [
    (dict(graph_share=-1), "graph_share=-1 must be"),
    (dict(graph_share=0, role_share=0, rating_share=0), "all 0"),
    (dict(role_weights={"decider": -2}), r"role_weights\['decider'\]=-2"),
])
def test_bad_options_are_named(kw, match):
    with pytest.raises(ValueError, match=match):
        influence_weights(village([dict(stakeholder_id="a", account_id="A")]), **kw)


# ---------------------------------------------------------------- kernel errors

def test_kernel_errors():
    nodes = pd.DataFrame({"account_id": ["A", "A", "B"], "stakeholder_id": ["a", "b", "c"]})
    with pytest.raises(GraphError, match="not in nodes"):
        portfolio_pagerank(nodes, pd.DataFrame({"source_id": ["a"], "target_id": ["zz"]}))
    with pytest.raises(GraphError, match="different accounts"):
        portfolio_pagerank(nodes, pd.DataFrame({"source_id": ["a"], "target_id": ["c"]}))
    with pytest.raises(GraphError, match="duplicate ids"):
        portfolio_pagerank(pd.concat([nodes, nodes]), pd.DataFrame({"source_id": [], "target_id": []}))
    with pytest.raises(GraphError, match="<= 0"):
        portfolio_pagerank(nodes, pd.DataFrame({"source_id": ["a"], "target_id": ["b"], "weight": [0.0]}))
    with pytest.raises(ValueError, match="alpha=1.5"):
        portfolio_pagerank(nodes, pd.DataFrame({"source_id": [], "target_id": []}), alpha=1.5)
    with pytest.raises(ConvergenceError, match="1 account"):
        portfolio_pagerank(nodes, pd.DataFrame({"source_id": ["a"], "target_id": ["b"]}), max_iter=2, tol=1e-15,
                           method="power")
    with pytest.raises(ValueError, match="method='newton'"):
        portfolio_pagerank(nodes, pd.DataFrame({"source_id": [], "target_id": []}), method="newton")
    with pytest.raises(GraphError, match="sorted"):
        pagerank_arrays(np.array([1, 0]), np.array([], int), np.array([], int), np.array([]))


def test_kernel_iterations_are_per_account():
    nodes = pd.DataFrame({"account_id": ["A", "A", "B"], "stakeholder_id": ["a", "b", "c"]})
    pr = portfolio_pagerank(nodes, pd.DataFrame({"source_id": ["a"], "target_id": ["b"]}), tol=1e-10, method="power")
    assert pr.attrs["iterations"]["B"] == 1 and pr.attrs["iterations"]["A"] > 1
    # the exact solve needs no power step
    assert portfolio_pagerank(nodes, pd.DataFrame({"source_id": ["a"], "target_id": ["b"]})).attrs["iterations"] \
        == {"A": 0, "B": 0}
    assert portfolio_pagerank(nodes.iloc[:0], pd.DataFrame({"source_id": [], "target_id": []})).empty


@pytest.mark.parametrize("threads", [1, 2])
def test_chunked_and_threaded_iteration_gives_the_same_result(monkeypatch, threads):
    import cxinfluence.network.pagerank as kernel

    nodes, edges = random_portfolio(9)
    whole = portfolio_pagerank(nodes, edges, tol=1e-6, method="power")
    exact = portfolio_pagerank(nodes, edges)
    monkeypatch.setattr(kernel, "_CHUNK_NODES", 7)  # many chunks of whole accounts
    monkeypatch.setattr(kernel, "_SOLVE_CELLS", 50)  # many batches of dense systems
    monkeypatch.setattr(kernel, "_THREADS", threads)
    chunked = portfolio_pagerank(nodes, edges, tol=1e-6, method="power")
    assert np.array_equal(whole["pagerank"].to_numpy(), chunked["pagerank"].to_numpy())
    assert whole.attrs["iterations"] == chunked.attrs["iterations"]
    ref = nx_reference(nodes, edges)
    assert np.abs(chunked.set_index("stakeholder_id")["pagerank"][ref.index].to_numpy() - ref.to_numpy()).max() < 1e-12
    # the same LAPACK solve per account, however the accounts are batched
    assert np.array_equal(exact["pagerank"].to_numpy(), portfolio_pagerank(nodes, edges)["pagerank"].to_numpy())


def test_account_blocks_from_codes_equal_the_text_path():
    from cxinfluence.network.influence import _account_blocks

    rng = np.random.default_rng(5)
    ids = pd.Series(rng.choice([f"A{i}" for i in range(30)], size=400)).astype("str")
    codes = pd.Index([f"A{i}" for i in range(30)]).get_indexer(ids)
    grouped = ids.sort_values(kind="stable")
    for values, c in ((ids, codes), (grouped, codes[grouped.index.to_numpy()])):
        o1, b1 = _account_blocks(values)
        o2, b2 = _account_blocks(values, c)
        assert (o1 is None) == (o2 is None)
        if o1 is not None:
            np.testing.assert_array_equal(o1, o2)
        np.testing.assert_array_equal(b1, b2)


def test_empty_accounts_warning_lists_listed_and_referenced_accounts():
    from dataclasses import replace

    from cxinfluence.village.synth import make_village

    v, _ = make_village(6, seed=2)
    extra = pd.DataFrame({"account_id": ["GHOST", v.accounts["account_id"].iloc[0]]})
    v = replace(v, accounts=pd.concat([v.accounts, extra], ignore_index=True))  # one empty, one repeated
    with pytest.warns(VillageWarning, match=r"1 account\(s\) have no active stakeholder.*'GHOST'"):
        influence_weights(v)
    st = v.stakeholders.copy()
    st.loc[st.index[0], "account_id"] = "UNLISTED"
    st.loc[st.index[0], "active_to"] = pd.Timestamp("2000-01-01")  # referenced, never active now
    with pytest.warns(VillageWarning, match=r"2 account\(s\).*'GHOST', 'UNLISTED'"):
        influence_weights(replace(v, stakeholders=st))


def test_blank_account_id_is_a_clear_error():
    s = pd.DataFrame({"stakeholder_id": ["a", "b"], "account_id": ["A", None], "role": ["user", "user"],
                      "veto": [False, False]})
    v = Village(pd.DataFrame({"account_id": ["A"]}), s, pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
    with pytest.raises(GraphError, match=r"1 active row\(s\) with a blank account_id \(rows \[1\]\)"):
        influence_weights(v)


def test_one_tie_direction_rule_for_the_kernel_the_table_and_the_map_graph():
    """Kind spelled as people type it (" Influences", "REPORTS_TO") reads the same in every stage."""
    import warnings

    from cxinfluence import make_village
    from cxinfluence.network.edges import endorsement_graph
    from cxinfluence.network.graph import account_graph

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v, _ = make_village(6, seed=5)
    messy = v.relationships.assign(kind=v.relationships["kind"].map(
        {"influences": " Influences", "reports_to": "REPORTS_TO"}))
    w = Village(v.accounts, v.stakeholders, messy, v.responses, v.outcomes)
    as_of = "2025-01-01"
    pd.testing.assert_frame_equal(influence_weights(w, as_of), influence_weights(v, as_of))
    people = v.stakeholders
    pd.testing.assert_frame_equal(endorsement_edges(messy, people), endorsement_edges(v.relationships, people))
    for acc in v.accounts["account_id"]:
        a, b = account_graph(w, acc, as_of), account_graph(v, acc, as_of)
        assert sorted(endorsement_graph(a).edges(data="weight")) == sorted(endorsement_graph(b).edges(data="weight"))
        pr = nx.pagerank(endorsement_graph(b), tol=1e-12, max_iter=1000)
        got = influence_weights(v, as_of, tol=1e-12, max_iter=1000).set_index("stakeholder_id")["pagerank"]
        assert max(abs(pr[n] - got[n]) for n in pr) < 1e-9


def test_role_priors_is_the_old_name_of_role_weights():
    from cxinfluence import make_village
    from cxinfluence.village.schema import ROLE_WEIGHTS

    v, _ = make_village(3, seed=1)
    new = influence_weights(v, "2025-01-01", role_weights={"user": 4.0})
    with pytest.warns(DeprecationWarning, match="role_priors= is now role_weights="):
        old = influence_weights(v, "2025-01-01", role_priors={"user": 4.0})
    pd.testing.assert_frame_equal(new, old)
    from cxinfluence.sentiment.schemes import DEFAULT_ROLE_WEIGHTS
    assert ROLE_PRIORS is ROLE_WEIGHTS is DEFAULT_ROLE_WEIGHTS  # one table for influence and sentiment


@pytest.mark.parametrize("seed", range(6))
def test_the_fast_kernel_equals_the_readable_reference(seed):
    """Fuzzed portfolios (dangling nodes, parallel and isolated nodes, one-node accounts)."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 9, rng.integers(1, 25))
    group = np.repeat(np.arange(len(sizes)), sizes)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    src, dst = [], []
    for a, (s0, n) in enumerate(zip(starts, sizes)):
        for _ in range(rng.integers(0, 3 * n)):
            u, v = rng.integers(s0, s0 + n, 2)
            if u != v:
                src.append(u), dst.append(v)
    src, dst = np.array(src, dtype=np.int64), np.array(dst, dtype=np.int64)
    w = rng.uniform(0.5, 3.0, len(src))
    for tol in (1e-6, 1e-12):
        fast, it_fast = pagerank_arrays(group, src, dst, w, tol=tol, max_iter=1000, method="power")
        ref, it_ref = pagerank_reference(group, src, dst, w, tol=tol, max_iter=1000, method="power")
        np.testing.assert_allclose(fast, ref, rtol=0, atol=1e-13)
        assert (it_fast == it_ref).all()
    fast, it_fast = pagerank_arrays(group, src, dst, w)  # exact, the default
    ref, it_ref = pagerank_reference(group, src, dst, w)
    np.testing.assert_allclose(fast, ref, rtol=0, atol=1e-14)
    assert (it_fast == 0).all() and (it_ref == 0).all()


def test_the_readable_reference_equals_networkx_on_a_hand_drawn_graph():
    group = np.array([0, 0, 0, 0])
    src, dst, w = np.array([0, 1, 2]), np.array([1, 2, 1]), np.array([1.0, 2.0, 1.0])
    G = nx.DiGraph()
    G.add_nodes_from(range(4))
    G.add_weighted_edges_from(zip(src.tolist(), dst.tolist(), w.tolist()))
    pr = nx.pagerank(G, tol=1e-12, max_iter=1000)
    for method in ("power", "exact"):
        ref, _ = pagerank_reference(group, src, dst, w, tol=1e-12, max_iter=1000, method=method)
        np.testing.assert_allclose(ref, [pr[i] for i in range(4)], atol=1e-10)


def test_influence_at_dates_builds_the_graph_once_and_equals_date_by_date():
    import warnings

    from cxinfluence import make_village
    from cxinfluence.network.influence import influence_at_dates

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v, _ = make_village(25, seed=8, years=3)
        dates = ["2022-06-01", "2023-06-01", "2024-06-01"]
        power = {"method": "power", "tol": 1e-8, "max_iter": 1000}
        for opts in ({}, {"graph_share": 1.0, "role_weights": {"user": 3.0}, **power}):
            for got, d in zip(influence_at_dates(v, dates, **opts), dates):
                pd.testing.assert_frame_equal(got, influence_weights(v, d, **opts))
