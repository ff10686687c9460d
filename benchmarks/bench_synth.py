"""Benchmark: time and peak memory of make_village for 100k accounts, against 10k.

Each size runs in its own fresh Python process (so peak memory is that run's
own), the baseline (10k accounts) in the same invocation, so the ratio is
meaningful on a shared, noisy machine. Perfect linear scaling gives a time
ratio of 10. Wall and CPU time are both printed: on a busy machine the wall
time is inflated by waiting for a core.

    .venv/bin/python benchmarks/bench_synth.py [--big 100000] [--base 10000] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
from cxinfluence.village.synth import make_village
n = int(sys.argv[1])
t0, c0 = time.perf_counter(), time.process_time()
village, truth = make_village(n, seed=1)
elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"n": n, "seconds": elapsed, "cpu_seconds": cpu, "peak_mb": peak_mb,
                  "stakeholders": len(village.stakeholders), "relationships": len(village.relationships),
                  "responses": len(village.responses), "outcomes": len(village.outcomes)}))
"""


def measure(n: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(n)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--base", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs per size; the fastest is kept")
    args = parser.parse_args(argv)
    results = {}
    for n in (args.base, args.big):
        runs = [measure(n) for _ in range(args.repeat)]
        results[n] = min(runs, key=lambda r: r["seconds"])
        r = results[n]
        print(f"{n:>8,} accounts: {r['seconds']:6.1f} s wall, {r['cpu_seconds']:6.1f} s CPU, peak {r['peak_mb']:7.0f} MiB  "
              f"({r['stakeholders']:,} stakeholders, {r['relationships']:,} ties, {r['responses']:,} responses)")
    base, big = results[args.base], results[args.big]
    size = args.big / args.base
    print(f"time ratio {big['seconds'] / base['seconds']:.1f} wall, {big['cpu_seconds'] / base['cpu_seconds']:.1f} CPU "
          f"for {size:.0f}x the accounts (linear = {size:.0f}); memory ratio {big['peak_mb'] / base['peak_mb']:.1f}")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(wall time on a busy machine overstates the cost; CPU time is the steadier figure)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
