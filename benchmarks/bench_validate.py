"""Benchmark: validating and loading a large village from CSV or Parquet.

Writes a village with ``--responses`` responses (default 1,000,000) over
``--accounts`` accounts x 10 stakeholders as ``--format`` files (csv or
parquet), or uses an existing village folder (``--village PATH``, e.g. the
cached 100,000-account portfolio ``benchmarks/.cache/village_100000_1``), then
times, each in a fresh process:

* baseline: ``pandas.read_csv`` / ``pandas.read_parquet`` of the five files
  with default options (what reading them costs without any checking);
* ``validate_village`` (read, type, check, complete roles);
* ``load_village`` (the same, returning the Village).

Prints wall seconds, CPU seconds (user + system), their ratios to the
baseline measured in the same run, each process's peak resident memory (MiB)
and the 1-minute load average when it ended; ``load_village`` also reports
the in-memory size of the Village it returns. The machine is shared and
noisy: compare ratios (CPU ones hold up best under load), not seconds. ``--tasks`` picks tasks (e.g. ``--tasks load`` to skip
``validate_village`` on a large village).

    python3 benchmarks/bench_validate.py [--responses N] [--accounts N] [--format csv|parquet]
    python3 benchmarks/bench_validate.py --village benchmarks/.cache/village_100000_1 [--tasks load]
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


def make_files(folder: Path, n_accounts: int, n_responses: int, seed: int = 0, format: str = "csv") -> None:
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
        if format == "parquet":
            df.to_parquet(folder / f"{name}.parquet", index=False)
        else:
            df.to_csv(folder / f"{name}.csv", index=False)


def _run(task: str, folder: str):
    """One task in this (fresh) process: wall seconds, CPU seconds (user, system), peak MiB, result."""
    import os

    t0, r0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    if task == "baseline":
        frames = [pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p) for p in _table_files(folder)]
        result = f"{sum(f.memory_usage(deep=True).sum() for f in frames) / 2**20:,.0f} MiB of DataFrames"
    elif task == "validate":
        from cxinfluence.village.validate import validate_village

        problems = validate_village(folder)
        result = f"{sum(p.severity == 'error' for p in problems)} errors, {len(problems)} problems"
    else:
        from cxinfluence.village.core import load_village

        v = load_village(folder, warn=False)
        size = sum(t.memory_usage(deep=True).sum() for t in v.tables().values()) / 2**20
        result = f"{len(v.responses):,} responses loaded; Village {size:,.0f} MiB"
    seconds = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    peak_mib = r1.ru_maxrss / 1024  # Linux: KiB
    return seconds, r1.ru_utime - r0.ru_utime, r1.ru_stime - r0.ru_stime, peak_mib, os.getloadavg()[0], result


def _table_files(folder) -> list[Path]:
    """The village's table files (not e.g. ``truth/``)."""
    from cxinfluence.village.schema import TABLES

    return sorted(p for p in Path(folder).iterdir()
                  if p.is_file() and p.stem in TABLES and p.suffix in (".csv", ".parquet"))


def measure(task: str, folder: str):
    with cf.ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(_run, task, folder).result()


def report(folder: str, tasks) -> None:
    files = _table_files(folder)
    size = sum(p.stat().st_size for p in files) / 2**20
    kind = "Parquet" if files and files[0].suffix == ".parquet" else "CSV"
    reader = "pandas.read_parquet" if kind == "Parquet" else "pandas.read_csv"
    print(f"{size:,.1f} MiB of {kind} in {folder}")
    base = measure("baseline", folder)
    print(f"{'task':<32}{'wall s':>8}{'x base':>8}{'CPU s':>8}{'(user':>7}{' sys)':>7}{'x base':>8}"
          f"{'peak MiB':>10}{'load':>6}  result")

    def line(name, m):
        wall, user, system, peak, load, result = m
        print(f"{name:<32}{wall:>8.2f}{wall / base[0]:>8.2f}{user + system:>8.2f}{user:>7.1f}{system:>7.1f}"
              f"{(user + system) / (base[1] + base[2]):>8.2f}{peak:>10,.0f}{load:>6.1f}  {result}")

    line(reader + " (baseline)", base)
    for task in tasks:
        line(task + "_village", measure(task, folder))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv", help="files to generate")
    parser.add_argument("--village", help="time this existing village folder instead of generating one")
    parser.add_argument("--tasks", nargs="+", choices=("validate", "load"), default=["validate", "load"])
    args = parser.parse_args()
    if args.village:
        report(args.village, args.tasks)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # generate in a child process: the peak memory a process reports survives exec, so
        # the parent must stay small for the children's figures to mean anything
        with cf.ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
            pool.submit(make_files, folder, args.accounts, args.responses, 0, args.format).result()
        print(f"village: {args.accounts:,} accounts, {args.accounts * 10:,} stakeholders, "
              f"{args.responses:,} responses")
        report(tmp, args.tasks)


if __name__ == "__main__":
    main()
