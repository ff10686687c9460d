"""Benchmark: the run's two picture stages (maps; account pages) of a baseline revision against this tree, same run.

Issue 18 (the demo in 8 s: its pictures were most of it). The demo village is run once through
``cxinfluence.pipeline.runner.run`` with the two stages' inputs captured (the maps' jobs; the pages' village,
tables and map entries); then each revision, in a fresh interpreter and one after the other (``--repeat``
times, interleaved, so both meet the same load), writes the same maps (``write_maps``, in this process: one
worker) and account pages from those inputs. Printed per stage and revision: wall and CPU time (user + system,
``resource.getrusage`` of that interpreter) as the median of the repeats, the ratio baseline / this tree, the
peak RSS in MiB, the load average before and after; then whether the outputs are equal: every map page, PNG
and SVG and every account page, byte for byte::

    python3 benchmarks/bench_pictures.py [--baseline main] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CAPTURE = r"""
import pickle, sys, types
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import cxinfluence.pipeline.outputs as outputs
import cxinfluence.pipeline.runner as runner
from cxinfluence.pipeline.commands import sample_village_path
work = Path(sys.argv[2])
cap = {}
write_maps = outputs.write_maps
def maps(jobs, folder, **kw):
    cap["maps"] = ([tuple(j) for j in jobs], {k: v for k, v in kw.items() if k not in ("also", "workers")})
    return write_maps(jobs, folder, **kw)
outputs.write_maps = maps
write_pages = runner.write_account_pages
def pages(v, result, entries, folder, **kw):
    kw = dict(kw)
    name = kw.pop("name")
    kw["names"] = {str(e[0]): name(str(e[0])) for e in entries}
    keep = ("accounts_at_risk", "influence", "stakeholder_sentiment", "snapshot", "account_sentiment", "coverage",
            "listening_plan", "actions")
    r = types.SimpleNamespace(tables={k: t for k, t in result.tables.items() if k in keep}, as_of=result.as_of)
    cap["pages"] = (v, r, entries, kw)
    return write_pages(v, result, entries, folder, name=name, **{k: v for k, v in kw.items() if k != "names"})
runner.write_account_pages = pages
runner.run(sample_village_path(), work / "run", quiet=True)
pickle.dump(cap, open(work / "inputs.pkl", "wb"))
"""

CHILD = r"""
import json, os, pickle, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
work, out = Path(sys.argv[2]), Path(sys.argv[3])
cap = pickle.load(open(work / "inputs.pkl", "rb"))
from cxinfluence.present.account_page import write_account_pages
from cxinfluence.present.mapfiles import write_maps
from cxinfluence.present.slides import write_map_figures

def used():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

jobs, kw = cap["maps"]
write_map_figures(jobs[0][0], out, "warm", seed=0)  # imports and font cache, not timed
(out / "warm.png").unlink(); (out / "warm.svg").unlink()
(out / "networks").mkdir()
v, result, entries, pkw = cap["pages"]
names = pkw.pop("names")
steps = {"maps": lambda: write_maps(jobs, out, workers=1, **kw),
         "account pages": lambda: write_account_pages(v, result, entries, out, name=names.__getitem__, **pkw)}
for name, step in steps.items():
    load, t0, c0 = os.getloadavg()[0], time.perf_counter(), used()
    step()
    print(json.dumps({"step": name, "wall": time.perf_counter() - t0, "cpu": used() - c0, "load": load,
                      "load_after": os.getloadavg()[0],
                      "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), flush=True)
"""


def _same_files(a: Path, b: Path) -> tuple[int, list]:
    names = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    return len(names), [n for n in names if not (b / n).is_file() or (a / n).read_bytes() != (b / n).read_bytes()]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", default="main")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    env = dict(os.environ, PYTHONHASHSEED="0")
    with tempfile.TemporaryDirectory(prefix="bench_pictures_") as tmp:
        tmp = Path(tmp)
        print(f"capturing the demo's picture inputs (a whole demo run); load {os.getloadavg()}", flush=True)
        subprocess.run([sys.executable, "-c", CAPTURE, str(ROOT), str(tmp)], check=True, env=env)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline, "cxinfluence"],
                                 capture_output=True, check=True).stdout
        (tmp / "base").mkdir()
        subprocess.run(["tar", "-x", "-C", str(tmp / "base")], input=archive, check=True)
        trees = {args.baseline: tmp / "base", "this tree": ROOT}
        runs = {label: [] for label in trees}
        for i in range(args.repeat):
            for label, code in trees.items():
                out = tmp / f"out_{i}_{label.replace(' ', '_')}"
                out.mkdir()
                res = subprocess.run([sys.executable, "-c", CHILD, str(code), str(tmp), str(out)], capture_output=True,
                                     text=True, env=env, cwd=tmp)
                if res.returncode:
                    raise SystemExit(f"{label}: failed\n{res.stderr[-3000:]}")
                runs[label].append({r["step"]: r for r in map(json.loads, res.stdout.splitlines())})
                print(f"  {label} #{i + 1}: " + ", ".join(f"{s} {r['wall']:.2f} s wall / {r['cpu']:.2f} s CPU"
                                                        for s, r in runs[label][-1].items()), flush=True)
        old, new = runs[args.baseline], runs["this tree"]
        print(f"\n| stage (median of {args.repeat}) | {args.baseline} wall / CPU | this tree wall / CPU "
              "| ratio wall / CPU | peak RSS (this tree) | load (first, last run) |")
        print("|---|---|---|---|---|---|")
        for step in new[0]:
            med = {k: {q: statistics.median(r[step][q] for r in rs) for q in ("wall", "cpu")}
                   for k, rs in (("old", old), ("new", new))}
            o, n = med["old"], med["new"]
            print(f"| {step} | {o['wall']:.2f} s / {o['cpu']:.2f} s | {n['wall']:.2f} s / {n['cpu']:.2f} s | "
                  f"{o['wall'] / n['wall']:.2f}x / {o['cpu'] / n['cpu']:.2f}x | "
                  f"{max(r[step]['peak_mib'] for r in new):,.0f} MiB | "
                  f"{old[0][step]['load']:.1f} / {new[-1][step]['load_after']:.1f} |")
        a, b = tmp / f"out_0_{args.baseline}", tmp / "out_0_this_tree"
        for folder in ("networks", "accounts"):
            n, differ = _same_files(a / folder, b / folder)
            print(f"{folder}/: {n} files, {n - len(differ)} the same bytes" + (f"; differ: {differ[:5]}" if differ
                                                                              else ""))


if __name__ == "__main__":
    main()
