"""The one IRLS loop: GLM coefficients on the ``k x k`` normal equations.

Every fit that does not need statsmodels' result object (cross-validation
refits in :mod:`.compare`, the measurement-error and sensitivity refits in
:mod:`.measurement` / :mod:`.sensitivity`) and the warm start that hands
statsmodels a converged estimate (:func:`cxinfluence.models.fit.warm_start`)
use :func:`irls_fit`, with one stopping rule:

* **converged** when no linear predictor moves by more than
  ``tol * (1 + max|eta|)`` in an iteration (``sqrt(tol)`` for the binomial
  family with its canonical logit link, where IRLS is Newton's method and the
  error after a move of ``d`` is of the order ``d**2``). The linear predictor
  is used rather than the deviance because with a non-canonical link (Tweedie,
  Gamma with a log link) Fisher scoring converges linearly and the deviance,
  flat at the optimum, stops resolving changes long before the coefficients
  have settled: a deviance rule at ``1e-8`` (R's ``glm.control``) leaves
  coefficients off in the 4th-5th digit.
* **gives up** (``converged`` False, the last finite estimate returned) when
  values turn non-finite, a binomial model drives a fitted probability within
  ``1e-6`` of 0 or 1 (separation: the estimates run off to infinity and the
  path taken matters), or ``maxiter`` iterations pass.

Each step solves the ``k x k`` normal equations ``X'WX b = X'Wz`` by Cholesky
(``X`` is read twice per iteration, ``O(n k^2)``; statsmodels' SVD of the
``n x k`` weighted design costs several times more). When ``X'WX`` is not
positive definite or ill-conditioned (reciprocal condition number, estimated
from the Cholesky factor, below :data:`RCOND_QR`), the step is the weighted
least-squares solution of ``sqrt(W) X b = sqrt(W) z`` by an orthogonal
decomposition of the ``n x k`` matrix instead, which does not square the
condition number. A singular ``X'WX`` (e.g. a training fold without any
account of one segment leaves a dummy all zero) gets the minimum-norm least
squares solution: it predicts like R's aliased (NA) coefficient would;
``singular`` says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Default relative move of the linear predictor at which IRLS has converged.
IRLS_TOL = 1e-10

#: Default iteration limit.
IRLS_MAXITER = 100

#: A binomial fit giving up when a fitted probability is this close to 0 or 1.
SEPARATION_EPS = 1e-6

#: Rows per block of :func:`irls_rows` (an 11-column block and its ``W X``: 44 MiB).
ROW_BLOCK = 262_144

#: Below this estimated reciprocal condition number of ``X'WX`` a step is solved by QR/SVD of the weighted design.
RCOND_QR = 1e-10


@dataclass
class IrlsResult:
    """What :func:`irls_fit` returns.

    Attributes
    ----------
    params : ndarray
        The last finite coefficients (the estimate when ``converged``).
    converged : bool
    iterations : int
    reason : str
        ``"converged"``, ``"maxiter"``, ``"non-finite"`` or ``"separation"``.
    singular : bool
        Whether ``X'WX`` was singular in some iteration (solved by least squares).
    """

    params: np.ndarray
    converged: bool
    iterations: int
    reason: str
    singular: bool = False


def _is_logit(family) -> bool:
    from statsmodels.genmod import families

    return isinstance(family, families.Binomial) and isinstance(family.link, families.links.Logit)


def _is_binomial(family) -> bool:
    from statsmodels.genmod import families

    return isinstance(family, families.Binomial)


def _step(X, Xw, w, z):
    """The weighted least-squares step ``(X'WX)^-1 X'Wz``: Cholesky, else QR/SVD of ``sqrt(W) X``; ``(b, singular)``.

    ``Xw`` holds ``W X`` on entry.
    """
    return _solve(Xw.T @ X, Xw.T @ z, lambda: (X, w, z))


def _solve(A, r, design):
    """``A^-1 r`` by Cholesky, else (``design()`` giving ``(X, w, z)``) the least-squares step: ``(b, singular)``."""
    from scipy.linalg import LinAlgError, cho_solve, cholesky

    try:
        c = cholesky(A, lower=False, check_finite=False)
        diag = np.abs(np.diag(c))
        if diag.min() > 0 and (diag.min() / diag.max()) ** 2 > RCOND_QR:
            return cho_solve((c, False), r, check_finite=False), False
    except (LinAlgError, ValueError):
        pass
    if not (np.all(np.isfinite(A)) and np.all(np.isfinite(r))):
        return np.full(len(r), np.nan), False
    X, w, z = design()
    s = np.sqrt(w)
    b, _, rank, _ = np.linalg.lstsq(X * s[:, None], z * s, rcond=None)
    return b, rank < X.shape[1]


def irls_fit(X, y, family, start=None, tol=IRLS_TOL, maxiter=IRLS_MAXITER, *, work=None) -> IrlsResult:
    """GLM coefficients by iteratively reweighted least squares.

    The textbook algorithm (McCullagh & Nelder 1989, 2.5) with the statsmodels
    family's link and variance: working weights ``w = 1 / (g'(mu)^2 V(mu))``,
    working response ``z = eta + g'(mu) (y - mu)``, ``b = (X'WX)^-1 X'Wz``,
    stopped by the rule in the module docstring.

    Parameters
    ----------
    X : ndarray, shape (n, k)
    y : ndarray, shape (n,)
    family : statsmodels family
    start : array, optional
        Starting coefficients; default statsmodels' start (``family.starting_mu(y)``).
    tol : float
        Convergence tolerance on the relative move of the linear predictor.
    maxiter : int
    work : ndarray, optional
        Scratch space for ``W X``: a column-major array shaped like ``X`` (a caller fitting many designs of
        one size reuses one; default a fresh array).

    Returns
    -------
    IrlsResult

    Examples
    --------
    >>> import statsmodels.api as sm
    >>> d = sm.datasets.spector.load_pandas().data
    >>> X, y = sm.add_constant(d[["GPA", "TUCE", "PSI"]]).to_numpy(), d["GRADE"].to_numpy()
    >>> r = irls_fit(X, y, sm.families.Binomial())
    >>> ref = sm.GLM(y, X, family=sm.families.Binomial()).fit(tol=1e-13).params
    >>> r.converged, bool(np.allclose(r.params, ref, rtol=1e-8, atol=0))
    (True, True)
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if not X.flags.f_contiguous:  # column-major: the products X'WX and Xb read it fastest
        X = np.asfortranarray(X)
    link = family.link
    binary = _is_binomial(family)
    step_tol = np.sqrt(tol) if _is_logit(family) else tol
    # reused: a fresh n x k array per iteration costs page faults
    Xw = np.empty_like(X, order="F") if work is None or work.shape != X.shape or not work.flags.f_contiguous else work
    singular = False
    with np.errstate(all="ignore"):
        if start is None:
            mu = family.starting_mu(y)
            eta = link(mu)
            b = np.full(X.shape[1], np.nan)
        else:
            b = np.asarray(start, dtype=float).copy()
            eta = X @ b
            mu = family.fitted(eta)
        for it in range(1, maxiter + 1):
            d = link.deriv(mu)
            w = 1.0 / (d * d * family.variance(mu))
            z = eta + d * (y - mu)
            np.multiply(X, w[:, None], out=Xw)
            new_b, was_singular = _step(X, Xw, w, z)
            singular |= was_singular
            new_eta = X @ new_b
            new_mu = family.fitted(new_eta)
            if not (np.all(np.isfinite(new_b)) and np.all(np.isfinite(new_mu))):
                return IrlsResult(b, False, it, "non-finite", singular)
            moved = np.abs(new_eta - eta).max()
            b, eta, mu = new_b, new_eta, new_mu
            if binary and (mu.min() < SEPARATION_EPS or mu.max() > 1 - SEPARATION_EPS):
                return IrlsResult(b, False, it, "separation", singular)
            if moved <= step_tol * (1.0 + np.abs(eta).max()):
                return IrlsResult(b, True, it, "converged", singular)
    return IrlsResult(b, False, maxiter, "maxiter", singular)


def irls(X, y, family, start=None, tol=IRLS_TOL, maxiter=IRLS_MAXITER, *, work=None) -> np.ndarray:
    """The coefficients of :func:`irls_fit` (its last finite estimate when it gives up).

    Used where only the estimate matters (cross-validation refits, SIMEX and
    sensitivity refits); the test suite checks it equals ``statsmodels.GLM.fit``.

    Examples
    --------
    >>> import statsmodels.api as sm
    >>> X = sm.add_constant(np.arange(6.0)); y = np.array([1.0, 2, 2, 4, 5, 7])
    >>> b = irls(X, y, sm.families.Gaussian())
    >>> bool(np.allclose(b, np.linalg.lstsq(X, y, rcond=None)[0]))
    True
    """
    return irls_fit(X, y, family, start, tol=tol, maxiter=maxiter, work=work).params


def irls_rows(X, y, rows, family, start, tol=IRLS_TOL, maxiter=IRLS_MAXITER, *, block=None) -> np.ndarray:
    """:func:`irls` on the rows ``rows`` (row numbers) of ``X`` and ``y``, without copying those rows whole.

    The cross-validation refits (:mod:`.compare`) fit each fold's training rows: at a million accounts some
    3M rows of an 11-column design, 270 MiB, and as much again for ``W X``, in each of two threads. Here
    ``X'WX`` and ``X'Wz`` are summed over blocks of ``block`` rows (default :data:`ROW_BLOCK`), each gathered
    from ``X`` when it is used; an iteration reads every block once, for the linear predictor of the last
    estimate and the sums of the next step. Same stopping rule as :func:`irls_fit`. With one block
    (``len(rows) <= block``) the arithmetic is :func:`irls`'s on ``X[rows]``; with more, the sums are added
    block by block, so the estimate may differ from it in the last bits.

    Examples
    --------
    >>> import statsmodels.api as sm
    >>> d = sm.datasets.spector.load_pandas().data
    >>> X, y = sm.add_constant(d[["GPA", "TUCE", "PSI"]]).to_numpy(), d["GRADE"].to_numpy()
    >>> rows = np.arange(0, 32, 2)[:-1].tolist() + list(range(1, 32, 2))
    >>> b = irls_rows(X, y, rows, sm.families.Binomial(), np.zeros(4), block=5)
    >>> bool(np.allclose(b, irls(X[rows], y[rows], sm.families.Binomial(), np.zeros(4)), rtol=1e-9, atol=0))
    True
    """
    X, y, rows = np.asarray(X, dtype=float), np.asarray(y, dtype=float), np.asarray(rows, dtype=np.intp)
    n, k, block = len(rows), X.shape[1], block or ROW_BLOCK
    link, binary = family.link, _is_binomial(family)
    step_tol = np.sqrt(tol) if _is_logit(family) else tol
    yr = y[rows]
    spans = [(s, min(s + block, n)) for s in range(0, n, block)]
    Xb, Xw = np.empty(min(block, n) * k), np.empty(min(block, n) * k)  # one block and its W X, reused

    def sweep(b):
        """The linear predictor and mean of ``b`` on every row, and the next step's ``X'WX`` and ``X'Wz``."""
        eta, mu, A, r = np.empty(n), np.empty(n), np.zeros((k, k)), np.zeros(k)
        for s, e in spans:
            xb = np.ndarray((e - s, k), buffer=Xb, order="F")
            for j in range(k):
                np.take(X[:, j], rows[s:e], out=xb[:, j])
            eta[s:e] = xb @ b
            mu[s:e] = family.fitted(eta[s:e])
            d = link.deriv(mu[s:e])
            w = 1.0 / (d * d * family.variance(mu[s:e]))
            xw = np.multiply(xb, w[:, None], out=np.ndarray((e - s, k), buffer=Xw, order="F"))
            A += xw.T @ xb
            r += xw.T @ (eta[s:e] + d * (yr[s:e] - mu[s:e]))
        return eta, mu, A, r

    def design(eta, mu):  # the rare least-squares step (X'WX singular or ill-conditioned): these rows whole
        d = link.deriv(mu)
        return X[rows], 1.0 / (d * d * family.variance(mu)), eta + d * (yr - mu)

    b = np.asarray(start, dtype=float).copy()
    with np.errstate(all="ignore"):
        eta, mu, A, r = sweep(b)
        for _ in range(maxiter):
            new_b, _ = _solve(A, r, lambda eta=eta, mu=mu: design(eta, mu))
            new_eta, new_mu, A, r = sweep(new_b)
            if not (np.all(np.isfinite(new_b)) and np.all(np.isfinite(new_mu))):
                return b
            moved = np.abs(new_eta - eta).max()
            b, eta, mu = new_b, new_eta, new_mu
            if binary and (mu.min() < SEPARATION_EPS or mu.max() > 1 - SEPARATION_EPS):
                return b
            if moved <= step_tol * (1.0 + np.abs(eta).max()):
                return b
    return b
