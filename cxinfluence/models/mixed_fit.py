"""Mixed models (:func:`fit_mixed`): observations nested in groups, random intercepts and slopes (MixedLM,
variational Bayes for a 0/1 outcome). Part of :mod:`cxinfluence.models.fit`."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..exceptions import DegenerateFitError, ModelError
from ..sentiment.schemes import PRIMARY_SCHEME
from .design import (
    _check_frame,
    _degenerate,
    _n_accounts,
    _prepare_rows,
    _require,
    _resolve_controls,
    _rhs,
    formula_columns,
)
from .diagnostics import (
    aliased_flags,
    diagnose,
)
from .lmm import mixedlm_start
from .mixed import between_within_df, boundary_lrt, parse_random, variance_components
from .results import Fit


def fit_mixed(frame, scheme=PRIMARY_SCHEME, controls=None, outcome="bookings", groups="segment",
              formula=None, transform="log1p", reml=True, name=None, re_formula=None, lrt=True) -> Fit:
    """Mixed model: observations nested in ``groups``, random intercepts and slopes.

    Continuous outcome (default ``bookings``, modelled as ``log1p`` unless
    ``transform=None``): linear mixed model ``y_ij = x_ij'b + z_ij'u_j + e_ij``,
    ``u_j ~ N(0, G)``, fitted by REML with statsmodels ``MixedLM`` (the model
    of R's ``lme4::lmer``; it reproduces lme4's sleepstudy and Dyestuff fits),
    started at the exact optimum of the profiled likelihood computed from
    per-group sums (:func:`cxinfluence.models.lmm.mixedlm_start`), where
    statsmodels' optimiser stops at once and computes the results.
    The random part is a random intercept (``(1 | group)``) unless
    ``re_formula`` (statsmodels syntax, ``"~Days"``) or the ``formula``
    (lme4 syntax, ``"Reaction ~ Days + (Days | Subject)"``, see
    :func:`cxinfluence.mixed.parse_random`) adds random slopes; a bar term
    in ``formula`` names the grouping column and overrides ``groups``.

    Variance components are reported on their own scale and as SDs
    (``Fit.variance_components`` and ``var(...)``/``sd(...)``/``corr(...)``
    rows of :meth:`Fit.tidy`), without Wald standard errors or p-values.
    With ``lrt=True`` the last random effect is tested by a boundary-aware
    likelihood-ratio test (:func:`cxinfluence.mixed.boundary_lrt`; its p-value
    is on that component's ``var`` row and in ``Fit.variance_test``). Fixed
    effects are tested with Student's t on between-within degrees of freedom
    (:func:`cxinfluence.models.mixed.between_within_df`, ``Fit.fe_df``):
    an effect constant within groups, or with a random slope, has ``G - p_b``;
    statsmodels' Wald z is too narrow there when groups are few.

    Binary outcome (``renewed``): a logistic GLMM with a random intercept,
    ``BinomialBayesMixedGLM`` fitted by variational Bayes (``fit_vb``). This is
    what statsmodels offers for a binary GLMM; the fixed effects are posterior
    means with posterior SDs (reported as ``std_error``; intervals are mean
    +/- z SD; no p-values). For frequentist inference on renewal with repeated
    accounts prefer :func:`fit_rebuy`, whose cluster-robust errors do not
    depend on the random-effect distribution.

    Every fit goes through :func:`cxinfluence.diagnostics.diagnose`:
    separation (binary), non-convergence, a non-positive-definite Hessian, a
    variance at the boundary (0) or a correlation at +/-1, fewer than 5
    groups, too few rows or events per term, collinearity and non-finite
    numbers are flagged, and a flagged fit is never ``reliable``.

    ``groups`` may be ``"segment"``, ``"region"``, ``"account_id"`` (periods
    nested in accounts), or any column.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> seg = np.repeat(list("abcdefgh"), 50)
    >>> u = dict(zip("abcdefgh", rng.normal(0, 0.5, 8)))
    >>> df = pd.DataFrame({"account_id": [f"x{i}" for i in range(400)], "segment": seg,
    ...                    "mean": rng.uniform(-1, 1, 400)})
    >>> df["bookings"] = np.expm1(3 + 0.4 * df["mean"] + df["segment"].map(u) + rng.normal(0, 0.3, 400))
    >>> f = fit_mixed(df, scheme="mean", controls=[])
    >>> f.kind, round(float(f.result.fe_params["mean"]), 1), f.reliable
    ('mixedlm', 0.4, True)
    >>> f.variance_components.query("component == 'sd'")["estimate"].round(2).tolist()
    [0.71, 0.3]
    """
    _check_frame(frame)
    notes, fit_warnings, term_warnings = [], [], {}
    outcome, groups, re_formula, rhs, focus, slopes, intercept = _mixed_terms(
        frame, scheme, controls, outcome, groups, formula, re_formula, notes)
    cols = formula_columns(" + ".join([rhs, *slopes]), frame)
    extra = [c for c in ("account_id", "period_end") if c in frame.columns]
    data = _prepare_rows(frame, [outcome, groups] + cols + extra, [c for c in focus if c in frame.columns],
                         notes, fit_warnings)
    y = pd.to_numeric(data[outcome], errors="coerce")
    label = name or f"mixed_{outcome}:{scheme}|{groups}"
    re_text = " + ".join((["1"] if intercept else ["0"]) + list(slopes))
    common = dict(focus=focus, label=label, notes=notes, fit_warnings=fit_warnings, term_warnings=term_warnings)
    if bool(np.isin(y, (0, 1)).all()):
        if slopes:
            raise ModelError(f"random slopes ({re_text} | {groups}) are not available for a binary outcome "
                             "(variational Bayes GLMM has random intercepts only); use (1 | group)")
        fit = _binary_mixed(data, y, outcome, rhs, groups, **common)
    else:
        fit = _linear_mixed(data, y, outcome, rhs, groups, re_formula, re_text, slopes, intercept, transform=transform,
                            reml=reml, lrt=lrt, **common)
    _degenerate(fit_warnings, label)
    return fit


def _mixed_terms(frame, scheme, controls, outcome, groups, formula, re_formula, notes):
    """The terms of :func:`fit_mixed` from its arguments or its lme4-style formula:
    ``(outcome, groups, re_formula, fixed rhs, focus terms, random slopes, random intercept?)``."""
    slopes, intercept = [], True
    if formula is not None:
        if not isinstance(formula, str) or "~" not in formula:
            raise ModelError(f"formula={formula!r}; expected e.g. 'y ~ x + (x | group)'")
        fixed, re_from_formula, bar_group, slopes, intercept = parse_random(formula)
        if bar_group is not None:
            groups, re_formula = bar_group, re_from_formula
        lhs = fixed.split("~", 1)[0].strip()
        if lhs in frame.columns:
            outcome = lhs
    elif re_formula is not None:
        _, _, _, slopes, intercept = parse_random(f"y ~ 1 + ({re_formula.lstrip('~')} | g)")
    _require(frame, [outcome], "outcome")
    _require(frame, [groups], "groups")
    if formula is None:
        _require(frame, [scheme], "scheme")
        ctrl = [c for c in _resolve_controls(frame, controls, notes) if c != groups]
        rhs, focus = _rhs([scheme] + ctrl), [scheme]
    else:
        rhs = fixed.split("~", 1)[1].strip()
        focus = [scheme] if scheme in formula_columns(rhs, frame) else []
    return outcome, groups, re_formula, rhs, focus, slopes, intercept


def _binary_mixed(data, y, outcome, rhs, groups, *, focus, label, notes, fit_warnings, term_warnings):
    """A 0/1 outcome: random-intercept logit by variational Bayes (``BinomialBayesMixedGLM``)."""
    from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM

    data = data.assign(_group=data[groups].astype(str))
    model = BinomialBayesMixedGLM.from_formula(f"{outcome} ~ {rhs}", {"group": "0 + C(_group)"}, data)
    X, names = np.asarray(model.exog, dtype=float), list(model.exog_names)
    flags, _ = aliased_flags(X, names, term_warnings)
    fit_warnings += flags
    events = int(y.sum())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = model.fit_vb()
    sd_re = float(np.exp(np.asarray(result.vcp_mean, dtype=float)[0]))
    fit_warnings += diagnose(X, np.asarray(y, dtype=float), names, "binary", result=result, caught=caught,
                             groups=data[groups].to_numpy(), group_name=groups, term_warnings=term_warnings,
                             variances={"sd": {groups: sd_re}}, bse=result.fe_sd,
                             converged=bool(result.optim_retvals.success), mu=result.predict(), outcome=outcome)
    fit = Fit(name=label, result=result, formula=f"{outcome} ~ {rhs} + (1 | {groups})", outcome=outcome,
              kind="bayes_mixed_glm", focus=focus, warnings=fit_warnings, notes=notes,
              term_warnings=term_warnings, n=len(data), n_accounts=_n_accounts(data), events=events,
              cov_type="posterior", data=data)
    notes.append("variational Bayes posterior (BinomialBayesMixedGLM.fit_vb): std_error is a posterior SD; "
                 f"random-intercept SD (posterior mean of its log, exponentiated) {sd_re:.3g} on the logit scale")
    return fit


def _linear_mixed(data, y, outcome, rhs, groups, re_formula, re_text, slopes, intercept, *, transform, reml, lrt,
                  focus, label, notes, fit_warnings, term_warnings):
    """A continuous outcome (``log1p`` by default): linear mixed model (``MixedLM``), REML or ML, with the
    boundary likelihood-ratio test of the random effect."""
    import statsmodels.formula.api as smf

    ycol = outcome
    if transform == "log1p":
        if (y < 0).any():
            raise ModelError(f"transform='log1p' needs {outcome} >= 0; got min {y.min()}; use transform=None")
        ycol = f"log1p_{outcome}"
        data = data.assign(**{ycol: np.log1p(y.astype(float))})
    elif transform is not None:
        raise ModelError(f"transform={transform!r}; expected 'log1p' or None")
    if np.ptp(data[ycol].to_numpy(dtype=float)) == 0:
        raise DegenerateFitError(f"{outcome} is {y.iloc[0]:g} in every one of the {len(y)} rows; a constant outcome "
                                 "has no variation to explain")
    fixed_formula = f"{ycol} ~ {rhs}"
    model = smf.mixedlm(fixed_formula, data, groups=data[groups], re_formula=re_formula)
    X, names = np.asarray(model.exog, dtype=float), list(model.exog_names)
    flags, aliased = aliased_flags(X, names, term_warnings)
    if aliased:
        raise ModelError(f"the fixed-effect design of {ycol} ~ {rhs} is rank-deficient "
                         f"({'; '.join(f'{t}: {w}' for t, w in term_warnings.items())}); remove those terms")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = model.fit(reml=reml, start_params=mixedlm_start(model, reml))
    vc = variance_components(result, groups)
    var_rows = vc[(vc["component"] == "var") & (vc["group"] != "Residual")]
    corr_rows = vc[vc["component"] == "corr"]
    variances = {"var": {f"var({groups}: {t})": (e, m) for t, e, m in
                         var_rows[["term", "estimate", "mean_square"]].itertuples(index=False)},
                 "corr": {f"corr({groups}: {t})": e
                          for t, e in corr_rows[["term", "estimate"]].itertuples(index=False)},
                 "scale": float(result.scale)}
    fit_warnings += diagnose(X, data[ycol].to_numpy(dtype=float), names, "continuous", result=result, caught=caught,
                             groups=data[groups].to_numpy(), group_name=groups, term_warnings=term_warnings,
                             variances=variances, converged=bool(result.converged), outcome=ycol)
    test = None
    if lrt:
        test = boundary_lrt(data, fixed_formula, groups, slopes, intercept)
        if test is None:
            notes.append("no likelihood-ratio test of the random effect: a maximum-likelihood refit failed")
    else:
        notes.append("no likelihood-ratio test of the random effect was asked for (lrt=False)")
    if not reml:
        notes.append("fitted by maximum likelihood (reml=False): variance components are biased downward")
    return Fit(name=label, result=result, formula=f"{ycol} ~ {rhs} + ({re_text} | {groups})", outcome=ycol,
               kind="mixedlm", focus=focus, warnings=fit_warnings, notes=notes, term_warnings=term_warnings,
               n=len(data), n_accounts=_n_accounts(data), cov_type="reml" if reml else "ml",
               log_link=transform == "log1p", data=data, variance_components=vc, variance_test=test,
               fe_df=between_within_df(X, data[groups].to_numpy(), names, slopes))
