"""The portfolio graphs (``networks/portfolio.gexf``, ``networks/portfolio_kumu.xlsx``) written one partition at a time.

A run on a partitioned village (:mod:`cxinfluence.village.partitions`) never
holds the whole village; :class:`PortfolioGraphWriter` takes one partition's
village and its rows of the run's ``influence`` and ``stakeholder_sentiment``
tables at a time, computes :func:`~cxinfluence.present.portfolio.portfolio_tables`
on them and appends the GEXF ``<node>`` lines to the output's temporary file
and the ``<edge>`` lines to a scratch file (GEXF lists all nodes before all
edges); :meth:`~PortfolioGraphWriter.close` appends the edges and renames the
file into place.

What is portfolio-wide in those files, and how it is kept exact:

* edge ids are numbered ``0 .. E-1`` across the whole portfolio: each
  partition's edges are numbered on from the ties written before;
* node ids are the stakeholder ids, prefixed ``"<account_id>/"`` only when an
  id repeats anywhere in the portfolio. A village's stakeholder ids are
  unique in the whole village (``load_village`` of a partitioned folder checks
  it across partitions), so the ids are written as they are, and a partition
  whose influence rows repeat an id, or name a person who is not one of its
  stakeholders, is refused (:class:`~cxinfluence.exceptions.PartitionError`)
  rather than written differently from the whole run;
* the attribute lists in the header: :func:`portfolio_tables` always gives
  every column, checked for each partition;
* Kumu: written only when the portfolio's people and ties each fit an Excel
  sheet; the partitions' tables are kept while the running totals fit and
  dropped as soon as they cannot (memory: one partition, or at most an Excel
  sheet's worth of rows), and the note of the whole run is returned instead.

Fed every partition in partition order (the order of the tables of
``load_village`` on the partitioned folder), the files are those of the run on
the whole village: the same GEXF bytes, the same Kumu cells
(tests/test_portfolio_stream.py). Nodes are written in the order of the
influence rows given, ties in the order of the partition's relationships: the
whole run on the partitioned folder lists them in partition order too (its
influence table follows its stakeholders table, partition after partition);
a run on the same village not partitioned lists people and ties in that
folder's order instead (the same graph, other line order and edge ids).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from ..exceptions import PartitionError
from ..village.ids import rows_for
from .portfolio import (
    EDGE_COLUMNS,
    EXCEL_MAX_ROWS,
    GEXF_MIDDLE,
    GEXF_TAIL,
    NODE_COLUMNS,
    gexf_head,
    portfolio_tables,
    write_gexf_edges,
    write_gexf_nodes,
    write_portfolio_kumu,
)

__all__ = ["PortfolioGraphWriter", "kumu_note"]

GEXF_NAME, KUMU_NAME = "portfolio.gexf", "portfolio_kumu.xlsx"


def kumu_note(people: int, ties: int) -> str:
    """The run's note when the portfolio does not fit an Excel sheet (no Kumu workbook written)."""
    return (f"{people:,} people and {ties:,} ties do not fit an Excel sheet: portfolio_kumu.xlsx not written "
            "(portfolio.gexf was)")


class PortfolioGraphWriter:
    """Write ``networks/portfolio.gexf`` and ``networks/portfolio_kumu.xlsx`` from one partition at a time.

    Parameters
    ----------
    folder : str or Path
        The run's output folder; the files go to ``folder/networks/`` (made
        if missing), as :func:`cxinfluence.pipeline.outputs._write_portfolio`
        writes them. Until :meth:`close`, only ``networks/portfolio.gexf.tmp``
        and ``networks/portfolio.gexf.edges.tmp`` exist.

    Notes
    -----
    Call :meth:`add` once per partition, in partition order, then
    :meth:`close`, which returns the notes to record (the Kumu note when the
    portfolio does not fit Excel, else none). Used as a context manager, the
    block's end closes the writer (an error inside it removes the scratch
    files instead, via :meth:`discard`). Memory: one partition's
    :func:`~cxinfluence.present.portfolio.portfolio_tables`, plus the tables
    kept for the Kumu workbook while the running totals fit a sheet.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from cxinfluence.network.influence import influence_weights
    >>> from cxinfluence.village.load import load_village
    >>> from cxinfluence.village.partitions import write_partitioned, read_partition
    >>> from cxinfluence.village.synth import make_village
    >>> v, _ = make_village(6, seed=0)
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> path = write_partitioned(v, tmp / "village", 3)
    >>> with PortfolioGraphWriter(tmp / "out") as w:
    ...     for k in range(3):
    ...         part = read_partition(path, k, warn=False)
    ...         w.add(part, influence_weights(part, "2025-01-01"))
    >>> w.notes, sorted(p.name for p in (tmp / "out" / "networks").iterdir())
    ([], ['portfolio.gexf', 'portfolio_kumu.xlsx'])
    """

    def __init__(self, folder):
        self.folder = Path(folder) / "networks"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.gexf = self.folder / GEXF_NAME
        self._nodes_tmp = self.folder / (GEXF_NAME + ".tmp")  # becomes the GEXF file: head and nodes, then edges
        self._edges_tmp = self.folder / (GEXF_NAME + ".edges.tmp")
        self._nodes_file = self._edges_file = None
        self._cols = None
        self.people = self.ties = 0  # running totals
        self._kept = []  # (nodes, edges) of each partition while the totals fit an Excel sheet
        self.notes = None  # the notes close() returned

    # ------------------------------------------------------------------ feeding

    def add(self, village, influence, stakeholder_sentiment=None) -> None:
        """Add one partition: its village and its rows of the run's ``influence`` and ``stakeholder_sentiment``.

        Parameters
        ----------
        village : Village
            The partition (:func:`cxinfluence.village.partitions.read_partition`).
        influence : DataFrame
            The partition's rows of the influence table, in the run's order.
        stakeholder_sentiment : DataFrame, optional
            The stakeholder sentiment table (its rows for this partition, or more: it is looked up by id).

        Raises
        ------
        PartitionError
            When an influence row repeats a person or names one who is not a
            stakeholder of this partition (the whole run would then write other
            ids or names than one partition can), or after :meth:`close`.
        """
        _check_people(village, influence)
        nodes, edges = portfolio_tables(village, influence, stakeholder_sentiment)
        self.add_tables(nodes, edges)

    def add_tables(self, nodes, edges) -> None:
        """Add one partition's :func:`~cxinfluence.present.portfolio.portfolio_tables` (ids as they are, unique in
        the portfolio: :meth:`add` checks that)."""
        if self.notes is not None:
            raise PartitionError("this PortfolioGraphWriter is closed; make a new one for another portfolio")
        cols = ([c for c in NODE_COLUMNS if c in nodes.columns], [c for c in EDGE_COLUMNS if c in edges.columns])
        if self._cols is None:
            self._open(cols)
        elif cols != self._cols:
            raise PartitionError(f"a partition's portfolio tables have columns {cols}, the first had {self._cols}; "
                                 "every partition needs the same (portfolio_tables gives them all)")
        write_gexf_nodes(self._nodes_file, nodes, cols[0])
        write_gexf_edges(self._edges_file, edges, cols[1], first=self.ties)
        self.people += len(nodes)
        self.ties += len(edges)
        if self._fits():
            self._kept.append((nodes, edges))
        else:  # the Kumu workbook will not be written: nothing more to keep
            self._kept = []

    @property
    def kept_partitions(self) -> int:
        """How many partitions' tables are held for the Kumu workbook (0 once the portfolio cannot fit Excel)."""
        return len(self._kept)

    def _open(self, cols) -> None:
        self._cols = cols
        self._nodes_file = open(self._nodes_tmp, "wb")
        self._edges_file = open(self._edges_tmp, "wb")
        self._nodes_file.write(gexf_head(*cols))

    def _fits(self) -> bool:
        """Do the people and the ties so far each fit an Excel sheet (with its header row)?"""
        return max(self.people, self.ties) + 1 <= EXCEL_MAX_ROWS

    # ------------------------------------------------------------------ finishing

    def close(self) -> list:
        """Write ``portfolio.gexf`` (and ``portfolio_kumu.xlsx`` when it fits Excel); return the notes to record.

        Returns
        -------
        list of str
            Empty, or the note :func:`kumu_note` when the people or the ties do
            not fit an Excel sheet (then no Kumu workbook is written). Closing
            twice returns the same notes.
        """
        if self.notes is not None:
            return self.notes
        if self._cols is None:  # no partition: an empty portfolio, every column listed as portfolio_tables gives
            self._open((list(NODE_COLUMNS), list(EDGE_COLUMNS)))
            self._kept = []
        try:
            self._edges_file.close()
            f = self._nodes_file
            f.write(GEXF_MIDDLE)
            with open(self._edges_tmp, "rb") as edges:
                shutil.copyfileobj(edges, f, 16 << 20)
            f.write(GEXF_TAIL)
            f.close()
            self._nodes_tmp.replace(self.gexf)
        except BaseException:
            self.discard()
            raise
        self._edges_tmp.unlink(missing_ok=True)
        self.notes = [] if self._fits() else [kumu_note(self.people, self.ties)]
        if not self.notes:
            nodes, edges = _joined(self._kept, (list(NODE_COLUMNS), ["source", "target", "weight", *EDGE_COLUMNS]))
            write_portfolio_kumu(nodes, edges, self.folder / KUMU_NAME)
        self._kept = []
        return self.notes

    def discard(self) -> None:
        """Stop without writing: close and remove the scratch files (the output files are not touched)."""
        for f in (self._nodes_file, self._edges_file):
            if f is not None:
                f.close()
        for p in (self._nodes_tmp, self._edges_tmp):
            p.unlink(missing_ok=True)
        self._kept = []
        if self.notes is None:
            self.notes = []

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        elif self.notes is None:
            self.discard()
        return False


def _joined(kept, empty_cols) -> tuple:
    """The kept partitions' nodes and edges as two tables (partitions without rows left out, as their column types
    may be the empty table's)."""
    out = []
    for k, cols in enumerate(empty_cols):
        tables = [t[k] for t in kept]
        full = [t for t in tables if len(t)]
        out.append(pd.concat(full, ignore_index=True) if len(full) > 1 else full[0] if full
                   else tables[0] if tables else pd.DataFrame(columns=["id", *cols] if k == 0 else cols))
    return tuple(out)


def _check_people(village, influence) -> None:
    """Refuse influence rows that repeat a person or name one who is not a stakeholder of the partition."""
    if influence is None or "stakeholder_id" not in influence.columns:
        return  # portfolio_tables names the missing columns
    ids = influence["stakeholder_id"]
    if ids.astype(str).duplicated().any():
        raise PartitionError("the influence rows of a partition list a person twice; the portfolio graph of a "
                             "partitioned run needs stakeholder ids unique in the whole village (validate it)")
    rows = rows_for(village, ids)  # cached on the village: the run's stages look the same ids up
    if (rows < 0).any():
        missing = ids[rows < 0]
        raise PartitionError(f"{len(missing):,} influence row(s) of a partition name people who are not its "
                             f"stakeholders ({str(missing.iloc[0])!r}, ...); give each partition its own rows")
