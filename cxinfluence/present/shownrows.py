"""The rows and columns the report shows, read from tables that may be whole or in pieces on disk.

A streamed run (:mod:`cxinfluence.pipeline.stream`) keeps its largest account-level tables (the model frame,
the informal comments, the listening plan: 4M, 3.7M and 2M rows at a million accounts) on disk once their
stage is done. The report shows a few of their rows and plots three columns, so it reads them one piece at a
time: the same rows as sorting or filtering the whole table, without ever holding it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def pieces(table):
    """The pieces of ``table``: a DataFrame whole, or a table on disk (anything with ``frames()``, e.g. a
    streamed run's :class:`~cxinfluence.pipeline.spill.SpilledTable`) one piece at a time."""
    return table.frames() if hasattr(table, "frames") else iter([table])


def _joined(frames) -> pd.DataFrame:
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def gathered(table, columns) -> pd.DataFrame:
    """The ``columns`` of ``table`` it has, in that order (a whole DataFrame keeps its index).

    Examples
    --------
    >>> gathered(pd.DataFrame({"a": [1, 2], "b": [3, 4]}), ["b", "c"])["b"].tolist()
    [3, 4]
    """
    return _joined([f[[c for c in columns if c in f.columns]] for f in pieces(table)])


def top_rows(table, n, *, by, ascending, prepare=None) -> pd.DataFrame:
    """``prepare(table)`` sorted by ``by`` (a stable sort) and cut to its first ``n`` rows, piece by piece.

    Exact: a stable sort's first ``n`` rows of the whole are among the first ``n`` of the piece they come
    from, and the pieces' candidates keep the table's order for the last sort.

    Examples
    --------
    >>> t = pd.DataFrame({"x": [3, 1, 3, 2], "y": list("abcd")})
    >>> top_rows(t, 2, by=["x"], ascending=[False])["y"].tolist()
    ['a', 'c']
    """
    prepare = prepare or (lambda f: f)

    def first(f):
        return f.sort_values(by, ascending=ascending, kind="stable").head(n)

    return first(_joined([first(prepare(f)) for f in pieces(table)]))


def shown_actions(actions, *, problems=8, praise=3) -> pd.DataFrame:
    """The informal comments the report lists: the first ``problems`` that are not praise and the ``praise``
    most influential praise (:func:`cxinfluence.present.report.render_report` picks them again), in the
    table's order, read piece by piece.

    Examples
    --------
    >>> a = pd.DataFrame({"kind": ["praise", "problem", "praise", "problem"], "influence": [.1, .2, .3, .4]})
    >>> shown_actions(a, problems=1, praise=1)["influence"].tolist()
    [0.2, 0.3]
    """
    def shown(f):
        f = f.reset_index(drop=True)
        if "kind" not in f:
            return f.head(problems)
        is_praise = (f["kind"] == "praise").to_numpy()
        best = f[is_praise].sort_values("influence", ascending=False, kind="stable").head(praise).index
        keep = np.union1d(np.flatnonzero(~is_praise)[:problems], np.asarray(best, dtype=np.int64))
        return f.iloc[keep]

    return shown(_joined([shown(f) for f in pieces(actions)]))
