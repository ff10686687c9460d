"""Benchmark: the partitioned in-process run (`run --partitions K`) against today's run (one partition).

Issue 17's target at 100,000 accounts / 10M responses: the partitioned in-process run no slower than
1.2x today's run, with lower peak memory. Both are the command line as a subprocess, in the same
invocation (so the ratio means something on a shared, noisy machine), each in a fresh interpreter so
peak RSS (``RUSAGE_CHILDREN``) is that command's alone. Wall time, CPU time (user + system), peak
RSS in MiB/GiB (binary units) and the load average before and after are printed, with the stage
lines of each run. The outputs of the two runs are compared (every CSV, 1e-9 relative).

    flock /tmp/cx100k.lock python3 benchmarks/bench_partitioned.py \\
        --village benchmarks/.cache/village_100000_1 --partitions 8 --maps 50
    python3 benchmarks/bench_partitioned.py --accounts 2000          # a small village, generated and cached
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".cache"

CHILD = r"""
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
res = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": res.returncode, "seconds": wall, "cpu_seconds": ru.ru_utime + ru.ru_stime,
                  "user_seconds": ru.ru_utime, "system_seconds": ru.ru_stime,
                  "peak_mib": ru.ru_maxrss / 1024, "stderr": res.stderr[-20000:]}))
"""


def village_path(args) -> Path:
    if args.village:
        return Path(args.village)
    path = CACHE / f"village_{args.accounts}_{args.seed}"
    if not (path / "responses.parquet").is_file():
        from cxinfluence.village.synth import make_village, write_synthetic

        village, truth = make_village(args.accounts, seed=args.seed, waves_per_year=3)
        write_synthetic(village, truth, path, format="parquet", overwrite=True)
    return path


def measure(village, out, partitions, maps) -> dict:
    cmd = [sys.executable, "-m", "cxinfluence", "run", str(village), "--out", str(out), "--maps", str(maps),
           "--partitions", str(partitions)]
    res = subprocess.run([sys.executable, "-c", CHILD, *cmd], capture_output=True, text=True, check=True)
    result = json.loads(res.stdout.strip().splitlines()[-1])
    if result["rc"] not in (0, 3):
        raise SystemExit(f"{' '.join(cmd)} failed (exit {result['rc']}):\n{result['stderr']}")
    return result


def same_outputs(a: Path, b: Path) -> list:
    """The CSV outputs that differ: ``file:column`` (numbers beyond 1e-9 relative, with the largest
    relative difference, or any text)."""
    import numpy as np
    import pandas as pd

    differ = []
    for f in sorted(p.name for p in a.glob("*.csv")):
        if f == "warnings.csv":
            continue
        x, y = pd.read_csv(a / f, low_memory=False), pd.read_csv(b / f, low_memory=False)
        if x.shape != y.shape or list(x.columns) != list(y.columns):
            differ.append(f)
            continue
        for c in x.columns:
            if pd.api.types.is_float_dtype(x[c]) and pd.api.types.is_float_dtype(y[c]):
                if not np.allclose(x[c], y[c], rtol=1e-9, atol=1e-12, equal_nan=True):
                    rel = np.nanmax(np.abs(x[c] - y[c]) / np.maximum(np.abs(x[c]), 1e-300))
                    differ.append(f"{f}:{c} (largest relative difference {rel:.1e})")
            elif not x[c].fillna("").astype(str).equals(y[c].fillna("").astype(str)):
                differ.append(f"{f}:{c}")
    return differ


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--village", default=None, help="a village folder (e.g. the cached 100k one); read only")
    ap.add_argument("--accounts", type=int, default=2000, help="without --village: generate this many (cached)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--partitions", type=int, default=8)
    ap.add_argument("--maps", type=int, default=50)
    args = ap.parse_args(argv)
    village = village_path(args)
    print(f"village {village}; load before {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f}", flush=True)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for k in (1, args.partitions):
            t0 = time.time()
            results[k] = measure(village, Path(tmp) / f"k{k}", k, args.maps)
            load = os.getloadavg()
            r = results[k]
            print(f"partitions={k}: wall {r['seconds']:.1f} s, CPU {r['cpu_seconds']:.1f} s (user "
                  f"{r['user_seconds']:.1f}, system {r['system_seconds']:.1f}), peak RSS {r['peak_mib']:,.0f} MiB "
                  f"({r['peak_mib'] / 1024:.2f} GiB); load after {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
                  f"started {time.strftime('%H:%M:%S', time.gmtime(t0))} UTC", flush=True)
            for line in r["stderr"].splitlines():
                if "done in" in line:
                    print("    " + line.strip())
        differ = same_outputs(Path(tmp) / "k1", Path(tmp) / f"k{args.partitions}")
    one, many = results[1], results[args.partitions]
    print(f"ratio partitions={args.partitions} / today's run: wall {many['seconds'] / one['seconds']:.2f}x, "
          f"CPU {many['cpu_seconds'] / one['cpu_seconds']:.2f}x, peak RSS {many['peak_mib'] / one['peak_mib']:.2f}x")
    print("outputs: " + ("identical (every CSV, 1e-9)" if not differ else f"DIFFER in {differ}"))
    return 0 if not differ else 1


if __name__ == "__main__":
    sys.exit(main())
