"""Tests of cxinfluence.models.frame: hand-computed tiny village, no leakage."""

import numpy as np
import pandas as pd
import pytest

from cxinfluence.exceptions import ModelError
from cxinfluence.models.frame import model_frame
from cxinfluence.village.core import Village


def _village(extra_responses=None):
    accounts = pd.DataFrame({"account_id": ["A", "B"], "segment": ["x", "y"], "region": ["r1", "r2"],
                             "annual_revenue": [1000.0, 5000.0]})
    stakeholders = pd.DataFrame({
        "stakeholder_id": ["a1", "a2", "b1", "b2", "b3"],
        "account_id": ["A", "A", "B", "B", "B"],
        "role": ["decider", "user", "gatekeeper", "buyer", "user"],
        "veto": [True, False, True, False, False],
        "active_from": pd.to_datetime([None] * 5),
        "active_to": pd.to_datetime([None, None, None, None, "2023-06-01"]),
    })
    responses = pd.DataFrame({
        "stakeholder_id": ["a1", "a2", "b1", "b2", "b3", "a1"],
        "date": pd.to_datetime(["2023-03-01", "2023-05-01", "2023-02-01", "2023-04-01", "2023-03-01", "2024-02-01"]),
        "nps": [3.0, 10.0, 9.0, 7.0, 0.0, 8.0],
        "csat": [2.0, 5.0, 4.0, np.nan, np.nan, 4.0],
    })
    if extra_responses is not None:
        responses = pd.concat([responses, extra_responses], ignore_index=True)
    outcomes = pd.DataFrame({"account_id": ["A", "A", "B", "B"],
                             "period_end": pd.to_datetime(["2023-12-31", "2024-12-31"] * 2),
                             "renewed": [1.0, 0.0, 1.0, 1.0], "bookings": [100.0, 0.0, 200.0, 300.0]})
    rel = pd.DataFrame({"source_id": pd.Series(dtype=str), "target_id": pd.Series(dtype=str),
                        "kind": pd.Series(dtype=str)})
    return Village(accounts, stakeholders, rel, responses, outcomes)


@pytest.fixture(scope="module")
def frame():
    return model_frame(_village())


def _row(frame, acc, date):
    return frame[(frame["account_id"] == acc) & (frame["period_end"] == pd.Timestamp(date))].iloc[0]


def test_one_row_per_account_and_period(frame):
    assert len(frame) == 4
    assert not frame.duplicated(["account_id", "period_end"]).any()
    assert list(frame["account_id"]) == ["A", "A", "B", "B"]


def test_role_and_veto_columns_by_hand(frame):
    a23 = _row(frame, "A", "2023-12-31")
    # a1: NPS 3 -> -0.4, CSAT 2 -> -0.5: sentiment -0.45; a2: NPS 10, CSAT 5 -> 1
    assert a23["sent_decider"] == pytest.approx(-0.45) and a23["heard_decider"] == 1
    assert a23["sent_user"] == pytest.approx(1.0) and a23["heard_user"] == 1
    assert np.isnan(a23["sent_buyer"]) and a23["heard_buyer"] == 0
    assert a23["sent_veto"] == pytest.approx(-0.45) and a23["sent_nonveto"] == pytest.approx(1.0)
    assert a23["veto_min"] == pytest.approx(-0.45) and a23["veto_detractor"] == 1
    assert a23["csat_mean"] == pytest.approx(3.5)  # (2 + 5) / 2
    a24 = _row(frame, "A", "2024-12-31")
    # only a1's 2024-02-01 answer (NPS 8 -> 0.6, CSAT 4 -> 0.5) is in the 365-day window
    assert a24["sent_decider"] == pytest.approx(0.55)
    assert np.isnan(a24["sent_user"]) and a24["heard_user"] == 0
    assert a24["veto_detractor"] == 0
    b23 = _row(frame, "B", "2023-12-31")
    # b3 (a user) left on 2023-06-01: not in the village at period_end
    assert np.isnan(b23["sent_user"]) and b23["heard_user"] == 0
    assert b23["sent_gatekeeper"] == pytest.approx(0.65) and b23["sent_buyer"] == pytest.approx(0.4)
    assert b23["veto_detractor"] == 0 and b23["n_respondents"] == 2
    b24 = _row(frame, "B", "2024-12-31")
    assert b24["n_respondents"] == 0 and np.isnan(b24["mean"]) and np.isnan(b24["veto_detractor"])
    assert b24[[c for c in frame.columns if c.startswith("heard_") and c != "heard_influence"]].eq(0).all()


def test_schemes_equal_account_sentiment_at_period_end(frame):
    from cxinfluence.sentiment.schemes import SCHEMES, account_sentiment

    v = _village()
    a = account_sentiment(v, "2023-12-31").set_index("account_id")
    got = frame[frame["period_end"] == "2023-12-31"].set_index("account_id")
    for s in SCHEMES:
        pd.testing.assert_series_equal(got[s], a.loc[got.index, s], check_names=False)


def test_role_columns_equal_role_sentiment():
    from cxinfluence.sentiment.schemes import role_sentiment

    v = _village()
    mf = model_frame(v)
    pairs = v.outcomes[["account_id", "period_end"]].rename(columns={"period_end": "as_of"})
    rs = role_sentiment(v, pairs)
    for _, r in rs.iterrows():
        row = _row(mf, r["account_id"], r["as_of"])
        assert row[f"sent_{r['role']}"] == pytest.approx(r["sentiment"])


def test_controls_and_lagged_outcomes(frame):
    assert _row(frame, "A", "2023-12-31")["log_revenue"] == pytest.approx(np.log1p(1000.0))
    assert _row(frame, "B", "2024-12-31")["segment"] == "y"
    assert np.isnan(_row(frame, "A", "2023-12-31")["prior_bookings"])
    assert _row(frame, "A", "2024-12-31")["prior_bookings"] == 100.0  # last year's, not this year's 0
    assert _row(frame, "B", "2024-12-31")["prior_bookings"] == 200.0
    assert _row(frame, "B", "2024-12-31")["prior_renewed"] == 1.0


@pytest.mark.parametrize("date", ["2023-12-31", "2024-01-15", "2024-12-31", "2025-03-01"])
def test_nothing_on_or_after_period_end_enters(frame, date):
    # an extreme response from the decider dated on / after a period_end
    extra = pd.DataFrame({"stakeholder_id": ["a1"], "date": pd.to_datetime([date]), "nps": [0.0], "csat": [1.0]})
    after = model_frame(_village(extra))
    first = after["period_end"] == "2023-12-31"
    # the 2023 rows never change (the response is on or after 2023-12-31)
    pd.testing.assert_frame_equal(after[first].drop(columns="multi_index"), frame[first].drop(columns="multi_index"))
    if date in ("2023-12-31", "2024-12-31", "2025-03-01"):
        pd.testing.assert_frame_equal(after.drop(columns="multi_index"), frame.drop(columns="multi_index"))
        pd.testing.assert_series_equal(after["multi_index"], frame["multi_index"])


def test_a_response_the_day_before_does_enter(frame):
    # the control for the leakage test: the same response one day earlier changes the row
    extra = pd.DataFrame({"stakeholder_id": ["a1"], "date": pd.to_datetime(["2023-12-30"]), "nps": [0.0], "csat": [1.0]})
    after = model_frame(_village(extra))
    assert _row(after, "A", "2023-12-31")["sent_decider"] < _row(frame, "A", "2023-12-31")["sent_decider"]


def test_lead_days_excludes_the_last_weeks():
    extra = pd.DataFrame({"stakeholder_id": ["a1"], "date": pd.to_datetime(["2023-12-01"]), "nps": [0.0], "csat": [1.0]})
    base = model_frame(_village(), lead_days=60)
    after = model_frame(_village(extra), lead_days=60)
    first = base["period_end"] == "2023-12-31"  # 2023-12-01 is inside the 60-day lead of 2023-12-31
    pd.testing.assert_frame_equal(after[first].drop(columns="multi_index"), base[first].drop(columns="multi_index"))
    assert model_frame(_village(extra), lead_days=0)["sent_decider"].iloc[0] != base["sent_decider"].iloc[0]


def test_inputs_not_modified_and_errors():
    v = _village()
    before = {k: t.copy() for k, t in v.tables().items()}
    model_frame(v)
    for k, t in v.tables().items():
        pd.testing.assert_frame_equal(t, before[k])
    empty = _village()
    empty.outcomes = empty.outcomes.iloc[:0]
    with pytest.raises(ModelError, match="no rows"):
        model_frame(empty)
    with pytest.raises(ModelError, match="schemes=\\['best'\\]"):
        model_frame(v, schemes=["best"])


def test_synthetic_village_frame_is_complete():
    from cxinfluence.village.synth import make_village

    village, truth = make_village(60, seed=3, years=3)
    mf = model_frame(village)
    assert len(mf) == len(village.outcomes) == 180
    t = truth.accounts.assign(account_id=truth.accounts["account_id"].astype(str))
    merged = mf.merge(t[["account_id", "period_end", "sentiment"]], on=["account_id", "period_end"])
    assert len(merged) == 180
    # measured influence-weighted sentiment tracks the true account sentiment
    assert merged["influence_weighted"].corr(merged["sentiment"]) > 0.6


def test_precomputed_sentiment_gives_the_same_frame():
    from cxinfluence.models.frame import outcome_periods
    from cxinfluence.sentiment.schemes import account_sentiment
    from cxinfluence.village.synth import make_village

    village, _ = make_village(25, seed=3, years=2)
    history = account_sentiment(village, outcome_periods(village), window_days=200, lead_days=30)
    pd.testing.assert_frame_equal(model_frame(village, window_days=200, lead_days=30, sentiment=history),
                                  model_frame(village, window_days=200, lead_days=30))
    with pytest.raises(ModelError, match="outcome_periods"):
        model_frame(village, window_days=200, lead_days=30, sentiment=history.iloc[1:])


def test_snapshot_frame_takes_lagged_controls_from_the_previous_period():
    from cxinfluence.models.predict import snapshot_frame
    from cxinfluence.village.synth import make_village

    village, _ = make_village(25, seed=3, years=3)
    as_of = pd.Timestamp("2025-06-30")
    snap = snapshot_frame(village, as_of)
    o = village.outcomes[village.outcomes["period_end"] < as_of].sort_values("period_end")
    last = o.groupby("account_id").tail(1).set_index("account_id")["bookings"]
    assert (snap["period_end"] == as_of).all() and len(snap) == len(village.accounts)
    np.testing.assert_allclose(snap.set_index("account_id")["prior_bookings"].loc[last.index], last.to_numpy())


def test_snapshot_frame_reuses_sentiment_already_computed():
    from cxinfluence.models.predict import snapshot_frame
    from cxinfluence.sentiment.schemes import account_sentiment, stakeholder_sentiment
    from cxinfluence.village.synth import make_village

    village, _ = make_village(25, seed=4, years=3)
    as_of = pd.Timestamp("2025-06-30")
    given = snapshot_frame(village, as_of, window_days=200, sentiment=account_sentiment(village, as_of, window_days=200),
                           stakeholders=stakeholder_sentiment(village, as_of, window_days=200))
    pd.testing.assert_frame_equal(given, snapshot_frame(village, as_of, window_days=200))


def test_metric_columns_equal_metric_table_per_period():
    from cxinfluence.sentiment.metrics import metric_table
    from cxinfluence.village.synth import make_village

    village, _ = make_village(30, seed=6, years=2)
    mf = model_frame(village, window_days=200, lead_days=30).set_index(["account_id", "period_end"])
    for ts in sorted(village.outcomes["period_end"].unique()):
        ref = metric_table(village, by="account_id", metrics=["csat_mean", "ces", "neteasy"], as_of=ts,
                           window_days=200, lead_days=30).set_index("account_id")
        got = mf.xs(pd.Timestamp(ts), level="period_end")
        common = got.index.intersection(ref.index)
        assert len(common) > 10
        for ours, theirs in (("csat_mean", "csat_mean"), ("ces_mean", "ces"), ("neteasy", "neteasy")):
            np.testing.assert_allclose(got.loc[common, ours], ref.loc[common, theirs], rtol=1e-12)


@pytest.mark.parametrize("options", [
    {},
    {"lead_days": 30, "half_life_days": 120},  # recency weights: the stakeholder means from their own pass
    {"window_days": None, "role_weights": {"decider": 5.0, "user": 0.5}, "unheard": "renormalise", "nest_by": "department"},
    {"window_days": 200, "influence": "given"},
])
def test_the_frame_from_one_sentiment_pass_is_the_frame_from_the_two_tables(options):
    """``model_frame(village)`` builds the account and stakeholder tables in one pass (``sentiment_tables``, as
    the run does); the frame is the one from the two public tables computed apart, whatever the options."""
    from cxinfluence.models.frame import outcome_periods
    from cxinfluence.network.influence import influence_weights
    from cxinfluence.sentiment.schemes import account_sentiment, stakeholder_sentiment
    from cxinfluence.village.synth import make_village

    village, _ = make_village(30, seed=11, years=3)
    options = dict(options)
    if options.get("influence") == "given":
        options["influence"] = influence_weights(village, "2025-06-30", graph_share=1.0, role_share=0.0,
                                                 rating_share=0.0)
    periods = outcome_periods(village)
    table_options = {k: v for k, v in options.items() if k in ("window_days", "lead_days", "half_life_days")}
    history = account_sentiment(village, periods, **options)
    people = stakeholder_sentiment(village, periods, **table_options)
    expected = model_frame(village, sentiment=history, stakeholders=people, **options)
    pd.testing.assert_frame_equal(model_frame(village, **options), expected)
    assert expected["heard_decider"].gt(0).any() and expected["influence_weighted"].notna().any()
