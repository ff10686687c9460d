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

The parameters every stage shares follow one contract, checked here once:

==================  =========  ===========================================================
``as_of``           date       the snapshot date; omitted (``None``): :func:`default_as_of`,
                               the day after the latest response dated no later than today
``window_days``     365        look-back window in whole days (> 0); ``None``: no limit
``lead_days``       0          gap in whole days (>= 0) between the latest usable response
                               and ``as_of``
``half_life_days``  None       recency weighting: a response this many days old counts half
                               (> 0); ``None``: every response in the window counts the same
==================  =========  ===========================================================

A table computed with these options records them in ``DataFrame.attrs["cx_options"]``;
a function given such a table (``model_frame(sentiment=...)``) checks they match its own
options with :func:`check_options` and says which differs.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from ..exceptions import ParameterError, VillageWarning

DEFAULT_WINDOW_DAYS = 365
DEFAULT_LEAD_DAYS = 0
DEFAULT_HALF_LIFE_DAYS = None


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
    fast = _active_nanoseconds(start, end, as_of)
    if fast is not None:
        return pd.Series(fast, index=stakeholders.index)
    mask = pd.Series(True, index=stakeholders.index)
    if start is not None:
        mask &= start.isna() | (start <= as_of)
    if end is not None:
        mask &= end.isna() | (end > as_of)
    return mask


def _active_nanoseconds(start, end, as_of):
    """:func:`active_mask` as integer comparisons (:func:`active_nanoseconds`) when both columns are nanosecond
    datetimes and ``as_of`` is one date, else None. (pandas' datetime comparisons make and combine a NaT mask
    per column: three times the work on millions of people.)"""
    columns = [c for c in (start, end) if c is not None]
    if isinstance(as_of, pd.Series) or not columns or any(c.dtype != "datetime64[ns]" for c in columns):
        return None
    try:
        t = np.int64(as_of.as_unit("ns").value)
    except (OverflowError, ValueError):  # a date outside nanoseconds' range: pandas decides
        return None
    return active_nanoseconds(*(None if c is None else c.to_numpy().view(np.int64) for c in (start, end)), t)


def active_nanoseconds(start, end, t) -> np.ndarray:
    """The active rule on ``datetime64[ns]`` values viewed as int64: ``start`` blank or ``<= t`` and ``end``
    blank or ``> t``. NaT is the smallest int64, so a blank start passes ``<= t`` by itself; a blank end is
    tested for. ``start``, ``end``: int64 arrays (None: no such column, not both); ``t``: one int64 or an
    array aligned with them (each person at their own instant).

    >>> d = np.array(["2024-01-01", "NaT", "2025-01-01"], dtype="datetime64[ns]").view(np.int64)
    >>> t = np.datetime64("2024-06-30", "ns").view(np.int64)
    >>> active_nanoseconds(d, None, t).tolist(), active_nanoseconds(None, d, t).tolist()
    ([True, True, False], [False, True, True])
    """
    mask = start <= t if start is not None else np.ones(len(end), dtype=bool)
    if end is not None:
        mask &= (end > t) | (end == np.iinfo(np.int64).min)
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


def _whole_days(value, name, *, minimum, allow_none, error):
    if value is None and allow_none:
        return None
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and pd.notna(value)
    if ok and float(value) == int(value) and int(value) >= minimum:
        return int(value)
    lower = "a positive" if minimum > 0 else "a non-negative"
    none = ", or None for no limit" if allow_none else ""
    raise error(f"{name}={value!r} is not {lower} whole number of days; expected e.g. "
                f"{365 if minimum > 0 else 0}{none}")


def check_window(window_days, *, name="window_days", error=ParameterError):
    """``window_days`` as a whole number of days > 0, or None (no limit); a clear error otherwise.

    >>> check_window(365), check_window(None), check_window(90.0)
    (365, None, 90)
    >>> check_window(-5)
    Traceback (most recent call last):
    ...
    cxinfluence.exceptions.ParameterError: window_days=-5 is not a positive whole number of days; expected e.g. 365, or None for no limit
    """
    return _whole_days(window_days, name, minimum=1, allow_none=True, error=error)


def check_lead(lead_days, *, name="lead_days", error=ParameterError):
    """``lead_days`` as a whole number of days >= 0 (None counts as 0)."""
    return _whole_days(0 if lead_days is None else lead_days, name, minimum=0, allow_none=False, error=error)


def check_half_life(half_life_days, *, name="half_life_days", error=ParameterError):
    """``half_life_days`` as a positive number of days, or None (no recency weighting)."""
    if half_life_days is None:
        return None
    ok = isinstance(half_life_days, numbers.Real) and not isinstance(half_life_days, bool)
    if ok and pd.notna(half_life_days) and half_life_days > 0:
        return float(half_life_days)
    raise error(f"{name}={half_life_days!r}; expected a positive number of days or None")


def default_as_of(village, today=None) -> pd.Timestamp:
    """The as-of date used wherever ``as_of`` is omitted: the day after the latest response.

    Responses dated after ``today`` (a typo such as 2099, or a clock gone wrong) are
    ignored for this default, with a :class:`~cxinfluence.exceptions.VillageWarning`
    naming them; otherwise one of them would move every view into the future and make
    nearly everyone look unheard. With no dated response, today. Pass ``as_of``
    explicitly to choose another date.

    >>> from cxinfluence.village.core import Village
    >>> r = pd.DataFrame({"stakeholder_id": ["a", "b"], "date": pd.to_datetime(["2024-03-01", "2024-05-31"])})
    >>> default_as_of(Village(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), r, pd.DataFrame()))
    Timestamp('2024-06-01 00:00:00')
    >>> import warnings
    >>> r2 = pd.DataFrame({"stakeholder_id": ["s1", "s2"], "date": pd.to_datetime(["2025-03-01", "2099-01-01"])})
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     day = default_as_of(Village(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), r2, pd.DataFrame()),
    ...                         today="2025-06-30")
    >>> day.date(), str(w[0].message)[:60]
    (datetime.date(2025, 3, 2), '1 response(s) dated after today (2025-06-30) are ignored for')
    """
    today = pd.Timestamp.today().normalize() if today is None else pd.Timestamp(today).normalize()
    responses = getattr(village, "responses", None)
    if responses is None or "date" not in getattr(responses, "columns", ()):
        return today
    dates = responses["date"]
    future = (dates >= today + pd.Timedelta(days=1)).to_numpy()
    if future.any():
        import warnings

        who = responses.loc[future]
        ids = who["stakeholder_id"] if "stakeholder_id" in who.columns else pd.Series(["?"] * len(who))
        shown = ", ".join(f"{s} on {d:%Y-%m-%d}" for s, d in zip(ids.head(5), who["date"].head(5)))
        more = f" and {len(who) - 5:,} more" if len(who) > 5 else ""
        warnings.warn(f"{len(who):,} response(s) dated after today ({today:%Y-%m-%d}) are ignored for the default "
                      f"as-of date: {shown}{more}; fix their dates, or pass as_of (CLI: --as-of) to choose it",
                      VillageWarning, stacklevel=3)
    dates = dates[~future].dropna()
    return today if dates.empty else dates.max().normalize() + pd.Timedelta(days=1)


def resolve_as_of(village, as_of, *, name="as_of") -> pd.Timestamp:
    """``as_of`` as a Timestamp, or :func:`default_as_of` when it is None."""
    return default_as_of(village) if as_of is None else to_timestamp(as_of, name)


def record_options(table: pd.DataFrame, **options) -> pd.DataFrame:
    """Note on ``table`` (in ``attrs["cx_options"]``) the shared options it was computed with."""
    table.attrs["cx_options"] = {k: (None if v is None else str(to_timestamp(v).date()) if k == "as_of" else v)
                                 for k, v in options.items()}
    return table


def check_options(table: pd.DataFrame, name: str, error=ParameterError, **expected) -> None:
    """Raise if ``table`` was computed with other shared options than ``expected``.

    Tables without recorded options (built by hand) are accepted as they are.

    >>> t = record_options(pd.DataFrame(), window_days=30)
    >>> check_options(t, "sentiment", window_days=365)
    Traceback (most recent call last):
    ...
    cxinfluence.exceptions.ParameterError: sentiment was computed with window_days=30, but this call uses
    window_days=365; pass the same options, or leave sentiment out to compute it here
    """
    recorded = table.attrs.get("cx_options") if isinstance(table, pd.DataFrame) else None
    if not recorded:
        return
    for key, want in expected.items():
        if key in recorded and recorded[key] != want:
            raise error(f"{name} was computed with {key}={recorded[key]!r}, but this call uses {key}={want!r}; "
                        f"pass the same options, or leave {name} out to compute it here")
