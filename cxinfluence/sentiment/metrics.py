"""NPS, CSAT, CES and NetEasy exactly as defined, for any grouping, with
confidence intervals suited to the small samples of B2B accounts.

Definitions (seed 003; ``schema.SCORE_RANGES`` for the scales):

* ``nps``: % promoters (9-10) minus % detractors (0-6), in points
  (-100..100); 0 is a detractor, 7-8 are passives.
* ``csat``: % of CSAT answers that are 4 or 5 (1-5 scale), 0..100.
* ``csat_mean``: mean CSAT, 1..5.
* ``ces``: mean CES, 1..5 (1 = very low effort: low is good).
* ``ces_low``: % of CES answers that are 1 or 2 (low effort), 0..100.
* ``neteasy``: % answering 1-2 minus % answering 5-7 (1-7 scale, 1 =
  extremely easy), in points (-100..100).
* ``trust``, ``cared_for``: mean of the 1-5 emotion items;
  ``trust_high``, ``cared_for_high``: % answering 4-5.
* ``sentiment``: mean common-scale sentiment (:mod:`cxinfluence.village.scale`), -1..1.

Unit of analysis
----------------
``unit="respondent"`` (the default) counts each person once per group and
metric: their **latest** answer to that metric (latest ``date``; ties broken by
row order), so a stakeholder who answered five times does not count five times
in an account's NPS. ``unit="response"`` counts every response (what a
touchpoint or transactional survey report usually wants). A missing answer
never counts: a response that skipped NPS is not in the NPS denominator.

Confidence intervals (``conf_level``, default 0.95)
---------------------------------------------------
* **Net scores** (NPS, NetEasy) are a difference of two cell proportions of one
  multinomial sample (promoters, passives, detractors), so the two shares are
  negatively correlated. We use the adjusted Wald interval for a difference of
  matched proportions of Agresti & Min (2005, *Statistics in Medicine* 24,
  729-740, "Wald+2"), which adds 1/2 to each cell of the 2x2 table, i.e. 1/2 to
  the promoter and detractor counts and 2 to ``n``::

      d~ = (P - D) / (n + 2)
      se = sqrt((P + D + 1) - (P - D)^2 / (n + 2)) / (n + 2)
      CI = d~ +/- z se, truncated to [-1, 1]   (times 100 for points)

  It keeps good coverage down to n of 2-5, where the plain Wald interval
  collapses to zero width (e.g. all promoters).
* **Shares** (CSAT, CES low effort): Wilson score interval (Wilson 1927;
  Agresti & Coull 1998), computed by
  :func:`statsmodels.stats.proportion.proportion_confint`.
* **Means** (CSAT mean, CES, trust, cared-for, sentiment): the
  Agresti-Coull-type interval for a bounded scale of
  :func:`cxinfluence.intervals.bounded_mean_ci` (``z^2 / 2`` pseudo-answers at
  each end of the scale), the one interval every mean in the package uses. A
  t interval collapses to ``[x, x]`` when respondents agree (three CSAT 5s)
  and covers a very satisfied account's mean only half the time at n = 3;
  this one keeps a sensible width and is defined from one answer on. Its
  coverage at n = 2..30 is in ``docs/methods.md``.

A group with no answer to a metric has ``<metric>_n = 0`` and NaN value and
interval.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..exceptions import MetricError, VillageWarning
from ..village import asof as _asof
from ..village.core import Village
from ..village.ids import arrow_text, rows_at, rows_of, unique_text
from ..village.scale import ITEMS, response_sentiment
from .intervals import bounded_mean_ci, t_quantile
from .intervals import z_value as _z

#: metric -> (source column, kind, parameters). kind: "net" (share of
#: ``good`` minus share of ``bad``, in points), "share" (share of ``good``,
#: in %), "mean".
METRICS = {
    "nps": ("nps", "net", {"good": (9, 10), "bad": (0, 6)}),
    "csat": ("csat", "share", {"good": (4, 5)}),
    "csat_mean": ("csat", "mean", {}),
    "ces": ("ces", "mean", {}),
    "ces_low": ("ces", "share", {"good": (1, 2)}),
    "neteasy": ("neteasy", "net", {"good": (1, 2), "bad": (5, 7)}),
    "trust": ("trust", "mean", {}),
    "cared_for": ("cared_for", "mean", {}),
    "trust_high": ("trust", "share", {"good": (4, 5)}),
    "cared_for_high": ("cared_for", "share", {"good": (4, 5)}),
    "sentiment": ("sentiment", "mean", {}),
}

DEFAULT_METRICS = ("nps", "csat", "csat_mean", "ces", "ces_low", "neteasy")


def net_score_ci(good, bad, n, conf_level=0.95):
    """Net score and its adjusted Wald interval (Agresti & Min 2005), in points.

    Parameters
    ----------
    good, bad, n : array_like
        Counts of top-box answers (promoters), bottom-box answers (detractors)
        and all answers.
    conf_level : float

    Returns
    -------
    (score, ci_low, ci_high) : tuple of float arrays, in points (-100..100);
        NaN where ``n == 0``.

    Examples
    --------
    Five promoters: NPS 100, but with n = 5 the data cannot rule out much
    lower values: d~ = 5/7, se = sqrt(6 - 25/7)/7 = 0.2226,
    lower = 100 * (5/7 - 1.96 * 0.2226) = 27.8.

    >>> s, lo, hi = net_score_ci([5], [0], [5])
    >>> float(s[0]), round(float(lo[0]), 1), float(hi[0])
    (100.0, 27.8, 100.0)
    """
    good = np.asarray(good, dtype=float)
    bad = np.asarray(bad, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(n > 0, (good - bad) / n, np.nan)
        m = n + 2.0
        center = (good - bad) / m
        se = np.sqrt((good + bad + 1.0) - (good - bad) ** 2 / m) / m
    z = _z(conf_level)
    lo = np.where(n > 0, np.clip(center - z * se, -1.0, 1.0), np.nan)
    hi = np.where(n > 0, np.clip(center + z * se, -1.0, 1.0), np.nan)
    return 100.0 * score, 100.0 * lo, 100.0 * hi


def share_ci(good, n, conf_level=0.95):
    """Share (in %) and its Wilson score interval (statsmodels).

    Examples
    --------
    3 satisfied out of 4: 75 %, Wilson 95 % interval 30.1-95.4 %.

    >>> s, lo, hi = share_ci([3], [4])
    >>> float(s[0]), round(float(lo[0]), 1), round(float(hi[0]), 1)
    (75.0, 30.1, 95.4)
    """
    from statsmodels.stats.proportion import proportion_confint

    good = np.asarray(good, dtype=float)
    n = np.asarray(n, dtype=float)
    ok = n > 0
    lo = np.full(n.shape, np.nan)
    hi = np.full(n.shape, np.nan)
    if ok.any():
        lo[ok], hi[ok] = proportion_confint(good[ok], n[ok], alpha=1.0 - conf_level, method="wilson")
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(ok, good / np.where(ok, n, 1.0), np.nan)
    return 100.0 * share, 100.0 * lo, 100.0 * hi


def mean_ci(total, total_sq, n, conf_level=0.95, *, low=None, high=None):
    """Mean and its interval from sums.

    With the scale's ends ``low`` and ``high`` (every mean metric of
    :data:`METRICS` passes them): the bounded-scale interval of
    :func:`cxinfluence.intervals.bounded_mean_ci`, defined from one answer on.
    Without them (an unbounded quantity): the Student t interval
    ``mean +/- t(n-1) s / sqrt(n)``, NaN when ``n < 2``.

    Examples
    --------
    Answers 1, 2, 3 on a 1-5 scale: on 0-1 they are 0, 0.25, 0.5; with
    1.9207 pseudo-answers at 0 and at 1, ``p~ = 0.3904``, ``v~ = 0.1740``,
    half-width ``1.96 sqrt(0.1740 / 6.8415) = 0.3126``, so 1.311 to 3.812.
    Unbounded: the t interval 2 +/- 4.303 * 1 / sqrt(3).

    >>> m, lo, hi = mean_ci([6.0], [14.0], [3], low=1, high=5)
    >>> float(m[0]), round(float(lo[0]), 3), round(float(hi[0]), 3)
    (2.0, 1.311, 3.812)
    >>> m, lo, hi = mean_ci([6.0], [14.0], [3])
    >>> round(float(lo[0]), 3), round(float(hi[0]), 3)
    (-0.484, 4.484)
    """
    total = np.asarray(total, dtype=float)
    total_sq = np.asarray(total_sq, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, total / n, np.nan)
        if low is not None:
            pop_var = np.maximum(np.where(n > 0, total_sq / n - mean**2, np.nan), 0.0)
            lo, hi = bounded_mean_ci(mean, pop_var, n, low, high, conf_level)
            return mean, lo, hi
        var = np.where(n > 1, (total_sq - n * mean**2) / (n - 1.0), np.nan)
        var = np.maximum(var, 0.0)  # rounding can make a zero variance slightly negative
        half = t_quantile(0.5 + conf_level / 2.0, np.where(n > 1, n - 1.0, np.nan)) * np.sqrt(var / n)
    return mean, mean - half, mean + half


def scale_bounds(metric):
    """``(low, high)`` of a mean metric's scale (``sentiment``: -1, 1).

    >>> scale_bounds("csat_mean"), scale_bounds("sentiment")
    ((1, 5), (-1, 1))
    """
    col = METRICS[metric][0]
    return (-1, 1) if col == "sentiment" else ITEMS[col][:2]


def metric_arrays(scores, group, person, n_groups, metrics, *, unit="respondent", conf_level=0.95) -> dict:
    """The engine of :func:`metric_table` on integer codes.

    Parameters
    ----------
    scores : dict
        Score column name -> float array (NaN: not answered), rows **in date
        order** (the latest answer is the last one).
    group, person : ndarray of int
        Each row's group (0 .. n_groups-1) and person code (>= 0).
    n_groups : int
    metrics : sequence of str
        Names from :data:`METRICS`.
    unit, conf_level
        As in :func:`metric_table`.

    Returns
    -------
    dict
        metric -> ``(value, n, ci_low, ci_high)`` arrays of length ``n_groups``.

    Examples
    --------
    >>> v = metric_arrays({"nps": np.array([10.0, 0.0, 9.0, 7.0])}, np.zeros(4, int), np.array([0, 1, 2, 2]), 1, ["nps"])
    >>> float(v["nps"][0][0]), int(v["nps"][1][0])
    (0.0, 3)
    """
    out = {}
    if unit == "respondent" and len(group):
        # rows of each (group, person) together, in date order: one sort serves every metric
        key = np.asarray(group, dtype=np.int64) * (int(np.max(person)) + 1) + person
        by_key = np.argsort(key, kind="stable")
        key, group_by_key = key[by_key], np.asarray(group)[by_key]
    for m in metrics:
        col, kind, par = METRICS[m]
        x = scores[col]
        if unit == "respondent" and len(group):
            # each (group, person)'s last answer in date order, in order of (group, person)
            x = x[by_key]
            answered = np.flatnonzero(~np.isnan(x))
            k = key[answered]
            last = answered[np.r_[k[1:] != k[:-1], True]] if len(k) else answered
            x, g = x[last], group_by_key[last]
        else:
            ok = ~np.isnan(x)
            x, g = x[ok], group[ok]
        n = np.bincount(g, minlength=n_groups)
        if kind == "mean":
            low, high = scale_bounds(m)
            total = np.bincount(g, x, n_groups)
            with np.errstate(invalid="ignore", divide="ignore"):
                mu = total / n
            # variance around the group mean in one more pass (sum x^2 - n mean^2 loses digits)
            ss = np.bincount(g, (x - np.nan_to_num(mu)[g]) ** 2, n_groups)
            val, lo, hi = mean_ci(total, ss + n * np.nan_to_num(mu) ** 2, n, conf_level, low=low, high=high)
            out[m] = (val, n, lo, hi)
            continue
        good = np.bincount(g, (x >= par["good"][0]) & (x <= par["good"][1]), n_groups)
        if kind == "share":
            val, lo, hi = share_ci(good, n, conf_level)
        else:
            bad = np.bincount(g, (x >= par["bad"][0]) & (x <= par["bad"][1]), n_groups)
            val, lo, hi = net_score_ci(good, bad, n, conf_level)
        out[m] = (val, n, lo, hi)
    return out


_STAKEHOLDER_COLUMNS = ("stakeholder_id", "account_id", "role", "department", "veto", "active_from", "active_to")
_ACCOUNT_COLUMNS = ("account_id", "segment", "region")


def response_frame(village, as_of=None, *, window_days=None, lead_days=0, columns=None) -> pd.DataFrame:
    """Responses joined with their stakeholder's account, role, department and
    veto, and the account's segment and region (a new DataFrame).

    Responses of unknown stakeholders are dropped (validation reports them).
    With ``as_of``, only stakeholders active then and responses dated in the
    look-back window (``window_days``, ``lead_days``; :mod:`cxinfluence.village.asof`)
    are kept. ``columns`` keeps only the columns listed (and ``stakeholder_id``).
    Rows are in the responses' order.

    The join is made on the rows the village's ids already matched
    (:func:`cxinfluence.village.ids.rows_of`: no id is hashed again on a loaded
    village) and the rows are chosen before any column is copied; the result
    equals :func:`response_frame_reference` (``pandas.merge``, then the filters).

    >>> from cxinfluence.synth import make_village
    >>> v, _ = make_village(5, seed=1)
    >>> f = response_frame(v, "2025-01-01", window_days=365, columns=["date", "nps", "role"])
    >>> list(f.columns), f.equals(response_frame_reference(v, "2025-01-01", window_days=365,
    ...                                                     columns=["date", "nps", "role"]))
    (['stakeholder_id', 'date', 'nps', 'role'], True)
    """
    return _joined_responses(village, as_of, window_days=window_days, lead_days=lead_days, columns=columns)[0]


def _joined_responses(village, as_of=None, *, window_days=None, lead_days=0, columns=None):
    """:func:`response_frame` and each of its rows' row of ``village.stakeholders`` (None where the join is made by
    ``merge``: ids repeated or blank)."""
    people, accounts, resp = village.stakeholders, village.accounts, village.responses
    st_cols = [c for c in _STAKEHOLDER_COLUMNS if c in people.columns]
    ac_cols = [c for c in _ACCOUNT_COLUMNS if accounts is not None and c in accounts.columns]
    if not _joins_by_rows(village, st_cols, ac_cols):
        return response_frame_reference(village, as_of, window_days=window_days, lead_days=lead_days,
                                        columns=columns), None
    st_row = rows_of(village, "responses", "stakeholder_id")
    keep = st_row >= 0
    if as_of is not None:
        # one slot past the end answers row -1 (an unknown stakeholder, already dropped)
        keep &= np.r_[_asof.active_mask(people, as_of).to_numpy(), False][st_row]
        if "date" in resp.columns:
            keep = keep & _asof.window_mask(resp["date"], as_of, window_days, lead_days).to_numpy()
    rows = np.flatnonzero(keep)
    st_row = st_row[rows]
    out = resp[_kept([c for c in resp.columns if c == "stakeholder_id" or c not in st_cols], columns)]
    parts = [out.take(rows).reset_index(drop=True), rows_at(people, st_row, _kept(st_cols[1:], columns))]
    ac_wanted = _kept(ac_cols[1:], columns) if len(ac_cols) > 1 else []
    if ac_wanted:  # an account the accounts table does not list (-1) gets blanks, as the left merge gives
        parts.append(rows_at(accounts, rows_of(village, "stakeholders", "account_id")[st_row], ac_wanted))
    return pd.concat(parts, axis=1), st_row


def _kept(names, columns) -> list:
    """``names`` that ``columns`` asks for (all when None; ``stakeholder_id`` always)."""
    return list(names) if columns is None else [c for c in names if c == "stakeholder_id" or c in set(columns)]


def _joins_by_rows(village, st_cols, ac_cols) -> bool:
    """Whether :func:`response_frame` may join on matched rows: the stakeholders'
    and accounts' ids are unique, present text (else ``merge`` decides what a repeat
    or a blank means, or refuses it)."""
    if "stakeholder_id" not in village.responses.columns or "stakeholder_id" not in st_cols:
        return False
    keys = [(village.stakeholders, "stakeholder_id")]
    if len(ac_cols) > 1:
        if "account_id" not in st_cols:
            return False
        keys.append((village.accounts, "account_id"))
    for frame, column in keys:
        ids = arrow_text(frame[column])
        if ids is None or ids.null_count or not unique_text(ids):
            return False
    return True


def response_frame_reference(village, as_of=None, *, window_days=None, lead_days=0, columns=None) -> pd.DataFrame:
    """:func:`response_frame` by ``pandas.merge`` of the whole tables, then the
    filters (the readable definition it is tested equal to)."""
    st_cols = [c for c in _STAKEHOLDER_COLUMNS if c in village.stakeholders.columns]
    out = village.responses.drop(columns=st_cols[1:], errors="ignore")
    out = out.merge(village.stakeholders[st_cols], on="stakeholder_id", how="inner", validate="many_to_one")
    ac_cols = [c for c in _ACCOUNT_COLUMNS if village.accounts is not None and c in village.accounts.columns]
    if len(ac_cols) > 1:
        out = out.merge(village.accounts[ac_cols], on="account_id", how="left", validate="many_to_one")
    if as_of is not None:
        keep = _asof.active_mask(out, as_of).to_numpy()
        if "date" in out.columns:
            keep = keep & _asof.window_mask(out["date"], as_of, window_days, lead_days).to_numpy()
        out = out[keep].reset_index(drop=True)
    return out[_kept(out.columns, columns)]


def respondent_codes(ids, id_col="stakeholder_id") -> np.ndarray:
    """One integer per respondent (0, 1, ...): ``ids`` factorised, a blank id counted as a respondent of its own.

    A response without a person's id (an anonymous survey, a blank cell in an export) cannot be matched with
    that person's other answers; it is one answer by one respondent, so it is counted once, and a
    :class:`~cxinfluence.exceptions.VillageWarning` says how many there were.

    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     codes = respondent_codes(pd.Series(["a", None, "b", "a", ""]))
    >>> codes.tolist(), str(w[0].message)[:58]
    ([0, 3, 1, 0, 2], "stakeholder_id: 1 response has no 'stakeholder_id'; it is ")
    """
    codes = pd.factorize(ids)[0]
    blank = codes < 0
    n = int(np.count_nonzero(blank))
    if n:
        warnings.warn(VillageWarning(
            f"{id_col}: {n} response{'s have' if n > 1 else ' has'} no {id_col!r}; "
            f"{'each is' if n > 1 else 'it is'} counted as a respondent of its own (an anonymous answer); "
            f"fill {id_col!r} to count each person's latest answer once"), stacklevel=3)
        codes = codes.copy()
        codes[blank] = codes.max(initial=-1) + 1 + np.arange(n)
    return codes


def metric_table(data, by=None, metrics=DEFAULT_METRICS, *, unit="respondent", as_of=None,
                 window_days=_asof.DEFAULT_WINDOW_DAYS, lead_days=0, freq=None,
                 id_col="stakeholder_id", date_col="date", conf_level=0.95) -> pd.DataFrame:
    """NPS, CSAT, CES, NetEasy (and more) per group, with n and small-sample CIs.

    Parameters
    ----------
    data : DataFrame or Village
        Responses with score columns, ``stakeholder_id``, ``date`` and any
        grouping columns. A :class:`~cxinfluence.village.core.Village` is joined
        first (:func:`response_frame`), so ``account_id``, ``role``,
        ``department``, ``segment`` and ``region`` can be used in ``by``.
    by : str or list of str, optional
        Grouping columns (account_id, role, department, segment,
        journey_stage, touchpoint, channel, ``period``...). ``None``: one row.
    metrics : sequence of str
        Names from :data:`METRICS`.
    unit : {"respondent", "response"}
        Count each person's latest answer once per group (default), or every
        response. See the module docstring.
    as_of : date, optional
        Use only responses in ``[as_of - lead - window, as_of - lead)``, and
        (for a Village) only stakeholders active at ``as_of``.
    window_days, lead_days : int
        Look-back window (``None``: unlimited) and lead, used with ``as_of``.
    freq : str, optional
        A pandas period frequency (``"Q"``, ``"M"``, ``"Y"``); adds a
        ``period`` column (e.g. ``"2024Q1"``) usable in ``by``.
    conf_level : float

    Returns
    -------
    DataFrame
        One row per group: the ``by`` columns, ``n_respondents``,
        ``n_responses``, then for each metric ``<m>``, ``<m>_n``,
        ``<m>_ci_low``, ``<m>_ci_high``.

    Examples
    --------
    >>> df = pd.DataFrame({"stakeholder_id": ["a", "b", "c", "c"],
    ...     "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-02-01"]),
    ...     "nps": [10, 0, 9, 7], "csat": [5, 3, None, 4]})
    >>> t = metric_table(df, metrics=["nps", "csat"])
    >>> t[["n_respondents", "nps", "nps_n", "csat", "csat_n"]].round(1)
       n_respondents   nps  nps_n  csat  csat_n
    0              3   0.0      3  66.7       3

    Person ``c``'s latest NPS (7, a passive) replaces the earlier 9; per
    response, ``c`` counts twice:

    >>> float(metric_table(df, metrics=["nps"], unit="response")["nps"].iloc[0])
    25.0
    """
    window_days = _asof.check_window(window_days, error=MetricError)
    lead_days = _asof.check_lead(lead_days, error=MetricError)

    if unit not in ("respondent", "response"):
        raise MetricError(f"unit={unit!r} is not supported; expected 'respondent' or 'response'")
    if isinstance(metrics, str):
        metrics = [metrics]
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise MetricError(f"metrics contains {unknown!r}; expected names from {sorted(METRICS)}")
    if not 0 < conf_level < 1:
        raise MetricError(f"conf_level={conf_level!r}; expected a number between 0 and 1, e.g. 0.95")
    by = [] if by is None else ([by] if isinstance(by, str) else list(by))

    person_rows = None  # each row's person as a row of the village's stakeholders, when the join gives them
    if isinstance(data, Village):
        # only the rows and columns this table reads are joined (the window is applied again below)
        needed = [id_col, date_col, *by, *{METRICS[m][0] for m in metrics}, *ITEMS]
        df, person_rows = _joined_responses(data, as_of, window_days=window_days if date_col == "date" else None,
                                            lead_days=lead_days, columns=needed)
        person_rows = person_rows if id_col == "stakeholder_id" else None
    else:
        df = data
    for col in (id_col, date_col):
        if col not in df.columns:
            raise MetricError(f"data has no column {col!r}; pass id_col=/date_col= naming the person and date columns")
    if as_of is not None:
        in_window = _asof.window_mask(df[date_col], as_of, window_days, lead_days).to_numpy()
        df = df[in_window]
        person_rows = None if person_rows is None else person_rows[in_window]
    if freq is not None:
        df = df.assign(period=df[date_col].dt.to_period(freq).astype(str))
    if "sentiment" in metrics and "sentiment" not in df.columns:
        df = df.assign(sentiment=response_sentiment(df))
    missing = [c for c in by if c not in df.columns]
    if missing:
        hint = " (pass freq='Q' to make a period column)" if "period" in missing else ""
        raise MetricError(f"by={by!r} names columns not in the data: {missing}{hint}")
    absent = sorted({METRICS[m][0] for m in metrics} - set(df.columns))
    if absent:
        raise MetricError(f"metrics={list(metrics)!r} need score columns missing from the data: {absent}")

    # One integer code per group; dropna=False keeps respondents with a blank role etc.
    if by:
        grouped = df.groupby(by, sort=True, dropna=False, observed=True)
        codes = grouped.ngroup().to_numpy()
        keys = grouped.size().reset_index()[by]
    else:
        codes = np.zeros(len(df), dtype=np.int64)
        keys = pd.DataFrame(index=[0])
    n_groups = len(keys)
    out = keys.reset_index(drop=True).copy()
    # the people's rows number them as their ids would (unique ids, first seen first), without hashing 10M texts
    pid = respondent_codes(df[id_col], id_col) if person_rows is None else pd.factorize(person_rows)[0]
    out["n_respondents"] = (
        np.bincount(pd.unique(codes.astype(np.int64) * (pid.max(initial=0) + 1) + pid) // (pid.max(initial=0) + 1),
                    minlength=n_groups) if len(df) else np.zeros(n_groups, dtype=np.int64))
    out["n_responses"] = np.bincount(codes, minlength=n_groups)

    order = np.argsort(df[date_col].to_numpy(), kind="stable")  # latest answer = last after sorting
    scores = {METRICS[m][0]: pd.to_numeric(df[METRICS[m][0]], errors="coerce").to_numpy(dtype=float)[order]
              for m in metrics}
    values = metric_arrays(scores, codes[order], pid[order], n_groups, metrics, unit=unit, conf_level=conf_level)
    for m in metrics:
        val, n, lo, hi = values[m]
        out[m], out[f"{m}_n"], out[f"{m}_ci_low"], out[f"{m}_ci_high"] = val, n, lo, hi
    return out
