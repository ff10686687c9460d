"""What the run writes besides its tables: maps, the portfolio graphs and the report page.

Called by :func:`cxinfluence.pipeline.runner.run` inside its atomic output folder.
"""

from __future__ import annotations

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from ..exceptions import CxInfluenceError
from ..network.graph import account_graphs
from ..present.content import build_report
from ..present.exports import write_gexf, write_kumu
from ..present.mapfiles import PARALLEL_MIN_MAPS, MapJob, write_maps
from ..present.portfolio import (EXCEL_MAX_ROWS, portfolio_tables, write_portfolio_gexf, write_portfolio_graph,
                                 write_portfolio_kumu)
from ..present.report import ReportContent, render_report
from ..present.summary import village_overview
from ..present.pagedata import sub_village
from ..present.workers import deferred_worker, kept_worker
from ..sentiment.prior import PRIOR_FILE
from ..village.compact import drop_comments
from ..village.filenames import account_file_names
from ..village.io import write_csv, write_csv_pieces
from .spill import SpilledTable, resolved
from .stages import TRIM_FROM_BYTES, _record, _resident_bytes, hand_back

#: maps whose HTML is embedded in the report (the first of the selected accounts)
EMBEDDED_MAPS = 3


def _select_map_accounts(risk, accounts, maps, map_accounts):
    if map_accounts:
        known = set(accounts["account_id"].astype(str))
        missing = [a for a in map_accounts if a not in known]
        if missing:
            raise CxInfluenceError(f"map_accounts={missing!r} are not account ids of this village")
        return list(map_accounts)
    if maps is None or maps == 0:
        return []
    ranked = risk["account_id"].astype(str).tolist()
    return ranked if maps < 0 else ranked[:maps]


def picture_worker(v, maps, map_accounts):
    """The run's kept picture worker (:func:`cxinfluence.present.workers.kept_worker`), started only where the
    maps (and so their pages) will be enough to share with it: :data:`PARALLEL_MIN_MAPS` or more, and more than
    one core. A village of a few accounts does not pay for a process it would not use.

    A large run (:data:`~cxinfluence.pipeline.stages.TRIM_FROM_BYTES` resident or more as its analysis begins)
    defers it to the maps (:func:`~cxinfluence.present.workers.start_deferred_worker`), once its memory has
    peaked and the comments are let go: started with the analysis, the worker's 300-350 MiB sat beside the run's
    peak and took the 100,000-account run's processes from 3.8-3.9 to 4.1-4.3 GiB together.
    """
    n = len(v.accounts)
    count = len(map_accounts) if map_accounts else n if maps is not None and maps < 0 else min(maps or 0, n)
    resident = _resident_bytes()
    return kept_worker(start=count >= PARALLEL_MIN_MAPS and (os.cpu_count() or 1) > 1,
                       defer=resident is not None and resident >= TRIM_FROM_BYTES)


def _maps_village(v, accounts):
    """The village of the maps' ``accounts`` (comments included), after ``v``, the run's own, has let go of its
    comments in place (456 MiB at 10M responses; the maps and the account pages are their last readers, of these
    accounts only), handed back to the system before a deferred picture worker starts beside the run."""
    chosen = sub_village(v, accounts)
    drop_comments(v)  # in place: run() holds v too
    if deferred_worker():
        hand_back()
    return chosen


def _report(v, result, map_entries, anonymize, window_days, lead_days, *, currency=None, account_pages=None) -> str:
    """The report page; if building it fails, a plain page naming the failure and what was skipped."""
    try:
        return build_report(v, result, map_entries, anonymized=anonymize, window_days=window_days,
                            lead_days=lead_days, currency=currency, account_pages=account_pages)
    except Exception as exc:  # noqa: BLE001 - the report is always written: fall back to the plain page
        _record(result, "Report", "failed", f"{type(exc).__name__}: {exc}; a plain report was written instead")

    return render_report(ReportContent(
        title="Who decides whether our accounts rebuy", as_of=result.as_of, overview=village_overview(v),
        headlines=["The full report could not be built on this data; the tables beside it were written."],
        maps=map_entries, skipped=result.skip_lines(), anonymized=anonymize))


def _write_portfolio(v, t, folder, result):
    """Every account's current graph for Gephi and Kumu (``networks/portfolio*``), from the tables, no networkx."""
    if t.get("influence") is None:
        _record(result, "Portfolio graphs", "skipped", "needs the influence table, which failed (see above)")
        return
    (folder / "networks").mkdir(exist_ok=True)
    gexf = folder / "networks" / "portfolio.gexf"
    if len(t["influence"]) + 1 > EXCEL_MAX_ROWS:  # no workbook: the people are written before the ties are made
        nodes, edges = write_portfolio_graph(v, t["influence"], t.get("stakeholder_sentiment"), gexf)
    else:
        nodes, edges = portfolio_tables(v, t["influence"], t.get("stakeholder_sentiment"))
        write_portfolio_gexf(nodes, edges, gexf)
    if max(len(nodes), len(edges)) + 1 > EXCEL_MAX_ROWS:
        # a note, not a skipped stage: the portfolio's graph was written (GEXF); Excel's limit is not the data's fault
        _record(result, "Portfolio graphs", "note", f"{len(nodes):,} people and {len(edges):,} ties do not fit an "
                "Excel sheet: portfolio_kumu.xlsx not written (portfolio.gexf was)")
        return
    write_portfolio_kumu(nodes, edges, folder / "networks" / "portfolio_kumu.xlsx")


def _write_maps(v, as_of, selected, influence, folder, *, seed, window_days):
    entries = []
    if not selected:
        return entries
    (folder / "networks").mkdir(exist_ok=True)
    names = v.accounts.set_index(v.accounts["account_id"].astype(str)).get("name")
    # one pass over the responses for every selected account, not one per map
    graphs = account_graphs(v, selected, as_of, departed="mark", influence=influence, window_days=window_days)
    files = account_file_names(selected)  # one file per exact id, also on case-insensitive disks
    labels = [f"{a}" + (f" ({names[a]})" if names is not None and pd.notna(names.get(a)) else "") for a in selected]
    rels = [f"networks/{files[str(a)]}" for a in selected]

    def exports():  # the maps' Gephi and Kumu files, written here while the worker draws
        write_gexf(graphs, folder / "networks" / "buying_centers.gexf")
        write_kumu(graphs, folder / "networks" / "buying_centers_kumu.xlsx")

    # HTML, PNG and SVG of each map; on both cores when there are enough maps (present/mapfiles.py)
    jobs = [MapJob(graphs[a], rel, f"Buying center: {label}") for a, rel, label in zip(selected, rels, labels)]
    pages = write_maps(jobs, folder, seed=seed, keep_pages=EMBEDDED_MAPS, also=exports)
    return [(a, label, rel, page) for a, label, rel, page in zip(selected, labels, rels, pages)]


#: the run's tables, in the order they are written (each as ``<name>.csv`` when the run made it)
TABLES = ("influence", "coverage", "account_sentiment", "models", "accounts_at_risk", "listening_plan",
          "scheme_comparison", "influence_sensitivity", "actions", "model_frame", "warnings", "what_changed")


def _write_tables(result, folder, early=None):
    """Every table the run made as CSV (neutralised, :func:`cxinfluence.village.io.write_csv`) and the
    portfolio prior its sentiment used (``portfolio_prior.json``); those ``early`` (:class:`EarlyTables`) wrote
    while the run went on are waited for, not written again."""
    t = result.tables
    done = early.finish() if early is not None else set()
    names = [n for n in TABLES if n not in done and resolved(t, n) is not None]  # a streamed run's: put together
    # pyarrow's CSV writer releases the GIL: two tables at a time on two cores
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda n: t[n].write_csv(folder / f"{n}.csv") if isinstance(t[n], SpilledTable)
                      else write_csv(t[n], folder / f"{n}.csv"), names))
    if result.prior is not None:
        result.prior.write(folder / PRIOR_FILE)


class EarlyTables:
    """The run's tables written as CSV on one background thread as soon as their stage is done.

    Through the analysis the second core is mostly idle (the picture worker waits for the maps) and pyarrow's
    CSV writer releases the GIL, so a table written then costs the run little of its wall time (writing them all
    at the end took 4.5 s of the 100k run). A large table goes in pieces of :data:`PIECE_ROWS` rows
    (:func:`~cxinfluence.village.io.write_csv_pieces`: the same bytes), so its Arrow copy stays small beside
    the stage running then. Only in-memory tables (a streamed run's spilled ones are written at the end); a table
    replaced after it was written is written again by :func:`_write_tables`. Leaving the block waits for the
    write under way and drops the others (the staging folder is about to go).
    """

    def __init__(self, folder, tables: dict):
        self.folder, self.tables, self.sent = Path(folder), tables, {}
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="cxinfluence-tables", initializer=_yielding)

    def ready(self, *names) -> None:
        """The tables ``names`` are final: start writing those the run made (and has not sent yet)."""
        for name in names:
            table = self.tables.get(name)
            if isinstance(table, pd.DataFrame) and name not in self.sent:
                self.sent[name] = (table, self.pool.submit(_write_in_pieces, table, self.folder / f"{name}.csv"))

    def finish(self) -> set:
        """Wait for the tables sent; the names of those still the run's (re-raises what a write raised)."""
        for _, future in self.sent.values():
            future.result()
        return {name for name, (table, _) in self.sent.items() if self.tables.get(name) is table}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.pool.shutdown(wait=True, cancel_futures=True)


def _yielding() -> None:
    """This thread runs when the run's own threads and processes leave a core free (Linux: a thread's nice value
    is its own); elsewhere it runs as the others do."""
    if sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except OSError:  # pragma: no cover - not allowed here: the thread runs at the run's priority
            pass


#: rows of a table converted to Arrow at a time by :class:`EarlyTables` (100,000 rows of the 100k run's widest
#: table, 39 columns, are about 30 MiB)
PIECE_ROWS = 100_000


def _write_in_pieces(df: pd.DataFrame, path) -> None:
    # a text column of Python objects is typed by all its values together: such a table is converted whole
    whole = len(df) <= PIECE_ROWS or any(pd.api.types.is_object_dtype(d) for d in df.dtypes)
    write_csv_pieces([df] if whole else (df.iloc[i:i + PIECE_ROWS] for i in range(0, len(df), PIECE_ROWS)), path)
