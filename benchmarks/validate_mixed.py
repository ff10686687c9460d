"""Validate ``fit_mixed``'s fixed-effect intervals by simulation: do the printed 95% intervals cover?

Each cell draws ``--reps`` data sets from a random-intercept model with a known slope,
``y_ij = 1 + 0.4 x_ij + u_j + e_ij``, ``u_j ~ N(0, tau^2)``, ``e_ij ~ N(0, 1)``, ``G`` groups of 20 rows, the
covariate either varying **within** groups (``x_ij ~ N(0, 1)``) or only **between** them (one ``x_j`` per
group, as segment-level or account-level traits are), fits ``fit_mixed(..., transform=None, lrt=False)``
(REML, started at the exact optimum) and reports for the slope: coverage of its 95% Wald interval with the Monte
Carlo SE, the mean standard error against the empirical SD of the estimates, and the mean REML estimate of
``tau^2`` against the truth. The intervals are Student's t on between-within degrees of freedom
(:func:`cxinfluence.models.mixed.between_within_df`): statsmodels' Wald z, which they replace, covered a
between-group slope 0.846 with 5 groups (benchmarks/README.md).

Run: ``python benchmarks/validate_mixed.py [--reps 1000] [--groups 5 8 15 30]`` (with ``PYTHONPATH`` at the
repository root); prints a Markdown table (recorded in docs/methods.md).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

SLOPE, TAU, ROWS = 0.4, 0.5, 20


def draw(seed, groups, where, tau=TAU, rows=ROWS):
    """One data set of the cell (``where``: "within" or "between")."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(groups), rows)
    x = rng.normal(size=groups)[g] if where == "between" else rng.normal(size=groups * rows)
    y = 1 + SLOPE * x + rng.normal(0, tau, groups)[g] + rng.normal(size=groups * rows)
    return pd.DataFrame({"account_id": np.arange(len(g)).astype(str), "segment": [f"g{i}" for i in g],
                         "x": x, "y": y})


def cell(reps, groups, where, seed0=0):
    """Coverage and the rest for one cell: a dict."""
    from cxinfluence.models.fit import fit_mixed

    est, se, hit, tau2 = [], [], 0, []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # few groups and boundary fits are flagged; the intervals are what is measured
        for r in range(reps):
            fit = fit_mixed(draw(seed0 + r, groups, where), scheme="x", controls=[], outcome="y", transform=None,
                            lrt=False)
            row = fit.tidy().set_index("term").loc["x"]
            est.append(row["estimate"])
            se.append(row["std_error"])
            hit += bool(row["ci_low"] <= SLOPE <= row["ci_high"])
            vc = fit.variance_components.set_index(["component", "group"])["estimate"]
            tau2.append(vc[("var", "segment")])
    cov = hit / reps
    return {"covariate": where, "groups": groups, "reps": reps, "coverage": cov,
            "mc_se": np.sqrt(cov * (1 - cov) / reps), "mean_se": float(np.mean(se)), "sd_estimate": float(np.std(est)),
            "mean_tau2": float(np.mean(tau2))}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--groups", type=int, nargs="+", default=[5, 8, 15, 30])
    args = parser.parse_args()
    t0 = time.perf_counter()
    rows = [cell(args.reps, g, where) for where in ("within", "between") for g in args.groups]
    print(f"| covariate | groups x rows | reps | coverage of the 95% interval (MC SE) | mean SE / SD of estimates "
          f"| mean REML tau^2 (truth {TAU ** 2:g}) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['covariate']} | {r['groups']} x {ROWS} | {r['reps']} | {r['coverage']:.3f} ({r['mc_se']:.3f}) | "
              f"{r['mean_se']:.4f} / {r['sd_estimate']:.4f} | {r['mean_tau2']:.3f} |")
    print(f"\n{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
