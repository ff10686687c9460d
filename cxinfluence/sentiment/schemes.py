"""Account sentiment as of a date: every weighting scheme side by side.

Pipeline (all vectorised over the portfolio with integer codes and
``np.bincount``; no Python loop over accounts):

1. **Responses** usable at ``t`` are those dated in ``[t - lead - window,
   t - lead)`` (:func:`cxinfluence.village.asof.window_mask`) from stakeholders
   **active** at ``t`` (:func:`cxinfluence.village.asof.active_mask`); a departed
   person's feedback no longer describes the village.
2. **Response sentiment** is the common ``[-1, 1]`` scale of
   :mod:`cxinfluence.village.scale` (mean of the items answered).
3. **Stakeholder sentiment** ``s_i`` is the mean of the person's usable
   responses, optionally recency-weighted with ``w = 0.5 ** (age_days /
   half_life_days)``. A person with a usable response is *heard*.
4. **Account schemes** combine the heard stakeholders ``i`` of account ``a``
   (formulas in the kernel functions below, each with a worked example):

   ==================== ======================================================
   ``mean``             plain mean of ``s_i`` over respondents: the NOT-THAT
                        baseline ("average and bar chart")
   ``nps``              the account's plain NPS in points, each respondent's
                        latest NPS answer (:mod:`cxinfluence.sentiment.metrics`)
   ``role_weighted``    ``sum r_i s_i / sum r_i``, ``r_i`` = weight of i's role
   ``influence_weighted`` influence ``pi_i`` from the buying-center graph; the
                        unheard share ``1 - H`` (``H = heard_influence``) is
                        imputed at the account's shrunk estimate (see
                        :func:`impute_unheard`), never silently dropped
   ``veto_floor``       ``min(influence_weighted, s_v + margin)`` for the
                        unhappiest heard veto holder ``v`` when ``s_v`` is
                        below ``veto_threshold`` (:func:`veto_floor`)
   ``nested``           person -> role (or department) -> account: role means
                        combined with role weights (:func:`nested_mean`)
   ``shrunk``           empirical-Bayes shrinkage of the heard influence-weighted
                        mean toward the segment mean; factor in ``shrinkage``
                        (:func:`eb_shrink`)
   ``disagreement``     influence-weighted SD of ``s_i`` (:func:`weighted_sd`)
   ==================== ======================================================

Uncertainty: each scheme ``x`` has ``x_se``, ``x_ci_low``, ``x_ci_high``
(``disagreement`` is descriptive and has none; ``nps`` has the Agresti-Min
interval of :func:`cxinfluence.sentiment.metrics.net_score_ci`). Sampling error is
*between stakeholders*: the people heard are treated as a sample of the
account's village.

* weighted means (``mean``, ``role_weighted``, ``nested``, the heard part of
  ``influence_weighted``): ``x_se`` is the linearisation (sandwich) SE of a
  ratio estimator (:func:`weighted_group_mean`); the interval is the
  bounded-scale Agresti-Coull-type interval of
  :func:`cxinfluence.intervals.bounded_mean_ci` on ``[-1, 1]`` with Kish's
  effective ``n`` (``z^2 / 2`` pseudo-people at each end of the scale), so it
  does not collapse when the respondents agree and is defined for one person;
* ``influence_weighted`` with imputation: the heard mean's interval mapped
  through the imputation, whose slope in the heard mean is
  ``H + (1 - H)(1 - B)`` (``B`` and the segment mean held fixed); the SE is
  scaled the same way;
* ``shrunk``: the empirical-Bayes posterior SD, normal interval;
* ``veto_floor``: where a veto holder was heard, a parametric bootstrap that
  redraws every heard veto holder's sentiment (noise: the pooled
  within-person SD over the portfolio over sqrt(their number of answers)) and
  the base, and reapplies the threshold and the minimum, its distribution
  computed exactly (no Monte Carlo error); basic bootstrap interval, which
  removes the first-order downward bias of a minimum of noisy means
  (:func:`veto_floor_interval`); otherwise the ``influence_weighted``
  interval.

Coverage of every interval at n = 2..30 is measured by
:mod:`cxinfluence.intervalcheck` (table in ``docs/methods.md``).

CIs are clipped to ``[-1, 1]``. An account with no heard stakeholder gets NaN
in every scheme (and ``n_respondents = 0``): the absence of evidence is
reported, not filled; a single respondent has a value and a (wide) interval
but no between-respondent SE (``shrunk_se`` stays finite: it is the posterior
SE, and ``veto_floor_se`` is finite when a veto holder was heard).

References
----------
Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed., ch. 6 (ratio estimators).
Efron, B. & Morris, C. (1975). Data analysis using Stein's estimator and its
generalizations. *JASA* 70, 311-319.
Kish, L. (1965). *Survey Sampling*. Wiley (effective sample size).
Morris, C. N. (1983). Parametric empirical Bayes inference: theory and
applications. *JASA* 78, 47-55.
Van Bruggen, G. H., Lilien, G. L. & Kacker, M. (2002). Informants in
organizational marketing research: why use multiple informants and how to
aggregate responses. *J. Marketing Research* 39(4), 469-478.
Webster, F. E. & Wind, Y. (1972). A general model for understanding
organizational buying behavior. *J. Marketing* 36(2), 12-19.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..village import asof as _asof
from ..village.schema import ROLE_WEIGHTS
from ..village.heard import last_heard as _last_heard, response_counts
from ..exceptions import MetricError
from ..village.scale import ITEMS

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
    from scipy.stats import t as student_t

    df = np.maximum(np.floor(np.where(np.isfinite(df), df, 1)), 1).astype(np.int64)
    uniq, inv = np.unique(df, return_inverse=True)
    with np.errstate(invalid="ignore"):
        q = student_t.ppf(0.5 + conf_level / 2.0, np.where(uniq > 0, uniq, np.nan).astype(float))
    return q[inv] * se


def _z(conf_level):
    from scipy.stats import norm

    return float(norm.ppf(0.5 + conf_level / 2.0))


def _heard_ci(m, se, n, n_eff, conf_level):
    """Bounded-scale interval (:func:`cxinfluence.intervals.bounded_mean_ci`)
    of a heard (weighted) mean on ``[-1, 1]`` from :func:`weighted_group_mean`'s
    output: the weighted variance is ``se^2 n_eff (n - 1) / n`` (``sum w^2
    r^2 / sum w^2``; the plain variance for equal weights), 0 for one person."""
    from .intervals import bounded_mean_ci

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
    halvings of a bracket 8 SDs wide). The interval is the *basic*
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
    from scipy.special import log_ndtr, ndtri

    threshold = VETO_THRESHOLD if threshold is None else threshold
    value = np.asarray(value, dtype=float)
    base = np.asarray(base, dtype=float)
    base_sd = np.maximum(np.nan_to_num(np.asarray(base_sd, dtype=float), nan=0.0), 1e-12)
    x = np.asarray(x, dtype=float)
    x_sd = np.maximum(np.nan_to_num(np.asarray(x_sd, dtype=float), nan=0.0), 1e-12)
    g = np.asarray(groups, dtype=np.int64)
    cand = np.flatnonzero(np.asarray(veto, dtype=bool) & np.isfinite(x))
    se = np.full(n_groups, np.nan)
    lo, hi = se.copy(), se.copy()
    if len(cand) == 0:
        return se, lo, hi
    cand = cand[np.argsort(g[cand], kind="stable")]
    acc, start = np.unique(g[cand], return_index=True)
    pos = np.repeat(np.arange(len(acc)), np.diff(np.r_[start, len(cand)]))  # holder -> account slot
    xs, sds = x[cand], x_sd[cand]
    b0, bsd = base[acc], base_sd[acc]
    ok = np.isfinite(b0)
    b0 = np.where(ok, b0, 0.0)

    def log_survival(q):  # log P(floor* > q) per account slot
        cut = np.minimum(threshold, q[pos] - margin)
        holders = np.bincount(pos, log_ndtr((xs - cut) / sds), len(acc))
        return log_ndtr((b0 - q) / bsd) + holders

    a = (1.0 - conf_level) / 2.0
    span = 8.0 * np.maximum(bsd, np.bincount(pos, sds, len(acc)))
    low_x = np.minimum.reduceat(xs - 8.0 * sds, start) + margin
    q = {}
    for p in (a, 1.0 - a):  # solve P(floor* <= q) = p, i.e. log S(q) = log(1 - p)
        target = np.log1p(-p)
        left, right = np.minimum(b0 - span, low_x), b0 + span
        for _ in range(iterations):
            mid = 0.5 * (left + right)
            below = log_survival(mid) > target  # F(mid) < p: the quantile lies to the right
            left = np.where(below, mid, left)
            right = np.where(below, right, mid)
        q[p] = 0.5 * (left + right)
    f = value[acc]
    z = float(ndtri(1.0 - a))
    with np.errstate(invalid="ignore"):
        se[acc] = np.where(ok, (q[1.0 - a] - q[a]) / (2.0 * z), np.nan)
        lo[acc] = np.where(ok, np.clip(np.minimum(2.0 * f - q[1.0 - a], f), -1.0, 1.0), np.nan)
        hi[acc] = np.where(ok, np.clip(np.maximum(2.0 * f - q[a], f), -1.0, 1.0), np.nan)
    return se, lo, hi


def eb_shrink(y, v, target):
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
    with np.errstate(invalid="ignore", divide="ignore"):
        B = np.where(ok, v / (v + tau2), np.nan)
        B = np.where(ok & (v == 0) & (tau2 == 0), 0.0, B)  # a perfectly measured account keeps its value
    shrunk = B * mu + (1.0 - B) * y
    se = np.sqrt((1.0 - B) * v)
    return shrunk, B, se, mu, tau2


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


def item_sentiment(items):
    """Response sentiment on ``[-1, 1]`` from item arrays (numpy fast path).

    The same POMP mapping and mean-of-answered-items rule as
    :func:`cxinfluence.village.scale.response_sentiment`, on plain arrays: each item
    ``x`` on ``[low, high]`` maps to ``direction * (2 (x - low) / (high - low) - 1)``
    and a response's sentiment is the mean over the items it answered (NaN if
    none).

    Parameters
    ----------
    items : mapping of str -> float array
        Item name (a key of :data:`cxinfluence.village.scale.ITEMS`) -> scores, NaN = blank.

    Examples
    --------
    >>> item_sentiment({"nps": np.array([10.0, 0.0, np.nan]), "ces": np.array([5.0, np.nan, np.nan])}).tolist()
    [0.0, -1.0, nan]
    """
    num = den = None
    for item, x in items.items():
        if item not in ITEMS:
            raise MetricError(f"items contains {item!r}; expected some of {sorted(ITEMS)}")
        low, high, direction = ITEMS[item]
        x = np.asarray(x, dtype=float)
        if num is None:
            num, den = np.zeros(len(x)), np.zeros(len(x))
        present = ~np.isnan(x)
        a = 2.0 * direction / (high - low)
        np.add(num, x * a - direction * (2.0 * low / (high - low) + 1.0), out=num, where=present)
        den += present
    if num is None:
        raise MetricError("items is empty; expected at least one score column such as 'nps' or 'csat'")
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / den


def schemes_from_codes(resp_stakeholder, resp_sentiment, stakeholder_account, stakeholder_role,
                       stakeholder_veto, stakeholder_influence, n_accounts, *, resp_weight=None,
                       resp_nps=None, resp_time=None, stakeholder_active=None, sorted_by_stakeholder=False,
                       account_segment=None, role_weights=None, nest_codes=None, nest_weights=None,
                       veto_threshold=VETO_THRESHOLD, veto_margin=0.25, unheard="impute", conf_level=0.95):
    """All schemes for all accounts from integer codes (the vectorised core).

    Parameters
    ----------
    resp_stakeholder : int array (n_responses,)
        Stakeholder code (row in the stakeholder arrays) of each usable
        response; without ``resp_time`` they must be in date order (the last
        NPS answer wins).
    resp_sentiment : float array
        Response sentiment on ``[-1, 1]``; NaN = no item answered, or a
        response to ignore (outside the window).
    stakeholder_account, stakeholder_role : int arrays (n_stakeholders,)
        Account code (0..n_accounts-1) and role code (index into
        ``role_weights``) of each active stakeholder.
    stakeholder_veto : bool array
    stakeholder_influence : float array
        Influence, summing to 1 over each account's active stakeholders
        (NaN for an account without influence weights).
    resp_weight : float array, optional
        Recency weights (default 1); a weight of 0 marks a response as not
        usable, like a NaN sentiment.
    resp_nps : float array, optional
        NPS answer of each response (NaN = not asked); ``nps`` is NaN without it.
    resp_time : int array, optional
        Response date as an integer (e.g. days since 1970). When given, the
        latest NPS answer is the one with the largest time (ties: later
        position), so responses need not be sorted.
    stakeholder_active : bool array (n_stakeholders,), optional
        Who is active at the as-of date (default all). Inactive people are
        left out of every count and scheme, so the caller need not re-code
        (or filter) the responses of people who left.
    sorted_by_stakeholder : bool
        Promise that responses are sorted by stakeholder, then time (e.g.
        sorted once per village). Reductions then run over contiguous memory
        and the latest NPS answer is found from segment ends, without
        ``resp_time``.
    account_segment : int array (n_accounts,), optional
        Shrinkage target group (default: one portfolio group).
    role_weights : float array
        Weight per role code (default all 1).
    nest_codes, nest_weights : optional
        Subgroup code per stakeholder and weight per subgroup for ``nested``
        (default: the role codes and ``role_weights``).
    veto_threshold, veto_margin, unheard, conf_level
        As in :func:`account_sentiment`.

    Returns
    -------
    (accounts, stakeholders) : two dicts of arrays
        Per account: every column of :func:`account_sentiment` except ids;
        per stakeholder: ``sentiment``, ``n_responses``, ``nps``.

    Notes
    -----
    The steps, each a function below: usable responses, stakeholder means,
    latest NPS answers, account counts, the level schemes (mean, nps,
    role_weighted), the influence schemes (shrunk, influence_weighted),
    the veto floor, nested, disagreement, then the intervals clipped to
    ``[-1, 1]``. :func:`cxinfluence.sentiment.schemes_reference.schemes_reference`
    computes the same from the formulas with pandas (tested equal to 1e-12).
    """
    A = int(n_accounts)
    r_sh = np.asarray(resp_stakeholder, dtype=np.int64)
    x = np.asarray(resp_sentiment, dtype=float)
    s_acc = np.asarray(stakeholder_account, dtype=np.int64)
    s_role = np.asarray(stakeholder_role, dtype=np.int64)
    S = len(s_acc)
    infl = np.asarray(stakeholder_influence, dtype=float)
    veto = np.asarray(stakeholder_veto, bool)
    role_w = np.ones(int(s_role.max(initial=0)) + 1) if role_weights is None else np.asarray(role_weights, float)
    if nest_codes is None:
        nest_codes, nest_weights = s_role, role_w
    act = np.ones(S, dtype=bool) if stakeholder_active is None else np.asarray(stakeholder_active, dtype=bool)

    idx, sh_u, x_u, w_u = _usable_responses(r_sh, x, resp_weight)
    s, k, heard, sigma_within2 = _stakeholder_means(sh_u, x_u, w_u, act, S)
    s_nps = _latest_nps(resp_nps, resp_time, idx, sh_u, act, S, sorted_by_stakeholder)
    del sh_u, x_u, w_u, idx

    out, infl_ok = _account_counts(s_acc, act, heard, k, infl, A)
    h = np.flatnonzero(heard)  # account schemes over the heard people only (smaller arrays, no NaN)
    sh, gh = s[h], s_acc[h]
    cis = _level_schemes(out, sh, gh, s_acc, s_nps, role_w[s_role[h]], A, conf_level)
    y = _influence_schemes(out, cis, sh, gh, infl_ok[h], account_segment, A, unheard, conf_level)
    _veto_scheme(out, cis, s, k, s_acc, veto, sigma_within2, A, veto_threshold, veto_margin, conf_level)
    m, se, n, ne2 = nested_mean(sh, gh, np.asarray(nest_codes)[h], np.asarray(nest_weights, dtype=float), A)
    out["nested"], out["nested_se"] = m, se
    cis["nested"] = _heard_ci(m, se, n, ne2, conf_level)
    out["disagreement"] = _disagreement(sh, gh, infl_ok[h], y, A)

    z = _z(conf_level)
    cis["shrunk"] = (out["shrunk"] - z * out["shrunk_se"], out["shrunk"] + z * out["shrunk_se"])  # EB: normal
    for name in _SE_SCHEMES:
        out[f"{name}_ci_low"] = np.clip(cis[name][0], -1.0, 1.0)
        out[f"{name}_ci_high"] = np.clip(cis[name][1], -1.0, 1.0)
    stake = {"sentiment": s, "n_responses": k, "nps": s_nps}
    return out, stake


def _usable_responses(r_sh, x, resp_weight):
    """Step 1 of :func:`schemes_from_codes`: the usable responses (a sentiment and, if weighted, a positive
    weight), compressed once so that every later pass runs over them only, with no masks."""
    ok = x == x  # not NaN
    if resp_weight is not None:
        ok &= np.asarray(resp_weight, dtype=float) > 0  # weight 0 = not usable (e.g. outside the window)
    idx = np.flatnonzero(ok)  # increasing: keeps the caller's order
    w_u = None if resp_weight is None else np.asarray(resp_weight, dtype=float)[idx]
    return idx, r_sh[idx], x[idx], w_u


def _stakeholder_means(sh_u, x_u, w_u, act, S):
    """Step 2: each stakeholder's (recency-)weighted mean ``s``, answers ``k``, heard flag, and the pooled
    within-person variance of single answers around the person's mean."""
    k = np.bincount(sh_u, minlength=S)
    k[~act] = 0
    wx = x_u if w_u is None else w_u * x_u
    sw = k.astype(float) if w_u is None else np.bincount(sh_u, w_u, S)
    swx = np.bincount(sh_u, wx, S)
    heard = k > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(heard, swx / sw, np.nan)
    # pooled within-person variance of single answers around the person's (weighted) mean:
    # sum_j w_j (x_j - s)^2 = sum w x^2 - s sum w x (no gather of s back to the responses), over
    # sum_i W_i (k_i - 1) / k_i, which is sum_i (k_i - 1) without recency weights
    swxx = np.bincount(sh_u, wx * x_u, S)
    del wx
    with np.errstate(invalid="ignore", divide="ignore"):
        within_df = float(np.sum((sw * (k - 1) / k)[heard]))
        ss_within = float(np.sum(np.maximum(swxx - s * swx, 0.0)[heard]))
    sigma_within2 = ss_within / within_df if within_df > 0 else np.nan
    return s, k, heard, sigma_within2


def _latest_nps(resp_nps, resp_time, idx, sh_u, act, S, sorted_by_stakeholder):
    """Step 3: each active stakeholder's latest NPS answer among the usable responses (NaN: none)."""
    s_nps = np.full(S, np.nan)
    if resp_nps is None:
        return s_nps
    nps = np.asarray(resp_nps, dtype=float)[idx]
    has = np.flatnonzero(nps == nps)
    if sorted_by_stakeholder:
        # sorted by (stakeholder, time): the last row of each stakeholder's run is the latest
        sh_has = sh_u[has]
        end = np.ones(len(has), dtype=bool)
        np.not_equal(sh_has[1:], sh_has[:-1], out=end[:-1])
        s_nps[sh_has[end]] = nps[has[end]]
    else:
        # the largest (time, position) key wins
        key = has
        if resp_time is not None and len(has):
            t = np.asarray(resp_time, dtype=np.int64)[idx[has]]
            t -= t.min()
            if int(t.max()) >= np.iinfo(np.int64).max // max(len(idx), 1):
                raise MetricError("resp_time spans too wide a range to combine with positions; pass "
                                  "days (e.g. dates.astype('datetime64[D]').astype(int)), not nanoseconds")
            t *= len(idx)
            t += has
            key = t
        last = np.full(S, -1, dtype=np.int64)
        np.maximum.at(last, sh_u[has], key)
        got = last >= 0
        s_nps[got] = nps[last[got] % max(len(idx), 1)]
    s_nps[~act] = np.nan
    return s_nps


def _account_counts(s_acc, act, heard, k, infl, A):
    """Step 4: people, respondents, responses and heard influence per account; the influence with NaN and
    inactive people as 0."""
    out = {}
    out["n_stakeholders"] = np.bincount(s_acc, act, A).astype(np.int64)
    out["n_respondents"] = np.bincount(s_acc[heard], minlength=A)
    out["n_responses"] = np.bincount(s_acc, k, A).astype(np.int64)
    infl_ok = np.where(np.isnan(infl) | ~act, 0.0, infl)
    has_infl = np.bincount(s_acc, ~np.isnan(infl) & act, A) > 0
    out["heard_influence"] = np.where(has_infl, np.bincount(s_acc[heard], infl_ok[heard], A), np.nan)
    return out, infl_ok


def _level_schemes(out, sh, gh, s_acc, s_nps, role_w_h, A, conf_level):
    """Step 5: ``mean``, ``nps`` and ``role_weighted`` into ``out``; returns their intervals."""
    from .metrics import net_score_ci

    m, se, n, ne = _wmean_clean(sh, None, gh, A)
    out["mean"], out["mean_se"] = m, se
    cis = {"mean": _heard_ci(m, se, n, ne, conf_level)}
    prom = np.bincount(s_acc, s_nps >= 9, A)
    detr = np.bincount(s_acc, s_nps <= 6, A)
    n_nps = np.bincount(s_acc, ~np.isnan(s_nps), A)
    out["nps"], out["nps_ci_low"], out["nps_ci_high"] = net_score_ci(prom, detr, n_nps, conf_level)
    out["nps_n"] = n_nps.astype(np.int64)
    m, se, n, ne = weighted_group_mean(sh, role_w_h, gh, A)  # (a role may weigh 0)
    out["role_weighted"], out["role_weighted_se"] = m, se
    cis["role_weighted"] = _heard_ci(m, se, n, ne, conf_level)
    return cis


def _influence_schemes(out, cis, sh, gh, infl_h, account_segment, A, unheard, conf_level):
    """Step 6: the heard influence-weighted mean ``y``, its EB shrinkage (``shrunk``) and the imputed
    ``influence_weighted`` (with ``influence_heard``) into ``out`` and ``cis``; returns ``y``."""
    y, y_se, n, ne = weighted_group_mean(sh, infl_h, gh, A)
    # pooled between-person variance within accounts, around each account's plain mean
    between_ss = np.sum((sh - out["mean"][gh]) ** 2)
    between_df = np.maximum(out["n_respondents"] - 1, 0).sum()
    sigma2 = between_ss / between_df if between_df > 0 else np.nan
    v = sigma2 / ne  # sampling variance of the heard mean: between-person variance / Kish n
    seg = np.zeros(A, dtype=np.int64) if account_segment is None else np.asarray(account_segment, np.int64)
    shr, B, shr_se, _, _ = eb_shrink(y, v, seg)
    out["shrunk"], out["shrinkage"], out["shrunk_se"] = shr, B, shr_se
    H = out["heard_influence"]
    Bf = np.where(np.isfinite(B) & np.isfinite(shr), B, 0.0)
    if unheard == "impute":
        prior = np.where(np.isfinite(shr), shr, y)  # no EB estimate possible: assume the heard mean
        iw = impute_unheard(y, H, prior)
        iw_se = (H + (1.0 - H) * (1.0 - Bf)) * y_se  # d(iw)/d(y) with B, mu held fixed
    else:
        iw, iw_se = y, y_se
    out["influence_weighted"], out["influence_weighted_se"] = iw, iw_se
    # the heard influence-weighted mean before imputation: a classical-error measurement of the heard
    # people's sentiment, which cxinfluence.measurement can correct (the imputed score is partly shrunk)
    out["influence_heard"], out["influence_heard_se"] = y, y_se
    # bounded-scale interval of the heard mean (cxinfluence.intervals), mapped through the imputation
    ylo, yhi = _heard_ci(y, y_se, n, ne, conf_level)
    c = (H + (1.0 - H) * (1.0 - Bf)) if unheard == "impute" else 1.0
    cis["influence_weighted"] = (iw + c * (ylo - y), iw + c * (yhi - y))
    return y


def _veto_scheme(out, cis, s, k, s_acc, veto, sigma_within2, A, veto_threshold, veto_margin, conf_level):
    """Step 7: ``veto_floor`` over ``influence_weighted``, its binding flag, SE and exact bootstrap interval."""
    iw = out["influence_weighted"]
    vf, binding, _ = veto_floor(iw, s, s_acc, veto, A, veto_threshold, veto_margin)
    out["veto_floor"] = vf
    out["veto_binding"] = binding
    # the base's sampling SD read off its interval (defined from one respondent on)
    z = _z(conf_level)
    base_sd = (cis["influence_weighted"][1] - cis["influence_weighted"][0]) / (2.0 * z)
    with np.errstate(invalid="ignore", divide="ignore"):
        x_sd = np.sqrt(sigma_within2 / k)  # each person's noise: pooled within-person SD / sqrt(answers)
    vse, vlo, vhi = veto_floor_interval(vf, iw, base_sd, s, x_sd, s_acc, veto, A,
                                        veto_threshold, veto_margin, conf_level=conf_level)
    has_boot = np.isfinite(vlo)
    out["veto_floor_se"] = np.where(has_boot, vse, out["influence_weighted_se"])
    cis["veto_floor"] = (np.where(has_boot, vlo, cis["influence_weighted"][0]),
                         np.where(has_boot, vhi, cis["influence_weighted"][1]))


def _disagreement(sh, gh, w_h, y, A):
    """Step 8: ``disagreement``, :func:`weighted_sd` written out to reuse the influence-weighted mean ``y``."""
    r = sh - y[gh]
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.bincount(gh, w_h * r * r, A) / np.bincount(gh, w_h, A)
    n_pos = np.bincount(gh, w_h > 0, A)
    return np.where(n_pos > 1, np.sqrt(np.maximum(var, 0.0)), np.nan)


# --------------------------------------------------------------------------
# Village -> codes -> tables
# --------------------------------------------------------------------------

def _as_of_table(village, as_of):
    """Normalise ``as_of`` to (list of unique dates, requested pairs or None)."""
    if isinstance(as_of, pd.DataFrame):
        need = {"account_id", "as_of"}
        if not need <= set(as_of.columns):
            raise MetricError(f"as_of is a DataFrame with columns {list(as_of.columns)}; expected columns "
                              "'account_id' and 'as_of' (one row per account and date)")
        pairs = as_of[["account_id", "as_of"]].assign(as_of=pd.to_datetime(as_of["as_of"]))
        if pairs["as_of"].isna().any():
            raise MetricError("as_of has blank dates in column 'as_of'; fill or drop those rows")
        return sorted(pairs["as_of"].unique()), pairs.drop_duplicates()
    return [_asof.to_timestamp(as_of)], None


def _influence_at(village, ts, influence):
    """Influence at ``ts``: a DataFrame, or ``(rows, influence)`` arrays when
    computed here (stakeholders-table rows, so no id needs hashing)."""
    if influence is None:
        from ..network.influence import influence_with_rows

        out, rows = influence_with_rows(village, ts)
        return rows, out["influence"].to_numpy(float)
    if not isinstance(influence, pd.DataFrame) or not {"stakeholder_id", "influence"} <= set(influence.columns):
        raise MetricError("influence must be a DataFrame with columns 'stakeholder_id' and 'influence' "
                          "(e.g. cxinfluence.network.influence.influence_weights(village, as_of))")
    if "as_of" in influence.columns:
        return influence[pd.to_datetime(influence["as_of"]) == ts]
    return influence


def _lookup(keys, values):
    """Position of each key in ``values`` (-1 if absent), on the string form of
    the ids. Arrow's hash lookup is several times faster than
    ``Index.get_indexer`` on pandas' Arrow-backed strings (no object copy)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    k = pa.array(pd.Series(keys).astype(str))
    v = pa.array(pd.Series(values).astype(str))
    return pc.index_in(k, value_set=v).fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def _base(village, *, role_weights, nest_by):
    """Date-independent codes and arrays, computed once per call: string ids are
    hashed once, item sentiment is computed once for every response."""
    from ..village.ids import rows_of

    accounts = village.accounts["account_id"].astype(str).to_numpy()
    st = village.stakeholders
    sid = st["stakeholder_id"]
    s_acc = rows_of(village, "stakeholders", "account_id")
    roles = st["role"] if "role" in st.columns else pd.Series(np.nan, index=st.index)
    rw = dict(DEFAULT_ROLE_WEIGHTS if role_weights is None else role_weights)
    bad = {r: w for r, w in rw.items() if not (np.isfinite(w) and w >= 0)}
    if bad:
        raise MetricError(f"role_weights={role_weights!r} has invalid weights {bad}; expected numbers >= 0")
    role_codes, role_names = pd.factorize(roles, use_na_sentinel=True)
    role_names = list(role_names) + [None]  # code -1 (blank role) -> last slot
    role_codes = np.where(role_codes < 0, len(role_names) - 1, role_codes)
    role_w = np.array([rw.get(r, 1.0) if r is not None else 1.0 for r in role_names])
    if nest_by == "role":
        nest_codes, nest_w = role_codes, role_w
    else:
        if nest_by not in st.columns:
            raise MetricError(f"nest_by={nest_by!r} is not a stakeholder column; expected 'role' or 'department'")
        nest_codes, _ = pd.factorize(st[nest_by], use_na_sentinel=True)
        nest_codes = np.where(nest_codes < 0, nest_codes.max(initial=-1) + 1, nest_codes)
        nest_w = np.ones(int(nest_codes.max(initial=0)) + 1)
    veto = st["veto"].fillna(False).astype(bool).to_numpy() if "veto" in st.columns else np.zeros(len(st), bool)

    resp = village.responses
    r_st = rows_of(village, "responses", "stakeholder_id")  # -1: unknown stakeholder, never used
    r_date = resp["date"].to_numpy()

    def column(c):
        col = resp[c]
        if pd.api.types.is_float_dtype(col):
            return col.to_numpy(float)
        return pd.to_numeric(col, errors="coerce").to_numpy(float)

    present = [c for c in ITEMS if c in resp.columns]
    x = item_sentiment({c: column(c) for c in present}) if present else np.full(len(resp), np.nan)
    nps = column("nps") if "nps" in resp.columns else None
    if "segment" in village.accounts.columns:
        seg, _ = pd.factorize(village.accounts["segment"], use_na_sentinel=True)
        seg = np.where(seg < 0, seg.max(initial=-1) + 1, seg)  # blank segment: one group of its own
    else:
        seg = np.zeros(len(accounts), dtype=np.int64)
    return dict(village=village, accounts=accounts, st=st, sid=sid, s_acc=s_acc, role_codes=role_codes,
                role_w=role_w, nest_codes=nest_codes, nest_w=nest_w, veto=veto, r_st=r_st, r_date=r_date,
                x=x, nps=nps, seg=seg)


def _at(base, ts, *, window_days, lead_days, half_life_days, influence, need_influence=True):
    """Arrays for one as-of date: active stakeholders re-coded 0..S-1, usable responses."""
    st_all = base["st"]
    active = _asof.active_mask(st_all, ts).to_numpy() & (base["s_acc"] >= 0)
    idx = np.flatnonzero(active)
    new_code = np.cumsum(active) - 1
    s_acc = base["s_acc"][idx]
    A = len(base["accounts"])
    if need_influence:
        inf_df = _influence_at(base["village"], ts, influence)
        if isinstance(inf_df, tuple):
            pos, values = inf_df
        else:
            pos = _lookup(inf_df["stakeholder_id"], base["sid"])
            values = pd.to_numeric(inf_df["influence"], errors="coerce").to_numpy(float)
        inf_all = np.full(len(st_all), np.nan)
        ok = pos >= 0
        inf_all[pos[ok]] = values[ok]
        inf = inf_all[idx]
        # departed people's influence is gone, not unheard: renormalise over the active village
        known = np.bincount(s_acc, ~np.isnan(inf), A) > 0
        tot = np.bincount(s_acc, np.nan_to_num(inf), A)
        with np.errstate(invalid="ignore", divide="ignore"):
            inf = np.where(known[s_acc] & (tot[s_acc] > 0), np.nan_to_num(inf) / tot[s_acc], np.nan)
    else:
        inf = np.full(len(idx), np.nan)

    r_st, r_date = base["r_st"], base["r_date"]
    end = (ts - pd.Timedelta(days=lead_days or 0)).to_datetime64()
    usable = (r_date < end) & (r_st >= 0)
    if window_days is not None:
        usable &= r_date >= end - np.timedelta64(pd.Timedelta(days=window_days))
    usable &= active[np.maximum(r_st, 0)]
    rows = np.flatnonzero(usable)
    r_date = r_date[rows]
    weight = None
    if half_life_days is not None:
        age = (ts.to_datetime64() - r_date) / np.timedelta64(1, "D")
        weight = 0.5 ** (age / float(half_life_days))
    return dict(accounts=base["accounts"], rows=idx, s_acc=s_acc, role_codes=base["role_codes"][idx],
                role_w=base["role_w"], nest_codes=base["nest_codes"][idx], nest_w=base["nest_w"],
                veto=base["veto"][idx], inf=inf, r_sh=new_code[r_st[rows]], x=base["x"][rows], weight=weight,
                nps=None if base["nps"] is None else base["nps"][rows], seg=base["seg"], r_date=r_date, end=end,
                # seconds: exact order of same-day responses; ties keep row order
                r_time=r_date.astype("datetime64[s]").astype(np.int64))


def _check_opts(unheard, nest_by, conf_level, veto_margin):
    if unheard not in ("impute", "renormalise"):
        raise MetricError(f"unheard={unheard!r}; expected 'impute' (default) or 'renormalise'")
    if not 0 < conf_level < 1:
        raise MetricError(f"conf_level={conf_level!r}; expected a number between 0 and 1, e.g. 0.95")
    if not veto_margin >= 0:
        raise MetricError(f"veto_margin={veto_margin!r}; expected a number >= 0")


def account_sentiment(village, as_of, *, window_days=_asof.DEFAULT_WINDOW_DAYS, lead_days=0, half_life_days=None,
                      influence=None, role_weights=None, veto_threshold=VETO_THRESHOLD, veto_margin=0.25,
                      unheard="impute", nest_by="role", conf_level=0.95) -> pd.DataFrame:
    """Account sentiment as of a date: every scheme side by side.

    Parameters
    ----------
    village : Village
    as_of : date or DataFrame
        One date, or a DataFrame with columns ``account_id, as_of`` (one row
        per account and date; influence is computed once per unique date).
    window_days : int or None
        Look-back window in days (``None``: unlimited).
    lead_days : int
        Gap before ``as_of``: responses must be dated before ``as_of - lead``.
    half_life_days : float, optional
        Recency decay of a response ``h`` days old: ``0.5 ** (h / half_life_days)``.
    influence : DataFrame, optional
        ``stakeholder_id, influence`` (optionally ``as_of``); default
        :func:`cxinfluence.network.influence.influence_weights` at each date.
        Renormalised over each account's active stakeholders.
    role_weights : dict, optional
        Role -> weight for ``role_weighted`` and ``nested`` (default
        :data:`cxinfluence.village.schema.ROLE_WEIGHTS`, the table influence uses too;
        unlisted or blank roles weigh 1).
    veto_threshold, veto_margin : float
        See :func:`veto_floor`.
    unheard : {"impute", "renormalise"}
        Rule for unheard influence, see :func:`impute_unheard`.
    nest_by : {"role", "department"}
        Middle level of ``nested``; departments weigh equally.
    conf_level : float

    Returns
    -------
    DataFrame
        One row per account (and as_of): ``account_id, as_of,
        n_stakeholders, n_respondents, n_responses, heard_influence``, the
        :data:`SCHEMES` columns, ``shrinkage``, ``veto_binding``, ``nps_n``,
        and ``<scheme>_se``, ``<scheme>_ci_low``, ``<scheme>_ci_high``
        (``nps`` has a CI in points, see :func:`cxinfluence.sentiment.metrics.net_score_ci`),
        and ``influence_heard``, ``influence_heard_se``: the influence-weighted
        mean of the people heard before the unheard share is imputed (the
        input of :func:`cxinfluence.models.measurement.corrected_fit`).

    Examples
    --------
    >>> from cxinfluence.village.core import Village
    >>> v = Village(
    ...     accounts=pd.DataFrame({"account_id": ["A"]}),
    ...     stakeholders=pd.DataFrame({"stakeholder_id": ["p", "u"], "account_id": ["A", "A"],
    ...         "role": ["decider", "user"], "veto": [True, False]}),
    ...     relationships=pd.DataFrame(columns=["source_id", "target_id", "kind"]),
    ...     responses=pd.DataFrame({"stakeholder_id": ["p", "u"],
    ...         "date": pd.to_datetime(["2024-03-01", "2024-04-01"]), "nps": [2.0, 10.0]}),
    ...     outcomes=pd.DataFrame(columns=["account_id", "period_end", "renewed"]))
    >>> infl = pd.DataFrame({"stakeholder_id": ["p", "u"], "influence": [0.75, 0.25]})
    >>> t = account_sentiment(v, "2024-06-30", influence=infl)
    >>> t[["mean", "nps", "role_weighted", "influence_weighted", "veto_floor"]]
       mean  nps  role_weighted  influence_weighted  veto_floor
    0   0.2  0.0           -0.2                -0.2       -0.35

    The unhappy plant manager (NPS 2, sentiment -0.6, a veto holder) caps the
    account at -0.6 + 0.25 although the plain mean looks neutral.
    """
    return _tables(village, as_of, stakeholders=False, window_days=window_days, lead_days=lead_days,
                   half_life_days=half_life_days, influence=influence, role_weights=role_weights,
                   veto_threshold=veto_threshold, veto_margin=veto_margin, unheard=unheard, nest_by=nest_by,
                   conf_level=conf_level)[0]


def sentiment_tables(village, as_of, **options) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`account_sentiment` and :func:`stakeholder_sentiment` from one pass.

    Same parameters as :func:`account_sentiment` (the stakeholder table uses
    ``window_days``, ``lead_days`` and ``half_life_days``); ids are matched,
    items scored and responses windowed once for both tables.

    Examples
    --------
    >>> from cxinfluence.village.synth import make_village
    >>> v, _ = make_village(5, seed=1)
    >>> acc, people = sentiment_tables(v, "2025-01-01")
    >>> acc.equals(account_sentiment(v, "2025-01-01")), people.equals(stakeholder_sentiment(v, "2025-01-01"))
    (True, True)
    """
    return _tables(village, as_of, accounts=True, stakeholders=True, **options)


def _requested(pairs, ts, accounts):
    """Accounts (by position) that ``pairs`` asks for at ``ts``; None: all."""
    if pairs is None:
        return None
    from ..village.ids import positions

    asked = positions(pairs.loc[pairs["as_of"] == ts, "account_id"], accounts)
    mask = np.zeros(len(accounts), dtype=bool)
    mask[asked[asked >= 0]] = True
    return mask


def _tables(village, as_of, *, accounts=True, stakeholders=True, window_days=_asof.DEFAULT_WINDOW_DAYS,
            lead_days=0, half_life_days=None, influence=None, role_weights=None, veto_threshold=VETO_THRESHOLD,
            veto_margin=0.25, unheard="impute", nest_by="role", conf_level=0.95):
    """The account and/or stakeholder tables, one date at a time from one shared base."""
    _check_opts(unheard, nest_by, conf_level, veto_margin)
    window_days = _asof.check_window(window_days, error=MetricError)
    lead_days = _asof.check_lead(lead_days, error=MetricError)
    half_life_days = _asof.check_half_life(half_life_days, error=MetricError)
    dates, pairs = _as_of_table(village, as_of)
    acc_frames, st_frames = [], []
    base = _base(village, role_weights=role_weights, nest_by=nest_by)
    for ts in dates:
        ts = pd.Timestamp(ts)
        p = _at(base, ts, window_days=window_days, lead_days=lead_days, half_life_days=half_life_days,
                influence=influence, need_influence=accounts)
        wanted = _requested(pairs, ts, p["accounts"])
        if accounts:
            acc, _ = schemes_from_codes(
                p["r_sh"], p["x"], p["s_acc"], p["role_codes"], p["veto"], p["inf"], len(p["accounts"]),
                resp_weight=p["weight"], resp_nps=p["nps"], resp_time=p["r_time"], account_segment=p["seg"],
                role_weights=p["role_w"],
                nest_codes=p["nest_codes"], nest_weights=p["nest_w"], veto_threshold=veto_threshold,
                veto_margin=veto_margin, unheard=unheard, conf_level=conf_level)
            df = pd.DataFrame({"account_id": p["accounts"], "as_of": ts, **acc})
            acc_frames.append(df if wanted is None else df[wanted].reset_index(drop=True))
        if stakeholders:
            df = _stakeholder_rows(base, p, ts)
            st_frames.append(df if wanted is None else df[wanted[p["s_acc"]]].reset_index(drop=True))
    out = None
    if accounts:
        out = pd.concat(acc_frames, ignore_index=True)
        lead = ["account_id", "as_of", "n_stakeholders", "n_respondents", "n_responses", "heard_influence"]
        cols = lead + list(SCHEMES) + ["shrinkage", "veto_binding", "nps_n"]
        out = out[cols + [c for c in out.columns if c not in cols]]
    people = pd.concat(st_frames, ignore_index=True) if stakeholders else None
    for table in (out, people):
        if table is not None:
            _asof.record_options(table, window_days=window_days, lead_days=lead_days, half_life_days=half_life_days)
    return out, people


def stakeholder_sentiment(village, as_of, *, window_days=_asof.DEFAULT_WINDOW_DAYS, lead_days=0,
                          half_life_days=None) -> pd.DataFrame:
    """One row per stakeholder active at ``as_of``, with their sentiment.

    ``sentiment`` is the (recency-weighted) mean common-scale sentiment of the
    person's responses in the window, NaN when not heard; ``nps`` is their
    latest NPS answer; ``n_responses`` and ``last_heard`` follow :mod:`cxinfluence.village.heard`
    (every response in the window; the latest response before ``as_of``, however old).
    Parameters as in :func:`account_sentiment`.

    Examples
    --------
    >>> from cxinfluence.village.core import Village
    >>> v = Village(pd.DataFrame({"account_id": ["A"]}),
    ...     pd.DataFrame({"stakeholder_id": ["p", "q"], "account_id": ["A", "A"]}),
    ...     pd.DataFrame(), pd.DataFrame({"stakeholder_id": ["p", "p"],
    ...         "date": pd.to_datetime(["2024-01-01", "2024-05-01"]), "csat": [5.0, 3.0]}),
    ...     pd.DataFrame())
    >>> stakeholder_sentiment(v, "2024-06-30")[["stakeholder_id", "sentiment", "n_responses"]]
      stakeholder_id  sentiment  n_responses
    0              p        0.5            2
    1              q        NaN            0
    """
    return _tables(village, as_of, accounts=False, window_days=window_days, lead_days=lead_days,
                   half_life_days=half_life_days)[1]


def _stakeholder_rows(base, p, ts) -> pd.DataFrame:
    """One date's stakeholder table (see :func:`stakeholder_sentiment`)."""
    # only the columns reported: copying every text column of millions of people is slow
    wanted = ["account_id", "stakeholder_id"] + [c for c in ("role", "department", "veto") if c in base["st"].columns]
    st = base["st"][wanted].iloc[p["rows"]]
    x, r_sh, S = p["x"], p["r_sh"], len(st)
    ok = ~np.isnan(x)
    w = np.ones(len(x)) if p["weight"] is None else p["weight"]
    k = np.bincount(r_sh[ok], minlength=S)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.bincount(r_sh[ok], (w * x)[ok], S) / np.bincount(r_sh[ok], w[ok], S)
    s[k == 0] = np.nan
    s_nps = np.full(S, np.nan)
    if len(x):
        key = (p["r_time"] - p["r_time"].min()) * len(x) + np.arange(len(x))  # latest (time, row)
        if p["nps"] is not None:
            has = np.flatnonzero(~np.isnan(p["nps"]) & ok)
            last = np.full(S, -1, dtype=np.int64)
            np.maximum.at(last, r_sh[has], key[has])
            got = last >= 0
            s_nps[got] = p["nps"][last[got] % len(x)]
    n_responses = response_counts(r_sh, S)  # every response in the window, scored or not
    last_heard = _last_heard(base["r_st"], base["r_date"], p["end"], len(base["st"]))[p["rows"]]
    def column(c, text=False):  # pandas' own arrays: a round trip through Python objects is slow
        col = st[c].astype(str) if text and st[c].dtype != "str" else st[c]
        return col.array

    cols = {c: column(c) for c in ("role", "department", "veto") if c in st.columns}
    return pd.DataFrame({"account_id": column("account_id", True), "as_of": ts,
                         "stakeholder_id": column("stakeholder_id", True), **cols,
                         "sentiment": s, "n_responses": n_responses, "nps": s_nps, "last_heard": last_heard})


def role_sentiment(village, as_of, *, window_days=_asof.DEFAULT_WINDOW_DAYS, lead_days=0,
                   half_life_days=None) -> pd.DataFrame:
    """Long table of each account's sentiment by role, for the roles heard.

    ``sentiment`` is the plain mean of the role's heard stakeholders (the
    middle level of ``nested``); ``n_respondents`` how many were heard.
    Blank roles appear as ``role = NaN``.

    Examples
    --------
    >>> from cxinfluence.village.core import Village
    >>> v = Village(pd.DataFrame({"account_id": ["A"]}),
    ...     pd.DataFrame({"stakeholder_id": ["o1", "o2", "pm"], "account_id": ["A"] * 3,
    ...                   "role": ["user", "user", "decider"]}),
    ...     pd.DataFrame(), pd.DataFrame({"stakeholder_id": ["o1", "o2", "pm"],
    ...         "date": pd.to_datetime(["2024-01-01"] * 3), "csat": [5.0, 4.0, 1.0]}),
    ...     pd.DataFrame())
    >>> role_sentiment(v, "2024-06-30")[["role", "sentiment", "n_respondents"]]
          role  sentiment  n_respondents
    0  decider      -1.00              1
    1     user       0.75              2
    """
    st = stakeholder_sentiment(village, as_of, window_days=window_days, lead_days=lead_days,
                               half_life_days=half_life_days)
    if "role" not in st.columns:
        st = st.assign(role=np.nan)
    heard = st[st["sentiment"].notna()]
    out = (heard.groupby(["account_id", "as_of", "role"], dropna=False, sort=True)["sentiment"]
           .agg(sentiment="mean", n_respondents="size").reset_index())
    return out
