"""The lean GLM path (cxinfluence.models.lean) against statsmodels, and the degenerate paths it leaves alone."""

import pickle
import warnings

import numpy as np
import pandas as pd
import patsy
import pytest
import statsmodels.api as sm

from cxinfluence.models import glm
from cxinfluence.models.fit import decision_equation, fit_bookings, fit_formula, fit_rebuy, models_table
from cxinfluence.models.lean import LeanGLMResults, build_design

pytestmark = pytest.mark.usefixtures("quiet_degenerate_fits")

TWEEDIE = sm.families.Tweedie(var_power=1.5, link=sm.families.links.Log())


def _frame(n=1500, periods=1, seed=0):
    rng = np.random.default_rng(seed)
    acc = np.repeat([f"A{i:04d}" for i in range(n)], periods)
    m = n * periods
    latent = np.repeat(rng.normal(0.2, 0.4, n), periods) + rng.normal(0, 0.1, m)
    df = pd.DataFrame({
        "account_id": acc,
        "period_end": np.tile(pd.date_range("2023-12-31", periods=periods, freq="YE"), n),
        "mean": latent + rng.normal(0, 0.2, m),
        "log_revenue": np.repeat(rng.normal(12, 1, n), periods),
        "segment": np.repeat(rng.choice(["energy", "food", "water"], n), periods),
        "region": np.repeat(rng.choice(["EU", "NA"], n), periods),
    })
    df["renewed"] = (rng.uniform(size=m) < 1 / (1 + np.exp(-(0.8 + 2.0 * latent)))).astype(float)
    df["bookings"] = df["renewed"] * rng.gamma(2.0, np.exp(df["log_revenue"] - 8 + 0.6 * latent) / 2.0)
    for r in ("decider", "user"):
        heard = rng.uniform(size=m) < 0.7
        df[f"sent_{r}"] = np.where(heard, latent + rng.normal(0, 0.3, m), np.nan)
        df[f"heard_{r}"] = heard.astype(float)
    return df


@pytest.fixture
def lean(monkeypatch):
    """Every fit of 100 rows or more takes the lean path."""
    monkeypatch.setattr(glm, "WARM_START_MIN_ROWS", 100)


def _statsmodels_reference(f, family, tol=1e-14):
    """The same model fitted from scratch by statsmodels, to full convergence, with the fit's covariance."""
    m = f.result.model
    kw = {}
    if f.cov_type == "cluster":
        kw = {"cov_type": "cluster", "cov_kwds": {"groups": pd.factorize(f.data["account_id"])[0]}}
    elif f.cov_type == "HC1":
        kw = {"cov_type": "cluster", "cov_kwds": {"groups": np.arange(len(m.endog))}}
    return sm.GLM(np.asarray(m.endog), np.asarray(m.exog), family=family).fit(tol=tol, maxiter=500, **kw)


def _assert_equal_to(res, ref, rtol=1e-8):
    for attr in ("params", "bse", "pvalues", "tvalues", "fittedvalues"):
        np.testing.assert_allclose(np.asarray(getattr(res, attr)), np.asarray(getattr(ref, attr)), rtol=rtol,
                                   atol=0, err_msg=attr)
    np.testing.assert_allclose(np.asarray(res.conf_int()), np.asarray(ref.conf_int()), rtol=rtol, atol=0)
    np.testing.assert_allclose(np.asarray(res.cov_params()), np.asarray(ref.cov_params()), rtol=rtol, atol=1e-300)
    for attr in ("llf", "aic", "bic_llf", "deviance", "null_deviance", "scale", "pearson_chi2", "df_model",
                 "df_resid"):
        assert float(getattr(res, attr)) == pytest.approx(float(getattr(ref, attr)), rel=rtol), attr


FITS = {
    "logit, one period (model-based)": (lambda df: fit_rebuy(df, scheme="mean"), 1, sm.families.Binomial()),
    "logit, 3 periods (cluster)": (lambda df: fit_rebuy(df, scheme="mean", controls=["log_revenue", "segment",
                                                                                      "region"]),
                                   3, sm.families.Binomial()),
    "tweedie, one period (HC1)": (lambda df: fit_bookings(df, scheme="mean"), 1, TWEEDIE),
    "tweedie, 3 periods (cluster)": (lambda df: fit_bookings(df, scheme="mean"), 3, TWEEDIE),
    "tweedie, model-based": (lambda df: fit_bookings(df, scheme="mean", robust="nonrobust"), 1, TWEEDIE),
    "gamma (HC1)": (lambda df: fit_bookings(df, scheme="mean", family="gamma"), 1,
                    sm.families.Gamma(link=sm.families.links.Log())),
    "decision equation (cluster)": (lambda df: decision_equation(df), 2, sm.families.Binomial()),
}


@pytest.mark.parametrize("case", list(FITS))
def test_lean_fit_equals_statsmodels_to_1e8(lean, case):
    fit, periods, family = FITS[case]
    f = fit(_frame(n=1500 // periods, periods=periods, seed=len(case)))
    assert isinstance(f.result, LeanGLMResults)
    ref = _statsmodels_reference(f, family)
    _assert_equal_to(f.result, ref)
    # .statsmodels(): the real statsmodels results of the same fit, with the same covariance
    sm_res = f.result.statsmodels()
    assert type(sm_res).__name__ == "GLMResultsWrapper" and sm_res.cov_type == ref.cov_type
    _assert_equal_to(sm_res, ref)
    assert list(sm_res.params.index) == list(f.result.params.index)


def test_lean_fit_reports_the_same_table_and_flags_as_the_statsmodels_path(monkeypatch):
    df = _frame(n=600, periods=2, seed=3)
    # few events per term in the small sample: a flag set on both paths
    df["renewed"] = 1.0
    df.loc[df.index[::40], "renewed"] = 0.0
    fits = lambda: [fit_rebuy(df, scheme="mean"), fit_bookings(df, scheme="mean"),  # noqa: E731
                    decision_equation(df, roles=["decider", "user"])]
    monkeypatch.setattr(glm, "WARM_START_MIN_ROWS", 10**9)
    before = fits()
    monkeypatch.setattr(glm, "WARM_START_MIN_ROWS", 100)
    after = fits()
    assert all(isinstance(f.result, LeanGLMResults) for f in after)
    assert not any(isinstance(f.result, LeanGLMResults) for f in before)
    for b, a in zip(before, after):
        assert a.warnings == b.warnings and a.term_warnings == b.term_warnings and a.notes == b.notes
    tb, ta = models_table(before), models_table(after)
    num = tb.select_dtypes("number").columns
    pd.testing.assert_frame_equal(ta.drop(columns=num), tb.drop(columns=num))
    # statsmodels from scratch stops at a deviance change of 1e-10: its estimates are that close
    np.testing.assert_allclose(ta[num].to_numpy(float), tb[num].to_numpy(float), rtol=1e-5)
    e_b, e_a = before[2].effects, after[2].effects
    np.testing.assert_allclose(e_a["difference"], e_b["difference"], rtol=1e-5)


def test_separated_and_aliased_fits_take_the_statsmodels_path_with_their_flags(lean):
    df = _frame(n=800, seed=5)
    sep = df.assign(renewed=(df["mean"] > 0.2).astype(float))
    with pytest.warns(Warning):
        f = fit_rebuy(sep, scheme="mean", controls=[])
    assert not isinstance(f.result, LeanGLMResults) and f.flags["separation"] and not f.reliable
    const = df.assign(log_revenue=5.0)
    with pytest.warns(Warning):
        g = fit_rebuy(const, scheme="mean", controls=["log_revenue"])
    assert not isinstance(g.result, LeanGLMResults) and g.flags["collinearity"]
    assert "log_revenue" in g.term_warnings
    # a 0/1 term that is 1 only where bookings are 0 (separation with a log link): flagged as before
    z = df.assign(flag=(df["bookings"] == 0).astype(float) * (np.arange(len(df)) % 2))
    with pytest.warns(Warning):
        h = fit_bookings(z, scheme="mean", controls=["flag"])
    assert h.flags["separation"]


def test_downstream_reads_of_a_lean_fit_work(lean, monkeypatch):
    from cxinfluence.models.findings import rebuy_findings
    from cxinfluence.models.predict import predict_renewal, renewal_curve_table

    df = _frame(n=800, seed=6)
    f = fit_rebuy(df, scheme="mean")
    assert isinstance(f.result, LeanGLMResults)
    p = predict_renewal(f, df.iloc[:5])
    ref = f.result.statsmodels().predict(df.iloc[:5])
    np.testing.assert_allclose(p["p_renew"], ref, rtol=1e-10)
    assert len(renewal_curve_table(f, "mean")) == 41
    monkeypatch.setattr(glm, "WARM_START_MIN_ROWS", 10**9)
    g = fit_rebuy(df, scheme="mean")  # statsmodels' own fit: the same findings, in words and numbers
    assert not isinstance(g.result, LeanGLMResults)
    pd.testing.assert_frame_equal(rebuy_findings(f), rebuy_findings(g), rtol=1e-6)
    assert "Generalized Linear Model Regression Results" in f.summary()
    h = pickle.loads(pickle.dumps(f))
    np.testing.assert_array_equal(h.result.bse, f.result.bse)
    assert h.result.statsmodels().params.equals(f.result.statsmodels().params)


def test_fit_formula_with_transforms_falls_back_to_patsy(lean):
    df = _frame(n=500, seed=7)
    f = fit_formula(df, "renewed ~ mean * log_revenue + np.log(log_revenue)", cluster=None)
    ref = _statsmodels_reference(f, sm.families.Binomial())
    np.testing.assert_allclose(f.result.params, ref.params, rtol=1e-8)


def test_build_design_equals_patsy():
    rng = np.random.default_rng(8)
    n = 300
    df = pd.DataFrame({"y": rng.uniform(size=n), "x": rng.normal(size=n), "k": rng.integers(0, 5, n),
                       "g": pd.Categorical(rng.choice(["b", "a", "c"], n), categories=["c", "a", "b", "unused"]),
                       "h": pd.Categorical(rng.choice(["u", "v"], n))})
    for rhs in ("x + g + k", "g + h + x", "0 + g + x", "x", "1"):
        d = build_design(f"y ~ {rhs}", df)
        y, X = patsy.dmatrices(f"y ~ {rhs}", df, return_type="dataframe")
        assert d.names == list(X.columns), rhs
        np.testing.assert_array_equal(d.X, X.to_numpy())
        np.testing.assert_array_equal(d.y, y.to_numpy().ravel())
    assert build_design("y ~ x:g", df) is None and build_design("y ~ C(g, Sum)", df) is None
    assert build_design("y ~ np.exp(x)", df) is None
    assert build_design("g ~ x", df) is None  # a categorical outcome: patsy's business


def test_lean_fit_caps_blas_threads_and_restores_them(lean):
    from threadpoolctl import threadpool_info

    before = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    seen = {}
    real = glm._fit_glm_capped

    def spy(*a, **k):
        seen["threads"] = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
        return real(*a, **k)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        glm._fit_glm_capped = spy
        try:
            fit_rebuy(_frame(n=300, seed=9), scheme="mean")
        finally:
            glm._fit_glm_capped = real
    assert set(seen["threads"]) <= {1}
    assert [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"] == before


def test_compare_schemes_reproduces_the_tables_before_the_lean_fits():
    """Refits, cross-validation and the bootstrap (weights drawn on a second thread) give the numbers of
    e3c6f55 (tests/reference/compare_schemes_e3c6f55.csv) to 1e-10 relative."""
    import importlib.util
    from pathlib import Path

    ref_dir = Path(__file__).parent / "reference"
    spec = importlib.util.spec_from_file_location("make_ref", ref_dir / "make_compare_schemes_reference.py")
    make_ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_ref)
    got = make_ref.comparison_tables()
    ref = pd.read_csv(ref_dir / "compare_schemes_e3c6f55.csv")
    assert list(got.columns) == list(ref.columns)
    num = [c for c in got.columns if pd.api.types.is_numeric_dtype(got[c]) and not pd.api.types.is_bool_dtype(got[c])]
    np.testing.assert_allclose(got[num].to_numpy(float), ref[num].to_numpy(float), rtol=1e-10, atol=1e-15)
    rest = [c for c in ref.columns if c not in num]
    text = lambda t: [[str(v) if v == v else "" for v in t[c]] for c in rest]  # noqa: E731 - NaN (blank CSV) -> ""
    assert text(got) == text(ref)


def test_bootstrap_weights_drawn_aside_equal_those_drawn_in_sequence():
    from cxinfluence.models.compare import _boot_weights

    rng = np.random.default_rng([7, 2])
    W = rng.multinomial(50, np.full(50, 1 / 50), size=9).astype(float)
    np.testing.assert_array_equal(_boot_weights(7, 2, 50, 9), W)


@pytest.mark.parametrize("scale", [0.05, 1.0, 30.0])
def test_tweedie_closed_form_loglike_equals_statsmodels(scale):
    from cxinfluence.models.lean import _loglike

    rng = np.random.default_rng(12)
    mu = np.exp(rng.uniform(-3, 9, 20000))
    y = np.where(rng.uniform(size=mu.size) < 0.3, 0.0, mu * rng.gamma(2.0, 0.5, mu.size))
    assert _loglike(TWEEDIE, y, mu, scale) == pytest.approx(TWEEDIE.loglike(y, mu, scale=scale), rel=1e-11)
    other = sm.families.Tweedie(var_power=1.3, link=sm.families.links.Log())
    assert _loglike(other, y, mu, scale) == other.loglike(y, mu, scale=scale)  # statsmodels' own series


@pytest.mark.parametrize("dtype, blanks", [("str", 30), (object, 30), ("str", 0)])
def test_group_codes_equal_factorize_in_any_order(dtype, blanks):
    # sorted ids without blanks take the shortcut (every run a new id, numbered in turn); a run of an id seen
    # before ("A1" after "A2") or bytes out of order ("B" < "a" < "é") must not
    from cxinfluence.models.design import group_codes

    rng = np.random.default_rng(13)
    ids = np.repeat([f"A{i}" for i in rng.permutation(3000)] + ["B", "a", "é", "A1"], 4).astype(object)
    ids[rng.choice(ids.size, blanks, replace=False)] = None
    for order in (np.arange(ids.size), np.argsort(ids.astype(str), kind="stable"), rng.permutation(ids.size),
                  np.argsort(ids.astype(str), kind="stable")[:-4]):
        s = pd.Series(ids[order], dtype=dtype)
        np.testing.assert_array_equal(group_codes(s), pd.factorize(s)[0])


def test_probing_a_lean_result_does_not_fit_statsmodels(lean):
    f = fit_rebuy(_frame(n=400, seed=14), scheme="mean")
    assert not hasattr(f.result, "cov_re") and not hasattr(f.result, "bse_fe")  # "is it a mixed model?"
    assert f.result._sm is None  # diagnostics, tidy, stats and models_table never needed statsmodels
    models_table(f)
    assert f.result._sm is None
    first = f.result.statsmodels()
    assert f.result.statsmodels() is first and f.result.fit_history["iteration"] == 1


@pytest.mark.parametrize("periods", [1, 3])
@pytest.mark.parametrize("path", ["lean", "statsmodels"])
def test_marginal_effects_in_closed_form_equal_statsmodels_get_margeff(path, periods, monkeypatch):
    """A logit's average marginal effects (Fit.marginal_effects, what a run keeps) in closed form: equal to
    statsmodels' get_margeff(at="overall", method="dydx") on the same results (model-based and cluster-robust
    covariance), without its rows x k x k numerical Jacobian."""
    if path == "lean":
        monkeypatch.setattr(glm, "WARM_START_MIN_ROWS", 100)
    f = fit_rebuy(_frame(n=1200 // periods, periods=periods, seed=periods),
                  scheme="mean", controls=["log_revenue", "segment", "region"])
    assert isinstance(f.result, LeanGLMResults) == (path == "lean")
    assert f.cov_type == ("cluster" if periods > 1 else "nonrobust")
    ref = (f.result.statsmodels() if path == "lean" else f.result).get_margeff(at="overall", method="dydx")
    m = f.marginal_effects()
    np.testing.assert_allclose(m.margeff, ref.margeff, rtol=1e-10, atol=0)
    np.testing.assert_allclose(m.margeff_se, ref.margeff_se, rtol=1e-9, atol=0)
    np.testing.assert_allclose(m.margeff_cov, ref.margeff_cov, rtol=1e-8, atol=1e-18)
    np.testing.assert_allclose(m.conf_int(0.1), ref.conf_int(0.1), rtol=1e-9, atol=0)
    np.testing.assert_allclose(m.pvalues, ref.pvalues, rtol=1e-6, atol=1e-300)
    released = fit_rebuy(_frame(n=1200 // periods, periods=periods, seed=periods), scheme="mean",
                         controls=["log_revenue", "segment", "region"]).release_data(statsmodels=True)
    assert released.marginal_effects().margeff.tolist() == m.margeff.tolist()  # what a run keeps: the same bits
