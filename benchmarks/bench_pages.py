"""Benchmark: the run's account-pages stage, the code before (a frozen copy) against today's, on the same inputs.

``cxinfluence run`` (or the demo village) is run in this process with its account-pages stage replaced by one that
writes the pages twice from the same inputs: with ``tests/account_page_reference.py`` (present/account_page.py
as it was before issue 18's work on it) and with today's ``present/account_page.py``, then compares the pages
byte for byte. Printed for each: wall time, CPU time (user + system, ``resource.getrusage`` of this process; the
stage is single-threaded), the load average before and after, and the ratio; then this process's peak RSS in
MiB/GiB (binary units; the whole run, loading included). ``--profile FILE`` also writes a cProfile of today's
stage (a third pass). ``--before REV`` takes the "before" from git instead: ``present/account_page.py`` as it is at
revision REV (e.g. ``main``), run inside today's package (its sibling modules are today's).

    python3 benchmarks/bench_pages.py [--village PATH] [--maps 50] [--before REV] [--profile FILE]

Without ``--village`` the demo's village (300 accounts) is used; for 100k use the cached village and the shared
lock: ``flock /tmp/cx100k.lock python3 benchmarks/bench_pages.py --village benchmarks/.cache/village_100000_1``.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import importlib.util
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _timed(label, fn, *args, **kwargs):
    load, t, c = os.getloadavg()[0], time.perf_counter(), _cpu()
    out = fn(*args, **kwargs)
    wall, cpu = time.perf_counter() - t, _cpu() - c
    print(f"{label:>7}: wall {wall:6.2f} s, CPU {cpu:6.2f} s, load {load:.2f} -> {os.getloadavg()[0]:.2f}", flush=True)
    return out, wall, cpu


def _before_module(rev, work):
    """The 'before' module: the frozen reference, or ``present/account_page.py`` at git revision ``rev`` loaded as
    a module of today's package (so its relative imports resolve)."""
    if rev is None:
        path, name = ROOT / "tests" / "account_page_reference.py", "account_page_reference"
    else:
        path, name = work / "account_page_before.py", "cxinfluence.present.account_page_before"
        path.write_bytes(subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:cxinfluence/present/account_page.py"],
                                        check=True, capture_output=True).stdout)
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--village", type=Path, help="a village folder (only read); default: the demo's village")
    ap.add_argument("--maps", type=int, default=50)
    ap.add_argument("--profile", type=Path, help="write a cProfile of today's pages stage here")
    ap.add_argument("--before", metavar="REV", help="git revision whose present/account_page.py is the 'before' "
                                                    "(default: the frozen tests/account_page_reference.py)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    page_mod = importlib.import_module("cxinfluence.present.account_page")
    work = Path(tempfile.mkdtemp(prefix="bench_pages_"))
    ref = _before_module(args.before, work)
    new = page_mod.write_account_pages
    figures = {}

    def both(village, result, map_entries, folder, **kw):
        folder = Path(folder)
        before = work / "before"
        for entry in map_entries:  # the maps the pages embed, copied as the run wrote them
            (before / entry[2]).parent.mkdir(parents=True, exist_ok=True)
            if (folder / entry[2]).exists():
                shutil.copy(folder / entry[2], before / entry[2])
        _, figures["wb"], figures["cb"] = _timed("before", ref.write_account_pages, village, result, map_entries,
                                                 before, **kw)
        pages, figures["wa"], figures["ca"] = _timed("after", new, village, result, map_entries, folder, **kw)
        differ = [p for p in pages.values() if (folder / p).read_bytes() != (before / p).read_bytes()]
        print(f"pages: {len(pages)}, byte-identical: {len(pages) - len(differ)}, differ: {differ}", flush=True)
        if args.profile:
            prof = cProfile.Profile()
            prof.runcall(new, village, result, map_entries, folder, **kw)
            prof.dump_stats(args.profile)
        return pages

    page_mod.write_account_pages = both
    from cxinfluence.pipeline.cli import main as cli

    try:
        if args.village:
            cli(["run", str(args.village), "--out", str(work / "run"), "--maps", str(args.maps), "--quiet"])
        else:
            cli(["demo", "--out", str(work / "run")])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if figures:
        wall, cpu = figures["wb"] / figures["wa"], figures["cb"] / figures["ca"]
        print(f"ratio before/after: wall {wall:.2f}x, CPU {cpu:.2f}x")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    print(f"peak RSS of this process (whole run): {rss / 2**20:,.0f} MiB ({rss / 2**30:.2f} GiB)")


if __name__ == "__main__":
    main()
