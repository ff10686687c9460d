"""Measurement-error corrections (cxinfluence.models.measurement) against hand computations and a known truth."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from cxinfluence.exceptions import ModelError
from cxinfluence.models.measurement import corrected_fit, error_variance


def data(n=2500, seed=3, beta=2.0, sd_x=0.35, sd_u=None):
    rng = np.random.default_rng(seed)
    x = rng.normal(0.2, sd_x, n)
    u = np.full(n, 0.3) if sd_u is None else sd_u
    w = x + rng.normal(0, 1, n) * u
    size = rng.normal(0, 1, n)
    p = 1 / (1 + np.exp(-(0.3 + beta * x + 0.4 * size)))
    return pd.DataFrame({"account_id": np.arange(n).astype(str), "w": w, "w_se": u, "size": size,
                         "n_respondents": 3, "renewed": (rng.uniform(size=n) < p).astype(float)})


def test_calibration_equals_a_hand_calibrated_refit():
    df = data()
    c = corrected_fit(df, "w", method="calibration", controls=["size"])
    # hand: regress w on (1, size); residual variance minus error variance; shrink toward the fit
    Z = sm.add_constant(df[["size"]].to_numpy())
    ols = sm.OLS(df["w"].to_numpy(), Z).fit()
    sx2 = ols.mse_resid - 0.09
    xhat = ols.fittedvalues + sx2 / (sx2 + 0.09) * ols.resid
    ref = sm.GLM(df["renewed"].to_numpy(), sm.add_constant(np.column_stack([np.asarray(xhat), df["size"].to_numpy()])),
                 family=sm.families.Binomial()).fit()
    assert c.estimate == pytest.approx(ref.params[1], rel=1e-6)
    assert c.table["std_error"].iloc[0] == pytest.approx(ref.bse[1], rel=1e-4)
    assert c.table["reliability"].iloc[0] == pytest.approx(sx2 / ols.mse_resid, rel=1e-9)
    assert c.fit is not None and c.fit.reliable


def test_both_methods_recover_an_attenuated_slope():
    df = data(n=4000, seed=8, beta=2.0)
    naive = corrected_fit(df, "w", controls=["size"]).table.iloc[0]
    assert naive["naive_estimate"] < 1.6  # attenuated: reliability ~0.58
    t = corrected_fit(df, "w", method="calibration", controls=["size"]).table.iloc[0]
    assert t["ci_low"] < 2.0 < t["ci_high"] and t["std_error"] > naive["naive_std_error"]
    # quadratic SIMEX moves most of the way but under-corrects strong attenuation (documented)
    s = corrected_fit(df, "w", method="simex", controls=["size"], n_sim=50).table.iloc[0]
    assert naive["naive_estimate"] + 0.3 < s["estimate"] < 2.0
    # with moderate error (reliability ~0.75) its interval covers the truth
    mild = data(n=4000, seed=8, beta=2.0, sd_u=np.full(4000, 0.2))
    s = corrected_fit(mild, "w", method="simex", controls=["size"], n_sim=50).table.iloc[0]
    assert s["ci_low"] < 2.0 < s["ci_high"] and s["estimate"] > s["naive_estimate"]


def test_simex_zero_noise_is_the_naive_fit_and_heteroscedastic_errors_are_used():
    rng = np.random.default_rng(1)
    df = data(n=1500, seed=2, sd_u=rng.uniform(0.05, 0.5, 1500))
    c = corrected_fit(df, "w", method="simex", controls=["size"], n_sim=10, seed=4)
    assert c.simex.loc[c.simex["zeta"] == 0, "estimate"].iloc[0] == pytest.approx(c.naive.result.params["w"],
                                                                                  rel=1e-6)
    # more noise, flatter slope
    assert c.simex["estimate"].is_monotonic_decreasing
    again = corrected_fit(df, "w", method="simex", controls=["size"], n_sim=10, seed=4)
    assert again.estimate == c.estimate  # seeded


def test_error_variance_pools_missing_and_zero_ses():
    df = pd.DataFrame({"x_se": [0.1, 0.2, np.nan, 0.0], "n_respondents": [4, 1, 1, 3]})
    pooled = (0.01 * 4 + 0.04 * 1) / 2
    assert error_variance(df, "x").tolist() == pytest.approx([0.01, 0.04, pooled, pooled / 3])


def test_bad_arguments_are_named():
    df = data(n=200)
    with pytest.raises(ModelError, match="shrunk"):
        corrected_fit(df.assign(shrunk=df["w"], shrunk_se=0.1), "shrunk", controls=["size"])
    with pytest.raises(ModelError, match="method='jackknife'"):
        corrected_fit(df, "w", method="jackknife")
    with pytest.raises(ModelError, match="w2_se"):
        corrected_fit(df.assign(w2=df["w"]), "w2", controls=["size"])


def test_calibration_releasing_the_naive_fit_gives_the_same_correction():
    """release=True (what cxinfluence.run asks): the naive fit's rows go before the refit, nothing else changes."""
    df = data(n=3000, seed=4)
    kept = corrected_fit(df, "w", method="calibration", controls=["size"])
    released = corrected_fit(df, "w", method="calibration", controls=["size"], release=True)
    pd.testing.assert_frame_equal(released.table, kept.table)
    np.testing.assert_array_equal(released.fit.result.params, kept.fit.result.params)
    assert released.naive.data is None and kept.naive.data is not None
    assert released.naive.tidy().equals(kept.naive.tidy())
