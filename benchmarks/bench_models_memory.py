"""Benchmark: the run's models stage on a large account-period frame, step by step (issue 17: a million accounts).

The model frame of a village (``cx.model_frame``) is tiled ``--tiles`` times (account ids suffixed, so every tile is
a new set of accounts) and the run's models stage (``runner._models`` then ``release_fits``, as ``cxinfluence run``
calls them) is run on it in a fresh process per size: the frame tiled once (the baseline, measured in the same
invocation) and ``--tiles`` times. Printed per size: wall, CPU (user + system), peak RSS of the process and of the
stage above the frame, and each step's own peak above the RSS it started at (fits, releases, the comparison's
steps), from a thread sampling RSS every 10 ms. The 100k village's frame (400k rows) tiled 10x is the 1M run's
4M-row frame.

    python3 benchmarks/bench_models_memory.py --village benchmarks/.cache/village_100000_1 --tiles 5
    python3 benchmarks/bench_models_memory.py --tiles 4          # the bundled sample village (seconds)
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GiB = 2**30
#: the steps whose own peak is reported (module, function); none runs in the comparison's worker threads
STEPS = [("runner", n) for n in ("fit_rebuy", "fit_bookings", "decision_equation", "corrected_fit",
                                 "release_fit", "compare_schemes", "models_table", "release_fits")] + [
    ("compare", n) for n in ("_common_rows", "_full_fit", "_score_table", "_select")]


def _rss() -> float:
    with open("/proc/self/statm", "rb") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / GiB


def child(frame_path: Path, tiles: int) -> dict:
    """One size, in this process: the stage on the frame tiled ``tiles`` times; its figures."""
    import pandas as pd

    from cxinfluence.models import compare
    from cxinfluence.pipeline import runner

    frames = []  # open steps: [name, peak]; the sampler raises each one's peak

    def sample():
        while True:
            r = _rss()
            for f in list(frames):
                f[1] = max(f[1], r)
            time.sleep(0.01)

    threading.Thread(target=sample, daemon=True).start()
    base = pd.read_pickle(frame_path)
    frame = pd.concat([base.assign(account_id=base["account_id"].astype(str) + f"~{i}") for i in range(tiles)],
                      ignore_index=True)
    del base
    steps = {}

    def wrap(module, name):
        fn = getattr(module, name)

        def timed(*args, **kwargs):
            start = _rss()
            mine = [name, start]
            frames.append(mine)
            try:
                return fn(*args, **kwargs)
            finally:
                frames[:] = [f for f in frames if f is not mine]
                worst = steps.setdefault(name, [0, 0.0])
                worst[0] += 1
                worst[1] = max(worst[1], mine[1] - start)

        setattr(module, name, timed)

    for where, name in STEPS:
        wrap(runner if where == "runner" else compare, name)

    class Result:
        tables, fits, skipped, caught = {}, {}, [], []

    result = Result()
    held = _rss()
    stage = ["models", held]
    frames.append(stage)
    t0, c0 = time.perf_counter(), os.times()
    runner._models(result, list(runner.COMPARED_SCHEMES), frame, seed=0, folds=5, n_boot=200)
    runner.release_fits(result.fits, result.tables.get("comparison_object"),
                        statsmodels=[f"rebuy:{runner.PRIMARY_SCHEME}"])
    c1 = os.times()
    return {"rows": len(frame), "accounts": frame["account_id"].nunique(), "wall": time.perf_counter() - t0,
            "user": c1.user - c0.user, "system": c1.system - c0.system, "frame_gib": held, "peak_gib": stage[1],
            "maxrss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GiB, "steps": steps,
            "failed": [r for r in result.skipped if r["severity"] == "failed"]}


def measure(frame_path: Path, tiles: int) -> dict:
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.pkl"
        code = (f"import pickle, sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_models_memory "
                f"as b; pickle.dump(b.child(__import__('pathlib').Path({str(frame_path)!r}), {tiles}), "
                f"open({str(out)!r}, 'wb'))")
        subprocess.run([sys.executable, "-W", "ignore", "-c", code], check=True, cwd=ROOT)
        with open(out, "rb") as fh:
            res = pickle.load(fh)
    res["load"] = (load[0], os.getloadavg()[0])
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--village", type=Path, default=ROOT / "data" / "sample_village", help="village folder (read)")
    ap.add_argument("--tiles", type=int, default=4, help="the large size: the frame tiled this many times")
    args = ap.parse_args()
    import cxinfluence as cx

    with tempfile.TemporaryDirectory() as tmp:
        frame_path = Path(tmp) / "model_frame.pkl"
        t0 = time.perf_counter()
        cx.model_frame(cx.load_village(args.village)).to_pickle(frame_path)
        print(f"model frame of {args.village}: {time.perf_counter() - t0:.1f} s", flush=True)
        runs = [measure(frame_path, 1), measure(frame_path, args.tiles)]
    for r in runs:
        cpu = r["user"] + r["system"]
        print(f"\n{r['rows']:,} rows / {r['accounts']:,} accounts: {r['wall']:.1f} s wall, {cpu:.1f} s CPU "
              f"({r['user']:.1f} user + {r['system']:.1f} system); frame held {r['frame_gib']:.2f} GiB, stage peak "
              f"{r['peak_gib']:.2f} GiB (+{r['peak_gib'] - r['frame_gib']:.2f}), process peak {r['maxrss_gib']:.2f} "
              f"GiB; load {r['load'][0]:.2f} -> {r['load'][1]:.2f}")
        for name, (calls, own) in r["steps"].items():
            print(f"    {name:20s} x{calls:<3d} own peak +{own:.2f} GiB")
        if r["failed"]:
            print(f"    FAILED: {r['failed']}")
    small, large = runs
    scale = large["rows"] / small["rows"]
    print(f"\n{args.tiles}x the rows: wall {large['wall'] / small['wall']:.2f}x, CPU "
          f"{(large['user'] + large['system']) / (small['user'] + small['system']):.2f}x, stage memory above the "
          f"frame {(large['peak_gib'] - large['frame_gib']) / max(small['peak_gib'] - small['frame_gib'], 1e-9):.2f}x "
          f"(rows {scale:.1f}x)")


if __name__ == "__main__":
    main()
