"""Slopes on measured sentiment, corrected for measurement error.

An account's sentiment is *measured*: a few stakeholders answered, each with
noise, so the scheme value ``W`` is the true sentiment ``X`` plus an error
``U`` whose variance differs by account and by scheme (one veto holder is
noisier than the mean of eight people). A slope on ``W`` is biased toward
zero (attenuation): in a linear model by the reliability ratio
``lambda = var(X) / (var(X) + var(U))``, in a logistic model approximately so
(Carroll et al. 2006, ch. 3-4). On synthetic villages a true renewal effect of
4.0 is estimated at 1.9-2.6 depending on the scheme, with 95 % intervals
covering 0-42 % of the time; calibrated, the construct-matched scheme gives
3.67 (coverage 0.94) and 4.73 (0.88) in two worlds
(``benchmarks/validate_models.py``, ``benchmarks/README.md``). It matters when the average error
variance is not small against the spread of true sentiment between accounts:
the table's ``reliability`` column says how much, and with a reliability above
about 0.9 the correction changes little.

:func:`corrected_fit` wraps a fit (:func:`cxinfluence.models.fit_rebuy` by
default) and corrects the slope of the sentiment column with the per-account
SEs that :func:`cxinfluence.sentiment.account_sentiment` already reports
(``<scheme>_se`` in the model frame):

``method="calibration"`` (regression calibration; Carroll et al. 2006, ch. 4)
    Replace ``W`` by the best linear predictor of ``X`` given ``W`` and the
    controls ``Z``: regress ``W`` on ``Z`` (OLS), ``s2 = `` its residual
    variance, ``sx2 = s2 - mean(u2)`` the residual variance of the true
    sentiment, and per account ``lambda_i = sx2 / (sx2 + u2_i)``,
    ``X^_i = W^_Z,i + lambda_i (W_i - W^_Z,i)``; then refit the same model on
    ``X^`` (a full :class:`~cxinfluence.models.Fit` with every diagnostic).
    Its SEs come from the refit (cluster-robust as the original) and ignore
    the estimation of ``lambda``, negligible with hundreds of accounts.
    Assumes classical, non-differential error (the survey noise says nothing
    about renewal beyond the true sentiment) and, for a logit, a modest
    effect (the approximation ``E[Y|W] ~ E[Y|X = X^]``).

``method="simex"`` (simulation-extrapolation; Cook & Stefanski 1994)
    Add further noise ``sqrt(zeta) u_i e`` to ``W`` for ``zeta = 0.5, 1,
    1.5, 2`` (``n_sim`` draws each, seeded), refit, average the slope per
    ``zeta`` and extrapolate to ``zeta = -1``
    (no error) with the quadratic extrapolant (the usual choice: stable, but
    conservative, i.e. it under-corrects strong attenuation; the rational
    extrapolant, exact for a linear model, proved unstable with a few hundred
    accounts). Variance by the Stefanski & Cook (1995) rule: per ``zeta``
    the mean estimated variance minus the variance of the simulated slopes,
    extrapolated by a quadratic, and never below the naive SE times the
    correction factor ``|b_simex / b_naive|``. Makes no assumption on ``X``'s distribution;
    with strong attenuation (reliability near 0.5) it still under-corrects a
    little in a logit.

Which column to correct. The correction assumes *classical* error, ``W = X +
U`` with ``U`` independent of ``X``. That holds for plain and weighted means
of the people heard (``mean``, ``role_weighted``, ``nested`` and
``influence_heard``, the heard influence-weighted mean that
:func:`~cxinfluence.sentiment.account_sentiment` reports beside the imputed
score). It does not hold for empirical-Bayes estimates: ``shrunk`` is already
``E[X | W]`` (refused here), and ``influence_weighted`` with imputation is
partly shrunk toward the segment, which inflates its slope by ``1 / (H + (1 -
H)(1 - B))`` while the noise deflates it; correct ``influence_heard`` instead
(the run does). Known bias: the SEs treat the people heard as a sample from a
large population, so when most of an account is heard (a finite population)
the error variance is overstated and the correction overshoots; the
validation study measures both directions.

Error variances ``u2_i``: ``<scheme>_se`` squared where it is finite and
positive; otherwise (one respondent, or respondents who agree) the pooled
value ``mean(se^2 n) / n_i`` with ``n_i = n_respondents`` (or 1).

References
----------
Carroll, R. J., Ruppert, D., Stefanski, L. A. & Crainiceanu, C. M. (2006).
*Measurement Error in Nonlinear Models*, 2nd ed. Chapman & Hall/CRC.
Cook, J. R. & Stefanski, L. A. (1994). Simulation-extrapolation estimation in
parametric measurement error models. *JASA* 89, 1314-1328.
Stefanski, L. A. & Cook, J. R. (1995). Simulation-extrapolation: the
measurement error jackknife. *JASA* 90, 1247-1256.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..exceptions import ModelError
from ..sentiment.schemes import PRIMARY_SCHEME
from .design import group_codes
from .fit import fit_rebuy
from .irls import irls
from .release import release_fit
from .threads import blas_threads

METHODS = ("calibration", "simex")

#: SIMEX noise multipliers (Cook & Stefanski 1994 use 0.5 .. 2).
SIMEX_ZETAS = (0.5, 1.0, 1.5, 2.0)


@dataclass
class Corrected:
    """A slope corrected for measurement error (:func:`corrected_fit`).

    Attributes
    ----------
    method, scheme : str
    naive : Fit
        The fit on the measured sentiment.
    fit : Fit or None
        The refit on the calibrated sentiment (``method="calibration"``).
    table : DataFrame
        One row: ``model, term, method, estimate, std_error, ci_low, ci_high,
        p_value, naive_estimate, naive_std_error, reliability, n, reliable,
        warning``.
    simex : DataFrame or None
        ``zeta, estimate, variance`` per noise level (``method="simex"``).
    """

    method: str
    scheme: str
    naive: object
    table: pd.DataFrame
    fit: object = None
    simex: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def estimate(self) -> float:
        return float(self.table["estimate"].iloc[0])

    def tidy(self) -> pd.DataFrame:
        """The one-row table (same columns as :attr:`table`)."""
        return self.table.copy()


def error_variance(frame, scheme, se_col=None, n_col="n_respondents") -> pd.Series:
    """Per-row measurement-error variance of a scheme column.

    ``se^2`` where ``<scheme>_se`` is finite and positive, else the pooled
    ``mean(se^2 n) / n_i`` (see the module docstring).

    Examples
    --------
    >>> df = pd.DataFrame({"x_se": [0.1, 0.2, np.nan, 0.0], "n_respondents": [4, 1, 1, 3]})
    >>> error_variance(df, "x").round(4).tolist()
    [0.01, 0.04, 0.04, 0.0133]
    """
    se_col = se_col or f"{scheme}_se"
    if se_col not in frame.columns:
        raise ModelError(f"frame has no column {se_col!r} with the per-account SE of {scheme!r}; build the frame "
                         "with cxinfluence.model_frame (it keeps <scheme>_se) or pass se_col=")
    se = pd.to_numeric(frame[se_col], errors="coerce").to_numpy(float)
    n = (pd.to_numeric(frame[n_col], errors="coerce").to_numpy(float) if n_col in frame.columns
         else np.ones(len(frame)))
    n = np.where(np.isfinite(n) & (n >= 1), n, 1.0)
    good = np.isfinite(se) & (se > 0)
    if not good.any():
        raise ModelError(f"column {se_col!r} has no finite positive SE; the measurement error of {scheme!r} "
                         "cannot be estimated (are all accounts heard through one person?)")
    pooled = float(np.mean(se[good] ** 2 * n[good]))
    return pd.Series(np.where(good, se**2, pooled / n), index=frame.index, name="error_variance")


def corrected_fit(frame, scheme=PRIMARY_SCHEME, method="calibration", *, fit=None, se_col=None,
                  n_sim=50, seed=0, conf_level=0.95, release=False, **fit_kwargs) -> Corrected:
    """Fit a model on a measured sentiment scheme and correct its slope.

    Parameters
    ----------
    frame : DataFrame
        Model frame with ``scheme`` and ``<scheme>_se``.
    scheme : str
    method : {"calibration", "simex"}
    fit : callable, optional
        ``fit(frame, scheme=..., **fit_kwargs) -> Fit``; default
        :func:`cxinfluence.models.fit_rebuy` (``fit_bookings`` works too).
    se_col : str, optional
        Column of per-account SEs (default ``<scheme>_se``).
    n_sim : int
        SIMEX draws per noise level.
    seed : int
    conf_level : float
    release : bool, default False
        With ``method="calibration"``: release the naive fit's rows
        (:func:`~cxinfluence.models.release.release_fit`) before the refit, so that the two fits' designs are
        not held together (:func:`cxinfluence.run` does; ``naive`` then keeps estimates and statistics).
    **fit_kwargs
        Passed to ``fit`` (``controls``, ``cluster``, ``outcome``...).

    Returns
    -------
    Corrected

    Examples
    --------
    True sentiment ``X``, measured with error SD 0.3 (reliability 0.5):

    >>> rng = np.random.default_rng(2); n = 3000
    >>> x = rng.normal(0, 0.3, n); w = x + rng.normal(0, 0.3, n)
    >>> df = pd.DataFrame({"account_id": np.arange(n).astype(str), "w": w, "w_se": 0.3})
    >>> df["renewed"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-(0.5 + 2.0 * x)))).astype(float)
    >>> c = corrected_fit(df, "w", controls=[])
    >>> t = c.table.iloc[0]
    >>> float(round(t["naive_estimate"], 1)), float(round(t["estimate"], 1)), bool(t["ci_low"] < 2.0 < t["ci_high"])
    (0.9, 1.8, True)
    >>> bool(t["naive_estimate"] + 1.96 * t["naive_std_error"] < 2.0)  # the naive interval misses
    True
    """
    if method not in METHODS:
        raise ModelError(f"method={method!r}; expected one of {list(METHODS)}")
    if scheme not in frame.columns:
        raise ModelError(f"scheme={scheme!r} is not a column of the frame")
    if scheme == "shrunk":
        raise ModelError("scheme='shrunk' is an empirical-Bayes estimate, already E[true | measured]: a measurement-"
                         "error correction would correct twice; correct an unshrunk scheme such as 'influence_heard'")
    fit = fit or fit_rebuy
    naive = fit(frame, scheme=scheme, **fit_kwargs)
    used = naive.data if naive.data is not None else frame
    # the fitted rows with the columns the fit read and the SEs: not every column of the frame (a portfolio's
    # frame has some 50; this copy and the calibrated one below would hold them all twice)
    read = list(used.columns) + [se_col or f"{scheme}_se", "n_respondents"]
    rows = (frame.loc[used.index, [c for c in dict.fromkeys(read) if c in frame.columns]]
            if used.index.isin(frame.index).all() else used)
    u2 = error_variance(rows, scheme, se_col).to_numpy()
    model = naive.result.model
    names = list(model.exog_names)
    if scheme not in names:
        raise ModelError(f"scheme {scheme!r} is not a term of the fitted model {naive.name!r}")
    j = names.index(scheme)
    X = np.asarray(model.exog, dtype=float)
    w = X[:, j].copy()  # not a view: the naive fit's design may go before the refit (release)
    Z = np.delete(X, j, axis=1)
    coef, *_ = np.linalg.lstsq(Z, w, rcond=None)
    w_z = Z @ coef
    s2 = float(np.sum((w - w_z) ** 2) / max(len(w) - Z.shape[1], 1))
    X = Z = model = None  # the copies go now; the design itself with the naive fit's rows (release)
    sx2 = s2 - float(np.mean(u2))
    reliability = sx2 / s2 if s2 > 0 else np.nan
    notes = []
    if not sx2 > 0:
        notes.append(f"the error variance of {scheme} (mean {np.mean(u2):.4f}) is not below its residual variance "
                     f"({s2:.4f}): the true spread cannot be estimated and no correction is possible")
    naive_row = naive.tidy(conf_level).set_index("term").loc[scheme]
    out = {"model": naive.name, "term": scheme, "method": method, "naive_estimate": float(naive_row["estimate"]),
           "naive_std_error": float(naive_row["std_error"]), "reliability": reliability, "n": naive.n}
    refit, simex = None, None
    if notes:
        out.update(estimate=np.nan, std_error=np.nan, ci_low=np.nan, ci_high=np.nan, p_value=np.nan,
                   reliable=False, warning="; ".join(notes))
    elif method == "calibration":
        lam = sx2 / (sx2 + u2)
        if release:
            release_fit(naive)
        cal, rows = rows.copy(), None
        cal[scheme] = w_z + lam * (w - w_z)
        kwargs = dict(fit_kwargs)
        kwargs["name"] = f"{naive.name} (regression calibration)"
        if "formula" not in kwargs:
            kwargs.setdefault("controls", _controls_of(naive, scheme))
        refit = fit(cal, scheme=scheme, **kwargs)
        r = refit.tidy(conf_level).set_index("term").loc[scheme]
        out.update(estimate=float(r["estimate"]), std_error=float(r["std_error"]), ci_low=float(r["ci_low"]),
                   ci_high=float(r["ci_high"]), p_value=float(r["p_value"]), reliable=refit.reliable,
                   warning="; ".join(refit.warnings))
    else:
        with blas_threads():  # many small refits: one BLAS thread (cxinfluence.models.threads)
            est, se, simex = _simex(naive, j, u2, n_sim, seed)
        from scipy import stats

        z = stats.norm.ppf(0.5 + conf_level / 2)
        out.update(estimate=est, std_error=se, ci_low=est - z * se, ci_high=est + z * se,
                   p_value=float(2 * stats.norm.sf(abs(est / se))) if se > 0 else np.nan,
                   reliable=naive.reliable and np.isfinite(se), warning="; ".join(naive.warnings))
    cols = ["model", "term", "method", "estimate", "std_error", "ci_low", "ci_high", "p_value", "naive_estimate",
            "naive_std_error", "reliability", "n", "reliable", "warning"]
    return Corrected(method=method, scheme=scheme, naive=naive, table=pd.DataFrame([out], columns=cols), fit=refit,
                     simex=simex)


def _controls_of(naive, scheme):
    """The right-hand-side terms of a fit other than the scheme."""
    rhs = naive.formula.split("~", 1)[1]
    terms = [t.strip() for t in rhs.split("+")]
    return [t for t in terms if t and t != scheme and t != "1"]


def _groups_of(naive):
    d = naive.data
    if d is not None and "account_id" in d.columns and naive.cov_type == "cluster":
        return group_codes(d["account_id"])
    return None


def _glm_fit(X, y, family, start, groups):
    """IRLS fit and its covariance (cluster sandwich with statsmodels' small-sample
    factor when ``groups`` is given, else model-based)."""
    b = irls(X, y, family, start)
    eta = X @ b
    mu = family.link.inverse(eta)
    d = family.link.deriv(mu)
    var = family.variance(mu)
    wt = 1.0 / (d * d * var)
    bread = np.linalg.pinv((X * wt[:, None]).T @ X)
    if groups is None:
        scale = 1.0 if family.__class__.__name__ in ("Binomial", "Poisson") else \
            float(np.sum((y - mu) ** 2 / var) / max(len(y) - X.shape[1], 1))
        return b, bread * scale
    score = X * ((y - mu) / (d * var))[:, None]
    G = int(groups.max()) + 1
    S = np.zeros((G, X.shape[1]))
    np.add.at(S, groups, score)
    n, k = X.shape
    c = G / (G - 1.0) * (n - 1.0) / (n - k)
    return b, c * bread @ (S.T @ S) @ bread


def _simex(naive, j, u2, n_sim, seed):
    model = naive.result.model
    X = np.asarray(model.exog, dtype=float)
    y = np.asarray(model.endog, dtype=float)
    family = model.family
    groups = _groups_of(naive)
    start = np.asarray(naive.result.params, dtype=float)
    rng = np.random.default_rng(seed)
    u = np.sqrt(u2)
    b0, V0 = _glm_fit(X, y, family, start, groups)
    rows = [{"zeta": 0.0, "estimate": b0[j], "variance": V0[j, j]}]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for zeta in SIMEX_ZETAS:
            bs, vs = [], []
            for _ in range(n_sim):
                Xs = X.copy()
                Xs[:, j] = X[:, j] + np.sqrt(zeta) * u * rng.standard_normal(len(u))
                b, V = _glm_fit(Xs, y, family, start, groups)
                bs.append(b[j])
                vs.append(V[j, j])
            bs = np.asarray(bs)
            rows.append({"zeta": zeta, "estimate": bs.mean(), "variance": np.mean(vs) - bs.var(ddof=1)})
    t = pd.DataFrame(rows)
    zeta = t["zeta"].to_numpy()
    est = float(np.polyval(np.polyfit(zeta, t["estimate"].to_numpy(), 2), -1.0))
    var = float(np.polyval(np.polyfit(zeta, t["variance"].to_numpy(), 2), -1.0))
    # the extrapolated variance is noisy (a difference of two simulated quantities): never report less
    # than the naive SE scaled by the correction factor, the delta-method SE of a multiplicative correction
    scaled = float(np.sqrt(V0[j, j]) * abs(est / b0[j])) if b0[j] != 0 else float(np.sqrt(V0[j, j]))
    se = max(float(np.sqrt(var)) if var > 0 else 0.0, scaled)
    return est, se, t


def correction_sentence(table, conf_level=0.95) -> str:
    """One sentence for the report: the corrected slope beside the measured one.

    >>> t = pd.DataFrame({"term": ["influence_heard"], "method": ["calibration"], "estimate": [4.1],
    ...     "ci_low": [2.9], "ci_high": [5.3], "naive_estimate": [2.7], "reliability": [0.66], "reliable": [True],
    ...     "warning": [""]})
    >>> print(correction_sentence(t))  # doctest: +NORMALIZE_WHITESPACE
    Account sentiment is measured with error (reliability 0.66: a third of its spread between accounts is
    survey noise), which pulls the renewal slope toward zero; corrected by regression calibration the slope
    on the influence-weighted sentiment of the people heard is 4.10 (95% CI 2.90 to 5.30), against 2.70 as
    measured.
    """
    if table is None or not len(table) or "estimate" not in table.columns:
        return ""
    r = table.iloc[0]
    if not np.isfinite(r["estimate"]):
        return f"No measurement-error correction was possible: {r['warning']}." if r.get("warning") else ""
    how = {"calibration": "regression calibration", "simex": "SIMEX"}[r["method"]]
    noise = 1.0 - float(r["reliability"])
    share = ("a third" if abs(noise - 1 / 3) < 0.05 else "a quarter" if abs(noise - 0.25) < 0.04 else
             "half" if abs(noise - 0.5) < 0.05 else f"{100 * noise:.0f}%")
    what = ("the influence-weighted sentiment of the people heard" if r["term"] == "influence_heard"
            else f"{str(r['term']).replace('_', ' ')} sentiment")
    s = (f"Account sentiment is measured with error (reliability {r['reliability']:.2f}: {share} of its spread "
         f"between accounts is survey noise), which pulls the renewal slope toward zero; corrected by {how} the "
         f"slope on {what} is {r['estimate']:.2f} "
         f"({round(conf_level * 100)}% CI {r['ci_low']:.2f} to {r['ci_high']:.2f}), against "
         f"{r['naive_estimate']:.2f} as measured.")
    if not bool(r["reliable"]):
        s = f"Unreliable ({r['warning']}): " + s
    return s
