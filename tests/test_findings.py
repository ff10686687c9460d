"""Tests of cxinfluence.models.findings: every number in a sentence comes from a result."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from cxinfluence.models.compare import compare_schemes
from cxinfluence.exceptions import ModelError
from cxinfluence.models.findings import (bookings_findings, comparison_findings, decision_findings, findings,
                                  rebuy_findings)
from cxinfluence.models.fit import decision_equation, fit_bookings, fit_formula, fit_rebuy

REF = Path(__file__).parent / "reference"


# Each test that expects a degeneracy asserts it explicitly with pytest.warns.
pytestmark = pytest.mark.usefixtures("quiet_degenerate_fits")


def _numbers(sentence):
    return [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?", sentence)]


def test_marginal_effects_reproduce_stata_margins():
    d = sm.datasets.spector.load_pandas().data
    ref = pd.read_csv(REF / "spector_logit.csv").set_index("term")
    f = fit_formula(d, "GRADE ~ GPA + TUCE + PSI", cluster=None)
    out = rebuy_findings(f, terms=["GPA", "TUCE"]).set_index("term")
    for t in ("GPA", "TUCE"):
        np.testing.assert_allclose(out.loc[t, "estimate"], 100 * ref.loc[t, "ame"], rtol=1e-5)
        half = (out.loc[t, "ci_high"] - out.loc[t, "ci_low"]) / 2
        np.testing.assert_allclose(half, 100 * 1.959964 * ref.loc[t, "ame_std_error"], rtol=1e-4)
    s = out.loc["GPA", "sentence"]
    assert s.startswith("Unreliable estimate (too few events")
    assert "Each 1 point higher GPA goes with a 36-point higher chance of renewal" in s
    assert "not distinguishable from no difference" in out.loc["TUCE", "sentence"]
    assert not out["reliable"].any()


def _roles(n=2500, seed=0, collinear=False):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"account_id": np.arange(n).astype(str)})
    eta = np.full(n, 0.5)
    for r, b in {"decider": 2.0, "user": 0.0}.items():
        s = rng.uniform(-1, 1, n)
        df[f"sent_{r}"], df[f"heard_{r}"] = s, 1.0
        eta += b * s
    if collinear:
        df["sent_user"] = df["sent_decider"]
    df["renewed"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(float)
    return df


def test_decision_sentences_use_the_effects_table():
    f = decision_equation(_roles(), controls=[])
    out = decision_findings(f).set_index("term")
    e = f.effects.set_index("term")
    s = out.loc["sent_decider", "sentence"]
    assert s.startswith("Accounts whose deciders are detractors renew")
    nums = _numbers(s)
    # points, CI low, CI high, p_low %, p_high %, all rounded from the effects table
    assert nums[1] == 95
    assert nums[0] == round(100 * e.loc["sent_decider", "difference"])
    assert sorted(nums[2:4]) == [round(100 * e.loc["sent_decider", "ci_low"]), round(100 * e.loc["sent_decider", "ci_high"])]
    assert nums[4:6] == [round(100 * e.loc["sent_decider", "p_low"]), round(100 * e.loc["sent_decider", "p_high"])]
    assert "not distinguishable" in out.loc["sent_user", "sentence"]  # true effect 0
    assert out["reliable"].all()


def test_unreliable_decision_sentences_say_so():
    f = decision_equation(_roles(collinear=True), controls=[])
    out = decision_findings(f).set_index("term")
    assert out.loc["sent_user", "sentence"].startswith("The effect of users' sentiment cannot be estimated")
    assert out.loc["sent_decider", "sentence"].startswith("Unreliable estimate (")
    assert not out["reliable"].any()


def test_binary_term_is_a_scenario():
    rng = np.random.default_rng(3)
    n = 2000
    df = pd.DataFrame({"account_id": np.arange(n).astype(str), "veto_detractor": (rng.uniform(size=n) < 0.4) * 1.0})
    df["renewed"] = (rng.uniform(size=n) < np.where(df["veto_detractor"] == 1, 0.5, 0.8)).astype(float)
    f = fit_rebuy(df, scheme="veto_detractor", controls=[])
    out = rebuy_findings(f).iloc[0]
    by_hand = 100 * (df.loc[df["veto_detractor"] == 1, "renewed"].mean() - df.loc[df["veto_detractor"] == 0, "renewed"].mean())
    assert out["estimate"] == pytest.approx(by_hand, rel=1e-6)  # saturated logit: difference of means
    assert out["sentence"].startswith(f"Accounts with a detractor among their heard veto holders renew {round(-by_hand)} points less often")


def test_bookings_percentages():
    rng = np.random.default_rng(4)
    n = 1500
    df = pd.DataFrame({"account_id": np.arange(n).astype(str), "influence_weighted": rng.uniform(-1, 1, n)})
    df["bookings"] = rng.gamma(2.0, np.exp(5 + 1.0 * df["influence_weighted"]) / 2.0)
    f = fit_bookings(df, scheme="influence_weighted", controls=[])
    out = bookings_findings(f).iloc[0]
    b = f.result.params["influence_weighted"]
    assert out["estimate"] == pytest.approx(100 * np.expm1(0.1 * b))
    assert "Each 0.1 higher influence-weighted sentiment (on its -1 to 1 scale) goes with" in out["sentence"]
    assert f"{round(100 * np.expm1(0.1 * b))}% higher expected bookings" in out["sentence"]
    with pytest.raises(ModelError, match="log link"):
        bookings_findings(fit_rebuy(df.assign(renewed=(df["bookings"] > 300) * 1.0), scheme="influence_weighted",
                                    controls=[]))


def _cmp_frame(noise, seed):
    rng = np.random.default_rng(seed)
    n = 1000
    t = rng.uniform(-1, 1, n)
    df = pd.DataFrame({"account_id": np.arange(n).astype(str), "mean": t + rng.normal(0, noise[0], n),
                       "influence_weighted": t + rng.normal(0, noise[1], n)})
    df["renewed"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-2 * t))).astype(float)
    return df


def test_comparison_sentences():
    c = compare_schemes(_cmp_frame((1.0, 0.1), 5), ["mean", "influence_weighted"], controls=[], n_boot=100)
    s = comparison_findings(c)["sentence"].iloc[0]
    t = c.table.set_index("scheme")
    assert s.startswith("On held-out accounts, influence-weighted sentiment predicts renewal best")
    assert f"AUC {t.loc['influence_weighted', 'auc']:.3f} against {t.loc['mean', 'auc']:.3f}" in s
    c2 = compare_schemes(_cmp_frame((0.5, 0.5), 6), ["mean", "influence_weighted"], controls=[], n_boot=100)
    s2 = comparison_findings(c2)["sentence"].iloc[0]
    assert "no scheme predicts renewal" in s2


def test_findings_dispatch_and_errors():
    f1 = decision_equation(_roles(), controls=[])
    f2 = fit_rebuy(_roles().rename(columns={"sent_decider": "mean"}), scheme="mean", controls=[])
    out = findings([f1, f2])
    assert list(out["topic"]) == ["decision equation", "decision equation", "renewal"]
    assert out["sentence"].str.len().gt(40).all()
    with pytest.raises(ModelError, match="expected a Fit"):
        rebuy_findings("not a fit")
    with pytest.raises(ModelError, match="no scenario effects"):
        decision_findings(f2)


def test_multi_index_step_is_one_of_its_own_standard_deviations():
    rng = np.random.default_rng(5)
    n = 800
    df = pd.DataFrame({"account_id": np.arange(n).astype(str), "multi_index": rng.normal(0, 0.6, n)})
    df["renewed"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-(1 + df["multi_index"])))).astype(float)
    f = fit_rebuy(df, scheme="multi_index", controls=[])
    row = rebuy_findings(f, terms=["multi_index"]).iloc[0]
    ame = f.result.get_margeff(at="overall").summary_frame().iloc[0, 0]
    np.testing.assert_allclose(row["estimate"], 100 * ame * df["multi_index"].std(), rtol=1e-9)
    assert "1 standard deviation" in row["sentence"]


def test_an_interval_crossing_zero_keeps_its_negative_end():
    # The stated effect is "N points less"; its interval must not be made absolute.
    from cxinfluence.models.findings import _along, _ci

    assert _ci(*_along(11.0, -2.0, 23.0), 0.95) == "95% CI -2.0 to 23"
    assert _ci(*_along(-11.0, -23.0, 2.0), 0.95) == "95% CI -2.0 to 23"
    assert _ci(*_along(-11.0, -23.0, -2.0), 0.95) == "95% CI 2.0 to 23"


def test_decision_sentences_state_the_signed_interval():
    fit = decision_equation(_roles(n=400, seed=2))
    for _, row in decision_findings(fit).iterrows():
        lo, hi = sorted(_numbers(row["sentence"].split("CI ")[1])[:2])
        crosses = row["ci_low"] <= 0 <= row["ci_high"]
        assert (lo <= 0 <= hi) == crosses
        assert ("not distinguishable" in row["sentence"]) == crosses
