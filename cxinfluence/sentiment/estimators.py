"""The scheme names and the estimators every account sentiment scheme is built from: weighted
means and their SEs, the nested person -> role -> account mean, the veto floor and its exact
bootstrap interval, empirical-Bayes shrinkage and the imputation of unheard influence.

The schemes themselves, their formulas and references: :mod:`cxinfluence.sentiment.schemes`.
"""

from __future__ import annotations

import math

import numpy as np

from ..exceptions import MetricError
from ..village.ids import THREADS as _THREADS
from ..village.scale import ITEMS, item_sentiment  # noqa: F401 - item_sentiment: re-exported (its old home)
from ..village.schema import ROLE_WEIGHTS
from .floorsolve import bisection_quantiles
from .intervals import bounded_mean_ci, t_quantile

#: Scheme columns of :func:`account_sentiment`, in display order. The one list of schemes: every other
#: stage imports it (or :data:`COMPARED_SCHEMES` / :data:`PRIMARY_SCHEME`) instead of repeating it.
SCHEMES = ("mean", "nps", "role_weighted", "influence_weighted", "veto_floor", "nested", "shrunk", "disagreement")


#: The scheme the headline models, the report and the maps use (``fit_rebuy``'s default, the bookings model,
#: the renewal curve, the accounts-at-risk ranking).
PRIMARY_SCHEME = "influence_weighted"


#: The schemes that are sentiment levels, modelled and compared by default (``compare_schemes``, the run's
#: renewal models): every scheme but ``disagreement`` (a spread, not a level).
COMPARED_SCHEMES = tuple(s for s in SCHEMES if s != "disagreement")


#: Default role weights for ``role_weighted`` and ``nested`` (deciders sign,
#: gatekeepers and buyers can block or steer; Webster & Wind 1972). A role not
#: listed (or blank) gets weight 1.
#: The package's one role-weight table (:data:`cxinfluence.village.schema.ROLE_WEIGHTS`).
DEFAULT_ROLE_WEIGHTS = ROLE_WEIGHTS


#: The schemes with a standard error and interval (every sentiment level but ``nps``, a share difference
#: with its own interval in :func:`cxinfluence.sentiment.metrics.net_score_ci`).
SE_SCHEMES = tuple(s for s in COMPARED_SCHEMES if s != "nps")


_SE_SCHEMES = SE_SCHEMES


#: Default veto threshold on the common scale: NPS 6.5, the detractor/passive
#: boundary (NPS 6 -> 0.2 caps, NPS 7 -> 0.4 does not); see :func:`veto_floor`.
VETO_THRESHOLD = 0.3


# --------------------------------------------------------------------------
# Kernels: flat arrays + integer group codes -> one value per group.
# --------------------------------------------------------------------------


def _t_half(se, df, conf_level):
    """Half-width ``t(conf, max(floor(df), 1)) * se``; df rounded down
    (conservative) so the quantile is looked up for a few integers instead of
    100k inversions; at least 1 so a Kish n_eff below 2 gives a very wide,
    not a missing, interval (``se`` is NaN anyway for a single respondent)."""
    df = np.maximum(np.floor(np.where(np.isfinite(df), df, 1)), 1).astype(np.int64)
    uniq, inv = np.unique(df, return_inverse=True)
    with np.errstate(invalid="ignore"):
        q = t_quantile(0.5 + conf_level / 2.0, np.where(uniq > 0, uniq, np.nan).astype(float))
    return q[inv] * se


def _heard_ci(m, se, n, n_eff, conf_level):
    """Bounded-scale interval (:func:`cxinfluence.intervals.bounded_mean_ci`)
    of a heard (weighted) mean on ``[-1, 1]`` from :func:`weighted_group_mean`'s
    output: the weighted variance is ``se^2 n_eff (n - 1) / n`` (``sum w^2
    r^2 / sum w^2``; the plain variance for equal weights), 0 for one person."""
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.where(n > 1, se**2 * n_eff * (n - 1.0) / n, 0.0)
    return bounded_mean_ci(m, var, np.nan_to_num(n_eff), -1.0, 1.0, conf_level)


def weighted_group_mean(x, w, groups, n_groups):
    """Weighted mean per group with its linearisation SE and Kish effective n.

    ``m_g = sum w_i x_i / sum w_i`` over rows ``i`` of group ``g`` with finite
    ``x`` and ``w > 0``; ``se_g^2 = n/(n-1) * sum w_i^2 (x_i - m_g)^2 /
    (sum w_i)^2`` (ratio-estimator variance, Cochran 1977 sec. 6.3; equals
    ``s^2 / n`` for equal weights); ``n_eff = (sum w)^2 / sum w^2`` (Kish
    1965). ``se`` is NaN for fewer than two rows.

    Returns ``(mean, se, n, n_eff)`` arrays of length ``n_groups``.

    Examples
    --------
    Group 0 has 1.0 (weight 3) and 0.0 (weight 1): mean 0.75,
    se^2 = 2 * (9 * 0.0625 + 1 * 0.5625) / 16 = 0.140625, n_eff = 16/10.

    >>> m, se, n, ne = weighted_group_mean([1.0, 0.0, 0.5], [3, 1, 1], [0, 0, 1], 2)
    >>> m.tolist(), se.round(4).tolist(), n.tolist(), ne.tolist()
    ([0.75, 0.5], [0.375, nan], [2.0, 1.0], [1.6, 1.0])
    """
    x = np.asarray(x, dtype=float)
    w = np.broadcast_to(np.asarray(w, dtype=float), x.shape)
    g = np.asarray(groups)
    ok = np.isfinite(x) & (w > 0)
    if ok.all():  # nothing to drop: skip three copies
        return _wmean_clean(x, np.ascontiguousarray(w), g, n_groups)
    return _wmean_clean(x[ok], w[ok], g[ok], n_groups)


def _wmean_clean(x, w, g, n_groups):
    """:func:`weighted_group_mean` for finite ``x`` and ``w > 0`` (``w=None``:
    equal weights, fewer passes). Used on the heard stakeholders only."""
    n = np.bincount(g, minlength=n_groups).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        if w is None:
            m = np.bincount(g, x, n_groups) / n
            ss = np.bincount(g, (x - m[g]) ** 2, n_groups)
            sw, n_eff = n, n.copy()
        else:
            sw = np.bincount(g, w, n_groups)
            wx = w * x
            m = np.bincount(g, wx, n_groups) / sw
            n_eff = sw**2 / np.bincount(g, w * w, n_groups)
            wx -= w * m[g]  # residual times weight
            ss = np.bincount(g, wx * wx, n_groups)
        se = np.where(n > 1, np.sqrt(n / (n - 1.0) * ss) / sw, np.nan)
    return m, se, n, n_eff


def weighted_sd(x, w, groups, n_groups):
    """Weighted standard deviation per group (the ``disagreement`` scheme).

    ``sd_g = sqrt(sum w_i (x_i - m_g)^2 / sum w_i)`` with ``m_g`` the weighted
    mean; NaN for groups with fewer than two rows (one voice cannot disagree).
    On the ``[-1, 1]`` scale it runs from 0 (all agree) to 1 (half at -1 and
    half at +1). Multiple informants are needed precisely because they
    disagree (Van Bruggen, Lilien & Kacker 2002, *J. Marketing Research* 39).

    Examples
    --------
    A promoter (+1, influence 0.5) and a detractor (-1, influence 0.5) are
    maximally split:

    >>> weighted_sd([1.0, -1.0, 0.2, 0.2], [0.5, 0.5, 0.3, 0.7], [0, 0, 1, 1], 2).round(6).tolist()
    [1.0, 0.0]
    """
    x = np.asarray(x, dtype=float)
    w = np.broadcast_to(np.asarray(w, dtype=float), x.shape)
    g = np.asarray(groups)
    ok = np.isfinite(x) & (w > 0)
    x, w, g = x[ok], w[ok], g[ok]
    sw = np.bincount(g, w, n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.bincount(g, w * x, n_groups) / sw
        var = np.bincount(g, w * (x - m[g]) ** 2, n_groups) / sw
    n = np.bincount(g, minlength=n_groups)
    return np.where(n > 1, np.sqrt(np.maximum(var, 0.0)), np.nan)


def nested_mean(x, groups, sub, sub_weight, n_groups):
    """Nested mean: persons -> subgroup (role or department) -> group (account).

    ``nested_a = sum_r omega_r xbar_{a,r} / sum_r omega_r`` over the subgroups
    ``r`` heard in account ``a``, with ``xbar_{a,r}`` the plain mean of the
    subgroup and ``omega_r`` its weight. Ten operators form one ``user``
    subgroup, so they cannot outvote one plant manager by numbers alone. It is
    the weighted mean with person weights ``omega_r / n_{a,r}``, and its SE is
    that of :func:`weighted_group_mean` with those weights.

    Parameters
    ----------
    x : array of float
        Person-level values (NaN = not heard).
    groups, sub : arrays of int
        Account code and subgroup code of each person.
    sub_weight : array of float
        Weight of each subgroup code (``omega``).

    Returns ``(mean, se, n, n_eff)``.

    Examples
    --------
    Ten operators at -0.5 (weight 1) and one decider at +1 (weight 3):
    (1 * -0.5 + 3 * 1) / 4 = 0.625, whereas the plain mean is -0.364.

    >>> x = [-0.5] * 10 + [1.0]
    >>> m, se, n, ne = nested_mean(x, [0] * 11, [1] * 10 + [0], [3.0, 1.0], 1)
    >>> float(m[0]), round(float(np.mean(x)), 3)
    (0.625, -0.364)
    """
    x = np.asarray(x, dtype=float)
    g = np.asarray(groups, dtype=np.int64)
    sub = np.asarray(sub, dtype=np.int64)
    sub_weight = np.asarray(sub_weight, dtype=float)
    n_sub = len(sub_weight)
    heard = np.isfinite(x)
    if not heard.all():
        x, g, sub = x[heard], g[heard], sub[heard]
    cell = g * n_sub + sub
    cell_n = np.bincount(cell, minlength=n_groups * n_sub)
    w = sub_weight[sub] / cell_n[cell]
    pos = w > 0  # a subgroup of weight 0 drops out
    if pos.all():
        return _wmean_clean(x, w, g, n_groups)
    return _wmean_clean(x[pos], w[pos], g[pos], n_groups)


def veto_floor(base, x, groups, veto, n_groups, threshold=None, margin=0.25):
    """Cap each account's score by its unhappiest heard veto holder.

    ``veto_floor_a = min(base_a, min_v s_v + margin)`` when the lowest heard
    veto-holder sentiment ``min_v s_v`` is below ``threshold``; otherwise
    ``base_a``. A gatekeeper who can kill the deal is not averaged away by
    happy users (seed 001, key 1). The default ``threshold`` is
    :data:`VETO_THRESHOLD` = 0.3, NPS 6.5 on the common scale: the boundary
    between detractors (0-6, at most 0.2) and passives (7, 0.4), so every
    detractor veto holder caps (NPS 6 maps to 0.2 < 0.3) and no passive
    does; on the 1-5 items it lies between 3 (0.0, caps) and 4 (0.5, does
    not). The old default 0 (NPS 5) let an NPS-6 detractor never cap.
    ``margin=0.25`` lets the account sit a quarter-step above its unhappiest
    veto holder. A veto holder who was not heard cannot cap anything:
    :mod:`cxinfluence.listening.coverage` lists them.

    Returns ``(value, binding, holder)``: the capped score, whether the cap
    binds, and the index into ``x`` of the veto holder who sets the cap (-1
    when none).

    Examples
    --------
    Account 0: base 0.6, its veto holder is at -0.5 -> capped at -0.25.
    Account 1: base 0.6, its veto holder is content (0.4) -> unchanged.

    >>> v, b, who = veto_floor([0.6, 0.6], [-0.5, 0.9, 0.4], [0, 0, 1], [True, False, True], 2)
    >>> v.tolist(), b.tolist(), who.tolist()
    ([-0.25, 0.6], [True, False], [0, -1])
    """
    threshold = VETO_THRESHOLD if threshold is None else threshold
    base = np.asarray(base, dtype=float)
    x = np.asarray(x, dtype=float)
    g = np.asarray(groups, dtype=np.int64)
    veto = np.asarray(veto, dtype=bool)
    cand = np.flatnonzero(veto & np.isfinite(x))
    low = np.full(n_groups, np.inf)
    np.minimum.at(low, g[cand], x[cand])
    holder = np.full(n_groups, -1, dtype=np.int64)
    at_min = cand[x[cand] == low[g[cand]]]
    np.maximum.at(holder, g[at_min], at_min)  # ties: any of the tied holders
    unhappy = low < threshold
    cap = np.where(unhappy, low + margin, np.inf)
    binding = unhappy & (cap < base)
    value = np.where(binding, cap, base)
    return value, binding, np.where(unhappy, holder, -1)


def veto_floor_interval(value, base, base_sd, x, x_sd, groups, veto, n_groups, threshold=None, margin=0.25,
                        conf_level=0.95, iterations=26):
    """Parametric-bootstrap interval of :func:`veto_floor`, honest about the minimum.

    The floor is the minimum of noisy numbers (the account's base score and
    ``s_v + margin`` of each unhappy heard veto holder), so it is biased
    downward (``E min <= min E``) and a normal interval around the capping
    holder's own SE ignores the selection of the lowest one. The bootstrap
    world redraws every heard veto holder's sentiment ``s_v* ~ N(s_v,
    x_sd_v^2)`` (their sampling noise: the pooled within-person SD over the
    square root of their number of answers) and the base ``base* ~ N(base,
    base_sd^2)``, and reapplies the threshold rule and the minimum, so a
    holder near the threshold caps in some replicates and not in others.
    Because the draws are independent normals, the distribution of the
    replicated floor is known exactly, with no Monte Carlo error and no seed:
    a holder's capped value exceeds ``q`` unless ``s_v* < min(threshold, q -
    margin)``, so::

        P(floor* > q) = P(base* > q) * prod_v Phi((s_v - min(threshold, q - margin)) / x_sd_v)

    Its quantiles ``q_lo, q_hi`` are found by bisection (``iterations``
    halvings of a bracket 8 SDs wide; most steps are decided without
    evaluating, :mod:`cxinfluence.sentiment.floorsolve`). The interval is the *basic*
    (reverse-percentile) bootstrap interval ``[2 f - q_hi, 2 f - q_lo]``
    (Davison & Hinkley 1997, eq. 5.6), which removes the first-order bias of
    the minimum, widened where needed to contain the estimate ``f`` and
    clipped to ``[-1, 1]``; the SE is ``(q_hi - q_lo) / (2 z)``. Accounts
    without a heard veto holder keep the base's interval (NaN here).

    Parameters
    ----------
    value, base, base_sd : arrays (n_groups,)
        The floor, its base score (``influence_weighted``) and the base's SD.
    x, x_sd : arrays (n_people,)
        Sentiment and its sampling SD per person (NaN: not heard).
    groups, veto : arrays (n_people,)
        Account code and veto flag per person.
    threshold, margin : float
        As in :func:`veto_floor`.
    conf_level : float
    iterations : int
        Bisection steps (26 halve a bracket of a few units to below 1e-7).

    Returns
    -------
    (se, ci_low, ci_high) : arrays (n_groups,), NaN where no veto holder was heard.

    Examples
    --------
    One veto holder at -0.5 (SD 0.2) far below a base of 0.6 (SD 0.01): the
    cap binds at -0.25 and the interval is -0.25 +/- 1.96 * 0.2.

    >>> se, lo, hi = veto_floor_interval([-0.25], [0.6], [0.01], [-0.5], [0.2], [0], [True], 1)
    >>> round(float(se[0]), 4), round(float(lo[0]), 4), round(float(hi[0]), 4)
    (0.2, -0.642, 0.142)
    """
    threshold = VETO_THRESHOLD if threshold is None else threshold
    h = _floor_holders(base, base_sd, x, x_sd, groups, veto)
    if h is None:
        return tuple(np.full(n_groups, np.nan) for _ in range(3))
    acc, start, pos, xs, sds, b0, bsd, ok = h
    a = (1.0 - conf_level) / 2.0
    span = 8.0 * np.maximum(bsd, np.bincount(pos, sds, len(acc)))
    low_x = np.minimum.reduceat(xs - 8.0 * sds, start) + margin
    q = _floor_quantiles(xs, sds, pos, start, b0, bsd, np.minimum(b0 - span, low_x), b0 + span,
                         (a, 1.0 - a), threshold, margin, iterations)
    return _floor_interval(q, value, acc, ok, a, n_groups)


def _floor_holders(base, base_sd, x, x_sd, groups, veto):
    """:func:`veto_floor_interval`'s heard veto holders by account, ``(acc, start, pos, xs, sds, b0, bsd, ok)``, or
    None; shared with its reference (schemes_reference.py), so the two differ only in how they find the quantiles."""
    base, x = np.asarray(base, dtype=float), np.asarray(x, dtype=float)
    base_sd = np.maximum(np.nan_to_num(np.asarray(base_sd, dtype=float), nan=0.0), 1e-12)
    x_sd = np.maximum(np.nan_to_num(np.asarray(x_sd, dtype=float), nan=0.0), 1e-12)
    g = np.asarray(groups, dtype=np.int64)
    cand = np.flatnonzero(np.asarray(veto, dtype=bool) & np.isfinite(x))
    if len(cand) == 0:
        return None
    cand = cand[np.argsort(g[cand], kind="stable")]
    acc, start = np.unique(g[cand], return_index=True)
    pos = np.repeat(np.arange(len(acc)), np.diff(np.r_[start, len(cand)]))  # holder -> account slot
    b0, bsd = base[acc], base_sd[acc]
    ok = np.isfinite(b0)
    return acc, start, pos, x[cand], x_sd[cand], np.where(ok, b0, 0.0), bsd, ok


def _floor_interval(q, value, acc, ok, a, n_groups):
    """``(se, lo, hi)`` per group from the floor's bootstrap quantiles ``q[a]``, ``q[1 - a]`` (basic interval)."""
    from scipy.special import ndtri
    se, lo, hi = (np.full(n_groups, np.nan) for _ in range(3))
    f = np.asarray(value, dtype=float)[acc]
    z = float(ndtri(1.0 - a))
    with np.errstate(invalid="ignore"):
        se[acc] = np.where(ok, (q[1.0 - a] - q[a]) / (2.0 * z), np.nan)
        lo[acc] = np.where(ok, np.clip(np.minimum(2.0 * f - q[1.0 - a], f), -1.0, 1.0), np.nan)
        hi[acc] = np.where(ok, np.clip(np.maximum(2.0 * f - q[a], f), -1.0, 1.0), np.nan)
    return se, lo, hi


#: Heard veto holders above which :func:`veto_floor_interval` bisects two halves of the accounts side by side
_SPLIT_HOLDERS = 50_000


def _floor_quantiles(xs, sds, pos, start, b0, bsd, left0, right0, probs, threshold, margin, iterations):
    """The quantiles ``probs`` of the replicated floor per account slot by bisection (see
    :func:`veto_floor_interval`), two halves of the accounts on two threads when there are many
    (accounts are independent: the same numbers either way). Returns ``{p: q}``."""
    n = len(b0)
    cut = [0, n]
    if len(xs) >= _SPLIT_HOLDERS and _THREADS > 1:
        cut = [0, int(np.searchsorted(start, len(xs) // 2)), n]
    ends = np.r_[start, len(xs)]
    chunks = [(slice(lo, hi), slice(ends[lo], ends[hi])) for lo, hi in zip(cut[:-1], cut[1:]) if hi > lo]

    def solve(chunk):
        a_, h_ = chunk
        return bisection_quantiles(xs[h_], sds[h_], pos[h_] - a_.start, b0[a_], bsd[a_], left0[a_], right0[a_], probs,
                                   threshold, margin, iterations)

    if len(chunks) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(chunks)) as pool:  # scipy's and numpy's loops release the GIL
            parts = list(pool.map(solve, chunks))
    else:
        parts = [solve(c) for c in chunks]
    return {p: np.concatenate([part[p] for part in parts]) if parts else np.zeros(0) for p in probs}


def eb_shrink(y, v, target, *, mu=None, tau2=None):
    """Empirical-Bayes (normal-normal) shrinkage toward a group mean.

    Model: ``y_a ~ N(theta_a, v_a)``, ``theta_a ~ N(mu_g, tau^2)`` for the
    accounts of segment ``g``. Method of moments (Morris 1983, *JASA* 78; in
    the spirit of Efron & Morris 1975): ``mu_g`` is the mean of ``y`` in
    segment ``g`` and ``tau^2 = max(0, sum (y_a - mu_g)^2 / (A - G) -
    mean(v))``. Then::

        B_a = v_a / (v_a + tau^2)            (the shrinkage factor, 0..1)
        shrunk_a = B_a mu_g + (1 - B_a) y_a
        se_a = sqrt((1 - B_a) v_a)           (posterior SD given tau, mu)

    Accounts with few respondents (large ``v_a``) move most. The SE ignores
    the uncertainty of ``tau^2`` and ``mu``, negligible with many accounts.
    When ``A - G < 1`` nothing can be estimated and everything is NaN.

    Parameters
    ----------
    y, v : arrays of float
        Estimates and their sampling variances (NaN = no estimate).
    target : array of int
        Segment code of each account (one code for the whole portfolio).
    mu, tau2 : array of float (one per segment code) and float, optional
        The segment means and ``tau^2`` when they are known already, e.g.
        from a whole portfolio's sufficient statistics
        (:func:`eb_parameters`, :class:`cxinfluence.sentiment.prior.PortfolioPrior`):
        then they are used as given and nothing is estimated from ``y``
        (``tau2`` NaN: not estimable, everything NaN). Both or neither.

    Returns ``(shrunk, B, se, mu, tau2)``.

    Examples
    --------
    Four accounts, one segment: mu = 0.25, sum of squares 0.59,
    tau^2 = 0.59 / 3 - 0.05 = 0.1467, B = 0.05 / 0.1967 = 0.254, so
    0.8 -> 0.254 * 0.25 + 0.746 * 0.8 = 0.660.

    >>> s, B, se, mu, tau2 = eb_shrink([0.8, 0.0, -0.2, 0.4], [0.05] * 4, [0] * 4)
    >>> round(tau2, 4), B.round(3).tolist(), s.round(3).tolist()
    (0.1467, [0.254, 0.254, 0.254, 0.254], [0.66, 0.064, -0.086, 0.362])
    """
    y = np.asarray(y, dtype=float)
    v = np.asarray(v, dtype=float)
    tgt = np.asarray(target, dtype=np.int64)
    ok = np.isfinite(y) & np.isfinite(v)
    if (mu is None) != (tau2 is None):
        raise MetricError(f"eb_shrink got mu={'given' if mu is not None else None} and "
                          f"tau2={'given' if tau2 is not None else None}; pass both (known parameters) or neither")
    if mu is not None:
        return _eb_apply(y, v, ok, np.asarray(mu, dtype=float)[tgt], float(tau2))
    n_t = int(tgt.max(initial=-1)) + 1
    cnt = np.bincount(tgt[ok], minlength=n_t)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu_t = np.bincount(tgt[ok], y[ok], n_t) / cnt
    mu = mu_t[tgt] if n_t else np.full(len(y), np.nan)
    dof = ok.sum() - (cnt > 0).sum()
    if dof < 1:
        nan = np.full(len(y), np.nan)
        return nan, nan.copy(), nan.copy(), mu, float("nan")
    tau2 = max(0.0, float(np.sum((y[ok] - mu[ok]) ** 2)) / float(dof) - float(np.mean(v[ok])))
    return _eb_apply(y, v, ok, mu, tau2)


def _eb_apply(y, v, ok, mu, tau2):
    """The shrinkage step of :func:`eb_shrink` with ``mu`` (per account) and ``tau2`` known."""
    if not np.isfinite(tau2):
        nan = np.full(len(y), np.nan)
        return nan, nan.copy(), nan.copy(), mu, float("nan")
    with np.errstate(invalid="ignore", divide="ignore"):
        B = np.where(ok, v / (v + tau2), np.nan)
        B = np.where(ok & (v == 0) & (tau2 == 0), 0.0, B)  # a perfectly measured account keeps its value
    shrunk = B * mu + (1.0 - B) * y
    with np.errstate(invalid="ignore"):
        se = np.sqrt((1.0 - B) * v)
    return shrunk, B, se, mu, tau2


def eb_parameters(n, total, m2, inv_n_eff, sigma2):
    """The segment means and ``tau^2`` of :func:`eb_shrink` from sufficient statistics.

    Per segment ``g``: ``n_g`` accounts with an estimate, ``total_g = sum y``,
    ``m2_g = sum (y - total_g / n_g)^2`` and ``inv_n_eff_g = sum 1 / n_eff``;
    each account's sampling variance is ``v_a = sigma2 / n_eff_a`` (the pooled
    between-person variance over Kish's effective n). Then ``mu_g = total_g /
    n_g`` and ``tau^2 = max(0, sum_g m2_g / (sum n_g - G') - sigma2 sum_g
    inv_n_eff_g / sum n_g)`` with ``G'`` the segments holding an estimate:
    :func:`eb_shrink`'s method of moments, written in statistics that add up
    over partitions of the accounts (:meth:`PortfolioPrior.combine
    <cxinfluence.sentiment.prior.PortfolioPrior.combine>`).

    Returns ``(mu, tau2)``: ``mu`` per segment (NaN for a segment without an
    estimate), ``tau2`` NaN when nothing can be estimated.

    Examples
    --------
    The four accounts of :func:`eb_shrink`'s example (v = 0.05 = sigma2 / 1):

    >>> y = np.array([0.8, 0.0, -0.2, 0.4])
    >>> mu, tau2 = eb_parameters([4], [y.sum()], [((y - y.mean()) ** 2).sum()], [4.0], 0.05)
    >>> round(float(mu[0]), 4), round(tau2, 4)
    (0.25, 0.1467)
    """
    n = np.asarray(n, dtype=float)
    total = np.asarray(total, dtype=float)
    m2 = np.asarray(m2, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = np.where(n > 0, total / np.where(n > 0, n, 1.0), np.nan)
    count = float(n.sum())
    dof = count - float((n > 0).sum())
    if dof < 1 or not np.isfinite(sigma2):  # no estimate (as eb_shrink: no account is usable without sigma2)
        return (mu if np.isfinite(sigma2) else np.full(len(n), np.nan)), float("nan")
    # sums over segments correctly rounded (math.fsum): the same in whatever order the segments come
    mean_v = float(sigma2) * math.fsum(np.asarray(inv_n_eff, dtype=float).tolist()) / count
    return mu, max(0.0, math.fsum(m2[n > 0].tolist()) / dof - mean_v)


def impute_unheard(heard_mean, heard_influence, prior):
    """Influence-weighted score with the unheard influence imputed.

    ``influence_weighted = H * heard_mean + (1 - H) * prior`` where ``H`` is
    the share of the account's influence held by people heard in the window
    and ``prior`` is what we assume the unheard people feel: by default the
    account's empirical-Bayes estimate (its heard mean shrunk toward the
    segment, :func:`eb_shrink`), so little-heard accounts drift toward their
    segment in proportion to the influence nobody has asked. ``H`` is reported
    as ``heard_influence``; ``unheard="renormalise"`` in
    :func:`account_sentiment` reports the plain heard mean instead.

    Examples
    --------
    Half the influence heard at +0.8, the account's shrunk estimate 0.5:

    >>> float(impute_unheard(np.array([0.8]), np.array([0.5]), np.array([0.5]))[0])
    0.65
    """
    return heard_influence * heard_mean + (1.0 - heard_influence) * prior


