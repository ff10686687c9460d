"""Benchmark: the run's presentation stages at portfolio scale, against a baseline revision, in the same run.

Issue 18 asks for the whole 100k run in <= 60 s wall / <= 80 s CPU, so the
presentation stages together should take seconds. This script times, on the
cached 100k village (``benchmarks/.cache/village_100000_1``, read only), the
stages a run spends its presentation time in:

* ``maps``: the run's ``_write_maps`` for ``--maps`` accounts (HTML page, PNG
  and SVG per account, ``buying_centers.gexf`` and ``_kumu.xlsx``);
* ``portfolio graphs``: the run's ``_write_portfolio`` (``portfolio.gexf`` of
  every account; Kumu skipped over Excel's row limit at 100k);
* ``writing tables``: ``write_csv`` of the influence and stakeholder tables.

Each revision runs in its own fresh interpreter (its own code from a
``git archive`` of that revision for the baseline, default ``e3c6f55``, and
this working tree): it loads the village and computes the stages' inputs
(influence and the stakeholder sentiment table; not timed), then times each
stage: wall, CPU (this process plus finished children: the map worker), and
the process's peak RSS after the stage (loading included). The outputs of the
two revisions are compared file by file; the load average is printed with the
figures. Run one 100k measurement at a time on a shared machine::

    flock /tmp/cx100k.lock python3 benchmarks/bench_present.py [--maps 50] [--baseline e3c6f55]
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VILLAGE = ROOT / "benchmarks" / ".cache" / "village_100000_1"
MAIN_VILLAGE = Path("/work/main/benchmarks/.cache/village_100000_1")

CHILD = r"""
import json, os, resource, sys, time, warnings
from pathlib import Path
sys.path.insert(0, sys.argv[1])
village_path, out, n_maps = sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
warnings.simplefilter("ignore")
from cxinfluence.village.core import load_village
from cxinfluence.village.asof import default_as_of
from cxinfluence.network.influence import influence_weights
from cxinfluence.network.structure import stakeholder_structure
from cxinfluence.pipeline import mapreduce, runner
from cxinfluence.sentiment.schemes import sentiment_tables
from cxinfluence.village.io import write_csv

def cpu():
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime

v = load_village(village_path, warn=False)
as_of = default_as_of(v)
infl = influence_weights(v, as_of)
infl = mapreduce._join_rows(infl, stakeholder_structure(v, as_of), on=["account_id", "stakeholder_id"])
_, people = sentiment_tables(v, as_of, window_days=365, lead_days=0, influence=infl)
selected = v.accounts["account_id"].astype(str).tolist()[:n_maps]
result = runner.RunResult(out=out, as_of=as_of)
stages = {
    "maps": lambda: runner._write_maps(v, as_of, selected, infl, out, seed=0, window_days=365),
    "portfolio graphs": lambda: runner._write_portfolio(v, {"influence": infl, "stakeholder_sentiment": people},
                                                        out, result),
    "writing tables": lambda: [write_csv(infl, out / "influence.csv"), write_csv(people, out / "people.csv")],
}
for name, stage in stages.items():
    t0, c0 = time.perf_counter(), cpu()
    stage()
    wall, used = time.perf_counter() - t0, cpu() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"stage": name, "wall": wall, "cpu": used, "peak_mib": peak, "load": os.getloadavg()[0]}),
          flush=True)
"""


def baseline_tree(rev: str, folder: Path) -> Path:
    """The package at ``rev`` (``git archive``: no worktree registered in the repository)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "cxinfluence"], capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def measure(code: Path, village: Path, out: Path, maps: int) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONHASHSEED="0")
    res = subprocess.run([sys.executable, "-c", CHILD, str(code), str(village), str(out), str(maps)],
                         capture_output=True, text=True, env=env)
    if res.returncode:
        raise SystemExit(f"{code}: failed\n{res.stderr[-3000:]}")
    return {r["stage"]: r for r in map(json.loads, res.stdout.splitlines())}


def same_files(a: Path, b: Path) -> tuple:
    names = sorted(str(p.relative_to(a)) for p in a.rglob("*") if p.is_file())
    other = sorted(str(p.relative_to(b)) for p in b.rglob("*") if p.is_file())
    differ = [n for n in names if n in other and not filecmp.cmp(a / n, b / n, shallow=False)]
    return len(names), sorted(set(names) ^ set(other)), differ


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--village", type=Path, default=VILLAGE if VILLAGE.is_dir() else MAIN_VILLAGE)
    ap.add_argument("--maps", type=int, default=50)
    ap.add_argument("--baseline", default="e3c6f55")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_present_") as tmp:
        tmp = Path(tmp)
        (tmp / "base").mkdir()
        base = baseline_tree(args.baseline, tmp / "base")
        print(f"village {args.village}; {args.maps} maps; load {os.getloadavg()}", flush=True)
        figures = {}
        for label, code in ((args.baseline, base), ("this tree", ROOT)):
            t0 = time.perf_counter()
            figures[label] = measure(code, args.village, tmp / f"out_{label.replace(' ', '_')}", args.maps)
            print(f"  {label}: done in {time.perf_counter() - t0:.0f} s (loading and inputs included)", flush=True)
        old, new = figures[args.baseline], figures["this tree"]
        print(f"\n| stage | {args.baseline} wall / CPU | this tree wall / CPU | ratio wall / CPU | peak RSS after "
              "(this tree) | load |")
        print("|---|---|---|---|---|---|")
        for stage in new:
            o, n = old[stage], new[stage]
            print(f"| {stage} | {o['wall']:.1f} s / {o['cpu']:.1f} s | {n['wall']:.1f} s / {n['cpu']:.1f} s | "
                  f"{o['wall'] / n['wall']:.1f}x / {o['cpu'] / n['cpu']:.1f}x | {n['peak_mib']:,.0f} MiB "
                  f"({n['peak_mib'] / 1024:.1f} GiB) | {o['load']:.1f} / {n['load']:.1f} |")
        total_o = sum(r["wall"] for r in old.values()), sum(r["cpu"] for r in old.values())
        total_n = sum(r["wall"] for r in new.values()), sum(r["cpu"] for r in new.values())
        print(f"| together | {total_o[0]:.1f} s / {total_o[1]:.1f} s | {total_n[0]:.1f} s / {total_n[1]:.1f} s | "
              f"{total_o[0] / total_n[0]:.1f}x / {total_o[1] / total_n[1]:.1f}x | | |")
        n_files, only, differ = same_files(tmp / f"out_{args.baseline}", tmp / "out_this_tree")
        print(f"\noutputs: {n_files} files; only in one: {only or 'none'}; different bytes: {differ or 'none'}")


if __name__ == "__main__":
    main()
