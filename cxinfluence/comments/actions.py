"""Informal comments, step 3: routing. :func:`action_list` routes every recent comment to the group that
owns its theme and ranks problems first by urgency; :func:`action_summary` is each group's queue and
:func:`theme_summary` what customers talk about (:func:`comment_table` is the tagged comment table
underneath).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..network.influence import influence_weights
from ..sentiment.tone import comment_sentiment
from ..village.asof import DEFAULT_WINDOW_DAYS, check_window, resolve_as_of, to_timestamp, window_mask
from ..village.ids import (arrow_identity, blank_mask, positions, ranges, remember, remembered, rows_at, rows_for,
                          rows_of)
from ..village.safetext import money
from ..village.scale import response_sentiment
from .capture import _blank
from .themes import routing_table, split_joined, tag_themes


def comment_table(village, as_of=None, *, window_days=DEFAULT_WINDOW_DAYS, rules=None, lexicon=None, channels=None):
    """Every comment in a village with its account, role, themes and sentiment.

    Parameters
    ----------
    village : Village
    as_of : date, optional
        With ``window_days``, keep comments dated in
        ``[as_of - window_days, as_of)`` (:func:`cxinfluence.village.asof.window_mask`).
        ``None`` keeps every comment.
    window_days : int, optional
        Look-back; ``None`` means unlimited (everything before ``as_of``).
    rules, lexicon
        Passed to :func:`tag_themes` and :func:`comment_sentiment`.
    channels : list of str, optional
        Keep only these channels (e.g. ``["informal"]``); default all.

    Returns
    -------
    DataFrame
        One row per response with a non-blank comment: the response columns,
        ``account_id``, ``role``, ``department``, ``veto`` from stakeholders,
        ``themes`` and ``theme_*``, ``comment_sentiment``, ``comment_label``,
        ``comment_adjusted``, and ``score_sentiment`` (the response's scores on
        the common [-1, 1] scale, :func:`cxinfluence.village.scale.response_sentiment`;
        NaN without scores).

    Examples
    --------
    >>> from cxinfluence.village.core import Village
    >>> v = Village(accounts=pd.DataFrame({"account_id": ["a"]}),
    ...     stakeholders=pd.DataFrame({"stakeholder_id": ["s1"], "account_id": ["a"], "role": ["buyer"]}),
    ...     relationships=pd.DataFrame(columns=["source_id", "target_id", "kind"]),
    ...     responses=pd.DataFrame({"stakeholder_id": ["s1", "s1"],
    ...         "date": pd.to_datetime(["2024-03-01", "2024-04-01"]), "csat": [2.0, 5.0],
    ...         "comment": ["Invoice had the old price", None]}),
    ...     outcomes=pd.DataFrame(columns=["account_id", "period_end", "renewed"]))
    >>> comment_table(v)[["account_id", "role", "themes", "score_sentiment"]]
      account_id   role          themes  score_sentiment
    0          a  buyer  billing;pricing             -0.5
    """
    return _comment_table(village, as_of, window_days=window_days, rules=rules, lexicon=lexicon,
                          channels=channels).drop(columns=_ROW)


#: Private column of :func:`_comment_table`: each comment's row in ``village.stakeholders`` (-1: unknown).
_ROW = "_stakeholder_row"


def _comment_rows(village, as_of, window_days, channels):
    """The responses (a new frame, ``comment`` added blank if absent) and the positions of those
    :func:`comment_table` keeps: dated in the window, with a non-blank comment, on ``channels``."""
    as_of, window_days = resolve_as_of(village, as_of), check_window(window_days)
    r = village.responses
    if "comment" not in r.columns:
        r = r.assign(comment=pd.Series(np.nan, index=r.index, dtype=object))
    rows = np.flatnonzero(window_mask(r["date"], as_of, window_days))
    blank = _blank_comments(village, r["comment"])
    # Arrow text: which comments are blank, matched once per village (no window's text taken out to test it);
    # otherwise the date test first, and the text test reads only the window's comments
    rows = rows[~blank[rows]] if blank is not None else rows[~_blank(r["comment"].iloc[rows]).to_numpy()]
    if channels is not None:
        rows = rows[r["channel"].iloc[rows].isin(list(channels)).to_numpy()] if "channel" in r else rows[:0]
    return r, rows


def _blank_comments(village, comment: pd.Series):
    """:func:`cxinfluence.village.ids.blank_mask` of the responses' comments, kept on the village (the
    action list reads two windows; the run, the what-changed comparison and analysts more); None unless Arrow."""
    key = (arrow_identity(comment),)
    mask = remembered(village, "blank comments", key)
    if mask is None:
        mask = blank_mask(comment)
        remember(village, "blank comments", key if mask is not None else None, mask)
    return mask


def _comment_table(village, as_of=None, *, window_days=DEFAULT_WINDOW_DAYS, rules=None, lexicon=None,
                   channels=None, themes_only=False):
    """:func:`comment_table` with :data:`_ROW`; ``themes_only``: just the comments, their
    stakeholder columns and themes (no sentiment)."""
    r, rows = _comment_rows(village, as_of, window_days, channels)
    if themes_only:  # copy only what the themes need (text columns are costly to take)
        r = r[[c for c in ("stakeholder_id", "date", "comment") if c in r.columns]]
    cols = [c for c in ("account_id", "role", "department", "veto") if c in village.stakeholders]
    cols = ["account_id"] if themes_only and "account_id" in cols else cols
    # the speaker's stakeholders row, as cxinfluence.village.ids matched it once per village
    st_rows = np.asarray(rows_of(village, "responses", "stakeholder_id"))[rows]
    r = r.iloc[rows].drop(columns=[c for c in cols if c in r.columns])
    r = pd.concat([r.reset_index(drop=True), rows_at(village.stakeholders[cols], st_rows)], axis=1)
    r[_ROW] = st_rows
    r = tag_themes(r, rules=rules)
    if themes_only:
        return r
    r = comment_sentiment(r, lexicon=lexicon)
    r["score_sentiment"] = response_sentiment(r)
    return r.reset_index(drop=True)


def _influence_rows(village, influence: pd.DataFrame, ct: pd.DataFrame) -> np.ndarray:
    """Row of ``influence`` for each comment (-1: none; the first row of a repeated id), through the
    speakers' stakeholders rows and :func:`cxinfluence.village.ids.rows_for` (hashed once per influence
    table and village, shared with the other stages); by id where someone is unknown to the village."""
    st_rows = ct[_ROW].to_numpy()
    of = rows_for(village, influence["stakeholder_id"])
    if (st_rows < 0).any() or (of < 0).any():
        return positions(ct["stakeholder_id"], influence["stakeholder_id"])
    first = np.full(len(village.stakeholders), -1, dtype=np.int64)
    first[of[::-1]] = np.arange(len(of) - 1, -1, -1)  # the last write wins: the first row of a repeated id
    return first[st_rows]


def _each_distinct(values: pd.Series, fn, dtype) -> np.ndarray:
    """``values.map(fn)`` as an array, calling ``fn`` once per distinct value
    (themes, statuses and texts repeat). Only for text: pandas hashes ``1``
    and ``1.0`` alike, so other columns are mapped row by row."""
    if isinstance(values.dtype, pd.StringDtype) or (
            values.dtype == object and all(isinstance(v, str) for v in pd.unique(values))):
        codes, uniq = pd.factorize(values, use_na_sentinel=False)
        return np.array([fn(v) for v in uniq], dtype=dtype)[codes] if len(codes) else np.zeros(0, dtype=dtype)
    return values.map(fn).to_numpy(dtype=dtype)


def _revenue(village, as_of):
    acc = village.accounts[["account_id"]].copy()
    acc["revenue_at_stake"] = (pd.to_numeric(village.accounts["annual_revenue"], errors="coerce")
                               if "annual_revenue" in village.accounts else np.nan)
    acc["revenue_source"] = np.where(acc["revenue_at_stake"].notna(), "annual_revenue", "unknown")
    o = village.outcomes
    if "bookings" in o and acc["revenue_at_stake"].isna().any():
        o = o[(o["period_end"] <= to_timestamp(as_of)) & o["bookings"].notna()]
        last = o.sort_values("period_end").drop_duplicates("account_id", keep="last").set_index("account_id")
        fill = acc["revenue_at_stake"].isna() & acc["account_id"].isin(last.index)
        acc.loc[fill, "revenue_at_stake"] = acc.loc[fill, "account_id"].map(last["bookings"]).astype(float)
        acc.loc[fill, "revenue_source"] = "latest_bookings"
    return acc


def action_list(village, as_of=None, *, influence=None, window_days=DEFAULT_WINDOW_DAYS, routing=None, rules=None,
                lexicon=None, channels=None, include_closed=False) -> pd.DataFrame:
    """Who should act on what customers said: one row per recent comment, ranked.

    Every comment dated in ``[as_of - window_days, as_of)`` is tagged with
    themes (:func:`tag_themes`), routed to the group that owns each theme
    (:func:`routing_table`; a comment with several themes goes to several
    groups, one with none to the ``other`` route) and prioritised by::

        priority   = influence * negativity * revenue_at_stake
        negativity = (1 - s) / 2                      in [0, 1]
        s          = mean of the available of comment_sentiment (VADER, [-1, 1])
                     and score_sentiment (the response's scores, [-1, 1])

    * ``influence`` is the speaker's share of their account's influence as of
      ``as_of`` (:func:`cxinfluence.network.influence.influence_weights`, summing to 1
      within each account); someone no longer active (or unknown to
      ``influence``) gets 0: their voice no longer moves the decision.
    * ``negativity`` is 1 for the most negative comment, 0.5 for a neutral
      one, 0 for pure praise, so neutral requests rank above compliments.
    * ``revenue_at_stake`` is the account's ``annual_revenue``; when blank,
      the latest ``bookings`` with ``period_end <= as_of``
      (``revenue_source`` says which); unknown revenue gives a NaN priority,
      listed last.

    ``priority`` is therefore in currency units: the share of the account's
    revenue whose decision-maker weight stands behind the complaint, scaled by
    how negative it is. E.g. a plant manager with influence 0.4 in a
    1,000,000 account whose comment scores ``s = -0.6`` (negativity 0.8)
    gets ``0.4 * 0.8 * 1,000,000 = 320,000``. In the example below the plant
    manager's comment reads -0.4588 and NPS 2 is -0.6 on the common scale, so
    ``s = -0.5294``, negativity ``0.7647`` and priority
    ``0.8 * 0.7647 * 1,000,000 = 611,760``.

    Parameters
    ----------
    village : Village
    as_of : date
    influence : DataFrame, optional
        ``stakeholder_id, influence`` (e.g. from
        :func:`cxinfluence.network.influence.influence_weights`); computed as of
        ``as_of`` when omitted.
    window_days : int or None, default 90
    routing, rules, lexicon, channels
        See :func:`routing_table`, :func:`tag_themes`,
        :func:`comment_sentiment`, :func:`comment_table`.
    include_closed : bool, default False
        Keep comments whose ``status`` is ``closed`` (when the column exists).

    Problems come first (issue 16: route problems to the groups that can
    prevent them recurring; praise is listed apart): ``kind`` is ``problem``
    (``s <= -0.05``, VADER's cut-off), ``praise`` (``s >= 0.05``) or
    ``request``; ``recurrence`` counts the quarters of the last
    ``RECURRENCE_DAYS`` in which the account raised any of the comment's
    themes (at least 1), and ``urgency = priority * recurrence`` ranks
    problems, then requests, then praise. ``level`` is ``high`` for the most
    urgent ``LEVEL_SHARES[0]`` of the problems and requests, ``medium`` for
    the next ``LEVEL_SHARES[1]``, else ``low`` (``praise`` for praise), and
    ``level_reason`` says why in words.

    Returns
    -------
    DataFrame
        Problems, requests, praise; within each by ``urgency`` (highest
        first), then date (newest first):
        ``priority, date, account_id, stakeholder_id, role, veto, influence,
        themes, owning_group, comment, negativity, comment_sentiment,
        score_sentiment, revenue_at_stake, revenue_source, active, kind,
        recurrence, urgency, level, level_reason`` and, when
        present, ``channel, touchpoint, journey_stage, status, status_date,
        owner_group, response_id``. ``owning_group`` joins the groups with
        ``";"``. Comment text is kept exactly as written (escape it when
        rendering).

    Examples
    --------
    >>> from cxinfluence.village.core import Village
    >>> v = Village(accounts=pd.DataFrame({"account_id": ["a"], "annual_revenue": [1_000_000.0]}),
    ...     stakeholders=pd.DataFrame({"stakeholder_id": ["pm", "op"], "account_id": ["a", "a"]}),
    ...     relationships=pd.DataFrame(columns=["source_id", "target_id", "kind"]),
    ...     responses=pd.DataFrame({"stakeholder_id": ["pm", "op"],
    ...         "date": pd.to_datetime(["2024-06-01", "2024-06-02"]), "nps": [2.0, 9.0],
    ...         "comment": ["Our champion left the company", "Deliveries on time"]}),
    ...     outcomes=pd.DataFrame(columns=["account_id", "period_end", "renewed"]))
    >>> inf = pd.DataFrame({"stakeholder_id": ["pm", "op"], "influence": [0.8, 0.2]})
    >>> al = action_list(v, "2024-07-01", influence=inf)
    >>> al[["stakeholder_id", "themes", "owning_group", "negativity", "priority"]].round(3)
      stakeholder_id    themes  owning_group  negativity  priority
    0             pm    people  account team       0.765  611760.0
    1             op  delivery     logistics       0.210   41940.0
    >>> al[["kind", "level", "level_reason"]].values.tolist()
    [['problem', 'high', "strongly negative, from 80% of the account's influence; first time this year; 1M revenue"],
     ['praise', 'praise', 'praise: share it with the team that earned it']]
    """
    as_of, window_days = resolve_as_of(village, as_of), check_window(window_days)
    ct = _comment_table(village, as_of, window_days=window_days, rules=rules, lexicon=lexicon, channels=channels)
    if not include_closed and "status" in ct:
        ct = ct[~_each_distinct(ct["status"], lambda v: str(v).strip().lower() == "closed", bool)]
    ct = ct.reset_index(drop=True)
    if influence is None:
        influence = influence_weights(village, as_of)
    if not {"stakeholder_id", "influence"} <= set(influence.columns):
        raise ValueError(f"influence has columns {list(influence.columns)}; expected stakeholder_id and influence "
                         "(e.g. cxinfluence.network.influence.influence_weights(village, as_of))")
    at = _influence_rows(village, influence, ct)
    ct["influence"] = np.where(at >= 0, pd.to_numeric(influence["influence"]).to_numpy(float)[np.maximum(at, 0)]
                               if len(influence) else np.nan, np.nan)
    ct["active"] = at >= 0
    ct["influence"] = ct["influence"].fillna(0.0).astype(float)

    route = routing_table(routing).set_index("theme")["owning_group"]
    route = route.to_dict()
    ct["owning_group"] = _each_distinct(ct["themes"].fillna(""), lambda t: ";".join(
        dict.fromkeys(route.get(x, route["other"]) for x in (t.split(";") if t else ["other"]))), object)

    s = ct[["comment_sentiment", "score_sentiment"]].mean(axis=1, skipna=True)
    ct["negativity"] = (1.0 - s) / 2.0
    ct = pd.concat([ct, rows_at(_revenue(village, as_of).drop(columns="account_id"), _account_rows(village, ct))],
                   axis=1)
    ct["revenue_source"] = ct["revenue_source"].fillna("unknown")
    ct["priority"] = ct["influence"] * ct["negativity"] * ct["revenue_at_stake"]
    # problems first: how bad x how likely to recur x whose voice x revenue at stake; praise listed apart
    ct["kind"] = np.select([s <= -0.05, s >= 0.05], ["problem", "praise"], "request")
    history = ct if window_days is not None and window_days >= RECURRENCE_DAYS else _comment_table(
        village, as_of, window_days=RECURRENCE_DAYS, rules=rules, channels=channels, themes_only=True)
    ct["recurrence"] = _quarters_raised(ct, history)
    del history  # a year of comments (1.4M at 100k accounts, ~180 MiB): gone before the reasons are written
    ct["urgency"] = ct["priority"] * ct["recurrence"]
    ct["level"], ct["level_reason"] = _levels(ct)
    first = ["priority", "date", "account_id", "stakeholder_id", "role", "veto", "influence", "themes",
             "owning_group", "comment", "negativity", "comment_sentiment", "score_sentiment",
             "revenue_at_stake", "revenue_source", "active", "kind", "recurrence", "urgency", "level",
             "level_reason"]
    extra = [c for c in ("channel", "touchpoint", "journey_stage", "status", "status_date", "owner_group",
                         "response_id") if c in ct.columns]
    out = ct.reindex(columns=first + extra)
    out["_kind"] = out["kind"].map({"problem": 0, "request": 1, "praise": 2})
    out = out.sort_values(["_kind", "urgency", "date"], ascending=[True, False, False], na_position="last",
                          kind="stable").drop(columns="_kind")
    return out.reset_index(drop=True)


#: Look-back for "how likely to recur": the quarters of the last year in which the account raised the theme.
RECURRENCE_DAYS = 365


#: Shares of the problems and requests (by urgency) called high and medium; the rest are low.
LEVEL_SHARES = (0.2, 0.3)


def _account_rows(village, ct: pd.DataFrame) -> np.ndarray:
    """Row of ``village.accounts`` of each comment's account (-1: none), through the speaker's
    stakeholders row (:func:`cxinfluence.village.ids.rows_of`, matched once per village)."""
    st_rows = ct[_ROW].to_numpy()
    acc = np.asarray(rows_of(village, "stakeholders", "account_id"))
    return np.where(st_rows >= 0, acc[np.maximum(st_rows, 0)] if len(acc) else -1, -1)


def _theme_lists(themes: pd.Series, names: dict):
    """Per row, the codes of its ``;``-joined themes (blank parts dropped), as ``(count, codes)``: row
    ``i``'s codes are ``codes[start_i : start_i + count[i]]``; ``names`` collects theme -> code. Each
    distinct text is split once."""
    codes, uniq = pd.factorize(themes.fillna("").astype(object).map(str), use_na_sentinel=False)
    parts = [[names.setdefault(t, len(names)) for t in u.split(";") if t] for u in uniq]
    size = np.array([len(x) for x in parts], dtype=np.intp)
    flat = np.array([c for x in parts for c in x], dtype=np.int64)
    start = np.cumsum(size) - size
    n = size[codes] if len(codes) else np.zeros(0, np.intp)
    return n, flat[ranges(start[codes], n)] if len(codes) else np.zeros(0, np.int64)


def _quarters_raised(ct: pd.DataFrame, history: pd.DataFrame) -> np.ndarray:
    """Per comment: in how many calendar quarters of ``history`` its account raised any of its themes
    (at least 1). Integer codes throughout: (account, theme, quarter) triples counted once each."""
    if not len(ct):
        return np.zeros(0, dtype=int)
    acc, _ = pd.factorize(pd.concat([history["account_id"], ct["account_id"]], ignore_index=True))
    h_acc, c_acc = acc[:len(history)], acc[len(history):]
    names: dict = {}
    h_n, h_theme = _theme_lists(history["themes"], names)
    c_n, c_theme = _theme_lists(ct["themes"], names)
    n_theme = max(len(names), 1)
    months = pd.to_datetime(history["date"]).to_numpy(dtype="datetime64[M]").astype(np.int64)
    quarter = months // 3
    q0 = int(quarter.min(initial=0))
    n_q = int(quarter.max(initial=0)) - q0 + 1
    h_row = np.repeat(np.arange(len(history)), h_n)
    ok = h_acc[h_row] >= 0  # comments without an account are not counted (as groupby leaves NaN keys out)
    h_row, h_theme = h_row[ok], h_theme[ok]
    pair = h_acc[h_row].astype(np.int64) * n_theme + h_theme
    triples = np.sort(pd.unique(pair * n_q + (quarter[h_row] - q0)))  # each (account, theme, quarter) once
    heads = np.flatnonzero(np.r_[True, np.diff(triples // n_q) != 0]) if len(triples) else np.zeros(0, np.intp)
    pairs, n_quarters = (triples // n_q)[heads], np.diff(np.r_[heads, len(triples)])
    c_row = np.repeat(np.arange(len(ct)), c_n)
    c_pair = c_acc[c_row].astype(np.int64) * n_theme + c_theme
    at = np.minimum(np.searchsorted(pairs, c_pair), max(len(pairs) - 1, 0))
    hit = (c_acc[c_row] >= 0) & (pairs[at] == c_pair) if len(pairs) else np.zeros(len(c_row), bool)
    best = np.ones(len(ct), dtype=np.int64)
    np.maximum.at(best, c_row[hit], n_quarters[at[hit]])
    return best


def _each_float(values: pd.Series, fn) -> np.ndarray:
    """``values.map(fn)`` as an object array for a number column, ``fn`` called once per distinct
    float (told apart by their bits, so ``-0.0`` and ``0.0`` stay apart)."""
    x = pd.to_numeric(values).to_numpy(dtype=float)
    bits, codes = np.unique(x.view(np.int64), return_inverse=True)
    done = np.array([fn(float(b)) for b in bits.view(np.float64)] + [None], dtype=object)[:-1]
    return done[codes.reshape(-1)]


def _levels(ct: pd.DataFrame):
    """high/medium/low (by urgency among problems and requests) or "praise", and the reason in words.

    The words are built column by column, each distinct value formatted once."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ranked = ct["urgency"].where(ct["kind"] != "praise")
    rank = ranked.rank(ascending=False, method="first")  # 1 = most urgent; NaN urgency (revenue unknown) unranked
    n = int((ct["kind"] != "praise").sum())
    hi, mid = (math.ceil(share * n) for share in (LEVEL_SHARES[0], sum(LEVEL_SHARES)))
    level = np.where(ct["kind"] == "praise", "praise",
                     np.where(rank <= hi, "high", np.where(rank <= mid, "medium", "low")))
    if not len(ct):
        return level, []
    r = ct.reindex(columns=["kind", "veto", "influence", "active", "negativity", "recurrence", "themes",
                            "revenue_at_stake"])
    kind = r["kind"].to_numpy(dtype=object)
    veto = r["veto"].to_numpy()
    veto = veto if veto.dtype == bool else np.fromiter((v is True for v in veto), dtype=bool, count=len(veto))
    active = r["active"].to_numpy(dtype=object)
    active = np.fromiter((bool(a) for a in active), dtype=bool, count=len(active))
    share = _each_float(r["influence"], lambda x: f"{x:.0%} of the account's influence")
    who = np.where(~active, "someone who has left", np.where(veto, "a veto holder", share))
    negativity = r["negativity"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        tone = np.where(negativity >= 0.75, "strongly negative",
                        np.where(kind == "problem", "negative", "a request"))
    theme = _each_distinct(r["themes"].astype(object),
                           lambda t: str(t).split(";")[0] if isinstance(t, str) and t else "this topic", object)
    quarters = pa.array(r["recurrence"].to_numpy(np.int64)).cast(pa.string())
    again = pc.if_else((r["recurrence"] > 1).to_numpy(), _joined(theme, " raised in ", quarters,
                                                                  " quarters of the last year"), "first time this year")
    revenue = _each_float(r["revenue_at_stake"], lambda x: f"{money(x)} revenue" if pd.notna(x) else "revenue unknown")
    # joined by Arrow: no Python string per row for each partial sum (action_list 3.9 -> 3.1 s at 100k accounts)
    reasons = pc.if_else(kind == "praise", "praise: share it with the team that earned it",
                         _joined(tone, ", from ", who, "; ", again, "; ", revenue))
    return level, pd.array(reasons, dtype="str")


def _joined(*parts):
    """Arrow strings, row by row the concatenation of ``parts`` (arrays of text, or ``str`` constants)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.large_string()
    return pc.binary_join_element_wise(*(pa.scalar(p, text) if isinstance(p, str) else
                                         p.cast(text) if isinstance(p, pa.Array) else pa.array(p, text)
                                         for p in parts), pa.scalar("", text))


def theme_summary(comments: pd.DataFrame, *, themes="themes", account="account_id") -> pd.DataFrame:
    """What customers are talking about: per theme, how often, how negative, where.

    Parameters
    ----------
    comments : DataFrame
        Tagged comments with ``comment_sentiment`` (e.g. :func:`comment_table`
        or :func:`action_list`). A comment with several themes counts in each;
        untagged comments form the theme ``other``.
    themes, account : str
        Column names.

    Returns
    -------
    DataFrame
        Per theme: ``n_comments, n_accounts, share_of_comments`` (of all
        comments, so shares can sum to more than 1), ``mean_sentiment``,
        ``share_negative`` (``comment_sentiment <= -0.05``, VADER's cut-off),
        sorted by ``n_comments``.

    Examples
    --------
    >>> c = comment_sentiment(tag_themes(pd.DataFrame({"account_id": ["a", "a", "b"],
    ...     "comment": ["Late delivery again", "Invoice wrong, delivery late", "Nice lunch"]})))
    >>> theme_summary(c)[["theme", "n_comments", "n_accounts", "share_negative"]]
          theme  n_comments  n_accounts  share_negative
    0  delivery           2           1             1.0
    1   billing           1           1             1.0
    2     other           1           1             0.0
    """
    for c in (themes, account, "comment_sentiment"):
        if c not in comments.columns:
            raise KeyError(f"comments has no column {c!r}; pass comment_table(village) or action_list(...)")
    rows, theme = split_joined(comments[themes], empty="other")  # a comment counts in each of its themes
    d = comments[[account, "comment_sentiment"]].take(rows).assign(theme=theme)
    d = d.assign(_neg=d["comment_sentiment"] <= -0.05)
    g = d.groupby("theme", sort=False)
    out = pd.DataFrame({"n_comments": g.size(), "n_accounts": g[account].nunique(),
                        "mean_sentiment": g["comment_sentiment"].mean(), "share_negative": g["_neg"].mean()})
    out.insert(2, "share_of_comments", out["n_comments"] / max(len(comments), 1))
    out = out.rename_axis("theme").reset_index()
    return out.sort_values("n_comments", ascending=False, kind="stable").reset_index(drop=True)


def action_summary(actions: pd.DataFrame, *, by="owning_group") -> pd.DataFrame:
    """Each owning group's queue from an :func:`action_list`: how much, from whom, where.

    A comment routed to several groups counts in each of them.

    Parameters
    ----------
    actions : DataFrame
        The output of :func:`action_list`.
    by : str, default "owning_group"
        Column to summarise by (``";"``-joined values are split).

    Returns
    -------
    DataFrame
        Per group: ``n_comments, n_accounts, n_from_veto_holders,
        priority_total, priority_max, top_account`` (the account with the
        largest summed priority), ``top_theme`` (most frequent theme), sorted
        by ``priority_total``, largest first.

    Examples
    --------
    >>> a = pd.DataFrame({"owning_group": ["logistics", "logistics;quality", "quality"],
    ...                   "account_id": ["x", "y", "y"], "veto": [True, False, False],
    ...                   "themes": ["delivery", "delivery;quality", "quality"], "priority": [10.0, 5.0, 1.0]})
    >>> action_summary(a)[["owning_group", "n_comments", "priority_total", "top_account", "top_theme"]]
      owning_group  n_comments  priority_total top_account top_theme
    0    logistics           2            15.0           x  delivery
    1      quality           2             6.0           y   quality
    """
    for c in (by, "account_id", "priority", "themes"):
        if c not in actions.columns:
            raise KeyError(f"actions has no column {c!r}; pass the output of action_list()")
    rows, group = split_joined(actions[by])  # a comment counts in each of its groups; one without none
    a = actions[[c for c in ("account_id", "priority", "themes", "veto") if c in actions.columns]].take(rows)
    a = a.assign(_group=group)
    veto = a["veto"].fillna(False).astype(bool) if "veto" in a else pd.Series(False, index=a.index)
    a = a.assign(_veto=veto)
    g = a.groupby("_group", sort=False)
    out = pd.DataFrame({
        "n_comments": g.size(),
        "n_accounts": g["account_id"].nunique(),
        "n_from_veto_holders": g["_veto"].sum().astype(int),
        "priority_total": g["priority"].sum(min_count=1),
        "priority_max": g["priority"].max(),
    })
    acc = a.groupby(["_group", "account_id"], sort=False)["priority"].sum().reset_index()
    acc = acc.sort_values("priority", ascending=False, kind="stable").drop_duplicates("_group")
    out["top_account"] = acc.set_index("_group")["account_id"]
    rows, theme = split_joined(a["themes"], empty="other")
    th = pd.DataFrame({"_group": a["_group"].to_numpy()[rows], "_theme": theme})
    th = th.groupby(["_group", "_theme"], sort=False).size().rename("n").reset_index()
    th = th.sort_values("n", ascending=False, kind="stable").drop_duplicates("_group")
    out["top_theme"] = th.set_index("_group")["_theme"]
    out = out.rename_axis(by).reset_index()
    return out.sort_values("priority_total", ascending=False, kind="stable", na_position="last").reset_index(drop=True)


# --------------------------------------------------------------------------- recurrence, follow-through
