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


def weighted_cross(X, w, out=None):
    """``X' diag(w) X``; ``out`` (an array shaped and laid out like ``X``) receives the scaled design.

    With ``w >= 0`` it is ``(sqrt(W) X)'(sqrt(W) X)``: numpy hands the product of a matrix with its own transpose
    to BLAS's ``syrk``, which computes one triangle, half the flops of ``(W X)' X`` (320,000 x 11: 5.4 ms
    against 9.8 ms on one thread); the result is exactly symmetric. A negative weight (the observed-information
    bread of a cluster-robust covariance) takes the general product.

    >>> X = np.array([[1.0, 2.0], [1.0, -1.0], [1.0, 0.5]]); w = np.array([0.5, 2.0, 1.0])
    >>> bool(np.allclose(weighted_cross(X, w), X.T @ np.diag(w) @ X))
    True
    """
    if w.size and w.min() >= 0:
        xs = np.multiply(X, np.sqrt(w)[:, None], out=out)
        return xs.T @ xs
    return np.multiply(X, w[:, None], out=out).T @ X


def _normal_equations(X, w, z, out=None):
    """``(X'WX, X'Wz)`` of the weighted least-squares step (``out``: scratch shaped and laid out like ``X``).

    IRLS weights are positive: ``sqrt(W) X`` is formed once and its ``syrk`` product taken (:func:`weighted_cross`).
    """
    s = np.sqrt(w)
    xs = np.multiply(X, s[:, None], out=out)
    return xs.T @ xs, xs.T @ (s * z)


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
        Scratch space for ``sqrt(W) X``: a column-major array shaped like ``X`` (a caller fitting many designs of
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
    # reused for sqrt(W) X: a fresh n x k array per iteration costs page faults
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
            A, r = _normal_equations(X, w, z, out=Xw)
            new_b, was_singular = _solve(A, r, lambda X=X, w=w, z=z: (X, w, z))
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
    3M rows of an 11-column design, 270 MiB, and as much again for ``sqrt(W) X``, in each of two threads. Here
    ``X'WX`` and ``X'Wz`` are summed over blocks of ``block`` rows (default :data:`ROW_BLOCK`), each gathered
    from ``X`` when it is used; an iteration reads every block for the linear predictor of the last estimate and,
    unless that has converged, again for the sums of the next step. Same stopping rule as :func:`irls_fit`. With one block
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
    rows = np.asarray(rows, dtype=np.intp)
    rows_of = _RowSource(X, y, rows, family, block)
    return _irls_spans(rows_of, [(0, len(rows))], family, start, tol, maxiter)


def irls_folds(X, y, fold, family, start, tol=IRLS_TOL, maxiter=IRLS_MAXITER, *, block=None,
               copy_bytes=None) -> list:
    """Each fold's :func:`irls_rows` estimate on the other folds' rows: ``[b_0, ..., b_{K-1}]``, ``K = max(fold) + 1``.

    The cross-validation refits of :mod:`.compare`, every fold at once. The rows are read in the order of their
    fold, so each fold's training rows are two runs of that order, read in place: the rows are copied once into
    that order when the design is at most ``copy_bytes`` (default :data:`FOLD_COPY_BYTES`; a 100,000-account
    frame's 400,000 x 11 design is 34 MiB), else gathered block by block as :func:`irls_rows` does (bounded memory
    at a million accounts). Every refit starts at ``start`` (the full-data estimate), so their first sums are
    shared: each fold's ``X'WX`` and ``X'Wz`` at ``start`` are computed once and a fold's training sums are the
    others' added (one pass over the rows instead of ``K - 1``). Same stopping rule as :func:`irls_fit`; the sums
    are added in another order than in :func:`irls_rows`, so the estimates may differ from its in the last bits.

    Examples
    --------
    >>> import statsmodels.api as sm
    >>> d = sm.datasets.spector.load_pandas().data
    >>> X, y = sm.add_constant(d[["GPA", "TUCE", "PSI"]]).to_numpy(), d["GRADE"].to_numpy()
    >>> fold = np.arange(32) % 3
    >>> fam, start = sm.families.Binomial(), irls(X, y, sm.families.Binomial())
    >>> got = irls_folds(X, y, fold, fam, start)
    >>> ref = [irls(X[fold != k], y[fold != k], fam, start) for k in range(3)]
    >>> all(np.allclose(g, r, rtol=1e-9, atol=0) for g, r in zip(got, ref))
    True
    """
    fold = np.asarray(fold)
    order = np.argsort(fold, kind="stable")
    bounds = np.searchsorted(fold[order], np.arange(int(fold.max(initial=-1)) + 2))
    X = np.asarray(X, dtype=float)
    copy = X.nbytes <= (FOLD_COPY_BYTES if copy_bytes is None else copy_bytes)
    rows_of = _RowSource(X, y, order, family, block, copy=copy)
    b0 = np.asarray(start, dtype=float)
    with np.errstate(all="ignore"):
        parts = [rows_of.sweep(b0, [(lo, hi)]) for lo, hi in zip(bounds[:-1], bounds[1:])]
    out = []
    for k, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
        spans = [(a, z) for a, z in ((0, lo), (hi, len(order))) if z > a]
        others = [p for j, p in enumerate(parts) if j != k]
        first = (np.concatenate([p[0] for p in others]), np.concatenate([p[1] for p in others]),
                 sum(p[2] for p in others), sum(p[3] for p in others)) if others else None
        out.append(_irls_spans(rows_of, spans, family, start, tol, maxiter, first=first))
    return out


#: Designs up to this size are copied into fold order by :func:`irls_folds` (larger: gathered block by block).
FOLD_COPY_BYTES = 256 * 2**20


class _RowSource:
    """The rows ``order`` of ``X`` and ``y``, read in runs (``spans`` of positions in ``order``) block by block.

    ``copy``: the rows copied once into that order (each block a view); otherwise each block is gathered from
    ``X`` when it is used. An IRLS iteration reads the rows twice: :meth:`predict` (the new estimate's linear
    predictor, which says whether it has converged), then, only if another step is taken, :meth:`sums`.
    """

    def __init__(self, X, y, order, family, block=None, copy=False):
        self.X, self.order = np.asarray(X, dtype=float), order
        self.y = np.asarray(y, dtype=float)[order]
        self.family, self.block = family, block or ROW_BLOCK
        k = self.X.shape[1]
        self.Xs = np.asfortranarray(self.X[order]) if copy else None
        width = min(self.block, len(order)) * k
        self._xb = None if copy else np.empty(width)  # one gathered block, reused
        self._xw = np.empty(width)  # its sqrt(W) X, reused

    def _blocks(self, spans):
        for s0, e0 in spans:
            for s in range(s0, e0, self.block):
                yield s, min(s + self.block, e0)

    def _rows(self, s, e):
        k = self.X.shape[1]
        if self.Xs is not None:
            return self.Xs[s:e]
        xb = np.ndarray((e - s, k), buffer=self._xb, order="F")
        for j in range(k):
            np.take(self.X[:, j], self.order[s:e], out=xb[:, j])
        return xb

    def predict(self, b, spans):
        """The linear predictor and mean of ``b`` on the rows of ``spans``."""
        n = sum(e - s for s, e in spans)
        eta, at = np.empty(n), 0
        for s, e in self._blocks(spans):
            eta[at:at + e - s] = self._rows(s, e) @ b
            at += e - s
        return eta, self.family.fitted(eta)

    def sums(self, spans, eta, mu):
        """The next step's ``X'WX`` and ``X'Wz`` at the linear predictor ``eta`` and mean ``mu`` of those rows."""
        fam, link, k = self.family, self.family.link, self.X.shape[1]
        A, r, at = np.zeros((k, k)), np.zeros(k), 0
        for s, e in self._blocks(spans):
            m = slice(at, at + e - s)
            d = link.deriv(mu[m])
            w = 1.0 / (d * d * fam.variance(mu[m]))
            dA, dr = _normal_equations(self._rows(s, e), w, eta[m] + d * (self.y[s:e] - mu[m]),
                                       out=np.ndarray((e - s, k), buffer=self._xw, order="F"))
            A += dA
            r += dr
            at += e - s
        return A, r

    def sweep(self, b, spans):
        """:meth:`predict` and :meth:`sums` of ``b``: ``(eta, mu, X'WX, X'Wz)``."""
        eta, mu = self.predict(b, spans)
        return (eta, mu) + self.sums(spans, eta, mu)

    def design(self, spans, eta, mu):
        """The rare least-squares step (``X'WX`` singular or ill-conditioned): the rows of ``spans`` whole."""
        link = self.family.link
        idx = np.concatenate([self.order[s:e] for s, e in spans])
        y = np.concatenate([self.y[s:e] for s, e in spans])
        d = link.deriv(mu)
        return self.X[idx], 1.0 / (d * d * self.family.variance(mu)), eta + d * (y - mu)


def _irls_spans(rows_of, spans, family, start, tol, maxiter, first=None):
    """IRLS on the rows of ``spans`` of ``rows_of`` from ``start`` (``first``: the sweep at ``start``, if known)."""
    binary = _is_binomial(family)
    step_tol = np.sqrt(tol) if _is_logit(family) else tol
    b = np.asarray(start, dtype=float).copy()
    with np.errstate(all="ignore"):
        eta, mu, A, r = rows_of.sweep(b, spans) if first is None else first
        for _ in range(maxiter):
            new_b, _ = _solve(A, r, lambda eta=eta, mu=mu: rows_of.design(spans, eta, mu))
            new_eta, new_mu = rows_of.predict(new_b, spans)
            if not (np.all(np.isfinite(new_b)) and np.all(np.isfinite(new_mu))):
                return b
            moved = np.abs(new_eta - eta).max()
            b, eta, mu = new_b, new_eta, new_mu
            if binary and (mu.min() < SEPARATION_EPS or mu.max() > 1 - SEPARATION_EPS):
                return b
            if moved <= step_tol * (1.0 + np.abs(eta).max()):
                return b
            A, r = rows_of.sums(spans, eta, mu)  # only when another step is taken
    return b
