"""The exact optimum of a linear mixed model from per-group sums: where :func:`fit_mixed` starts statsmodels.

statsmodels' ``MixedLM`` evaluates its likelihood by solving every group's rows at each step, and its
default optimisers (BFGS, then L-BFGS from where BFGS stopped) struggle on the flat REML surfaces that
few groups and many rows give: at 100k accounts (400,000 rows in 9 segments) it took 13-28 s and
stopped 14 units of REML criterion short, with the segment variance 45x too large. The likelihood of ``y = X b + Z u + e``, ``u_j ~ N(0, s2 L L')``,
``e ~ N(0, s2 I)`` depends on the rows only through each group's cross-products ``Z_j'Z_j`` and
``Z_j'[X y]`` and the totals ``[X y]'[X y]`` (:func:`group_moments`), so profiled over ``b`` and ``s2``
it is a function of the relative covariance factor ``L`` (lme4's theta) that costs ``O(G q^3 + p^3)``
to evaluate, whatever the number of rows (:func:`profiled_deviance`; Bates, Maechler, Bolker & Walker
2015, *J Stat Softw* 67(1), section 3.4, written with Woodbury's identity instead of a sparse
Cholesky factor because the random effects here are one grouping factor).

:func:`mixedlm_start` minimises it (:func:`optimum`) and returns the optimum packed as ``MixedLM.fit``'s
``start_params``; statsmodels then confirms it (its optimiser stops at once where the gradient is zero)
and computes everything it reports: fixed effects, scale, Hessian, standard errors, log-likelihood.
:func:`profiled_deviance_reference` is the same deviance from each group's covariance matrix written out
(``I + Z_j L L' Z_j'``): readable, for small data, tested equal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_LOG_2PI = float(np.log(2 * np.pi))
_FLOOR = 1e-5  # smallest diagonal entry of L handed to statsmodels: relative variance 1e-10


@dataclass(frozen=True)
class Moments:
    """Per-group sums of a mixed model's rows: ``zz`` (G, q, q) = ``Z_j'Z_j``, ``zw`` (G, q, p + 1) =
    ``Z_j'[X_j y_j]``, ``ww`` (p + 1, p + 1) = ``[X y]'[X y]`` over all rows, ``n`` rows, ``p`` fixed effects."""

    zz: np.ndarray
    zw: np.ndarray
    ww: np.ndarray
    n: int
    p: int


def group_moments(exog, exog_re, endog, groups) -> Moments:
    """The sums :func:`profiled_deviance` needs, one pass over the rows.

    Parameters
    ----------
    exog : array (n, p)
        Fixed-effect design ``X``.
    exog_re : array (n, q)
        Random-effect design ``Z`` (a column of ones for a random intercept).
    endog : array (n,)
        Outcome ``y``.
    groups : array (n,)
        Group of each row (any labels; the order of the groups does not change the deviance).

    Examples
    --------
    >>> X = np.ones((4, 1)); m = group_moments(X, X, np.array([1., 2., 3., 5.]), np.array([0, 0, 1, 1]))
    >>> m.zw[:, 0, :].tolist(), m.ww.tolist(), m.n
    ([[2.0, 3.0], [2.0, 8.0]], [[4.0, 11.0], [11.0, 39.0]], 4)
    """
    X = np.asarray(exog, dtype=float)
    Z = np.asarray(exog_re, dtype=float).reshape(len(X), -1)
    W = np.column_stack([X, np.asarray(endog, dtype=float)])
    _, codes = np.unique(np.asarray(groups), return_inverse=True)
    order = np.argsort(codes, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0])
    Zs, Ws = Z[order], W[order]
    zz = np.add.reduceat(Zs[:, :, None] * Zs[:, None, :], starts, axis=0)
    zw = np.add.reduceat(Zs[:, :, None] * Ws[:, None, :], starts, axis=0)
    return Moments(zz=zz, zw=zw, ww=W.T @ W, n=len(X), p=X.shape[1])


def _lower(theta, q):
    """The lower-triangular factor ``L`` from its packed entries (row by row, as ``np.tril_indices``)."""
    L = np.zeros((q, q))
    L[np.tril_indices(q)] = theta
    return L


def _q(moments):
    return moments.zz.shape[1]


def profiled_deviance(theta, moments, reml=True):
    """``-2`` log-likelihood (ML) or the REML criterion, profiled over the fixed effects and the scale.

    ``theta`` packs the lower triangle of ``L`` row by row (``L L'`` is the random effects' covariance
    relative to the residual variance; statsmodels' ``use_sqrt`` parameters). The value is lme4's
    ``deviance`` (ML) or ``REMLcrit`` (REML), constants included. Returns ``(deviance, beta, scale)``;
    the deviance is ``inf`` where the profiled residual sum of squares is zero up to rounding (an exact fit).

    Examples
    --------
    >>> rng = np.random.default_rng(0); g = np.repeat(np.arange(6), 5)
    >>> y = rng.normal(0, 1, 6)[g] + rng.normal(0, 1, 30); X = np.ones((30, 1))
    >>> m = group_moments(X, X, y, g)
    >>> d0, b0, s0 = profiled_deviance([0.0], m, reml=False)
    >>> bool(np.isclose(d0, 30 * (1 + np.log(2 * np.pi * y.var()))))   # no random effect: ordinary least squares
    True
    """
    q, p = _q(moments), moments.p
    L = _lower(np.asarray(theta, dtype=float), q)
    LZZ = np.einsum("ra,gab->grb", L.T, moments.zz)                 # L'Z'Z
    M = np.eye(q) + np.einsum("gra,as->grs", LZZ, L)               # I + L'Z'Z L, each group
    C = np.linalg.cholesky(M)
    S = np.linalg.solve(C, np.einsum("ra,gak->grk", L.T, moments.zw))  # C^-1 L'Z'[X y]
    wvw = moments.ww - np.einsum("grk,grl->kl", S, S)              # [X y]' (I + Z L L'Z')^-1 [X y]
    A, b, c = wvw[:p, :p], wvw[:p, p], wvw[p, p]
    try:
        R = np.linalg.cholesky(A)
    except np.linalg.LinAlgError:
        return np.inf, np.full(p, np.nan), np.nan
    beta = np.linalg.solve(A, b)
    rss = float(c - b @ beta)
    dof = moments.n - p if reml else moments.n
    if not rss > 1e-9 * abs(c):  # zero up to rounding (c - b.beta cancels): an exact fit, deviance -inf
        return np.inf, beta, 0.0
    logdet = 2 * float(np.log(np.diagonal(C, axis1=1, axis2=2)).sum())
    if reml:
        logdet += 2 * float(np.log(np.diag(R)).sum())
    return dof * (1 + _LOG_2PI + np.log(rss / dof)) + logdet, beta, rss / dof


def profiled_deviance_reference(theta, exog, exog_re, endog, groups, reml=True):
    """:func:`profiled_deviance` from each group's covariance matrix written out (small data only).

    ``V_j = I + Z_j L L' Z_j'``; generalised least squares gives ``beta`` and the residual sum of squares
    ``r'V^-1 r``; the deviance adds ``log|V|`` (and, for REML, ``log|X'V^-1 X|``). Returns
    ``(deviance, beta, scale)`` like the kernel.
    """
    X = np.asarray(exog, dtype=float)
    Z = np.asarray(exog_re, dtype=float).reshape(len(X), -1)
    y = np.asarray(endog, dtype=float)
    groups = np.asarray(groups)
    L = _lower(np.asarray(theta, dtype=float), Z.shape[1])
    xvx, xvy, logdet_v, blocks = 0.0, 0.0, 0.0, []
    for g in np.unique(groups):
        i = groups == g
        V = np.eye(int(i.sum())) + Z[i] @ L @ L.T @ Z[i].T
        Vinv = np.linalg.inv(V)
        xvx = xvx + X[i].T @ Vinv @ X[i]
        xvy = xvy + X[i].T @ Vinv @ y[i]
        logdet_v += np.linalg.slogdet(V)[1]
        blocks.append((i, Vinv))
    beta = np.linalg.solve(xvx, xvy)
    r = y - X @ beta
    rss = sum(float(r[i] @ Vinv @ r[i]) for i, Vinv in blocks)
    dof = len(y) - X.shape[1] if reml else len(y)
    dev = dof * (1 + _LOG_2PI + np.log(rss / dof)) + logdet_v
    if reml:
        dev += np.linalg.slogdet(xvx)[1]
    return dev, beta, rss / dof


def optimum(moments, reml=True):
    """The ``theta`` that minimises :func:`profiled_deviance` (random effects' factor ``L``, packed).

    One random effect (``q = 1``): the deviance on a grid of relative variances ``0, 1e-8 .. 1e8``, then
    the root of its derivative between the best point's neighbours (:func:`deviance_slope`). More
    (``q > 1``): L-BFGS-B over ``L`` with its diagonal kept ``>= 0`` (lme4's bounds), from the identity and
    from each effect's own optimum alone on the diagonal, then Nelder-Mead from the better end point to
    polish. Returns ``(theta, deviance)``; the deviance is ``inf`` when no point has a positive residual
    sum of squares.

    Examples
    --------
    >>> y = np.array([1., 2., 4., 5., 7., 9.]); g = np.array([0, 0, 1, 1, 2, 2]); X = np.ones((6, 1))
    >>> theta, dev = optimum(group_moments(X, X, y, g))
    >>> round(float(theta[0] ** 2), 4)   # balanced one-way: REML = ANOVA, (MSB - MSW) / n / MSW = (21.1667 - 1) / 2
    10.0833
    """
    from scipy import optimize

    q = _q(moments)
    if q == 1:
        return _one_optimum(moments, reml)

    def dev(theta):
        return profiled_deviance(theta, moments, reml)[0]

    tril = np.tril_indices(q)
    diagonal = tril[0] == tril[1]
    bounds = [(0.0, None) if d else (None, None) for d in diagonal]
    starts = [np.eye(q)[tril]]
    scales = [optimum(_one_effect(moments, j), reml)[0][0] for j in range(q)]
    starts.append(np.diag(scales)[tril])
    ends = [optimize.minimize(dev, x0, method="L-BFGS-B", bounds=bounds) for x0 in starts]
    ends = [e for e in ends if np.isfinite(e.fun)]
    if not ends:
        return starts[0], np.inf
    first = min(ends, key=lambda e: e.fun)
    polished = optimize.minimize(dev, first.x, method="Nelder-Mead", bounds=bounds,
                                 options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 4000 * q})
    best = polished if polished.fun <= first.fun else first
    return np.asarray(best.x, dtype=float), float(best.fun)


def _one_optimum(moments, reml):
    """One random effect: the relative variance ``t = L^2`` where the deviance's derivative is zero
    (:func:`deviance_slope`), bracketed on a grid ``0, 1e-8 .. 1e8`` and solved by Brent's root finder to
    ``~1e-13`` relative; ``t = 0`` when the deviance rises from there (the boundary)."""
    from scipy import optimize

    grid = np.r_[0.0, np.logspace(-8, 8, 97)]
    values = np.array([profiled_deviance([np.sqrt(t)], moments, reml)[0] for t in grid])
    if not np.isfinite(values).any():
        return np.array([np.sqrt(grid[-1])]), np.inf
    k = int(np.argmin(values))
    if k == 0 and deviance_slope(0.0, moments, reml) >= 0:
        return np.array([0.0]), float(values[0])
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]
    if deviance_slope(lo, moments, reml) < 0 < deviance_slope(hi, moments, reml):
        t = optimize.brentq(deviance_slope, lo, hi, args=(moments, reml), xtol=1e-300, rtol=1e-14)
        value = profiled_deviance([np.sqrt(t)], moments, reml)[0]
        if value <= values[k]:
            return np.array([np.sqrt(t)]), float(value)
    return np.array([np.sqrt(grid[k])]), float(values[k])  # no sign change (an edge of the grid): its best point


def deviance_slope(t, moments, reml=True):
    """Derivative of :func:`profiled_deviance` with respect to the relative variance ``t = L^2`` (one
    random effect). By the envelope theorem the profiled residual sum of squares moves as
    ``u' D u`` with ``u = [-beta, 1]`` and ``D = -sum_j a_j a_j' / (1 + t z_j)^2`` (``z_j = Z_j'Z_j``,
    ``a_j = Z_j'[X_j y_j]``); ``log|M_j| = log(1 + t z_j)`` and, for REML, ``log|A|`` add theirs.

    Examples
    --------
    >>> rng = np.random.default_rng(1); g = np.repeat(np.arange(5), 4); X = np.ones((20, 1))
    >>> m = group_moments(X, X, rng.normal(0, 1, 5)[g] + rng.normal(0, 1, 20), g)
    >>> h = 1e-6; dev = lambda t: profiled_deviance([np.sqrt(t)], m)[0]
    >>> bool(np.isclose(deviance_slope(0.5, m), (dev(0.5 + h) - dev(0.5 - h)) / (2 * h), rtol=1e-6))
    True
    """
    p = moments.p
    z = moments.zz[:, 0, 0]
    a = moments.zw[:, 0, :]
    w = 1.0 / (1.0 + t * z)
    wvw = moments.ww - (a.T * (t * w)) @ a
    D = -(a.T * w**2) @ a
    A, b = wvw[:p, :p], wvw[:p, p]
    beta = np.linalg.solve(A, b)
    u = np.r_[-beta, 1.0]
    rss = float(u @ wvw @ u)
    dof = moments.n - p if reml else moments.n
    slope = dof * float(u @ D @ u) / rss + float(np.sum(z * w))
    if reml:
        slope += float(np.trace(np.linalg.solve(A, D[:p, :p])))
    return slope


def _one_effect(moments, j):
    """The moments of the model with random effect ``j`` alone (for a starting scale)."""
    return Moments(zz=moments.zz[:, j:j + 1, j:j + 1], zw=moments.zw[:, j:j + 1, :], ww=moments.ww, n=moments.n,
                   p=moments.p)


def mixedlm_start(model, reml=True):
    """``start_params`` for a statsmodels ``MixedLM`` (``model.fit(start_params=...)``): the exact optimum.

    Returns the packed ``L`` (``use_sqrt`` parameters, fixed effects and scale profiled out; a zero on its
    diagonal raised to ``1e-5``, see the code), or ``None``
    when the model has variance components (``vc_formula``), is not a square-root parametrisation, or
    has no finite optimum (an exact fit): statsmodels then searches from its own start.

    Examples
    --------
    >>> import pandas as pd, statsmodels.formula.api as smf
    >>> d = pd.DataFrame({"y": [1., 2., 4., 5., 7., 9.], "g": [0, 0, 1, 1, 2, 2]})
    >>> m = smf.mixedlm("y ~ 1", d, groups=d["g"])
    >>> r = m.fit(start_params=mixedlm_start(m))
    >>> round(float(r.cov_re.iloc[0, 0]), 4), round(float(r.scale), 4)   # ANOVA: (MSB - MSW) / 2, MSW
    (10.0833, 1.0)
    """
    if getattr(model, "k_vc", 0) or not getattr(model, "use_sqrt", True) or model.k_re == 0:
        return None
    moments = group_moments(model.exog, model.exog_re, model.endog, model.groups)
    theta, value = optimum(moments, reml)
    if not np.isfinite(value):
        return None
    # statsmodels' likelihood is inf at a variance of exactly 0 and unstable below its singularity
    # tolerance (relative variance 1e-10): a variance on the boundary starts at that tolerance instead,
    # where the deviance differs from the boundary's by (its slope) x 1e-10.
    tril = np.tril_indices(model.k_re)
    return np.where((tril[0] == tril[1]) & (theta < _FLOOR), _FLOOR, theta)

