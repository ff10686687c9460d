"""Benchmark: validating and loading a large village from CSV.

Writes a village with ``--responses`` responses (default 1,000,000) over
``--accounts`` accounts x 10 stakeholders, then times, each in a fresh process:

* baseline: ``pandas.read_csv`` of the five files with default options (what
  reading them costs without any checking);
* ``validate_village`` (read as text, type, check, complete roles);
* ``load_village`` (the same, returning the Village).

Prints seconds, the ratio to the baseline and each process's peak resident
memory. The machine is shared and noisy: compare ratios, not seconds.

    .venv/bin/python benchmarks/bench_validate.py [--responses N] [--accounts N]
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing as mp
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

TITLES = ["Plant Manager", "Purchasing Agent", "Operator", "EHS Manager", "Quality Engineer",
          "Maintenance Technician", "Process Engineer", "IT Manager", "Controller", "Shift Supervisor"]


def make_files(folder: Path, n_accounts: int, n_responses: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    acc_ids = np.char.add("A", np.arange(n_accounts).astype(str))
    accounts = pd.DataFrame({"account_id": acc_ids, "annual_revenue": np.round(rng.pareto(1.2, n_accounts) * 1e4, 2)})
    n_sh = n_accounts * 10
    sh_ids = np.char.add("S", np.arange(n_sh).astype(str))
    stakeholders = pd.DataFrame({
        "stakeholder_id": sh_ids,
        "account_id": np.repeat(acc_ids, 10),
        "title": np.tile(TITLES, n_accounts),
        "active_from": "2019-01-01",
    })
    same = stakeholders["account_id"].to_numpy()[1:] == stakeholders["account_id"].to_numpy()[:-1]
    relationships = pd.DataFrame({"source_id": sh_ids[1:][same], "target_id": sh_ids[:-1][same], "kind": "reports_to"})
    day = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 1400, n_responses), unit="D")
    responses = pd.DataFrame({
        "response_id": np.arange(n_responses),
        "stakeholder_id": sh_ids[rng.integers(0, n_sh, n_responses)],
        "date": day.strftime("%Y-%m-%d"),
        "nps": rng.integers(0, 11, n_responses),
        "csat": rng.integers(1, 6, n_responses),
        "ces": rng.integers(1, 6, n_responses),
        "neteasy": rng.integers(1, 8, n_responses),
        "trust": rng.integers(1, 6, n_responses),
        "cared_for": rng.integers(1, 6, n_responses),
        "channel": rng.choice(["survey", "informal", "interview"], n_responses),
        "journey_stage": rng.choice(["decision", "retention", "renewal"], n_responses),
        "touchpoint": rng.choice(["delivery", "support", "billing"], n_responses),
        "comment": rng.choice(["", "late delivery again", "great service, thanks"], n_responses),
    })
    outcomes = pd.DataFrame({
        "account_id": np.repeat(acc_ids, 3),
        "period_end": np.tile(["2022-12-31", "2023-12-31", "2024-12-31"], n_accounts),
        "renewed": rng.integers(0, 2, 3 * n_accounts),
        "bookings": np.round(rng.gamma(2.0, 1e4, 3 * n_accounts), 2),
    })
    for name, df in dict(accounts=accounts, stakeholders=stakeholders, relationships=relationships,
                         responses=responses, outcomes=outcomes).items():
        df.to_csv(folder / f"{name}.csv", index=False)


def _run(task: str, folder: str):
    t0 = time.perf_counter()
    if task == "baseline":
        for p in sorted(Path(folder).glob("*.csv")):
            pd.read_csv(p)
        result = ""
    elif task == "validate":
        from cxinfluence.validate import validate_village

        problems = validate_village(folder)
        result = f"{sum(p.severity == 'error' for p in problems)} errors, {len(problems)} problems"
    else:
        from cxinfluence.village import load_village

        v = load_village(folder, warn=False)
        result = f"{len(v.responses):,} responses loaded"
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return seconds, peak_mb, result


def measure(task: str, folder: str):
    with cf.ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(_run, task, folder).result()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # generate in a child process: the peak memory a process reports survives exec, so
        # the parent must stay small for the children's figures to mean anything
        with cf.ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
            pool.submit(make_files, folder, args.accounts, args.responses).result()
        size = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
        print(f"village: {args.accounts:,} accounts, {args.accounts * 10:,} stakeholders, "
              f"{args.responses:,} responses; {size:.0f} MB of CSV")
        base = measure("baseline", tmp)
        print(f"{'task':<26}{'seconds':>9}{'x baseline':>12}{'peak MB':>10}  result")
        print(f"{'pandas.read_csv (baseline)':<26}{base[0]:>9.2f}{1:>12.2f}{base[1]:>10.0f}")
        for task in ("validate", "load"):
            sec, peak, result = measure(task, tmp)
            print(f"{task + '_village':<26}{sec:>9.2f}{sec / base[0]:>12.2f}{peak:>10.0f}  {result}")


if __name__ == "__main__":
    main()
