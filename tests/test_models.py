"""Tests of cxinfluence.models.fit: reference numbers, robust errors, degenerate data."""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

from cxinfluence.models import design, glm
from cxinfluence.models import fit as models
from cxinfluence.exceptions import CxInfluenceWarning, DegenerateFitWarning, ModelError
from cxinfluence.models.fit import (DETRACTOR, PROMOTER, decision_equation, fit_bookings, fit_formula, fit_mixed,
                                fit_rebuy, models_table, scenario_effect, separation)

REF = Path(__file__).parent / "reference"


# Each test that expects a degeneracy asserts it explicitly with pytest.warns.
pytestmark = pytest.mark.usefixtures("quiet_degenerate_fits")


def _logit_frame(n=600, periods=1, b=(0.4, 1.5), seed=0, segments=("a", "b", "c")):
    rng = np.random.default_rng(seed)
    acc = np.repeat([f"A{i:04d}" for i in range(n)], periods)
    x = rng.uniform(-1, 1, n * periods)
    eta = b[0] + b[1] * x
    df = pd.DataFrame({
        "account_id": acc,
        "period_end": np.tile(pd.date_range("2023-12-31", periods=periods, freq="YE"), n),
        "mean": x,
        "influence_weighted": x + rng.normal(0, 0.1, n * periods),
        "log_revenue": rng.normal(12, 1, n * periods),
        "segment": rng.choice(list(segments), n * periods),
    })
    df["renewed"] = (rng.uniform(size=len(df)) < 1 / (1 + np.exp(-eta))).astype(float)
    return df


# --------------------------------------------------------------------------
# Reference numbers
# --------------------------------------------------------------------------
def test_spector_logit_reproduces_stata_and_greene():
    d = sm.datasets.spector.load_pandas().data
    ref = pd.read_csv(REF / "spector_logit.csv").set_index("term")
    stats = json.loads((REF / "spector_logit_fit.json").read_text())
    f = fit_formula(d, "GRADE ~ GPA + TUCE + PSI", family="binomial", cluster=None, name="spector")
    t = f.tidy().set_index("term")
    np.testing.assert_allclose(t.loc[ref.index, "estimate"], ref["estimate"], rtol=1e-6)
    np.testing.assert_allclose(t.loc[ref.index, "std_error"], ref["std_error"], rtol=1e-5)
    np.testing.assert_allclose(f.result.llf, stats["llf"], rtol=1e-7)
    st = f.stats()
    np.testing.assert_allclose(st["aic"], stats["aic"], rtol=1e-7)
    np.testing.assert_allclose(st["bic"], stats["bic"], rtol=1e-7)
    np.testing.assert_allclose(st["pseudo_r2"], stats["prsquared"], rtol=1e-7)
    assert st["n"] == stats["nobs"] and st["events"] == 11
    # Wald intervals at the printed precision of Greene's table
    np.testing.assert_allclose(t["ci_high"] - t["estimate"], 1.959964 * t["std_error"], rtol=1e-5)
    # 11 events for 3 terms: EPV 3.7 < 10, so the fit is flagged (Peduzzi 1996)
    assert not f.reliable and "too few events" in f.warnings[0]
    assert t["warning"].str.contains("too few events").all()


def test_dietox_mixed_reproduces_lme4():
    rdir = Path(sm.__file__).parent / "regression" / "tests" / "results" / "dietox.csv"
    if not rdir.exists():
        pytest.skip("statsmodels test data (dietox.csv) not installed")
    data = pd.read_csv(rdir)
    ref = json.loads((REF / "dietox_lmer.json").read_text())
    for method, reml in (("reml", True), ("ml", False)):
        f = fit_mixed(data, scheme="Time", controls=[], outcome="Weight", groups="Pig", transform=None, reml=reml)
        r = ref[method]
        np.testing.assert_allclose(f.result.fe_params[["Intercept", "Time"]], list(r["fixef"].values()), rtol=1e-5)
        np.testing.assert_allclose(f.result.bse[["Intercept", "Time"]], list(r["se"].values()), rtol=1e-5)
        np.testing.assert_allclose(f.result.scale, r["residual_var"], rtol=1e-5)
        np.testing.assert_allclose(np.asarray(f.result.cov_re).item(), r["pig_var"], rtol=1e-5)
        assert f.kind == "mixedlm" and f.reliable


def test_cluster_robust_errors_match_hand_sandwich():
    df = _logit_frame(n=200, periods=3, seed=1)
    f = fit_rebuy(df, scheme="mean", controls=["log_revenue"])
    assert f.cov_type == "cluster"
    X = f.result.model.exog
    y = f.result.model.endog
    p = f.result.fittedvalues.to_numpy()
    bread = np.linalg.inv(X.T @ (X * (p * (1 - p))[:, None]))
    scores = X * (y - p)[:, None]
    g = pd.factorize(f.data["account_id"])[0]
    S = np.zeros((g.max() + 1, X.shape[1]))
    np.add.at(S, g, scores)
    G, N, K = S.shape[0], *X.shape
    V = bread @ (S.T @ S) @ bread * G / (G - 1) * (N - 1) / (N - K)
    np.testing.assert_allclose(f.result.bse, np.sqrt(np.diag(V)), rtol=1e-6)


def test_no_repeats_gives_model_based_errors_like_glm():
    df = _logit_frame(n=500, periods=1, seed=2)
    f = fit_rebuy(df, scheme="mean", controls=["log_revenue"])
    ref = sm.GLM(df["renewed"], sm.add_constant(df[["mean", "log_revenue"]]), family=sm.families.Binomial()).fit()
    assert f.cov_type == "nonrobust"
    np.testing.assert_allclose(f.result.params[["mean", "log_revenue"]], ref.params[["mean", "log_revenue"]], rtol=1e-8)
    np.testing.assert_allclose(f.result.bse[["mean", "log_revenue"]], ref.bse[["mean", "log_revenue"]], rtol=1e-8)
    assert f.reliable and f.n == 500 and f.n_accounts == 500


def test_default_controls_and_notes():
    df = _logit_frame(n=400, seed=3)
    f = fit_rebuy(df, scheme="mean")
    assert set(f.result.params.index) >= {"mean", "log_revenue", "segment[T.b]", "segment[T.c]"}
    assert any("controls: log_revenue, segment" in n for n in f.notes)


# --------------------------------------------------------------------------
# Degenerate data
# --------------------------------------------------------------------------
def test_complete_separation_is_detected():
    df = _logit_frame(n=80, seed=4)
    df["renewed"] = (df["mean"] > 0).astype(float)
    with pytest.warns(DegenerateFitWarning, match="separation"):
        f = fit_rebuy(df, scheme="mean", controls=[])
    assert not f.reliable
    t = f.tidy().set_index("term")
    assert "separation" in t.loc["mean", "warning"]
    assert not t["reliable"].any()


@pytest.mark.parametrize("lp_rows", [50_000, 0])  # exact LP, then the large-sample checks
def test_quasi_separation_by_a_segment_is_detected(monkeypatch, lp_rows):
    monkeypatch.setattr(design, "SEPARATION_LP_MAX_ROWS", lp_rows)  # where the constant lives
    df = _logit_frame(n=900, seed=5, segments=("a", "b", "c"))
    df.loc[df["segment"] == "c", "renewed"] = 1.0
    with pytest.warns(DegenerateFitWarning, match="separation"):
        f = fit_rebuy(df, scheme="mean", controls=["segment"])
    assert not f.reliable
    assert "separation" in f.tidy().set_index("term").loc["segment[T.c]", "warning"]


def test_overlapping_data_has_no_separation():
    df = _logit_frame(n=900, seed=6)
    f = fit_rebuy(df, scheme="mean", controls=["segment"])
    assert f.reliable, f.warnings
    X = f.result.model.exog
    assert separation(X, f.result.model.endog) is None


def test_too_few_events_per_term():
    df = _logit_frame(n=120, seed=7, b=(-3.0, 0.5))
    rare = int(min(df["renewed"].sum(), len(df) - df["renewed"].sum()))
    assert rare < 30
    with pytest.warns(DegenerateFitWarning, match="too few events"):
        f = fit_rebuy(df, scheme="mean", controls=["log_revenue", "segment"])
    assert not f.reliable
    assert f"{rare} rows with renewed" in f.warnings[0]


def test_constant_scheme_is_not_estimated():
    df = _logit_frame(n=500, seed=8)
    df["influence_weighted"] = 0.3
    with pytest.warns(DegenerateFitWarning, match="constant"):
        f = fit_rebuy(df, scheme="influence_weighted", controls=["log_revenue"])
    t = f.tidy().set_index("term")
    assert np.isnan(t.loc["influence_weighted", "estimate"])
    assert "constant" in t.loc["influence_weighted", "warning"]
    assert np.isfinite(t.loc["log_revenue", "estimate"])
    assert not f.reliable


def test_collinear_role_terms():
    rng = np.random.default_rng(9)
    n = 800
    s = rng.uniform(-1, 1, n)
    df = pd.DataFrame({"account_id": [f"a{i}" for i in range(n)], "sent_decider": s, "heard_decider": 1.0,
                       "sent_buyer": s, "heard_buyer": 1.0,
                       "sent_user": s + rng.normal(0, 0.02, n), "heard_user": 1.0,
                       "sent_gatekeeper": rng.uniform(-1, 1, n), "heard_gatekeeper": 1.0})
    df["renewed"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-2 * s))).astype(float)
    with pytest.warns(DegenerateFitWarning, match="collinear"):
        f = decision_equation(df, roles=["decider", "buyer", "user", "gatekeeper"], controls=[])
    t = f.tidy().set_index("term")
    assert np.isnan(t.loc["sent_buyer", "estimate"])  # exactly collinear: aliased like R's NA
    assert "collinear" in t.loc["sent_buyer", "warning"]
    assert "near-collinear" in t.loc["sent_user", "warning"]  # VIF >> 10
    assert not f.reliable
    e = f.effects.set_index("role")
    assert not e.loc["buyer", "reliable"] and np.isnan(e.loc["buyer", "difference"])
    assert not e["reliable"].any()


def test_period_without_sentiment_warns_and_all_missing_raises():
    df = _logit_frame(n=300, periods=2, seed=10)
    last = df["period_end"] == df["period_end"].max()
    df.loc[last, "mean"] = np.nan
    with pytest.warns(DegenerateFitWarning, match="no sentiment"):
        f = fit_rebuy(df, scheme="mean", controls=[])
    assert not f.reliable and f.n == 300
    assert "2024-12-31" in f.warnings[0]
    df["mean"] = np.nan
    with pytest.raises(ModelError, match="mean missing in every row"):
        fit_rebuy(df, scheme="mean", controls=[])


def test_impossible_inputs_raise_model_error():
    df = _logit_frame(n=50)
    with pytest.raises(ModelError, match="no rows"):
        fit_rebuy(df.iloc[:0], scheme="mean")
    with pytest.raises(ModelError, match=r"scheme='nested' is not a column"):
        fit_rebuy(df, scheme="nested")
    with pytest.raises(ModelError, match="controls='region'"):
        fit_rebuy(df, scheme="mean", controls=["region"])
    bad = df.assign(renewed=df["renewed"] * 2)
    with pytest.raises(ModelError, match="other than 0 and 1"):
        fit_rebuy(bad, scheme="mean", controls=[])
    with pytest.raises(ModelError, match="in every one"):
        fit_rebuy(df.assign(renewed=1.0), scheme="mean", controls=[])
    with pytest.raises(ModelError, match="family='lognormal'"):
        fit_bookings(df.assign(bookings=1.0), scheme="mean", family="lognormal")
    with pytest.raises(ModelError, match="DataFrame"):
        fit_rebuy([1, 2, 3])


def test_warning_class_is_filterable():
    assert issubclass(DegenerateFitWarning, CxInfluenceWarning)
    df = _logit_frame(n=60, seed=11)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", CxInfluenceWarning)
        f = fit_rebuy(df, scheme="mean", controls=["log_revenue", "segment"])
    assert not f.reliable  # still recorded on the result
    assert not [w for w in caught if issubclass(w.category, CxInfluenceWarning)]


def test_inputs_are_not_modified():
    df = _logit_frame(n=300, seed=12)
    df.loc[:5, "mean"] = np.nan
    before = df.copy()
    fit_rebuy(df, scheme="mean")
    pd.testing.assert_frame_equal(df, before)


# --------------------------------------------------------------------------
# Bookings and mixed models
# --------------------------------------------------------------------------
def _bookings_frame(n=800, seed=13, zero=0.2):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"account_id": [f"a{i}" for i in range(n)], "mean": rng.uniform(-1, 1, n),
                       "log_revenue": rng.normal(0, 1, n)})
    mu = np.exp(4 + 0.6 * df["mean"] + 0.3 * df["log_revenue"])
    df["bookings"] = rng.gamma(2.0, mu / 2.0) * (rng.uniform(size=n) > zero)
    return df


def test_tweedie_keeps_zeros_and_matches_statsmodels():
    df = _bookings_frame()
    f = fit_bookings(df, scheme="mean", controls=["log_revenue"], family="tweedie")
    assert f.n == len(df) and (f.data["bookings"] == 0).sum() > 100
    fam = sm.families.Tweedie(var_power=1.5, link=sm.families.links.Log())
    ref = sm.GLM(df["bookings"], sm.add_constant(df[["mean", "log_revenue"]]), family=fam).fit()
    np.testing.assert_allclose(f.result.params[["mean", "log_revenue"]], ref.params[["mean", "log_revenue"]], rtol=1e-6)
    t = f.tidy().set_index("term")
    np.testing.assert_allclose(t.loc["mean", "pct_effect"], 100 * np.expm1(t.loc["mean", "estimate"]))
    assert t.loc["mean", "pct_ci_low"] < 100 * np.expm1(0.6) < t.loc["mean", "pct_ci_high"]


def test_gamma_uses_positive_bookings_and_says_so():
    df = _bookings_frame(seed=14)
    f = fit_bookings(df, scheme="mean", controls=["log_revenue"], family="gamma")
    pos = int((df["bookings"] > 0).sum())
    assert f.n == pos
    assert any("two-part" in n for n in f.notes)
    ref = sm.GLM(df.loc[df["bookings"] > 0, "bookings"],
                 sm.add_constant(df.loc[df["bookings"] > 0, ["mean", "log_revenue"]]),
                 family=sm.families.Gamma(link=sm.families.links.Log())).fit()
    np.testing.assert_allclose(f.result.params["mean"], ref.params["mean"], rtol=1e-6)


def test_ols_log_matches_ols_and_percent_effect():
    df = _bookings_frame(seed=15)
    f = fit_bookings(df, scheme="mean", controls=["log_revenue"], family="ols_log")
    ref = sm.OLS(np.log1p(df["bookings"]), sm.add_constant(df[["mean", "log_revenue"]])).fit()
    np.testing.assert_allclose(f.result.params["mean"], ref.params["mean"], rtol=1e-8)
    np.testing.assert_allclose(f.result.bse["mean"], ref.bse["mean"], rtol=1e-8)
    np.testing.assert_allclose(f.stats()["pseudo_r2"], ref.rsquared)
    t = f.tidy().set_index("term")
    np.testing.assert_allclose(t.loc["mean", "pct_effect"], 100 * (np.exp(ref.params["mean"]) - 1))
    assert f.kind == "ols"


def test_mixed_binary_uses_bayes_glmm_and_few_groups_warn():
    df = _logit_frame(n=600, seed=16, segments=("a", "b", "c"))
    with pytest.warns(DegenerateFitWarning, match="only 3 segment groups"):
        f = fit_mixed(df, scheme="mean", controls=[], outcome="renewed", groups="segment")
    t = f.tidy().set_index("term")
    assert f.kind == "bayes_mixed_glm" and t["p_value"].isna().all()
    assert 0.8 < t.loc["mean", "estimate"] < 2.2  # true 1.5


# --------------------------------------------------------------------------
# Decision equation and scenario effects
# --------------------------------------------------------------------------
def _role_frame(n=3000, seed=17):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"account_id": [f"a{i}" for i in range(n)]})
    truth = {"decider": 1.8, "gatekeeper": 0.9, "user": 0.2}
    eta = np.full(n, 0.5)
    for r, b in truth.items():
        s = rng.uniform(-1, 1, n)
        heard = rng.uniform(size=n) < 0.75
        df[f"sent_{r}"] = np.where(heard, s, np.nan)
        df[f"heard_{r}"] = heard.astype(float)
        eta += b * np.where(heard, s, 0.0) - 0.4 * (~heard)
    df["renewed"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(float)
    return df, truth


def test_decision_equation_recovers_role_effects():
    df, truth = _role_frame()
    f = decision_equation(df, controls=[])
    t = f.tidy(conf_level=0.999).set_index("term")  # six intervals at once: keep the family-wise miss rate small
    for r, b in truth.items():
        assert t.loc[f"sent_{r}", "ci_low"] < b < t.loc[f"sent_{r}", "ci_high"]
        assert t.loc[f"unheard_{r}", "ci_low"] < -0.4 < t.loc[f"unheard_{r}", "ci_high"]
    e = f.effects.set_index("role")
    assert list(f.effects["role"]) == ["decider", "user", "gatekeeper"]  # schema.ROLES order
    assert e.loc["decider", "difference"] > e.loc["gatekeeper", "difference"] > 0
    assert e.loc["decider", "sentiment_low"] == DETRACTOR == pytest.approx(-0.4)  # NPS 3 on [-1, 1]
    assert e.loc["decider", "sentiment_high"] == PROMOTER == pytest.approx(0.9)  # NPS 9.5


def test_scenario_levels_match_statsmodels_average_prediction():
    df, _ = _role_frame(n=1500, seed=18)
    f = decision_equation(df, roles=["decider", "user"], controls=[])
    X = np.asarray(f.result.model.exog).copy()
    names = list(f.result.model.exog_names)
    X[:, names.index("sent_decider")] = DETRACTOR
    X[:, names.index("unheard_decider")] = 0.0
    e = f.effects.set_index("role").loc["decider"]
    X_hi = X.copy()
    X_hi[:, names.index("sent_decider")] = PROMOTER
    # statsmodels' own delta method (numerical derivatives) on the same contrast
    expit = lambda eta: 1 / (1 + np.exp(-eta))  # noqa: E731
    w = f.result._get_wald_nonlinear(lambda b: np.atleast_1d(expit(X_hi @ b).mean() - expit(X @ b).mean()))
    np.testing.assert_allclose(e["p_low"], expit(X @ f.result.params.to_numpy()).mean(), rtol=1e-12)
    np.testing.assert_allclose(e["difference"], w.predicted().item(), rtol=1e-10)
    np.testing.assert_allclose(e["std_error"], w.se_vectorized().item(), rtol=1e-4)
    # the difference's delta-method SE agrees with a parametric bootstrap over the coefficients
    rng = np.random.default_rng(0)
    draws = rng.multivariate_normal(f.result.params, f.result.cov_params(), size=4000)
    diff = (1 / (1 + np.exp(-X_hi @ draws.T))).mean(0) - (1 / (1 + np.exp(-X @ draws.T))).mean(0)
    np.testing.assert_allclose(e["std_error"], diff.std(), rtol=0.08)
    np.testing.assert_allclose(e["difference"], diff.mean(), atol=0.01)


def test_decision_equation_never_heard_role():
    df, _ = _role_frame(n=800, seed=19)
    df["sent_user"] = np.nan
    df["heard_user"] = 0.0
    with pytest.warns(DegenerateFitWarning, match="never heard"):
        f = decision_equation(df, controls=[])
    e = f.effects.set_index("role")
    assert np.isnan(e.loc["user", "difference"]) and "never heard" in e.loc["user", "warning"]


def test_scenario_effect_rejects_unknown_column():
    df = _logit_frame(n=200)
    f = fit_rebuy(df, scheme="mean", controls=[])
    with pytest.raises(ModelError, match="'nope' is not a term"):
        scenario_effect(f, {"nope": 0}, {"nope": 1})
    eff = scenario_effect(f, {"mean": DETRACTOR}, {"mean": PROMOTER})
    assert eff["ci_low"] < eff["difference"] < eff["ci_high"] and eff["difference"] > 0


def test_models_table_layout():
    df = _logit_frame(n=400, seed=20)
    a = fit_rebuy(df, scheme="mean", controls=["log_revenue"])
    df["influence_weighted"] = 1.0
    b = fit_rebuy(df, scheme="influence_weighted", controls=["log_revenue"])
    t = models_table({"a": a, "b": b})
    assert list(t.columns[:15]) == ["model", "term", "estimate", "std_error", "ci_low", "ci_high", "p_value",
                                    "n", "n_accounts", "events", "aic", "bic", "pseudo_r2", "reliable", "warning"]
    assert set(t["model"]) == {"rebuy:mean", "rebuy:influence_weighted"}
    assert t.loc[t["model"] == "rebuy:mean", "reliable"].all()
    bad = t[t["model"] == "rebuy:influence_weighted"]
    assert (~bad["reliable"]).all() and bad["warning"].str.contains("constant").all()
    np.testing.assert_allclose(t.loc[t["model"] == "rebuy:mean", "aic"].iloc[0], a.result.aic)
    assert "Reliable: NO" in b.summary() and "WARNING" in b.summary()


def test_text_controls_fit_exactly_as_statsmodels_on_text():
    rng = np.random.default_rng(8)
    n = 600
    df = pd.DataFrame({"account_id": [f"a{i}" for i in range(n)], "mean": rng.uniform(-1, 1, n),
                       "segment": pd.array(rng.choice(["Pulp", "Metals", "Chem"], n), dtype="str")})
    df["renewed"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-(0.3 + 2 * df["mean"])))).astype(float)
    fit = fit_rebuy(df, scheme="mean", controls=["segment"], cluster=None)
    ref = smf.glm("renewed ~ mean + segment", df, family=sm.families.Binomial()).fit(tol=1e-10)
    assert list(fit.result.params.index) == list(ref.params.index)
    np.testing.assert_allclose(fit.result.params, ref.params, rtol=1e-9)
    np.testing.assert_allclose(fit.result.bse, ref.bse, rtol=1e-9)
    new = df.head(4)  # predictions on plain text still work
    np.testing.assert_allclose(fit.result.predict(new), ref.predict(new), rtol=1e-9)


# --------------------------------------------------------------------------
# Portfolio-scale fast paths equal the plain computations
# --------------------------------------------------------------------------
def _fit_from_scratch(f, family, tol=1e-13):
    """statsmodels on the same design, from zero, to full convergence."""
    m = f.result.model
    kw = {"cov_type": f.cov_type}
    if f.cov_type == "cluster":
        kw["cov_kwds"] = {"groups": pd.factorize(f.data["account_id"])[0]}
    elif f.cov_type == "HC1":  # HC1 = the cluster sandwich with one row per cluster (n / (n - k))
        kw = {"cov_type": "cluster", "cov_kwds": {"groups": np.arange(len(m.endog))}}
    return sm.GLM(m.endog, m.exog, family=family).fit(tol=tol, **kw)


@pytest.mark.parametrize("periods", [1, 3])
def test_warm_started_logit_equals_a_fit_from_scratch(monkeypatch, periods):
    monkeypatch.setattr(glm, "WARM_START_MIN_ROWS", 100)
    df = _logit_frame(n=3000 // periods, periods=periods, seed=21)
    f = fit_rebuy(df, scheme="mean")
    ref = _fit_from_scratch(f, sm.families.Binomial())
    assert f.result.fit_history["iteration"] == 1  # statsmodels started at the optimum
    np.testing.assert_allclose(f.result.params, ref.params, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(f.result.bse, ref.bse, rtol=1e-10)
    assert f.result.aic == pytest.approx(ref.aic, rel=1e-12)
    # and a start near the optimum (compare_schemes' refits) lands on the same fit
    g = fit_rebuy(df, scheme="mean", start_params=np.asarray(f.result.params) + 0.1)
    np.testing.assert_allclose(g.result.params, ref.params, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g.result.bse, ref.bse, rtol=1e-10)


def test_warm_started_tweedie_equals_a_fit_from_scratch(monkeypatch):
    monkeypatch.setattr(glm, "WARM_START_MIN_ROWS", 100)
    df = _bookings_frame(n=3000)
    f = fit_bookings(df, scheme="mean", controls=["log_revenue"], family="tweedie")
    ref = _fit_from_scratch(f, sm.families.Tweedie(var_power=1.5, link=sm.families.links.Log()), tol=1e-14)
    np.testing.assert_allclose(f.result.params, ref.params, rtol=1e-10)
    np.testing.assert_allclose(f.result.bse, ref.bse, rtol=1e-10)
    assert f.result.scale == pytest.approx(ref.scale, rel=1e-10)


def test_warm_start_declines_separated_data():
    df = _logit_frame(n=300, seed=4)
    X = sm.add_constant(df[["mean"]]).to_numpy()
    y = (df["mean"] > 0).to_numpy(float)
    assert models.warm_start(X, y, sm.families.Binomial()) is None  # statsmodels then fits as before


def test_warm_start_subsample_path_equals_direct(monkeypatch):
    monkeypatch.setattr(glm, "WARM_START_MIN_ROWS", 250)  # 4 x 250 rows -> subsample start
    df = _logit_frame(n=2000, seed=22)
    X = sm.add_constant(df[["mean", "log_revenue"]]).to_numpy()
    y = df["renewed"].to_numpy()
    b = models.warm_start(X, y, sm.families.Binomial())
    ref = sm.GLM(y, X, family=sm.families.Binomial()).fit(tol=1e-14)
    np.testing.assert_allclose(b, ref.params, rtol=1e-9)


def test_design_rank_and_vif_equal_the_textbook_formulas():
    rng = np.random.default_rng(5)
    a = rng.normal(size=500)
    X = np.c_[np.ones(500), a, a + 0.05 * rng.normal(size=500), rng.normal(12, 1.5, 500), 2 * a, np.full(500, 3.0)]
    # rank by QR with the columns scaled to unit length (R's rule, no pivoting)
    Xs = X / np.sqrt((X ** 2).sum(0))
    r = np.abs(np.diag(np.linalg.qr(Xs, mode="r")))
    assert models.design_rank(X) == (4, [4, 5])
    assert [j for j in range(X.shape[1]) if r[j] < 1e-6] == [4, 5]
    keep = [0, 1, 2, 3]
    v = models.vif(X[:, keep], ["Intercept", "a", "b", "c"])
    ref = np.diag(np.linalg.inv(np.corrcoef(X[:, 1:4], rowvar=False)))
    np.testing.assert_allclose(v.to_numpy(), ref, rtol=1e-9)
    assert list(v.index) == ["a", "b", "c"]


def test_binary_columns_finds_only_non_constant_zero_one_columns():
    n = 3000
    X = np.c_[np.ones(n), np.r_[np.zeros(n - 1), 1.0], np.r_[np.zeros(1500), np.full(1500, 0.5)],
              np.tile([0.0, 1.0], n // 2), np.zeros(n)]
    assert models._binary_columns(X) == [1, 3]


def test_scenario_effect_equals_the_copy_based_computation():
    df = _logit_frame(n=1500, seed=23)
    df["sent_decider"], df["heard_decider"] = df["mean"], (np.arange(len(df)) % 3 > 0).astype(float)
    df.loc[df["heard_decider"] == 0, "sent_decider"] = np.nan
    f = decision_equation(df, roles=["decider"], controls=["log_revenue"])
    res = f.result
    names = list(res.model.exog_names)
    X, b, V = res.model.exog, np.asarray(res.params), np.asarray(res.cov_params())
    link = res.model.family.link

    def avg(setting):
        Xs = X.copy()
        for col, val in setting.items():
            Xs[:, names.index(col)] = val
        eta = Xs @ b
        return link.inverse(eta).mean(), (link.inverse_deriv(eta)[:, None] * Xs).mean(0)

    lo, g_lo = avg({"sent_decider": DETRACTOR, "unheard_decider": 0.0})
    hi, g_hi = avg({"sent_decider": PROMOTER, "unheard_decider": 0.0})
    e = f.effects.set_index("role").loc["decider"]
    assert e["difference"] == pytest.approx(hi - lo, rel=1e-12)
    assert e["std_error"] == pytest.approx(np.sqrt((g_hi - g_lo) @ V @ (g_hi - g_lo)), rel=1e-10)


@pytest.mark.parametrize("values", [
    pd.Series([1.0, np.nan, 1.0]), pd.Series([1.0, 2.0]), pd.Series([-0.0, 0.0]), pd.Series([np.inf, np.inf]),
    pd.Series([np.inf, -np.inf, np.nan]), pd.Series([np.nan, np.nan]), pd.Series([], dtype=float),
    pd.Series([3, 3, 3]), pd.Series([1, 2], dtype="Int64"), pd.Series([pd.NA, 2, 2], dtype="Int64"),
    pd.Series([True, False]), pd.Series([True, True]),
    pd.Series(["a", None, "a"], dtype="str"), pd.Series(["a", "", None], dtype="str"), pd.Series(["a", "a "], dtype="str"),
    pd.Series([None, None], dtype="str"), pd.Series(["x", "y"], dtype=object), pd.Series(["x", None], dtype=object),
    pd.Series(["b", "b", None], dtype="category"), pd.Series(pd.Categorical(["b", "b"], categories=["a", "b"])),
    pd.Series(pd.Categorical(["a", "b"])), pd.Series(pd.to_datetime(["2024-01-01", "2024-01-02"])),
])
def test_varies_is_nunique_above_one(values):
    """The models' test of a control that varies: pandas' nunique (blanks dropped) over dtypes and edge values."""
    from cxinfluence.models.design import distinct_count, varies

    assert varies(values) == (values.nunique(dropna=True) > 1)
    for rows in (np.ones(len(values), bool), np.arange(len(values)) % 2 == 0, np.arange(len(values)) > 0):
        assert varies(values, rows) == (values[rows].nunique(dropna=True) > 1), rows
        assert distinct_count(values, rows) == values[rows].nunique(dropna=True), rows


def test_a_model_with_as_many_coefficients_as_rows_is_skipped_counting_text_levels_as_pandas_does():
    # segment's levels among the usable rows: "" is a level (not a blank), the row with no segment is not usable;
    # 4 rows for 1 + mean + log_revenue + 3 segment levels = 6 coefficients
    from cxinfluence.pipeline.preconditions import rebuy_reason

    frame = pd.DataFrame({"account_id": pd.Series(list("abcde"), dtype="str"), "renewed": [1.0, 0.0, 1.0, 0.0, 1.0],
                          "mean": [0.1, 0.2, 0.3, 0.4, 0.5], "log_revenue": [1.0, 2.0, 3.0, 4.0, 5.0],
                          "segment": pd.Series(["x", "y", "z", "", None], dtype="str")})
    reason = rebuy_reason(frame, "mean")
    assert reason is not None and "4 account-periods" in reason and "for 6 coefficients" in reason, reason
