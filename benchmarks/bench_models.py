"""Benchmark: compare every scheme with 5-fold grouped CV on 100k accounts x 3 periods.

Target (issue 5): fitting and comparing all schemes with 5-fold grouped
cross-validation on 100,000 accounts x 3 periods in under a minute.

The model frame is generated directly (numpy; 7 scheme columns that are noisy
measures of a latent account sentiment, log revenue, 5 segments, renewal from
a logit, bookings with zeros), because this benchmark times the modelling
layer; building the frame from a village is :func:`cxinfluence.model_frame`'s
job.

Baselines measured in the same run (the machine is shared and noisy, so
ratios are more telling than seconds):

* ``one GLM fit``: a single statsmodels ``GLM(Binomial)`` fit of one scheme
  on all 300k rows (the irreducible unit of work);
* ``naive CV``: the straightforward loop, a formula-built statsmodels logit
  refitted from scratch per scheme and fold, with no diagnostics and no
  bootstrap.

Peak memory is the process's maximum resident set size (``ru_maxrss``).

Run: ``python benchmarks/bench_models.py [--accounts 100000] [--periods 3]``.
"""

from __future__ import annotations

import argparse
import resource
import time
import warnings

import numpy as np
import pandas as pd

SCHEMES = ["mean", "nps", "role_weighted", "influence_weighted", "veto_floor", "nested", "shrunk"]


def make_frame(n_accounts, periods, seed=0):
    rng = np.random.default_rng(seed)
    n = n_accounts * periods
    acc = np.repeat(np.char.add("A", np.arange(n_accounts).astype(str)), periods)
    latent = np.repeat(rng.normal(0.3, 0.35, n_accounts), periods) + rng.normal(0, 0.15, n)
    log_rev = np.repeat(rng.normal(12, 1.5, n_accounts), periods)
    seg = np.repeat(rng.choice(["energy", "food", "pharma", "chemicals", "water"], n_accounts), periods)
    df = pd.DataFrame({"account_id": acc,
                       "period_end": np.tile(pd.date_range("2023-12-31", periods=periods, freq="YE"), n_accounts),
                       "log_revenue": log_rev, "segment": seg})
    for i, s in enumerate(SCHEMES):
        x = np.clip(latent + rng.normal(0, 0.15 + 0.03 * i, n), -1, 1)
        df[s] = 100 * x if s == "nps" else x
    eta = 1.0 + 3.0 * latent + 0.2 * (log_rev - 12)
    df["renewed"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(float)
    df["bookings"] = df["renewed"] * np.exp(log_rev - 0.3 + 0.8 * latent + rng.normal(0, 0.35, n))
    return df


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None):
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    from cxinfluence.compare import compare_schemes, grouped_folds

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--periods", type=int, default=3)
    ap.add_argument("--n-boot", type=int, default=200)
    a = ap.parse_args(argv)
    warnings.simplefilter("ignore")

    df = make_frame(a.accounts, a.periods)
    print(f"frame: {len(df):,} rows ({a.accounts:,} accounts x {a.periods} periods), {len(SCHEMES)} schemes, "
          f"peak RSS so far {peak_mb():.0f} MB")
    controls = ["log_revenue", "segment"]

    # Baseline 1: one plain GLM fit
    t = time.perf_counter()
    X = sm.add_constant(pd.get_dummies(df[["influence_weighted", "log_revenue", "segment"]], drop_first=True,
                                       dtype=float))
    sm.GLM(df["renewed"].to_numpy(), X.to_numpy(), family=sm.families.Binomial()).fit()
    one_fit = time.perf_counter() - t

    # Baseline 2: naive grouped CV (formula refit from scratch, no diagnostics, no bootstrap)
    t = time.perf_counter()
    fold = grouped_folds(df["account_id"], 5, 0)
    for s in SCHEMES:
        for k in range(5):
            train = df[fold != k]
            r = smf.glm(f"renewed ~ {s} + log_revenue + segment", train, family=sm.families.Binomial()).fit()
            r.predict(df[fold == k])
    naive = time.perf_counter() - t

    # cxinfluence: all schemes, 5-fold grouped CV, diagnostics, bootstrap CIs of the differences
    t = time.perf_counter()
    c = compare_schemes(df, SCHEMES, outcome="renewed", controls=controls, folds=5, n_boot=a.n_boot)
    ours = time.perf_counter() - t
    t = time.perf_counter()
    cb = compare_schemes(df, SCHEMES, outcome="bookings", controls=controls, folds=5, n_boot=a.n_boot)
    ours_b = time.perf_counter() - t

    print(f"\n{'task':<58}{'seconds':>9}{'x one fit':>11}")
    for name, sec in ((f"one GLM logit fit ({len(df):,} rows)", one_fit),
                      ("naive grouped 5-fold CV, 7 schemes (no diagnostics/CIs)", naive),
                      (f"compare_schemes renewal: 7 schemes, 5 folds, {a.n_boot} boot", ours),
                      (f"compare_schemes bookings (Tweedie), same", ours_b)):
        print(f"{name:<58}{sec:>9.1f}{sec / one_fit:>11.1f}")
    print(f"\ncompare_schemes renewal / naive CV = {ours / naive:.2f}")
    print(f"target: renewal comparison under 60 s -> {'MET' if ours < 60 else 'NOT MET'} ({ours:.1f} s)")
    print(f"peak RSS: {peak_mb():.0f} MB")
    print("\n" + c.table[["scheme", "auc", "auc_diff", "auc_diff_low", "auc_diff_high", "log_loss"]].round(4)
          .to_string(index=False))
    print("\n" + cb.table[["scheme", "deviance", "deviance_diff", "deviance_diff_low", "deviance_diff_high"]]
          .round(2).to_string(index=False))


if __name__ == "__main__":
    main()
