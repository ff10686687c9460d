"""The public calls as fast as their kernels (issue 18) without changing a number: work shared across
dates and stages (items scored once, last_heard in one pass, the influence table's ids hashed once per
village) gives the same tables as doing it date by date and stage by stage, and the comment and
coverage shortcuts match the straightforward pandas computations they replace."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from cxinfluence.comments.actions import _levels, _quarters_raised, action_list
from cxinfluence.listening import coverage
from cxinfluence.network.influence import influence_weights
from cxinfluence.sentiment.schemes import account_sentiment, sentiment_tables, stakeholder_sentiment
from cxinfluence.village.ids import positions, rows_for
from cxinfluence.village.safetext import money
from cxinfluence.village.synth import make_village


@pytest.fixture(scope="module")
def village():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v, _ = make_village(40, seed=11, waves_per_year=3)
    return v


DATES = pd.to_datetime(["2024-06-30", "2025-03-31", "2024-12-31", "2025-09-30"])


@pytest.mark.parametrize("options", [{}, {"half_life_days": 90, "lead_days": 30}, {"window_days": None}])
def test_several_dates_in_one_call_equal_one_call_per_date(village, options):
    pairs = pd.DataFrame({"account_id": np.repeat(village.accounts["account_id"].to_numpy(), len(DATES)),
                          "as_of": np.tile(DATES, len(village.accounts))})
    acc, people = sentiment_tables(village, pairs, **options)
    assert set(acc["as_of"]) == set(DATES) and people["last_heard"].notna().any()
    for ts in DATES:  # as_of sorted in the output; each date computed alone
        one_acc, one_people = sentiment_tables(village, ts, **options)
        pd.testing.assert_frame_equal(acc[acc["as_of"] == ts].reset_index(drop=True), one_acc, check_exact=True)
        pd.testing.assert_frame_equal(people[people["as_of"] == ts].reset_index(drop=True), one_people,
                                      check_exact=True)
        pd.testing.assert_frame_equal(stakeholder_sentiment(village, ts, **options), one_people, check_exact=True)


def test_last_heard_by_hand(village):
    """last_heard is the latest response strictly before as_of, however old, per active person."""
    people = stakeholder_sentiment(village, "2025-03-31", window_days=30)
    r = village.responses
    before = r[r["date"] < pd.Timestamp("2025-03-31")]
    expected = before.groupby("stakeholder_id")["date"].max()
    got = people.set_index("stakeholder_id")["last_heard"]
    pd.testing.assert_series_equal(got.dropna().sort_index(), expected.reindex(got.dropna().index).sort_index(),
                                   check_names=False, check_dtype=False)
    assert got[got.isna()].index.isin(expected.index).sum() == 0


def test_influence_table_looked_up_once_and_results_unchanged(village):
    infl = influence_weights(village, "2025-03-31")
    first = account_sentiment(village, "2025-03-31", influence=infl)
    cached = rows_for(village, infl["stakeholder_id"])
    assert rows_for(village, infl["stakeholder_id"]) is cached  # the second stage does not hash again
    np.testing.assert_array_equal(cached, positions(infl["stakeholder_id"], village.stakeholders["stakeholder_id"]))
    # a shuffled copy with fresh arrays misses the cache and gives the same table
    shuffled = infl.sample(frac=1.0, random_state=1).reset_index(drop=True)
    shuffled["stakeholder_id"] = shuffled["stakeholder_id"].astype(object).astype("str")
    pd.testing.assert_frame_equal(account_sentiment(village, "2025-03-31", influence=shuffled), first)
    assert rows_for(village, shuffled["stakeholder_id"]) is not cached
    # computed inside: same as passing the table
    pd.testing.assert_frame_equal(account_sentiment(village, "2025-03-31"), first)


def test_rows_for_unknown_ids_and_cache_size():
    from cxinfluence.village.core import Village

    v = Village(pd.DataFrame({"account_id": ["A"]}),
                pd.DataFrame({"stakeholder_id": ["s", "t", "s"], "account_id": ["A"] * 3}),
                pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
    assert rows_for(v, pd.Series(["t", "zz", "s"], dtype="str")).tolist() == [1, -1, 0]  # first row of a repeat
    keys = [pd.Series(["s", "t"], dtype="str") for _ in range(6)]
    found = [rows_for(v, k) for k in keys]
    assert rows_for(v, keys[-1]) is found[-1]
    assert rows_for(v, keys[0]) is not found[0]  # only the latest few tables are kept


def test_coverage_default_influence_equals_a_wrapped_one(village):
    """The stand-in villages copy only the columns the default influence reads: a wrapper (which gets
    every column) gives the same coverage."""
    def wrapped(v, as_of):
        return influence_weights(v, as_of)

    infl = influence_weights(village, "2025-06-30")
    fast = coverage(village, "2025-06-30", influence=infl)
    assert fast["departed"].sum() > 0 and fast["key_influencer_departed"].any()
    pd.testing.assert_frame_equal(fast, coverage(village, "2025-06-30", influence=infl, influence_fn=wrapped))


# --------------------------------------------------------------------------- comments: pandas references


def quarters_reference(ct, history):
    """The straightforward pandas computation (explode the themes, distinct quarters per account and theme)."""
    def explode(d):
        d = d[["account_id", "themes", "date"]].copy()
        d["theme"] = d["themes"].fillna("").astype(str).str.split(";")
        d = d.explode("theme")
        return d[d["theme"].notna() & (d["theme"] != "")]

    h = explode(history)
    quarters = (h.assign(_q=pd.to_datetime(h["date"]).dt.to_period("Q"))
                .drop_duplicates(["account_id", "theme", "_q"]).groupby(["account_id", "theme"]).size())
    c = explode(ct)
    n = pd.Series(quarters.reindex(pd.MultiIndex.from_arrays([c["account_id"], c["theme"]])).to_numpy(),
                  index=c.index)
    return n.groupby(level=0).max().reindex(ct.index).fillna(1).clip(lower=1).astype(int).to_numpy()


def test_quarters_raised_equals_pandas_reference():
    rng = np.random.default_rng(5)
    themes = np.array(["delivery", "billing;delivery", "", None, "quality;;billing", "pricing"], dtype=object)

    def frame(n):
        return pd.DataFrame({"account_id": rng.choice(np.array(["a", "b", "c", None], dtype=object), n),
                             "themes": rng.choice(themes, n),
                             "date": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 800, n), "D")})

    history, ct = frame(400), frame(60)
    got = _quarters_raised(ct, history)
    np.testing.assert_array_equal(got, quarters_reference(ct, history))
    assert got.max() > 2


def levels_reference(ct):
    """The row-by-row wording the vectorised _levels replaces."""
    reasons = []
    for r in ct.itertuples(index=False):
        if r.kind == "praise":
            reasons.append("praise: share it with the team that earned it")
            continue
        who = ("someone who has left" if not r.active else "a veto holder" if r.veto is True
               else f"{r.influence:.0%} of the account's influence")
        tone = "strongly negative" if r.negativity >= 0.75 else "negative" if r.kind == "problem" else "a request"
        theme = str(r.themes).split(";")[0] if isinstance(r.themes, str) and r.themes else "this topic"
        again = f"{theme} raised in {r.recurrence} quarters of the last year" if r.recurrence > 1 else \
            "first time this year"
        revenue = f"{money(r.revenue_at_stake)} revenue" if pd.notna(r.revenue_at_stake) else "revenue unknown"
        reasons.append(f"{tone}, from {who}; {again}; {revenue}")
    return reasons


@pytest.mark.parametrize("veto_dtype", [bool, object])
def test_level_reasons_equal_row_by_row_wording(veto_dtype):
    rng = np.random.default_rng(2)
    n = 300
    veto = rng.random(n) < 0.3
    ct = pd.DataFrame({
        "kind": rng.choice(["problem", "request", "praise"], n),
        "veto": veto if veto_dtype is bool else np.where(rng.random(n) < 0.2, None, veto).astype(object),
        "influence": np.round(rng.random(n), 3) * (rng.random(n) < 0.9),
        "active": rng.random(n) < 0.9,
        "negativity": np.where(rng.random(n) < 0.05, np.nan, rng.random(n)),
        "recurrence": rng.integers(1, 5, n),
        "themes": rng.choice(np.array(["delivery;billing", "", None, "quality"], dtype=object), n),
        "revenue_at_stake": rng.choice([1_500_000.0, np.nan, 950.0, -0.0, 0.0], n),
        "urgency": rng.random(n),
    })
    level, reasons = _levels(ct)
    assert list(reasons) == levels_reference(ct)
    assert set(level) <= {"high", "medium", "low", "praise"}
    non_praise = int((ct["kind"] != "praise").sum())
    assert (level == "high").sum() == math.ceil(0.2 * non_praise)


def test_action_list_influence_by_id_when_a_speaker_is_unknown(village):
    """A comment from someone not in the stakeholders table still finds their influence by id."""
    infl = influence_weights(village, "2025-06-30")
    base = action_list(village, "2025-06-30", influence=infl)
    assert base["active"].any() and base["influence"].gt(0).any()
    r = village.responses.copy()
    with_comment = np.flatnonzero(r["comment"].notna().to_numpy() & (r["date"] < "2025-06-30").to_numpy()
                                  & (r["date"] >= "2025-04-01").to_numpy())
    r.loc[r.index[with_comment[0]], "stakeholder_id"] = "ghost"
    from dataclasses import replace

    v = replace(village, responses=r)
    extra = pd.DataFrame({"stakeholder_id": ["ghost"], "influence": [0.5]})
    out = action_list(v, "2025-06-30", influence=pd.concat([infl, extra], ignore_index=True))
    ghost = out[out["stakeholder_id"] == "ghost"]
    assert len(ghost) == 1 and ghost["influence"].iloc[0] == 0.5 and ghost["active"].iloc[0]
    assert ghost["account_id"].isna().all() and ghost["revenue_source"].iloc[0] == "unknown"


def test_people_from_the_kernel_equal_the_stakeholder_tables_own_on_ties_and_blanks():
    """sentiment_tables' stakeholder columns come from the schemes kernel's per-person results; the stakeholder
    table alone computes them itself: the same numbers on same-moment answers (the later row wins), answers
    with an NPS but no other item, answers with no item at all, and recency weights."""
    from cxinfluence.village.core import Village

    people = pd.DataFrame({"stakeholder_id": ["p", "q", "r", "s"], "account_id": ["A", "A", "B", "B"],
                           "role": ["user", "decider", "buyer", "user"], "veto": [False, True, False, False]})
    when = pd.to_datetime(["2024-03-01 10:00", "2024-03-01 10:00", "2024-02-01 00:00", "2024-04-01 00:00",
                           "2024-04-01 00:00", "2024-05-01 00:00", "2024-05-01 00:00", "2023-01-01 00:00"])
    responses = pd.DataFrame({"stakeholder_id": ["p", "p", "q", "q", "r", "r", "s", "s"], "date": when,
                              "nps": [9.0, 3.0, np.nan, 10.0, 5.0, np.nan, np.nan, 7.0],
                              "csat": [4.0, np.nan, 2.0, np.nan, np.nan, np.nan, np.nan, 5.0]})
    v = Village(pd.DataFrame({"account_id": ["A", "B"]}), people, pd.DataFrame(columns=["source_id", "target_id", "kind"]),
                responses, pd.DataFrame(columns=["account_id", "period_end", "renewed"]))
    for options in ({}, {"half_life_days": 30}, {"window_days": None}):
        _, together = sentiment_tables(v, "2024-06-30", **options)
        alone = stakeholder_sentiment(v, "2024-06-30", **options)
        pd.testing.assert_frame_equal(together, alone, check_exact=True)
    assert together.set_index("stakeholder_id").loc["p", "nps"] == 3.0  # same moment: the later row
