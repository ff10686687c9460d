"""Metrics exactly as defined (seed 003), checked against hand calculations."""

import math

import numpy as np
import pandas as pd
import pytest

from cxinfluence.exceptions import MetricError
from cxinfluence.sentiment.metrics import METRICS, metric_table, net_score_ci, share_ci
from cxinfluence.village.core import Village

Z = 1.959963984540054


def frame(**cols):
    n = len(next(iter(cols.values())))
    base = {"stakeholder_id": [f"s{i}" for i in range(n)],
            "date": pd.date_range("2024-01-01", periods=n, freq="D")}
    base.update(cols)
    return pd.DataFrame(base)


def agresti_min(p, d, n):
    """Hand formula of the Wald+2 interval (Agresti & Min 2005), in points."""
    c = (p - d) / (n + 2)
    sd = math.sqrt((p + d + 1) - (p - d) ** 2 / (n + 2)) / (n + 2)
    return 100 * max(-1, c - Z * sd), 100 * min(1, c + Z * sd)


def wilson(x, n):
    p = x / n
    centre = (p + Z**2 / (2 * n)) / (1 + Z**2 / n)
    half = Z / (1 + Z**2 / n) * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2))
    return 100 * (centre - half), 100 * (centre + half)


def test_all_promoters_nps_is_100_with_wide_small_sample_interval():
    t = metric_table(frame(nps=[9, 10, 10, 9, 10]), metrics=["nps"])
    assert t.loc[0, "nps"] == 100.0 and t.loc[0, "nps_n"] == 5
    # d~ = 5/7, sd = sqrt(6 - 25/7)/7 = 0.22263 -> lower 100*(0.71429 - 1.95996*0.22263) = 27.79
    assert t.loc[0, "nps_ci_low"] == pytest.approx(27.7945, abs=1e-3)
    assert t.loc[0, "nps_ci_high"] == 100.0


def test_zero_is_a_detractor_and_seven_eight_are_passive():
    t = metric_table(frame(nps=[0]), metrics=["nps"])
    assert t.loc[0, "nps"] == -100.0
    lo, hi = agresti_min(0, 1, 1)  # d~ = -1/3, sd = sqrt(5/3)/3 -> [-100, 51.01]
    assert (t.loc[0, "nps_ci_low"], t.loc[0, "nps_ci_high"]) == pytest.approx((lo, hi))
    assert hi == pytest.approx(51.011, abs=1e-3)
    assert metric_table(frame(nps=[7, 8]), metrics=["nps"]).loc[0, "nps"] == 0.0
    assert metric_table(frame(nps=[6, 9]), metrics=["nps"]).loc[0, "nps"] == 0.0


def test_mixed_nps_and_interval():
    # promoters 10, 9, 9; passives 8, 7; detractors 6, 0 -> (3 - 2) / 7 = 14.29 points
    t = metric_table(frame(nps=[10, 9, 9, 8, 7, 6, 0]), metrics=["nps"])
    assert t.loc[0, "nps"] == pytest.approx(100 / 7)
    assert (t.loc[0, "nps_ci_low"], t.loc[0, "nps_ci_high"]) == pytest.approx(agresti_min(3, 2, 7))


def test_net_score_ci_vectorised_and_empty_group():
    s, lo, hi = net_score_ci([1, 0], [0, 0], [2, 0])
    assert s[0] == 50.0 and np.isnan(s[1]) and np.isnan(lo[1]) and np.isnan(hi[1])


def test_csat_share_mean_and_intervals():
    t = metric_table(frame(csat=[5, 4, 3, 2]), metrics=["csat", "csat_mean"])
    assert t.loc[0, "csat"] == 50.0
    assert (t.loc[0, "csat_ci_low"], t.loc[0, "csat_ci_high"]) == pytest.approx(wilson(2, 4))
    assert t.loc[0, "csat_mean"] == 3.5
    # bounded-scale interval (cxinfluence.intervals): the normal interval of the sample augmented
    # with z^2/2 pseudo-answers at each end of the scale, computed here from the augmented sample
    assert (t.loc[0, "csat_mean_ci_low"], t.loc[0, "csat_mean_ci_high"]) == pytest.approx(augmented_ci([5, 4, 3, 2]))


def test_share_ci_hand_wilson():
    s, lo, hi = share_ci([3, 0], [4, 3])
    assert (lo[0], hi[0]) == pytest.approx(wilson(3, 4))
    assert s[1] == 0.0 and lo[1] == pytest.approx(0.0, abs=1e-12) and hi[1] == pytest.approx(wilson(0, 3)[1])


def test_ces_mean_low_effort_share_and_neteasy():
    t = metric_table(frame(ces=[1, 2, 2, 5, np.nan, np.nan, np.nan],
                           neteasy=[1, 2, 3, 4, 5, 6, 7]), metrics=["ces", "ces_low", "neteasy"])
    assert t.loc[0, "ces"] == 2.5 and t.loc[0, "ces_n"] == 4
    assert t.loc[0, "ces_low"] == 75.0
    # NetEasy: %(1-2) - %(5-7) = 2/7 - 3/7
    assert t.loc[0, "neteasy"] == pytest.approx(-100 / 7)
    assert (t.loc[0, "neteasy_ci_low"], t.loc[0, "neteasy_ci_high"]) == pytest.approx(agresti_min(2, 3, 7))


def augmented_ci(answers, low=1, high=5, z=1.959963984540054):
    # independent of the code: rescale, append the pseudo-answers as weighted rows, normal interval
    y = (np.asarray(answers, float) - low) / (high - low)
    vals = np.r_[y, 0.0, 1.0]
    w = np.r_[np.ones(len(y)), z * z / 2, z * z / 2]
    m = np.average(vals, weights=w)
    v = np.average((vals - m) ** 2, weights=w)
    half = z * math.sqrt(v / w.sum())
    return low + (high - low) * max(m - half, 0.0), low + (high - low) * min(m + half, 1.0)


def test_single_respondent_mean_has_a_wide_interval():
    # the t interval was undefined for one answer; the bounded-scale interval is defined and wide
    t = metric_table(frame(csat=[4]), metrics=["csat_mean"])
    assert t.loc[0, "csat_mean"] == 4.0
    assert (t.loc[0, "csat_mean_ci_low"], t.loc[0, "csat_mean_ci_high"]) == pytest.approx(augmented_ci([4]))
    assert t.loc[0, "csat_mean_ci_high"] - t.loc[0, "csat_mean_ci_low"] > 2.0


def test_agreeing_respondents_do_not_collapse_the_interval():
    t = metric_table(frame(csat=[5, 5, 5]), metrics=["csat_mean"])
    assert t.loc[0, "csat_mean_ci_high"] == 5.0 and t.loc[0, "csat_mean_ci_low"] < 4.8
    assert t.loc[0, "csat_mean_ci_low"] == pytest.approx(augmented_ci([5, 5, 5])[0])


def test_missing_metric_is_not_in_denominator_and_empty_group_is_nan():
    df = frame(nps=[10, np.nan, np.nan], csat=[np.nan, 5, 1])
    df["account_id"] = ["A", "A", "B"]
    t = metric_table(df, by="account_id", metrics=["nps", "csat"])
    a, b = t.set_index("account_id").loc["A"], t.set_index("account_id").loc["B"]
    assert a["nps"] == 100.0 and a["nps_n"] == 1 and a["csat"] == 100.0
    assert b["nps_n"] == 0 and np.isnan(b["nps"]) and np.isnan(b["nps_ci_low"])
    assert b["csat"] == 0.0 and b["n_respondents"] == 1


def test_respondent_unit_uses_latest_answer_by_date_not_row_order():
    df = pd.DataFrame({"stakeholder_id": ["a", "a", "a", "b"],
                       "date": pd.to_datetime(["2024-05-01", "2024-01-01", "2024-03-01", "2024-02-01"]),
                       "nps": [0, 10, 10, 10]})
    t = metric_table(df, metrics=["nps"])
    assert t.loc[0, "nps_n"] == 2 and t.loc[0, "nps"] == 0.0  # a's latest (May) is a detractor
    r = metric_table(df, metrics=["nps"], unit="response")
    assert r.loc[0, "nps_n"] == 4 and r.loc[0, "nps"] == 50.0
    assert t.loc[0, "n_respondents"] == 2 and t.loc[0, "n_responses"] == 4


def test_latest_answer_skips_responses_without_that_metric():
    df = pd.DataFrame({"stakeholder_id": ["a", "a"], "date": pd.to_datetime(["2024-01-01", "2024-02-01"]),
                       "nps": [10, np.nan], "csat": [np.nan, 2]})
    t = metric_table(df, metrics=["nps", "csat"])
    assert t.loc[0, "nps"] == 100.0 and t.loc[0, "csat"] == 0.0


def test_grouping_keeps_blank_keys_and_sorts():
    df = frame(nps=[10, 0, 9], csat=[5, 5, 5])
    df["role"] = ["user", np.nan, "user"]
    t = metric_table(df, by=["role"], metrics=["nps"])
    assert t["role"].tolist()[0] == "user" and pd.isna(t["role"].tolist()[1])
    assert t["nps"].tolist() == [100.0, -100.0]


def test_as_of_window_excludes_response_on_and_after_as_of():
    df = pd.DataFrame({"stakeholder_id": ["a", "b", "c", "d"],
                       "date": pd.to_datetime(["2024-06-29", "2024-06-30", "2024-07-15", "2023-01-01"]),
                       "nps": [10, 0, 0, 0]})
    t = metric_table(df, metrics=["nps"], as_of="2024-06-30", window_days=365)
    assert t.loc[0, "nps_n"] == 1 and t.loc[0, "nps"] == 100.0


def test_period_grouping():
    df = pd.DataFrame({"stakeholder_id": ["a", "a"], "date": pd.to_datetime(["2024-01-05", "2024-04-05"]),
                       "nps": [10, 0]})
    t = metric_table(df, by="period", metrics=["nps"], freq="Q")
    assert t["period"].tolist() == ["2024Q1", "2024Q2"] and t["nps"].tolist() == [100.0, -100.0]


def village():
    return Village(
        accounts=pd.DataFrame({"account_id": ["A", "B"], "segment": ["x", "y"]}),
        stakeholders=pd.DataFrame({
            "stakeholder_id": ["a1", "a2", "b1"], "account_id": ["A", "A", "B"],
            "role": ["decider", "user", "buyer"], "veto": [True, False, False],
            "active_from": pd.to_datetime([None, None, None]),
            "active_to": pd.to_datetime([None, "2024-03-01", None])}),
        relationships=pd.DataFrame(columns=["source_id", "target_id", "kind"]),
        responses=pd.DataFrame({"stakeholder_id": ["a1", "a2", "b1", "zz"],
                                "date": pd.to_datetime(["2024-01-10", "2024-01-11", "2024-01-12", "2024-01-12"]),
                                "nps": [9, 3, 6, 10], "csat": [5, 1, 4, 5]}),
        outcomes=pd.DataFrame(columns=["account_id", "period_end", "renewed"]))


def test_village_input_joins_context_and_drops_departed_at_as_of():
    v = village()
    t = metric_table(v, by=["account_id"], metrics=["nps"])
    assert t.set_index("account_id")["nps"].to_dict() == {"A": 0.0, "B": -100.0}
    seg = metric_table(v, by="segment", metrics=["csat"])
    assert seg.set_index("segment")["csat"].to_dict() == {"x": 50.0, "y": 100.0}
    t2 = metric_table(v, by="account_id", metrics=["nps"], as_of="2024-06-30")
    assert t2.set_index("account_id").loc["A", "nps"] == 100.0  # a2 left on 2024-03-01
    assert len(v.responses) == 4 and "account_id" not in v.responses  # input untouched


def test_sentiment_metric_uses_common_scale():
    t = metric_table(frame(nps=[10, 0], csat=[5, 1]), metrics=["sentiment"])
    assert t.loc[0, "sentiment"] == 0.0 and t.loc[0, "sentiment_n"] == 2


@pytest.mark.parametrize("kwargs, text", [
    (dict(metrics=["nope"]), "metrics contains ['nope']"),
    (dict(unit="people"), "unit='people'"),
    (dict(by="touchpoint"), "by=['touchpoint']"),
    (dict(by="period"), "freq='Q'"),
    (dict(metrics=["ces"]), "['ces']"),
    (dict(conf_level=95), "conf_level=95"),
])
def test_errors_name_argument_and_fix(kwargs, text):
    with pytest.raises(MetricError) as err:
        metric_table(frame(nps=[1]), **kwargs)
    assert text in str(err.value)


def test_metric_registry_covers_seed_definitions():
    assert {"nps", "csat", "csat_mean", "ces", "ces_low", "neteasy"} <= set(METRICS)


def test_blank_respondent_ids_are_respondents_of_their_own_with_a_warning():
    """An anonymous survey export (or a blank cell) has responses without an id: each is one respondent's
    answer, counted once, as if it had an id of its own; a VillageWarning says how many."""
    from cxinfluence.exceptions import VillageWarning

    rng = np.random.default_rng(4)
    n = 300
    df = pd.DataFrame({"stakeholder_id": rng.choice(["a", "b", "c", "d"], n).astype(object),
                       "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.permutation(n), "D"),
                       "role": rng.choice(["user", "buyer"], n),
                       "nps": rng.integers(0, 11, n).astype(float), "csat": rng.integers(1, 6, n).astype(float)})
    blank = rng.uniform(size=n) < 0.2
    df.loc[blank, "stakeholder_id"] = None
    named = df.assign(stakeholder_id=np.where(blank, [f"anon{i}" for i in range(n)], df["stakeholder_id"]))
    for by in (None, "role"):
        with pytest.warns(VillageWarning, match=rf"{blank.sum()} responses have no 'stakeholder_id'"):
            got = metric_table(df, by=by, metrics=["nps", "csat"])
        pd.testing.assert_frame_equal(got, metric_table(named, by=by, metrics=["nps", "csat"]), check_exact=True)
        assert got["n_respondents"].sum() >= blank.sum()
