"""Benchmark: slide figures (PNG + SVG per map) and the portfolio GEXF, against a baseline revision, same run.

Issue 18 (maps and portfolio graphs). On a synthetic village (not the cached
100k one: this is the small-scale check; ``bench_present.py`` is the 100k one),
each revision runs in a fresh interpreter with the same inputs (pickled here):

* ``figures``: ``write_map_figures`` of the ``--maps`` largest accounts;
* ``portfolio gexf``: ``write_portfolio_gexf`` of every account.

It prints wall and CPU time (``resource.getrusage``: user + system) per step,
the ratio baseline / this tree, peak RSS in MiB, the load average, and whether
the outputs are equal: GEXF byte for byte, PNGs pixel for pixel (the PNG
encoding itself changed), SVG byte for byte::

    python3 benchmarks/bench_figures.py [--accounts 3000] [--maps 25] [--baseline 8638164]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, os, pickle, resource, sys, time
sys.path.insert(0, sys.argv[1])
graphs, nodes, edges = pickle.load(open(sys.argv[2], "rb"))
out = sys.argv[3]
from cxinfluence.present.slides import write_map_figures
from cxinfluence.present.portfolio import write_portfolio_gexf

def used():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime

write_map_figures(graphs[0], out, "warm", seed=0)  # imports and font cache, not timed
steps = {"figures": lambda: [write_map_figures(g, out, f"map{i}", seed=i, title=f"Buying center: account {i}")
                             for i, g in enumerate(graphs)],
         "portfolio gexf": lambda: write_portfolio_gexf(nodes, edges, os.path.join(out, "portfolio.gexf"))}
for name, step in steps.items():
    t0, (u0, s0) = time.perf_counter(), used()
    step()
    (u1, s1), wall = used(), time.perf_counter() - t0
    print(json.dumps({"step": name, "wall": wall, "user": u1 - u0, "sys": s1 - s0, "load": os.getloadavg()[0],
                      "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), flush=True)
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accounts", type=int, default=3000)
    ap.add_argument("--maps", type=int, default=25)
    ap.add_argument("--baseline", default="8638164")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    import numpy as np
    from PIL import Image

    from cxinfluence.network.graph import account_graphs
    from cxinfluence.network.influence import influence_weights
    from cxinfluence.present.portfolio import portfolio_tables
    from cxinfluence.sentiment.schemes import sentiment_tables
    from cxinfluence.village.asof import default_as_of
    from cxinfluence.village.synth import make_village

    v, _ = make_village(args.accounts, seed=3)
    as_of = default_as_of(v)
    infl = influence_weights(v, as_of)
    _, people = sentiment_tables(v, as_of, window_days=365, lead_days=0, influence=infl)
    nodes, edges = portfolio_tables(v, infl, people)
    graphs = account_graphs(v, None, as_of, departed="mark", influence=infl)
    big = sorted(graphs.values(), key=lambda g: -g.number_of_nodes())[:args.maps]
    with tempfile.TemporaryDirectory(prefix="bench_figures_") as tmp:
        tmp = Path(tmp)
        inputs = tmp / "inputs.pkl"
        inputs.write_bytes(pickle.dumps((big, nodes, edges)))
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.baseline, "cxinfluence"],
                                 capture_output=True, check=True).stdout
        (tmp / "base").mkdir()
        subprocess.run(["tar", "-x", "-C", str(tmp / "base")], input=archive, check=True)
        print(f"{args.accounts} accounts: {len(nodes):,} people, {len(edges):,} ties; {len(big)} maps "
              f"({sum(g.number_of_nodes() for g in big)} people); load {os.getloadavg()}", flush=True)
        figures = {}
        for label, code in ((args.baseline, tmp / "base"), ("this tree", ROOT)):
            out = tmp / label.replace(" ", "_")
            out.mkdir()
            res = subprocess.run([sys.executable, "-c", CHILD, str(code), str(inputs), str(out)], capture_output=True,
                                 text=True, env=dict(os.environ, PYTHONHASHSEED="0"))
            if res.returncode:
                raise SystemExit(f"{label}: failed\n{res.stderr[-3000:]}")
            figures[label] = {r["step"]: r for r in map(json.loads, res.stdout.splitlines())}
        old, new = figures[args.baseline], figures["this tree"]
        print(f"\n| step | {args.baseline} wall / CPU (user + sys) | this tree wall / CPU (user + sys) "
              "| ratio wall / CPU | peak RSS (this tree) | load |")
        print("|---|---|---|---|---|---|")
        for step in new:
            o, n = old[step], new[step]
            co, cn = o["user"] + o["sys"], n["user"] + n["sys"]
            print(f"| {step} | {o['wall']:.2f} s / {co:.2f} s ({o['user']:.2f} + {o['sys']:.2f}) | {n['wall']:.2f} s / "
                  f"{cn:.2f} s ({n['user']:.2f} + {n['sys']:.2f}) | {o['wall'] / n['wall']:.2f}x / {co / cn:.2f}x | "
                  f"{n['peak_mib']:,.0f} MiB | {o['load']:.1f} / {n['load']:.1f} |")
        a, b = tmp / args.baseline, tmp / "this_tree"
        same_gexf = (a / "portfolio.gexf").read_bytes() == (b / "portfolio.gexf").read_bytes()
        pngs = sorted(p.name for p in a.glob("*.png"))
        diff = max(float(np.abs(np.asarray(Image.open(a / p).convert("RGB"), dtype=float)
                                - np.asarray(Image.open(b / p).convert("RGB"), dtype=float)).max()) for p in pngs)
        svgs = sorted(p.name for p in a.glob("*.svg"))
        same_svg = all((a / p).read_bytes() == (b / p).read_bytes() for p in svgs)
        png_size = (sum((a / p).stat().st_size for p in pngs), sum((b / p).stat().st_size for p in pngs))
        print(f"\noutputs: GEXF same bytes: {same_gexf}; {len(pngs)} PNGs, largest pixel difference {diff:.0f} "
              f"(of 255), {png_size[0] / 2**20:.1f} MiB -> {png_size[1] / 2**20:.1f} MiB; {len(svgs)} SVGs same "
              f"bytes: {same_svg}")


if __name__ == "__main__":
    main()
