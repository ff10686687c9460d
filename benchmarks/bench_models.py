"""Benchmark: the "models" stage of ``cxinfluence run`` at portfolio scale, against a baseline revision.

The stage (``pipeline.runner._models`` after the model frame is built) fits
the rebuy logit for 7 schemes, Tweedie bookings, the decision equation by
role and by veto/non-veto, the measurement-error refit of
``influence_heard`` (regression calibration), builds ``models_table`` and
runs ``compare_schemes`` (5-fold grouped CV, 200 bootstrap replicates,
reusing the rebuy fits), then releases the fits as the run does
(``release_fits``, the primary rebuy fit kept to predict from). The same sequence runs twice on the same frame,
each in its own process:

* **baseline**: the whole ``cxinfluence`` package as of a git revision
  (``--baseline``, default ``e3c6f55``: main before the lean GLM fits of
  issue #18), exported with ``git archive``;
* **current**: the package as checked out.

The machine is shared and noisy, so the ratio of the two, measured in the
same run, is more telling than seconds. Each step reports wall time and
CPU time (user + system of all threads, ``resource.getrusage``); each
process its peak resident memory (``ru_maxrss``, MiB); the load average is printed before and
after. The script also prints the largest relative difference between the
two runs' estimates, standard errors, ``models_table`` and comparison table.

BLAS threads: both processes run with the environment as given (default:
OpenBLAS's own thread count); the current code caps BLAS at one thread
inside the fits itself (``cxinfluence.models.threads``). ``--threads 1``
sets ``OPENBLAS_NUM_THREADS=1`` for both.

The frame is generated (``--accounts``, ``--periods``: 7 scheme columns as
noisy measures of a latent account sentiment, role sentiments with unheard
roles, ``influence_heard`` with its per-account SE, log revenue, 5 segments,
renewal from a logit, bookings with zeros) or read from a pickled model frame
(``--frame``, e.g. one written by ``cxinfluence.model_frame(village).to_pickle(...)``).

Figures: benchmarks/README.md, Models.

Run: ``python benchmarks/bench_models.py [--accounts 100000] [--periods 4] [--frame F.pkl] [--baseline REV]``.
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

SCHEMES = ["mean", "nps", "role_weighted", "influence_weighted", "veto_floor", "nested", "shrunk"]
ROLES = ["decider", "buyer", "user", "influencer", "gatekeeper"]
STEPS = ["7 fit_rebuy", "fit_bookings tweedie", "decision_equation", "veto_equation", "measurement correction",
         "models_table", "compare_schemes", "release_fits (as the run)", "total"]
REPO = Path(__file__).resolve().parents[1]


def make_frame(n_accounts, periods, seed=0):
    """A model frame with the columns the stage uses (see the module docstring)."""
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
    df.loc[rng.uniform(size=n) < 0.001, "nps"] = np.nan  # as in a village: a few accounts without NPS items
    for r in ROLES + ["veto", "nonveto"]:
        heard = rng.uniform(size=n) < 0.7
        df[f"sent_{r}"] = np.where(heard, np.clip(latent + rng.normal(0, 0.4, n), -1, 1), np.nan)
        df[f"heard_{r}"] = heard.astype(float)
    n_resp = rng.integers(1, 9, n)
    df["n_respondents"] = n_resp
    df["influence_heard_se"] = np.where(n_resp > 1, 0.35 / np.sqrt(n_resp), np.nan)
    df["influence_heard"] = np.clip(latent + rng.normal(0, 0.35 / np.sqrt(n_resp)), -1, 1)
    eta = 1.0 + 3.0 * latent + 0.2 * (log_rev - 12)
    df["renewed"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(float)
    df["bookings"] = df["renewed"] * np.exp(log_rev - 0.3 + 0.8 * latent + rng.normal(0, 0.35, n))
    return df


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_stage(frame_path, out_path):
    """Run the stage with whichever ``cxinfluence`` is first on ``sys.path``; pickle times and results."""
    import statsmodels.api  # noqa: F401  (import cost out of the timings)

    from cxinfluence.models.compare import compare_schemes
    from cxinfluence.models.fit import decision_equation, fit_bookings, fit_rebuy, models_table
    from cxinfluence.models.measurement import corrected_fit

    warnings.simplefilter("ignore")
    frame = pd.read_pickle(frame_path)
    times, cpus, fits = {}, {}, {}

    def timed(step, f):
        t, c = time.perf_counter(), cpu_s()
        out = f()
        times[step], cpus[step] = time.perf_counter() - t, cpu_s() - c
        return out

    t0, c0 = time.perf_counter(), cpu_s()
    timed(STEPS[0], lambda: fits.update({f"rebuy:{s}": fit_rebuy(frame, scheme=s) for s in SCHEMES}))
    fits["bookings:tweedie"] = timed(STEPS[1], lambda: fit_bookings(frame, scheme="influence_weighted",
                                                                    family="tweedie"))
    fits["decision_equation"] = timed(STEPS[2], lambda: decision_equation(frame))
    fits["veto_equation"] = timed(STEPS[3], lambda: decision_equation(frame, roles=["veto", "nonveto"],
                                                                      name="veto_equation"))
    corrected = timed(STEPS[4], lambda: corrected_fit(frame, "influence_heard", method="calibration"))
    fits["rebuy_calibrated:influence_heard"] = corrected.fit
    table = timed(STEPS[5], lambda: models_table(list(fits.values())))
    comp = timed(STEPS[6], lambda: compare_schemes(frame, schemes=SCHEMES, folds=5, seed=0, n_boot=200,
                                                   fits={s: fits[f"rebuy:{s}"] for s in SCHEMES}))
    params = {k: (np.asarray(f.result.params), np.asarray(f.result.bse)) for k, f in fits.items()}
    # the run then lets go of the fitted rows, keeping what it predicts from (predict=, or statsmodels' results in
    # revisions before it)
    from cxinfluence.models.release import release_fits

    keep = "predict" if "predict" in release_fits.__code__.co_varnames else "statsmodels"
    timed(STEPS[7], lambda: release_fits(fits, comp, **{keep: ["rebuy:influence_weighted"]}))
    times["total"], cpus["total"] = time.perf_counter() - t0, cpu_s() - c0
    results = {"times": times, "cpus": cpus, "cpu": cpu_s() - c0, "peak_mib": peak_mib(), "models_table": table,
               "comparison": comp.table, "correction": corrected.table, "params": params}
    with open(out_path, "wb") as fh:
        pickle.dump(results, fh)


def baseline_package(rev, into):
    """The whole ``cxinfluence`` package as of git revision ``rev`` (``git archive``), under ``into``."""
    into = Path(into)
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "cxinfluence"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def run_in_process(root, frame_path, out_path):
    code = (f"import sys; sys.path.insert(0, {str(root)!r}); sys.path.insert(1, {str(REPO / 'benchmarks')!r}); "
            f"import bench_models; bench_models.run_stage({str(frame_path)!r}, {str(out_path)!r})")
    subprocess.run([sys.executable, "-c", code], check=True)
    with open(out_path, "rb") as fh:
        return pickle.load(fh)


def max_rel(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    both = np.isnan(a) & np.isnan(b)
    scale = np.maximum(np.abs(a), np.abs(b))
    d = np.abs(a - b) / np.where(scale > 0, scale, 1.0)
    return float(np.max(np.where(both, 0.0, d))) if d.size else 0.0


def report(base, cur):
    print(f"\n{'step':<24}{'baseline s':>12}{'current s':>12}{'speed-up':>10}{'base CPU s':>12}{'cur CPU s':>11}"
          f"{'CPU ratio':>11}")
    for step in STEPS:
        b, c = base["times"][step], cur["times"][step]
        bc, cc = base.get("cpus", {}).get(step, np.nan), cur.get("cpus", {}).get(step, np.nan)
        print(f"{step:<24}{b:>12.2f}{c:>12.2f}{b / c:>9.1f}x{bc:>12.2f}{cc:>11.2f}{bc / cc:>10.1f}x")
    print(f"CPU (user + system): baseline {base['cpu']:.1f} s, current {cur['cpu']:.1f} s "
          f"({base['cpu'] / cur['cpu']:.1f}x)")
    print(f"peak RSS: baseline {base['peak_mib']:.0f} MiB, current {cur['peak_mib']:.0f} MiB")
    est = max(max_rel(base["params"][k][0], cur["params"][k][0]) for k in cur["params"])
    se = max(max_rel(base["params"][k][1], cur["params"][k][1]) for k in cur["params"])
    num = base["models_table"].select_dtypes("number").columns
    mt = max_rel(base["models_table"][num], cur["models_table"][num])
    num = base["comparison"].select_dtypes("number").columns
    ct = max_rel(base["comparison"][num], cur["comparison"][num])
    num = base["correction"].select_dtypes("number").columns
    mc = max_rel(base["correction"][num], cur["correction"][num])
    text_same = (base["models_table"].drop(columns=base["models_table"].select_dtypes("number").columns)
                 .equals(cur["models_table"].drop(columns=cur["models_table"].select_dtypes("number").columns)))
    print(f"max relative difference: estimates {est:.1e}, std errors {se:.1e}, models_table {mt:.1e}, "
          f"comparison table {ct:.1e}, measurement correction {mc:.1e}; "
          f"models_table text (terms, warnings) identical: {text_same}")
    if not text_same:
        b, c = base["models_table"].set_index(["model", "term"]), cur["models_table"].set_index(["model", "term"])
        differ = b["warning"].astype(str) != c["warning"].reindex(b.index).astype(str)
        for (model, term), w in b.loc[differ, "warning"].items():
            print(f"  {model} / {term}: baseline {w!r}, current {c.loc[(model, term), 'warning']!r}")
    print(f"target (#18): models stage <= 8 s -> {'MET' if cur['times']['total'] <= 8 else 'NOT MET'} "
          f"({cur['times']['total']:.1f} s; baseline/current = {base['times']['total'] / cur['times']['total']:.1f}x)")
    print("\n" + cur["comparison"][["scheme", "auc", "auc_diff", "auc_diff_low", "auc_diff_high", "log_loss"]]
          .round(4).to_string(index=False))


def _median(runs):
    """The first run's results with the median time, CPU and peak of every run (one run: itself)."""
    out = dict(runs[0])
    for key in ("times", "cpus"):
        out[key] = {step: float(np.median([r[key][step] for r in runs])) for step in runs[0][key]}
    out["cpu"], out["peak_mib"] = (float(np.median([r[k] for r in runs])) for k in ("cpu", "peak_mib"))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--periods", type=int, default=4)
    ap.add_argument("--frame", help="pickled model frame to use instead of a generated one")
    ap.add_argument("--baseline", default="e3c6f55", help="git revision of the package to compare with "
                    "('none' to time the current code only)")
    ap.add_argument("--threads", type=int, default=None, help="OPENBLAS_NUM_THREADS for both runs (default: as set)")
    ap.add_argument("--repeat", type=int, default=1, help="pairs of runs, in alternating order (current first, then "
                    "baseline first, ...); medians reported. On this machine the first process of a pair is ~10%% "
                    "slower (the same code on both sides: 11.6 s first, 10.6 s second)")
    a = ap.parse_args(argv)
    if a.threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(a.threads)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '(default)')}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        frame_path = Path(a.frame) if a.frame else Path(tmp) / "frame.pkl"
        if not a.frame:
            make_frame(a.accounts, a.periods).to_pickle(frame_path)
        n = len(pd.read_pickle(frame_path))
        print(f"frame: {n:,} rows; running the models stage (current code)...", flush=True)
        cur = run_in_process(REPO, frame_path, Path(tmp) / "current.pkl")
        if a.baseline == "none":
            for step in STEPS:
                print(f"{step:<24} wall {cur['times'][step]:>7.2f} s  CPU {cur['cpus'][step]:>7.2f} s")
            print(f"CPU {cur['cpu']:.1f} s, peak RSS {cur['peak_mib']:.0f} MiB; load average after: "
                  f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            return
        print(f"running the models stage (baseline {a.baseline})...", flush=True)
        root = baseline_package(a.baseline, Path(tmp) / "base")
        bases, curs = [run_in_process(root, frame_path, Path(tmp) / "base.pkl")], [cur]
        for i in range(1, a.repeat):  # alternate which side runs first
            order = [("base", root), ("current", REPO)] if i % 2 else [("current", REPO), ("base", root)]
            for side, where in order:
                print(f"pair {i + 1}: {side}...", flush=True)
                got = run_in_process(where, frame_path, Path(tmp) / f"{side}.pkl")
                (bases if side == "base" else curs).append(got)
                print("    " + ", ".join(f"{k} {v:.2f}" for k, v in got["times"].items()), flush=True)
        report(_median(bases), _median(curs))
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
