"""What changed between two dates (models/changes.py, present/changes.py, run(compare_to=...))."""

import numpy as np
import pandas as pd
import pytest

from cxinfluence.exceptions import CxInfluenceError
from cxinfluence.models.changes import CHANGE_COLUMNS, CHANGE_KINDS, what_changed
from cxinfluence.network.influence import influence_weights
from cxinfluence.present.changes import change_highlights, change_sentences
from cxinfluence.village.asof import default_as_of
from cxinfluence.village.core import Village

T0, T1 = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-07-01")


def hand_village():
    """Known changes: Bo left and Cy joined account A, Gus left account B; Dee (veto) went quiet;
    Eve's sentiment fell from +1 to -1; Ann (veto) was heard in both periods."""
    nat = pd.NaT
    s = pd.DataFrame({
        "stakeholder_id": ["ann", "bo", "cy", "dee", "eve", "fay", "gus", "hal"],
        "account_id": ["A"] * 5 + ["B"] * 3,
        "name": ["Ann", "Bo", "Cy", "Dee", "Eve", "Fay", "Gus", "Hal"],
        "title": ["CEO", "Analyst", "Analyst", "CFO", "Engineer", "COO", "Buyer", "Clerk"],
        "role": ["decider", "user", "user", "influencer", "user", "decider", "buyer", "user"],
        "veto": [True, False, False, True, False, True, False, False],
        "active_from": pd.to_datetime([nat, nat, "2024-05-01", nat, nat, nat, nat, nat]),
        "active_to": pd.to_datetime([nat, "2024-04-01", nat, nat, nat, nat, "2024-03-01", nat]),
    })
    r = pd.DataFrame({"source_id": ["bo", "cy", "dee", "eve", "gus", "hal", "hal"],
                      "target_id": ["ann", "ann", "ann", "ann", "fay", "fay", "gus"],
                      "kind": ["reports_to"] * 6 + ["influences"]})
    resp = pd.DataFrame({
        "stakeholder_id": ["eve", "eve", "ann", "ann", "dee", "fay", "fay"],
        "date": pd.to_datetime(["2023-10-01", "2024-03-01", "2023-12-01", "2024-02-01", "2023-11-01",
                                "2023-09-01", "2024-06-01"]),
        "nps": [10.0, 0.0, 8.0, 8.0, 7.0, 9.0, 9.0]})
    acc = pd.DataFrame({"account_id": ["A", "B"], "name": ["Acme", "Bolt"], "annual_revenue": [100.0, 50.0]})
    return Village(acc, s, r, resp, pd.DataFrame(columns=["account_id", "period_end", "renewed"]))


def test_known_joiners_leavers_quiet_veto_holders_and_movers():
    v = hand_village()
    ch = what_changed(v, T0, T1)
    assert list(ch.columns) == CHANGE_COLUMNS
    got = {(c, s) for c, s in zip(ch["change"], ch["stakeholder_id"]) if c != "influence shift"}
    assert got == {("joined", "cy"), ("left", "bo"), ("left", "gus"), ("veto holder went quiet", "dee"),
                   ("sentiment move", "eve")}
    eve = ch[ch["change"] == "sentiment move"].iloc[0]
    assert (eve["from_value"], eve["to_value"]) == (1.0, -1.0) and "fell from +1.00 to -1.00" in eve["reason"]
    dee = ch[ch["change"] == "veto holder went quiet"].iloc[0]
    assert "heard 1 time in the 365 days before 2024-01-01 (last on 2023-11-01); not heard since" in dee["reason"]
    assert "left on 2024-04-01 (Analyst)" in ch.loc[ch["stakeholder_id"] == "bo", "reason"].iloc[0]
    assert ch.loc[ch["stakeholder_id"] == "cy", "reason"].iloc[0].startswith("joined on 2024-05-01 (Analyst, user role)")
    # kinds in the documented order
    order = [CHANGE_KINDS.index(c) for c in ch["change"]]
    assert order == sorted(order)


def test_influence_shifts_match_influence_weights_at_both_dates():
    v = hand_village()
    ch = what_changed(v, T0, T1, min_influence_shift=0.0)
    i0 = influence_weights(v, T0).set_index("stakeholder_id")["influence"]
    i1 = influence_weights(v, T1).set_index("stakeholder_id")["influence"]
    shifts = ch[ch["change"] == "influence shift"].set_index("stakeholder_id")
    assert set(shifts.index) == set(i0.index) & set(i1.index)  # everyone there at both dates
    for sid, r in shifts.iterrows():
        assert r["from_value"] == pytest.approx(i0[sid]) and r["to_value"] == pytest.approx(i1[sid])
        assert r["size"] == pytest.approx(abs(i1[sid] - i0[sid]))
    # account B lost Gus: Fay and Hal's shares moved, and the reason says why
    fay = shifts.loc["fay"]
    assert abs(fay["to_value"] - fay["from_value"]) >= 0.05 and "as 1 left the account" in fay["reason"]
    big = what_changed(v, T0, T1)  # default threshold keeps only shifts of 5 points or more
    assert (big.loc[big["change"] == "influence shift", "size"] >= 0.05).all()


def test_risk_changes_with_reasons():
    v = hand_village()
    before = pd.DataFrame({"account_id": ["A", "B"], "p_renew": [0.9, 0.5], "risk_unhappy_veto": [False, True],
                           "risk_unheard_veto": [False, False]})
    after = pd.DataFrame({"account_id": ["A", "B"], "p_renew": [0.6, 0.52], "risk_unhappy_veto": [False, False],
                          "risk_unheard_veto": [True, False]})
    ch = what_changed(v, T0, T1, risk_from=before, risk_to=after)
    risk = ch[ch["change"] == "risk changed"].set_index("account_id")
    assert risk.loc["A", "reason"] == "chance of renewal 90% to 60%; new warning sign: veto holder unheard"
    assert risk.loc["B", "reason"] == "chance of renewal 50% to 52%; no longer: unhappy veto holder"
    assert risk["stakeholder_id"].isna().all()
    same = what_changed(v, T0, T1, risk_from=before, risk_to=before)
    assert not (same["change"] == "risk changed").any()


def test_dates_in_the_wrong_order_are_refused():
    with pytest.raises(CxInfluenceError, match="not before"):
        what_changed(hand_village(), T1, T0)


def test_sample_village_against_an_independent_count(sample_village):
    v = sample_village
    t1 = default_as_of(v)
    t0 = t1 - pd.Timedelta(days=182)
    ch = what_changed(v, t0, t1)
    s = v.stakeholders

    def active(t):
        return (s["active_from"].isna() | (s["active_from"] <= t)) & (s["active_to"].isna() | (s["active_to"] > t))

    joined = set(s.loc[active(t1) & ~active(t0), "stakeholder_id"].astype(str))
    left = set(s.loc[active(t0) & ~active(t1), "stakeholder_id"].astype(str))
    assert set(ch.loc[ch["change"] == "joined", "stakeholder_id"]) == joined and joined
    assert set(ch.loc[ch["change"] == "left", "stakeholder_id"]) == left and left
    # quiet veto holders, counted from the responses table directly
    resp = v.responses
    before = set(resp.loc[(resp["date"] < t0) & (resp["date"] >= t0 - pd.Timedelta(days=365)), "stakeholder_id"])
    since = set(resp.loc[(resp["date"] >= t0) & (resp["date"] < t1), "stakeholder_id"])
    veto_now = set(ch.loc[ch["change"] == "veto holder went quiet", "stakeholder_id"])
    from cxinfluence.network.influence import active_stakeholders

    now = active_stakeholders(v, t1)
    expected = set(now.loc[now["veto"].astype(bool), "stakeholder_id"]) & (before - since)
    assert veto_now == expected and expected
    assert ch["reason"].str.len().gt(10).all()
    text = change_sentences(ch, t0, t1)
    assert text[0].startswith(f"Between {t0:%Y-%m-%d} and {t1:%Y-%m-%d}, {len(joined):,} people joined")
    top = change_highlights(ch)
    assert 0 < len(top) <= 8 and set(top["change"]) <= {"risk changed", "veto holder went quiet", "left"}


@pytest.mark.slow
def test_run_compare_to_writes_the_table_and_the_report_section(small_synthetic, tmp_path):
    from cxinfluence.pipeline.runner import run
    from cxinfluence.village.csvsafe import read_output_csv

    path, village, _ = small_synthetic
    as_of = default_as_of(village)
    with pytest.raises(CxInfluenceError, match="not before the as-of date"):
        run(path, tmp_path / "bad", maps=0, quiet=True, n_boot=0, compare_to=as_of + pd.Timedelta(days=1))
    assert not (tmp_path / "bad").exists()
    out = tmp_path / "out"
    t0 = as_of - pd.Timedelta(days=180)
    result = run(path, out, maps=0, quiet=True, n_boot=0, compare_to=t0)
    assert not [r for r in result.skipped if r["stage"] == "What changed"]
    table = read_output_csv(out / "what_changed.csv")
    assert list(table.columns) == CHANGE_COLUMNS and len(table)
    assert set(table["change"]) <= set(CHANGE_KINDS)
    page = (out / "report.html").read_text()
    i = page.index("id='what-changed'")
    assert i < page.index("id='appendix'") and f"Between {t0:%Y-%m-%d}" in page
    # default: no comparison, no section, no table
    plain = run(path, tmp_path / "plain", maps=0, quiet=True, n_boot=0)
    assert "what_changed" not in plain.tables and not (tmp_path / "plain" / "what_changed.csv").exists()
    assert "what-changed" not in (tmp_path / "plain" / "report.html").read_text()
    assert np.isfinite(table["size"].astype(float)).all()
