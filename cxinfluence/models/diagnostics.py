"""One degeneracy check for every model path.

:func:`diagnose` is called by every fitting function of
:mod:`cxinfluence.models.fit` (logit, Tweedie/Gamma/OLS bookings, linear mixed
model, binary mixed model, the decision equation, and through them the
refits of :func:`cxinfluence.models.compare.compare_schemes`). It returns the
problems found as :class:`Flag` strings: a reason a reader can act on, tagged
with one of :data:`FLAGS`. A :class:`~cxinfluence.models.fit.Fit` is ``reliable``
only when no flag is set; ``models.csv`` has one ``flag_<name>`` column per
flag.

=================  ===========================================================
flag               set when
=================  ===========================================================
``separation``     binary outcome: complete or quasi-complete separation
                   (Konis 2007 linear programme); log link with zeros
                   (Tweedie, Poisson): a direction along which the zero rows'
                   means go to 0 while the positive rows are fitted unchanged
                   (Santos Silva & Tenreyro 2010), e.g. a 0/1 column that is 1
                   only where bookings are 0
``nonconvergence`` the optimiser did not converge
``hessian``        the Hessian at the estimate is not positive definite
                   (a saddle point or a flat likelihood: SEs meaningless)
``boundary``       a random-effect variance estimated at 0, or a random-effect
                   correlation at +/-1 (lme4's "singular fit")
``few_groups``     too few clusters for cluster-robust errors (< 30) or too
                   few groups to estimate a variance (< 5)
``few_events``     fewer than 10 events (binary) or rows (continuous) per
                   estimated coefficient
``collinearity``   a term constant or aliased with others (rank deficiency),
                   or a variance inflation factor above 10
``nonfinite``      a standard error, estimate or log-likelihood is NaN or
                   infinite
``data``           the data changed the question (e.g. a period without
                   sentiment was excluded)
=================  ===========================================================

References: Albert & Anderson (1984) *Biometrika* 71:1; Konis (2007) DPhil
thesis, Oxford; Santos Silva & Tenreyro (2010) *Economics Letters* 107:310;
Peduzzi et al. (1996) *J Clin Epidemiol* 49:1373; Cameron & Miller (2015)
*J Human Resources* 50:317; Belsley, Kuh & Welsch (1980); Bates et al. (2015)
*J Stat Softw* 67(1) (singular fits).
"""

from __future__ import annotations

import numpy as np

from . import design
from .design import _binary_columns, _diagnose_binary, design_rank, vif

#: The flags a fit can carry (``flag_<name>`` columns of ``models.csv``).
FLAGS = ("separation", "nonconvergence", "hessian", "boundary", "few_groups", "few_events", "collinearity",
         "nonfinite", "data")

#: Minimum events (binary) or rows (continuous) per estimated coefficient (Peduzzi et al. 1996).
MIN_EPV = 10
#: Variance inflation factor above which a term is called near-collinear.
MAX_VIF = 10.0
#: Minimum number of clusters for trustworthy cluster-robust errors (Cameron & Miller 2015).
MIN_CLUSTERS = 30
#: Minimum number of groups for a random-effect variance.
MIN_GROUPS = 5
#: A random-effect variance contributing less than this share of the residual
#: variance is "at the boundary" (estimated as 0).
BOUNDARY_RTOL = 1e-4
#: A random-effect correlation this close to +/-1 is "at the boundary".
BOUNDARY_CORR = 0.999
#: Log-link fits with more rows than this run the separation LP only when some
#: zero row's fitted mean is below ``LOGLINK_SCREEN_RTOL`` times the mean fitted
#: value (a converged fit along a separating direction drives those means to ~0;
#: the LP costs about a second at 50,000 rows).
LOGLINK_SCREEN_ROWS = 5_000
LOGLINK_SCREEN_RTOL = 1e-4


class Flag(str):
    """A reason a fit is unreliable, tagged with its kind (one of :data:`FLAGS`).

    It is a ``str`` (the reason as printed), so lists of flags join and
    print like lists of reasons.

    >>> f = Flag("separation", "x predicts every outcome")
    >>> f, f.flag
    ('x predicts every outcome', 'separation')
    """

    flag: str

    def __new__(cls, flag, message):
        if flag not in FLAGS:
            raise ValueError(f"flag={flag!r}; expected one of {FLAGS}")
        obj = super().__new__(cls, message)
        obj.flag = flag
        return obj

    def __reduce__(self):
        return (Flag, (self.flag, str(self)))


def flag_of(reason) -> str:
    """The flag of a reason (``"data"`` for a plain string)."""
    return getattr(reason, "flag", "data")


def flag_table(reasons) -> dict:
    """``{flag: bool}`` for every flag in :data:`FLAGS`.

    >>> flag_table([Flag("boundary", "var 0"), "a plain reason"])["boundary"]
    True
    """
    seen = {flag_of(r) for r in reasons}
    return {f: f in seen for f in FLAGS}


# --------------------------------------------------------------------------
# Separation with a log link and zeros (Tweedie, Poisson)
# --------------------------------------------------------------------------
def loglink_separation(X, y, names=None, tol=1e-6):
    """Detect non-existence of the MLE of a log-link model with zeros.

    With ``mu = exp(x'b)`` and outcomes ``y >= 0`` (Poisson, Tweedie), the
    likelihood increases without bound along a direction ``d != 0`` with
    ``x_i'd = 0`` for every row with ``y_i > 0`` and ``x_i'd <= 0`` for every
    row with ``y_i = 0``, strictly for at least one (Santos Silva & Tenreyro
    2010): the zero rows' means go to 0 while the others are unchanged. The
    linear programme maximises ``-sum_{y=0} x_i'd`` under those constraints
    with ``-1 <= d <= 1``.

    Returns ``None`` or ``{"terms": [...], "n_separated": int}`` (the terms
    with a non-zero component and the zero rows fitted as exactly 0).

    Examples
    --------
    >>> X = np.c_[np.ones(6), [0., 0, 0, 0, 1, 1], [1., 2, 3, 4, 5, 6]]
    >>> loglink_separation(X, np.array([3., 1, 0, 2, 0, 0]), ["Intercept", "d", "x"])["terms"]
    ['d']
    >>> loglink_separation(X, np.array([3., 1, 0, 2, 4, 0]), ["Intercept", "d", "x"]) is None
    True
    """
    from scipy.optimize import linprog

    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    names = list(names) if names is not None else [f"x{j}" for j in range(X.shape[1])]
    zero = y == 0
    if not zero.any():
        return None
    scale = np.abs(X).max(0)
    scale[scale == 0] = 1.0
    A = X / scale
    Z, P = A[zero], A[~zero]
    res = linprog(Z.sum(0), A_ub=Z, b_ub=np.zeros(len(Z)),
                  A_eq=P if len(P) else None, b_eq=np.zeros(len(P)) if len(P) else None,
                  bounds=[(-1, 1)] * A.shape[1], method="highs")
    if res.status != 0 or -res.fun <= tol:
        return None
    d = res.x
    if len(P) and np.abs(P @ d).max() > 1e-7 or (Z @ d).max() > 1e-7:
        return None
    return {"terms": [n for n, dj in zip(names, d) if abs(dj) > 1e-6], "n_separated": int((Z @ d < -1e-7).sum())}


def _cheap_loglink_separation(X, y, names):
    """0/1 columns that are 1 only on rows with ``y == 0`` (large data, no LP)."""
    out = []
    for j in _binary_columns(X):
        on = X[:, j] == 1
        if on.any() and np.all(y[on] == 0):
            out.append(names[j])
    return out


# --------------------------------------------------------------------------
# The one diagnosis
# --------------------------------------------------------------------------
def diagnose(X, y, names, kind, *, result=None, caught=(), clusters=None, cluster_name="account_id",
             groups=None, group_name="group", lp=None, term_warnings=None, variances=None, converged=None,
             llf=None, bse=None, mu=None, outcome="outcome"):
    """Every degeneracy check of a fit, in one place.

    Parameters
    ----------
    X : ndarray (n, k)
        Fixed-effect design actually fitted (aliased columns already dropped:
        they are flagged where they are dropped, with :func:`aliased_flags`).
    y : ndarray (n,)
    names : list of str
        Column names of ``X``.
    kind : str
        ``"binary"`` (logit, decision equation, binary mixed model),
        ``"loglink_zeros"`` (Tweedie/Poisson: zeros allowed),
        ``"continuous"`` (Gamma, Gaussian/OLS, linear mixed model).
    result : statsmodels result, optional
        The fit; its ``converged``, ``bse``, ``llf`` and ``params`` are
        checked (override with ``converged``, ``bse``, ``llf``).
    caught : list of warnings.WarningMessage
        Warnings recorded during the fit (``ConvergenceWarning`` texts are
        read: "boundary", "Hessian ... not positive definite").
    clusters : array, optional
        Cluster codes when the errors are cluster-robust.
    groups : array, optional
        Random-effect group labels (mixed models).
    lp : bool, optional
        Use the exact linear-programming separation checks (default: up to
        ``cxinfluence.models.design.SEPARATION_LP_MAX_ROWS`` rows).
    term_warnings : dict, optional
        Filled with term -> reason for terms involved in a problem.
    variances : dict, optional
        Random-effect variance components: ``{"var": {name: (variance,
        mean square of its design column)}, "corr": {name: r}, "scale":
        residual variance}`` (linear mixed model) or ``{"sd": {name: sd}}``
        (binary mixed model, logit scale).
    mu : ndarray, optional
        Fitted means (binary models: extreme probabilities suggest
        separation on large data).
    outcome : str
        Outcome name used in the messages.

    Returns
    -------
    list of Flag

    Examples
    --------
    >>> x = np.array([1., 2, 3, 4, 5, 6]); X = np.c_[np.ones(6), x]
    >>> [f.flag for f in diagnose(X, np.array([0., 0, 0, 1, 1, 1]), ["Intercept", "x"], "binary")]
    ['few_events', 'separation']
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    names = list(names)
    term_warnings = {} if term_warnings is None else term_warnings
    out = _collinearity_flags(X, names, term_warnings)
    out += _size_flags(X, y, names, kind, outcome)
    out += _separation_flags(X, y, names, kind, lp, mu, term_warnings)
    out += _group_flags(clusters, cluster_name, groups, group_name)
    flags, at_boundary = _optimiser_flags(result, caught, converged)
    out += flags
    out += _nonfinite_flags(result, bse, llf)
    out += _variance_flags(variances, at_boundary, y)
    return out


def _collinearity_flags(X, names, term_warnings):
    """Near-collinear terms (VIF above :data:`MAX_VIF`)."""
    if X.shape[1] <= 1:
        return []
    v = vif(X, names)
    high = v[v > MAX_VIF]
    for t, val in high.items():
        term_warnings.setdefault(t, f"near-collinear (VIF {val:.0f} > {MAX_VIF:.0f})")
    if not len(high):
        return []
    return [Flag("collinearity", f"near-collinear terms (VIF > {MAX_VIF:.0f}): "
                 + ", ".join(f"{t} ({val:.0f})" for t, val in high.items())
                 + "; their separate effects are poorly determined")]


def _size_flags(X, y, names, kind, outcome):
    """Too few events (binary) or rows per estimated coefficient (:data:`MIN_EPV`)."""
    n = len(y)
    k = X.shape[1] - int("Intercept" in names)
    if kind == "binary":
        events = int(y.sum())
        rare = min(events, n - events)
        if k and rare / k < MIN_EPV:
            return [Flag("few_events", f"too few events: {rare} rows with {outcome} = {int(rare == events)} "
                         f"for {k} terms ({rare / k:.1f} per term < {MIN_EPV}, Peduzzi et al. 1996)")]
    elif k and n / k < MIN_EPV:
        return [Flag("few_events", f"too few rows: {n} for {k} terms ({n / k:.1f} per term < {MIN_EPV})")]
    return []


def _separation_flags(X, y, names, kind, lp, mu, term_warnings):
    """Separation: binary outcomes, or zeros under a log link (exact LP checks up to a size, else screens)."""
    n = len(y)
    lp = n <= design.SEPARATION_LP_MAX_ROWS if lp is None else lp  # read at call time: one setting, in design
    if kind == "binary":
        found = []
        _diagnose_binary(X, y, np.full(n, 0.5) if mu is None else np.asarray(mu), names, found, term_warnings, lp=lp)
        return [Flag("separation", str(w)) for w in found]
    if kind != "loglink_zeros":
        return []
    if lp and mu is not None and n > LOGLINK_SCREEN_ROWS:
        # Along a separating direction the converged fit has driven the separated zero rows'
        # means to (nearly) 0; when no zero row's mean is that small the LP cannot find one.
        m = np.asarray(mu, dtype=float)
        lp = not (np.all(np.isfinite(m)) and m[y == 0].min(initial=np.inf) > LOGLINK_SCREEN_RTOL * m.mean())
    sep = loglink_separation(X, y, names) if lp else None
    terms = sep["terms"] if sep else ([] if lp else _cheap_loglink_separation(X, y, names))
    if not terms:
        return []
    what = (f"{sep['n_separated']} zero rows are fitted as exactly 0 along {', '.join(terms)}" if sep
            else f"every row with {', '.join(terms)} = 1 has zero bookings")
    for t in terms:
        if t != "Intercept":
            term_warnings.setdefault(t, "involved in separation: estimate not finite in truth")
    return [Flag("separation", f"separation: {what}; the coefficients diverge to -infinity "
                 "(the maximum-likelihood estimate does not exist, Santos Silva & Tenreyro 2010)")]


def _group_flags(clusters, cluster_name, groups, group_name):
    """Too few clusters for cluster-robust SEs, or too few groups for a random effect."""
    out = []
    if clusters is not None:
        n_cl = _n_distinct(clusters)
        if n_cl < MIN_CLUSTERS:
            out.append(Flag("few_groups", f"only {n_cl} {cluster_name} clusters: cluster-robust standard errors "
                            f"are unreliable below {MIN_CLUSTERS} (Cameron & Miller 2015)"))
    if groups is not None:
        n_g = len(np.unique(np.asarray(groups).astype(str)))
        if n_g < MIN_GROUPS:
            out.append(Flag("few_groups", f"only {n_g} {group_name} groups: the random-effect variance is poorly "
                            f"estimated (need at least {MIN_GROUPS})"))
    return out


def _n_distinct(codes):
    """Distinct values of cluster codes: counted by ``np.bincount`` for non-negative integers (no sort)."""
    codes = np.asarray(codes)
    if codes.dtype.kind in "iu" and len(codes) and codes.min() >= 0 and codes.max() < 4 * len(codes) + 1024:
        return int(np.count_nonzero(np.bincount(codes)))
    return len(np.unique(codes))


def _optimiser_flags(result, caught, converged):
    """Non-convergence and a Hessian that is not positive definite; ``(flags, ended at a boundary?)``."""
    out = []
    msgs = [str(w.message) for w in caught if w.category.__name__ == "ConvergenceWarning"]
    if converged is None and result is not None:
        converged = getattr(result, "converged", True)
    hessian = any("Hessian" in m and "positive definite" in m for m in msgs)
    at_boundary = any("boundary" in m for m in msgs)
    other = [m for m in msgs if "Hessian" not in m and "boundary" not in m and "Retrying" not in m]
    # MixedLM retries other optimisers after a failure and says so in warnings; its
    # final ``converged`` is the verdict. For a GLM a ConvergenceWarning is the verdict.
    mixed = result is not None and hasattr(result, "cov_re")
    if converged is False or (other and not mixed):
        out.append(Flag("nonconvergence", "the optimiser did not converge"))
    if hessian:
        out.append(Flag("hessian", "the Hessian at the estimate is not positive definite: the likelihood is flat "
                        "or the estimate is a saddle point, so its standard errors are not valid"))
    return out, at_boundary


def _nonfinite_flags(result, bse, llf):
    """Standard errors, estimates or the log-likelihood that are not finite."""
    if bse is None and result is not None:
        bse = getattr(result, "bse_fe", None) if hasattr(result, "bse_fe") else getattr(result, "bse", None)
    if llf is None and result is not None and hasattr(result, "llf"):
        try:
            llf = result.llf
        except Exception:  # noqa: BLE001 - some results cannot compute it
            llf = np.nan
    bad = []
    if bse is not None and not np.all(np.isfinite(np.asarray(bse, dtype=float))):
        bad.append("some standard errors")
    if result is not None and hasattr(result, "params") and not np.all(np.isfinite(np.asarray(result.params,
                                                                                              dtype=float))):
        bad.append("some estimates")
    if llf is not None and not np.isfinite(float(llf)):
        bad.append("the log-likelihood")
    if not bad:
        return []
    verb = "are" if len(bad) > 1 or bad[0].startswith("some") else "is"
    return [Flag("nonfinite", f"{' and '.join(bad)} {verb} not finite")]


def _variance_flags(variances, at_boundary, y):
    """Random-effect variances (or correlations, or the residual variance) at the boundary."""
    if not variances:
        return [Flag("boundary", "a variance component is estimated at the boundary (0)")] if at_boundary else []
    out = []
    zero = []
    for comp, (var, msq) in variances.get("var", {}).items():
        scale = variances.get("scale", 1.0)
        if not np.isfinite(var) or var * msq <= BOUNDARY_RTOL * scale:
            zero.append(comp)
    zero += [comp for comp, sd in variances.get("sd", {}).items() if not np.isfinite(sd) or sd < 0.01]
    corr = [comp for comp, r in variances.get("corr", {}).items() if abs(r) >= BOUNDARY_CORR]
    if zero:
        out.append(Flag("boundary", f"{', '.join(zero)} estimated at the boundary (variance 0): the random "
                        "effect is not detected, and Wald statistics for it are invalid"))
    elif at_boundary and not corr:
        out.append(Flag("boundary", "the optimiser ends on the boundary of the parameter space (a random-effect "
                        "variance at or near 0): the random effect is hardly detected, and Wald statistics "
                        "for it are invalid"))
    if corr:
        out.append(Flag("boundary", f"random-effect correlation {', '.join(corr)} estimated at +/-1 "
                        "(singular fit, Bates et al. 2015): simplify the random-effect structure"))
    scale = variances.get("scale")
    if scale is not None and len(y) > 1 and not scale > BOUNDARY_RTOL ** 2 * float(np.var(y)):
        out.append(Flag("boundary", "the residual variance is estimated at 0 (the model reproduces the "
                        "outcome exactly): its likelihood and standard errors are not meaningful"))
    return out


def aliased_flags(X, names, term_warnings):
    """Collinearity flags for the aliased (constant or collinear) columns of
    ``X``; fills ``term_warnings`` and returns ``(flags, aliased_indices)``.

    >>> X = np.c_[np.ones(4), [1., 2, 3, 4], [5., 5, 5, 5]]
    >>> tw = {}; flags, idx = aliased_flags(X, ["Intercept", "x", "c"], tw)
    >>> idx, flags[0].flag, tw["c"].startswith("constant")
    ([2], 'collinearity', True)
    """
    X = np.asarray(X, dtype=float)
    _, aliased = design_rank(X)
    out = []
    for j in aliased:
        const = np.ptp(X[:, j]) == 0
        why = ("constant in the data (no variation): its effect cannot be estimated" if const
               else "perfectly collinear with other terms: its effect cannot be separated from theirs")
        term_warnings[names[j]] = why
        out.append(Flag("collinearity", f"{names[j]} is {why}; dropped (NaN estimate)"))
    return out, aliased


def se_description(fit) -> str:
    """What standard errors a fit used, in words (for reports).

    >>> class F: cov_type = "HC1"; n_accounts = 300
    >>> se_description(F())
    'heteroskedasticity-robust (HC1 sandwich)'
    """
    cov = getattr(fit, "cov_type", "nonrobust")
    return {
        "cluster": f"cluster-robust by account ({getattr(fit, 'n_accounts', '?')} accounts)",
        "HC1": "heteroskedasticity-robust (HC1 sandwich)",
        "nonrobust": "model-based",
        "reml": "model-based (REML)",
        "ml": "model-based (ML)",
        "posterior": "posterior SDs (variational Bayes)",
    }.get(cov, cov)
