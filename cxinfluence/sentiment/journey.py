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
from ..village.ids import arrow_text, rows_at, rows_of
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
    """Responses (in the window) with the grouping columns, account_id and ``_s`` (sentiment)."""
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
        r = pd.concat(parts, axis=1)
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
    person = (r.groupby(keys + ["stakeholder_id"], dropna=False, sort=False)
              .agg(_s=("_s", "mean"), _n=("_s", "size"), account_id=("account_id", "first")).reset_index())
    g = person.groupby(keys, dropna=False, sort=True)
    out = g.agg(n_responses=("_n", "sum"), n_respondents=("stakeholder_id", "size"),
                n_accounts=("account_id", "nunique"), sentiment=("_s", "mean"), _sd=("_s", "std")).reset_index()
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
        out["influence_weighted"] = out["_ws"] / out["heard_influence"]
        out["effective_n"] = out["heard_influence"] ** 2 / out.pop("_w2")
        m = person.merge(out[by + ["influence_weighted"]], on=by, how="left")["influence_weighted"].to_numpy()
        resid2 = person["w2"].to_numpy() * (person["s"].to_numpy() - m) ** 2
        person["_r2"] = resid2
        ss = person.groupby(by, dropna=False, sort=False)["_r2"].sum()
        ss = out[by].merge(ss.rename("_ss").reset_index(), on=by, how="left")["_ss"].to_numpy()
        n = out["n_respondents"].to_numpy(float)
        out["se"] = np.where(n > 1, np.sqrt(n / np.where(n > 1, n - 1, 1) * ss) / out["heard_influence"], np.nan)
    out["ci_low"], out["ci_high"] = _t_ci(out["influence_weighted"], out["se"], out["effective_n"], conf_level)
    out["gap"] = out["influence_weighted"] - out["mean"]
    out["small_n"] = out["n_respondents"] < min_respondents
    out = out.drop(columns=["_ws"])
    cols = by + ["n_responses", "n_respondents", "n_accounts", "heard_influence", "effective_n", "mean",
                 "influence_weighted", "se", "ci_low", "ci_high", "gap", "unhappy_influence", "small_n"]
    out = out[cols].sort_values(["small_n", "influence_weighted"], ascending=[True, True], kind="stable",
                                na_position="last")
    return out.reset_index(drop=True)
