"""Informal comments, step 4: recurrence and follow-through. :func:`recurrence` flags a theme coming
back in the same account period after period; :func:`follow_through` reports time to close
(Kaplan-Meier, open items censored) and themes that came back after being closed
(:func:`follow_through_items` per comment).
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from ..village.asof import to_timestamp
from .capture import STATUSES
from .themes import split_joined


def _explode_themes(data, account, themes, date, columns=None):
    """One row per comment and theme (``theme``; ``_date`` the parsed date), original index kept:
    ``columns`` of ``data`` (default all)."""
    for c in (account, themes, date):
        if c not in data.columns:
            raise KeyError(f"column {c!r} is not in data (columns: {list(data.columns)}); pass the comments with "
                           "account and themes, e.g. comment_table(village)")
    rows, theme = split_joined(data[themes])
    d = (data if columns is None else data[list(columns)]).take(rows)
    return d.assign(_date=pd.to_datetime(d[date]).astype("datetime64[ns]"), theme=theme)


def recurrence(data: pd.DataFrame, *, freq="Q", account="account_id", themes="themes", date="date",
               min_periods=2) -> pd.DataFrame:
    """Flag themes that recur in the same account across periods.

    Each comment is assigned to a calendar period (``freq``, e.g. quarters).
    A theme *recurs* in an account when it is raised in at least
    ``min_periods`` different periods; ``max_run`` counts the longest streak of
    consecutive periods (an issue nobody fixed), ``gap_periods`` the periods
    between first and last mention without it.

    Parameters
    ----------
    data : DataFrame
        Comments with account, ``themes`` (";"-joined, as from
        :func:`tag_themes` / :func:`comment_table`) and date.
    freq : str, default "Q"
        pandas period frequency: "M", "Q", "Y", ...
    account, themes, date : str
        Column names.
    min_periods : int, default 2

    Returns
    -------
    DataFrame
        One row per account and theme: ``account_id, theme, n_comments,
        n_periods, first_period, last_period, periods`` (";"-joined),
        ``max_run, gap_periods, recurring``; recurring themes first, then by
        number of periods.

    Examples
    --------
    >>> c = pd.DataFrame({"account_id": ["a", "a", "a", "b"],
    ...                   "date": ["2024-01-10", "2024-02-01", "2024-07-01", "2024-01-05"],
    ...                   "themes": ["delivery", "delivery;billing", "delivery", "billing"]})
    >>> recurrence(c)[["account_id", "theme", "n_comments", "periods", "max_run", "recurring"]]
      account_id     theme  n_comments         periods  max_run  recurring
    0          a  delivery           3  2024Q1;2024Q3        1       True
    1          a   billing           1          2024Q1        1      False
    2          b   billing           1          2024Q1        1      False
    """
    if min_periods < 1:
        raise ValueError(f"min_periods={min_periods!r}; expected a whole number >= 1")
    d = _explode_themes(data, account, themes, date, columns=dict.fromkeys([account, themes, date]))
    d = d[d[account].notna() & d["_date"].notna()]
    keys = [account, "theme"]
    cols = keys + ["n_comments", "n_periods", "first_period", "last_period", "periods", "max_run",
                   "gap_periods", "recurring"]
    if not len(d):
        return pd.DataFrame({c: pd.Series(dtype=bool if c == "recurring" else object) for c in cols})
    d["_ord"] = d["_date"].dt.to_period(freq).array.asi8
    # comments per (account, theme) in sorted order, the order of the groups of p below (no join on a MultiIndex)
    n_comments = d[keys].sort_values(keys, kind="stable").groupby(keys, sort=False).size().to_numpy()
    p = d[keys + ["_ord"]].drop_duplicates().sort_values(keys + ["_ord"], kind="stable").reset_index(drop=True)
    # Runs of consecutive periods: a new run starts where the gap to the previous period is not 1.
    new_run = p.groupby(keys, sort=False)["_ord"].diff().ne(1)
    p["_run"] = new_run.cumsum()
    run_len = p.groupby(keys + ["_run"], sort=False).size().groupby(level=[0, 1], sort=False).max()
    g = p.groupby(keys, sort=False)
    # Period labels: format each distinct period once, join per group with one reduceat (p is sorted by group).
    uniq = np.sort(pd.unique(p["_ord"].to_numpy()))  # numpy 2.4 hashes in np.unique: ten times slower here
    label = pd.Series(pd.PeriodIndex.from_ordinals(uniq, freq=freq).astype(str), index=uniq)
    text = (p["_ord"].map(label) + ";").to_numpy(dtype=object)
    starts = np.flatnonzero(np.r_[True, (p[keys].to_numpy()[1:] != p[keys].to_numpy()[:-1]).any(axis=1)])
    joined = np.add.reduceat(text, starts)
    first = g["_ord"].min()
    last = g["_ord"].max()
    out = pd.DataFrame({
        "n_periods": g.size(),
        "first_period": first.map(label),
        "last_period": last.map(label),
        "periods": pd.Series([j[:-1] for j in joined], index=first.index, dtype=object),
        "max_run": run_len,
        "_span": last - first + 1,
    })
    out["n_comments"] = n_comments
    out = out.reset_index()
    out["gap_periods"] = out.pop("_span") - out["n_periods"]
    out["recurring"] = out["n_periods"] >= min_periods
    out = out[cols].sort_values(["recurring", "n_periods", "n_comments"], ascending=False, kind="stable")
    return out.reset_index(drop=True)


def follow_through_items(data: pd.DataFrame, as_of=None, *, account="account_id", themes="themes", date="date",
                         status="status", status_date="status_date") -> pd.DataFrame:
    """Per comment and theme: its follow-up state, time to close, and recurrence after closing.

    Parameters
    ----------
    data : DataFrame
        Comments with account, ``themes``, ``date``, ``status``
        (open/in_progress/closed) and ``status_date`` (closing date when
        closed).
    as_of : date, optional
        Date open items are aged to; default the latest date in the data.

    Returns
    -------
    DataFrame
        One row per comment and theme (comments without a status are left
        out): the input columns plus ``theme, days_to_close`` (closed items),
        ``days_open`` (age of open and in-progress items at ``as_of``),
        ``recurred_after_close`` (a later comment on the same theme in the
        same account, dated after this one was closed) and
        ``recurrence_date`` (the first such comment).

    Examples
    --------
    >>> c = pd.DataFrame({"account_id": ["a", "a"], "date": ["2024-01-01", "2024-03-01"],
    ...                   "themes": ["billing", "billing"], "status": ["closed", "open"],
    ...                   "status_date": ["2024-01-15", None]})
    >>> follow_through_items(c, as_of="2024-03-31")[["status", "days_to_close", "days_open", "recurred_after_close"]]
       status  days_to_close  days_open  recurred_after_close
    0  closed           14.0        NaN                  True
    1    open            NaN       30.0                 False
    """
    for c in (status, status_date):
        if c not in data.columns:
            raise KeyError(f"column {c!r} is not in data; follow-through needs the follow-up columns "
                           "status and status_date (see TEMPLATE_COLUMNS)")
    d = _explode_themes(data, account, themes, date)
    d["_sdate"] = pd.to_datetime(d[status_date]).astype("datetime64[ns]")
    st = d[status].astype(object).map(lambda v: re.sub(r"[\s\-]+", "_", str(v).strip().lower()) if pd.notna(v) else v)
    bad = st.notna() & ~st.isin(STATUSES)
    if bad.any():
        raise ValueError(f"column {status!r} holds {sorted(st[bad].unique())}; expected {list(STATUSES)} or blank")
    d["_status"] = st
    as_of = (to_timestamp(as_of) if as_of is not None
             else max(d["_date"].max(), d["_sdate"].max() if d["_sdate"].notna().any() else d["_date"].max()))
    closed = d["_status"] == "closed"
    d["days_to_close"] = np.where(closed, (d["_sdate"] - d["_date"]).dt.days, np.nan)
    d["days_open"] = np.where(d["_status"].isin(["open", "in_progress"]), (as_of - d["_date"]).dt.days, np.nan)

    # First later comment on the same account+theme after the closing date (strictly after).
    d = d.reset_index(drop=True)
    d["_row"] = np.arange(len(d))
    left = d.loc[closed.to_numpy() & d["_sdate"].notna().to_numpy(), [account, "theme", "_sdate", "_row"]]
    right = d[[account, "theme", "_date"]].rename(columns={"_date": "recurrence_date"})
    left = left.sort_values("_sdate")
    right = right.sort_values("recurrence_date")
    hit = pd.merge_asof(left, right, left_on="_sdate", right_on="recurrence_date", by=[account, "theme"],
                        direction="forward", allow_exact_matches=False)
    rec = np.full(len(d), np.datetime64("NaT"), dtype="datetime64[ns]")
    rec[hit["_row"].to_numpy(dtype=np.int64)] = hit["recurrence_date"].to_numpy(dtype="datetime64[ns]")
    d["recurrence_date"] = rec
    d["recurred_after_close"] = d["recurrence_date"].notna()
    d = d[d["_status"].notna()]
    return d.drop(columns=["_date", "_sdate", "_status", "_row"]).reset_index(drop=True)


def follow_through(data: pd.DataFrame, as_of=None, *, by="theme", **columns) -> pd.DataFrame:
    """Follow-through on informal comments: time to close and recurrence after closing.

    Time to close is estimated with the Kaplan-Meier estimator (statsmodels
    ``SurvfuncRight``): items still open or in progress at ``as_of`` are
    right-censored at their age, so slow, still-open items pull the median up
    instead of being silently dropped (a plain median over closed items would
    be biased low). The median is the smallest time at which the estimated
    share still open falls below one half (the SAS convention statsmodels
    uses), with a 95% confidence interval (Brookmeyer & Crowley 1982); it is
    NaN when fewer than half have closed.

    Parameters
    ----------
    data : DataFrame
        As for :func:`follow_through_items`.
    as_of : date, optional
    by : str or list of str, default "theme"
        Grouping (e.g. ``["account_id", "theme"]`` or ``"owner_group"``).
    **columns
        Column names passed to :func:`follow_through_items`.

    Returns
    -------
    DataFrame
        Per group: ``n_items, n_open, n_in_progress, n_closed``,
        ``median_days_to_close`` with ``median_ci_low``/``median_ci_high``
        (Kaplan-Meier), ``mean_days_to_close_closed`` (closed items only),
        ``oldest_open_days``, ``n_recurred_after_close`` and
        ``recurred_after_close_rate`` (share of closed items whose theme came
        back in the same account).

    Examples
    --------
    >>> c = pd.DataFrame({"account_id": ["a", "a", "a", "b"],
    ...     "date": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-02-01", "2024-01-01"]),
    ...     "themes": ["delivery", "delivery", "billing", "delivery"],
    ...     "status": ["closed", "open", "closed", "closed"],
    ...     "status_date": pd.to_datetime(["2024-01-11", None, "2024-02-21", "2024-01-31"])})
    >>> ft = follow_through(c, as_of="2024-03-31")
    >>> ft[["theme", "n_items", "n_closed", "median_days_to_close", "n_recurred_after_close"]]
          theme  n_items  n_closed  median_days_to_close  n_recurred_after_close
    0   billing        1         1                  20.0                       0
    1  delivery        3         2                  30.0                       1
    """
    from statsmodels.duration.survfunc import SurvfuncRight

    items = follow_through_items(data, as_of, **columns)
    by = [by] if isinstance(by, str) else list(by)
    st = items[columns.get("status", "status")].astype(object).map(
        lambda v: re.sub(r"[\s\-]+", "_", str(v).strip().lower()))
    items = items.assign(_closed=st.eq("closed"), _open=st.eq("open"), _inprog=st.eq("in_progress"),
                         _time=items["days_to_close"].fillna(items["days_open"]))
    g = items.groupby(by, sort=True, dropna=False)
    out = pd.DataFrame({
        "n_items": g.size(),
        "n_open": g["_open"].sum(),
        "n_in_progress": g["_inprog"].sum(),
        "n_closed": g["_closed"].sum(),
        "mean_days_to_close_closed": g["days_to_close"].mean(),
        "oldest_open_days": g["days_open"].max(),
        "n_recurred_after_close": g["recurred_after_close"].sum(),
    })
    out["recurred_after_close_rate"] = out["n_recurred_after_close"] / out["n_closed"].where(out["n_closed"] > 0)

    def km(frame):
        t, e = frame["_time"].to_numpy(float), frame["_closed"].to_numpy(int)
        ok = ~np.isnan(t)
        t, e = np.clip(t[ok], 0, None), e[ok]
        if not e.any():
            return pd.Series({"median_days_to_close": np.nan, "median_ci_low": np.nan, "median_ci_high": np.nan})
        sf = SurvfuncRight(t, e)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lo, hi = sf.quantile_ci(0.5)
        return pd.Series({"median_days_to_close": float(sf.quantile(0.5)), "median_ci_low": float(lo),
                          "median_ci_high": float(hi)})

    # One Kaplan-Meier fit per group (groups are themes or owners: few).
    kmt = pd.DataFrame({k: km(f) for k, f in g}).T if len(items) else pd.DataFrame(
        columns=["median_days_to_close", "median_ci_low", "median_ci_high"])
    kmt.index = out.index
    out = out.join(kmt)
    cols = ["n_items", "n_open", "n_in_progress", "n_closed", "median_days_to_close", "median_ci_low",
            "median_ci_high", "mean_days_to_close_closed", "oldest_open_days", "n_recurred_after_close",
            "recurred_after_close_rate"]
    return out[cols].reset_index()
