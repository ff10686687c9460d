"""The buying decision equation when some roles were not heard: an
alternative to the missing-indicator method.

:func:`cxinfluence.models.decision_equation` codes an unheard role's
sentiment as 0 and adds an indicator ``unheard_r`` (Cohen & Cohen 1975). That
keeps every account, but it is biased whenever being heard is related to the
other terms: the indicator absorbs only a shift in the intercept, so the
slopes of the *other* roles and of the controls pick up the part of the
unheard role's effect that correlates with them (Jones 1996, *JASA* 91,
222-230; Groenwold et al. 2012, *CMAJ* 184, 1265-1269, show the bias even
when data are missing completely at random, in non-randomised data).

:func:`decision_equation_ipw` fits the same equation on the accounts where
every role was heard ("complete cases") weighted by the inverse probability of
being complete (Robins, Rotnitzky & Zhao 1994; Seaman & White 2013, *Stat
Methods Med Res* 22, 278-295):

1. a logistic model of ``complete`` (every role heard) on always-observed
   account facts: the controls, ``n_stakeholders`` and the outcome (the
   outcome belongs in the model when covariates are missing; Seaman & White
   2013, sec. 4);
2. stabilised weights ``w = P(complete) / p^(complete | z)``, truncated at
   their 1st and 99th percentiles (Cole & Hernan 2008, *Am J Epidemiol* 168,
   656-664);
3. the decision equation without indicators on the complete cases, with
   those weights (statsmodels ``var_weights``) and cluster-robust SEs by
   account, which ignore the estimation of the weights and so are slightly
   conservative (Robins et al. 1994).

It assumes being heard is *missing at random* given those facts, needs enough
complete accounts (their count is in ``Fit.notes`` and too few events raise
the usual warning) and loses precision when weights vary a lot (the Kish
effective n of the weights is noted). The validation study
(``benchmarks/validate_models.py``) compares it with the indicator method on
villages with a known truth.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..exceptions import DegenerateFitWarning, ModelError
from ..village.schema import ROLES
from .fit import (
    DETRACTOR,
    MIN_CLUSTERS,
    MIN_EPV,
    PROMOTER,
    Fit,
    _check_frame,
    _require,
    _resolve_controls,
    _rhs,
    design_rank,
    formula_columns,
    scenario_effect,
    separation,
)


def decision_equation_ipw(frame, roles=None, controls=None, outcome="renewed", cluster="account_id",
                          predictors=None, low=None, high=None, conf_level=0.95,
                          name="decision_equation_ipw"):
    """The decision equation on complete accounts, weighted by the inverse
    probability of every role being heard.

    Parameters
    ----------
    frame : DataFrame
        Model frame with ``sent_<r>`` and ``heard_<r>`` columns.
    roles, controls, outcome, cluster, low, high, conf_level, name
        As in :func:`cxinfluence.models.decision_equation`.
    predictors : list of str, optional
        Terms of the model of being heard (default: the controls,
        ``n_stakeholders`` when present, and the outcome).

    Returns
    -------
    Fit
        With ``effects`` as in :func:`~cxinfluence.models.decision_equation`
        and the weights in ``data["ipw"]``.

    Examples
    --------
    The decider is heard more often in large accounts, size affects renewal
    and users feel like their decider (truth: decider 2.0, user 0.5, size
    0.3). The indicator method moves part of the decider's effect onto the
    user and size slopes; IPW does not:

    >>> import warnings; warnings.simplefilter("ignore")
    >>> from cxinfluence.models import decision_equation
    >>> rng = np.random.default_rng(5); n = 4000
    >>> size = rng.normal(0, 1, n)
    >>> dec = 0.5 * size + rng.normal(0, 0.5, n); use = 0.4 * dec + rng.normal(0, 0.5, n)
    >>> eta = 0.2 + 2.0 * dec + 0.5 * use + 0.3 * size
    >>> df = pd.DataFrame({"account_id": np.arange(n).astype(str), "size": size, "sent_decider": dec,
    ...     "sent_user": use, "heard_user": 1.0, "renewed": (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))) * 1.0})
    >>> df["heard_decider"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-(0.3 + 1.5 * size)))) * 1.0
    >>> df.loc[df["heard_decider"] == 0, "sent_decider"] = np.nan
    >>> terms = ["sent_decider", "sent_user", "size"]
    >>> decision_equation(df, controls=["size"]).result.params[terms].round(1).tolist()
    [1.7, 0.7, 0.7]
    >>> decision_equation_ipw(df, controls=["size"]).result.params[terms].round(1).tolist()
    [2.1, 0.4, 0.2]
    """
    _check_frame(frame)
    low = DETRACTOR if low is None else float(low)
    high = PROMOTER if high is None else float(high)
    roles = _ipw_roles(frame, roles)
    _require(frame, [f"sent_{r}" for r in roles] + [outcome], "roles")
    notes, fit_warnings, term_warnings = [], [], {}
    controls = _resolve_controls(frame, controls, notes)
    data = _propensity(frame, roles, controls, predictors, outcome)
    cc = _ipw_weights(data, notes)
    formula, result, events, n_cl = _ipw_glm(cc, roles, controls, outcome, cluster, fit_warnings, term_warnings)
    fit = Fit(name=name, result=result, formula=formula + "  [IPW of every role heard]", outcome=outcome,
              kind="logit", focus=[f"sent_{r}" for r in roles], warnings=fit_warnings, notes=notes,
              term_warnings=term_warnings, n=len(cc), n_accounts=n_cl, events=events, cov_type="cluster", data=cc)
    if fit_warnings:
        warnings.warn(f"{name}: " + "; ".join(fit_warnings), DegenerateFitWarning, stacklevel=2)
    fit.effects = _role_effects(fit, roles, low, high, conf_level, fit_warnings, term_warnings)
    return fit


def _ipw_roles(frame, roles):
    if roles is None:
        roles = [r for r in ROLES if f"sent_{r}" in frame.columns]
        if not roles:
            raise ModelError("frame has no sent_<role> columns; expected e.g. 'sent_decider' and 'heard_decider' "
                             "(build the frame with cxinfluence.model_frame) or pass roles=[...]")
    return [roles] if isinstance(roles, str) else list(roles)


def _propensity(frame, roles, controls, predictors, outcome):
    """The rows with every predictor, flagged ``complete`` (every role heard) with ``p_complete``, the
    probability of being complete from a logit on ``predictors``."""
    from statsmodels.genmod import families
    import statsmodels.formula.api as smf

    data = frame.copy()
    complete = pd.Series(True, index=data.index)
    for r in roles:
        s = pd.to_numeric(data[f"sent_{r}"], errors="coerce")
        heard = s.notna()
        if f"heard_{r}" in data.columns:
            heard &= pd.to_numeric(data[f"heard_{r}"], errors="coerce").fillna(0) > 0
        complete &= heard
    data["complete"] = complete.astype(float)
    if predictors is None:
        predictors = list(controls) + [c for c in ("n_stakeholders",) if c in data.columns] + [outcome]
    pcols = formula_columns(f"complete ~ {_rhs(predictors)}", data)
    data = data.dropna(subset=list(dict.fromkeys(pcols + [outcome] + [c for t in controls
                                                                      for c in formula_columns(t, data)])))
    n_complete = int(data["complete"].sum())
    if n_complete == 0:
        raise ModelError(f"no account has every one of roles={roles} heard; inverse-probability weighting needs "
                         "complete accounts (use fewer roles, or decision_equation's missing indicators)")
    if n_complete == len(data):
        data["p_complete"] = 1.0
    else:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            ps = smf.glm(f"complete ~ {_rhs(predictors)}", data, family=families.Binomial()).fit()
        data["p_complete"] = np.clip(np.asarray(ps.fittedvalues), 1e-6, 1.0)
    return data


def _ipw_weights(data, notes):
    """The complete rows with their stabilised inverse-probability weight ``ipw`` (trimmed at the 1st and
    99th percentiles)."""
    n_complete = int(data["complete"].sum())
    w = data["complete"].mean() / data["p_complete"]
    cc = data[data["complete"] > 0].copy()
    wc = w[cc.index]
    lo_w, hi_w = np.quantile(wc, [0.01, 0.99])
    cc["ipw"] = wc.clip(lo_w, hi_w)
    kish = cc["ipw"].sum() ** 2 / (cc["ipw"] ** 2).sum()
    notes.append(f"{n_complete} of {len(data)} rows have every role heard; inverse-probability weights "
                 f"{cc['ipw'].min():.2f}-{cc['ipw'].max():.2f} (Kish effective n {kish:.0f})")
    return cc


def _ipw_glm(cc, roles, controls, outcome, cluster, fit_warnings, term_warnings):
    """The weighted renewal logit on the complete rows, cluster-robust, with its checks:
    ``(formula, result, events, clusters)``."""
    from statsmodels.genmod import families
    import statsmodels.formula.api as smf

    formula = f"{outcome} ~ {_rhs([f'sent_{r}' for r in roles] + controls)}"
    model = smf.glm(formula, cc, family=families.Binomial(), var_weights=cc["ipw"].to_numpy())
    X, y, names = model.exog, model.endog, list(model.exog_names)
    _, aliased = design_rank(X)
    for j in aliased:
        term_warnings[names[j]] = "constant or collinear among the complete accounts"
        fit_warnings.append(f"{names[j]} is constant or collinear among the complete accounts: not estimable")
    k = X.shape[1] - 1
    events = int(y.sum())
    rare = min(events, len(y) - events)
    if rare == 0:
        raise ModelError(f"outcome {outcome!r} is constant among the {len(y)} complete accounts")
    if k and rare / k < MIN_EPV:
        fit_warnings.append(f"too few events among complete accounts: {rare} for {k} terms "
                            f"({rare / k:.1f} per term < {MIN_EPV}, Peduzzi et al. 1996)")
    sep = separation(X, y, names) if len(y) <= 50_000 else None
    if sep is not None:
        fit_warnings.append(f"separation among the complete accounts (terms {', '.join(sep['terms'])}): "
                            "estimates diverge")
    groups = pd.factorize(cc[cluster])[0] if cluster and cluster in cc.columns else np.arange(len(cc))
    n_cl = int(groups.max()) + 1
    if n_cl < MIN_CLUSTERS:
        fit_warnings.append(f"only {n_cl} {cluster} clusters among complete accounts: cluster-robust SEs are "
                            f"unreliable below {MIN_CLUSTERS}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = model.fit(cov_type="cluster", cov_kwds={"groups": groups}, tol=1e-10)
    if not getattr(result, "converged", True) or any("converge" in str(c.message).lower() for c in caught):
        fit_warnings.append("the optimiser did not converge")
    if not np.all(np.isfinite(np.asarray(result.bse))):
        fit_warnings.append("some standard errors are not finite")
    return formula, result, events, n_cl


def _role_effects(fit, roles, low, high, conf_level, fit_warnings, term_warnings):
    """Per role: renewal probability at sentiment ``low`` and ``high`` and the difference, with its interval."""
    rows = []
    for r in roles:
        row = {"role": r, "term": f"sent_{r}", "sentiment_low": low, "sentiment_high": high}
        eff = scenario_effect(fit, {f"sent_{r}": low}, {f"sent_{r}": high}, conf_level)
        row.update(p_low=eff["low"], p_high=eff["high"], difference=eff["difference"], std_error=eff["std_error"],
                   ci_low=eff["ci_low"], ci_high=eff["ci_high"])
        row["warning"] = "; ".join(fit_warnings)
        row["reliable"] = fit.reliable and f"sent_{r}" not in term_warnings
        rows.append(row)
    return pd.DataFrame(rows)
