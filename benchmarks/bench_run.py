"""Benchmark: `cxinfluence run` end to end at portfolio scale, against `cxinfluence demo`.

Issue 7's targets: ``cxinfluence demo`` under 30 s from a warm install, and
``cxinfluence run`` on 100,000 accounts with about 10 million responses (maps
for the top 50 accounts only) under 2 minutes with peak memory under 8 GB.

Both are measured the way a user meets them: the command line as a
subprocess (imports, loading and validation, every analysis stage, maps,
report and atomic writes included), in the same invocation, so the ratio
between them is meaningful on a shared, noisy machine. The portfolio is a
synthetic village (``make_village(--accounts, waves_per_year=3)``) written
once as Parquet to ``benchmarks/.cache/`` (kept between runs; generation is
not timed). Peak memory is the child's peak RSS (``RUSAGE_CHILDREN``), taken
from a fresh interpreter per command so one does not inherit the other's.

    .venv/bin/python benchmarks/bench_run.py [--accounts 100000] [--maps 50]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".cache"

# Each command runs in its own child so RUSAGE_CHILDREN is that command's peak alone.
CHILD = r"""
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
res = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": res.returncode, "seconds": wall, "cpu_seconds": ru.ru_utime + ru.ru_stime,
                  "peak_mb": ru.ru_maxrss / 1024, "stderr": res.stderr[-4000:]}))
"""


def portfolio(n_accounts: int, seed: int) -> Path:
    """The synthetic village, generated once and cached as Parquet."""
    path = CACHE / f"village_{n_accounts}_{seed}"
    if not (path / "responses.parquet").is_file():
        from cxinfluence.village.synth import make_village, write_synthetic

        t0 = time.perf_counter()
        village, truth = make_village(n_accounts, seed=seed, waves_per_year=3)
        write_synthetic(village, truth, path, format="parquet", overwrite=True)
        print(f"generated {path.name} in {time.perf_counter() - t0:.0f} s (cached for later runs)", flush=True)
    return path


def measure(*args) -> dict:
    cmd = [sys.executable, "-m", "cxinfluence", *map(str, args)]
    out = subprocess.run([sys.executable, "-c", CHILD, *cmd], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["rc"] != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{result['stderr']}")
    return result


def stage_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "done in" in line]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=100_000)
    ap.add_argument("--maps", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)

    village = portfolio(args.accounts, args.seed)
    import pandas as pd

    sizes = {t: len(pd.read_parquet(village / f"{t}.parquet", columns=[c]))
             for t, c in [("accounts", "account_id"), ("stakeholders", "stakeholder_id"),
                          ("relationships", "source_id"), ("responses", "stakeholder_id")]}
    print("portfolio: " + ", ".join(f"{n:,} {t}" for t, n in sizes.items()))

    work = Path(tempfile.mkdtemp(prefix="bench_run-"))
    try:
        demo = measure("demo", "--out", work / "demo")
        big = measure("run", village, "--out", work / "big", "--maps", args.maps)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    for name, r, target_s in [("demo (300-account sample)", demo, 30), (f"run ({args.accounts:,} accounts)", big, 120)]:
        print(f"{name:>28}: {r['seconds']:6.1f} s wall, {r['cpu_seconds']:6.1f} s CPU, peak {r['peak_mb']:7.0f} MB "
              f"(target < {target_s} s{', < 8,192 MB' if r is big else ''})")
    print("stages of the portfolio run:")
    for line in stage_lines(big["stderr"]):
        print("   ", line)
    from cxinfluence.pipeline.runner import sample_village_path

    demo_responses = len(pd.read_csv(sample_village_path() / "responses.csv", usecols=[0]))
    print(f"ratio run/demo: {big['seconds'] / demo['seconds']:.1f} wall, {big['cpu_seconds'] / demo['cpu_seconds']:.1f} CPU "
          f"for {sizes['responses'] / demo_responses:.0f}x the responses")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(on a busy machine wall time overstates the cost; CPU time is the steadier figure)")
    ok = demo["seconds"] < 30 and big["seconds"] < 120 and big["peak_mb"] < 8192
    print("targets met" if ok else "TARGETS MISSED")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
