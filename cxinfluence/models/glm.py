"""GLM fits with every diagnostic: the common engine (:func:`_fit_glm`, warm-started by the one IRLS loop on
large data), :func:`fit_rebuy`, :func:`fit_bookings`, :func:`fit_formula`. Part of :mod:`cxinfluence.models.fit`."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..exceptions import DegenerateFitError, ModelError
from ..sentiment.schemes import PRIMARY_SCHEME
from .design import (
    _categorical_text,
    _check_frame,
    _degenerate,
    _family,
    _formula_model,
    _groups,
    _n_accounts,
    _n_groups,
    _prepare_rows,
    _require,
    _resolve_controls,
    _rhs,
    formula_columns,
)
from .diagnostics import (
    Flag,
    aliased_flags,
    diagnose,
)
from .irls import irls_fit
from .lean import LeanModel, build_design, fit_lean, lean_family
from .mixed_fit import fit_mixed
from .results import Fit
from .threads import blas_threads, fit_work


def _fit_glm(data, formula, family, **kwargs):
    """Fit a GLM from a formula on prepared rows, with every diagnostic (BLAS on one thread: :mod:`.threads`)."""
    with blas_threads(fit_work(len(data), data.shape[1] + 8)):
        return _fit_glm_capped(data, formula, family, **kwargs)


def _fit_glm_capped(data, formula, family, *, name, focus, cluster, notes, fit_warnings, outcome, kind="glm",
                    log_link=None, var_power=1.5, lp=None, start_params=None, term_warnings=None, robust="auto"):
    """:func:`_fit_glm`: statsmodels' fit, or at portfolio scale the lean fit of :mod:`.lean`."""
    import statsmodels.formula.api as smf
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

    fam = _family(family, var_power)
    is_binary = isinstance(fam, families.Binomial)
    term_warnings = {} if term_warnings is None else term_warnings
    # At scale, the design from column values and category codes (no formula model; statsmodels on demand)
    design = None
    if len(data) >= WARM_START_MIN_ROWS and lean_family(fam):
        # text columns as Categoricals, as patsy reads them (_formula_model)
        design = build_design(formula, _categorical_text(data, formula))
    if design is None:
        model = _formula_model(smf.glm, formula, data, family=fam)
        X, y, names = model.exog, model.endog, list(model.exog_names)
    else:
        model, X, y, names = None, design.X, design.y, list(design.names)
    if is_binary and not np.isin(y, (0.0, 1.0)).all():
        raise ModelError(f"outcome {outcome!r} has values other than 0 and 1 "
                         f"(e.g. {sorted(set(np.unique(y)) - {0.0, 1.0})[:3]}); a logistic model needs 0/1")

    # Constant / collinear terms: drop aliased columns like R, and say so.
    flags, aliased = aliased_flags(X, names, term_warnings)
    fit_warnings += flags
    if aliased:
        keep = [j for j in range(X.shape[1]) if j not in aliased]
        exog = pd.DataFrame(X[:, keep], columns=[names[j] for j in keep], index=data.index)
        model = GLM(pd.Series(y, index=data.index, name=outcome), exog, family=fam)
        X, names = model.exog, list(model.exog_names)
        design = None  # statsmodels' own path for rank-deficient designs, as before

    n = len(y)
    events = None
    if is_binary:
        events = int(y.sum())
        if min(events, n - events) == 0:
            raise ModelError(f"outcome {outcome!r} is {int(y[0])} in every one of the {n} rows; "
                             "there is nothing to explain (need both renewals and non-renewals)")

    groups = _groups(data, cluster)
    n_cl = None if groups is None else _n_groups(groups)
    cov_type, cov_kwds, label = "nonrobust", None, "nonrobust"
    # robust: "auto" (cluster when accounts repeat, else model-based), "auto_hc1" (cluster when
    # accounts repeat, else HC1), "HC1" or "nonrobust" (forced)
    if groups is not None and n_cl < len(groups) and robust in ("auto", "auto_hc1"):
        cov_type, cov_kwds, label = "cluster", {"groups": groups}, "cluster"
    elif robust in ("HC1", "auto_hc1"):
        # HC1 = White's sandwich times n / (n - k) (MacKinnon & White 1985). statsmodels' GLM
        # "HC1" applies no n / (n - k) (it is HC0); its cluster sandwich with one row per
        # cluster has the factor G/(G-1) (N-1)/(N-K) = n / (n - k): exactly HC1.
        cov_type, cov_kwds, label = "cluster", {"groups": np.arange(n)}, "HC1"
    # tol 1e-10: IRLS to full convergence (the default 1e-8 leaves SEs off in the 5th digit)
    settings = {"tol": 1e-10}
    if isinstance(fam, families.Gaussian):
        settings["use_t"] = True  # t with n - k df, as R's lm / glm(gaussian)
    start = None
    if len(y) >= WARM_START_MIN_ROWS:
        given = None if start_params is None or len(start_params) != X.shape[1] else start_params
        # one n x k scratch array for W X in the warm start and then in the lean covariance (fresh ones fault)
        work = np.empty_like(X, order="F")
        start = warm_start(X, y, fam, start=given, work=work)
        if start is not None:
            # Started at the optimum, the deviance only moves by rounding: stop once the change
            # is at that level instead of iterating until two values happen to agree to 1e-10.
            settings["rtol"] = WARM_RTOL
    if design is not None and start is not None:
        # the lean fit: the same estimate and statistics without statsmodels' n x k SVDs (:mod:`.lean`)
        result, caught = _lean_result(data, formula, fam, X, y, names, start, cov_type, cov_kwds, settings, work,
                                      design.design_info), []
    else:
        if model is None:
            model = _formula_model(smf.glm, formula, data, family=fam)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = model.fit(cov_type=cov_type, cov_kwds=cov_kwds, start_params=start, **settings)
    loglink_zeros = (isinstance(fam, (families.Tweedie, families.Poisson))
                     and isinstance(fam.link, families.links.Log) and bool((y == 0).any()))
    found = diagnose(X, y, names, "binary" if is_binary else "loglink_zeros" if loglink_zeros else "continuous",
                     result=result, caught=caught, clusters=groups if label == "cluster" else None,
                     cluster_name=cluster, lp=lp, term_warnings=term_warnings,
                     mu=np.asarray(result.fittedvalues), outcome=outcome)
    if is_binary and any(issubclass(w.category, PerfectSeparationWarning) for w in caught) and not any(
            f.flag == "separation" for f in found):
        found.append(Flag("separation", "separation: statsmodels reports perfect prediction"))
    fit_warnings += found
    cov_type = label
    if log_link is None:
        log_link = isinstance(fam.link, families.links.Log)
    fit = Fit(name=name, result=result, formula=formula, outcome=outcome, kind="logit" if is_binary else kind,
              focus=list(focus), warnings=fit_warnings, notes=notes, term_warnings=term_warnings, n=n,
              n_accounts=n_cl if cluster == "account_id" and n_cl is not None else _n_accounts(data),
              events=events, cov_type=cov_type, log_link=log_link, data=data)
    _degenerate(fit_warnings, name)
    return fit


def _lean_result(data, formula, fam, X, y, names, start, cov_type, cov_kwds, settings, work=None, design_info=None):
    """The :class:`~cxinfluence.models.lean.LeanGLMResults` of a converged warm start (statsmodels on demand)."""
    model = LeanModel(y, X, names, fam, formula, data, data.index, design_info)
    groups = None if cov_kwds is None else cov_kwds["groups"]
    return fit_lean(model, start, cov_type=cov_type, groups=groups, work=work,
                    sm_spec=(_Builder(formula, data, fam), {"cov_type": cov_type, "cov_kwds": cov_kwds, **settings}))


class _Builder:
    """The statsmodels formula model of a lean fit, built on demand (picklable, unlike a closure)."""

    def __init__(self, formula, data, family):
        self.formula, self.data, self.family = formula, data, family

    def __call__(self):
        import statsmodels.formula.api as smf

        return _formula_model(smf.glm, self.formula, self.data, family=self.family)


#: Rows from which a GLM is warm-started (:func:`warm_start`). Smaller fits
#: cost milliseconds and take statsmodels' path from scratch unchanged.
WARM_START_MIN_ROWS = 50_000

#: Relative deviance change at which a warm-started statsmodels IRLS stops
#: (a few hundred units of rounding of a deviance summed over many rows).
WARM_RTOL = 1e-13


def warm_start(X, y, family, start=None, maxiter=100, tol=1e-13, work=None):
    """Maximum-likelihood GLM coefficients by IRLS on the normal equations,
    as a starting point for statsmodels; None when they are not reliable.

    statsmodels' IRLS solves an ``n x k`` least-squares problem (an SVD)
    per iteration; the ``k x k`` normal equations ``X'WX b = X'Wz`` reach the
    same fixed point for a fraction of the cost. Started there, statsmodels
    converges in one iteration and still computes everything it returns
    (estimates, covariance, likelihood) itself. Estimates equal a fit from
    scratch up to rounding; standard errors too at portfolio scale, where
    :func:`_fit_glm` uses it (``WARM_START_MIN_ROWS``). (On a few hundred rows
    statsmodels' own path leaves the covariance evaluated at the
    next-to-last iterate, some 1e-8 away from the one at the optimum that a
    warm start gives.)

    The iteration starts at ``start`` (e.g. the estimate on nearly the same
    rows), else at a fit on an evenly spaced subsample of about 50,000 rows
    when ``X`` is much larger (fewer full-size iterations), else where
    statsmodels starts. It stops when no linear predictor moves by more than
    ``tol`` (relative to the largest; ``sqrt(tol)`` for the logit, where IRLS
    is Newton's method and converges quadratically): the one stopping rule of
    :mod:`cxinfluence.models.irls`, whose loop this is. It returns None
    (statsmodels then starts from scratch, as without a warm start) when that
    loop gives up (no convergence within ``maxiter``, non-finite values, or a
    binary model driving fitted probabilities within 1e-6 of 0 or 1: possible
    separation, where the path taken matters) or meets a singular design.
    ``work``, when given, is the loop's scratch space for ``W X`` on all rows
    (:func:`cxinfluence.models.irls.irls_fit`).

    Examples
    --------
    >>> import statsmodels.api as sm
    >>> d = sm.datasets.spector.load_pandas().data
    >>> X, y = sm.add_constant(d[["GPA", "TUCE", "PSI"]]).to_numpy(), d["GRADE"].to_numpy()
    >>> b = warm_start(X, y, sm.families.Binomial())
    >>> bool(np.allclose(b, sm.GLM(y, X, family=sm.families.Binomial()).fit(tol=1e-12).params, rtol=1e-8))
    True
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if start is None and len(y) >= 4 * WARM_START_MIN_ROWS:
        step = len(y) // WARM_START_MIN_ROWS
        start = _normal_irls(X[::step], y[::step], family, None, maxiter, 1e-6)
    return _normal_irls(X, y, family, start, maxiter, tol, work)


def _normal_irls(X, y, family, start, maxiter, tol, work=None):
    """:func:`cxinfluence.models.irls.irls_fit` as a warm start: its estimate when it
    converged on a nonsingular design, else None (statsmodels then starts from scratch).
    ``work``: scratch space for the loop (see :func:`~cxinfluence.models.irls.irls_fit`)."""
    r = irls_fit(X, y, family, start, tol=tol, maxiter=maxiter, work=work)
    return r.params if r.converged and not r.singular else None


# --------------------------------------------------------------------------
# Public fitting functions
# --------------------------------------------------------------------------
def fit_rebuy(frame, scheme=PRIMARY_SCHEME, controls=None, formula=None, cluster="account_id",
              outcome="renewed", name=None, start_params=None) -> Fit:
    """Logistic regression of renewal on a sentiment scheme plus controls.

    ``logit P(renewed) = b0 + b1 scheme + controls``, fitted by maximum
    likelihood (statsmodels ``GLM``, ``Binomial`` family, IRLS; identical to
    R's ``glm(..., family = binomial)``). Standard errors are cluster-robust by
    ``cluster`` when an account appears in several periods.

    Parameters
    ----------
    frame : DataFrame
        The model frame (one row per account and period).
    scheme : str
        Sentiment column (``mean``, ``influence_weighted``, ``nps``...).
    controls : list of str, optional
        Control terms (column names or formula terms such as
        ``"C(region)"``). Default: those of :data:`DEFAULT_CONTROLS` present
        and not constant.
    formula : str, optional
        Full formula; overrides ``scheme`` and ``controls``.
    cluster : str or None
        Column identifying repeated units.
    outcome : str
    name : str, optional
        Model name (default ``"rebuy:<scheme>"``).
    start_params : array, optional
        Where the iterations of a large fit (``WARM_START_MIN_ROWS`` rows or
        more) start, e.g. the estimate on nearly the same rows; the result
        does not depend on it beyond rounding. Ignored on smaller fits.

    Returns
    -------
    Fit

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"account_id": [f"a{i}" for i in range(400)], "mean": rng.uniform(-1, 1, 400)})
    >>> df["renewed"] = (rng.uniform(size=400) < 1 / (1 + np.exp(-(0.5 + 2 * df["mean"])))).astype(float)
    >>> f = fit_rebuy(df, scheme="mean")
    >>> f.reliable, round(float(f.result.params["mean"]), 1)
    (True, 2.2)
    """
    _check_frame(frame)
    notes, fit_warnings = [], []
    if formula is None:
        _require(frame, [outcome], "outcome")
        _require(frame, [scheme], "scheme")
        controls = _resolve_controls(frame, controls, notes)
        formula = f"{outcome} ~ {_rhs([scheme] + controls)}"
        focus = [scheme]
    else:
        focus = [scheme] if scheme in formula_columns(formula, frame) else []
    cols = formula_columns(formula, frame)
    extra = [c for c in (cluster, "period_end") if c and c in frame.columns]
    data = _prepare_rows(frame, cols + extra, [c for c in focus if c in frame.columns], notes, fit_warnings)
    return _fit_glm(data, formula, "binomial", name=name or f"rebuy:{scheme}", focus=focus, cluster=cluster,
                    notes=notes, fit_warnings=fit_warnings, outcome=outcome, start_params=start_params)


def fit_bookings(frame, scheme=PRIMARY_SCHEME, controls=None, family="tweedie", formula=None,
                 cluster="account_id", outcome="bookings", var_power=1.5, name=None, robust="auto") -> Fit:
    """Bookings on a sentiment scheme plus controls.

    ``family``:

    ``"tweedie"`` (default)
        GLM with log link and Tweedie variance ``V(mu) = mu^p`` (``p =
        var_power``, 1 < p < 2: a compound Poisson-gamma distribution with a
        point mass at zero, Jorgensen 1987), so accounts with zero bookings
        are modelled, not dropped. The scale is the Pearson estimate.
    ``"gamma"``
        GLM with log link and Gamma variance on the **positive** bookings only:
        the amount part of a two-part (hurdle) model; the zero part is a logit
        of ``bookings > 0`` (fit it with :func:`fit_formula`). The rows with
        zero bookings are dropped and counted in ``notes``.
    ``"ols_log"``
        OLS on ``log1p(bookings)``.

    With a log link (all three), ``exp(b) - 1`` is the proportional change in
    expected bookings (``1 + bookings`` for ``ols_log``) per unit of the term;
    :meth:`Fit.tidy` adds it as ``pct_effect`` with its interval.

    Standard errors (``robust``): ``"auto"`` (default) is cluster-robust by
    ``cluster`` when an account appears in several rows, else, for
    ``tweedie`` and ``gamma``, the HC1 sandwich (White 1980; MacKinnon &
    White 1985): the fixed variance power (or the Gamma's quadratic variance)
    is a working assumption, and when the real variance grows faster with
    the mean, model-based intervals are too narrow (in the seeded simulation
    of the tests, 200 worlds of 300 accounts with variance equal to the mean
    squared, a Tweedie p = 1.5 fit's 95% intervals for the two slopes cover
    0.905 and 0.885 with model-based errors, 0.94 and 0.94 with HC1).
    ``ols_log`` keeps model-based errors with t intervals (as R's ``lm``)
    unless accounts repeat. ``"HC1"`` forces the sandwich (also when accounts
    repeat), ``"nonrobust"`` model-based errors. :attr:`Fit.se_type` says
    which.

    Bookings that are 0 in every row, or equal in every row, cannot be
    modelled: :class:`~cxinfluence.exceptions.DegenerateFitError` (a
    ``ModelError``) names the outcome and the fix. A term that is 1 only where
    bookings are 0 makes the estimate diverge (separation): the fit is
    flagged and not ``reliable``.

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> df = pd.DataFrame({"account_id": [f"a{i}" for i in range(300)], "mean": rng.uniform(-1, 1, 300)})
    >>> df["bookings"] = rng.gamma(2.0, np.exp(3 + 0.5 * df["mean"]) / 2.0) * (rng.uniform(size=300) < 0.9)
    >>> f = fit_bookings(df, scheme="mean")
    >>> t = f.tidy().set_index("term")
    >>> bool(t.loc["mean", "pct_ci_low"] < 100 * np.expm1(0.5) < t.loc["mean", "pct_ci_high"])
    True
    """
    _check_frame(frame)
    fam = family.lower() if isinstance(family, str) else family
    if fam not in ("tweedie", "gamma", "ols_log"):
        raise ModelError(f"family={family!r} is not supported for bookings; expected 'tweedie', 'gamma' or 'ols_log'")
    notes, fit_warnings = [], []
    _require(frame, [outcome], "outcome")
    if formula is None:
        _require(frame, [scheme], "scheme")
        controls = _resolve_controls(frame, controls, notes)
        rhs, focus = _rhs([scheme] + controls), [scheme]
    else:
        if "~" not in formula:
            raise ModelError(f"formula={formula!r} has no '~'; expected e.g. 'bookings ~ mean + log_revenue'")
        rhs = formula.split("~", 1)[1].strip()
        focus = [scheme] if scheme in formula_columns(rhs, frame) else []
    y = pd.to_numeric(frame[outcome], errors="coerce")
    if (y < 0).any():
        raise ModelError(f"outcome {outcome!r} has negative values (min {y.min()}); bookings must be >= 0")
    cols = formula_columns(rhs, frame)
    extra = [c for c in (cluster, "period_end") if c and c in frame.columns]
    data = _prepare_rows(frame, [outcome] + cols + extra, [c for c in focus if c in frame.columns], notes, fit_warnings)
    label = name or f"bookings_{fam}:{scheme}"
    if robust not in ("auto", "HC1", "nonrobust"):
        raise ModelError(f"robust={robust!r}; expected 'auto' (cluster-robust when accounts repeat, else HC1), "
                         "'HC1' or 'nonrobust'")
    _check_bookings_vary(data[outcome], outcome, fam)
    if robust == "auto" and fam in ("tweedie", "gamma"):
        robust = "auto_hc1"
    if fam == "gamma":
        zero = int((data[outcome] == 0).sum())
        if zero:
            notes.append(f"gamma: {zero} rows with zero {outcome} dropped (amount part of a two-part model; "
                         f"model P({outcome} > 0) separately)")
        data = data[data[outcome] > 0]
        if len(data) == 0:
            raise ModelError(f"family='gamma' needs positive {outcome}, but every row is 0; use family='tweedie'")
        return _fit_glm(data, f"{outcome} ~ {rhs}", "gamma", name=label, focus=focus, cluster=cluster,
                        notes=notes, fit_warnings=fit_warnings, outcome=outcome, robust=robust)
    if fam == "tweedie":
        if not 1 < var_power < 2:
            raise ModelError(f"var_power={var_power!r}; expected 1 < var_power < 2 (compound Poisson-gamma)")
        return _fit_glm(data, f"{outcome} ~ {rhs}", "tweedie", name=label, focus=focus, cluster=cluster,
                        notes=notes, fit_warnings=fit_warnings, outcome=outcome, var_power=var_power,
                        robust=robust)
    # OLS on log1p: Gaussian GLM is numerically OLS; keep the OLS result object for R2.
    ycol = f"log1p_{outcome}"
    data = data.assign(**{ycol: np.log1p(data[outcome].astype(float))})
    fit = _fit_glm(data, f"{ycol} ~ {rhs}", "gaussian", name=label, focus=focus, cluster=cluster,
                   notes=notes, fit_warnings=fit_warnings, outcome=ycol, log_link=True, robust=robust)
    return _as_ols(fit, data, cluster)


def _check_bookings_vary(y, outcome, family):
    """DegenerateFitError for bookings that are all 0 or all equal (before statsmodels sees them)."""
    y = pd.to_numeric(y, errors="coerce").to_numpy(dtype=float)
    if len(y) and np.all(y == 0):
        raise DegenerateFitError(f"{outcome} is 0 in every one of the {len(y)} rows used; there is nothing to "
                                 f"model (check the bookings table and the outcome periods, or skip the bookings "
                                 "model)")
    if family != "gamma" and len(y) and np.ptp(y) == 0:
        raise DegenerateFitError(f"{outcome} is {y[0]:g} in every one of the {len(y)} rows used; a constant "
                                 "outcome has no variation to explain (skip the bookings model)")
    if family == "gamma":
        pos = y[y > 0]
        if len(pos) and np.ptp(pos) == 0:
            raise DegenerateFitError(f"family='gamma': the positive {outcome} are all {pos[0]:g}; a constant "
                                     "amount has no variation to explain (use the zero/positive logit only)")


def _as_ols(fit, data, cluster):
    """Refit a Gaussian GLM as statsmodels OLS (same estimates; R2, F; t-based inference)."""
    from statsmodels.regression.linear_model import OLS

    m = fit.result.model
    ols = OLS(m.endog, pd.DataFrame(m.exog, columns=m.exog_names, index=data.index))
    groups = _groups(data, cluster)
    if fit.cov_type == "cluster":
        res = ols.fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    elif fit.cov_type == "HC1":
        res = ols.fit(cov_type="HC1", use_t=True)
    else:
        res = ols.fit()
    fit.result, fit.kind = res, "ols"
    fit.notes.append(f"OLS on log1p({fit.outcome.removeprefix('log1p_')}): 100 (exp(b) - 1) is the % change in "
                     "1 + bookings per unit of the term")
    return fit


def fit_formula(frame, formula, family="binomial", cluster="account_id", name=None, var_power=1.5) -> Fit:
    """Any GLM from a formula string on the model frame (researchers' interface).

    Parameters
    ----------
    frame : DataFrame
    formula : str
        patsy formula, e.g. ``"renewed ~ influence_weighted * C(segment)"``.
    family : str or statsmodels family
        ``"binomial"`` (logit), ``"gaussian"``, ``"poisson"``, ``"gamma"``
        (log link), ``"tweedie"`` (log link) or a ``statsmodels`` family.
    cluster : str or None
        Column for cluster-robust errors when units repeat.

    A formula with an lme4 random-effect term, e.g.
    ``"Reaction ~ Days + (Days | Subject)"``, is a mixed model
    (:func:`fit_mixed` with ``transform=None``; ``family`` "gaussian", or
    "binomial" with a random intercept). The Gaussian family reports t-based
    p-values and intervals with ``n - k`` degrees of freedom (as R's ``lm``).

    Returns
    -------
    Fit
        With every diagnostic of :func:`fit_rebuy`.

    Examples
    --------
    >>> import statsmodels.api as sm
    >>> d = sm.datasets.spector.load_pandas().data
    >>> f = fit_formula(d, "GRADE ~ GPA + TUCE + PSI", cluster=None)
    >>> f.warnings
    ['too few events: 11 rows with GRADE = 1 for 3 terms (3.7 per term < 10, Peduzzi et al. 1996)']
    """
    _check_frame(frame)
    if not isinstance(formula, str) or "~" not in formula:
        raise ModelError(f"formula={formula!r}; expected a string like 'renewed ~ mean + log_revenue'")
    notes, fit_warnings = [], []
    cols = formula_columns(formula, frame)
    lhs = formula.split("~", 1)[0].strip()
    if lhs not in frame.columns and not formula_columns(lhs, frame):
        raise ModelError(f"formula={formula!r}: outcome {lhs!r} is not a column; "
                         f"available columns: {sorted(map(str, frame.columns))}")
    if "|" in formula:  # lme4 random-effect term: a mixed model
        fam = family.lower() if isinstance(family, str) else family
        if fam not in ("gaussian", "ols", "normal", "binomial", "logit", "logistic"):
            raise ModelError(f"formula={formula!r} has a random-effect term; family={family!r} is not available for "
                             "mixed models (use 'gaussian' or 'binomial')")
        return fit_mixed(frame, formula=formula, transform=None, name=name or formula, scheme=None)
    extra = [c for c in (cluster, "period_end") if c and c in frame.columns]
    data = _prepare_rows(frame, cols + extra, [], notes, fit_warnings)
    return _fit_glm(data, formula, family, name=name or formula, focus=cols[1:], cluster=cluster, notes=notes,
                    fit_warnings=fit_warnings, outcome=lhs, var_power=var_power)
