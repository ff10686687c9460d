"""The streamed run: a partitioned village analysed one partition at a time, never loaded whole.

:func:`cxinfluence.pipeline.runner.run` on a partitioned folder
(:mod:`cxinfluence.village.partitions`) opens it as a
:class:`~cxinfluence.pipeline.partitioned.PartitionedVillage` (every partition
read and validated once: the accounts, the outcomes and the overview's facts
are kept) and reads each partition twice more::

    pass 1, per partition   influence + structure, coverage, listening plan, informal comments,
                            the portfolio prior's sufficient statistics        -> reduce: the prior
    pass 2, per partition   account sentiment (snapshot and outcome periods, scored against the
                            prior), model-frame rows, the snapshot's model rows, risk flags,
                            the portfolio graph's nodes and ties, the sensitivity sample's accounts
    then                    models on the account-level frame, influence sensitivity (on its
                            sample), accounts at risk, maps and pages (the chosen accounts read
                            from their partitions), report

Each pass is the same per-partition functions as the in-memory run
(:mod:`cxinfluence.pipeline.mapreduce`), on any engine. The tables with a row
per person or per account and date go to disk as each partition finishes
(:mod:`cxinfluence.pipeline.spill`) and are written to CSV from there; the
account-level tables stay in memory, but for the three largest: the listening
plan, and the model frame and the comments once their stage is done, go back
to the disk (``Spill.park``), read by the report and the pages piece by piece. Every output is the one the run gives on
the loaded folder (``run(load_village(path))``), whose tables are in partition
order (tests/test_stream_run.py).
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import pandas as pd

from ..models.predict import snapshot_frame
from ..village.subset import subset_village
from ..present.portfolio import portfolio_tables
from ..present.portfoliostream import PortfolioGraphWriter
from ..exceptions import PartitionError
from ..village.core import Village
from ..village.partitions import read_manifest
from .engines import partitions_of
from .mapreduce import (
    account_rank,
    actions_part,
    combine,
    combine_priors,
    coverage_part,
    influence_part,
    order_rows,
    prior_part,
    sentiment_part,
)
from .spill import Deferred, SpilledTable
from .stages import _guard, _record, _stage

#: tables kept on disk, one piece per partition (a row per person, or per account and date)
SPILLED = ("influence", "stakeholder_sentiment", "history", "nodes", "edges")
#: account-level tables needed whole by one later stage only: on disk until then (spill.Deferred)
DEFERRED = ("actions", "model_frame", "snapshot_frame")
#: the village tables, as a partition's sample sub-village is returned
VILLAGE_TABLES = ("accounts", "stakeholders", "relationships", "responses", "outcomes")


def written_partitions(path, partitions) -> int:
    """The partitions of a partitioned folder's streamed run: as written (``partitions`` 1, the default, or K)."""
    written = read_manifest(path)["partitions"]
    if partitions not in (1, None, written):
        raise PartitionError(f"partitions={partitions!r} but {path} is written in {written} partitions, which the run "
                             f"reads one at a time; leave --partitions out (or pass {written}), or write it again "
                             f"with cxinfluence partition VILLAGE OUT --partitions {partitions}")
    return written


def partitions_of_folder(pv) -> list:
    """The partitions of a :class:`PartitionedVillage`, each read from disk where it runs (none empty): the
    engines' partitions of its folder, with the role rules and this run's validated copies."""
    parts = partitions_of(str(pv.path), pv.partitions)
    for p in parts:
        p.role_rules = pv.role_rules
        p.cached = None if pv.cache is None else str(pv.cached(p.number))
    return [p for p in parts if p.accounts[2]] or parts[:1]


def _noting(notes, stage, func, tables, **kwargs) -> dict:
    """``func(tables, **kwargs)``, with the warnings it raises noted as ``stage``'s (re-raised by the run)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = func(tables, **kwargs)
    notes += [(stage, w.category, str(w.message)) for w in caught]
    return out


def _notes(notes) -> pd.DataFrame:
    return pd.DataFrame(notes, columns=["stage", "category", "message"])


def first_pass(tables, *, as_of, window_days, lead_days, half_life_days, action_window_days, stats=True) -> dict:
    """Pass 1 on one partition: influence and structure, coverage, listening plan, comments, and (``stats``:
    unless the run was given a prior) the portfolio prior's sufficient statistics."""
    notes = []
    out = _noting(notes, "Influence", influence_part, tables, as_of=as_of)
    own = out["influence"]
    out.update(_noting(notes, "Coverage and listening plan", coverage_part, tables, as_of=as_of,
                       window_days=window_days, influence=own))
    out.update(_noting(notes, "Informal comments", actions_part, tables, as_of=as_of,
                       window_days=action_window_days, influence=own))
    if stats:
        out.update(_noting(notes, "Account sentiment", prior_part, tables, as_of=as_of, window_days=window_days,
                           lead_days=lead_days, half_life_days=half_life_days, influence=own))
    return {**out, "warnings": _notes(notes)}


def second_pass(tables, *, influence, as_of, window_days, lead_days, half_life_days, prior, frame, sample) -> dict:
    """Pass 2 on one partition: sentiment against the portfolio prior, model rows, graph pieces, the sample."""
    notes = []
    out = _noting(notes, "Account sentiment", sentiment_part, tables, as_of=as_of, window_days=window_days,
                  lead_days=lead_days, half_life_days=half_life_days, influence=influence, prior=prior, frame=frame)
    v = tables if isinstance(tables, Village) else Village(**{k: tables[k] for k in VILLAGE_TABLES})
    if frame:  # the model's rows at the snapshot (outcome unknown), for the accounts at risk
        out["snapshot_frame"] = _noting(notes, "Accounts at risk", snapshot_frame, v, as_of=as_of,
                                        window_days=window_days, lead_days=0, half_life_days=half_life_days,
                                        sentiment=out["snapshot"], stakeholders=out["stakeholder_sentiment"])
    out["nodes"], out["edges"] = _noting(notes, "Portfolio graphs", portfolio_tables, v, influence=influence,
                                         stakeholder_sentiment=out["stakeholder_sentiment"])
    mine = subset_village(v, sample[sample.isin(v.accounts["account_id"].astype(str))])
    out.update({f"sample:{k}": getattr(mine, k) for k in VILLAGE_TABLES})
    return {**out, "warnings": _notes(notes)}


class Collector:
    """Keeps each partition's results as they come back: large tables on disk, the rest in memory."""

    def __init__(self, spill, rank):
        self.spill, self.rank, self.kept = spill, rank, {}  # kept: name -> {partition index: frame}

    def __call__(self, i, result):
        for name, frame in result.items():
            if name == "history" and len(frame):  # one piece per date: the table is ordered by date first
                frame = order_rows(frame, name, self.rank)
                for day, rows in frame.groupby("as_of", sort=True):
                    self.spill.put(name, (pd.Timestamp(day).strftime("%Y%m%d"), i), rows.reset_index(drop=True))
            elif name in ("nodes", "edges") or name in DEFERRED:  # kept as they come (combined later)
                self.spill.put(name, i, frame)
            elif name in SPILLED:
                self.spill.put(name, i, order_rows(frame, name, self.rank) if frame is not None else frame)
            else:
                self.kept.setdefault(name, {})[i] = frame
        return None

    def frames(self, name) -> list | None:
        """The partitions' frames of ``name`` in partition order (an engine may return them in any order)."""
        frames = self.kept.pop(name, None)
        return None if frames is None else [frames[i] for i in sorted(frames)]

    def combined(self, name):
        frames = self.frames(name)
        return None if frames is None else combine(frames, name, self.rank)

    def deferred(self, name) -> Deferred:
        """The table ``name``, combined from its pieces on disk when a stage first needs it."""
        return Deferred(self.spill, name, lambda frames: combine(frames, name, self.rank))


def stream_stages(pv, result, eng, progress, spill, *, window_days, lead_days, half_life_days, sample,
                  action_window_days, frame_reason, prior=None):
    """Passes 1 and 2 (see the module docstring); the run's tables, large ones as SpilledTables."""
    t, as_of = result.tables, result.as_of
    rank = account_rank(pv)
    parts = partitions_of_folder(pv)
    options = dict(as_of=as_of, window_days=window_days, lead_days=lead_days, half_life_days=half_life_days)
    first = Collector(spill, rank)
    with _stage(progress, f"influence, coverage, comments, prior: pass 1 of 2 over {len(parts)} partition(s)"):
        eng.map(first_pass, parts, stage="pass 1", consume=first, action_window_days=action_window_days,
                stats=prior is None, **options)
    _caught(result, first.frames("warnings"))
    t["coverage"] = first.combined("coverage")
    # the listening plan's next use is the report and the pages (2M rows at a million accounts): on disk till then
    t["listening_plan"] = first.combined("listening_plan")
    if t["listening_plan"] is not None:
        t["listening_plan"] = spill.park("listening_plan", t["listening_plan"])
    t["actions"] = first.deferred("actions")  # ranked over the portfolio when the comments stage comes
    t["influence"] = spill.table("influence")
    if prior is None:  # the portfolio prior of the whole village, from its partitions' sufficient statistics
        prior = combine_priors(first.frames("prior"), as_of)
    first.kept.clear()
    own = [lambda k=k: {"influence": spill.get("influence", k)} for k in range(len(parts))]
    second = Collector(spill, rank)
    with _stage(progress, "account sentiment: pass 2 of 2"), _guard(result, "Account sentiment"):
        eng.map(second_pass, parts, stage="pass 2", inputs=own, consume=second, prior=prior,
                frame=frame_reason is None, sample=sample, **options)
        t["snapshot"] = second.combined("snapshot")
        t["stakeholder_sentiment"] = spill.table("stakeholder_sentiment")
        t["account_sentiment"] = spill.table("account_sentiment", names=["history"]).with_tail(t["snapshot"])
        t["risk_flags"] = second.combined("risk_flags")
        for name in ("model_frame", "snapshot_frame"):  # whole only for the models and the accounts at risk
            t[name] = second.deferred(name)
        _caught(result, second.frames("warnings"))
        errors = second.frames("model_frame_error")
        t["model_frame_error"] = next((e for e in errors or [] if e is not None), None)
    # the sensitivity sample's accounts, in the loaded folder's order (partition, then row)
    pieces = {k: second.frames(f"sample:{k}") for k in VILLAGE_TABLES}
    sample_village = Village(**{k: pd.concat(f, ignore_index=True) for k, f in pieces.items()}, source=pv.source) \
        if all(pieces.values()) else None
    return prior, sample_village



def restricted(result, account_ids):
    """The run's result with its tables on disk cut to these accounts' rows (what the maps and pages read)."""
    return replace(result, tables={name: table.rows_for(account_ids) if isinstance(table, SpilledTable) else table
                                   for name, table in result.tables.items()})


def write_portfolio_pieces(spill, folder, result):
    """The portfolio graphs (``networks/portfolio*``) from the nodes and ties pass 2 put on disk, one partition at
    a time (:class:`~cxinfluence.present.portfoliostream.PortfolioGraphWriter`: the whole run's bytes)."""
    if not spill.keys("nodes"):
        _record(result, "Portfolio graphs", "skipped", "needs the influence table, which failed (see above)")
        return
    with PortfolioGraphWriter(folder) as graphs:
        for key in spill.keys("nodes"):  # each piece's last use: off the disk as the graph file grows
            graphs.add_tables(spill.get("nodes", key, drop=True), spill.get("edges", key, drop=True))
    for note in graphs.notes:
        _record(result, "Portfolio graphs", "note", note)


def _caught(result, notes):
    """The partitions' warnings, noted on the run as raised in their stages (``warnings.csv``)."""
    for frame in notes or []:
        result.caught += [(stage, warnings.WarningMessage(message, category, __file__, 0))
                          for stage, category, message in frame.itertuples(index=False)]
