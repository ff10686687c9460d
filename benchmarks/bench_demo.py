"""Benchmark: `cxinfluence demo` of a baseline revision against this tree, interleaved in the same run (issue 18).

Target: the demo (300-account sample village, 25 maps and every output) in at most 8 s wall on a loaded
2-core machine (load ~2), without the user setting any environment variable.

The baseline's package and sample village are taken with ``git archive REV cxinfluence data/sample_village``
into a temporary folder; each demo is
``python -m cxinfluence demo --out DIR`` as a child process with ``PYTHONPATH`` naming one tree, run
A B A B ... (``--repeat`` pairs) so both meet the same load. Printed per run and as medians: wall time, CPU
time (user + system, ``os.wait4`` of that child), peak RSS in MiB (of its processes together, sampled, where
``/proc`` gives them: the picture worker counted; else the largest alone), the 1-minute load average before and after,
and each stage's wall time from the progress lines. Then the import time (``python -X importtime``, the sum of
the top-level imports of one demo of each tree) and the outputs compared file by file (the first run of each)::

    python3 benchmarks/bench_demo.py [--baseline main] [--repeat 3]

Both trees run without their ``.pyc`` files when ``PYTHONDONTWRITEBYTECODE`` is set (as on the shared machine),
so the sources are compiled on each run alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_run import (STAGE_LINE, TreePeak, load_text,  # noqa: E402 - this folder's helper script
                       maxrss_bytes)

ROOT = Path(__file__).resolve().parents[1]
MiB = 2**20


def demo(tree: Path, out: Path, *extra: str) -> dict:
    """One ``cxinfluence demo`` with ``tree`` first on ``PYTHONPATH``: wall, user, system, peak RSS, stages."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    cmd = [sys.executable, *extra, "-m", "cxinfluence", "demo", "--out", str(out)]
    load = os.getloadavg()
    t0 = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, cwd=out.parent)
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(child.stderr), daemon=True)
    reader.start()
    tree = TreePeak(child.pid)  # its picture worker counted
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - t0
    reader.join()
    together = tree.stop()
    if os.waitstatus_to_exitcode(status) not in (0, 3):
        raise SystemExit(f"{' '.join(cmd)} failed:\n{''.join(lines)[-3000:]}")
    stages = {m["name"].strip(): float(m["seconds"]) for m in map(STAGE_LINE.search, lines) if m}
    return {"wall": wall, "user": usage.ru_utime, "system": usage.ru_stime, "cpu": usage.ru_utime + usage.ru_stime,
            "rss": max(maxrss_bytes(usage.ru_maxrss), together), "load": load, "load_after": os.getloadavg(), "stages": stages,
            "stderr": lines}


def import_seconds(lines: list) -> float:
    """The sum of the top-level imports' cumulative times of a ``-X importtime`` run, in seconds."""
    total = 0
    for line in lines:
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = line.split("|", 2)
            if cumulative.strip().isdigit() and name.startswith(" ") and not name.startswith("  "):
                total += int(cumulative)
    return total / 1e6


def same_files(a: Path, b: Path) -> tuple[int, list]:
    names = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    return len(names), [n for n in names if not (b / n).is_file() or (a / n).read_bytes() != (b / n).read_bytes()]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", default="main", help="git revision of the baseline (default main)")
    ap.add_argument("--repeat", type=int, default=3, help="pairs of runs (default 3)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_demo_") as tmp:
        tmp = Path(tmp)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline, "cxinfluence",
                                  "data/sample_village"], capture_output=True, check=True).stdout
        (tmp / "base").mkdir()
        subprocess.run(["tar", "-x", "-C", str(tmp / "base")], input=archive, check=True)
        trees = {args.baseline: tmp / "base", "this tree": ROOT}
        runs = {label: [] for label in trees}
        print(f"{os.cpu_count()} cores; load {load_text(os.getloadavg())}", flush=True)
        for i in range(args.repeat):
            for label, tree in trees.items():
                r = demo(tree, tmp / f"out_{i}_{label.replace(' ', '_')}")
                runs[label].append(r)
                print(f"  {label} #{i + 1}: {r['wall']:.1f} s wall, {r['cpu']:.1f} s CPU ({r['user']:.1f} user + "
                      f"{r['system']:.1f} sys), peak {r['rss'] / MiB:,.0f} MiB, load {r['load'][0]:.2f} -> "
                      f"{r['load_after'][0]:.2f}", flush=True)
        imports = {label: import_seconds(demo(tree, tmp / f"imp_{label.replace(' ', '_')}", "-X", "importtime")
                                         ["stderr"]) for label, tree in trees.items()}
        old, new = runs[args.baseline], runs["this tree"]

        def med(rs, key):
            return statistics.median(r[key] for r in rs)

        print(f"\n| demo (median of {args.repeat}) | {args.baseline} | this tree | ratio |")
        print("|---|---|---|---|")
        for key, unit in (("wall", "s"), ("cpu", "s"), ("user", "s"), ("system", "s")):
            o, n = med(old, key), med(new, key)
            print(f"| {key} | {o:.1f} {unit} | {n:.1f} {unit} | {o / n:.2f}x |")
        o, n = med(old, "rss") / MiB, med(new, "rss") / MiB
        print(f"| peak RSS | {o:,.0f} MiB | {n:,.0f} MiB | {o / n:.2f}x |")
        print(f"| imports (-X importtime, one run) | {imports[args.baseline]:.2f} s | {imports['this tree']:.2f} s | "
              f"{imports[args.baseline] / imports['this tree']:.2f}x |")
        print(f"| load (1 min) first / last run | {old[0]['load'][0]:.2f} | {new[-1]['load_after'][0]:.2f} | |")
        print("\n| stage (median wall s) | " + args.baseline + " | this tree |")
        print("|---|---|---|")
        # every stage of either tree in the order they ran (a stage one tree does not have: "-")
        for stage in _merged(list(old[0]["stages"]), list(new[0]["stages"])):
            cells = [f"{statistics.median(r['stages'][stage] for r in rs):.1f}" if stage in rs[0]["stages"] else "-"
                     for rs in (old, new)]
            print(f"| {stage} | {cells[0]} | {cells[1]} |")
        n, differ = same_files(tmp / f"out_0_{args.baseline}", tmp / "out_0_this_tree")
        print(f"\noutputs: {n} files, {n - len(differ)} the same bytes" + (f"; differ: {differ}" if differ else ""))


def _merged(first: list, second: list) -> list:
    """The names of both lists, each once, in the order of both: ``second``'s own names where they ran in it."""
    out = []
    for name in second:
        if name in first:  # first's own names that ran before it come first
            out += [n for n in first[:first.index(name)] if n not in out and n not in second]
        out.append(name)
    return out + [n for n in first if n not in out]


if __name__ == "__main__":
    main()
