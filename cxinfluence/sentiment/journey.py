"""The customer journey view: sentiment by journey stage, touchpoint, role and time.

Seed 004 describes the B2B journey (awareness, consideration, decision,
retention, advocacy, renewal) and its touchpoints; seed 001 asks which
touchpoints deserve attention. Two tables answer that:

* :func:`journey_view` -- sentiment for any grouping (journey stage,
  touchpoint, channel, role, department, segment, ...) per calendar period,
  with respondent counts and a confidence interval;
* :func:`pain_points` -- per touchpoint as of a date, the influence-weighted
  sentiment: where the people who carry the buying decision are least happy.

Sentiment is the response's scores on the common ``[-1, 1]`` scale
(:func:`cxinfluence.village.scale.response_sentiment`), or the comment's text
sentiment (:func:`cxinfluence.sentiment.tone.comment_sentiment`), or the mean of
both (``source=``).

Each person counts once per group: their responses in the group are averaged
first, so one talkative stakeholder cannot outvote the rest of the village.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..network.influence import influence_weights
from ..village.asof import DEFAULT_WINDOW_DAYS, check_window, resolve_as_of, window_mask
from ..village.ids import arrow_text, lookup, rows_at, rows_for, rows_of
from ..village.scale import ITEMS, response_sentiment
from .intervals import t_quantile
from .tone import comment_sentiment

_SOURCES = ("scores", "comment", "both")


def _t_ci(mean, se, n, conf_level):
    df = np.asarray(n, dtype=float) - 1.0
    with np.errstate(invalid="ignore"):
        q = t_quantile(0.5 + conf_level / 2.0, np.where(df > 0, df, np.nan))
    return mean - q * se, mean + q * se


def _ids_are_plain(frame, column) -> bool:
    """Text ids without blanks (a blank id would join other blanks in ``merge``)."""
    ids = arrow_text(frame[column]) if column in frame.columns else None
    return ids is not None and ids.null_count == 0


def _frame(village, as_of, window_days, by, source, lexicon=None):
    """Responses (in the window) with the grouping columns, account_id and ``_s`` (sentiment); when the ids
    were matched to rows, ``_row``: the respondent's row in the stakeholders table (-1: not listed)."""
    if source not in _SOURCES:
        raise ValueError(f"source={source!r} is not supported; expected one of {list(_SOURCES)}")
    r = village.responses
    s, a = village.stakeholders, village.accounts
    need = [c for c in by if c not in r.columns]
    from_s = [c for c in need if c in s.columns and c != "stakeholder_id"]
    from_a = [c for c in need if c not in from_s and c in a.columns]
    unknown = [c for c in need if c not in from_s and c not in from_a]
    if unknown:
        raise KeyError(f"by={list(by)!r} names {unknown}, which is in none of responses, stakeholders or accounts; "
                       f"e.g. journey_stage, touchpoint, channel, role, department, segment")
    cols = ["stakeholder_id", "account_id"] + [c for c in from_s if c != "account_id"]
    # only the columns read below: the groups, who and when, the scored items and the comment
    used = {*by, "stakeholder_id", "date", "comment", *ITEMS}
    r = r[[c for c in r.columns if c in used and c not in cols[1:]]]
    rows = (np.flatnonzero(window_mask(r["date"], as_of, window_days).to_numpy()) if as_of is not None
            else np.arange(len(r)))
    if _ids_are_plain(s, "stakeholder_id") and _ids_are_plain(a, "account_id"):
        # the left joins on the rows validation matched (the first row of a repeated id, as drop_duplicates keeps)
        st_row = rows_of(village, "responses", "stakeholder_id")[rows]
        parts = [r.take(rows).reset_index(drop=True), rows_at(s, st_row, cols[1:])]
        if from_a:
            ac_row = np.where(st_row >= 0, rows_of(village, "stakeholders", "account_id")[st_row], -1)
            parts.append(rows_at(a, ac_row, from_a))
        r = pd.concat(parts, axis=1).assign(_row=st_row)  # the respondent's stakeholder row (-1: not listed)
    else:
        r = r.take(rows).merge(s.drop_duplicates("stakeholder_id")[cols], on="stakeholder_id", how="left")
        if from_a:
            r = r.merge(a.drop_duplicates("account_id")[["account_id"] + from_a], on="account_id", how="left")
    if source == "scores":
        sent = response_sentiment(r)
    else:
        text = (comment_sentiment(r[["comment"]], lexicon=lexicon)["comment_sentiment"]
                if "comment" in r else pd.Series(np.nan, index=r.index))
        sent = text if source == "comment" else pd.concat([response_sentiment(r), text], axis=1).mean(axis=1)
    r = r.assign(_s=sent.to_numpy())
    return r[r["_s"].notna()]


def journey_view(village, as_of=None, *, by=("journey_stage", "touchpoint"), freq="Q", window_days=DEFAULT_WINDOW_DAYS,
                 source="scores", conf_level=0.95, lexicon=None) -> pd.DataFrame:
    """Sentiment by journey stage and touchpoint (or any grouping), over time.

    For each group and period: each respondent's sentiment is the mean of
    their responses there; the group's ``sentiment`` is the mean over
    respondents, with standard error ``sd / sqrt(n_respondents)`` and a
    Student-t confidence interval (NaN with a single respondent: one person
    gives no spread to measure).

    Parameters
    ----------
    village : Village
    as_of : date, optional
        With ``as_of``, only responses dated in
        ``[as_of - window_days, as_of)``; without, every response.
    by : str or list of str, default ("journey_stage", "touchpoint")
        Columns of responses (journey_stage, touchpoint, channel),
        stakeholders (role, department, veto) or accounts (segment, region).
        Blank values form their own group (NaN).
    freq : str or None, default "Q"
        pandas period frequency ("M", "Q", "Y"); None gives one row per group
        over the whole span.
    window_days : int, optional
        Look-back with ``as_of``; None means unlimited.
    source : {"scores", "comment", "both"}, default "scores"
        Sentiment from the scores, from the comment text (VADER with domain
        adjustments), or the mean of the two where both exist.
    conf_level : float, default 0.95
    lexicon : dict, optional
        Extra VADER words for ``source="comment"``/``"both"``.

    Returns
    -------
    DataFrame
        ``by`` columns, ``period`` (str) and ``period_start`` (when ``freq``),
        ``n_responses, n_respondents, n_accounts, sentiment, se, ci_low,
        ci_high``, sorted by group then period.

    Examples
    --------
    >>> from cxinfluence.village.core import Village
    >>> v = Village(accounts=pd.DataFrame({"account_id": ["a"]}),
    ...     stakeholders=pd.DataFrame({"stakeholder_id": ["s1", "s2"], "account_id": ["a", "a"],
    ...                                "role": ["decider", "user"]}),
    ...     relationships=pd.DataFrame(columns=["source_id", "target_id", "kind"]),
    ...     responses=pd.DataFrame({"stakeholder_id": ["s1", "s1", "s2"],
    ...         "date": pd.to_datetime(["2024-01-10", "2024-02-10", "2024-01-20"]),
    ...         "csat": [5.0, 3.0, 1.0], "touchpoint": ["delivery"] * 3}),
    ...     outcomes=pd.DataFrame(columns=["account_id", "period_end", "renewed"]))
    >>> journey_view(v, by="touchpoint")[["touchpoint", "period", "n_responses", "n_respondents", "sentiment"]]
      touchpoint  period  n_responses  n_respondents  sentiment
    0   delivery  2024Q1            3              2      -0.25
    """
    as_of, window_days = resolve_as_of(village, as_of), check_window(window_days)
    by = [by] if isinstance(by, str) else list(by)
    r = _frame(village, as_of, window_days, by, source, lexicon)
    keys = list(by)
    if freq is not None:
        r = r.assign(_period=r["date"].dt.to_period(freq))
        keys.append("_period")
    out = _journey_table(village, r, keys)
    out["se"] = out.pop("_sd") / np.sqrt(out["n_respondents"])
    out["ci_low"], out["ci_high"] = _t_ci(out["sentiment"], out["se"], out["n_respondents"], conf_level)
    if freq is not None:
        out["period_start"] = out["_period"].map(lambda p: p.start_time).astype("datetime64[ns]")
        out["period"] = out.pop("_period").astype(str)
        out = out[by + ["period", "period_start"] + [c for c in out.columns if c not in by + ["period", "period_start"]]]
    return out.reset_index(drop=True)


def pain_points(village, as_of=None, *, by="touchpoint", window_days=DEFAULT_WINDOW_DAYS, influence=None, source="scores",
                min_respondents=5, conf_level=0.95, lexicon=None) -> pd.DataFrame:
    """Touchpoints where the most influential people are least happy, as of a date.

    Uses responses dated in ``[as_of - window_days, as_of)`` from stakeholders
    active at ``as_of``. For respondent *i* at a touchpoint, ``s_i`` is the
    mean sentiment of their responses there and ``w_i`` their influence share
    within their account (:func:`cxinfluence.network.influence.influence_weights`,
    summing to 1 per account). Per touchpoint::

        influence_weighted = sum_i w_i s_i / sum_i w_i
        se                 = sqrt(n/(n-1) * sum_i w_i^2 (s_i - m)^2) / sum_i w_i
        effective_n        = (sum_i w_i)^2 / sum_i w_i^2          (Kish 1965)
        unhappy_influence  = sum_i w_i [s_i < 0]

    ``se`` is the linearisation (sandwich) standard error of a ratio mean
    (Cochran 1977, sec. 6.4), the interval uses Student's t with
    ``effective_n - 1`` degrees of freedom. ``gap = influence_weighted - mean``
    is negative where the people who carry the decision are less happy than
    the plain average suggests. ``heard_influence = sum_i w_i`` is in
    "accounts' worth" of influence (1 = one whole buying center).

    Parameters
    ----------
    village : Village
    as_of : date
    by : str or list of str, default "touchpoint"
        Grouping, as in :func:`journey_view` (e.g. ``["journey_stage",
        "touchpoint"]``).
    window_days : int or None, default 365
    influence : DataFrame, optional
        ``stakeholder_id, influence``; computed with
        :func:`cxinfluence.network.influence.influence_weights` at ``as_of`` if omitted.
        Respondents not in it (not active at ``as_of``) are left out.
    source : {"scores", "comment", "both"}, default "scores"
    min_respondents : int, default 5
        Groups heard from fewer people are flagged ``small_n`` and listed after
        the others: one unhappy person is an anecdote, not a pain point.
    conf_level : float, default 0.95
    lexicon : dict, optional

    Returns
    -------
    DataFrame
        ``by`` columns, ``n_responses, n_respondents, n_accounts,
        heard_influence, effective_n, mean, influence_weighted, se, ci_low,
        ci_high, gap, unhappy_influence, small_n``; sorted with the least
        happy (influence-weighted) first, ``small_n`` groups last.

    Examples
    --------
    >>> from cxinfluence.village.core import Village
    >>> v = Village(accounts=pd.DataFrame({"account_id": ["a"]}),
    ...     stakeholders=pd.DataFrame({"stakeholder_id": ["boss", "op"], "account_id": ["a", "a"]}),
    ...     relationships=pd.DataFrame(columns=["source_id", "target_id", "kind"]),
    ...     responses=pd.DataFrame({"stakeholder_id": ["boss", "op", "boss", "op"],
    ...         "date": pd.to_datetime(["2024-03-01"] * 4), "csat": [1.0, 5.0, 5.0, 4.0],
    ...         "touchpoint": ["billing", "billing", "delivery", "delivery"]}),
    ...     outcomes=pd.DataFrame(columns=["account_id", "period_end", "renewed"]))
    >>> inf = pd.DataFrame({"stakeholder_id": ["boss", "op"], "influence": [0.8, 0.2]})
    >>> pain_points(v, "2024-06-30", influence=inf, min_respondents=1)[
    ...     ["touchpoint", "n_respondents", "mean", "influence_weighted", "gap"]]
      touchpoint  n_respondents  mean  influence_weighted   gap
    0    billing              2  0.00               -0.60 -0.60
    1   delivery              2  0.75                0.90  0.15
    """
    by = [by] if isinstance(by, str) else list(by)
    as_of, window_days = resolve_as_of(village, as_of), check_window(window_days)
    if influence is None:
        influence = influence_weights(village, as_of)
    if not {"stakeholder_id", "influence"} <= set(influence.columns):
        raise ValueError(f"influence has columns {list(influence.columns)}; expected stakeholder_id and influence "
                         "(e.g. cxinfluence.network.influence.influence_weights(village, as_of))")
    r = _frame(village, as_of, window_days, by, source, lexicon)
    out = _pain_table(village, r, influence, by)
    out["ci_low"], out["ci_high"] = _t_ci(out["influence_weighted"], out["se"], out["effective_n"], conf_level)
    out["gap"] = out["influence_weighted"] - out["mean"]
    out["small_n"] = out["n_respondents"] < min_respondents
    cols = by + ["n_responses", "n_respondents", "n_accounts", "heard_influence", "effective_n", "mean",
                 "influence_weighted", "se", "ci_low", "ci_high", "gap", "unhappy_influence", "small_n"]
    out = out[cols].sort_values(["small_n", "influence_weighted"], ascending=[True, True], kind="stable",
                                na_position="last")
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- respondents within groups
# Both tables average each respondent's responses within a group first, then summarise the respondents
# per group. The kernels below do it on integer codes (pandas.factorize and numpy.bincount: 2.5M
# responses in ~0.5 s); the *_reference functions are the same tables by pandas groupby and merge,
# readable, tested equal (tests/test_metrics_fast.py; sums in another order: equal to ~1e-15).


def _codes(columns) -> np.ndarray:
    """One code per distinct combination of ``columns`` (blanks included), numbered in order of first
    appearance: the groups of ``groupby(columns, dropna=False, sort=False)``, in its order."""
    combined = None
    for col in columns:
        if isinstance(col, np.ndarray) and col.dtype.kind == "i" and combined is not None:
            codes, n = col, int(col.max(initial=0)) + 1  # already codes (>= 0): no hashing to number them
        else:
            codes, uniques = pd.factorize(col, use_na_sentinel=False)
            n = len(uniques)
        if combined is None:
            combined = codes.astype(np.int64)
        else:  # numbered again in order of first appearance, compact so the next product cannot overflow
            combined = pd.factorize(combined * np.int64(n) + codes)[0].astype(np.int64)
    return combined


def _firsts(codes: np.ndarray) -> np.ndarray:
    """Row of each code's first appearance, in code order (codes numbered in order of first appearance)."""
    if len(codes) == 0:
        return np.zeros(0, dtype=np.int64)
    seen = np.maximum.accumulate(codes)
    return np.flatnonzero(np.r_[True, codes[1:] > seen[:-1]])


def _respondents(r, keys, n_listed):
    """``(group of each response, respondent of each response, first response of each respondent,
    first response of each group)``: respondents are (group, stakeholder) pairs, numbered as
    ``groupby(keys + ["stakeholder_id"], dropna=False, sort=False)`` orders them."""
    group = _codes([r[k] for k in keys]) if keys else np.zeros(len(r), dtype=np.int64)
    person = _codes([group, _by_row(r, "stakeholder_id", r["_row"].to_numpy() if "_row" in r else None, n_listed)])
    return group, person, _firsts(person), _firsts(group)


def _by_row(r, column, rows, n_listed) -> np.ndarray:
    """An integer per distinct ``r[column]`` text: the row it was matched to where there is one (no text hashed),
    else ``n_listed`` + a code for its text (ids not in their table; blanks get one code too)."""
    if rows is None:
        return pd.factorize(r[column], use_na_sentinel=False)[0].astype(np.int64)
    out = np.asarray(rows, dtype=np.int64).copy()
    miss = out < 0
    if miss.any():
        out[miss] = n_listed + pd.factorize(r[column].to_numpy()[miss], use_na_sentinel=False)[0]
    return out


#: groups with more respondents than this are summed by numpy's pairwise sum on their slice: bincount's
#: running sum drifts with size (5e-13 on 750,000 respondents at 100k; pairwise: within 1e-15)
_PAIRWISE_FROM = 2048


def _group_sums(group, n_groups):
    """``total(values)``: the sum of ``values`` per group, blanks skipped (pandas' groupby sum, whose
    compensated sums are exact to the last bit, as this is to ~1e-16): numpy.bincount, and for the large
    groups numpy's pairwise sum over their rows."""
    size = np.bincount(group, minlength=n_groups)
    big = np.flatnonzero(size > _PAIRWISE_FROM)
    order = np.argsort(group, kind="stable") if len(big) else None
    bounds = np.r_[0, np.cumsum(size)]

    def total(values):
        values = np.asarray(values, dtype=float)
        values = np.where(np.isnan(values), 0.0, values)
        out = np.bincount(group, values, minlength=n_groups)
        if len(big):
            ordered = values[order]
            for g in big:
                out[g] = ordered[bounds[g]:bounds[g + 1]].sum()
        return out

    return total


def _accounts(village, r, first) -> np.ndarray:
    """The account of each respondent (their ``first`` response) as an integer, -1 for a blank: the account's
    row, or a code after the accounts for an id the accounts table does not list."""
    if "_row" not in r:
        return pd.factorize(r["account_id"].to_numpy()[first])[0]
    rows = r["_row"].to_numpy()[first]
    people = village.stakeholders["account_id"]
    listed = np.asarray(rows_of(village, "stakeholders", "account_id"), dtype=np.int64)
    unlisted = np.flatnonzero((listed < 0) & people.notna().to_numpy())
    by_person = listed.copy()
    by_person[unlisted] = len(village.accounts) + pd.factorize(people.to_numpy()[unlisted])[0]
    return np.where(rows >= 0, by_person[np.maximum(rows, 0)], -1)  # not a listed stakeholder: no account


def _distinct_per_group(group, codes, n_groups) -> np.ndarray:
    """Distinct codes ``>= 0`` per group (pandas' groupby nunique of the values they stand for)."""
    ok = codes >= 0
    k = np.int64(max(codes.max(initial=0) + 1, 1))
    return np.bincount(pd.unique(group[ok] * k + codes[ok]) // k, minlength=n_groups).astype(np.int64)


def _respondent_means(r, keys, n_listed):
    """Each respondent's mean sentiment and response count, with the codes of :func:`_respondents`."""
    group, person, first, group_first = _respondents(r, keys, n_listed)
    n = np.bincount(person)
    s = np.bincount(person, r["_s"].to_numpy(dtype=float)) / n
    return group, person, first, group_first, n, s


def _journey_table(village, r, keys) -> pd.DataFrame:
    """:func:`journey_view`'s counts, mean and standard deviation per group (sorted by ``keys``)."""
    if not len(r):
        return _journey_table_reference(village, r, keys)
    group, _, first, group_first, n, s = _respondent_means(r, keys, len(village.stakeholders))
    pg, n_groups = group[first], len(group_first)
    size, total = np.bincount(pg, minlength=n_groups), _group_sums(pg, n_groups)
    mean = total(s) / size
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(total((s - mean[pg]) ** 2) / (size - 1))
    out = r[keys].take(group_first).reset_index(drop=True)
    out["n_responses"] = np.bincount(pg, n, minlength=n_groups).astype(np.int64)
    out["n_respondents"] = size.astype(np.int64)
    out["n_accounts"] = _distinct_per_group(pg, _accounts(village, r, first), n_groups)
    out["sentiment"], out["_sd"] = mean, np.where(size > 1, sd, np.nan)
    return out.sort_values(keys, na_position="last", kind="stable").reset_index(drop=True) if keys else out


def _journey_table_reference(village, r, keys) -> pd.DataFrame:
    """:func:`_journey_table` by pandas groupby (``village`` unused: the same arguments)."""
    person = (r.groupby(keys + ["stakeholder_id"], dropna=False, sort=False)
              .agg(_s=("_s", "mean"), _n=("_s", "size"), account_id=("account_id", "first")).reset_index())
    g = person.groupby(keys, dropna=False, sort=True)
    return g.agg(n_responses=("_n", "sum"), n_respondents=("stakeholder_id", "size"),
                 n_accounts=("account_id", "nunique"), sentiment=("_s", "mean"), _sd=("_s", "std")).reset_index()


def _influence_of(village, r, influence):
    """Each response's ``influence`` (the first row of its stakeholder's in ``influence``) and whether there is
    one: by stakeholder row where the respondent was matched (the influence table's rows are looked up once
    and cached, :func:`cxinfluence.village.ids.rows_for`), by text otherwise."""
    ids, values = influence["stakeholder_id"], influence["influence"].to_numpy(dtype=float)
    found, w = np.zeros(len(r), dtype=bool), np.full(len(r), np.nan)
    rows = r["_row"].to_numpy() if "_row" in r else np.full(len(r), -1)
    by_text = rows < 0
    if not by_text.all():
        at = np.asarray(rows_for(village, ids))
        ok = np.flatnonzero(at >= 0)[::-1]  # assigned last to first: the first row of a repeated id wins
        has, by_row = np.zeros(len(village.stakeholders), dtype=bool), np.full(len(village.stakeholders), np.nan)
        has[at[ok]], by_row[at[ok]] = True, values[ok]
        listed = ~by_text
        found[listed], w[listed] = has[rows[listed]], by_row[rows[listed]]
    if by_text.any():
        pos = lookup(ids.iloc[::-1], r["stakeholder_id"][by_text])  # the last of the reversed: the first row
        found[by_text] = pos >= 0
        w[by_text] = np.where(pos >= 0, values[::-1][np.maximum(pos, 0)], np.nan)
    return w, found


def _pain_table(village, r, influence, by) -> pd.DataFrame:
    """:func:`pain_points`' sums per group of ``by`` (groups in order of first appearance), ``influence``
    looked up per response (responses of people without influence left out, as an inner join)."""
    infl, keep = _influence_of(village, r, influence)
    if not keep.all():
        r, infl = r[keep], infl[keep]
    if not len(r):
        return _pain_table_reference(village, r, influence, by)
    group, person, first, group_first, n, s = _respondent_means(r, by, len(village.stakeholders))
    pg, wp, n_groups = group[first], infl[first], len(group_first)
    size, total = np.bincount(pg, minlength=n_groups), _group_sums(pg, n_groups)
    heard = total(wp)
    out = r[by].take(group_first).reset_index(drop=True)
    out["n_responses"] = np.bincount(pg, n, minlength=n_groups).astype(np.int64)
    out["n_respondents"] = size.astype(np.int64)
    out["n_accounts"] = _distinct_per_group(pg, _accounts(village, r, first), n_groups)
    out["heard_influence"] = heard
    out["mean"] = total(s) / size
    out["unhappy_influence"] = total(wp * (s < 0))
    with np.errstate(invalid="ignore", divide="ignore"):
        m = total(wp * s) / heard
        ss = total(wp**2 * (s - m[pg]) ** 2)
        out["influence_weighted"] = m
        out["effective_n"] = heard**2 / total(wp**2)
        nf = size.astype(float)
        out["se"] = np.where(nf > 1, np.sqrt(nf / np.where(nf > 1, nf - 1, 1) * ss) / heard, np.nan)
    return out


def _pain_table_reference(village, r, influence, by) -> pd.DataFrame:
    """:func:`_pain_table` by pandas merge and groupby (``village`` unused: the same arguments)."""
    w = influence[["stakeholder_id", "influence"]].drop_duplicates("stakeholder_id")
    r = r.merge(w, on="stakeholder_id", how="inner")
    person = (r.groupby(by + ["stakeholder_id"], dropna=False, sort=False)
              .agg(s=("_s", "mean"), n=("_s", "size"), w=("influence", "first"), account_id=("account_id", "first"))
              .reset_index())
    person["ws"] = person["w"] * person["s"]
    person["w2"] = person["w"] ** 2
    person["w_unhappy"] = person["w"] * (person["s"] < 0)
    g = person.groupby(by, dropna=False, sort=False)
    out = g.agg(n_responses=("n", "sum"), n_respondents=("stakeholder_id", "size"),
                n_accounts=("account_id", "nunique"), heard_influence=("w", "sum"), _w2=("w2", "sum"),
                _ws=("ws", "sum"), mean=("s", "mean"), unhappy_influence=("w_unhappy", "sum")).reset_index()
    with np.errstate(invalid="ignore", divide="ignore"):
        out["influence_weighted"] = out.pop("_ws") / out["heard_influence"]
        out["effective_n"] = out["heard_influence"] ** 2 / out.pop("_w2")
        m = person.merge(out[by + ["influence_weighted"]], on=by, how="left")["influence_weighted"].to_numpy()
        person["_r2"] = person["w2"].to_numpy() * (person["s"].to_numpy() - m) ** 2
        ss = person.groupby(by, dropna=False, sort=False)["_r2"].sum()
        ss = out[by].merge(ss.rename("_ss").reset_index(), on=by, how="left")["_ss"].to_numpy()
        n = out["n_respondents"].to_numpy(float)
        out["se"] = np.where(n > 1, np.sqrt(n / np.where(n > 1, n - 1, 1) * ss) / out["heard_influence"], np.nan)
    return out
