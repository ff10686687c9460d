"""Benchmark: ``cxinfluence import`` of a Salesforce + Qualtrics export against reading the same files.

Writes a synthetic village (:func:`cxinfluence.village.synth.make_village`, ``--accounts`` accounts) as a
Salesforce folder (Account, Contact, AccountContactRole, OpportunityContactRole, Opportunity) and a
Qualtrics NPS export (three header rows); ``--repeat K`` writes every survey answer K times (new
response ids, dates shifted by whole weeks) to reach the target of 10M responses at 100k accounts.
Then times, each in a fresh process (so peak memory is the phase's own):

* ``python``: importing pandas and cxinfluence.village.importers, nothing else (the floor of every phase);
* ``read_csv``: ``pandas.read_csv`` of every file with default options (Qualtrics with its two
  extra header rows skipped) — what reading the files costs;
* ``import``: :func:`cxinfluence.village.importers.import_village` (read, join, validate, complete roles);
* ``import+write``: the same and :func:`cxinfluence.village.importers.write_import` (the whole command).

Prints wall seconds, CPU seconds, peak RSS and the ratio of each to ``read_csv``, with the load
average. The target is ``import`` within 3x of ``read_csv``, in wall and in CPU time.

    python3 benchmarks/bench_import.py --accounts 5000 [--repeat 1] [--seed 0] [--keep DIR [--reuse]]

``--reuse`` times the exports already in ``--keep DIR`` (written by an earlier run with the same
``--accounts``/``--repeat``/``--seed``) instead of writing them again; at 100k accounts writing them
takes minutes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PHASES = {
    "python": "import pandas, cxinfluence.village.importers",
    "read_csv": """
import pandas as pd, pathlib
d = pathlib.Path(DIR)
frames = [pd.read_csv(p) for p in sorted((d / 'salesforce').glob('*.csv'))]
frames.append(pd.read_csv(d / 'qualtrics.csv', skiprows=[1, 2]))
print(sum(len(f) for f in frames), 'rows')
""",
    "import": """
import pathlib
from cxinfluence.village.importers import import_village
d = pathlib.Path(DIR)
v, r = import_village(salesforce=d / 'salesforce', qualtrics=d / 'qualtrics.csv')
print(v)
""",
    "import+write": """
import pathlib, shutil
from cxinfluence.village.importers import import_village, write_import
d = pathlib.Path(DIR)
v, r = import_village(salesforce=d / 'salesforce', qualtrics=d / 'qualtrics.csv')
write_import(v, r, d / 'village', overwrite=True)
print(v)
""",
}


def make_exports(folder: Path, n_accounts: int, seed: int, repeat: int) -> dict:
    import numpy as np
    import pandas as pd

    sys.path.insert(0, str(ROOT))
    from cxinfluence.village.importers.export import write_qualtrics, write_salesforce
    from cxinfluence.village.synth import make_village
    from cxinfluence.village.core import Village

    t = time.perf_counter()
    village, _ = make_village(n_accounts, seed=seed)
    ids = write_salesforce(village, folder / "salesforce", seed=seed)
    r = village.responses
    if repeat > 1:
        r = r[(r["channel"] == "survey") & r["nps"].notna()]
        r = pd.concat([r.assign(date=r["date"] + pd.Timedelta(weeks=k)) for k in range(repeat)], ignore_index=True)
    v = Village(village.accounts, village.stakeholders, village.relationships, r, village.outcomes)
    write_qualtrics(v, folder / "qualtrics.csv", ids, seed=seed)
    files = [*(folder / "salesforce").glob("*.csv"), folder / "qualtrics.csv"]
    sizes = {p.name: p.stat().st_size for p in files}
    return {"seconds": time.perf_counter() - t, "people": len(village.stakeholders),
            "survey_rows": int(((r["channel"] == "survey") & r["nps"].notna()).sum()),
            "mib": sum(sizes.values()) / 2**20, "np": np}


def run_phase(name: str, folder: Path) -> dict:
    code = PHASES[name].replace("DIR", repr(str(folder)))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    out, err = proc.stdout.read().decode(), proc.stderr.read().decode()
    proc.stdout.close()
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"phase {name} failed:\n{err}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss * 1024, "out": out.strip()}


def _mem(b: float) -> str:
    return f"{b / 2**30:.2f} GiB" if b >= 2**30 else f"{b / 2**20:.0f} MiB"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=1, help="write each survey answer K times (default 1)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", default=None, metavar="DIR", help="write the exports here and keep them")
    ap.add_argument("--reuse", action="store_true", help="time the exports already in --keep DIR (do not write them)")
    args = ap.parse_args(argv)
    if args.reuse and not (args.keep and (Path(args.keep) / "exports.json").is_file()):
        ap.error("--reuse needs --keep DIR holding the exports of an earlier run (DIR/exports.json)")
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_import_"))
    folder.mkdir(parents=True, exist_ok=True)
    # the exports are written by a child process: a forked child inherits its parent's peak RSS on Linux
    code = (f"import sys, json; sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); "
            f"from bench_import import make_exports; import pathlib; "
            f"i = make_exports(pathlib.Path({str(folder)!r}), {args.accounts}, {args.seed}, {args.repeat}); "
            f"i.pop('np'); print(json.dumps(i))")
    import json

    if args.reuse:
        info = json.loads((folder / "exports.json").read_text())
    else:
        info = json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                         text=True).stdout.splitlines()[-1])
        (folder / "exports.json").write_text(json.dumps({**info, "accounts": args.accounts, "repeat": args.repeat,
                                                         "seed": args.seed}))
    print(f"exports: {args.accounts:,} accounts, {info['people']:,} contacts, "
          f"{info['survey_rows']:,} Qualtrics responses, "
          f"{info['mib']:.0f} MiB of CSV (written in {info['seconds']:.1f} s) in {folder}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores)")
    results = {}
    for name in PHASES:
        results[name] = run_phase(name, folder)
    base = results["read_csv"]
    print(f"{'phase':14} {'wall s':>8} {'CPU s':>8} {'peak RSS':>10} {'wall/read':>10} {'CPU/read':>9} {'RSS/read':>9}")
    for name, r in results.items():
        print(f"{name:14} {r['wall']:8.2f} {r['cpu']:8.2f} {_mem(r['rss']):>10} {r['wall'] / base['wall']:10.2f} "
              f"{r['cpu'] / base['cpu']:9.2f} {r['rss'] / base['rss']:9.2f}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    ratio = results["import"]["wall"] / base["wall"]
    cpu = results["import"]["cpu"] / base["cpu"]
    print(f"import / read_csv: {ratio:.2f}x wall, {cpu:.2f}x CPU "
          f"(target <= 3x: {'met' if max(ratio, cpu) <= 3 else 'NOT met'}); "
          f"import+write / read_csv: {results['import+write']['wall'] / base['wall']:.2f}x")
    print(results["import"]["out"].splitlines()[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
