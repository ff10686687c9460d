"""As-of logic shared by every analysis: who is in the village at a date, and
which feedback may be used to describe it.

Influence is ephemeral (people join, leave, re-organise), so every view has an
as-of date ``t``:

* a stakeholder is **active** at ``t`` when ``active_from`` is blank or
  ``<= t`` and ``active_to`` is blank or ``> t``; someone whose ``active_to`` is
  on or before ``t`` has **departed**;
* a response may describe the village at ``t`` only if it is dated strictly
  before ``t - lead`` and no earlier than ``t - lead - window``. A response
  dated on the as-of date itself is excluded, so nothing measured on or after
  the outcome date can leak into the explanation of that outcome.
"""

from __future__ import annotations

import pandas as pd

DEFAULT_WINDOW_DAYS = 365


def to_timestamp(value, name="as_of"):
    """Parse one date, with an error naming the argument.

    >>> to_timestamp("2024-06-30")
    Timestamp('2024-06-30 00:00:00')
    """
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}={value!r} is not a date; expected e.g. '2024-06-30'") from exc
    if pd.isna(ts):
        raise ValueError(f"{name}={value!r} is not a date; expected e.g. '2024-06-30'")
    return ts.tz_localize(None) if ts.tzinfo else ts


def active_mask(stakeholders: pd.DataFrame, as_of) -> pd.Series:
    """Boolean Series: which stakeholders are active at ``as_of``.

    ``as_of`` is one date, or a Series of dates aligned with ``stakeholders``.

    >>> s = pd.DataFrame({"active_from": pd.to_datetime(["2020-01-01", None, "2025-01-01"]),
    ...                   "active_to": pd.to_datetime([None, "2023-03-01", None])})
    >>> active_mask(s, "2024-01-01").tolist()
    [True, False, False]
    """
    if not isinstance(as_of, pd.Series):
        as_of = to_timestamp(as_of)
    start = stakeholders["active_from"] if "active_from" in stakeholders else None
    end = stakeholders["active_to"] if "active_to" in stakeholders else None
    mask = pd.Series(True, index=stakeholders.index)
    if start is not None:
        mask &= start.isna() | (start <= as_of)
    if end is not None:
        mask &= end.isna() | (end > as_of)
    return mask


def window_mask(dates: pd.Series, as_of, window_days=DEFAULT_WINDOW_DAYS, lead_days=0) -> pd.Series:
    """Boolean Series: which dates fall in ``[t - lead - window, t - lead)``.

    ``as_of`` is one date or a Series aligned with ``dates``. ``window_days``
    may be ``None`` for an unlimited look-back.

    >>> d = pd.Series(pd.to_datetime(["2023-12-31", "2024-01-01", "2022-12-01"]))
    >>> window_mask(d, "2024-01-01", window_days=365).tolist()
    [True, False, False]
    """
    if not isinstance(as_of, pd.Series):
        as_of = to_timestamp(as_of)
    end = as_of - pd.Timedelta(days=lead_days or 0)
    mask = dates < end
    if window_days is not None:
        mask &= dates >= end - pd.Timedelta(days=window_days)
    return mask
