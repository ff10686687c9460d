"""Coverage of every metric and scheme interval, by simulation.

:func:`coverage_table` draws many small accounts from known answer
distributions, computes each interval exactly as the package does
(:func:`cxinfluence.metrics.metric_arrays` for the survey metrics,
:func:`cxinfluence.sentiment.schemes_from_codes` for the account schemes) and
reports how often it contains the true value, at ``n = 2, 3, 5, 10, 30``
respondents. An interval that claims 95 % and covers less than
:data:`MIN_COVERAGE` in some scenario is labelled ``approximate`` with its
measured coverage (``docs/methods.md`` holds the full table;
``tests/test_intervals.py`` runs a small seeded version).

Scenarios
---------
Metrics (answers drawn i.i.d. from a fixed distribution; the truth is the
metric of that distribution):

* ``very_satisfied``: CSAT/trust 5 with probability 0.8, 4 with 0.2 (mean
  4.8); NPS 10/9/8 with 0.6/0.3/0.1; NetEasy 1/2 with 0.7/0.3;
* ``skewed``: CES 1-5 with 0.6/0.25/0.1/0.04/0.01 (mean 1.61);
* ``spread``: 1-5 with 0.1/0.2/0.4/0.2/0.1, NPS Binomial(10, 0.6);
* ``rare_outlier``: 5 with 0.95, 1 with 0.05 (a hard case for any interval:
  at n = 3 one answer of 1 pulls the mean to 3.7).

Schemes (each person's sentiment is an NPS answer ``Binomial(10, p_role)``
on the common scale, so the person-level mean is ``2 p - 1``; roles drawn
with probabilities ``decider 0.2, buyer 0.2, user 0.6``; influence
``a_role * Gamma(2)`` with ``a`` = 3, 2, 1; every person heard; the truth of a
weighted scheme is its population value ``E[w x] / E[w]``, of ``nested``
the role-weighted mean of the role means):

* ``very_satisfied``: ``p = 0.95`` for everyone;
* ``mixed``: decider ``p = 0.3``, buyer 0.6, user 0.85.

``shrunk`` is checked over a portfolio whose account means vary
(``p_a ~ U(0.3, 0.95)``), the truth being each account's own mean;
``veto_floor`` over accounts with two veto holders whose true means are
detractor-level (-0.4 and -0.2) answering twice each with noise, beside users.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .metrics import METRICS, metric_arrays
from .schemes import VETO_THRESHOLD, schemes_from_codes

#: Coverage below which an interval claiming 95 % is labelled approximate.
MIN_COVERAGE = 0.93

N_VALUES = (2, 3, 5, 10, 30)

_SCALE_DISTS = {
    "very_satisfied": {4: 0.2, 5: 0.8},
    "spread": {1: 0.1, 2: 0.2, 3: 0.4, 4: 0.2, 5: 0.1},
    "rare_outlier": {1: 0.05, 5: 0.95},
}
_METRIC_SCENARIOS = {
    # metric -> {scenario: distribution of the answers}
    "csat_mean": _SCALE_DISTS,
    "trust": _SCALE_DISTS,
    "cared_for": _SCALE_DISTS,
    "csat": _SCALE_DISTS,
    "trust_high": _SCALE_DISTS,
    "cared_for_high": _SCALE_DISTS,
    "ces": {"skewed": {1: 0.6, 2: 0.25, 3: 0.1, 4: 0.04, 5: 0.01}, "spread": _SCALE_DISTS["spread"]},
    "ces_low": {"skewed": {1: 0.6, 2: 0.25, 3: 0.1, 4: 0.04, 5: 0.01}, "spread": _SCALE_DISTS["spread"]},
    "nps": {"very_satisfied": {8: 0.1, 9: 0.3, 10: 0.6}, "spread": "binom10_0.6"},
    "neteasy": {"very_satisfied": {1: 0.7, 2: 0.3}, "skewed": {1: 0.4, 2: 0.3, 3: 0.15, 4: 0.1, 5: 0.05}},
    "sentiment": {"very_satisfied": {0.8: 0.3, 1.0: 0.7}, "spread": {-1.0: 0.1, 0.0: 0.3, 0.5: 0.4, 1.0: 0.2}},
}


def _dist(spec):
    if isinstance(spec, str):  # "binom10_p"
        from scipy.stats import binom

        p = float(spec.split("_")[1])
        v = np.arange(11.0)
        return v, binom.pmf(v, 10, p)
    v = np.array(list(spec.keys()), dtype=float)
    return v, np.array(list(spec.values()), dtype=float)


def _metric_truth(metric, v, p):
    _, kind, par = METRICS[metric]
    if kind == "mean":
        return float(v @ p)
    good = float(p[(v >= par["good"][0]) & (v <= par["good"][1])].sum())
    if kind == "share":
        return 100.0 * good
    bad = float(p[(v >= par["bad"][0]) & (v <= par["bad"][1])].sum())
    return 100.0 * (good - bad)


def metric_coverage(reps=2000, n_values=N_VALUES, seed=0, conf_level=0.95) -> pd.DataFrame:
    """Coverage of the survey-metric intervals (one row per metric, scenario, n).

    Examples
    --------
    >>> t = metric_coverage(reps=200, n_values=(3,))
    >>> list(t.columns[:5]), bool((t["coverage"] > 0.8).all())
    (['kind', 'name', 'scenario', 'n', 'claimed'], True)
    """
    rng = np.random.default_rng(seed)
    rows = []
    for metric, scenarios in _METRIC_SCENARIOS.items():
        col = METRICS[metric][0]
        for scen, spec in scenarios.items():
            v, p = _dist(spec)
            truth = _metric_truth(metric, v, p)
            for n in n_values:
                x = rng.choice(v, size=reps * n, p=p)
                g = np.repeat(np.arange(reps), n)
                _, _, lo, hi = metric_arrays({col: x}, g, np.arange(reps * n), reps, [metric],
                                                 unit="response", conf_level=conf_level)[metric]
                rows.append(_row("metric", metric, scen, n, truth, lo, hi, reps, conf_level))
    return pd.DataFrame(rows)


def _row(kind, name, scen, n, truth, lo, hi, reps, conf_level):
    truth = np.broadcast_to(np.asarray(truth, dtype=float), np.shape(lo))
    ok = np.isfinite(lo) & np.isfinite(hi)
    cov = float(np.mean(ok & (lo <= truth + 1e-12) & (truth - 1e-12 <= hi)))
    return {"kind": kind, "name": name, "scenario": scen, "n": n, "claimed": conf_level, "coverage": cov,
            "mean_width": float(np.nanmean(hi - lo)), "defined": float(ok.mean()), "reps": reps}


_ROLES = np.array([0, 1, 2])  # decider, buyer, user
_ROLE_P = np.array([0.2, 0.2, 0.6])
_ROLE_W = np.array([3.0, 2.0, 1.0])  # DEFAULT_ROLE_WEIGHTS decider, buyer, user
_ROLE_INF = np.array([3.0, 2.0, 1.0])
_SCHEME_SCENARIOS = {"very_satisfied": np.array([0.95, 0.95, 0.95]), "mixed": np.array([0.3, 0.6, 0.85])}


def _nps_truth(p_role, probs):
    from scipy.stats import binom

    prom = np.array([binom.sf(8, 10, q) for q in p_role])
    det = np.array([binom.cdf(6, 10, q) for q in p_role])
    return 100.0 * float(probs @ (prom - det))


def scheme_coverage(reps=2000, n_values=N_VALUES, seed=0, conf_level=0.95) -> pd.DataFrame:
    """Coverage of the account-scheme intervals (one row per scheme, scenario, n).

    Examples
    --------
    >>> t = scheme_coverage(reps=200, n_values=(5,))
    >>> bool(set(t["name"]) >= {"mean", "role_weighted", "influence_weighted", "nested", "nps", "shrunk", "veto_floor"})
    True
    """
    rng = np.random.default_rng(seed)
    rows = []
    for scen, p_role in _SCHEME_SCENARIOS.items():
        mu = 2.0 * p_role - 1.0
        truth = {
            "mean": float(_ROLE_P @ mu),
            "role_weighted": float((_ROLE_P * _ROLE_W) @ mu / (_ROLE_P @ _ROLE_W)),
            "influence_weighted": float((_ROLE_P * _ROLE_INF) @ mu / (_ROLE_P @ _ROLE_INF)),
            "nested": float(_ROLE_W @ mu / _ROLE_W.sum()),
            "nps": _nps_truth(p_role, _ROLE_P),
        }
        for n in n_values:
            A = reps
            role = rng.choice(_ROLES, size=A * n, p=_ROLE_P)
            ans = rng.binomial(10, p_role[role]).astype(float)
            x = ans / 5.0 - 1.0
            acc = np.repeat(np.arange(A), n)
            inf = _ROLE_INF[role] * rng.gamma(2.0, size=A * n)
            inf /= np.bincount(acc, inf, A)[acc]
            out, _ = schemes_from_codes(np.arange(A * n), x, acc, role, np.zeros(A * n, bool), inf, A,
                                        resp_nps=ans, role_weights=_ROLE_W, conf_level=conf_level)
            for name, t in truth.items():
                rows.append(_row("scheme", name, scen, n, t, out[f"{name}_ci_low"], out[f"{name}_ci_high"], reps,
                                 conf_level))
    rows += _shrunk_rows(reps, n_values, rng, conf_level)
    rows += _veto_rows(reps, n_values, rng, conf_level)
    return pd.DataFrame(rows)


def _shrunk_rows(reps, n_values, rng, conf_level):
    rows = []
    for n in n_values:
        A = reps
        p_acc = rng.uniform(0.3, 0.95, A)
        acc = np.repeat(np.arange(A), n)
        x = rng.binomial(10, p_acc[acc]) / 5.0 - 1.0
        inf = np.full(A * n, 1.0 / n)
        out, _ = schemes_from_codes(np.arange(A * n), x, acc, np.zeros(A * n, np.int64), np.zeros(A * n, bool),
                                    inf, A, conf_level=conf_level)
        rows.append(_row("scheme", "shrunk", "varying_accounts", n, 2 * p_acc - 1, out["shrunk_ci_low"],
                         out["shrunk_ci_high"], reps, conf_level))
    return rows


def _veto_rows(reps, n_values, rng, conf_level, margin=0.25):
    rows = []
    for n in n_values:
        if n < 2:
            continue
        A = reps
        mu = np.tile(np.r_[-0.4, -0.2, np.full(n - 2, 0.6)], A)  # two veto holders, then users
        veto = np.tile(np.r_[True, True, np.zeros(n - 2, bool)], A)
        acc = np.repeat(np.arange(A), n)
        k = 2  # answers per person
        r_sh = np.repeat(np.arange(A * n), k)
        x = np.clip(mu[r_sh] + rng.normal(0.0, 0.3, A * n * k), -1.0, 1.0)
        inf = np.full(A * n, 1.0 / n)
        out, _ = schemes_from_codes(r_sh, x, acc, np.zeros(A * n, np.int64), veto, inf, A, conf_level=conf_level,
                                    sorted_by_stakeholder=True)
        # the truth of each person is the mean of their clipped answers' distribution
        grid = np.clip(np.array([-0.4, -0.2, 0.6])[:, None] + rng.normal(0.0, 0.3, (1, 200_000)), -1, 1).mean(1)
        base = (grid[0] + grid[1] + (n - 2) * grid[2]) / n
        low = min(grid[0], grid[1])
        truth = min(base, low + margin) if low < VETO_THRESHOLD else base
        rows.append(_row("scheme", "veto_floor", "two_detractor_vetoes", n, truth, out["veto_floor_ci_low"],
                         out["veto_floor_ci_high"], reps, conf_level))
    return rows


def coverage_table(reps=2000, n_values=N_VALUES, seed=0, conf_level=0.95) -> pd.DataFrame:
    """Metric and scheme coverage in one table, with each interval's verdict.

    Adds ``min_coverage`` (the worst scenario of that interval and n) and
    ``label``: ``"95%"`` when every scenario covers at least
    :data:`MIN_COVERAGE`, else ``"approximate (min coverage 0.xx)"``.
    """
    t = pd.concat([metric_coverage(reps, n_values, seed, conf_level),
                   scheme_coverage(reps, n_values, seed + 1, conf_level)], ignore_index=True)
    worst = t.groupby(["kind", "name"])["coverage"].transform("min")
    t["min_coverage"] = worst
    t["label"] = np.where(worst >= MIN_COVERAGE, f"{round(conf_level * 100)}%",
                          "approximate (min coverage " + worst.round(2).astype(str) + ")")
    return t
