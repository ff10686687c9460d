"""The exact optimum of a linear mixed model (cxinfluence.models.lmm) against the deviance written out,
statsmodels' likelihood, lme4's criteria and the closed-form ANOVA estimates of a balanced one-way layout."""

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from pathlib import Path

from cxinfluence.exceptions import DegenerateFitWarning
from cxinfluence.models import lmm
from cxinfluence.models.fit import fit_mixed

REF = Path(__file__).parent / "reference"


def _data(seed, sizes, q, p=3):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(len(sizes)), sizes)
    n = len(g)
    X = np.column_stack([np.ones(n), rng.normal(size=(n, p - 1))])
    Z = X[:, :q]
    u = rng.normal(0, 0.8, (len(sizes), q))
    y = X @ rng.normal(size=p) + np.einsum("nq,nq->n", Z, u[g]) + rng.normal(size=n)
    return X, Z, y, g


@pytest.mark.parametrize("q, theta", [(1, [0.0]), (1, [0.7]), (2, [0.9, -0.3, 0.4]), (2, [1.2, 0.5, 0.0])])
@pytest.mark.parametrize("reml", [True, False])
def test_kernel_equals_the_deviance_written_out(q, theta, reml):
    X, Z, y, g = _data(1, [3, 7, 1, 12, 5, 9, 2], q)
    kernel = lmm.profiled_deviance(theta, lmm.group_moments(X, Z, y, g), reml)
    reference = lmm.profiled_deviance_reference(theta, X, Z, y, g, reml)
    assert kernel[0] == pytest.approx(reference[0], rel=1e-12)
    np.testing.assert_allclose(kernel[1], reference[1], rtol=1e-10)
    assert kernel[2] == pytest.approx(reference[2], rel=1e-10)


def test_group_order_and_labels_do_not_matter():
    X, Z, y, g = _data(2, [4, 6, 3, 8], 2)
    labels = np.array(["d", "b", "c", "a"])[g]
    order = np.random.default_rng(0).permutation(len(y))
    a = lmm.profiled_deviance([0.8, 0.1, 0.3], lmm.group_moments(X, Z, y, g))[0]
    b = lmm.profiled_deviance([0.8, 0.1, 0.3], lmm.group_moments(X[order], Z[order], y[order], labels[order]))[0]
    assert a == pytest.approx(b, rel=1e-12)


@pytest.mark.parametrize("reml", [True, False])
def test_deviance_is_minus_twice_statsmodels_log_likelihood(reml):
    X, Z, y, g = _data(3, [5, 9, 4, 11, 6, 8, 7, 10], 2)
    d = pd.DataFrame({"y": y, "x1": X[:, 1], "x2": X[:, 2], "g": g})
    model = smf.mixedlm("y ~ x1 + x2", d, groups=d["g"], re_formula="~x1")
    theta = lmm.mixedlm_start(model, reml)
    result = model.fit(reml=reml, start_params=theta)
    moments = lmm.group_moments(model.exog, model.exog_re, model.endog, d["g"])
    dev, beta, scale = lmm.profiled_deviance(theta, moments, reml)
    assert dev == pytest.approx(-2 * result.llf, rel=1e-10)
    np.testing.assert_allclose(beta, result.fe_params, rtol=1e-8)
    assert scale == pytest.approx(result.scale, rel=1e-8)
    # statsmodels' optimiser accepts the start: the packed factor it returns is the one it was given
    L = np.linalg.cholesky(result.cov_re_unscaled)[np.tril_indices(2)]
    np.testing.assert_allclose(L, theta, rtol=1e-6, atol=1e-9)
    assert result.converged


def test_slope_is_the_derivative_of_the_deviance():
    X, Z, y, g = _data(4, [6, 3, 9, 4, 7], 1)
    m = lmm.group_moments(X, Z, y, g)
    for reml in (True, False):
        for t in (0.0, 0.05, 0.8, 30.0):
            h = 1e-6 * max(t, 1e-3)

            def dev(v):
                return lmm.profiled_deviance([np.sqrt(v)], m, reml)[0]

            numeric = (dev(t + h) - dev(max(t - h, 0.0))) / (t + h - max(t - h, 0.0))
            assert lmm.deviance_slope(t, m, reml) == pytest.approx(numeric, rel=1e-5, abs=1e-8)


def _anova(y, g):
    """Balanced one-way layout: the between- and within-group mean squares, groups, rows per group."""
    s = pd.Series(y).groupby(g)
    G, n = s.ngroups, int(s.size().iloc[0])
    msw = float(((y - s.transform("mean").to_numpy()) ** 2).sum() / (len(y) - G))
    msb = float(n * ((s.mean() - y.mean()) ** 2).sum() / (G - 1))
    return msb, msw, G, n


def test_balanced_one_way_reml_and_ml_equal_their_closed_forms():
    """REML equals the ANOVA estimates when they are positive; ML gives (SSB/G - MSW)/n
    (Searle, Casella & McCulloch 1992, Variance Components, sections 3.7 and 4.7)."""
    d = pd.read_csv(REF / "Dyestuff.csv")
    y, g = d["Yield"].to_numpy(float), d["Batch"].to_numpy()
    msb, msw, G, n = _anova(y, g)
    one = np.ones((len(y), 1))
    m = lmm.group_moments(one, one, y, g)
    theta, dev = lmm.optimum(m, reml=True)
    scale = lmm.profiled_deviance(theta, m, True)[2]
    assert scale == pytest.approx(msw, rel=1e-10)
    assert theta[0] ** 2 * scale == pytest.approx((msb - msw) / n, rel=1e-9)
    assert dev == pytest.approx(319.6543, abs=5e-5)          # lme4: "REML criterion at convergence: 319.6543"
    theta, dev = lmm.optimum(m, reml=False)
    scale = lmm.profiled_deviance(theta, m, False)[2]
    assert scale == pytest.approx(msw, rel=1e-10)
    assert theta[0] ** 2 * scale == pytest.approx(((G - 1) / G * msb - msw) / n, rel=1e-9)
    assert dev == pytest.approx(327.3271, abs=5e-5)          # lme4: deviance(refitML(fm))


def test_negative_anova_estimate_is_the_boundary():
    rng = np.random.default_rng(5)
    g = np.repeat(np.arange(6), 10)
    y = rng.normal(size=60)
    y += np.repeat([0.01, -0.01, 0.0, 0.005, -0.005, 0.0], 10) - pd.Series(y).groupby(g).transform("mean").to_numpy()
    msb, msw, _, _ = _anova(y, g)
    assert msb < msw                                           # group means almost equal: ANOVA's estimate < 0
    one = np.ones((60, 1))
    for reml in (True, False):
        theta, _ = lmm.optimum(lmm.group_moments(one, one, y, g), reml)
        assert theta[0] == 0.0


def test_large_flat_case_where_statsmodels_alone_stops_short():
    """400,000 rows in a few groups with a tiny group effect (as the 100k portfolio's bookings model by
    segment, where statsmodels' own search stopped 14 units of REML criterion short): the exact optimum is
    the ANOVA one; fit_mixed reports it."""
    rng = np.random.default_rng(6)
    g = np.repeat(np.array(list("abcd")), 100_000)
    y = 3.0 + np.repeat(rng.normal(0, 0.02, 4), 100_000) + rng.normal(0, 1, 400_000)
    msb, msw, G, n = _anova(y, g)
    assert msb > msw
    df = pd.DataFrame({"account_id": np.arange(len(y)).astype(str), "segment": g, "y": y})
    with pytest.warns(DegenerateFitWarning, match="only 4 segment groups"):
        f = fit_mixed(df, scheme="y", controls=[], outcome="y", transform=None, formula="y ~ 1 + (1 | segment)")
    vc = f.variance_components.set_index(["component", "group"])["estimate"]
    assert vc[("var", "Residual")] == pytest.approx(msw, rel=1e-9)
    assert vc[("var", "segment")] == pytest.approx((msb - msw) / n, rel=1e-7)
    assert f.result.converged and f.flags["few_groups"] and not f.reliable


def test_sleepstudy_optimum_is_below_statsmodels_own_and_agrees_with_another_optimiser():
    from scipy import optimize

    d = pd.read_csv(REF / "sleepstudy.csv")
    model = smf.mixedlm("Reaction ~ Days", d, groups=d["Subject"], re_formula="~Days")
    m = lmm.group_moments(model.exog, model.exog_re, model.endog, d["Subject"])
    theta, dev = lmm.optimum(m, reml=True)
    assert dev == pytest.approx(1743.6283, abs=5e-5)          # lme4: REML criterion 1743.628
    plain = model.fit(reml=True)                               # statsmodels from its own start
    assert dev <= -2 * plain.llf + 1e-9
    other = optimize.minimize(lambda t: lmm.profiled_deviance(t, m)[0], [0.5, 0.0, 0.5], method="Powell",
                              options={"xtol": 1e-12, "ftol": 1e-15})
    assert dev <= other.fun + 1e-9
    np.testing.assert_allclose(theta, other.x, rtol=1e-4)


def test_no_finite_optimum_leaves_statsmodels_its_own_start():
    g = np.repeat(np.arange(5), 4)
    x = np.linspace(-1, 1, 20)
    d = pd.DataFrame({"y": 5.0 + 0.5 * x, "x": x, "g": g})     # an exact fit: no residual at all
    model = smf.mixedlm("y ~ x", d, groups=d["g"])
    assert lmm.mixedlm_start(model) is None


def test_three_random_effects_where_statsmodels_alone_fails():
    """A random intercept and two correlated slopes (30 groups of 40): on this draw statsmodels' own search
    ends unconverged 21 units of REML criterion above the optimum; started at the optimum it converges
    there, which Powell's method from two other starts confirms."""
    from scipy import optimize

    rng = np.random.default_rng(3)
    g = np.repeat(np.arange(30), 40)
    x1, x2 = rng.normal(size=1200), rng.normal(size=1200)
    U = rng.multivariate_normal([0, 0, 0], [[1, .3, 0], [.3, .5, .1], [0, .1, .2]], 30)
    y = 1 + 0.5 * x1 - 0.2 * x2 + U[g, 0] + U[g, 1] * x1 + U[g, 2] * x2 + rng.normal(size=1200)
    d = pd.DataFrame({"y": y, "x1": x1, "x2": x2, "g": g})
    model = smf.mixedlm("y ~ x1 + x2", d, groups=d["g"], re_formula="~x1 + x2")
    started = model.fit(start_params=lmm.mixedlm_start(model))
    assert started.converged
    m = lmm.group_moments(model.exog, model.exog_re, model.endog, g)
    for x0 in (np.eye(3)[np.tril_indices(3)], np.full(6, 0.3)):
        other = optimize.minimize(lambda t: lmm.profiled_deviance(t, m)[0], x0, method="Powell",
                                  options={"xtol": 1e-10, "ftol": 1e-14, "maxiter": 100_000})
        assert -2 * started.llf <= other.fun + 1e-8
    plain = model.fit()  # statsmodels 0.15 from its own start: unconverged, 3767.56 against 3746.74
    assert -2 * started.llf <= -2 * plain.llf + 1e-8


@pytest.mark.slow
@pytest.mark.parametrize("where, groups", [("within", 30), ("between", 30), ("between", 5)])
def test_fixed_slope_interval_covers(where, groups):
    """The printed 95% interval of a fixed slope (t on between-within df) covers the truth by simulation (200
    random-intercept data sets of G groups x 20 rows; benchmarks/validate_mixed.py has the fuller table): within
    3 Monte Carlo SEs (0.015) of 0.95. A between-group slope from 5 groups is the case statsmodels' Wald z got
    wrong (0.846 over 1,000 draws; 0.955 with the t)."""
    hit, n = 0, groups * 20
    for seed in range(200):
        rng = np.random.default_rng(seed)
        g = np.repeat(np.arange(groups), 20)
        x = rng.normal(size=groups)[g] if where == "between" else rng.normal(size=n)
        y = 1 + 0.4 * x + rng.normal(0, 0.5, groups)[g] + rng.normal(size=n)
        df = pd.DataFrame({"account_id": np.arange(n).astype(str), "segment": [f"g{i}" for i in g], "x": x, "y": y})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            row = fit_mixed(df, scheme="x", controls=[], outcome="y", transform=None, lrt=False).tidy().set_index(
                "term").loc["x"]
        hit += bool(row["ci_low"] <= 0.4 <= row["ci_high"])
    assert abs(hit / 200 - 0.95) <= 3 * np.sqrt(0.95 * 0.05 / 200)
