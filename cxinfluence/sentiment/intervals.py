"""The one confidence interval for means of short bounded scales.

CSAT (1-5), CES (1-5), NetEasy (1-7), trust and cared-for (1-5) and the
common sentiment scale (-1..1) are bounded, and B2B accounts have two to ten
respondents. A Student t interval ``mean +/- t s / sqrt(n)`` collapses to
``[x, x]`` when the respondents agree (three CSAT 5s), and a very satisfied
account's interval then misses its true mean of, say, 4.8 half the time at
``n = 3``. :func:`bounded_mean_ci` is used instead by every mean-type metric
(:mod:`cxinfluence.metrics`) and sentiment scheme (:mod:`cxinfluence.sentiment`).

Method: an Agresti-Coull-type interval for a bounded mean
------------------------------------------------------------
Rescale the answers onto ``[0, 1]`` (``y = (x - low) / (high - low)``) and add
``z^2 / 2`` pseudo-answers at each end of the scale (one at 0, one at 1 for
each ``z^2 / 2``), then use the normal interval of the augmented sample::

    n~ = n + z^2
    p~ = (n ybar + z^2 / 2) / n~
    v~ = (n s2 + n (ybar - p~)^2 + (z^2 / 2) (p~^2 + (1 - p~)^2)) / n~
    CI = p~ +/- z sqrt(v~ / n~), clipped to [0, 1], mapped back to the scale

where ``ybar`` is the (weighted) mean, ``n`` Kish's effective sample size
``(sum w)^2 / sum w^2`` (Kish 1965; the count for equal weights) and
``s2 = n sum w^2 (y - ybar)^2 / (sum w)^2``, so that ``s2 / n`` is the
linearisation (ratio-estimator) variance of the weighted mean (Cochran 1977,
6.3); for equal weights ``s2`` is the plain variance with divisor ``n``. For answers that
are only ever 0 or 1, ``v~ = p~ (1 - p~)`` and the interval *is* the
Agresti-Coull interval for a proportion (Agresti & Coull 1998), whose
coverage at small ``n`` is close to nominal; for answers spread over the
scale the pseudo-answers matter less as ``n`` grows, and the interval tends
to the usual normal interval ``ybar +/- z s / sqrt(n)``.

Why it does not collapse: the pseudo-answers at both ends keep ``v~ > 0``
whatever the respondents say (three CSAT 5s give 2.53 to 5, not 5 to 5).
Why it is not too wide: it borrows no more than ``z^2 ~ 3.84`` answers' worth
of spread, so at ``n = 30`` it is within a few percent of the t interval.
Its coverage is checked by simulation at ``n = 2, 3, 5, 10, 30`` for every
metric and scheme (``tests/test_intervals.py``; full table in
``docs/methods.md``, produced by :func:`coverage_table`). Where the measured
coverage is below 0.93 the tables label the interval approximate.

References
----------
Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed. Wiley.
Agresti, A. & Coull, B. A. (1998). Approximate is better than "exact" for
interval estimation of binomial proportions. *The American Statistician*
52(2), 119-126.
Kish, L. (1965). *Survey Sampling*. Wiley (effective sample size).
"""

from __future__ import annotations

import functools

import numpy as np

from ..exceptions import MetricError


def _z(conf_level):
    if not 0 < conf_level < 1:
        raise MetricError(f"conf_level={conf_level!r}; expected a number between 0 and 1, e.g. 0.95")
    return z_value(conf_level)


def z_value(conf_level: float) -> float:
    """The two-sided normal quantile of a confidence level, ``conf_level`` unchecked (1.96 at 0.95).

    >>> round(z_value(0.95), 2)
    1.96
    """
    return normal_quantile(0.5 + conf_level / 2.0)


@functools.lru_cache(maxsize=16)  # a run asks for the same one or two levels hundreds of times
def normal_quantile(p: float) -> float:
    """The standard normal quantile: :func:`scipy.special.ndtri`, the function ``scipy.stats.norm.ppf``
    calls (same bits), without importing :mod:`scipy.stats` (about 1 s, paid by an analyst's first call)."""
    from scipy.special import ndtri

    return float(ndtri(p))


def t_quantile(p: float, df):
    """Student's t quantile at ``p`` for each of ``df`` (NaN where ``df`` is NaN): :func:`scipy.special.stdtrit`,
    the function ``scipy.stats.t.ppf`` calls (same bits), without importing :mod:`scipy.stats`.

    >>> round(float(t_quantile(0.975, 10.0)), 4)
    2.2281
    """
    from scipy.special import stdtrit

    return stdtrit(df, p)


def bounded_mean_ci(mean, var, n, low, high, conf_level=0.95):
    """Agresti-Coull-type interval for the mean of a bounded scale.

    Parameters
    ----------
    mean : array_like
        (Weighted) mean on the scale ``[low, high]``.
    var : array_like
        Variance of the answers around ``mean``, on the scale: for equal
        weights with divisor ``n`` (not ``n - 1``); for weights
        ``n_eff sum w^2 (x - mean)^2 / (sum w)^2``. NaN is read as 0 (a
        single answer has no spread).
    n : array_like
        Number of answers, or Kish's effective number for a weighted mean.
        Where ``n <= 0`` the interval is NaN.
    low, high : float
        The ends of the scale (e.g. 1 and 5 for CSAT, -1 and 1 for sentiment).
    conf_level : float

    Returns
    -------
    (ci_low, ci_high) : float arrays, on the scale.

    Examples
    --------
    Three CSAT 5s: the t interval is [5, 5]; this one is not.
    ``n~ = 3 + 3.8415``, ``p~ = (3 + 1.9207) / 6.8415 = 0.7193``,
    ``v~ = (3 * 0.0788 + 1.9207 * (0.5174 + 0.0788)) / 6.8415 = 0.2019``,
    half-width ``1.96 * sqrt(0.2019 / 6.8415) = 0.3367``: ``p`` in
    ``[0.3826, 1]``, CSAT 2.53 to 5.

    >>> lo, hi = bounded_mean_ci([5.0], [0.0], [3], 1, 5)
    >>> round(float(lo[0]), 2), float(hi[0])
    (2.53, 5.0)

    Answers only 0 or 1 give the Agresti-Coull interval of statsmodels:

    >>> from statsmodels.stats.proportion import proportion_confint
    >>> lo, hi = bounded_mean_ci([0.75], [0.1875], [4], 0, 1)
    >>> ref = proportion_confint(3, 4, method="agresti_coull")
    >>> bool(np.allclose([lo[0], hi[0]], ref))
    True
    """
    z = _z(conf_level)
    mean = np.asarray(mean, dtype=float)
    var = np.nan_to_num(np.asarray(var, dtype=float), nan=0.0)
    n = np.asarray(n, dtype=float)
    span = float(high) - float(low)
    if not span > 0:
        raise MetricError(f"low={low!r}, high={high!r}; expected low < high")
    y = (mean - low) / span
    s2 = np.maximum(var, 0.0) / span**2
    k = z * z / 2.0
    ok = n > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        nt = n + 2.0 * k
        pt = (n * y + k) / nt
        vt = (n * s2 + n * (y - pt) ** 2 + k * (pt**2 + (1.0 - pt) ** 2)) / nt
        half = z * np.sqrt(vt / nt)
    lo = np.where(ok, low + span * np.clip(pt - half, 0.0, 1.0), np.nan)
    hi = np.where(ok, low + span * np.clip(pt + half, 0.0, 1.0), np.nan)
    return lo, hi


def group_bounded_ci(x, groups, n_groups, low, high, weights=None, conf_level=0.95):
    """Per-group mean and :func:`bounded_mean_ci` from flat arrays.

    Parameters
    ----------
    x : array of float
        Answers (NaN: not answered).
    groups : array of int
        Group code (0 .. n_groups-1) of each answer.
    weights : array of float, optional
        Non-negative weights (default equal); the effective ``n`` is Kish's.

    Returns
    -------
    (mean, ci_low, ci_high, n, n_eff) arrays of length ``n_groups``.

    Examples
    --------
    >>> m, lo, hi, n, ne = group_bounded_ci([5.0, 5.0, 5.0, 2.0], [0, 0, 0, 1], 2, 1, 5)
    >>> m.tolist(), round(float(lo[0]), 2), n.tolist()
    ([5.0, 2.0], 2.53, [3.0, 1.0])
    """
    x = np.asarray(x, dtype=float)
    g = np.asarray(groups, dtype=np.int64)
    w = np.ones(len(x)) if weights is None else np.broadcast_to(np.asarray(weights, dtype=float), x.shape)
    ok = np.isfinite(x) & (w > 0)
    x, g, w = x[ok], g[ok], w[ok]
    n = np.bincount(g, minlength=n_groups).astype(float)
    sw = np.bincount(g, w, n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.bincount(g, w * x, n_groups) / sw
        n_eff = sw**2 / np.bincount(g, w * w, n_groups)
        var = n_eff * np.bincount(g, (w * (x - m[g])) ** 2, n_groups) / sw**2
    n_eff = np.where(n > 0, n_eff, 0.0)
    lo, hi = bounded_mean_ci(m, var, n_eff, low, high, conf_level)
    return m, lo, hi, n, n_eff
