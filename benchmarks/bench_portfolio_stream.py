"""The portfolio graphs written one partition at a time (PortfolioGraphWriter) against the whole-village writer.

    python benchmarks/bench_portfolio_stream.py prep VILLAGE WORK [K]   # once: WORK/village (K partitions, default 8),
                                                                       # the run's influence and stakeholder sentiment
                                                                       # tables, split per partition
    python benchmarks/bench_portfolio_stream.py compare WORK           # each writer in its own process, one after
                                                                       # the other; ratios, and the GEXF bytes compared

``whole``: ``load_village(WORK/village)`` (every partition) and the run's
``_write_portfolio`` on it; ``stream``: for each partition, ``read_partition``
and its rows of the tables, fed to the writer. Each reports wall and CPU
(user+sys) of the writing, and the process's peak RSS (the whole village loaded
for ``whole``; one partition at a time for ``stream``), with the load average.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path
from types import SimpleNamespace


def _cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _rss_mib():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def _hwm_mib():
    """This process's peak RSS since the last :func:`_reset_hwm` (VmHWM), MiB."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024


def _reset_hwm():
    """Start VmHWM again from the current RSS (Linux: ``echo 5 > /proc/self/clear_refs``)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prep(village, work, parts=8):
    import pandas as pd

    from cxinfluence.network.influence import influence_weights
    from cxinfluence.sentiment.schemes import sentiment_tables
    from cxinfluence.village.asof import default_as_of
    from cxinfluence.village.load import load_village
    from cxinfluence.village.partitions import partition_of, write_partitioned

    work = Path(work)
    (work / "tables").mkdir(parents=True, exist_ok=True)
    v = load_village(village, warn=False)
    write_partitioned(v, work / "village", parts, overwrite=True)
    del v
    v = load_village(work / "village", warn=False)  # the whole partitioned folder: its tables in partition order
    as_of = default_as_of(v)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        infl = influence_weights(v, as_of)
        _, people = sentiment_tables(v, as_of, window_days=365, lead_days=0, influence=infl)
    del v
    for name, table in (("influence", infl), ("stakeholder_sentiment", people)):
        table.to_parquet(work / "tables" / f"{name}.parquet", index=False)
        part = partition_of(table["account_id"], parts)
        for k in range(parts):
            table[part == k].reset_index(drop=True).to_parquet(work / "tables" / f"{name}-{k}.parquet", index=False)
    (work / "prep.json").write_text(json.dumps({"partitions": parts, "as_of": str(as_of), "people": len(infl)}))
    print(f"prepared {work}: {parts} partitions, {len(infl):,} people; {pd.Timestamp.now()}")


def whole(work):
    import pandas as pd

    from cxinfluence.pipeline.outputs import _write_portfolio
    from cxinfluence.village.load import load_village

    work = Path(work)
    v = load_village(work / "village", warn=False)
    t = {n: pd.read_parquet(work / "tables" / f"{n}.parquet") for n in ("influence", "stakeholder_sentiment")}
    rss0, cpu0, t0 = _rss_mib(), _cpu(), time.perf_counter()
    result = SimpleNamespace(skipped=[])
    out = work / "out_whole"
    out.mkdir(exist_ok=True)
    _write_portfolio(v, t, out, result)
    return {"wall": time.perf_counter() - t0, "cpu": _cpu() - cpu0, "rss_before_mib": rss0, "peak_mib": _peak_mib(),
            "notes": [s["reason"] for s in result.skipped], "gexf": str(out / "networks" / "portfolio.gexf")}


def stream(work):
    import pandas as pd

    from cxinfluence.present.portfoliostream import PortfolioGraphWriter
    from cxinfluence.village.partitions import read_partition

    work = Path(work)
    parts = json.loads((work / "prep.json").read_text())["partitions"]
    rss0, cpu0, t0 = _rss_mib(), _cpu(), time.perf_counter()
    read = read_cpu = 0.0
    peak = 0.0
    trace = []  # (partition, RSS MiB before its add (partition read), peak RSS MiB during add, partitions kept)
    out = work / "out_stream"
    with PortfolioGraphWriter(out) as w:
        for k in range(parts):
            r0, c0 = time.perf_counter(), _cpu()
            part = read_partition(work / "village", k, warn=False)
            infl = pd.read_parquet(work / "tables" / f"influence-{k}.parquet")
            people = pd.read_parquet(work / "tables" / f"stakeholder_sentiment-{k}.parquet")
            read += time.perf_counter() - r0
            read_cpu += _cpu() - c0
            before, peak = _rss_mib(), max(peak, _hwm_mib())
            _reset_hwm()  # (also resets what ru_maxrss reports: the peak is kept here)
            w.add(part, infl, people)
            trace.append((k, round(before), round(_hwm_mib()), w.kept_partitions))
            del part, infl, people
    return {"wall": time.perf_counter() - t0, "read_wall": read, "read_cpu": read_cpu, "cpu": _cpu() - cpu0, "rss_before_mib": rss0,
            "peak_mib": max(peak, _hwm_mib()), "trace": trace, "notes": w.notes, "gexf": str(out / "networks" / "portfolio.gexf")}


def _digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 24), b""):
            h.update(block)
    return h.hexdigest()


def compare(work):
    got = {}
    for mode in ("whole", "stream"):
        load = os.getloadavg()
        p = subprocess.run([sys.executable, __file__, mode, str(work)], capture_output=True, text=True, check=True)
        got[mode] = json.loads(p.stdout.strip().splitlines()[-1])
        g = got[mode]
        print(f"{mode:6s}: wall {g['wall']:7.1f} s  CPU {g['cpu']:7.1f} s  peak RSS {g['peak_mib'] / 1024:5.2f} GiB "
              f"(RSS before writing {g['rss_before_mib'] / 1024:.2f} GiB)"
              + (f"  [of which reading the partitions and their rows: wall {g['read_wall']:.1f} s, CPU "
                 f"{g['read_cpu']:.1f} s]" if "read_wall" in g else "")
              + f"  load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    a, b = got["whole"], got["stream"]
    print("stream, each partition (partition, RSS MiB with it read, peak RSS MiB while added, partitions kept "
          "for Kumu after):", b["trace"])
    print(f"stream/whole: wall {b['wall'] / a['wall']:.2f}x  CPU {b['cpu'] / a['cpu']:.2f}x  "
          f"peak RSS {b['peak_mib'] / a['peak_mib']:.2f}x")
    print(f"the writer alone (stream minus reading): wall {b['wall'] - b['read_wall']:.1f} s "
          f"({(b['wall'] - b['read_wall']) / a['wall']:.2f}x), CPU {b['cpu'] - b['read_cpu']:.1f} s "
          f"({(b['cpu'] - b['read_cpu']) / a['cpu']:.2f}x)")
    same = _digest(a["gexf"]) == _digest(b["gexf"])
    print(f"portfolio.gexf {os.path.getsize(a['gexf']) / 2**20:,.0f} MiB, byte-identical: {same}; "
          f"notes identical: {a['notes'] == b['notes']} {a['notes']}")


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    if cmd == "prep":
        prep(args[0], args[1], int(args[2]) if len(args) > 2 else 8)
    elif cmd == "compare":
        compare(args[0])
    else:
        print(json.dumps({"whole": whole, "stream": stream}[cmd](args[0])))
