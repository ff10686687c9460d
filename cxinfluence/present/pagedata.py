"""The account pages' data: the run's tables and the village cut to the mapped accounts (issue 18).

A portfolio has millions of people, ties and responses; the pages show a few dozen accounts. :func:`sub_village`
finds the mapped accounts' people, ties, responses and outcomes through the row positions the village has
already matched (:func:`cxinfluence.village.ids.rows_of`: each reference's row in the table it points to) with
integer lookups and takes them by position (:func:`take_rows`: Arrow text chunk by chunk), instead of comparing
every id as text; the same village as the readable :func:`sub_village_reference` (tests/test_account_pages_same.py). :func:`mapped` cuts a run table to
the mapped accounts, :func:`by_account` splits it once, and :func:`who_moved_in` and :func:`window_feedback`
compute the pages' changes and feedback on the cut village.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..comments.actions import comment_table
from ..exceptions import MetricError
from ..sentiment.breakdowns import who_moved
from ..village.asof import window_mask
from ..village.ids import arrow_text, positions, rows_of, unique_text
from ..village.scale import response_sentiment

__all__ = ["mapped", "sub_village", "sub_village_reference", "take_rows", "by_account", "who_moved_in",
           "window_feedback"]


def mapped(table, account_ids):
    """The rows of ``table`` whose ``account_id`` (as text) is one of ``account_ids``, in the table's order
    (their index kept); a table without ``account_id`` (or None) is given whole.

    Examples
    --------
    >>> mapped(pd.DataFrame({"account_id": ["A", "B", "A"], "x": [1, 2, 3]}), ["A"])["x"].tolist()
    [1, 3]
    """
    if table is None or "account_id" not in getattr(table, "columns", ()):
        return table
    hit = table["account_id"].astype(str).isin(list(account_ids)).to_numpy()
    return table.iloc[np.flatnonzero(hit)]  # by position: Arrow text takes rows faster than by a boolean mask


def sub_village_reference(village, account_ids):
    """The village of these accounts only (readable reference of :func:`sub_village`): their accounts, people,
    ties between their people, their people's responses and their outcomes, each table in its order."""
    people = village.stakeholders[village.stakeholders["account_id"].astype(str).isin(account_ids)]
    ids = set(people["stakeholder_id"])
    rel = village.relationships
    rel = rel[rel["source_id"].isin(ids) & rel["target_id"].isin(ids)] if len(rel) else rel
    return village.__class__(village.accounts[village.accounts["account_id"].astype(str).isin(account_ids)], people,
                             rel, village.responses[village.responses["stakeholder_id"].isin(ids)],
                             village.outcomes[village.outcomes["account_id"].astype(str).isin(account_ids)])


def sub_village(village, account_ids):
    """:func:`sub_village_reference`, found through the village's matched rows (the same tables, rows and index).

    Examples
    --------
    >>> from cxinfluence.village.core import Village
    >>> v = Village(pd.DataFrame({"account_id": ["A", "B"]}),
    ...             pd.DataFrame({"stakeholder_id": ["s", "t", "u"], "account_id": ["A", "B", "A"]}),
    ...             pd.DataFrame({"source_id": ["s", "s"], "target_id": ["u", "t"]}),
    ...             pd.DataFrame({"stakeholder_id": ["t", "u", "s"], "nps": [1.0, 2.0, 3.0]}),
    ...             pd.DataFrame({"account_id": ["B", "A"], "renewed": [1.0, 0.0]}))
    >>> sub = sub_village(v, ["A"])
    >>> sub.stakeholders["stakeholder_id"].tolist(), len(sub.relationships), sub.responses["nps"].tolist()
    (['s', 'u'], 1, [2.0, 3.0])
    """
    account_ids = [str(a) for a in account_ids]
    accounts = village.accounts
    # the first row of each mapped id; rows_of points every reference at the first row of its id too
    found = positions(pd.Series(account_ids, dtype=object), accounts["account_id"])
    keep_account = np.zeros(len(accounts) + 1, dtype=bool)  # the extra last entry: -1 (no such account) -> False
    keep_account[found[found >= 0]] = True
    missing = {a for a, f in zip(account_ids, found) if f < 0}  # ids no account has (a reference can still name one)

    def of_accounts(table):
        row = rows_of(village, table, "account_id")
        hit = keep_account[row]
        if missing and (row < 0).any():
            unknown = np.flatnonzero(row < 0)
            ref = getattr(village, table)["account_id"]
            hit[unknown] = ref.iloc[unknown].astype(str).isin(missing).to_numpy()
        return np.flatnonzero(hit)

    person_rows = of_accounts("stakeholders")
    people = take_rows(village.stakeholders, person_rows)
    if people["stakeholder_id"].isna().any():  # a blank id matches blanks everywhere: the reference's way
        return sub_village_reference(village, account_ids)
    keep_person = np.zeros(len(village.stakeholders) + 1, dtype=bool)
    keep_person[_first_rows(village.stakeholders["stakeholder_id"], person_rows)] = True
    rel = village.relationships
    if len(rel):
        both = keep_person[rows_of(village, "relationships", "source_id")]
        both &= keep_person[rows_of(village, "relationships", "target_id")]
        rel = take_rows(rel, np.flatnonzero(both))
    responses = take_rows(village.responses,
                          np.flatnonzero(keep_person[rows_of(village, "responses", "stakeholder_id")]))
    return village.__class__(accounts[accounts["account_id"].astype(str).isin(account_ids)], people, rel, responses,
                             take_rows(village.outcomes, of_accounts("outcomes")))


def _first_rows(ids, rows) -> np.ndarray:
    """The row of ``ids`` where the id at each of ``rows`` first appears (the row :func:`rows_of` points a
    reference to that id at): ``rows`` themselves when no id repeats (checked without hashing when the ids are
    in increasing order, as exports often list them)."""
    arr = arrow_text(ids)
    if arr is not None and unique_text(arr):
        return rows
    return positions(ids.iloc[rows], ids)


def take_rows(frame: pd.DataFrame, rows) -> pd.DataFrame:
    """``frame.iloc[rows]`` for increasing ``rows``, Arrow text columns taken chunk by chunk.

    pyarrow takes rows from a text column of many chunks by first joining the chunks (a copy of the whole
    column: ~1 s for the comments of 10M responses); only the chunks that hold a row are read here. The same
    frame as ``frame.iloc[rows]`` (columns, dtypes, index; tests/test_account_pages_same.py).

    Examples
    --------
    >>> import pyarrow as pa
    >>> f = pd.DataFrame({"id": pd.array(pa.chunked_array([["a", "b"], ["c", None]]), dtype="str"),
    ...                   "x": [1, 2, 3, 4]}, index=[5, 6, 7, 8])
    >>> take_rows(f, [1, 2, 3]).equals(f.iloc[[1, 2, 3]])
    True
    """
    rows = np.asarray(rows, dtype=np.intp)
    heavy = [c for c in frame.columns if _text_chunks(frame[c]) is not None] if frame.columns.is_unique else []
    if not heavy or (len(rows) > 1 and (np.diff(rows) <= 0).any()):
        return frame.iloc[rows]
    out = frame[[c for c in frame.columns if c not in heavy]].iloc[rows]
    for c in heavy:
        out[c] = pd.array(_take_chunks(_text_chunks(frame[c]), rows), dtype=frame[c].dtype)
    return out[list(frame.columns)]


def _text_chunks(column):
    """The pyarrow ChunkedArray of several chunks behind an Arrow-backed text column, else None."""
    import pyarrow as pa

    chunked = getattr(column.array, "_pa_array", None)
    if not (isinstance(column.dtype, pd.StringDtype) and isinstance(chunked, pa.ChunkedArray)):
        return None
    return chunked if chunked.num_chunks > 1 else None


def _take_chunks(chunked, rows):
    """``chunked.take(rows)`` (``rows`` increasing) as one chunk, reading only the chunks that hold a row."""
    import pyarrow as pa

    starts = np.r_[0, np.cumsum([len(c) for c in chunked.chunks])]
    cut = np.searchsorted(rows, starts)
    parts = [chunked.chunk(i).take(pa.array(rows[cut[i]:cut[i + 1]] - starts[i]))
             for i in range(chunked.num_chunks) if cut[i + 1] > cut[i]]
    return pa.chunked_array([pa.chunked_array(parts, type=chunked.type).combine_chunks()], type=chunked.type)


def by_account(table):
    """``account_id -> that account's rows`` (in the table's order) for a table with ``account_id``; an account
    without rows gets the empty table, a table without ``account_id`` (or None) is given whole."""
    if table is None or "account_id" not in getattr(table, "columns", ()):
        return lambda account_id: table
    groups = dict(tuple(table.groupby(table["account_id"].astype(str), sort=False)))
    empty = table.iloc[:0]
    return lambda account_id: groups.get(account_id, empty)


def who_moved_in(sub, as_of, window_days):
    """:func:`cxinfluence.sentiment.breakdowns.who_moved` per stakeholder of the village ``sub``: the last
    ``window_days`` against the ``window_days`` before (adjacent windows); None when it cannot be computed."""
    as_of = pd.Timestamp(as_of)
    try:
        return who_moved(sub, as_of - pd.Timedelta(days=window_days), as_of, level="stakeholder",
                         window_days=window_days)
    except MetricError:  # e.g. no earlier period in the data: the page says nothing rather than guess
        return None


def window_feedback(village, as_of, window_days):
    """(comments, responses) of ``village`` in the window, with role, themes and sentiment."""
    said = comment_table(village, as_of, window_days=window_days)
    resp = village.responses[window_mask(village.responses["date"], as_of, window_days=window_days)]
    people = village.stakeholders[["stakeholder_id", "account_id", "role"]]
    heard = resp.merge(people, on="stakeholder_id", how="inner")
    heard = heard.assign(sentiment=response_sentiment(heard))
    return said, heard
