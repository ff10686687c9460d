"""Tests of the structural measures (per stakeholder and per account)."""

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from cxinfluence.network import structure
from cxinfluence.network.structure import account_structure, portfolio_betweenness, stakeholder_structure
from cxinfluence.village.core import Village


def village(people, ties, accounts=None):
    s = pd.DataFrame(people)
    s["veto"] = s.get("veto", False)
    if "role" not in s:
        s["role"] = "user"
    r = pd.DataFrame(ties, columns=["source_id", "target_id", "kind"])
    acc = pd.DataFrame({"account_id": sorted(s["account_id"].unique()) if accounts is None else accounts})
    return Village(acc, s, r, pd.DataFrame(), pd.DataFrame())


@pytest.fixture
def plant():
    # pm at the top; sup reports to pm; op reports to sup AND (matrix) to pm; eng influences pm and op;
    # qa has no tie; x and y report to each other (bad data, a cycle)
    people = [dict(stakeholder_id=i, account_id="A", role=r, department=d, veto=vt)
              for i, r, d, vt in [("pm", "decider", "operations", True), ("sup", "user", "operations", False),
                                  ("op", "user", "operations", False), ("eng", "influencer", "engineering", False),
                                  ("qa", "gatekeeper", "quality", True), ("x", "buyer", "procurement", False),
                                  ("y", "user", "Procurement ", False)]]
    ties = [("sup", "pm", "reports_to"), ("op", "sup", "reports_to"), ("op", "pm", "reports_to"),
            ("eng", "pm", "influences"), ("eng", "op", "influences"), ("x", "y", "reports_to"),
            ("y", "x", "reports_to"), ("op", "sup", "influences")]
    return village(people, ties)


def test_stakeholder_measures_by_hand(plant):
    st = stakeholder_structure(plant).set_index("stakeholder_id")
    assert st.loc["pm", ["in_degree", "out_degree", "n_reports", "n_managers", "n_influenced_by"]].tolist() == [3, 0, 2, 0, 1]
    # op -> sup is both a reporting and an influence tie: one edge for degrees, counted in each kind
    assert st.loc["op", ["in_degree", "out_degree", "n_reports", "n_managers", "n_influences", "n_influenced_by"]].tolist() \
        == [1, 2, 0, 2, 1, 1]
    assert st.loc["eng", ["out_degree", "n_influences"]].tolist() == [2, 2]
    assert st.loc["qa", ["in_degree", "out_degree"]].tolist() == [0, 0]
    # hierarchy: longest chain op -> sup -> pm; no tie -> NaN; cycle -> NaN
    assert st.loc["pm", "hierarchy_level"] == 0 and st.loc["sup", "hierarchy_level"] == 1
    assert st.loc["op", "hierarchy_level"] == 2
    assert st[["hierarchy_level"]].loc[["eng", "qa", "x", "y"]].isna().all().all()


def test_betweenness_by_hand_and_against_networkx(plant):
    st = stakeholder_structure(plant).set_index("stakeholder_id")
    # endorsement graph: reports_to kept, influences reversed (eng -> pm becomes pm -> eng, ...)
    H = nx.DiGraph([("sup", "pm"), ("op", "sup"), ("op", "pm"), ("pm", "eng"), ("op", "eng"), ("sup", "op"),
                    ("x", "y"), ("y", "x")])
    H.add_node("qa")
    ref = pd.Series(nx.betweenness_centrality(H))
    assert np.abs(st.loc[ref.index, "betweenness"] - ref).max() < 1e-12
    # by hand: pm brokers sup->eng (1 of 2 shortest paths: sup->pm->eng, sup->op->eng), n = 7: /30
    assert st.loc["pm", "betweenness"] == pytest.approx(0.5 / 30)


def _random_portfolio(rng, sizes, ties_per_node=3):
    block = np.repeat(np.arange(len(sizes)), sizes)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    src, dst = [], []
    for a, n in enumerate(sizes):
        m = int(rng.integers(0, ties_per_node * n + 1))
        u, v = rng.integers(0, n, m), rng.integers(0, n, m)  # self-ties and repeats included
        src += list(starts[a] + u)
        dst += list(starts[a] + v)
    return block, starts, np.array(src, dtype=int), np.array(dst, dtype=int)


def _assert_networkx_betweenness(ours, block, starts, sizes, src, dst):
    for a, n in enumerate(sizes):
        G = nx.DiGraph()
        G.add_nodes_from(range(starts[a], starts[a] + n))
        G.add_edges_from((u, v) for u, v in zip(src, dst) if block[u] == a and u != v)
        ref = nx.betweenness_centrality(G)
        got = ours[starts[a]:starts[a] + n]
        assert np.abs(got - np.array([ref[i] for i in range(starts[a], starts[a] + n)])).max() < 1e-12, a


@pytest.mark.parametrize("dense_max, batch_cells", [(256, 250_000), (64, 250_000), (20, 300), (256, 1)])
def test_portfolio_betweenness_matches_networkx_including_large_accounts(monkeypatch, dense_max, batch_cells):
    # small DENSE_MAX: large accounts take networkx; small batches: one account (or a few) per batch
    monkeypatch.setattr(structure, "DENSE_MAX", dense_max)
    monkeypatch.setattr(structure, "_BATCH_CELLS", batch_cells)
    rng = np.random.default_rng(3)
    sizes = [1, 2, 3, 5, 9, 17, 25, 33, 70, 4]
    block, starts, src, dst = _random_portfolio(rng, sizes)
    _assert_networkx_betweenness(portfolio_betweenness(block, src, dst), block, starts, sizes, src, dst)


@pytest.mark.parametrize("seed", range(4))
def test_portfolio_betweenness_on_many_sparse_accounts(seed):
    # sparse ties give long, uneven searches: accounts finish at different levels and drop out of the batch
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 30, 60)
    block, starts, src, dst = _random_portfolio(rng, sizes, ties_per_node=2)
    _assert_networkx_betweenness(portfolio_betweenness(block, src, dst), block, starts, sizes, src, dst)


def test_portfolio_betweenness_on_long_chains():
    # a search as long as the account (every level stored) and one with shortcuts, beside small accounts
    sizes = [150, 4, 120, 3]
    block = np.repeat(np.arange(len(sizes)), sizes)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    chain = np.arange(149)
    src = np.r_[chain, 150, 151, starts[2] + np.arange(119), starts[2] + np.array([5, 40, 90])]
    dst = np.r_[chain + 1, 151, 152, starts[2] + np.arange(1, 120), starts[2] + np.array([60, 20, 119])]
    _assert_networkx_betweenness(portfolio_betweenness(block, src, dst), block, starts, sizes, src, dst)


def test_size_batches_respect_both_budgets(monkeypatch):
    monkeypatch.setattr(structure, "_BATCH_CELLS", 5_000)
    monkeypatch.setattr(structure, "_LEVEL_CELLS", 60_000)
    sizes = np.random.default_rng(0).integers(3, 60, 200)
    batches = list(structure._size_batches(sizes, np.arange(len(sizes))))
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(sizes)))
    for b in batches:
        rows, width = sizes[b].sum(), sizes[b].max()
        assert len(b) == 1 or (rows * width <= 5_000 and rows * width * width <= 60_000)


def test_typed_pairs_match_numpy_unique():
    rng = np.random.default_rng(5)
    src, dst = rng.integers(0, 30, 400), rng.integers(0, 30, 400)
    is_rep = rng.random(400) < 0.5
    got = structure._typed_pairs(src, dst, is_rep, 30)
    for (u, v), (s, d) in zip(got, [(src, dst), (src[is_rep], dst[is_rep]), (src[~is_rep], dst[~is_rep])]):
        key = np.unique(s * 30 + d)
        assert u.tolist() == (key // 30).tolist() and v.tolist() == (key % 30).tolist()


def test_account_dimensions_by_hand(plant):
    acc = account_structure(plant).iloc[0]
    assert acc["size"] == 7
    assert acc["n_departments"] == 4  # "Procurement " normalised
    assert acc["departments"] == "engineering;operations;procurement;quality"
    assert acc["vertical_levels"] == 3
    # ordered pairs: sup-pm, op-sup, op-pm, eng-pm, eng-op, x-y, y-x = 7 of 42
    assert acc["n_ties"] == 7 and acc["density"] == pytest.approx(7 / 42)
    # buyer x: degree 2 (in 1 + out 1) / (2 * 6)
    assert acc["buyer_centrality"] == pytest.approx(2 / 12)
    assert acc["n_components"] == 3 and acc["n_isolates"] == 1
    assert acc["n_roles"] == 5 and acc["n_veto"] == 2


def test_account_dimensions_against_networkx_and_degenerate_accounts():
    rng = np.random.default_rng(11)
    people, ties = [], []
    for a in range(30):
        n = int(rng.integers(1, 12))
        ids = [f"{a}_{i}" for i in range(n)]
        people += [dict(stakeholder_id=i, account_id=f"A{a:02d}", role=str(rng.choice(["buyer", "user"])))
                   for i in ids]
        for _ in range(int(rng.integers(0, 2 * n))):
            u, v = rng.integers(0, n, 2)
            if u != v:
                ties.append((ids[u], ids[v], str(rng.choice(["reports_to", "influences"]))))
    v = village(people, ties)
    acc = account_structure(v).set_index("account_id")
    s = v.stakeholders
    for a, grp in s.groupby("account_id"):
        G = nx.DiGraph()
        G.add_nodes_from(grp["stakeholder_id"])
        G.add_edges_from((x, y) for x, y, _ in ties if x in G and y in G)
        row = acc.loc[a]
        assert row["size"] == len(G) and row["n_ties"] == G.number_of_edges()
        assert row["n_components"] == nx.number_weakly_connected_components(G)
        if len(G) > 1:
            assert row["density"] == pytest.approx(nx.density(G))
        else:
            assert np.isnan(row["density"])  # one person: density undefined
        assert row["n_isolates"] == nx.number_of_isolates(G)


def test_departed_people_do_not_count():
    people = [dict(stakeholder_id="a", account_id="A", active_to=pd.Timestamp("2024-01-01")),
              dict(stakeholder_id="b", account_id="A", active_to=pd.NaT),
              dict(stakeholder_id="c", account_id="A", active_to=pd.NaT)]
    v = village(people, [("b", "a", "reports_to"), ("c", "b", "reports_to")])
    st = stakeholder_structure(v, "2024-06-01").set_index("stakeholder_id")
    assert list(st.index) == ["b", "c"]
    assert st.loc["b", "hierarchy_level"] == 0 and st.loc["b", "out_degree"] == 0
    before = stakeholder_structure(v, "2023-06-01").set_index("stakeholder_id")
    assert before.loc["a", "hierarchy_level"] == 0 and before.loc["c", "hierarchy_level"] == 2
    assert account_structure(v, "2024-06-01").iloc[0]["size"] == 2


def test_arrow_and_object_ids_give_identical_results():
    # Arrow-backed ids take the village's cached id rows; object ids are looked up among the people
    from cxinfluence.village.synth import make_village

    v, _ = make_village(40, seed=2, turnover_rate=0.3)
    obj = Village(v.accounts, v.stakeholders.astype({"stakeholder_id": object, "account_id": object}),
                  v.relationships.astype({"source_id": object, "target_id": object}), v.responses, v.outcomes)
    for as_of in (None, "2024-06-30"):
        pd.testing.assert_frame_equal(stakeholder_structure(v, as_of), stakeholder_structure(obj, as_of))
        pd.testing.assert_frame_equal(account_structure(v, as_of), account_structure(obj, as_of))


def test_repeated_id_ties_to_the_active_person():
    # "a" left and came back under the same id: ties go to the row active at as_of
    people = [dict(stakeholder_id="a", account_id="A", active_to=pd.Timestamp("2023-01-01")),
              dict(stakeholder_id="b", account_id="A", active_to=pd.NaT),
              dict(stakeholder_id="a", account_id="A", active_to=pd.NaT)]
    v = village(people, [("b", "a", "reports_to")])
    st = stakeholder_structure(v, "2024-06-01").set_index("stakeholder_id")
    assert st.loc["a", "n_reports"] == 1 and st.loc["b", "hierarchy_level"] == 1
