"""Benchmark: every public call the notebooks make, on one loaded village (#18: "every public call in about a second").

Loads a village folder once (default: the cached 100k benchmark village, ``bench_run.py`` makes it), then calls,
in the notebooks' order and with their arguments, each ``cx.`` function an analyst runs in a cell
(notebooks 01-04 and 06; 05 is ``cx.run``, measured by ``bench_run.py``). For each call it prints wall and CPU
seconds, the process's peak RSS during the call (MiB, sampled every 5 ms from ``/proc/self/statm``) and the
1-minute load average before it; at the end the calls over ``--budget`` seconds (default 1) and the sum.

Each call runs ``--repeat`` times (default 1: the first call, as in a notebook; a second call may find the
village's id cache warm, :mod:`cxinfluence.village.ids`); the best wall and CPU are printed.

Run: ``python benchmarks/bench_api.py [--village PATH] [--repeat 1] [--charts]``
(with ``PYTHONPATH`` at the repository root). ``--charts`` also draws the notebooks' figures (matplotlib Agg).
The machine may be shared: read CPU beside wall, and the load column.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
PAGE = os.sysconf("SC_PAGE_SIZE")


class PeakRSS:
    """Peak resident memory (MiB) of this process while the ``with`` block runs, sampled every 5 ms."""

    def __enter__(self):
        self.peak, self._stop = self._rss(), threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    @staticmethod
    def _rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * PAGE / 2**20

    def _watch(self):
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self._rss())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())


def calls(cx, village, as_of, window, charts):
    """(name, thunk) in the notebooks' order; a thunk may use results of earlier ones through ``got``."""
    got = {}

    def keep(name, value):
        got[name] = value
        return value

    def chart(fn):
        import matplotlib.pyplot as plt

        def draw():
            fn()
            plt.close("all")
        return draw

    out = [
        ("village_overview", lambda: cx.village_overview(village)),
        ("problems_table", lambda: cx.problems_table(village.problems)),
        ("unclassified_titles", lambda: cx.unclassified_titles(village.stakeholders)),
        ("metric_table(by=role)", lambda: cx.metric_table(village, by="role", as_of=as_of, window_days=window)),
        ("influence_weights", lambda: keep("influence", cx.influence_weights(village, as_of=as_of))),
        ("account_structure", lambda: cx.account_structure(village, as_of=as_of)),
        ("stakeholder_structure", lambda: cx.stakeholder_structure(village, as_of=as_of)),
        ("coverage(influence=)", lambda: keep("coverage", cx.coverage(village, as_of, window_days=window,
                                                                      influence=got["influence"]))),
        ("coverage", lambda: cx.coverage(village, as_of, window_days=window)),
        ("account_graph", lambda: keep("graph", cx.account_graph(
            village, got["coverage"].sort_values(["unheard_veto", "heard_influence"], ascending=[False, True])
            ["account_id"].iloc[0], as_of, departed="mark", influence=got["influence"]))),
        ("network_map", lambda: cx.network_map(got["graph"], title="map")),
        ("listening_plan(influence=)", lambda: cx.listening_plan(village, as_of, window_days=window,
                                                                 influence=got["influence"])),
        ("manager_books", lambda: cx.manager_books(village, as_of, window_days=window)),
        ("turnover_what_if(departed)", lambda: cx.turnover_what_if(village, as_of, remove="departed",
                                                                   window_days=window)),
        ("account_sentiment", lambda: keep("sentiment", cx.account_sentiment(village, as_of, window_days=window))),
        ("account_sentiment(influence=)", lambda: cx.account_sentiment(village, as_of, window_days=window,
                                                                       influence=got["influence"])),
        ("sentiment.role_stage", lambda: cx.sentiment.role_stage(village, as_of=as_of, window_days=None)),
        ("stakeholder_sentiment", lambda: cx.stakeholder_sentiment(village, as_of, window_days=None)),
        ("sentiment.by_channel", lambda: cx.sentiment.by_channel(village, as_of=as_of, window_days=window)),
        ("sentiment.emotions", lambda: cx.sentiment.emotions(village, as_of=as_of, window_days=window)),
        ("sentiment.who_moved", lambda: cx.sentiment.who_moved(village, as_of - pd_days(365), as_of)),
        ("model_frame", lambda: keep("frame", cx.model_frame(village, window_days=window))),
        ("fit_rebuy", lambda: keep("rebuy", cx.fit_rebuy(got["frame"], scheme="influence_weighted"))),
        ("rebuy.tidy", lambda: got["rebuy"].tidy()),
        ("decision_equation", lambda: keep("equation", cx.decision_equation(got["frame"]))),
        ("decision_equation(veto)", lambda: keep("veto", cx.decision_equation(
            got["frame"], roles=["veto", "nonveto"], name="veto_equation"))),
        ("fit_bookings", lambda: keep("bookings", cx.fit_bookings(got["frame"], scheme="influence_weighted"))),
        ("fit_mixed", lambda: keep("mixed", cx.fit_mixed(got["frame"], scheme="influence_weighted",
                                                          outcome="bookings", groups="segment"))),
        ("compare_schemes", lambda: keep("comparison", cx.compare_schemes(got["frame"], folds=5, seed=0))),
        ("findings", lambda: cx.findings({k: got[k] for k in ("rebuy", "equation", "veto", "bookings")},
                                         got["comparison"])),
        ("fit_formula", lambda: cx.fit_formula(got["frame"], "renewed ~ influence_weighted * disagreement + "
                                               "log_revenue", family="binomial")),
        ("models_table", lambda: cx.models_table([got[k] for k in ("rebuy", "equation", "veto", "bookings",
                                                                    "mixed")])),
        ("comments.comment_table", lambda: keep("comments", cx.comments.comment_table(village, as_of,
                                                                                      window_days=window))),
        ("comments.theme_summary", lambda: cx.comments.theme_summary(got["comments"])),
        ("comments.action_list", lambda: keep("actions", cx.comments.action_list(village, as_of, window_days=90))),
        ("comments.action_summary", lambda: cx.comments.action_summary(got["actions"])),
        ("comments.recurrence", lambda: cx.comments.recurrence(got["comments"])),
        ("sentiment.journey_view", lambda: cx.sentiment.journey_view(village, as_of, by=("journey_stage",),
                                                                     freq="Y")),
        ("sentiment.pain_points(touchpoint)", lambda: cx.sentiment.pain_points(village, as_of, by="touchpoint",
                                                                               window_days=window)),
    ]
    if charts:
        out += [
            ("present.coverage_chart", chart(lambda: cx.present.coverage_chart(got["coverage"]))),
            ("present.sentiment_scatter", chart(lambda: cx.present.sentiment_scatter(
                got["sentiment"], hue="veto_binding", hue_title="Veto floor binding"))),
            ("present.role_effects_chart", chart(lambda: cx.present.role_effects_chart(got["equation"]))),
            ("present.calibration_plot", chart(lambda: cx.present.calibration_plot(
                got["comparison"].predictions, y_prob=got["comparison"].best()))),
        ]
    return out


def pd_days(n):
    import pandas as pd

    return pd.Timedelta(days=n)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--village", default=str(HERE / ".cache" / "village_100000_1"))
    parser.add_argument("--window", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--budget", type=float, default=1.0, help="seconds a call should take (listed if over)")
    parser.add_argument("--charts", action="store_true", help="also draw the notebooks' figures")
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import cxinfluence as cx
    from cxinfluence.village.asof import default_as_of

    warnings.simplefilter("ignore")  # the village's own warnings are not what is measured
    t0, c0 = time.perf_counter(), time.process_time()
    with PeakRSS() as mem:
        village = cx.load_village(args.village, warn=False)
    as_of = default_as_of(village)
    print(f"village {args.village}: {len(village.accounts):,} accounts, {len(village.stakeholders):,} stakeholders, "
          f"{len(village.relationships):,} ties, {len(village.responses):,} responses; as_of {as_of.date()}; "
          f"loaded in {time.perf_counter() - t0:.1f} s wall / {time.process_time() - c0:.1f} s CPU, "
          f"{mem.peak:,.0f} MiB; {os.cpu_count()} cores")
    t0, c0 = time.perf_counter(), time.process_time()
    for name in cx.__all__:  # the first cell's imports (statsmodels, seaborn, pyvis) are not any call's time
        getattr(cx, name)
    for space, names in (("sentiment", "role_stage pain_points"), ("comments", "comment_table"),
                         ("present", "coverage_chart")):
        for name in names.split():
            getattr(getattr(cx, space), name)
    print(f"imports: {time.perf_counter() - t0:.1f} s wall / {time.process_time() - c0:.1f} s CPU")
    rows = []
    print(f"{'call':<36}{'wall s':>8}{'CPU s':>8}{'peak MiB':>10}{'load':>6}")
    for name, thunk in calls(cx, village, as_of, args.window, args.charts):
        best = None
        load = os.getloadavg()[0]
        for _ in range(args.repeat):
            w0, c0 = time.perf_counter(), time.process_time()
            with PeakRSS() as mem:
                thunk()
            took = (time.perf_counter() - w0, time.process_time() - c0)
            best = took if best is None else (min(best[0], took[0]), min(best[1], took[1]))
        rows.append((name, *best, mem.peak, load))
        print(f"{name:<36}{best[0]:>8.2f}{best[1]:>8.2f}{mem.peak:>10,.0f}{load:>6.1f}", flush=True)
    over = [r for r in rows if r[1] > args.budget]
    print(f"\n{len(rows)} calls: {sum(r[1] for r in rows):.1f} s wall, {sum(r[2] for r in rows):.1f} s CPU in all; "
          f"{len(over)} over {args.budget:g} s wall: " + ", ".join(f"{r[0]} {r[1]:.1f} s" for r in
                                                                    sorted(over, key=lambda r: -r[1])))


if __name__ == "__main__":
    main()
