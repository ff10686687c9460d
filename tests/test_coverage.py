"""Coverage, account-manager books, listening plan and turnover what-if on tiny
hand-made villages whose every number is computed by hand in the comments."""

from __future__ import annotations

import copy
import math
import warnings

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from cxinfluence.listening import (
    DUNBAR_NUMBER,
    TurnoverWhatIf,
    coverage,
    coverage_and_plan,
    listening_plan,
    manager_books,
    turnover_what_if,
)
from cxinfluence.exceptions import CoverageError
from cxinfluence.village.core import Village

AS_OF = pd.Timestamp("2024-07-01")  # window [2023-07-02, 2024-07-01) with window_days=365
T = pd.Timestamp
NAT = pd.NaT


def make_village(stakeholders, responses=(), relationships=(), accounts=None):
    """Village from lists of dicts; role and veto already filled, dates typed."""
    s = pd.DataFrame(stakeholders)
    for col in ("active_from", "active_to"):
        s[col] = pd.to_datetime(s[col]) if col in s else pd.Series(NAT, index=s.index, dtype="datetime64[ns]")
    s["veto"] = s["veto"].astype(bool)
    r = pd.DataFrame(list(responses), columns=["stakeholder_id", "date", "nps"])
    r["date"] = pd.to_datetime(r["date"])
    rel = pd.DataFrame(list(relationships), columns=["source_id", "target_id", "kind"])
    rel["weight"] = 1.0
    if accounts is None:
        accounts = pd.DataFrame({"account_id": sorted(s["account_id"].unique())})
    return Village(accounts=accounts, stakeholders=s, relationships=rel, responses=r,
                   outcomes=pd.DataFrame({"account_id": pd.Series(dtype=object),
                                          "period_end": pd.Series(dtype="datetime64[ns]"),
                                          "renewed": pd.Series(dtype=float)}))


def person(sid, acc, role, veto=None, rating=3.0, active_from=NAT, active_to=NAT):
    veto = role in ("decider", "gatekeeper") if veto is None else veto
    return dict(stakeholder_id=sid, account_id=acc, role=role, veto=veto, influence_rating=rating,
                active_from=active_from, active_to=active_to)


def by_rating(village, as_of):
    """A hand-checkable influence: influence_rating over the account's active people."""
    from cxinfluence.village.asof import active_mask

    s = village.stakeholders
    s = s.loc[active_mask(s, as_of)]
    return s[["account_id", "stakeholder_id"]].assign(
        influence=s["influence_rating"] / s.groupby("account_id")["influence_rating"].transform("sum"))


def equal_weights(village, as_of):
    from cxinfluence.village.asof import active_mask

    s = village.stakeholders
    s = s.loc[active_mask(s, as_of)]
    return s[["account_id", "stakeholder_id"]].assign(
        influence=1.0 / s.groupby("account_id")["stakeholder_id"].transform("size"))


@pytest.fixture
def village():
    # A: a1 decider (veto), a2 buyer, a3 user, a4 gatekeeper (veto); a5 influencer left 2024-03-01;
    #    a6 joins after as_of (not active).
    # B: one user, never heard.  C: c1 gives 4 of the 5 window responses.
    # D: everyone left (d1 inside the window, d2 long ago).  E: no stakeholders at all.
    people = [
        person("a1", "A", "decider", rating=5), person("a2", "A", "buyer", rating=2),
        person("a3", "A", "user", rating=1), person("a4", "A", "gatekeeper", rating=2),
        person("a5", "A", "influencer", rating=4, active_to="2024-03-01"),
        person("a6", "A", "influencer", active_from="2024-08-01"),
        person("b1", "B", "user"),
        person("c1", "C", "buyer", rating=4), person("c2", "C", "user", rating=1),
        person("d1", "D", "decider", active_to="2024-01-01"),
        person("d2", "D", "user", active_to="2020-01-01"),
    ]
    responses = [
        ("a1", "2024-07-01", 9),   # exactly on as_of: must not count
        ("a2", "2024-05-01", 8), ("a2", "2024-06-01", 7), ("a3", "2024-02-01", 6),
        ("a4", "2023-01-15", 3),   # veto holder heard only outside the window
        ("a5", "2024-01-10", 10),  # departed person: not part of the village at as_of
        ("a6", "2024-06-15", 10),  # not yet joined at as_of
        ("c1", "2024-01-01", 9), ("c1", "2024-02-01", 9), ("c1", "2024-03-01", 9), ("c1", "2024-04-01", 9),
        ("c2", "2024-04-02", 5),
        ("d1", "2023-12-01", 2),
    ]
    ties = [("a2", "a1", "reports_to"), ("a3", "a2", "reports_to"), ("a4", "a1", "reports_to"),
            ("a5", "a1", "influences"), ("c2", "c1", "reports_to")]
    accounts = pd.DataFrame({"account_id": ["A", "B", "C", "D", "E"],
                             "owner": ["kim", "kim", "kim", "lee", None],
                             "annual_revenue": [50.0, 30.0, 20.0, 100.0, np.nan]})
    return make_village(people, responses, ties, accounts)


INFLUENCE = pd.DataFrame({
    "stakeholder_id": ["a1", "a2", "a3", "a4", "b1", "c1", "c2"],
    "influence": [0.4, 0.25, 0.15, 0.2, 1.0, 0.7, 0.3],
})


def snapshot(v):
    return {name: df.copy(deep=True) for name, df in v.tables().items()}


def assert_unchanged(v, before):
    for name, df in v.tables().items():
        pd.testing.assert_frame_equal(df, before[name])


# ----------------------------------------------------------------------------- coverage

def test_coverage_hand_computed(village):
    before = snapshot(village)
    cov = coverage(village, AS_OF, influence=INFLUENCE, influence_fn=by_rating).set_index("account_id")
    assert_unchanged(village, before)
    assert cov.index.tolist() == ["A", "B", "C", "D", "E"]

    a = cov.loc["A"]
    assert a["n_stakeholders"] == 4                      # a5 left, a6 not yet joined
    assert a["n_responders"] == 2                        # a2, a3 (a1 on as_of, a4 outside window)
    assert a["heard_influence"] == pytest.approx(0.25 + 0.15)
    assert a["veto_holders"] == 2
    assert a["unheard_veto"] == 2 and a["unheard_veto_ids"] == "a1;a4"
    assert a["top_responder_share"] == pytest.approx(2 / 3)  # a2 gave 2 of 3 window responses
    assert not a["single_threaded"]
    assert a["missing_roles"] == "influencer"            # the influencer left; a6 not yet there
    assert a["departed"] == 1 and a["departed_ids"] == "a5"
    # a5 the instant before 2024-03-01: ratings a1..a5 = 5,2,1,2,4 -> a5 = 4/14, rank 2 of 5;
    # key_top=0.2 -> top ceil(1) = 1 person -> not a key influencer
    assert a["departed_max_influence"] == pytest.approx(4 / 14)
    assert not a["key_influencer_departed"]
    assert a["last_heard"] == T("2024-06-01")            # the as_of response is excluded

    b = cov.loc["B"]                                     # account with no responses
    assert (b["n_stakeholders"], b["n_responders"], b["heard_influence"]) == (1, 0, 0.0)
    assert not b["single_threaded"] and math.isnan(b["top_responder_share"])
    assert b["missing_roles"] == "decider;buyer;influencer;gatekeeper"
    assert pd.isna(b["last_heard"]) and b["unheard_veto_ids"] == ""

    c = cov.loc["C"]                                     # 4 of 5 responses from c1 = 0.8 -> single-threaded
    assert c["n_responders"] == 2 and c["heard_influence"] == pytest.approx(1.0)
    assert c["top_responder_share"] == pytest.approx(0.8) and c["single_threaded"]

    d = cov.loc["D"]                                     # everyone departed
    assert d["n_stakeholders"] == 0 and d["n_responders"] == 0 and math.isnan(d["heard_influence"])
    assert d["departed"] == 1 and d["departed_ids"] == "d1"  # d2 left before the window
    assert d["missing_roles"] == "decider;buyer;user;influencer;gatekeeper"
    assert d["key_influencer_departed"]                  # d1 was alone at the end: rank 1 of 1
    assert d["departed_max_influence"] == pytest.approx(1.0)

    e = cov.loc["E"]                                     # account with no stakeholder at all
    assert e["n_stakeholders"] == 0 and e["departed"] == 0 and not e["key_influencer_departed"]
    assert math.isnan(e["departed_max_influence"])


def test_coverage_columns_and_types(village):
    cov = coverage(village, AS_OF, influence=INFLUENCE, influence_fn=by_rating)
    assert list(cov.columns) == [
        "account_id", "as_of", "n_stakeholders", "n_responders", "heard_influence", "veto_holders",
        "unheard_veto", "unheard_veto_ids", "single_threaded", "top_responder_share", "missing_roles",
        "departed", "departed_ids", "key_influencer_departed", "departed_max_influence", "last_heard"]
    assert (cov["as_of"] == AS_OF).all()
    assert cov["single_threaded"].dtype == bool and cov["key_influencer_departed"].dtype == bool
    assert cov["n_stakeholders"].dtype.kind == "i"


def test_key_top_and_unlimited_window(village):
    cov = coverage(village, AS_OF, influence=INFLUENCE, influence_fn=by_rating, key_top=0.4,
                   window_days=None).set_index("account_id")
    # key_top=0.4 of 5 people -> top 2: a5 (rank 2) is now a key influencer
    assert cov.loc["A", "key_influencer_departed"]
    # unlimited window: d2 (left 2020) counts; a4's 2023 response now counts as heard
    assert cov.loc["D", "departed"] == 2 and cov.loc["D", "departed_ids"] == "d1;d2"
    assert cov.loc["A", "unheard_veto_ids"] == "a1"
    assert cov.loc["A", "heard_influence"] == pytest.approx(0.25 + 0.15 + 0.2)


def test_window_boundaries(village):
    # window_days=151: window [2024-02-01, 2024-07-01) -> a3's 2024-02-01 response is just inside
    cov = coverage(village, AS_OF, window_days=151, influence=INFLUENCE, influence_fn=by_rating)
    assert cov.set_index("account_id").loc["A", "n_responders"] == 2
    cov = coverage(village, AS_OF, window_days=150, influence=INFLUENCE, influence_fn=by_rating)
    a = cov.set_index("account_id").loc["A"]
    assert a["n_responders"] == 1 and a["single_threaded"]  # only a2 left: one contact
    # the day after: a1's as_of response now counts
    cov = coverage(village, AS_OF + pd.Timedelta(days=1), influence=INFLUENCE, influence_fn=by_rating)
    assert cov.set_index("account_id").loc["A", "unheard_veto_ids"] == "a4"


def test_single_thread_share_threshold(village):
    cov = coverage(village, AS_OF, influence=INFLUENCE, influence_fn=by_rating, single_thread_share=0.81)
    assert not cov.set_index("account_id").loc["C", "single_threaded"]
    cov = coverage(village, AS_OF, influence=INFLUENCE, influence_fn=by_rating, single_thread_share=0.6)
    assert cov.set_index("account_id").loc["A", "single_threaded"]  # 2/3 >= 0.6


def test_influence_renormalised_over_active_people(village):
    # a table that also holds a departed person and does not sum to 1 over the active ones
    w = pd.concat([INFLUENCE.assign(influence=INFLUENCE["influence"] * 3),
                   pd.DataFrame({"stakeholder_id": ["a5"], "influence": [9.0]})])
    cov = coverage(village, AS_OF, influence=w, influence_fn=by_rating).set_index("account_id")
    assert cov.loc["A", "heard_influence"] == pytest.approx(0.4)


def test_departed_key_influencer_with_real_influence_weights():
    from cxinfluence.network.influence import influence_weights

    # m manages everyone and leaves on 2024-05-01; r1..r3 report to m.
    people = [person("m", "A", "decider", active_to="2024-05-01"), person("r1", "A", "user"),
              person("r2", "A", "user"), person("r3", "A", "buyer")]
    ties = [("r1", "m", "reports_to"), ("r2", "m", "reports_to"), ("r3", "m", "reports_to")]
    v = make_village(people, [("r1", "2024-06-01", 9)], ties)
    before = snapshot(v)
    cov = coverage(v, AS_OF).iloc[0]
    assert_unchanged(v, before)
    # independent: influence_weights on the village the day before m left
    then = influence_weights(v, "2024-04-30").set_index("stakeholder_id")["influence"]
    assert then.idxmax() == "m"
    assert cov["departed_ids"] == "m" and cov["key_influencer_departed"]
    assert cov["departed_max_influence"] == pytest.approx(then["m"], abs=1e-12)
    now = influence_weights(v, AS_OF).set_index("stakeholder_id")["influence"]
    assert cov["heard_influence"] == pytest.approx(now["r1"], abs=1e-12)


def test_coverage_errors(village):
    with pytest.raises(CoverageError, match="window_days=0"):
        coverage(village, AS_OF, window_days=0, influence=INFLUENCE)
    with pytest.raises(CoverageError, match="single_thread_share=1.5"):
        coverage(village, AS_OF, influence=INFLUENCE, single_thread_share=1.5)
    with pytest.raises(CoverageError, match=r"no value for 1 active stakeholder.*'b1'"):
        coverage(village, AS_OF, influence=INFLUENCE[INFLUENCE["stakeholder_id"] != "b1"], influence_fn=by_rating)
    with pytest.raises(CoverageError, match="more than once"):
        coverage(village, AS_OF, influence=pd.concat([INFLUENCE, INFLUENCE.head(1)]), influence_fn=by_rating)
    with pytest.raises(CoverageError, match="influence has columns"):
        coverage(village, AS_OF, influence=INFLUENCE.rename(columns={"influence": "w"}))
    with pytest.raises(CoverageError, match="not a Village"):
        coverage({"accounts": None}, AS_OF, influence=INFLUENCE)
    with pytest.raises(ValueError, match="as_of='soon'"):
        coverage(village, "soon", influence=INFLUENCE)


def test_coverage_everyone_departed_everywhere():
    v = make_village([person("x", "X", "decider", active_to="2024-01-01")], [("x", "2023-12-01", 9)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cov = coverage(v, AS_OF, influence=pd.DataFrame({"stakeholder_id": [], "influence": []}),
                       influence_fn=equal_weights).iloc[0]
    assert cov["n_stakeholders"] == 0 and math.isnan(cov["heard_influence"])
    assert cov["departed"] == 1 and cov["key_influencer_departed"] and pd.isna(cov["last_heard"])


# ----------------------------------------------------------------------------- manager books

def gini_pairs(x):
    """Independent Gini: mean absolute difference over all ordered pairs / (2 * mean)."""
    x = np.asarray(x, float)
    return np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean())


def test_manager_books_hand_computed(village):
    before = snapshot(village)
    books = manager_books(village, AS_OF, capacity=5).set_index("owner", drop=False)
    assert_unchanged(village, before)
    kim = books.loc["kim"]
    assert kim["accounts"] == 3
    assert kim["active_relationships"] == 4 + 1 + 2     # A, B, C active people
    assert kim["heard_relationships"] == 2 + 0 + 2
    assert kim["accounts_unheard"] == 1                 # B
    assert kim["capacity_share"] == pytest.approx(7 / 5) and kim["over_capacity"]
    assert kim["revenue"] == 100 and kim["top_accounts"] == 1  # ceil(0.2 * 3) = 1
    assert kim["top_revenue_share"] == pytest.approx(0.5)
    # sorted 20, 30, 50: G = 2 (20 + 60 + 150) / (3 * 100) - 4/3 = 0.2
    assert kim["gini"] == pytest.approx(0.2) and kim["gini"] == pytest.approx(gini_pairs([50, 30, 20]))
    lee = books.loc["lee"]
    assert lee["active_relationships"] == 0 and lee["accounts_unheard"] == 1
    assert lee["gini"] == pytest.approx(0.0) and lee["top_revenue_share"] == pytest.approx(1.0)
    # the account without an owner gets its own row; its revenue is unknown
    unassigned = books[books["owner"].isna()].iloc[0]
    assert unassigned["accounts"] == 1 and unassigned["revenue_accounts"] == 0
    assert math.isnan(unassigned["gini"]) and math.isnan(unassigned["top_revenue_share"])
    assert books["owner"].tolist()[0] == "kim"          # sorted by load


def test_manager_books_default_capacity_is_dunbar(village):
    books = manager_books(village, AS_OF)
    assert DUNBAR_NUMBER == 150 and (books["capacity"] == 150).all()
    assert not books["over_capacity"].any()


def test_manager_books_concentration_random_books():
    rng = np.random.default_rng(7)
    n = 15  # 0.2 * 15 = 3.0000000000000004 in floating point: must still be the top 3
    revenue = rng.lognormal(3, 1.2, n)
    accounts = pd.DataFrame({"account_id": [f"A{i}" for i in range(n)], "owner": "kim",
                             "annual_revenue": revenue})
    v = make_village([person(f"p{i}", f"A{i}", "user") for i in range(n)], accounts=accounts)
    book = manager_books(v, AS_OF).iloc[0]
    assert book["top_accounts"] == 3
    assert book["top_revenue_share"] == pytest.approx(np.sort(revenue)[-3:].sum() / revenue.sum(), rel=1e-12)
    assert book["gini"] == pytest.approx(gini_pairs(revenue), rel=1e-12)


def test_manager_books_errors(village):
    with pytest.raises(CoverageError, match="capacity=0"):
        manager_books(village, AS_OF, capacity=0)
    v = copy.copy(village)
    v.accounts = village.accounts.drop(columns="owner")
    with pytest.raises(CoverageError, match="owner='owner' is not a column of accounts"):
        manager_books(v, AS_OF)


# ----------------------------------------------------------------------------- listening plan

def test_listening_plan_hand_computed(village):
    before = snapshot(village)
    plan = listening_plan(village, AS_OF, influence=INFLUENCE)
    assert_unchanged(village, before)
    a = plan[plan["account_id"] == "A"]
    # unheard: a1 (veto, 0.4, only heard on as_of -> never before), a4 (veto, 0.2, heard 2023-01-15)
    assert a["stakeholder_id"].tolist() == ["a1", "a4"]
    assert a["rank"].tolist() == [1, 2]
    assert a["heard_influence_before"].tolist() == pytest.approx([0.4, 0.4])
    assert a["heard_influence_after"].tolist() == pytest.approx([0.8, 1.0])
    assert a["unheard_veto_after"].tolist() == [1, 0]
    assert pd.isna(a["last_heard"].iloc[0]) and a["last_heard"].iloc[1] == T("2023-01-15")
    assert "never heard" in a["reason"].iloc[0] and "veto holder" in a["reason"].iloc[0]
    assert "last heard 2023-01-15" in a["reason"].iloc[1]
    b = plan[plan["account_id"] == "B"]
    assert b["stakeholder_id"].tolist() == ["b1"] and b["heard_influence_after"].tolist() == [1.0]
    assert set(plan["account_id"]) == {"A", "B"}        # C fully heard; D, E have nobody active


def test_listening_plan_order_and_truncation():
    # veto holder v (0.1) before richer non-veto people; equal influence: never-heard n before old o
    people = [person("v", "A", "gatekeeper"), person("big", "A", "user", veto=False),
              person("o", "A", "user"), person("n", "A", "user"), person("h", "A", "buyer")]
    v = make_village(people, [("o", "2020-01-01", 5), ("h", "2024-06-30", 9)])
    w = pd.DataFrame({"stakeholder_id": ["v", "big", "o", "n", "h"], "influence": [0.1, 0.4, 0.2, 0.2, 0.1]})
    plan = listening_plan(v, AS_OF, influence=w, per_account=None)
    assert plan["stakeholder_id"].tolist() == ["v", "big", "n", "o"]
    assert plan["heard_influence_after"].tolist() == pytest.approx([0.2, 0.6, 0.8, 1.0])
    short = listening_plan(v, AS_OF, influence=w, per_account=2)
    assert short["stakeholder_id"].tolist() == ["v", "big"]
    with pytest.raises(CoverageError, match="per_account=0"):
        listening_plan(v, AS_OF, influence=w, per_account=0)


# ----------------------------------------------------------------------------- turnover what-if

def test_turnover_remove_list_matches_recomputation(village):
    from cxinfluence.network.influence import influence_weights

    before = snapshot(village)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # accounts D and E have nobody active
        acc, people = turnover_what_if(village, AS_OF, remove=["a1"])
        assert_unchanged(village, before)
        # independent: drop a1 from the tables and recompute
        dropped = copy.copy(village)
        dropped.stakeholders = village.stakeholders[village.stakeholders["stakeholder_id"] != "a1"]
        expected_after = influence_weights(dropped, AS_OF).set_index("stakeholder_id")["influence"]
        expected_before = influence_weights(village, AS_OF).set_index("stakeholder_id")["influence"]
    p = people.set_index("stakeholder_id")
    assert p.loc["a1", "removed"] and math.isnan(p.loc["a1", "influence_after"])
    for sid in ("a2", "a3", "a4"):
        assert p.loc[sid, "influence_after"] == pytest.approx(expected_after[sid], abs=1e-12)
        assert p.loc[sid, "influence_before"] == pytest.approx(expected_before[sid], abs=1e-12)
    a = acc.set_index("account_id").loc["A"]
    assert a["scenario"] == "removed" and a["n_removed"] == 1 and a["removed_ids"] == "a1"
    assert a["removed_influence"] == pytest.approx(expected_before["a1"], abs=1e-12)
    assert a["heard_influence_before"] == pytest.approx(expected_before[["a2", "a3"]].sum(), abs=1e-12)
    assert a["heard_influence_after"] == pytest.approx(expected_after[["a2", "a3"]].sum(), abs=1e-12)
    assert (a["n_stakeholders_before"], a["n_stakeholders_after"]) == (4, 3)
    assert (a["unheard_veto_before"], a["unheard_veto_after"]) == (2, 1)
    assert a["missing_roles_after"] == "decider;influencer"
    # other accounts are untouched
    c = acc.set_index("account_id").loc["C"]
    assert c["heard_influence_before"] == pytest.approx(c["heard_influence_after"])
    assert c["n_removed"] == 0


def test_single_points_of_failure_hand_drawn():
    # chain p1 - p2 - p3 - p4 (articulation points p2, p3) plus isolated p5;
    # only p4 heard -> p4 carries all heard influence (> 0.5)
    people = [person(f"p{i}", "A", "user") for i in range(1, 6)]
    ties = [("p1", "p2", "reports_to"), ("p3", "p2", "influences"), ("p3", "p4", "reports_to")]
    v = make_village(people, [("p4", "2024-06-01", 9)], ties)
    acc, people_t = turnover_what_if(v, AS_OF, influence_fn=equal_weights)
    p = people_t.set_index("stakeholder_id")
    assert p["articulation_point_before"].to_dict() == {"p1": False, "p2": True, "p3": True, "p4": False, "p5": False}
    G = nx.Graph([("p1", "p2"), ("p3", "p2"), ("p3", "p4")])
    assert set(nx.articulation_points(G)) == {"p2", "p3"}
    assert acc.loc[0, "spof_ids_before"] == "p2;p3;p4" and acc.loc[0, "n_spof_before"] == 3
    assert acc.loc[0, "scenario"] == "none" and acc.loc[0, "spof_ids_after"] == "p2;p3;p4"
    assert (people_t["influence_change"] == 0).all()

    # remove p3: chain p1 - p2 left; no articulation point in a 2-node path; p4 still the only voice
    acc2, people2 = turnover_what_if(v, AS_OF, remove=["p3"], influence_fn=equal_weights)
    q = people2.set_index("stakeholder_id")
    assert not q["articulation_point_after"].any()
    assert acc2.loc[0, "spof_ids_after"] == "p4"
    assert q.loc["p1", "influence_after"] == pytest.approx(0.25) and q.loc["p1", "influence_before"] == pytest.approx(0.2)


def test_spof_share_threshold():
    # two heard people with influence 0.6 and 0.4 (no ties): 0.6 > 0.5 -> SPOF; with 0.7 threshold, nobody
    v = make_village([person("x", "A", "user"), person("y", "A", "user")],
                     [("x", "2024-06-01", 9), ("y", "2024-06-01", 9)])
    fn = lambda village, as_of: pd.DataFrame({"account_id": ["A", "A"], "stakeholder_id": ["x", "y"],  # noqa: E731
                                              "influence": [0.6, 0.4]})
    assert turnover_what_if(v, AS_OF, influence_fn=fn).accounts.loc[0, "spof_ids_before"] == "x"
    assert turnover_what_if(v, AS_OF, influence_fn=fn, spof_share=0.7).accounts.loc[0, "spof_ids_before"] == ""


def test_turnover_departed_restores_recent_leavers(village):
    before = snapshot(village)
    acc, people = turnover_what_if(village, AS_OF, remove="departed", influence_fn=by_rating)
    assert_unchanged(village, before)
    acc = acc.set_index("account_id")
    p = people.set_index("stakeholder_id")
    # A: a5 (rating 4) restored before; ratings a1..a5 = 5,2,1,2,4 (sum 14)
    assert acc.loc["A", "removed_ids"] == "a5"
    assert acc.loc["A", "removed_influence"] == pytest.approx(4 / 14)
    assert p.loc["a1", "influence_before"] == pytest.approx(5 / 14)
    assert p.loc["a1", "influence_after"] == pytest.approx(5 / 10)
    assert p.loc["a1", "influence_change"] == pytest.approx(5 / 10 - 5 / 14)
    # a5 was heard (2024-01-10) while present: heard before = a2 + a3 + a5 = (2 + 1 + 4) / 14
    assert acc.loc["A", "heard_influence_before"] == pytest.approx(7 / 14)
    assert acc.loc["A", "heard_influence_after"] == pytest.approx(3 / 10)
    assert acc.loc["A", "missing_roles_before"] == "" and acc.loc["A", "missing_roles_after"] == "influencer"
    # D: d1 restored (left in window), d2 not (left 2020)
    assert acc.loc["D", "n_stakeholders_before"] == 1 and acc.loc["D", "n_stakeholders_after"] == 0
    assert "d2" not in p.index
    assert (acc["scenario"] == "departed").all()


def test_turnover_errors(village):
    with pytest.raises(CoverageError, match=r"not in the village, e.g. \['zz'\]"):
        turnover_what_if(village, AS_OF, remove=["a1", "zz"], influence_fn=by_rating)
    with pytest.raises(CoverageError, match="remove='everyone'"):
        turnover_what_if(village, AS_OF, remove="everyone", influence_fn=by_rating)
    with pytest.raises(CoverageError, match="influence_fn=3"):
        turnover_what_if(village, AS_OF, influence_fn=3)


def test_turnover_result_is_named_tuple(village):
    res = turnover_what_if(village, AS_OF, remove=("b1",), influence_fn=by_rating)
    assert isinstance(res, TurnoverWhatIf)
    b = res.accounts.set_index("account_id").loc["B"]
    assert b["n_stakeholders_after"] == 0 and math.isnan(b["heard_influence_after"])
    assert b["removed_influence"] == pytest.approx(1.0)


def test_turnover_accounts_subset_gives_same_figures(village):
    full = turnover_what_if(village, AS_OF, remove=["a1", "c2"], influence_fn=by_rating)
    part = turnover_what_if(village, AS_OF, remove=["a1", "c2"], influence_fn=by_rating, accounts=["C", "A"])
    assert part.accounts["account_id"].tolist() == ["A", "C"]
    pd.testing.assert_frame_equal(part.accounts, full.accounts[full.accounts["account_id"].isin(["A", "C"])]
                                  .reset_index(drop=True))
    pd.testing.assert_frame_equal(part.stakeholders, full.stakeholders[full.stakeholders["account_id"]
                                  .isin(["A", "C"])].reset_index(drop=True))
    with pytest.raises(CoverageError, match=r"accounts lists 1 account id\(s\) not in the village, e.g. \['Z'\]"):
        turnover_what_if(village, AS_OF, influence_fn=by_rating, accounts=["A", "Z"])


def random_portfolio(seed, n_accounts=40):
    rng = np.random.default_rng(seed)
    roles = ["decider", "buyer", "user", "influencer", "gatekeeper"]
    people, responses, ties = [], [], []
    for a in range(n_accounts):
        n = int(rng.integers(1, 9))
        ids = [f"s{a}_{i}" for i in range(n)]
        for sid in ids:
            left = rng.random() < 0.25
            active_to = AS_OF - pd.Timedelta(days=int(rng.integers(0, 700))) if left else NAT
            people.append(person(sid, f"A{a}", roles[rng.integers(0, 5)], veto=bool(rng.random() < 0.3),
                                 rating=float(rng.integers(1, 6)), active_to=active_to))
            for _ in range(int(rng.poisson(1.2))):
                responses.append((sid, AS_OF - pd.Timedelta(days=int(rng.integers(-20, 600))), 7))
        for _ in range(int(rng.integers(0, 2 * n))):
            u, w = rng.choice(ids, 2)
            ties.append((u, w, ["reports_to", "influences"][rng.integers(0, 2)]))
    return make_village(people, responses, ties)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_coverage_matches_naive_per_account_loop(seed):
    v = random_portfolio(seed)
    cov = coverage(v, AS_OF, influence_fn=by_rating).set_index("account_id")
    s, r = v.stakeholders, v.responses
    active = s[s["active_to"].isna() | (s["active_to"] > AS_OF)]
    w = by_rating(v, AS_OF).set_index("stakeholder_id")["influence"]
    lo = AS_OF - pd.Timedelta(days=365)
    for acc, row in cov.iterrows():  # the slow, obvious computation
        people = active[active["account_id"] == acc]
        ids = set(people["stakeholder_id"])
        recent = r[r["stakeholder_id"].isin(ids) & (r["date"] >= lo) & (r["date"] < AS_OF)]
        heard = set(recent["stakeholder_id"])
        assert row["n_stakeholders"] == len(ids) and row["n_responders"] == len(heard)
        if ids:
            assert row["heard_influence"] == pytest.approx(sum(w[i] for i in heard) / sum(w[i] for i in ids))
        else:
            assert math.isnan(row["heard_influence"])
        vetoes = set(people.loc[people["veto"], "stakeholder_id"])
        assert row["unheard_veto_ids"] == ";".join(sorted(vetoes - heard))
        counts = recent["stakeholder_id"].value_counts()
        single = len(heard) == 1 or (len(counts) > 0 and counts.max() / counts.sum() >= 0.8)
        assert row["single_threaded"] == single
        assert row["missing_roles"] == ";".join(x for x in ("decider", "buyer", "user", "influencer", "gatekeeper")
                                                if x not in set(people["role"]))
        left = s[(s["account_id"] == acc) & s["active_to"].notna() & (s["active_to"] <= AS_OF)
                 & (s["active_to"] >= lo)]
        assert row["departed_ids"] == ";".join(sorted(left["stakeholder_id"]))
        last = r[r["stakeholder_id"].isin(ids) & (r["date"] < AS_OF)]["date"].max()
        assert (pd.isna(last) and pd.isna(row["last_heard"])) or last == row["last_heard"]
        # key influencer: recompute each departure on the village at the instant before it
        key = False
        for _, p in left.iterrows():
            instant = p["active_to"] - pd.Timedelta(1, "ns")
            then = s[(s["account_id"] == acc) & (s["active_to"].isna() | (s["active_to"] > instant))]
            shares = then.set_index("stakeholder_id")["influence_rating"] / then["influence_rating"].sum()
            top = max(1, math.ceil(round(0.2 * len(then), 9)))
            key |= bool((shares > shares[p["stakeholder_id"]]).sum() < top)
        assert row["key_influencer_departed"] == key


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_coverage_and_plan_equal_the_two_calls(seed):
    # the run's one pass: both tables exactly as coverage() and listening_plan() give them, with departures (the
    # coverage's ids resolved with the ties), the influence computed by default or given, and per_account passed
    v = random_portfolio(seed)
    for kw in ({"influence_fn": by_rating}, {"influence": by_rating(v, AS_OF)}, {}):
        for per in (3, 1, None):
            cov, plan = coverage_and_plan(v, AS_OF, per_account=per, window_days=200, **kw)
            pd.testing.assert_frame_equal(cov, coverage(v, AS_OF, window_days=200, **kw))
            pd.testing.assert_frame_equal(plan, listening_plan(v, AS_OF, per_account=per, window_days=200, **kw))
    bare = make_village([person("x", "X", "decider"), person("y", "X", "user", active_to="2024-03-01")])
    bare.relationships, bare.responses = pd.DataFrame(), pd.DataFrame()
    cov, plan = coverage_and_plan(bare, AS_OF, influence_fn=equal_weights)
    pd.testing.assert_frame_equal(cov, coverage(bare, AS_OF, influence_fn=equal_weights))
    pd.testing.assert_frame_equal(plan, listening_plan(bare, AS_OF, influence_fn=equal_weights))
    with pytest.raises(CoverageError, match="per_account=0"):
        coverage_and_plan(v, AS_OF, per_account=0)


@pytest.mark.parametrize("seed", [4, 5])
def test_articulation_points_match_networkx_per_account(seed):
    v = random_portfolio(seed, n_accounts=60)
    _, people = turnover_what_if(v, AS_OF, influence_fn=equal_weights)
    s, rel = v.stakeholders, v.relationships
    active = set(s.loc[s["active_to"].isna() | (s["active_to"] > AS_OF), "stakeholder_id"])
    expected = set()
    for acc, grp in s.groupby("account_id"):
        ids = set(grp["stakeholder_id"]) & active
        G = nx.Graph()
        G.add_edges_from((u, w) for u, w in zip(rel["source_id"], rel["target_id"]) if u in ids and w in ids and u != w)
        expected |= set(nx.articulation_points(G))
    assert set(people.loc[people["articulation_point_before"], "stakeholder_id"]) == expected
    assert len(expected) > 0  # the random portfolios do contain some


def test_person_who_left_the_day_they_joined():
    v = make_village([person("x", "X", "user"),
                      person("y", "X", "decider", active_from="2024-02-01", active_to="2024-02-01")])
    cov = coverage(v, AS_OF, influence_fn=equal_weights).iloc[0]
    assert cov["departed_ids"] == "y" and not cov["key_influencer_departed"]
    assert math.isnan(cov["departed_max_influence"])


def test_village_without_ties_or_feedback():
    v = make_village([person("x", "X", "decider"), person("y", "X", "user")])
    v.relationships = pd.DataFrame()
    v.responses = pd.DataFrame()
    cov = coverage(v, AS_OF, influence_fn=equal_weights).iloc[0]
    assert (cov["n_stakeholders"], cov["n_responders"], cov["heard_influence"]) == (2, 0, 0.0)
    plan = listening_plan(v, AS_OF, influence_fn=equal_weights)
    assert plan["stakeholder_id"].tolist() == ["x", "y"]  # the veto holder first
    acc, people = turnover_what_if(v, AS_OF, remove=["x"], influence_fn=equal_weights)
    assert acc.loc[0, "spof_ids_before"] == "" and people.set_index("stakeholder_id").loc["y", "influence_after"] == 1.0
    v.accounts = v.accounts.assign(owner="kim", annual_revenue=np.nan)
    book = manager_books(v, AS_OF).iloc[0]
    assert (book["active_relationships"], book["heard_relationships"], book["accounts_unheard"]) == (2, 0, 1)
    assert book["revenue_accounts"] == 0 and math.isnan(book["gini"])


def _as_object_ids(village):
    """The same village with every text column as Python objects (the pandas path
    instead of the pyarrow one the Arrow-backed ``str`` columns take)."""
    def obj(d):
        return d.astype({c: object for c in d.columns if isinstance(d[c].dtype, pd.StringDtype)})

    return Village(accounts=obj(village.accounts), stakeholders=obj(village.stakeholders),
                   relationships=obj(village.relationships), responses=obj(village.responses),
                   outcomes=village.outcomes)


def test_arrow_and_object_ids_give_identical_results():
    """The fast paths (pyarrow lookups, influence table in stakeholder order, one
    lookup per run of repeated account ids) against the plain pandas ones, on a
    synthetic portfolio with departures, unknown speakers and ties to strangers."""
    from cxinfluence.network.influence import influence_weights
    from cxinfluence.village.synth import make_village as synth_village

    v, _ = synth_village(60, seed=4, waves_per_year=3)
    r = v.responses.copy()
    r.loc[r.index[:3], "stakeholder_id"] = "nobody"
    rel = v.relationships.copy()
    rel.loc[rel.index[:2], "target_id"] = "nobody"
    v = Village(accounts=v.accounts, stakeholders=v.stakeholders, relationships=rel, responses=r, outcomes=v.outcomes)
    as_of = pd.Timestamp("2026-01-01")
    infl = influence_weights(v, as_of)
    assert isinstance(v.stakeholders["stakeholder_id"].dtype, pd.StringDtype)
    slow = _as_object_ids(v)
    for w in (infl, infl.iloc[::-1]):  # in stakeholder order (no lookup) and shuffled
        for window in (365, None):
            fast_cov = coverage(v, as_of, window_days=window, influence=w)
            assert fast_cov["departed"].sum() > 0
            pd.testing.assert_frame_equal(fast_cov, coverage(slow, as_of, window_days=window, influence=w))
            pd.testing.assert_frame_equal(listening_plan(v, as_of, window_days=window, influence=w),
                                          listening_plan(slow, as_of, window_days=window, influence=w))


def test_rank_of_departed_matches_pandas_rank():
    from cxinfluence.listening.departures import _rank_desc

    rng = np.random.default_rng(0)
    group = np.sort(rng.integers(0, 30, 400))
    values = rng.choice([0.1, 0.2, 0.2, 0.3, np.nan, 0.05], size=400)  # ties and blanks
    expected = pd.Series(values).groupby(group).rank(method="min", ascending=False).to_numpy()
    at = rng.integers(0, 400, 100)
    np.testing.assert_array_equal(_rank_desc(group, values, at), expected[at])


def test_resolved_ids_are_reused_until_a_table_changes():
    """coverage and listening_plan resolve the ids once per village; a replaced
    table (new Arrow arrays) is resolved again."""
    from cxinfluence.network.influence import influence_weights
    from cxinfluence.village.synth import make_village as synth_village

    v, _ = synth_village(30, seed=6)
    as_of = pd.Timestamp("2025-06-30")
    infl = influence_weights(v, as_of)
    coverage(v, as_of, influence=infl)
    cache = v.__dict__["_id_rows"]  # the village's one id cache (cxinfluence.village.ids)
    cached = cache[("remembered", ("coverage rows", True))][1]
    listening_plan(v, as_of, influence=infl)
    assert cache[("remembered", ("coverage rows", True))][1] is cached
    # every response now from the first stakeholder: results must follow the new table
    r = v.responses.assign(stakeholder_id=v.stakeholders["stakeholder_id"].iloc[0])
    v.responses = r
    fresh = Village(accounts=v.accounts, stakeholders=v.stakeholders, relationships=v.relationships,
                    responses=r, outcomes=v.outcomes)
    pd.testing.assert_frame_equal(coverage(v, as_of, influence=infl), coverage(fresh, as_of, influence=infl))
    pd.testing.assert_frame_equal(listening_plan(v, as_of, influence=infl),
                                  listening_plan(fresh, as_of, influence=infl))
    assert cache[("remembered", ("coverage rows", True))][1] is not cached
    assert not [k for k in v.__dict__ if k.startswith("_") and k != "_id_rows"]  # no second cache


def test_groups_expand_and_find_match_a_merge():
    from cxinfluence.listening.departures import _Groups, _member_finder

    rng = np.random.default_rng(1)
    codes = rng.integers(-1, 12, 300)
    wanted = rng.integers(-1, 15, 40)  # some codes never seen
    entry, pos = _Groups.of(codes).expand(wanted)
    merged = pd.DataFrame({"entry": np.arange(len(wanted)), "code": wanted}).merge(
        pd.DataFrame({"code": codes, "pos": np.arange(len(codes))}), on="code")
    assert list(zip(entry, pos)) == list(zip(merged["entry"], merged["pos"]))
    present = rng.random(len(entry)) < 0.7
    find = _member_finder(_Groups.of(codes), wanted, present)
    kept = {(e, p): i for i, (e, p) in enumerate(zip(entry[present], pos[present]))}
    q_entry, q_pos = rng.integers(0, len(wanted), 500), rng.integers(-1, len(codes), 500)
    expected = [kept.get((e, p), -1) for e, p in zip(q_entry, q_pos)]
    assert find(q_entry, q_pos).tolist() == expected


def test_active_at_matches_active_mask():
    from cxinfluence.village.asof import active_mask
    from cxinfluence.listening.departures import _active_at

    rng = np.random.default_rng(2)
    days = pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 60, 200), unit="D")
    s = pd.DataFrame({"active_from": days.where(rng.random(200) < 0.7),
                      "active_to": (days + pd.Timedelta(days=20)).where(rng.random(200) < 0.5)})
    rows = rng.integers(0, 200, 500)
    instants = (pd.to_datetime("2024-01-15") + pd.to_timedelta(rng.integers(0, 60, 500), unit="D")).to_numpy()
    expected = active_mask(s.iloc[rows].reset_index(drop=True), pd.Series(instants)).to_numpy()
    assert (_active_at(s, rows, instants) == expected).all()
    assert (_active_at(s[["active_to"]], rows, instants) == active_mask(
        s[["active_to"]].iloc[rows].reset_index(drop=True), pd.Series(instants)).to_numpy()).all()
    as_objects = s.astype(object)  # not datetime64[ns]: the pandas path
    assert (_active_at(as_objects, rows, instants) == expected).all()


def test_small_helpers_match_their_pandas_definitions():
    import pyarrow as pa

    from cxinfluence.listening.people import _each_distinct, _group_max, _role_codes
    from cxinfluence.village.ids import unique_text
    from cxinfluence.village.schema import ROLES

    assert unique_text(pa.array(["a", "b", "c"], pa.large_string()))  # sorted
    assert unique_text(pa.array(["b", "a", None, "c"], pa.large_string()))  # unsorted, blank ignored
    assert not unique_text(pa.array(["a", "b", "b"], pa.large_string()))
    assert not unique_text(pa.array(["b", "a", "b"], pa.large_string()))

    roles = pd.Series(["buyer", None, "Buyer", "decider", "nobody", np.nan], dtype=object)
    expected = pd.Index(ROLES).get_indexer(roles.to_numpy()).tolist()
    assert _role_codes(roles).tolist() == expected
    assert _role_codes(roles.astype("str")).tolist() == expected
    assert _role_codes(pd.Series([1, "buyer"], dtype=object)).tolist() == [-1, ROLES.index("buyer")]

    rng = np.random.default_rng(3)
    codes, values = rng.integers(0, 20, 300), rng.integers(0, 9, 300)
    expected = np.zeros(25)
    np.maximum.at(expected, codes, values)
    assert (_group_max(codes, values, 25) == expected).all()  # unsorted codes
    order = np.argsort(codes, kind="stable")
    assert (_group_max(codes[order], values[order], 25) == expected).all()  # sorted: runs

    x = pd.Series([12.34, np.nan, 0.05, 12.34, 100.0], index=[5, 3, 9, 1, 0])
    pd.testing.assert_series_equal(_each_distinct(x.round(1), lambda v: v.astype(str)), x.round(1).astype(str))
    d = pd.Series(pd.to_datetime(["2024-01-02", None, "2024-01-02"]), index=[2, 0, 1])
    pd.testing.assert_series_equal(_each_distinct(d, lambda v: v.dt.strftime("%Y-%m-%d")), d.dt.strftime("%Y-%m-%d"))
