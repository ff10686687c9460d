"""Per-partition tables of a streamed run, kept on disk until they are written.

A run on a partitioned village (:mod:`cxinfluence.pipeline.stream`) does not
hold its largest tables (one row per person or per account and date: tens of
millions of rows at a million accounts) in memory. Each partition's rows are
put in order (:func:`cxinfluence.pipeline.mapreduce.order_rows`) and pickled
to a scratch folder beside the output (pickle: the frames come back exactly
as they were, dtypes and all); a :class:`SpilledTable` lists a table's pieces
in the order the combined table has, reads the rows of chosen accounts for the
maps and pages, and is written to CSV piece by piece
(:func:`cxinfluence.village.io.write_csv_pieces`), the same bytes as the
combined table. The scratch folder is removed when the run ends, however it
ends.
"""

from __future__ import annotations

import pickle
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from ..village.io import write_csv_pieces


def _key(key) -> str:
    """A piece's key as its file name has it: a partition number, or ``(date, partition)`` joined by ``_``."""
    return "_".join(map(str, key)) if isinstance(key, tuple) else str(key)


class Spill:
    """A scratch folder of pickled table pieces (a context manager that removes it).

    Parameters
    ----------
    near : str or Path
        A folder on the disk to use (the scratch folder is made inside it, hidden).

    Examples
    --------
    >>> import tempfile
    >>> with Spill(tempfile.mkdtemp()) as spill:
    ...     spill.put("t", 1, pd.DataFrame({"account_id": ["b"], "x": [2]}))
    ...     spill.put("t", 0, pd.DataFrame({"account_id": ["a"], "x": [1]}))
    ...     table = spill.table("t")
    ...     len(table), table.frame()["x"].tolist(), table.rows_for(["b"])["x"].tolist()
    (2, [1, 2], [2])
    """

    def __init__(self, near):
        Path(near).mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix=".cxinfluence-spill-", dir=near))
        self._rows = {}  # (name, key) -> number of rows

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self) -> None:
        """Remove the scratch folder."""
        shutil.rmtree(self.folder, ignore_errors=True)

    def _file(self, name, key) -> Path:
        return self.folder / f"{name}.{key}.pkl"

    def put(self, name, key, frame: pd.DataFrame) -> None:
        """Keep ``frame`` as piece ``key`` (a partition number, or ``(date, partition)``) of table ``name``."""
        key = _key(key)
        with open(self._file(name, key), "wb") as f:
            pickle.dump(frame, f, protocol=pickle.HIGHEST_PROTOCOL)
        self._rows[(name, key)] = len(frame)

    def get(self, name, key, *, drop=False) -> pd.DataFrame:
        """Piece ``key`` of ``name``; ``drop=True`` removes it from the disk once read (its last use)."""
        key = _key(key)
        file = self._file(name, key)
        with open(file, "rb") as f:
            frame = pickle.load(f)  # noqa: S301 - our own scratch file, written by put() in this run
        if drop:
            file.unlink()
            del self._rows[(name, key)]
        return frame

    def keys(self, name) -> list:
        """The pieces of ``name``, sorted (partition numbers as numbers; ``(date, partition)`` by date first)."""
        keys = [k for n, k in self._rows if n == name]
        return sorted(keys, key=lambda k: tuple(int(x) if x.isdigit() else x for x in k.split("_")))

    def park(self, name, frame, *, rows=None) -> SpilledTable:
        """``frame`` kept on disk until a later stage reads it, in pieces of at most ``rows`` rows (default
        :data:`PARK_ROWS`): a stage reading a few columns or top rows holds one piece at a time."""
        rows = rows or PARK_ROWS
        for i, start in enumerate(range(0, max(len(frame), 1), rows)):
            self.put(f"parked_{name}", i, frame.iloc[start:start + rows].copy())  # the piece alone, not its base
        return SpilledTable(self, [(f"parked_{name}", str(i)) for i in range(max(-(-len(frame) // rows), 1))],
                            name=name)

    def table(self, name, *, names=None) -> SpilledTable:
        """The table made of the pieces of ``name`` (or of each of ``names`` in turn), in key order."""
        pieces = [(n, k) for n in (names or [name]) for k in self.keys(n)]
        return SpilledTable(self, pieces, name=name)


#: rows per piece of a table parked on disk (:meth:`Spill.park`): a model frame's piece is some 200 MiB
PARK_ROWS = 500_000


class SpilledTable:
    """A table in pieces on disk, in its output order (see the module docstring)."""

    def __init__(self, spill, pieces, *, name, tail=None):
        self.spill, self.pieces, self.name, self.tail = spill, list(pieces), name, tail

    def with_tail(self, frame) -> SpilledTable:
        """This table followed by ``frame`` (in memory): the account sentiment is the periods, then the snapshot."""
        return SpilledTable(self.spill, self.pieces, name=self.name, tail=frame)

    def __len__(self):
        return sum(self.spill._rows[p] for p in self.pieces) + (len(self.tail) if self.tail is not None else 0)

    def frames(self):
        """Each piece as a DataFrame, in order (one in memory at a time)."""
        for name, key in self.pieces:
            yield self.spill.get(name, key)
        if self.tail is not None:
            yield self.tail

    def frame(self) -> pd.DataFrame:
        """The whole table in memory (only for tables that fit)."""
        frames = list(self.frames())
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)

    def rows_for(self, account_ids) -> pd.DataFrame:
        """The rows of these accounts, in the table's order."""
        keep = set(map(str, account_ids))
        frames = [f[f["account_id"].astype(str).isin(keep)] for f in self.frames()]
        return pd.concat(frames, ignore_index=True)

    def write_csv(self, path) -> None:
        """The table as CSV: the bytes :func:`~cxinfluence.village.io.write_csv` writes for :meth:`frame`."""
        write_csv_pieces(self.frames(), path)


class Deferred:
    """A table kept on disk in partition pieces and put together when a later stage first needs it.

    ``combine(frames)`` puts the pieces (in key order) together; :meth:`get` reads them off the disk,
    combines them once and forgets the pieces. A streamed run holds the action list, the model frame and
    the snapshot's model rows so: each is needed whole by one stage, not by the passes before it.
    """

    def __init__(self, spill, name, combine):
        self.spill, self.name, self._combine = spill, name, combine

    def get(self):
        frames = [self.spill.get(self.name, key, drop=True) for key in self.spill.keys(self.name)]
        return self._combine(frames) if frames else None


def parked(original, frame):
    """``frame`` parked on disk (:meth:`Spill.park`) when ``original``, the table it was made from, was
    :class:`Deferred` (a streamed run's), else ``frame`` itself: the large account-level tables of a streamed run
    go back to the disk once their stage is done, and the report and the pages read them piece by piece."""
    return original.spill.park(original.name, frame) if isinstance(original, Deferred) and frame is not None \
        else frame


def resolved(tables, name):
    """``tables[name]``, put together first if it is :class:`Deferred` (and kept so in ``tables``)."""
    table = tables.get(name)
    if isinstance(table, Deferred):
        table = tables[name] = table.get()
    return table
