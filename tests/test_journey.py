"""Journey view and pain points, checked against hand calculations and scipy."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cxinfluence.sentiment.journey import journey_view, pain_points
from cxinfluence.village.core import Village


def village():
    accounts = pd.DataFrame({"account_id": ["A", "B"], "segment": ["chem", "food"]})
    stakeholders = pd.DataFrame({
        "stakeholder_id": ["pm", "op1", "op2", "ehs", "buyer"],
        "account_id": ["A", "A", "A", "A", "B"],
        "role": ["decider", "user", "user", "gatekeeper", "buyer"],
        "active_to": pd.to_datetime([None, None, None, "2024-05-01", None]),
    })
    relationships = pd.DataFrame(columns=["source_id", "target_id", "kind"])
    # csat on the common scale: 1 -> -1, 2 -> -0.5, 3 -> 0, 4 -> 0.5, 5 -> 1.
    responses = pd.DataFrame({
        "stakeholder_id": ["pm", "pm", "op1", "op2", "ehs", "buyer", "op1", "pm", "buyer", "op1"],
        "date": pd.to_datetime(["2024-01-15", "2024-02-15", "2024-01-20", "2024-03-01", "2024-02-01",
                                "2024-03-10", "2024-04-10", "2024-05-05", "2024-05-06", "2024-07-01"]),
        "csat": [1.0, 2.0, 5.0, 4.0, 2.0, 3.0, 5.0, 4.0, 1.0, 1.0],
        "journey_stage": ["retention"] * 6 + ["renewal"] * 4,
        "touchpoint": ["delivery", "delivery", "delivery", "delivery", "delivery", "billing", "billing",
                       "billing", "billing", "delivery"],
        "comment": ["late again", None, "great crew", None, None, None, None, None, "invoice wrong", None],
    })
    outcomes = pd.DataFrame(columns=["account_id", "period_end", "renewed"])
    return Village(accounts, stakeholders, relationships, responses, outcomes)


def test_journey_view_by_stage_touchpoint_quarter_by_hand():
    v = village()
    before = v.responses.copy()
    jv = journey_view(v)
    pd.testing.assert_frame_equal(v.responses, before)
    row = jv.set_index(["journey_stage", "touchpoint", "period"]).loc[("retention", "delivery", "2024Q1")]
    # pm: mean(-1, -0.5) = -0.75 (counted once); op1 1.0; op2 0.5; ehs -0.5.
    person = np.array([-0.75, 1.0, 0.5, -0.5])
    assert row["n_responses"] == 5 and row["n_respondents"] == 4 and row["n_accounts"] == 1
    assert row["sentiment"] == pytest.approx(person.mean())
    se = person.std(ddof=1) / 2
    assert row["se"] == pytest.approx(se)
    half = stats.t.ppf(0.975, 3) * se
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((person.mean() - half, person.mean() + half))
    assert row["period_start"] == pd.Timestamp("2024-01-01")
    single = jv.set_index(["journey_stage", "touchpoint", "period"]).loc[("retention", "billing", "2024Q1")]
    assert single["n_respondents"] == 1 and np.isnan(single["se"]) and np.isnan(single["ci_low"])
    assert len(jv) == 4  # retention x {delivery, billing} in Q1, renewal billing Q2, renewal delivery Q3


def test_journey_view_by_role_segment_and_over_time():
    v = village()
    by_role = journey_view(v, by="role", freq=None).set_index("role")
    assert by_role.loc["decider", "sentiment"] == pytest.approx(np.mean([-1, -0.5, 0.5]))
    assert by_role.loc["user", "n_respondents"] == 2
    # op1: mean(1, 1, -1) = 1/3; op2 0.5.
    assert by_role.loc["user", "sentiment"] == pytest.approx((1 / 3 + 0.5) / 2)
    monthly = journey_view(v, by=["segment"], freq="M")
    assert monthly[monthly["segment"] == "food"]["period"].tolist() == ["2024-03", "2024-05"]
    yearly = journey_view(v, by="segment", freq="Y").set_index("segment")
    assert yearly.loc["chem", "n_accounts"] == 1 and yearly.loc["food", "n_responses"] == 2


def test_journey_view_window_has_no_future():
    v = village()
    jv = journey_view(v, "2024-05-05", by="touchpoint", freq=None, window_days=365).set_index("touchpoint")
    # 2024-05-05 itself and later are excluded.
    assert jv.loc["billing", "n_responses"] == 2 and jv.loc["delivery", "n_responses"] == 5
    v2 = village()
    v2.responses.loc[len(v2.responses)] = ["pm", pd.Timestamp("2024-06-01"), 5.0, "renewal", "billing", None]
    again = journey_view(v2, "2024-05-05", by="touchpoint", freq=None, window_days=365)
    pd.testing.assert_frame_equal(again, jv.reset_index())


def test_journey_view_comment_source_and_errors():
    v = village()
    jv = journey_view(v, by="touchpoint", freq=None, source="comment").set_index("touchpoint")
    assert jv.loc["delivery", "n_responses"] == 2 and jv.loc["billing", "n_responses"] == 1
    assert jv.loc["billing", "sentiment"] < 0
    both = journey_view(v, by="touchpoint", freq=None, source="both").set_index("touchpoint")
    assert both.loc["delivery", "n_responses"] == 6
    with pytest.raises(KeyError, match="nowhere|none of responses"):
        journey_view(v, by="colour")
    with pytest.raises(ValueError, match="source='text'"):
        journey_view(v, source="text")


def test_pain_points_by_hand():
    v = village()
    inf = pd.DataFrame({"stakeholder_id": ["pm", "op1", "op2", "buyer"], "influence": [0.6, 0.2, 0.2, 1.0]})
    pp = pain_points(v, "2024-06-30", influence=inf, window_days=365, min_respondents=2)
    d = pp.set_index("touchpoint").loc["delivery"]
    # ehs left on 2024-05-01 (not in influence): excluded. op1's 2024-07-01 response is after as_of.
    s = np.array([-0.75, 1.0, 0.5])
    w = np.array([0.6, 0.2, 0.2])
    m = (w * s).sum() / w.sum()
    assert d["n_respondents"] == 3 and d["n_responses"] == 4
    assert d["influence_weighted"] == pytest.approx(m)
    assert d["mean"] == pytest.approx(s.mean())
    assert d["gap"] == pytest.approx(m - s.mean())
    assert d["effective_n"] == pytest.approx(w.sum() ** 2 / (w ** 2).sum())
    se = np.sqrt(3 / 2 * ((w * (s - m)) ** 2).sum()) / w.sum()
    assert d["se"] == pytest.approx(se)
    half = stats.t.ppf(0.975, w.sum() ** 2 / (w ** 2).sum() - 1) * se
    assert d["ci_low"] == pytest.approx(m - half)
    assert d["unhappy_influence"] == pytest.approx(0.6)
    assert d["heard_influence"] == pytest.approx(1.0)
    b = pp.set_index("touchpoint").loc["billing"]
    # pm 0.5, op1 1.0 (account A), buyer mean(0, -1) = -0.5 (account B).
    wb, sb = np.array([0.6, 0.2, 1.0]), np.array([0.5, 1.0, -0.5])
    assert b["influence_weighted"] == pytest.approx((wb * sb).sum() / wb.sum())
    assert b["n_accounts"] == 2 and b["heard_influence"] == pytest.approx(1.8)
    # delivery -0.15 < billing 0.0: least happy first.
    assert b["influence_weighted"] == pytest.approx(0.0, abs=1e-12) and m == pytest.approx(-0.15)
    assert pp["touchpoint"].tolist() == ["delivery", "billing"]


def test_pain_points_small_groups_listed_last():
    v = village()
    inf = pd.DataFrame({"stakeholder_id": ["pm", "op1", "op2", "buyer"], "influence": [0.6, 0.2, 0.2, 1.0]})
    pp = pain_points(v, "2024-06-30", by=["journey_stage", "touchpoint"], influence=inf, min_respondents=3)
    assert pp["small_n"].tolist() == sorted(pp["small_n"].tolist())
    # renewal billing: op1 1.0 (w 0.2), pm 0.5 (0.6), buyer -1 (1.0) -> -0.5/1.8; retention delivery -0.15.
    assert pp.iloc[0][["journey_stage", "touchpoint"]].tolist() == ["renewal", "billing"]
    assert pp.iloc[0]["influence_weighted"] == pytest.approx(-0.5 / 1.8)
    assert pp.iloc[-1][["journey_stage", "touchpoint"]].tolist() == ["retention", "billing"]  # buyer alone
    assert pp.iloc[-1]["small_n"]


def test_pain_points_with_influence_weights():
    pytest.importorskip("cxinfluence.network.influence")
    v = village()
    pp = pain_points(v, "2024-06-30", min_respondents=1)
    assert set(pp["touchpoint"]) == {"delivery", "billing"}
    assert (pp["heard_influence"] > 0).all() and (pp["heard_influence"] <= 2 + 1e-9).all()
    with pytest.raises(ValueError, match="stakeholder_id and influence"):
        pain_points(v, "2024-06-30", influence=pd.DataFrame({"stakeholder_id": ["pm"]}))
