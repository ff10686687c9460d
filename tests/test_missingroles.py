"""IPW alternative to the decision equation's missing indicators: against statsmodels by hand and a known truth."""

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from cxinfluence.exceptions import ModelError
from cxinfluence.models.missingroles import decision_equation_ipw
from cxinfluence.models.fit import decision_equation


def frame(seed=5, n=3000):
    rng = np.random.default_rng(seed)
    size = rng.normal(0, 1, n)
    dec = 0.5 * size + rng.normal(0, 0.5, n)
    use = 0.4 * dec + rng.normal(0, 0.5, n)
    eta = 0.2 + 2.0 * dec + 0.5 * use + 0.3 * size
    df = pd.DataFrame({"account_id": np.arange(n).astype(str), "size": size, "sent_decider": dec, "sent_user": use,
                       "heard_user": 1.0, "renewed": (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))) * 1.0})
    df["heard_decider"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-(0.3 + 1.5 * size)))) * 1.0
    df.loc[df["heard_decider"] == 0, "sent_decider"] = np.nan
    return df


def test_ipw_matches_a_hand_weighted_glm():
    df = frame()
    f = decision_equation_ipw(df, controls=["size"])
    # hand: logit of complete on size + renewed, stabilised weights, truncated 1-99 %, weighted logit
    comp = df["sent_decider"].notna().astype(float)
    Z = sm.add_constant(np.column_stack([df["size"], df["renewed"]]))
    p = sm.GLM(comp.to_numpy(), Z, family=sm.families.Binomial()).fit().fittedvalues
    w = comp.mean() / p
    cc = comp.to_numpy() > 0
    wc = w[cc]
    wc = np.clip(wc, *np.quantile(wc, [0.01, 0.99]))
    X = sm.add_constant(df.loc[cc, ["sent_decider", "sent_user", "size"]].to_numpy())
    ref = sm.GLM(df.loc[cc, "renewed"].to_numpy(), X, family=sm.families.Binomial(), var_weights=wc).fit(
        cov_type="cluster", cov_kwds={"groups": np.arange(cc.sum())})
    assert f.result.params.to_numpy() == pytest.approx(ref.params, rel=1e-6)
    assert f.result.bse.to_numpy() == pytest.approx(ref.bse, rel=1e-6)
    # the SEs are the weighted sandwich written out (bread sum w mu(1-mu) xx', meat sum (w x (y - mu))^2,
    # clusters of one row, statsmodels' small-sample factor)
    y = df.loc[cc, "renewed"].to_numpy()
    mu = 1 / (1 + np.exp(-X @ ref.params))
    bread = np.linalg.inv((X * (wc * mu * (1 - mu))[:, None]).T @ X)
    s = X * (wc * (y - mu))[:, None]
    n, k = X.shape
    V = n / (n - 1) * (n - 1) / (n - k) * bread @ (s.T @ s) @ bread
    assert f.result.bse.to_numpy() == pytest.approx(np.sqrt(np.diag(V)), rel=1e-5)
    assert f.n == cc.sum() and f.reliable
    assert set(f.effects["role"]) == {"decider", "user"}


def test_ipw_removes_the_bias_of_the_missing_indicator_method():
    est_mi, est_ipw = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in range(4):
            df = frame(seed=seed, n=3000)
            est_mi.append(decision_equation(df, controls=["size"]).result.params[["sent_decider", "sent_user"]])
            est_ipw.append(decision_equation_ipw(df, controls=["size"]).result.params[["sent_decider", "sent_user"]])
    mi, ipw = pd.DataFrame(est_mi).mean(), pd.DataFrame(est_ipw).mean()
    truth = pd.Series({"sent_decider": 2.0, "sent_user": 0.5})
    assert ((ipw - truth).abs() < (mi - truth).abs()).all()
    assert (ipw - truth).abs().max() < 0.2


def test_no_complete_account_is_a_clear_error():
    df = frame(n=200)
    df["sent_user"] = np.nan
    with pytest.raises(ModelError, match="complete accounts"):
        decision_equation_ipw(df, controls=["size"])
