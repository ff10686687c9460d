"""One definition per idea: a map tooltip, a table and the report say the same thing
about the same person on the same date (issue: the house)."""

import warnings

import numpy as np
import pandas as pd
import pytest

import cxinfluence as cx
from cxinfluence.exceptions import CxInfluenceError, ParameterError

AS_OF = "2026-01-01"


@pytest.fixture(scope="module")
def villages(sample_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sample = cx.load_village(sample_path, warn=False)
        synthetic, _ = cx.make_village(40, seed=11)
    return {"sample": (sample, AS_OF), "synthetic": (synthetic, "2025-01-01")}


def _dates(s):
    return pd.to_datetime(pd.Series(s, dtype=object)).dt.strftime("%Y-%m-%d").fillna("never").to_numpy()


@pytest.mark.parametrize("which", ["sample", "synthetic"])
@pytest.mark.parametrize("window_days, lead_days", [(365, 0), (90, 30), (None, 0)])
def test_map_table_plan_and_heard_agree_on_every_person(villages, which, window_days, lead_days):
    village, as_of = villages[which]
    table = cx.stakeholder_sentiment(village, as_of, window_days=window_days, lead_days=lead_days)
    accounts = village.accounts["account_id"].iloc[:50]  # networkx objects are slow: 50 accounts are plenty
    graphs = cx.network.account_graphs(village, accounts, as_of, window_days=window_days, lead_days=lead_days)
    tips = pd.DataFrame([{"stakeholder_id": n, "n_responses": d["n_responses"], "last_heard": d["last_heard"],
                          "sentiment": d.get("sentiment")} for G in graphs.values() for n, d in G.nodes(data=True)])
    m = table.merge(tips, on="stakeholder_id", suffixes=("_table", "_map"), validate="1:1")
    assert len(m) == len(tips) == table["account_id"].isin(accounts).sum() > 100
    assert (m["n_responses_table"].to_numpy() == m["n_responses_map"].to_numpy()).all()
    assert (_dates(m["last_heard_table"]) == _dates(m["last_heard_map"])).all()
    # the same sentiment to the bit: one response sentiment (village/scale.item_sentiment), one mean
    assert np.array_equal(m["sentiment_table"].to_numpy(float), m["sentiment_map"].to_numpy(float), equal_nan=True)

    heard = cx.village.heard_table(village, as_of, window_days=window_days, lead_days=lead_days)
    h = table.merge(heard, on="stakeholder_id", suffixes=("", "_heard"))
    assert (h["n_responses"].to_numpy() == h["n_responses_heard"].to_numpy()).all()
    assert (_dates(h["last_heard"]) == _dates(h["last_heard_heard"])).all()

    if lead_days == 0:  # the listening plan (and the report table built from it) uses the same dates
        plan = cx.listening_plan(village, as_of, window_days=window_days)
        p = plan.merge(table, on="stakeholder_id", suffixes=("_plan", "_table"))
        assert len(p) == len(plan) > 0
        assert (_dates(p["last_heard_plan"]) == _dates(p["last_heard_table"])).all()


def test_a_comment_only_response_counts_as_heard():
    v, _ = cx.make_village(3, seed=2)
    r = v.responses.copy()
    score_cols = [c for c in ("nps", "csat", "ces", "neteasy", "trust", "cared_for") if c in r.columns]
    r.loc[:, score_cols] = np.nan
    v2 = cx.Village(v.accounts, v.stakeholders, v.relationships, r, v.outcomes)
    as_of = v.responses["date"].max() + pd.Timedelta(days=1)
    t = cx.stakeholder_sentiment(v2, as_of)
    assert t["sentiment"].isna().all() and t["n_responses"].sum() > 0


BAD_WINDOWS = [-5, 0, 30.5, "365", True]


@pytest.mark.parametrize("bad", BAD_WINDOWS)
@pytest.mark.parametrize("call", [
    lambda v, w: cx.account_sentiment(v, AS_OF, window_days=w),
    lambda v, w: cx.stakeholder_sentiment(v, AS_OF, window_days=w),
    lambda v, w: cx.model_frame(v, window_days=w),
    lambda v, w: cx.coverage(v, AS_OF, window_days=w),
    lambda v, w: cx.network.account_graphs(v, None, AS_OF, window_days=w),
    lambda v, w: cx.sentiment.pain_points(v, AS_OF, window_days=w),
    lambda v, w: cx.sentiment.journey_view(v, AS_OF, window_days=w),
    lambda v, w: cx.comments.action_list(v, AS_OF, window_days=w),
    lambda v, w: cx.comments.comment_table(v, AS_OF, window_days=w),
    lambda v, w: cx.sentiment.breakdown(v, "role", as_of=AS_OF, window_days=w),
    lambda v, w: cx.sentiment.who_moved(v, "2025-06-30", AS_OF, window_days=w),
    lambda v, w: cx.village.heard_table(v, AS_OF, window_days=w),
], ids=["account_sentiment", "stakeholder_sentiment", "model_frame", "coverage", "account_graphs",
        "pain_points", "journey_view", "action_list", "comment_table", "breakdown", "who_moved", "heard_table"])
def test_a_bad_window_is_a_clear_error_everywhere(villages, call, bad):
    village = villages["synthetic"][0]
    with pytest.raises(CxInfluenceError) as err:
        call(village, bad)
    assert f"window_days={bad!r}" in str(err.value) and "whole number of days" in str(err.value)


@pytest.mark.parametrize("kw, text", [(dict(lead_days=-1), "lead_days=-1"), (dict(lead_days=1.5), "lead_days=1.5"),
                                      (dict(half_life_days=-3), "half_life_days=-3")])
def test_lead_and_half_life_are_checked_the_same_way(villages, kw, text):
    village = villages["synthetic"][0]
    for call in (lambda: cx.account_sentiment(village, AS_OF, **kw), lambda: cx.model_frame(village, **kw)):
        with pytest.raises(ValueError, match=text.replace(".", r"\.")):
            call()


def test_a_table_computed_with_other_options_is_refused(villages):
    village = villages["synthetic"][0]
    frame = cx.model_frame(village, window_days=365)
    dates = cx.models.outcome_periods(village)
    short = cx.account_sentiment(village, dates, window_days=30)
    with pytest.raises(ParameterError, match="window_days=30, but this call uses window_days=365"):
        cx.model_frame(village, window_days=365, sentiment=short)
    same = cx.account_sentiment(village, dates, window_days=365)
    pd.testing.assert_frame_equal(cx.model_frame(village, window_days=365, sentiment=same), frame)


def test_omitted_as_of_is_the_day_after_the_latest_response_everywhere(villages):
    village = villages["synthetic"][0]
    default = cx.village.default_as_of(village)
    assert default == village.responses["date"].max().normalize() + pd.Timedelta(days=1)
    pd.testing.assert_frame_equal(cx.influence_weights(village), cx.influence_weights(village, default))
    a, b = cx.account_graph(village, "A001"), cx.account_graph(village, "A001", default)
    assert sorted(a.nodes(data="n_responses")) == sorted(b.nodes(data="n_responses"))
    pd.testing.assert_frame_equal(cx.comments.comment_table(village), cx.comments.comment_table(village, default))
