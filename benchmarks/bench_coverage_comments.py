"""Benchmark: coverage, listening_plan and action_list on a large portfolio.

Builds a synthetic village (``make_village(accounts, seed=1, waves_per_year=3)``;
100k accounts is about 2.2M stakeholders, 4.3M ties and 10M responses), matches
its ids to rows as ``load_village``'s validation does for ``cxinfluence run``
(``cxinfluence.village.ids.rows_of``), computes ``influence_weights`` as of 2026-01-01
once (neither timed: the pipeline has both already), then times the three calls
exactly as ``cxinfluence run`` makes them:

* ``coverage(v, as_of, window_days=365, influence=infl)``
* ``listening_plan(v, as_of, window_days=365, influence=infl)``
* ``action_list(v, as_of, influence=infl)``

Each time is printed with its ratio to a baseline measured in the same run on
the same data: ``responses.groupby("stakeholder_id")["date"].max()``, the
cheapest possible pass over the responses table (one hash of every response's
id). On a shared, noisy machine the ratio is steadier than the seconds. CPU
time is printed beside wall time (coverage's influence call runs PageRank on
two threads, so CPU can exceed wall). Peak RSS is the whole process's, village
included.

``coverage``'s one costly inner step, the influence of every departed person
at the instant before they left (one ``influence_weights`` call on the
villages as they were at each departure), is timed inside the call and
printed beside it: the rest is coverage's own work.

``--village PATH`` loads a saved village (e.g. the cached
``benchmarks/.cache/village_100000_1``) with ``load_village`` instead of
building one, as ``cxinfluence run`` does; ``as_of`` is then the run's
default (the day after the latest response).

    .venv/bin/python benchmarks/bench_coverage_comments.py [--accounts 100000] [--repeat 1] [--village PATH]
"""

from __future__ import annotations

import argparse
import os
import resource
import time


def timed(fn, repeat):
    """(result, best wall seconds, CPU seconds of that run) over ``repeat`` runs."""
    best = None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        run = (time.perf_counter() - t0, time.process_time() - c0)
        best = run if best is None or run[0] < best[0] else best
    return result, best[0], best[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs per call; the fastest is kept")
    parser.add_argument("--village", help="a saved village folder to load instead of building one")
    args = parser.parse_args(argv)
    import warnings

    warnings.simplefilter("ignore")

    import pandas as pd

    from cxinfluence.comments.actions import action_list
    from cxinfluence.listening import coverage, listening_plan
    from cxinfluence.village.ids import rows_of
    from cxinfluence.network.influence import influence_weights
    from cxinfluence.village.synth import make_village

    t0 = time.perf_counter()
    if args.village:
        from cxinfluence.village.asof import default_as_of
        from cxinfluence.village.core import load_village

        village = load_village(args.village, warn=False)
        as_of = default_as_of(village)
    else:
        village, _ = make_village(args.accounts, seed=1, waves_per_year=3)
        for table, column in (("stakeholders", "account_id"), ("relationships", "source_id"),
                              ("relationships", "target_id"), ("responses", "stakeholder_id")):
            rows_of(village, table, column)  # what load_village's validation leaves on a loaded village
        as_of = pd.Timestamp("2026-01-01")
    infl = influence_weights(village, as_of)
    print(f"{len(village.accounts):,} accounts: {len(village.stakeholders):,} stakeholders, "
          f"{len(village.relationships):,} ties, {len(village.responses):,} responses "
          f"(built with influence in {time.perf_counter() - t0:.1f} s)")

    responses = village.responses
    _, base, base_cpu = timed(lambda: responses.groupby("stakeholder_id")["date"].max(), args.repeat)
    print(f"{'baseline groupby max':>22}: {base:6.2f} s wall, {base_cpu:6.2f} s CPU")
    calls = {
        "coverage": lambda: coverage(village, as_of, window_days=365, influence=infl),
        "listening_plan": lambda: listening_plan(village, as_of, window_days=365, influence=infl),
        "action_list": lambda: action_list(village, as_of, influence=infl),
    }
    import cxinfluence.listening.departures as departures_module
    import cxinfluence.listening.people as people_module
    import cxinfluence.network.influence as influence_module

    inner = []  # (wall, CPU) of each influence call made inside the timed calls

    def timed_influence(*a, **k):
        t, c = time.perf_counter(), time.process_time()
        try:
            return plain(*a, **k)
        finally:
            inner.append((time.perf_counter() - t, time.process_time() - c))

    plain = influence_module.influence_weights
    # coverage reads the default influence from the names its modules imported: wrap it there (and in the
    # network module), one wrapper everywhere, so it is still "the default influence" to coverage
    holders = [influence_module, people_module, departures_module]
    for module in holders:
        module.influence_weights = timed_influence
    try:
        for name, fn in calls.items():
            inner.clear()
            out, wall, cpu = timed(fn, args.repeat)
            print(f"{name:>22}: {wall:6.2f} s wall, {cpu:6.2f} s CPU, {wall / base:5.1f}x baseline  "
                  f"({len(out):,} rows)")
            if inner:
                iw, ic = inner[-1]
                print(f"{'':>22}  of which influence at the departures {iw:.2f} s wall / {ic:.2f} s CPU; coverage's "
                      f"own work {wall - iw:.2f} s wall / {cpu - ic:.2f} s CPU; call / influence kernel "
                      f"{wall / iw:.2f}x wall, {cpu / ic:.2f}x CPU")
    finally:
        for module in holders:
            module.influence_weights = plain
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:,.0f} MiB ({peak / 1024:.2f} GiB); load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores (wall time on a busy machine overstates the cost)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
