"""The veto floor's quantiles from a few certified evaluations (sentiment/floorsolve.py) equal the plain bisection
bit for bit, on the awkward cases too: SDs clamped at 1e-12, roots at the kink, many holders, extreme levels."""

import numpy as np
import pytest
from scipy.special import log_ndtr

from cxinfluence.sentiment import floorsolve
from cxinfluence.sentiment.floorsolve import bisection_quantiles


def plain_bisection(xs, sds, pos, b0, bsd, left0, right0, probs, threshold, margin, iterations):
    """The definition: every holder's term at every step of the bisection."""
    n = len(b0)

    def log_survival(q):
        cut = np.minimum(threshold, q[pos] - margin)
        return log_ndtr((b0 - q) / bsd) + np.bincount(pos, log_ndtr((xs - cut) / sds), n)

    out = {}
    for p in probs:
        target = np.log1p(-p)
        left, right = left0, right0
        for _ in range(iterations):
            mid = 0.5 * (left + right)
            below = log_survival(mid) > target
            left = np.where(below, mid, left)
            right = np.where(below, right, mid)
        out[p] = 0.5 * (left + right)
    return out


def _holders(rng, n, per, *, sd_zero=0.0, base_sd_zero=0.0, on_threshold=0.0, threshold=0.3):
    count = rng.integers(1, per + 1, n)
    pos = np.repeat(np.arange(n), count)
    xs = rng.uniform(-1, 1, len(pos))
    xs[rng.random(len(pos)) < on_threshold] = threshold  # sentiment exactly at the threshold
    sds = np.maximum(np.where(rng.random(len(pos)) < sd_zero, 0.0, rng.uniform(0.01, 0.6, len(pos))), 1e-12)
    b0 = rng.uniform(-1, 1, n)
    bsd = np.maximum(np.where(rng.random(n) < base_sd_zero, 0.0, rng.uniform(0.01, 0.4, n)), 1e-12)
    span = 8.0 * np.maximum(bsd, np.bincount(pos, sds, n))
    starts = np.cumsum(count) - count
    return xs, sds, pos, b0, bsd, starts, span


@pytest.mark.parametrize("seed, per, threshold, margin, probs, iterations, extra", [
    (0, 3, 0.3, 0.25, (0.025, 0.975), 26, {}),
    (1, 1, 0.3, 0.25, (0.025, 0.975), 26, {"sd_zero": 0.2, "base_sd_zero": 0.2}),  # step functions
    (2, 40, 0.0, 0.1, (0.005, 0.995), 26, {"on_threshold": 0.3}),
    (3, 5, -0.5, 0.0, (0.25, 0.75), 40, {}),
    (4, 5, 1.5, 0.25, (0.5, 1e-6, 1 - 1e-6), 26, {}),
    (5, 8, 0.3, 0.25, (0.025, 0.975), 10, {"sd_zero": 0.05}),
    (6, 300, 0.3, 0.25, (0.025, 0.975), 60, {}),
])
def test_quantiles_equal_the_plain_bisection_bitwise(seed, per, threshold, margin, probs, iterations, extra):
    rng = np.random.default_rng(seed)
    n = 60 if per > 100 else 1500
    xs, sds, pos, b0, bsd, starts, span = _holders(rng, n, per, threshold=threshold, **extra)
    low_x = np.minimum.reduceat(xs - 8.0 * sds, starts) + margin
    args = (xs, sds, pos, b0, bsd, np.minimum(b0 - span, low_x), b0 + span, probs, threshold, margin, iterations)
    got, want = bisection_quantiles(*args), plain_bisection(*args)
    for p in probs:
        assert np.array_equal(got[p], want[p]), (p, np.flatnonzero(got[p] != want[p])[:5])


def test_roots_at_the_kink_and_outside_the_bracket():
    # account 0: one holder whose capped survival is the target itself, so log S equals the target (up to
    # rounding) on the whole stretch right of the kink q = threshold + margin: every step there is a coin toss of
    # rounding, which only an evaluation can settle; account 1: a root just past the kink; accounts 2-3: brackets
    # that miss the root on either side
    from scipy.special import ndtri

    threshold, margin, p = 0.3, 0.25, 0.975
    xs = np.array([threshold + 0.2 * ndtri(1 - p), threshold + 0.01, -0.2, 0.4])
    sds = np.array([0.2, 0.05, 0.1, 0.3])
    pos = np.array([0, 1, 2, 3])
    b0, bsd = np.array([5.0, 0.95, -0.9, 0.2]), np.array([0.1, 0.02, 0.05, 0.1])
    left0, right0 = np.array([-2.0, -1.0, -3.0, 0.5]), np.array([2.0, 3.0, -2.5, 0.6])
    args = (xs, sds, pos, b0, bsd, left0, right0, (0.025, p), threshold, margin, 26)
    got, want = bisection_quantiles(*args), plain_bisection(*args)
    for q in got:
        assert np.array_equal(got[q], want[q])


def test_most_steps_are_decided_without_evaluating(monkeypatch):
    # the point of the module: far fewer evaluations of log S than the bisection's 26 per account and quantile
    rng = np.random.default_rng(9)
    n = 4000
    xs, sds, pos, b0, bsd, starts, span = _holders(rng, n, 4)
    low_x = np.minimum.reduceat(xs - 8.0 * sds, starts) + 0.25
    evaluated = []
    original = floorsolve._LogSurvival.__call__

    def counting(self, q, slots=None, slope=False):
        evaluated.append(len(q))
        return original(self, q, slots, slope)

    monkeypatch.setattr(floorsolve._LogSurvival, "__call__", counting)
    bisection_quantiles(xs, sds, pos, b0, bsd, np.minimum(b0 - span, low_x), b0 + span, (0.025, 0.975), 0.3, 0.25,
                        26)
    per_account = sum(evaluated) / n / 2
    assert per_account < 10, per_account  # the plain bisection: 26


@pytest.mark.parametrize("p", [0.975, 0.9, 0.5])
def test_flat_stretches_at_the_target_warn_nothing(p):
    # one holder whose capped survival is the target itself (log S flat at the target right of the kink, up to
    # rounding and a second holder's tiny moving term): Newton's slope there is ~0, its probes would be far away;
    # the bits are still the bisection's and nothing overflows (a thread's RuntimeWarning would reach the user)
    import warnings

    from scipy.special import ndtri

    rng = np.random.default_rng(int(p * 100))
    n, threshold, margin = 500, 0.3, 0.25
    sd = rng.uniform(0.05, 0.5, n)
    xs = np.column_stack([threshold + sd * ndtri(1 - p), rng.uniform(0.9, 1.0, n)]).ravel()
    sds = np.column_stack([sd, rng.uniform(0.01, 0.05, n)]).ravel()
    args = (xs, sds, np.repeat(np.arange(n), 2), rng.uniform(3, 6, n), rng.uniform(0.05, 0.1, n),
            rng.uniform(-2, 0, n), rng.uniform(1, 4, n), (1 - p, p), threshold, margin, 26)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = bisection_quantiles(*args)
    want = plain_bisection(*args)
    for q in got:
        assert np.array_equal(got[q], want[q])
