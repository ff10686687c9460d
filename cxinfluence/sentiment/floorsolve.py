"""The veto floor's bootstrap quantiles: the bisection's result, with most of its steps decided without evaluating.

:func:`~cxinfluence.sentiment.estimators.veto_floor_interval` defines each quantile as the end of a bisection:
``iterations`` halvings of a bracket, each keeping the half where ``log S(mid) > target`` says the quantile lies
(``S``: the replicated floor's survival, a sum of ``log_ndtr`` terms per account; the plain form is
:func:`cxinfluence.sentiment.schemes_reference.veto_floor_interval_reference`). Each step costs one ``log_ndtr``
per heard veto holder and account: 26 steps x 2 quantiles of a 100,000-account portfolio's 260,000 holders.

:func:`bisection_quantiles` returns the same numbers, bit for bit, from far fewer evaluations. The computed
``log S`` is the sum of terms that each only fall as ``q`` rises (every rounding step on the way from ``q`` to a
term's argument is monotone, and ``log Phi`` is increasing), up to ``log_ndtr``'s own rounding and the sum's
(relative errors of order ``1e-15`` per term, all terms <= 0). So one evaluation that clears the target by a
clearance far above that error decides every step of the bisection on its side:

* ``log S(q) > target + clearance`` at some ``q``: every ``mid <= q`` takes the right half (``lo``);
* ``log S(q) < target - clearance`` at some ``q``: every ``mid >= q`` takes the left half (``hi``).

Newton's method on ``log S(q) = target`` (started at the least of each component's own quantile, which is an
upper bound of the root) finds points close on both sides of each account's root in a few evaluations; the
bisection is then replayed with its own arithmetic (the same ``mid`` values), and only the steps whose ``mid``
falls between ``lo`` and ``hi`` are evaluated, as the bisection would (typically one per account and quantile).
Accounts where Newton stalls (a root at the kink ``q = threshold + margin``) keep what it certified and have the
rest of their steps evaluated.
"""

from __future__ import annotations

import numpy as np

from ..village.ids import ranges

#: relative clearance by which an evaluation must pass the target to decide steps: far above the rounding of a
#: sum of ``log_ndtr`` terms (about 1e-15 relative per term), far below any step of the bisection
CLEARANCE = 1e-9
#: Newton evaluations per account and quantile before the replay takes over
NEWTON_STEPS = 12
#: the Newton steps end once fewer than one slot in this many is still searching or probing
STRAGGLERS = 32

_HALF_LOG_2PI = 0.5 * np.log(2.0 * np.pi)


class _LogSurvival:
    """``log S(q)`` per account slot, each value the bits of the plain bisection's evaluation (see
    :func:`cxinfluence.sentiment.estimators._floor_holders` for the arrays), for every slot or a subset."""

    def __init__(self, xs, sds, pos, b0, bsd, threshold, margin):
        from scipy.special import log_ndtr

        self.log_ndtr = log_ndtr
        self.xs, self.sds, self.pos, self.b0, self.bsd = xs, sds, pos, b0, bsd
        self.threshold, self.margin = threshold, margin
        self.count = np.bincount(pos, minlength=len(b0))
        self.first = np.cumsum(self.count) - self.count
        # a holder's term where q - margin >= threshold (their cut is the threshold): the same at every such q
        self.at_threshold = log_ndtr((xs - threshold) / sds)

    def __call__(self, q, slots=None, slope=False):
        """``log S`` at ``q`` (one value per slot of ``slots``, default every slot); with ``slope``, also its
        derivative in ``q`` (for Newton's steps only: it decides nothing)."""
        if slots is None:
            pos, xs, sds, b0, bsd, fixed = self.pos, self.xs, self.sds, self.b0, self.bsd, self.at_threshold
        else:  # the holders of these slots, in the same order: each slot's sum adds the same terms in turn
            count = self.count[slots]
            held = ranges(self.first[slots], count)
            pos, xs, sds = np.repeat(np.arange(len(slots)), count), self.xs[held], self.sds[held]
            b0, bsd, fixed = self.b0[slots], self.bsd[slots], self.at_threshold[held]
        cut = q - self.margin
        moving = ~(cut >= self.threshold)[pos]  # holders whose cut is q - margin itself (the others stay put)
        if 2 * np.count_nonzero(moving) > len(pos):  # most of them: every term afresh costs less than gathering
            z = (xs - np.minimum(self.threshold, cut[pos])) / sds
            terms = self.log_ndtr(z)
        else:
            z, terms = np.zeros(len(pos)), fixed.copy()
            z[moving] = (xs[moving] - np.minimum(self.threshold, cut[pos[moving]])) / sds[moving]
            terms[moving] = self.log_ndtr(z[moving])
        zb = (b0 - q) / bsd
        base = self.log_ndtr(zb)
        value = base + np.bincount(pos, terms, len(q))
        if not slope:
            return value
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            # d/dq log Phi((c - q) / s) = -phi/Phi / s, with phi/Phi = exp(log phi - log Phi)
            held = np.where(moving, np.exp(-0.5 * z * z - _HALF_LOG_2PI - terms) / sds, 0.0)
            d = -(np.exp(-0.5 * zb * zb - _HALF_LOG_2PI - base) / bsd + np.bincount(pos, held, len(q)))
        return value, d


def bisection_quantiles(xs, sds, pos, b0, bsd, left0, right0, probs, threshold, margin, iterations):
    """``{p: q}``: for each account slot, the end of the bisection of ``log S(q) = log(1 - p)`` over
    ``[left0, right0]`` (``iterations`` halvings), as
    :func:`cxinfluence.sentiment.schemes_reference.veto_floor_interval_reference` computes it, bit for bit
    (see the module docstring for how most steps are decided without evaluating ``log S``).

    ``xs, sds, pos``: each heard veto holder's sentiment, its SD and its account slot (slots 0..n-1, holders
    grouped by slot); ``b0, bsd``: each slot's base score and SD.

    Examples
    --------
    >>> xs, sds, pos = np.array([-0.5, 0.1]), np.array([0.2, 0.3]), np.array([0, 0])
    >>> q = bisection_quantiles(xs, sds, pos, np.array([0.6]), np.array([0.05]), np.array([-2.0]), np.array([1.0]),
    ...                         (0.025, 0.975), 0.3, 0.25, 26)
    >>> [round(float(q[p][0]), 4) for p in (0.025, 0.975)]
    [-0.6436, 0.1201]
    """
    log_s = _LogSurvival(xs, sds, pos, b0, bsd, threshold, margin)
    clearance = CLEARANCE * np.maximum(1.0, log_s.count / 10_000)  # a sum of more terms rounds more
    return {p: _replayed(log_s, left0, right0, np.log1p(-p), clearance, iterations, _start(log_s, p))
            for p in probs}


def _start(log_s, p):
    """Each slot's least component quantile: where the base alone, or one holder alone, has survival ``1 - p``.
    The floor's survival is at most each component's, so its quantile lies at or below this (inf: none)."""
    from scipy.special import ndtri

    c = float(ndtri(1.0 - p))
    alone = np.where(log_s.xs - log_s.sds * c <= log_s.threshold, log_s.xs + log_s.margin - log_s.sds * c, np.inf)
    least = np.full(len(log_s.b0), np.inf)
    has = log_s.count > 0
    least[has] = np.minimum.reduceat(alone, log_s.first[has])
    return np.minimum(log_s.b0 - log_s.bsd * c, least)


def _replayed(log_s, left0, right0, target, clearance, iterations, start):
    """The bisection's end for one target: certified bounds by Newton's method, then the bisection replayed."""
    n = len(left0)
    lo, hi = np.full(n, -np.inf), np.full(n, np.inf)  # certified: log S > target beyond lo's left, < beyond hi
    need = clearance * (1.0 + abs(target))

    def evaluate(q, slots, slope=False):
        """``log S`` at ``q`` of ``slots`` (None: all), the certified bounds updated."""
        out = log_s(q, slots, slope)
        value = out[0] if slope else out
        every = slice(None) if slots is None else slots
        above = value > target + need[every]
        below = value < target - clearance[every] * (1.0 + np.abs(value))
        lo[every] = np.where(above, np.maximum(lo[every], q), lo[every])
        hi[every] = np.where(below, np.minimum(hi[every], q), hi[every])
        return out

    _newton(evaluate, left0, right0, target, start, need, lo, hi)
    # the bisection's own arithmetic, in place (the same values as 0.5 * (left + right) and np.where)
    left, right, mid = left0.copy(), right0.copy(), np.empty(n)
    go_right, open_ = np.empty(n, dtype=bool), np.empty(n, dtype=bool)
    for _ in range(iterations):
        np.add(left, right, out=mid)
        mid *= 0.5
        np.less_equal(mid, lo, out=go_right)
        np.greater(mid, lo, out=open_)
        open_ &= mid < hi  # not decided by a certified bound: evaluated, as the bisection would
        slots = np.flatnonzero(open_)
        if len(slots):
            go_right[slots] = evaluate(mid[slots], slots) > target
        np.copyto(left, mid, where=go_right)
        np.copyto(right, mid, where=~go_right)
    return 0.5 * (left + right)


def _newton(evaluate, left0, right0, target, start, need, lo, hi):
    """Newton's method on ``log S(q) = target`` from ``start`` (where it lies inside the bracket), kept inside the
    bracket of the signs seen (a step that would leave it halves it instead); once a slot's step is negligible, a
    probe just past the root on each side not yet certified. Every slot is evaluated at each step (a subset costs
    nearly as much to gather); only the certified bounds the evaluations leave (``evaluate``: ``lo``, ``hi``) are
    used, so a slot that does not settle keeps what it certified."""
    n = len(left0)
    left, right = left0.copy(), right0.copy()
    q = np.where((start > left) & (start < right), start, 0.5 * (left + right))
    root, delta = np.full(n, np.nan), np.full(n, np.nan)
    # Newton's step from each end of the bracket (NaN: not evaluated there yet)
    from_left, from_right = np.full(n, np.nan), np.full(n, np.nan)
    stage = np.zeros(n, dtype=np.int8)  # what q is: 0 Newton's point, 1 a probe below the root, 2 above, 3 none
    for _ in range(NEWTON_STEPS):
        busy = np.flatnonzero(stage != 3)
        if 4 * len(busy) < n:  # few left: gathering their holders costs less than evaluating every slot
            value, slope = np.full(n, np.nan), np.full(n, np.nan)
            value[busy], slope[busy] = evaluate(q[busy], busy, slope=True)
        else:
            value, slope = evaluate(q, None, slope=True)
        newton = stage == 0
        gap = value - target
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            step = -gap / slope
            new = q + step
        rises = newton & (gap > 0)  # the root lies to the right of q
        falls = newton & ~(gap > 0)
        left, from_left = np.where(rises, q, left), np.where(rises, new, from_left)
        right, from_right = np.where(falls, q, right), np.where(falls, new, from_right)
        # a step that leaves the bracket (a concave stretch seen from its left, a convex one from its right) is
        # taken from the bracket's other end instead, else the bracket is halved
        inside = (new > left) & (new < right)
        other = np.where(rises, from_right, from_left)
        new = np.where(inside, new, np.where((other > left) & (other < right), other, 0.5 * (left + right)))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            settled = newton & (np.abs(step) <= 1e-10 * (1.0 + np.abs(q)))
            root = np.where(settled, np.clip(q + step, left, right), root)
            delta = np.where(settled, 4.0 * need / np.abs(slope) + 1e-12 * (1.0 + np.abs(root)), delta)
            # each slot's next point: Newton's, then a probe below the root, then one above, then none (3); a
            # side needs no probe when a certified bound lies within twice the probe's distance, and a probe
            # farther than the bracket is wide (a flat stretch) is left to the replay
            far = ~(delta < 0.25 * (right0 - left0))
            stage = np.where(settled, np.where(far, 3, 1),
                             np.where(stage == 1, 2, np.where(stage == 2, 3, stage))).astype(np.int8)
            stage[(stage == 1) & ~(lo < root - 2.0 * delta)] = 2
            stage[(stage == 2) & ~(hi > root + 2.0 * delta)] = 3
        if np.count_nonzero(stage != 3) * STRAGGLERS < n:  # the few left are cheaper evaluated in the replay
            break
        q = np.select([stage == 0, stage == 1, stage == 2], [new, root - delta, root + delta], root)
