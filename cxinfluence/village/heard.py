"""Who was heard, how often and when last: the one definition every stage uses.

At an as-of date ``t`` with look-back window ``w`` and lead ``l``
(:mod:`cxinfluence.village.asof`), for each person:

* ``n_responses``: their responses dated in ``[t - l - w, t - l)``, every one of
  them, scored or not: someone who only left a comment was heard;
* ``heard``: ``n_responses > 0``;
* ``last_heard``: the date of their latest response dated before ``t - l``,
  however old, so a map can say "last heard 14 months ago" of someone the
  window no longer reaches.

A map tooltip (:func:`cxinfluence.network.graph.account_graph`), the stakeholder
table (:func:`cxinfluence.sentiment.schemes.stakeholder_sentiment`) and coverage
(:func:`cxinfluence.listening.coverage.coverage`) all count with these functions,
so they say the same thing about the same person on the same date.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .asof import DEFAULT_WINDOW_DAYS, check_lead, check_window, resolve_as_of
from .ids import rows_of

_NEVER = np.iinfo(np.int64).min  # NaT as int64


def response_counts(person, n_people: int) -> np.ndarray:
    """Responses per person: ``person`` holds the person code (0..n_people-1) of each
    response in the window (blank/unknown: -1, not counted)."""
    person = np.asarray(person, dtype=np.int64)
    return np.bincount(person[person >= 0], minlength=n_people)[:n_people]


def last_heard(person, dates, end, n_people: int) -> np.ndarray:
    """Per person, the latest response date strictly before ``end`` (NaT: never).

    >>> last_heard([0, 0, 1, -1], np.array(["2024-01-05", "2024-03-01", "2024-07-01", "2024-02-02"],
    ...            dtype="datetime64[ns]"), np.datetime64("2024-06-30"), 3).astype(str).tolist()
    ['2024-03-01T00:00:00.000000000', 'NaT', 'NaT']
    """
    person = np.asarray(person)
    if person.dtype.kind not in "iu":  # integer codes are used as they are (no 8 bytes per response copied)
        person = person.astype(np.int64)
    stamp = np.asarray(dates, dtype="datetime64[ns]").view(np.int64)
    keep = (person >= 0) & (stamp != _NEVER) & (stamp < np.datetime64(end, "ns").view(np.int64))
    latest = np.full(n_people, _NEVER, dtype=np.int64)
    np.maximum.at(latest, person[keep], stamp[keep])
    return latest.view("datetime64[ns]")


def heard_table(village, as_of=None, *, window_days=DEFAULT_WINDOW_DAYS, lead_days=0) -> pd.DataFrame:
    """One row per stakeholders-table row: ``stakeholder_id, n_responses, heard, last_heard``.

    Examples
    --------
    >>> from cxinfluence.village.core import Village
    >>> v = Village(pd.DataFrame({"account_id": ["A"]}),
    ...             pd.DataFrame({"stakeholder_id": ["p", "q"], "account_id": ["A", "A"]}),
    ...             pd.DataFrame(columns=["source_id", "target_id", "kind"]),
    ...             pd.DataFrame({"stakeholder_id": ["p", "p", "q"], "comment": ["ok", None, "late"],
    ...                           "date": pd.to_datetime(["2023-01-10", "2024-05-01", "2024-07-01"])}),
    ...             pd.DataFrame(columns=["account_id", "period_end", "renewed"]))
    >>> heard_table(v, "2024-06-30", window_days=90)
      stakeholder_id  n_responses  heard last_heard
    0              p            1   True 2024-05-01
    1              q            0  False        NaT
    """
    as_of = resolve_as_of(village, as_of)
    window_days, lead_days = check_window(window_days), check_lead(lead_days)
    people = village.stakeholders
    resp = village.responses
    n = len(people)
    if resp is None or len(resp) == 0 or "stakeholder_id" not in resp.columns or "date" not in resp.columns:
        person, dates = np.zeros(0, dtype=np.int64), np.zeros(0, dtype="datetime64[ns]")
    else:
        person = np.asarray(rows_of(village, "responses", "stakeholder_id"), dtype=np.int64)
        dates = resp["date"].to_numpy(dtype="datetime64[ns]")
    end = (as_of - pd.Timedelta(days=lead_days)).to_datetime64()
    in_window = dates < end
    if window_days is not None:
        in_window &= dates >= end - np.timedelta64(window_days, "D")
    counts = response_counts(person[in_window], n)
    return pd.DataFrame({"stakeholder_id": people["stakeholder_id"].to_numpy(), "n_responses": counts,
                         "heard": counts > 0, "last_heard": last_heard(person, dates, end, n)})
