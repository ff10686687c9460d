"""Counterfactual effects (:func:`scenario_effect`) and the buying decision equation (:func:`decision_equation`).
Part of :mod:`cxinfluence.models.fit`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..exceptions import ModelError
from ..village.scale import to_common_scale
from ..village.schema import ROLES
from .design import (
    _check_frame,
    _prepare_rows,
    _require,
    _resolve_controls,
    _rhs,
    formula_columns,
)
from .glm import _fit_glm
from .results import Fit


# --------------------------------------------------------------------------
# Counterfactual (scenario) effects and the buying decision equation
# --------------------------------------------------------------------------
def _anchor(nps_value):
    return float(to_common_scale(pd.DataFrame({"nps": [nps_value]}))["nps"].iloc[0])


#: Common-scale sentiment of a typical detractor (NPS 3, the middle of 0-6)
#: and a typical promoter (NPS 9.5, the middle of 9-10).
DETRACTOR = _anchor(3.0)
PROMOTER = _anchor(9.5)


def scenario_effect(fit, set_low, set_high, conf_level=0.95) -> dict:
    """Average predicted outcome under two scenarios, and their difference.

    Every row of the fitted data is kept as it is except the columns in
    ``set_low`` / ``set_high`` (design-matrix column name -> value), and the
    model's predictions are averaged (g-computation / "average predictive
    comparison", Gelman & Pardoe 2007). The interval of the difference uses the
    delta method with the fit's covariance (cluster-robust when the fit is):
    ``grad = mean(h'(eta) x_high) - mean(h'(eta) x_low)``, ``var = grad' V grad``,
    where ``h`` is the inverse link.

    Returns
    -------
    dict
        ``low, high, difference, std_error, ci_low, ci_high`` (probabilities
        for a logit).
    """
    from scipy import stats

    res = fit.result
    names = list(res.model.exog_names)
    for col in list(set_low) + list(set_high):
        if col not in names:
            raise ModelError(f"scenario column {col!r} is not a term of model {fit.name!r}; terms: {names}")
    if res.model.exog is None:
        raise ModelError(f"the fitted rows of {fit.name!r} were released after the run (only its estimates and "
                         "statistics are kept); refit it on the run's model_frame for scenario effects")
    X = np.asarray(res.model.exog, dtype=float)
    b = np.asarray(res.params, dtype=float)
    V = np.asarray(res.cov_params(), dtype=float)
    link = res.model.family.link

    eta0 = X @ b

    def avg(setting):
        # Only the set columns change: shift the linear predictor rather than copy X.
        eta = eta0.copy()
        for col, val in setting.items():
            j = names.index(col)
            eta += (val - X[:, j]) * b[j]
        mu = link.inverse(eta)
        d = link.inverse_deriv(eta)
        grad = (d @ X) / len(d)
        for col, val in setting.items():
            grad[names.index(col)] = val * d.mean()
        return float(mu.mean()), grad

    lo, g_lo = avg(set_low)
    hi, g_hi = avg(set_high)
    g = g_hi - g_lo
    se = float(np.sqrt(max(g @ V @ g, 0.0)))
    z = stats.norm.ppf(0.5 + conf_level / 2)
    d = hi - lo
    return {"low": lo, "high": hi, "difference": d, "std_error": se, "ci_low": d - z * se, "ci_high": d + z * se}


def decision_equation(frame, roles=None, controls=None, outcome="renewed", cluster="account_id",
                      low=None, high=None, conf_level=0.95, name="decision_equation") -> Fit:
    """The buying decision equation: each role's sentiment enters separately.

    ``logit P(renewed) = b0 + sum_r (b_r s_r + c_r unheard_r) + controls``

    where ``s_r`` is the sentiment of role (or group) ``r`` (frame column
    ``sent_<r>``, set to 0, the scale midpoint, when the role was not heard) and
    ``unheard_r = 1`` when it was not heard (``heard_<r> == 0``). The missing-
    indicator coding keeps accounts where some roles were silent and lets
    silence carry its own effect ``c_r`` (Cohen & Cohen 1975, ch. 7): ``b_r``
    is the value of a role's sentiment where it is heard.

    ``roles`` are group names with ``sent_<r>``/``heard_<r>`` columns in the
    frame: the buying-center roles (default: every role of
    :data:`cxinfluence.village.schema.ROLES` present), or e.g. ``["veto", "nonveto"]``.
    A role heard in every row needs no indicator (dropped, noted); a role never
    heard cannot be estimated (left out, with a warning).

    The result's ``effects`` table answers "what happens to the chance of
    renewal when role r moves from detractor to promoter": for each role the
    average predicted renewal with that role heard at ``low`` (default
    :data:`DETRACTOR`, NPS 3 on the common scale) and at ``high`` (default
    :data:`PROMOTER`, NPS 9.5), everyone else as observed, the difference in
    probability and its delta-method interval (:func:`scenario_effect`).

    Examples
    --------
    >>> rng = np.random.default_rng(4); n = 1500
    >>> df = pd.DataFrame({"account_id": [f"a{i}" for i in range(n)],
    ...                    "sent_decider": rng.uniform(-1, 1, n),
    ...                    "heard_decider": (rng.uniform(size=n) < 0.7).astype(float),
    ...                    "sent_user": rng.uniform(-1, 1, n), "heard_user": np.ones(n)})
    >>> df.loc[df["heard_decider"] == 0, "sent_decider"] = np.nan
    >>> eta = 0.3 + 2.0 * df["sent_decider"].fillna(0) + 0.2 * df["sent_user"]
    >>> df["renewed"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(float)
    >>> f = decision_equation(df, controls=[])
    >>> e = f.effects.set_index("role")
    >>> bool(e.loc["decider", "difference"] > 0.3 and e.loc["decider", "ci_low"] > 0)
    True
    """
    _check_frame(frame)
    low = DETRACTOR if low is None else float(low)
    high = PROMOTER if high is None else float(high)
    if roles is None:
        roles = [r for r in ROLES if f"sent_{r}" in frame.columns]
        if not roles:
            raise ModelError("frame has no sent_<role> columns; expected e.g. 'sent_decider' and 'heard_decider' "
                             "(build the frame with cxinfluence.model_frame) or pass roles=[...]")
    roles = [roles] if isinstance(roles, str) else list(roles)
    need = [f"sent_{r}" for r in roles]
    _require(frame, need + [outcome], "roles")
    notes, fit_warnings, term_warnings = [], [], {}
    controls = _resolve_controls(frame, controls, notes)
    # only the columns the equation reads (a copy of a 50-column portfolio frame costs more than the fit)
    used_cols = [outcome] + [c for r in roles for c in (f"sent_{r}", f"heard_{r}")]
    used_cols += formula_columns(_rhs(controls), frame) + [cluster, "period_end", "account_id"]
    data = frame[[c for c in dict.fromkeys(used_cols) if c in frame.columns]].copy()
    terms, used = [], []
    for r in roles:
        s = pd.to_numeric(data[f"sent_{r}"], errors="coerce")
        heard = ((pd.to_numeric(data[f"heard_{r}"], errors="coerce").fillna(0) > 0) if f"heard_{r}" in data
                 else s.notna())
        heard &= s.notna()
        if not heard.any():
            fit_warnings.append(f"role {r!r} is never heard: its effect cannot be estimated (left out)")
            term_warnings[f"sent_{r}"] = "never heard"
            continue
        data[f"sent_{r}"] = s.where(heard, 0.0)
        data[f"unheard_{r}"] = (~heard).astype(float)
        terms.append(f"sent_{r}")
        if heard.all():
            notes.append(f"role {r!r} is heard in every row: no unheard indicator")
        else:
            terms.append(f"unheard_{r}")
        used.append(r)
    if not used:
        raise ModelError(f"none of roles={roles} is ever heard in the frame; nothing to estimate")
    formula = f"{outcome} ~ {_rhs(terms + controls)}"
    cols = formula_columns(formula, data)
    extra = [c for c in (cluster, "period_end") if c and c in data.columns]
    data = _prepare_rows(data, cols + extra, [], notes, fit_warnings)
    fit = _fit_glm(data, formula, "binomial", name=name, focus=[f"sent_{r}" for r in used], cluster=cluster,
                   notes=notes, fit_warnings=fit_warnings, outcome=outcome, term_warnings=term_warnings)
    names = list(fit.result.model.exog_names)
    rows = []
    for r in roles:
        row = {"role": r, "term": f"sent_{r}", "sentiment_low": low, "sentiment_high": high}
        if f"sent_{r}" in names:
            heard_at = {f"unheard_{r}": 0.0} if f"unheard_{r}" in names else {}
            eff = scenario_effect(fit, {f"sent_{r}": low, **heard_at}, {f"sent_{r}": high, **heard_at}, conf_level)
            row.update(p_low=eff["low"], p_high=eff["high"], difference=eff["difference"],
                       std_error=eff["std_error"], ci_low=eff["ci_low"], ci_high=eff["ci_high"])
        row["warning"] = "; ".join(x for x in (fit.term_warnings.get(f"sent_{r}", ""), "; ".join(fit.warnings)) if x)
        row["reliable"] = fit.reliable and not fit.term_warnings.get(f"sent_{r}")
        rows.append(row)
    fit.effects = pd.DataFrame(rows, columns=["role", "term", "sentiment_low", "sentiment_high", "p_low", "p_high",
                                              "difference", "std_error", "ci_low", "ci_high", "reliable", "warning"])
    return fit
