"""One degeneracy check on every model path; bookings sandwich errors; t-based
Gaussian inference against published values."""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from cxinfluence.models import design
from cxinfluence.models.compare import compare_schemes
from cxinfluence.models.diagnostics import FLAGS, Flag, diagnose, loglink_separation, se_description
from cxinfluence.exceptions import DegenerateFitError, DegenerateFitWarning, ModelError
from cxinfluence.models.fit import decision_equation, fit_bookings, fit_formula, fit_rebuy, models_table

REF = Path(__file__).parent / "reference"

pytestmark = pytest.mark.usefixtures("quiet_degenerate_fits")


def _bookings(n=300, seed=0, b_mean=0.5, b_rev=1.0, accounts=None):
    """Bookings whose variance grows like the mean squared (Gamma with shape 1)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n)
    lr = rng.normal(0, 1, n)
    mu = np.exp(2 + b_mean * x + b_rev * lr)
    acc = np.arange(n) if accounts is None else accounts
    return pd.DataFrame({"account_id": [f"a{i}" for i in acc], "mean": x, "log_revenue": lr,
                         "bookings": rng.gamma(1.0, mu)})


def _hand_hc1(X, y, b, p=1.5):
    """HC1 sandwich of a log-link Tweedie GLM by hand: observed-information bread,
    outer product of the scores, n / (n - k)."""
    n, k = X.shape
    mu = np.exp(X @ b)
    score = X * ((y - mu) * mu ** (1 - p))[:, None]
    # minus the derivative of the score: x x' [mu^(2-p) - (1-p) (y - mu) mu^(1-p)]
    H = (X * (mu ** (2 - p) - (1 - p) * (y - mu) * mu ** (1 - p))[:, None]).T @ X
    Hinv = np.linalg.inv(H)
    return Hinv @ (score.T @ score) @ Hinv * n / (n - k)


# --------------------------------------------------------------------------
# Bookings: sandwich errors by default
# --------------------------------------------------------------------------
def test_tweedie_hc1_equals_a_hand_computed_sandwich():
    df = _bookings(seed=1)
    f = fit_bookings(df, scheme="mean", controls=["log_revenue"])
    assert f.cov_type == "HC1" and f.se_type.startswith("heteroskedasticity-robust (HC1")
    X, y = np.asarray(f.result.model.exog), np.asarray(f.result.model.endog)
    V = _hand_hc1(X, y, np.asarray(f.result.params))
    np.testing.assert_allclose(f.result.bse, np.sqrt(np.diag(V)), rtol=1e-6)
    # the model-based errors are the narrower ones in this world
    mb = fit_bookings(df, scheme="mean", controls=["log_revenue"], robust="nonrobust")
    assert mb.cov_type == "nonrobust" and mb.result.bse["log_revenue"] < f.result.bse["log_revenue"]


def test_repeated_accounts_use_cluster_robust_errors():
    df = _bookings(n=600, seed=2, accounts=np.repeat(np.arange(200), 3))
    f = fit_bookings(df, scheme="mean", controls=["log_revenue"])
    assert f.cov_type == "cluster" and f.se_type == "cluster-robust by account (200 accounts)"
    assert (models_table(f)["se_type"] == f.se_type).all()
    assert fit_bookings(df, scheme="mean", controls=["log_revenue"], robust="HC1").cov_type == "HC1"
    assert fit_bookings(df, scheme="mean", controls=["log_revenue"], robust="nonrobust").cov_type == "nonrobust"
    assert fit_bookings(df, scheme="mean", controls=["log_revenue"], family="ols_log").cov_type == "cluster"


def test_hc1_intervals_cover_when_variance_grows_like_the_mean_squared():
    """200 seeded worlds of n = 300: HC1 95% intervals cover ~0.95; model-based ones
    (Tweedie p = 1.5 while the variance is ~mu^2) cover less (0.905 and 0.885 here)."""
    rng = np.random.default_rng(2026)
    fam = sm.families.Tweedie(var_power=1.5, link=sm.families.links.Log())
    reps, n, truth = 200, 300, np.array([0.5, 1.0])
    hit_hc1 = np.zeros(2)
    hit_mb = np.zeros(2)
    for _ in range(reps):
        x, lr = rng.uniform(-1, 1, n), rng.normal(0, 1, n)
        y = rng.gamma(1.0, np.exp(2 + truth[0] * x + truth[1] * lr))
        X = np.c_[np.ones(n), x, lr]
        res = sm.GLM(y, X, family=fam).fit(tol=1e-10)
        b = np.asarray(res.params)
        se_hc1 = np.sqrt(np.diag(_hand_hc1(X, y, b)))[1:]
        hit_hc1 += np.abs(b[1:] - truth) <= 1.959964 * se_hc1
        hit_mb += np.abs(b[1:] - truth) <= 1.959964 * np.asarray(res.bse)[1:]
    cov_hc1, cov_mb = hit_hc1 / reps, hit_mb / reps
    assert ((cov_hc1 >= 0.92) & (cov_hc1 <= 0.98)).all(), cov_hc1
    assert (cov_mb < cov_hc1).all() and cov_mb.min() < 0.92, cov_mb


def test_bookings_separation_is_flagged_and_not_reliable():
    df = _bookings(seed=3)
    rng = np.random.default_rng(3)
    df.loc[rng.choice(len(df), 40, replace=False), "bookings"] = 0.0
    df["dead"] = ((df["bookings"] == 0) & (rng.uniform(size=len(df)) < 0.5)).astype(float)  # 1 only where 0
    with pytest.warns(DegenerateFitWarning, match="separation"):
        f = fit_bookings(df, scheme="mean", controls=["log_revenue", "dead"])
    assert f.flags["separation"] and not f.reliable
    assert "separation" in f.term_warnings["dead"]
    row = models_table(f).set_index("term").loc["dead"]
    assert bool(row["flag_separation"]) and not bool(row["reliable"])


def test_bookings_separation_large_data_check(monkeypatch):
    monkeypatch.setattr(design, "SEPARATION_LP_MAX_ROWS", 10)  # where the constant lives
    df = _bookings(seed=4)
    df.loc[:29, "bookings"] = 0.0
    df["dead"] = 0.0
    df.loc[:19, "dead"] = 1.0
    f = fit_bookings(df, scheme="mean", controls=["log_revenue", "dead"])
    assert f.flags["separation"] and "every row with dead = 1 has zero bookings" in "; ".join(f.warnings)


def test_bookings_separation_screen_on_larger_data(monkeypatch):
    """Above LOGLINK_SCREEN_ROWS the LP runs only when a zero row's fitted mean is ~0: it
    still runs (and flags) with separation, and is skipped without."""
    from cxinfluence.models import diagnostics

    monkeypatch.setattr(diagnostics, "LOGLINK_SCREEN_ROWS", 100)
    calls = []
    real = diagnostics.loglink_separation
    monkeypatch.setattr(diagnostics, "loglink_separation", lambda *a: calls.append(1) or real(*a))
    df = _bookings(seed=7)
    df.loc[:39, "bookings"] = 0.0
    assert fit_bookings(df, scheme="mean", controls=["log_revenue"]).reliable and not calls
    df["dead"] = 0.0
    df.loc[:19, "dead"] = 1.0
    f = fit_bookings(df, scheme="mean", controls=["log_revenue", "dead"])
    assert calls and f.flags["separation"] and "dead" in f.term_warnings


def test_bookings_without_separation_stay_reliable():
    df = _bookings(seed=5)
    df.loc[:39, "bookings"] = 0.0
    f = fit_bookings(df, scheme="mean", controls=["log_revenue"])
    assert f.reliable, f.warnings


def test_loglink_separation_lp():
    X = np.c_[np.ones(8), [0, 0, 1, 1, 0, 0, 1, 1.0], np.arange(8.0)]
    y = np.array([2.0, 3, 0, 0, 1, 4, 0, 0])
    assert loglink_separation(X, y, ["Intercept", "d", "x"])["terms"] == ["d"]
    y[2] = 5.0
    assert loglink_separation(X, y, ["Intercept", "d", "x"]) is None


@pytest.mark.parametrize("family", ["tweedie", "gamma", "ols_log"])
def test_all_zero_bookings_is_a_named_error(family):
    df = _bookings(n=50).assign(bookings=0.0)
    with pytest.raises(DegenerateFitError, match="0 in every one of the 50 rows"):
        fit_bookings(df, scheme="mean", controls=[], family=family)


@pytest.mark.parametrize("family", ["tweedie", "gamma", "ols_log"])
def test_constant_bookings_is_a_named_error(family):
    df = _bookings(n=50).assign(bookings=1200.0)
    with pytest.raises(DegenerateFitError, match="1200"):
        fit_bookings(df, scheme="mean", controls=[], family=family)
    assert issubclass(DegenerateFitError, ModelError)  # a pipeline catching ModelError skips the stage


def test_robust_argument_is_checked():
    with pytest.raises(ModelError, match="robust='HC9'"):
        fit_bookings(_bookings(n=50), scheme="mean", controls=[], robust="HC9")


# --------------------------------------------------------------------------
# Gaussian family: t-based p-values and intervals (Longley, NIST / R / Stata)
# --------------------------------------------------------------------------
def test_gaussian_family_uses_t_and_matches_r_lm_on_longley():
    ref = json.loads((REF / "longley_lm.json").read_text())
    d = sm.datasets.longley.load_pandas().data
    f = fit_formula(d, "TOTEMP ~ GNPDEFL + GNP + UNEMP + ARMED + POP + YEAR", family="gaussian", cluster=None)
    t = f.tidy().set_index("term").loc[ref["terms"]]
    assert f.result.use_t and f.se_type == "model-based"
    np.testing.assert_allclose(t["estimate"], ref["params"], rtol=1e-7)
    np.testing.assert_allclose(t["std_error"], ref["bse"], rtol=1e-7)
    np.testing.assert_allclose(t["p_value"], ref["pvalues"], rtol=1e-5)
    np.testing.assert_allclose(t[["ci_low", "ci_high"]].to_numpy(), np.array(ref["conf_int"]), rtol=1e-5)
    # Longley is the textbook case of collinearity: flagged, not reliable
    assert f.flags["collinearity"] and not f.reliable


def test_ols_log_bookings_use_t():
    f = fit_bookings(_bookings(seed=6), scheme="mean", controls=["log_revenue"], family="ols_log")
    assert f.kind == "ols" and f.result.use_t and f.se_type == "model-based"


# --------------------------------------------------------------------------
# diagnose(): the flags themselves
# --------------------------------------------------------------------------
class _W:
    def __init__(self, message, name="ConvergenceWarning"):
        self.message = message
        self.category = type(name, (Warning,), {})


def test_diagnose_reads_the_optimiser_and_nonfinite_numbers():
    rng = np.random.default_rng(0)
    X = np.c_[np.ones(200), rng.normal(size=200)]
    y = X @ [1.0, 0.5] + rng.normal(size=200)
    def kinds(out):
        return sorted(f.flag for f in out)

    assert kinds(diagnose(X, y, ["Intercept", "x"], "continuous", converged=False)) == ["nonconvergence"]
    assert kinds(diagnose(X, y, ["Intercept", "x"], "continuous",
                          caught=[_W("IRLS did not converge")])) == ["nonconvergence"]
    assert kinds(diagnose(X, y, ["Intercept", "x"], "continuous",
                          caught=[_W("The Hessian matrix at the estimated parameter values is not positive "
                                     "definite.")])) == ["hessian"]
    assert kinds(diagnose(X, y, ["Intercept", "x"], "continuous", bse=[0.1, np.nan], llf=-np.inf)) == ["nonfinite"]
    corr = {"var": {"var(g: a)": (1.0, 1.0)}, "corr": {"corr(g: a, b)": -1.0}, "scale": 1.0}
    assert kinds(diagnose(X, y, ["Intercept", "x"], "continuous", variances=corr)) == ["boundary"]
    zero = {"var": {"var(g: a)": (1e-9, 1.0)}, "scale": 1.0}
    assert kinds(diagnose(X, y, ["Intercept", "x"], "continuous", variances=zero)) == ["boundary"]
    assert kinds(diagnose(X, y, ["Intercept", "x"], "continuous", clusters=np.arange(200) % 12)) == ["few_groups"]
    assert kinds(diagnose(X, y, ["Intercept", "x"], "continuous", groups=np.arange(200) % 3)) == ["few_groups"]
    assert diagnose(X, y, ["Intercept", "x"], "continuous") == []


def test_flag_is_a_string_with_a_kind():
    f = Flag("hessian", "not positive definite")
    assert f == "not positive definite" and f.flag == "hessian"
    with pytest.raises(ValueError, match="flag='nope'"):
        Flag("nope", "x")


def test_se_description_names_every_kind():
    class F:
        n_accounts = 12

    for cov, words in (("cluster", "cluster-robust by account (12 accounts)"), ("nonrobust", "model-based"),
                       ("reml", "model-based (REML)"), ("posterior", "posterior SDs (variational Bayes)")):
        F.cov_type = cov
        assert se_description(F()) == words


# --------------------------------------------------------------------------
# Every path: a degenerate fit is flagged in the result and in models.csv
# --------------------------------------------------------------------------
def _assert_flagged(fit, flag):
    assert fit.flags[flag] and not fit.reliable, (flag, fit.warnings)
    table = models_table(fit)
    assert table[f"flag_{flag}"].all() and not table["reliable"].any()
    assert {f"flag_{f}" for f in FLAGS} <= set(table.columns)


def test_logit_path_flags():
    rng = np.random.default_rng(10)
    n = 300
    df = pd.DataFrame({"account_id": [f"a{i}" for i in range(n)], "mean": rng.uniform(-1, 1, n)})
    df["renewed"] = (df["mean"] > 0).astype(float)
    _assert_flagged(fit_rebuy(df, scheme="mean", controls=[]), "separation")
    df["renewed"] = 0.0
    df.loc[rng.choice(n, 6, replace=False), "renewed"] = 1.0  # 6 events for 1 term
    _assert_flagged(fit_rebuy(df, scheme="mean", controls=[]), "few_events")


def test_gamma_and_ols_paths_flag_collinearity_and_few_rows():
    df = _bookings(n=200, seed=11)
    df["twin"] = 2 * df["mean"] + 1
    _assert_flagged(fit_bookings(df, scheme="mean", controls=["twin"], family="gamma"), "collinearity")
    _assert_flagged(fit_bookings(df.head(15), scheme="mean", controls=["log_revenue"], family="ols_log"), "few_events")


def test_decision_equation_flags_separation():
    rng = np.random.default_rng(12)
    n = 400
    s = rng.uniform(-1, 1, n)
    df = pd.DataFrame({"account_id": [f"a{i}" for i in range(n)], "sent_decider": s, "heard_decider": 1.0,
                       "sent_user": rng.uniform(-1, 1, n), "heard_user": 1.0, "renewed": (s > 0).astype(float)})
    f = decision_equation(df, controls=[])
    _assert_flagged(f, "separation")
    assert not f.effects["reliable"].any()


def test_scheme_comparison_refits_carry_the_flags():
    rng = np.random.default_rng(13)
    n = 400
    truth = rng.uniform(-1, 1, n)
    df = pd.DataFrame({"account_id": [f"a{i}" for i in range(n)], "mean": truth + rng.normal(0, 1, n),
                       "veto_floor": truth})
    df["renewed"] = (truth > 0).astype(float)  # veto_floor separates the outcome
    c = compare_schemes(df, ["mean", "veto_floor"], controls=[], n_boot=0)
    tab = c.table.set_index("scheme")
    assert not tab.loc["veto_floor", "reliable"] and "separation" in tab.loc["veto_floor", "warning"]
    assert c.fits["veto_floor"].flags["separation"] and c.fits["mean"].reliable
    assert tab.loc["veto_floor", "flag_separation"] and not tab.loc["mean", "flag_separation"]


def test_sample_village_fits_that_are_fine_stay_reliable(sample_village):
    from cxinfluence.models.frame import model_frame

    frame = model_frame(sample_village)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateFitWarning)
        fits = [fit_rebuy(frame, scheme="influence_weighted"), fit_bookings(frame, scheme="influence_weighted"),
                decision_equation(frame)]
    for f in fits:
        assert f.reliable and not any(f.flags.values()), (f.name, f.warnings)
    assert fits[1].cov_type == "cluster"  # accounts repeat over periods
    table = models_table(fits)
    assert table["reliable"].all() and not table[[f"flag_{f}" for f in FLAGS]].any().any()


def test_gamma_bookings_use_hc1_by_default():
    df = _bookings(seed=8)
    f = fit_bookings(df, scheme="mean", controls=["log_revenue"], family="gamma")
    assert f.cov_type == "HC1"
    fam = sm.families.Gamma(link=sm.families.links.Log())
    ref = sm.GLM(f.result.model.endog, f.result.model.exog, family=fam).fit(
        tol=1e-10, cov_type="HC0")  # statsmodels' HC0 times n / (n - k) is HC1
    n, k = f.result.model.exog.shape
    np.testing.assert_allclose(f.result.bse, ref.bse * np.sqrt(n / (n - k)), rtol=1e-6)


def test_report_states_the_standard_errors_from_the_fits():
    from cxinfluence.present.content import _se_used

    single = _bookings(seed=9)
    repeated = _bookings(n=600, seed=9, accounts=np.repeat(np.arange(200), 3))
    fits = {"bookings:tweedie": fit_bookings(single, scheme="mean", controls=[]),
            "rebuy:mean": fit_bookings(repeated, scheme="mean", controls=[])}
    assert _se_used(fits, "bookings") == "heteroskedasticity-robust (HC1 sandwich)"
    assert _se_used(fits, "rebuy:") == "cluster-robust by account (200 accounts)"
    assert _se_used(fits, "nothing").startswith("not computed")


def test_fit_formula_mixed_dispatch():
    rng = np.random.default_rng(14)
    n = 600
    df = pd.DataFrame({"account_id": [f"a{i}" for i in range(n)], "segment": rng.choice(list("abcdefgh"), n),
                       "mean": rng.uniform(-1, 1, n)})
    df["renewed"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-df["mean"]))).astype(float)
    f = fit_formula(df, "renewed ~ mean + (1 | segment)", family="binomial")
    assert f.kind == "bayes_mixed_glm" and f.cov_type == "posterior"
    with pytest.raises(ModelError, match="random slopes"):
        fit_formula(df, "renewed ~ mean + (mean | segment)", family="binomial")
    with pytest.raises(ModelError, match="family='tweedie' is not available for mixed models"):
        fit_formula(df, "renewed ~ mean + (1 | segment)", family="tweedie")
