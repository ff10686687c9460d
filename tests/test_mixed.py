"""Mixed models against lme4: random slopes, variance components on their own
scale, the boundary-aware likelihood-ratio test, and degenerate fits flagged."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from cxinfluence.exceptions import DegenerateFitError, DegenerateFitWarning, ModelError
from cxinfluence.models.mixed import lrt_mixture_pvalue, parse_random
from cxinfluence.models.fit import fit_formula, fit_mixed, models_table

REF = Path(__file__).parent / "reference"
LME4 = json.loads((REF / "lme4_mixed.json").read_text())

pytestmark = pytest.mark.usefixtures("quiet_degenerate_fits")


@pytest.fixture(scope="module")
def sleep():
    return pd.read_csv(REF / "sleepstudy.csv")


@pytest.fixture(scope="module")
def dyestuff():
    return pd.read_csv(REF / "Dyestuff.csv")


@pytest.fixture(scope="module")
def sleep_fit(sleep):
    return fit_formula(sleep, "Reaction ~ Days + (Days | Subject)", family="gaussian")


def _vc(fit):
    t = fit.tidy().set_index("term")
    return t


def test_sleepstudy_random_slopes_reproduce_lme4(sleep_fit):
    ref = LME4["sleepstudy_reml"]
    f = sleep_fit
    assert f.kind == "mixedlm" and f.reliable and f.cov_type == "reml"
    t = _vc(f)
    for term in ("Intercept", "Days"):
        assert t.loc[term, "estimate"] == pytest.approx(ref["fixef"][term], abs=5e-4)
        assert t.loc[term, "std_error"] == pytest.approx(ref["se"][term], abs=5e-4)
    # variance components on their own scale (lme4 VarCorr), to the printed precision; the REML surface is
    # flat along the intercept's variance (1e-9 in the criterion moves it by 0.007: tests/test_lmm.py finds
    # the optimum at 612.09), so lme4's own optimiser prints 612.10
    assert t.loc["var(Subject: (Intercept))", "estimate"] == pytest.approx(ref["var"]["(Intercept)"], abs=0.015)
    assert t.loc["var(Subject: Days)", "estimate"] == pytest.approx(ref["var"]["Days"], abs=5e-3)
    assert t.loc["var(Residual)", "estimate"] == pytest.approx(ref["var"]["Residual"], abs=5e-3)
    assert t.loc["sd(Subject: (Intercept))", "estimate"] == pytest.approx(ref["sd"]["(Intercept)"], abs=1e-3)
    assert t.loc["sd(Subject: Days)", "estimate"] == pytest.approx(ref["sd"]["Days"], abs=5e-4)
    assert t.loc["sd(Residual)", "estimate"] == pytest.approx(ref["sd"]["Residual"], abs=5e-4)
    assert round(t.loc["corr(Subject: (Intercept), Days)", "estimate"], 2) == ref["corr"]
    assert -2 * f.result.llf == pytest.approx(ref["reml_criterion"], abs=5e-3)


def test_variance_components_have_no_wald_statistics(sleep_fit):
    t = sleep_fit.tidy()
    vc = t[t["term"].str.match(r"(var|sd|cov|corr)\(")]
    assert len(vc) == 8
    assert vc[["std_error", "ci_low", "ci_high"]].isna().all().all()
    # the only p-value is the boundary-aware LRT's, on the tested variance
    assert vc["p_value"].notna().sum() == 1
    assert vc.set_index("term").loc["var(Subject: Days)", "test"].startswith("LRT")
    # not the ratio to the residual variance statsmodels keeps in params (0.93 here)
    assert vc.set_index("term").loc["var(Subject: (Intercept))", "estimate"] > 600
    text = sleep_fit.summary()
    assert "var(Subject: (Intercept)) = 612.09" in text and "Group Var" not in text


def test_sleepstudy_lrt_of_the_random_slope(sleep, sleep_fit):
    ref = LME4["sleepstudy_reml"]
    t = sleep_fit.variance_test
    assert t["term"] == "Days" and t["q"] == 1
    assert -2 * t["llf_full"] == pytest.approx(ref["ml_deviance"], abs=5e-3)  # lme4 deviance(refitML(fm1))
    reduced = smf.mixedlm("Reaction ~ Days", sleep, groups=sleep["Subject"]).fit(reml=False)
    lr = 2 * (t["llf_full"] - reduced.llf)
    assert t["statistic"] == pytest.approx(lr, rel=1e-6)
    # Stram & Lee (1994): 50:50 mixture of chi2(1) and chi2(2), half-way between the naive tails
    expect = 0.5 * stats.chi2.sf(lr, 1) + 0.5 * stats.chi2.sf(lr, 2)
    assert t["p_value"] == pytest.approx(expect, rel=1e-9)
    assert stats.chi2.sf(lr, 1) < t["p_value"] < stats.chi2.sf(lr, 2)


def test_dyestuff_variance_components_and_boundary_lrt(dyestuff):
    ref = LME4["dyestuff_reml"]
    f = fit_formula(dyestuff, "Yield ~ 1 + (1 | Batch)", family="gaussian")
    t = _vc(f)
    assert t.loc["Intercept", "estimate"] == pytest.approx(ref["fixef"]["Intercept"], abs=0.05)
    assert t.loc["Intercept", "std_error"] == pytest.approx(ref["se"]["Intercept"], abs=5e-3)
    assert t.loc["var(Batch: (Intercept))", "estimate"] == pytest.approx(ref["var"]["(Intercept)"], abs=0.5)
    # the REML surface is flat here: statsmodels stops at 2451.22, lme4 prints 2451.3 (0.003% apart)
    assert t.loc["var(Residual)", "estimate"] == pytest.approx(ref["var"]["Residual"], abs=0.1)
    assert t.loc["sd(Batch: (Intercept))", "estimate"] == pytest.approx(ref["sd"]["(Intercept)"], abs=5e-3)
    assert t.loc["sd(Residual)", "estimate"] == pytest.approx(ref["sd"]["Residual"], abs=5e-3)
    assert -2 * f.result.llf == pytest.approx(ref["reml_criterion"], abs=0.05)
    # LRT against no random effect: lme4's ML deviance vs the OLS deviance by hand
    y = dyestuff["Yield"].to_numpy(float)
    ols_dev = len(y) * (np.log(2 * np.pi * np.mean((y - y.mean()) ** 2)) + 1)
    lr = ols_dev - ref["ml_deviance"]
    test = f.variance_test
    assert test["q"] == 0 and test["statistic"] == pytest.approx(lr, abs=0.05)
    assert test["p_value"] == pytest.approx(0.5 * stats.chi2.sf(test["statistic"], 1), rel=1e-9)
    assert t.loc["var(Batch: (Intercept))", "p_value"] == test["p_value"]


def test_fit_mixed_re_formula_equals_lme4_syntax(sleep, sleep_fit):
    f = fit_mixed(sleep, scheme="Days", controls=[], outcome="Reaction", groups="Subject", re_formula="~Days",
                  transform=None, lrt=False)
    np.testing.assert_allclose(f.result.fe_params, sleep_fit.result.fe_params, rtol=1e-8)
    np.testing.assert_allclose(f.variance_components["estimate"], sleep_fit.variance_components["estimate"], rtol=1e-6)
    assert f.variance_test is None and any("no likelihood-ratio test" in n for n in f.notes)


def test_parse_random_forms_and_errors():
    assert parse_random("y ~ x + (0 + x | g)") == ("y ~ x", "~0 + x", "g", ["x"], False)
    assert parse_random("y ~ (1 + x | g) + x") == ("y ~ x", "~x", "g", ["x"], True)
    with pytest.raises(ModelError, match="uncorrelated"):
        parse_random("y ~ x + (x || g)")
    with pytest.raises(ModelError, match="2 random-effect terms"):
        parse_random("y ~ x + (1 | g) + (0 + x | g)")


def test_lrt_mixture_pvalue_is_half_the_chi2_tail():
    assert lrt_mixture_pvalue(3.8414588, 0) == pytest.approx(0.025, rel=1e-6)
    assert lrt_mixture_pvalue(5.0, 1) == pytest.approx(0.5 * stats.chi2.sf(5, 1) + 0.5 * stats.chi2.sf(5, 2))
    assert lrt_mixture_pvalue(-1e-9, 2) == 1.0


# --------------------------------------------------------------------------
# Degenerate mixed fits are flagged, never reliable
# --------------------------------------------------------------------------
def _no_group_effect(n_groups=8, per=40, seed=5):
    """Groups whose means are identical by construction: the variance is 0."""
    rng = np.random.default_rng(seed)
    g = np.repeat([f"g{i}" for i in range(n_groups)], per)
    x = rng.uniform(-1, 1, len(g))
    e = rng.normal(0, 1, len(g))
    e -= pd.Series(e).groupby(g).transform("mean").to_numpy()
    return pd.DataFrame({"account_id": [f"a{i}" for i in range(len(g))], "segment": g, "mean": x,
                         "y": 2 + 0.5 * x + e})


def test_zero_group_variance_is_boundary_and_unreliable():
    df = _no_group_effect()
    with pytest.warns(DegenerateFitWarning, match="boundary"):
        f = fit_mixed(df, scheme="mean", controls=[], outcome="y", transform=None)
    assert f.flags["boundary"] and not f.reliable
    row = models_table(f).iloc[0]
    assert bool(row["flag_boundary"]) and not bool(row["reliable"])
    assert f.variance_test["statistic"] == pytest.approx(0.0, abs=1e-6) and f.variance_test["p_value"] == 1.0


def test_few_groups_flagged_in_linear_mixed_model():
    df = _no_group_effect(n_groups=3, per=60, seed=6)
    df["y"] += df["segment"].map({"g0": -1.0, "g1": 0.0, "g2": 1.0})
    f = fit_mixed(df, scheme="mean", controls=[], outcome="y", transform=None, lrt=False)
    assert f.flags["few_groups"] and not f.reliable


def test_constant_outcome_is_a_named_error():
    df = _no_group_effect().assign(y=3.0)
    with pytest.raises(DegenerateFitError, match="3 in every one"):
        fit_mixed(df, scheme="mean", controls=[], outcome="y", transform=None)


def test_binary_mixed_model_complete_separation_is_flagged():
    rng = np.random.default_rng(7)
    n = 400
    df = pd.DataFrame({"account_id": [f"a{i}" for i in range(n)], "segment": rng.choice(list("abcdefgh"), n),
                       "mean": rng.uniform(-1, 1, n)})
    df["renewed"] = (df["mean"] > 0).astype(float)
    with pytest.warns(DegenerateFitWarning, match="separation"):
        f = fit_mixed(df, scheme="mean", controls=[], outcome="renewed")
    assert f.kind == "bayes_mixed_glm" and f.flags["separation"] and not f.reliable
    assert models_table(f)["flag_separation"].all()


def test_binary_mixed_model_on_good_data_stays_reliable():
    rng = np.random.default_rng(8)
    n = 1500
    seg = rng.choice(list("abcdefgh"), n)
    u = dict(zip("abcdefgh", rng.normal(0, 0.5, 8)))
    df = pd.DataFrame({"account_id": [f"a{i}" for i in range(n)], "segment": seg, "mean": rng.uniform(-1, 1, n)})
    eta = 0.3 + 1.2 * df["mean"] + df["segment"].map(u)
    df["renewed"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(float)
    f = fit_mixed(df, scheme="mean", controls=[], outcome="renewed")
    assert f.reliable, f.warnings
    assert not any(f.flags.values())


def test_sample_village_bookings_mixed_model_is_not_reliable(sample_frame):
    """The issue's case: segment variance at 0 on the sample village, once reported reliable."""
    f = fit_mixed(sample_frame, scheme="influence_weighted", outcome="bookings", groups="segment", lrt=False)
    assert f.flags["boundary"] and not f.reliable
    assert not models_table(f)["reliable"].any()


@pytest.fixture(scope="module")
def sample_frame(sample_village):
    from cxinfluence.models.frame import model_frame

    return model_frame(sample_village)


def test_exact_fit_and_nan_standard_errors_are_flagged():
    rng = np.random.default_rng(0)
    g = np.repeat([f"g{i}" for i in range(8)], 20)
    x = rng.uniform(-1, 1, len(g))
    u = dict(zip(sorted(set(g)), rng.normal(0, 1, 8)))
    df = pd.DataFrame({"account_id": np.arange(len(g)).astype(str), "segment": g, "mean": x})
    df["y"] = 2 + 0.5 * x + df["segment"].map(u)  # no residual noise: residual variance 0
    f = fit_mixed(df, scheme="mean", controls=[], outcome="y", transform=None, lrt=False)
    assert f.flags["boundary"] and not f.reliable and "residual variance" in "; ".join(f.warnings)
    df["y"] = 5.0 + 0.5 * x  # neither group effect nor noise: statsmodels returns a NaN intercept SE
    f = fit_mixed(df, scheme="mean", controls=[], outcome="y", transform=None, lrt=False)
    assert not np.isfinite(f.result.bse_fe["Intercept"])
    assert f.flags["nonfinite"] and f.flags["boundary"] and not f.reliable


def test_fixed_effects_use_between_within_degrees_of_freedom(sleep_fit):
    """Intercept and Days (which has a random slope) are tested on the 18 subjects: 18 - 2 = 16 df (lmerTest's
    Satterthwaite gives 17 for both); a slope within groups without a random slope gets the rows' df."""
    t = sleep_fit.tidy().set_index("term")
    for term in ("Intercept", "Days"):
        row = t.loc[term]
        assert row["test"] == "Wald t (16 df, between-within)"
        q = stats.t.ppf(0.975, 16)
        assert row["ci_low"] == pytest.approx(row["estimate"] - q * row["std_error"], rel=1e-12)
        assert row["p_value"] == pytest.approx(2 * stats.t.sf(abs(row["estimate"] / row["std_error"]), 16), rel=1e-9)
    rng = np.random.default_rng(2)
    g = np.repeat([f"g{i}" for i in range(6)], 10)
    df = pd.DataFrame({"account_id": np.arange(60).astype(str), "segment": g, "x": rng.normal(size=60),
                       "size": np.repeat(rng.normal(size=6), 10)})
    df["y"] = 1 + 0.5 * df["x"] + 0.3 * df["size"] + np.repeat(rng.normal(0, 0.5, 6), 10) + rng.normal(size=60)
    f = fit_formula(df, "y ~ x + size + (1 | segment)", family="gaussian")
    assert f.fe_df.to_dict() == {"Intercept": 4.0, "x": 53.0, "size": 4.0}  # 6 - 2 between; 60 - 6 - 1 within
