"""Linear mixed models with random intercepts and slopes, lme4-style.

Used by :func:`cxinfluence.models.fit.fit_mixed` and
:func:`cxinfluence.models.fit.fit_formula`:

* :func:`parse_random` reads lme4's bar syntax, ``y ~ x + (x | g)``, into a
  fixed-effect formula, a statsmodels ``re_formula`` and the grouping column.
* :func:`variance_components` reports the random-effect variances,
  covariances and correlations and the residual variance **on their own
  scale** (and as SDs), as lme4's ``VarCorr`` does, not as statsmodels'
  ratios to the residual variance. No Wald standard error, interval or
  p-value is given for them: a variance lies on the boundary of its
  parameter space when it is 0, where Wald statistics are invalid.
* :func:`boundary_lrt` tests the last random effect with a likelihood-ratio
  test whose null distribution respects that boundary (Self & Liang 1987;
  Stram & Lee 1994): for one variance component the 50:50 mixture of
  chi-square(0) and chi-square(1); when a random slope is added to ``q``
  correlated random effects (1 variance + ``q`` covariances), the 50:50
  mixture of chi-square(q) and chi-square(q + 1).

The models are fitted by statsmodels ``MixedLM`` (REML by default), which
reproduces lme4 (Bates, Maechler, Bolker & Walker 2015, *J Stat Softw* 67(1))
on the sleepstudy and Dyestuff data (``tests/test_mixed.py``).
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from ..exceptions import ModelError

_BAR = re.compile(r"\(\s*([^()|]*?)\s*(\|\|?)\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\)")


def parse_random(formula):
    """Split an lme4-style formula into its fixed and random parts.

    Returns ``(fixed_formula, re_formula, group, re_terms, intercept)``:
    ``re_formula`` is for statsmodels ``MixedLM`` (``None`` for a random
    intercept only), ``re_terms`` the random slopes and ``intercept``
    whether the random part has an intercept. ``group`` is ``None`` when the
    formula has no ``( ... | group)`` term.

    Only one grouping factor with correlated effects is supported
    (``(x | g)``, ``(1 + x | g)``, ``(0 + x | g)``, ``(1 | g)``); ``||`` and
    several bar terms raise :class:`~cxinfluence.exceptions.ModelError`.

    Examples
    --------
    >>> parse_random("Reaction ~ Days + (Days | Subject)")
    ('Reaction ~ Days', '~Days', 'Subject', ['Days'], True)
    >>> parse_random("Yield ~ 1 + (1 | Batch)")
    ('Yield ~ 1', None, 'Batch', [], True)
    >>> parse_random("y ~ x")
    ('y ~ x', None, None, [], True)
    """
    bars = _BAR.findall(formula)
    if not bars:
        if "|" in formula:
            raise ModelError(f"formula={formula!r}: could not read the random-effect term; "
                             "write it as '(1 | group)' or '(x | group)'")
        return formula, None, None, [], True
    if len(bars) > 1:
        raise ModelError(f"formula={formula!r} has {len(bars)} random-effect terms; one grouping factor with "
                         "correlated effects is supported, e.g. 'y ~ x + (x | group)'")
    expr, bar, group = bars[0]
    if bar == "||":
        raise ModelError(f"formula={formula!r}: uncorrelated random effects ('||') are not supported; "
                         "use '(x | group)' (correlated)")
    fixed = _BAR.sub("", formula)
    lhs, rhs = fixed.split("~", 1)
    rhs = re.sub(r"\+\s*(\+\s*)+", "+ ", rhs).strip().strip("+").strip() or "1"
    fixed = f"{lhs.strip()} ~ {rhs}"
    terms = [t.strip() for t in expr.replace("-", "+-").split("+") if t.strip()]
    intercept = True
    slopes = []
    for t in terms:
        if t in ("0", "-1"):
            intercept = False
        elif t != "1":
            slopes.append(t)
    if not slopes and not intercept:
        raise ModelError(f"formula={formula!r}: the random-effect term has no effect; use '(1 | {group})'")
    if not slopes:
        return fixed, None, group, [], True
    re_formula = "~" + ("" if intercept else "0 + ") + " + ".join(slopes)
    return fixed, re_formula, group, slopes, intercept


def _re_names(model):
    """Random-effect names with the intercept called ``(Intercept)``, as lme4."""
    Z = np.asarray(model.exog_re, dtype=float)
    names = list(getattr(model.data, "exog_re_names", None) or [f"re{j}" for j in range(model.k_re)])
    return ["(Intercept)" if np.all(Z[:, j] == 1) else names[j] for j in range(len(names))]


def variance_components(result, group):
    """Variance components of a statsmodels ``MixedLM`` fit on their own scale.

    One row per component: ``component`` (``var``, ``sd``, ``cov``,
    ``corr``), ``group``, ``term`` (e.g. ``"(Intercept)"``,
    ``"(Intercept), Days"``, ``"Residual"``), ``estimate``, and
    ``mean_square`` (of the random-effect design column, for the boundary
    check). Matches lme4's ``VarCorr()``.

    Examples
    --------
    >>> import statsmodels.formula.api as smf
    >>> rng = np.random.default_rng(0); g = np.repeat(np.arange(10), 8)
    >>> d = pd.DataFrame({"g": g, "y": rng.normal(0, 2, 10)[g] + rng.normal(0, 1, 80)})
    >>> vc = variance_components(smf.mixedlm("y ~ 1", d, groups=d["g"]).fit(), "g")
    >>> vc[["component", "term"]].values.tolist()
    [['var', '(Intercept)'], ['sd', '(Intercept)'], ['var', 'Residual'], ['sd', 'Residual']]
    """
    model = result.model
    names = _re_names(model)
    Z = np.asarray(model.exog_re, dtype=float)
    C = np.asarray(result.cov_re, dtype=float)
    rows = []
    for j, nm in enumerate(names):
        msq = float(np.mean(Z[:, j] ** 2))
        rows.append({"component": "var", "group": group, "term": nm, "estimate": C[j, j], "mean_square": msq})
        rows.append({"component": "sd", "group": group, "term": nm, "estimate": np.sqrt(max(C[j, j], 0.0)),
                     "mean_square": msq})
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            pair = f"{names[i]}, {names[j]}"
            denom = np.sqrt(C[i, i] * C[j, j])
            rows.append({"component": "cov", "group": group, "term": pair, "estimate": C[i, j], "mean_square": np.nan})
            rows.append({"component": "corr", "group": group, "term": pair,
                         "estimate": C[i, j] / denom if denom > 0 else np.nan, "mean_square": np.nan})
    rows.append({"component": "var", "group": "Residual", "term": "Residual", "estimate": float(result.scale),
                 "mean_square": np.nan})
    rows.append({"component": "sd", "group": "Residual", "term": "Residual",
                 "estimate": float(np.sqrt(result.scale)), "mean_square": np.nan})
    return pd.DataFrame(rows)


def component_label(row):
    """Term label of a variance-component row in tidy tables: ``var(Subject: Days)``."""
    if row["group"] == "Residual":
        return f"{row['component']}(Residual)"
    return f"{row['component']}({row['group']}: {row['term']})"


def lrt_mixture_pvalue(statistic, q):
    """p-value of a likelihood-ratio statistic under the 50:50 mixture of
    chi-square(q) and chi-square(q + 1) (Self & Liang 1987; Stram & Lee 1994).

    ``q = 0`` (one variance component against none) gives half the
    chi-square(1) tail: chi-square(0) is a point mass at 0.

    >>> round(lrt_mixture_pvalue(2.706, 0), 3)
    0.05
    >>> lrt_mixture_pvalue(0.0, 0)
    1.0
    """
    from scipy import stats

    statistic = max(float(statistic), 0.0)
    if statistic == 0:
        return 1.0
    low = 0.0 if q == 0 else stats.chi2.sf(statistic, q)
    return float(0.5 * low + 0.5 * stats.chi2.sf(statistic, q + 1))


def boundary_lrt(data, fixed_formula, group, slopes, intercept):
    """Likelihood-ratio test of the last random effect, boundary-aware.

    Both models are refitted by maximum likelihood (as lme4's ``anova``
    does): the full model and the model without the last random effect (the
    last slope, or, with a random intercept only, no random effect: OLS).
    With ``q`` random effects left in the reduced model the null
    distribution is the 50:50 mixture of chi-square(q) and chi-square(q+1).

    Returns a dict ``term, statistic, q, p_value, llf_full, llf_reduced,
    test`` or ``None`` when a refit fails.
    """
    import statsmodels.formula.api as smf
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    terms = (["(Intercept)"] if intercept else []) + list(slopes)
    tested = terms[-1]
    keep_slopes = list(slopes[:-1]) if slopes else []
    q = len(terms) - 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            full = _ml_fit(smf.mixedlm(fixed_formula, data, groups=data[group],
                                       re_formula=_re_formula(slopes, intercept)))
            if q == 0:
                llf0 = smf.ols(fixed_formula, data).fit().llf
            else:
                llf0 = _ml_fit(smf.mixedlm(fixed_formula, data, groups=data[group],
                                           re_formula=_re_formula(keep_slopes, intercept))).llf
        except (np.linalg.LinAlgError, ValueError):
            return None
    # A variance at 0 makes the Hessian singular there (a warning), but the likelihood
    # is still maximised: the statistic is then ~0 and the p-value 1.
    failed = not full.converged or any(issubclass(w.category, ConvergenceWarning) and "converge" in str(w.message)
                                       and "Retrying" not in str(w.message) for w in caught)
    if not (np.isfinite(full.llf) and np.isfinite(llf0)):
        return None
    mix = f"0.5 chi2({q}) + 0.5 chi2({q + 1})"
    if failed and float(full.llf) > float(llf0):
        return None  # a non-converged fit above the null: its statistic could be anything
    # Not converged and no better than the null model: the optimiser stalled at the boundary,
    # where the maximum over the larger model is the null model's (statistic 0).
    stat = max(2.0 * (float(full.llf) - float(llf0)), 0.0)
    return {"term": tested, "statistic": stat, "q": q, "p_value": lrt_mixture_pvalue(stat, q),
            "llf_full": float(full.llf), "llf_reduced": float(llf0),
            "test": f"LRT (ML refits), null {mix} (Self & Liang 1987; Stram & Lee 1994)"}


def _ml_fit(model):
    """A maximum-likelihood fit started at the exact optimum (:func:`cxinfluence.models.lmm.mixedlm_start`)."""
    from .lmm import mixedlm_start  # lazy: numpy and scipy only, but mixed.py is imported for its parser alone

    return model.fit(reml=False, start_params=mixedlm_start(model, reml=False))


def between_within_df(exog, groups, names, random_terms=()):
    """Degrees of freedom of each fixed effect of a linear mixed model, by the between-within rule.

    The residual degrees of freedom are split between the groups and the rows within them (Schluchter &
    Elashoff 1990; SAS PROC MIXED's ``DDFM=BETWITHIN``): a fixed effect whose column is constant within every
    group (the intercept, a segment- or account-level trait), or that also has a random slope (its
    variation between groups is what tests it, as the containment rule says), gets ``G - p_b``; any other gets
    ``N - G - p_w``, where ``p_b`` and ``p_w`` count the columns of each kind. At least 1.

    Parameters
    ----------
    exog : array (n, p)
        The fixed-effect design.
    groups : array (n,)
        Each row's group.
    names : list of str
        The design's column names.
    random_terms : iterable of str
        Fixed-effect names that also have a random slope.

    Returns
    -------
    Series
        Degrees of freedom per name.

    Examples
    --------
    >>> X = np.column_stack([np.ones(8), [1, 1, 2, 2, 3, 3, 4, 4], [1, 2, 1, 2, 1, 2, 1, 2]])
    >>> between_within_df(X, np.repeat([0, 1, 2, 3], 2), ["Intercept", "size", "x"]).tolist()
    [2.0, 2.0, 3.0]
    """
    X = np.asarray(exog, dtype=float)
    codes = pd.factorize(pd.Series(np.asarray(groups)), use_na_sentinel=False)[0]
    G, n = int(codes.max(initial=-1)) + 1, len(X)
    order = np.argsort(codes, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0])
    Xs = X[order]
    spread = np.maximum.reduceat(Xs, starts, axis=0) - np.minimum.reduceat(Xs, starts, axis=0)
    scale = np.maximum(np.abs(X).max(axis=0, initial=0.0), 1.0)
    between = (spread <= 1e-12 * scale).all(axis=0) | np.isin(list(names), list(random_terms))
    p_b, p_w = int(between.sum()), int((~between).sum())
    df = np.where(between, G - p_b, n - G - p_w).astype(float)
    return pd.Series(np.maximum(df, 1.0), index=list(names))


def _re_formula(slopes, intercept):
    if not slopes:
        return None if intercept else "~0"
    return "~" + ("" if intercept else "0 + ") + " + ".join(slopes)
