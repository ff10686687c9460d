"""Breakdowns and who-moved, checked on a hand-built village."""

import numpy as np
import pandas as pd
import pytest

from cxinfluence.sentiment.breakdowns import breakdown, by_channel, by_touchpoint, emotions, role_stage, who_moved
from cxinfluence.exceptions import MetricError
from cxinfluence.village.core import Village

D = pd.Timestamp


def village():
    st = pd.DataFrame({
        "stakeholder_id": ["pm", "op1", "op2", "it", "new", "gone"],
        "account_id": ["A", "A", "A", "A", "A", "B"],
        "role": ["decider", "user", "user", "gatekeeper", "buyer", "buyer"],
        "veto": [True, False, False, True, False, False],
        "active_from": pd.to_datetime([None, None, None, None, "2024-04-15", None]),
        "active_to": pd.to_datetime([None, None, None, None, None, "2024-05-01"]),
    })
    r = pd.DataFrame({
        "stakeholder_id": ["pm", "op1", "op2", "op1", "it", "pm", "op1", "new", "gone"],
        "date": pd.to_datetime(["2024-01-10", "2024-01-11", "2024-02-01", "2024-03-01", "2024-03-05",
                                "2024-05-01", "2024-05-02", "2024-05-03", "2024-02-02"]),
        "nps": [9, 10, 3, 6, np.nan, 4, 10, 8, 10],
        "csat": [5, 5, 2, 3, 4, 2, 5, np.nan, 5],
        "trust": [5, 4, 1, np.nan, 4, 2, 5, 4, 5],
        "cared_for": [4, 5, 2, np.nan, 3, 1, 5, np.nan, 5],
        "channel": ["survey", "survey", "informal", "informal", "survey", "interview", "survey", "survey", "survey"],
        "journey_stage": ["renewal", "retention", "retention", "retention", "decision", "renewal", "retention",
                          "retention", "renewal"],
        "touchpoint": ["delivery", "support", "support", "support", "billing", "delivery", "support", "support",
                       "billing"],
    })
    return Village(pd.DataFrame({"account_id": ["A", "B"]}), st,
                   pd.DataFrame(columns=["source_id", "target_id", "kind"]), r,
                   pd.DataFrame(columns=["account_id", "period_end", "renewed"]))


def test_role_stage_per_respondent_and_per_response():
    t = role_stage(village(), metrics=["nps", "csat"]).set_index(["role", "journey_stage"])
    # users at retention: op1's latest NPS is 10 (May), op2's 3 -> (1 - 1)/2 = 0
    assert t.loc[("user", "retention"), "nps"] == 0.0 and t.loc[("user", "retention"), "nps_n"] == 2
    # deciders at renewal: pm's latest NPS is 4 -> -100
    assert t.loc[("decider", "renewal"), "nps"] == -100.0
    r = role_stage(village(), metrics=["nps"], unit="response").set_index(["role", "journey_stage"])
    # per response: 10, 3, 6, 10 -> promoters 2, detractors 2 -> 0, n = 4
    assert r.loc[("user", "retention"), "nps_n"] == 4
    assert r.loc[("buyer", "renewal"), "nps"] == 100.0


def test_role_stage_as_of_uses_window_and_active_people():
    t = role_stage(village(), metrics=["nps"], as_of="2024-04-01", window_days=365)
    t = t.set_index(["role", "journey_stage"])
    assert t.loc[("decider", "renewal"), "nps"] == 100.0  # pm's May answer is in the future
    assert t.loc[("user", "retention"), "nps"] == -100.0  # op1 latest before April: 6; op2: 3
    # 'gone' left on 2024-05-01: heard as of April, not as of June
    assert ("buyer", "renewal") in t.index
    t2 = role_stage(village(), metrics=["nps"], as_of="2024-06-30").set_index(["role", "journey_stage"])
    assert ("buyer", "renewal") not in t2.index


def test_touchpoint_and_channel():
    t = by_touchpoint(village(), metrics=["csat"], unit="response").set_index("touchpoint")
    assert t.loc["support", "csat"] == pytest.approx(100 * 2 / 4)  # 5, 2, 3, 5
    assert t.loc["billing", "csat_n"] == 2
    c = by_channel(village(), metrics=["nps"]).set_index("channel")
    # informal: op2 (3) and op1's informal answer (6): both detractors
    assert c.loc["informal", "nps"] == -100.0 and c.loc["informal", "nps_n"] == 2
    assert c.loc["interview", "nps"] == -100.0
    tr = by_touchpoint(village(), metrics=["nps"], extra_by=["role"])
    assert {"touchpoint", "role"} <= set(tr.columns)


def test_emotions_means_and_top_box_share():
    e = emotions(village()).set_index("role")
    # users: op1 latest trust 5 (May), op2 1 -> mean 3, share 4-5 = 50 %
    assert e.loc["user", "trust"] == 3.0 and e.loc["user", "trust_high"] == 50.0
    assert e.loc["user", "cared_for"] == 3.5
    assert e.loc["gatekeeper", "cared_for_high"] == 0.0


def test_breakdown_skips_metrics_without_columns_and_errors():
    v = village()
    v.responses = v.responses.drop(columns=["trust", "cared_for"])
    t = emotions(v, metrics=["trust", "nps"])
    assert "trust" not in t.columns and "nps" in t.columns
    with pytest.raises(MetricError, match="none of the score columns"):
        emotions(v, metrics=["trust"])
    with pytest.raises(MetricError, match="by=\\['region'\\]"):
        breakdown(village(), "region")


INFL = pd.DataFrame({"stakeholder_id": ["pm", "op1", "op2", "it", "new", "gone"],
                     "influence": [0.5, 0.1, 0.1, 0.2, 0.1, 1.0]})


def test_who_moved_account_level_hand_computed():
    m = who_moved(village(), "2024-03-31", "2024-05-31", influence=INFL)
    a = m.set_index("account_id").loc["A"]
    # window defaults to the 61 days between the dates, so January drops out of the first period:
    # from: op2 (3, 2, 1, 2) -> (-0.4 - 0.5 - 1 - 0.5)/4 = -0.6; op1 (6, 3) -> 0.1; it (csat 4, trust 4, cared 3) -> 1/3
    assert a["n_respondents_from"] == 3 and a["n_respondents_to"] == 3
    assert a["mean_from"] == pytest.approx((-0.6 + 0.1 + 1 / 3) / 3)
    # mean at to_date: pm (4,2,2,1) -> (-0.2 - 0.5 - 0.5 - 1)/4 = -0.55; op1 all top -> 1; new (8, trust 4) -> 0.55
    assert a["mean_to"] == pytest.approx((-0.55 + 1.0 + 0.55) / 3)
    assert a["mean_change"] == pytest.approx(a["mean_to"] - a["mean_from"])
    assert list(m["account_id"]) == ["A", "B"]  # B has no data at to_date: NaN change sorts last
    assert np.isnan(m.set_index("account_id").loc["B", "influence_weighted_change"])
    assert a["significant"] in (True, False)


def test_who_moved_significance_flag_uses_both_ses():
    m = who_moved(village(), "2024-03-31", "2024-05-31", influence=INFL, scheme="mean").set_index("account_id")
    a = m.loc["A"]
    se = np.sqrt(a["mean_se_from"] ** 2 + a["mean_se_to"] ** 2)
    assert a["significant"] == (abs(a["mean_change"]) > 1.959964 * se)


def test_who_moved_stakeholder_statuses_and_ranking():
    m = who_moved(village(), "2024-03-31", "2024-05-31", level="stakeholder", influence=INFL)
    s = m.set_index("stakeholder_id")
    assert s.loc["pm", "status"] == "new voice"  # pm's Jan answer is outside the 61-day first window
    assert s.loc["op1", "status"] == "moved"
    assert s.loc["op2", "status"] == "gone quiet" and s.loc["it", "status"] == "gone quiet"
    assert s.loc["new", "status"] == "joined" and s.loc["gone", "status"] == "left"
    # op1: from (nps 6, csat 3) -> (0.2 + 0)/2 = 0.1 to 1.0
    assert s.loc["op1", "change"] == pytest.approx(0.9)
    assert s.loc["op1", "weighted_change"] == pytest.approx(0.1 * 0.9)
    assert m["stakeholder_id"].iloc[0] == "op1"  # the only finite weighted change
    w = who_moved(village(), "2024-03-31", "2024-05-31", level="stakeholder", influence=INFL, window_days=365)
    w = w.set_index("stakeholder_id")
    # Jan: (9, 5, 5, 4) -> 0.825; by May both answers are in the 365-day window: (0.825 - 0.55)/2
    assert w.loc["pm", "status"] == "moved" and w.loc["pm", "change"] == pytest.approx(0.1375 - 0.825)


@pytest.mark.parametrize("args, kw, text", [
    (("2024-06-30", "2024-03-31"), {}, "from_date='2024-06-30' is not before"),
    (("2024-03-31", "2024-05-31"), {"level": "team"}, "level='team'"),
    (("2024-03-31", "2024-05-31"), {"scheme": "nps"}, "scheme='nps'"),
    (("later", "2024-06-30"), {}, "from_date='later'"),
])
def test_who_moved_errors(args, kw, text):
    with pytest.raises(ValueError) as err:
        who_moved(village(), *args, influence=INFL, **kw)
    assert text in str(err.value)
