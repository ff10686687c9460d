"""Informal comments, step 3: routing. :func:`action_list` routes every recent comment to the group that
owns its theme and ranks problems first by urgency; :func:`action_summary` is each group's queue and
:func:`theme_summary` what customers talk about (:func:`comment_table` is the tagged comment table
underneath).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..village.asof import DEFAULT_WINDOW_DAYS, check_window, resolve_as_of, to_timestamp, window_mask
from ..village.scale import response_sentiment
from ..sentiment.tone import comment_sentiment
from .capture import _blank
from .followup import _explode_themes
from .themes import routing_table, tag_themes
from ..network.influence import influence_weights
from ..village.safetext import money


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
    as_of, window_days = resolve_as_of(village, as_of), check_window(window_days)
    r = village.responses
    if "comment" not in r.columns:
        r = r.assign(comment=pd.Series(np.nan, index=r.index, dtype=object))
    # the date test first: it is vectorised, and the text test then reads only the window's comments
    rows = np.flatnonzero(window_mask(r["date"], as_of, window_days))
    r = r.iloc[rows[~_blank(r["comment"].iloc[rows]).to_numpy()]]
    if channels is not None:
        r = r[r["channel"].isin(list(channels))] if "channel" in r else r.iloc[:0]
    cols = [c for c in ("stakeholder_id", "account_id", "role", "department", "veto") if c in village.stakeholders]
    r = _left_join(r.drop(columns=[c for c in cols[1:] if c in r.columns]), village.stakeholders[cols],
                   "stakeholder_id")
    r = tag_themes(r, rules=rules)
    r = comment_sentiment(r, lexicon=lexicon)
    r["score_sentiment"] = response_sentiment(r)
    return r.reset_index(drop=True)


def _left_join(left: pd.DataFrame, right: pd.DataFrame, key: str) -> pd.DataFrame:
    """``left.merge(right.drop_duplicates(key), on=key, how="left")``.

    When both keys are Arrow-backed text, the right rows are looked up with
    pyarrow (``index_in``: first occurrence, as ``drop_duplicates`` keeps)
    instead of pandas hashing Python strings; unmatched rows get blanks as in
    the merge. Otherwise the merge itself runs."""
    import pyarrow as pa
    import pyarrow.compute as pc

    lk, rk = left[key], right[key]
    extra = [c for c in right.columns if c != key]
    if (all(isinstance(x.dtype, pd.StringDtype) and x.dtype.storage == "pyarrow" for x in (lk, rk))
            and not set(extra) & set(left.columns)):
        pos = pc.index_in(pa.chunked_array(lk.array.__arrow_array__()),
                          value_set=pa.chunked_array(rk.array.__arrow_array__()).combine_chunks())
        pos = pc.fill_null(pos, -1).to_numpy()
        picked = right[extra].reset_index(drop=True)
        picked = picked.reindex(pos) if (pos < 0).any() else picked.iloc[pos]  # reindex blanks the -1s
        return pd.concat([left.reset_index(drop=True), picked.reset_index(drop=True)], axis=1)
    return left.merge(right.drop_duplicates(key), on=key, how="left")


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


def action_list(village, as_of=None, *, influence=None, window_days=DEFAULT_WINDOW_DAYS, routing=None, rules=None, lexicon=None,
                channels=None, include_closed=False) -> pd.DataFrame:
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
    ct = comment_table(village, as_of, window_days=window_days, rules=rules, lexicon=lexicon, channels=channels)
    if not include_closed and "status" in ct:
        ct = ct[~_each_distinct(ct["status"], lambda v: str(v).strip().lower() == "closed", bool)]
    if influence is None:

        influence = influence_weights(village, as_of)
    if not {"stakeholder_id", "influence"} <= set(influence.columns):
        raise ValueError(f"influence has columns {list(influence.columns)}; expected stakeholder_id and influence "
                         "(e.g. cxinfluence.network.influence.influence_weights(village, as_of))")
    ct = _left_join(ct, influence[["stakeholder_id", "influence"]].assign(active=True), "stakeholder_id")
    ct["active"] = ct["active"].fillna(False).astype(bool)
    ct["influence"] = ct["influence"].fillna(0.0).astype(float)

    route = routing_table(routing).set_index("theme")["owning_group"]
    route = route.to_dict()
    ct["owning_group"] = _each_distinct(ct["themes"].fillna(""), lambda t: ";".join(
        dict.fromkeys(route.get(x, route["other"]) for x in (t.split(";") if t else ["other"]))), object)

    s = ct[["comment_sentiment", "score_sentiment"]].mean(axis=1, skipna=True)
    ct["negativity"] = (1.0 - s) / 2.0
    ct = _left_join(ct, _revenue(village, as_of), "account_id")
    ct["revenue_source"] = ct["revenue_source"].fillna("unknown")
    ct["priority"] = ct["influence"] * ct["negativity"] * ct["revenue_at_stake"]
    # problems first: how bad x how likely to recur x whose voice x revenue at stake; praise listed apart
    ct["kind"] = np.select([s <= -0.05, s >= 0.05], ["problem", "praise"], "request")
    history = ct if window_days is not None and window_days >= RECURRENCE_DAYS else comment_table(
        village, as_of, window_days=RECURRENCE_DAYS, rules=rules, lexicon=lexicon, channels=channels)
    ct["recurrence"] = _quarters_raised(ct, history)
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


def _quarters_raised(ct: pd.DataFrame, history: pd.DataFrame) -> np.ndarray:
    """Per comment: in how many quarters of ``history`` its account raised any of its themes (at least 1)."""
    if not len(ct):
        return np.zeros(0, dtype=int)
    h = _explode_themes(history.assign(themes=history["themes"].fillna("")), "account_id", "themes", "date")
    quarters = (h.assign(_q=h["_date"].dt.to_period("Q")).drop_duplicates(["account_id", "theme", "_q"])
                .groupby(["account_id", "theme"], sort=False).size())
    c = _explode_themes(ct[["account_id", "themes", "date"]].assign(themes=ct["themes"].fillna("")),
                        "account_id", "themes", "date")
    n = pd.Series(quarters.reindex(pd.MultiIndex.from_arrays([c["account_id"], c["theme"]])).to_numpy(),
                  index=c.index)
    best = n.groupby(level=0).max().reindex(ct.index)
    return best.fillna(1).clip(lower=1).astype(int).to_numpy()


def _levels(ct: pd.DataFrame):
    """high/medium/low (by urgency among problems and requests) or "praise", and the reason in words."""

    ranked = ct["urgency"].where(ct["kind"] != "praise")
    rank = ranked.rank(ascending=False, method="first")  # 1 = most urgent; NaN urgency (revenue unknown) unranked
    n = int((ct["kind"] != "praise").sum())
    hi, mid = (math.ceil(share * n) for share in (LEVEL_SHARES[0], sum(LEVEL_SHARES)))
    level = np.where(ct["kind"] == "praise", "praise",
                     np.where(rank <= hi, "high", np.where(rank <= mid, "medium", "low")))
    reasons = []
    for r in ct.reindex(columns=["kind", "veto", "influence", "active", "negativity", "recurrence", "themes",
                                 "revenue_at_stake"]).itertuples(index=False):
        if r.kind == "praise":
            reasons.append("praise: share it with the team that earned it")
            continue
        who = ("someone who has left" if not r.active else "a veto holder" if r.veto is True
               else f"{r.influence:.0%} of the account's influence")
        tone = ("strongly negative" if r.negativity >= 0.75 else "negative" if r.kind == "problem"
                else "a request")
        theme = (str(r.themes).split(";")[0] if isinstance(r.themes, str) and r.themes else "this topic")
        again = (f"{theme} raised in {r.recurrence} quarters of the last year" if r.recurrence > 1
                 else "first time this year")
        revenue = (f"{money(r.revenue_at_stake)} revenue" if pd.notna(r.revenue_at_stake) else "revenue unknown")
        reasons.append(f"{tone}, from {who}; {again}; {revenue}")
    return level, reasons


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
    d = comments.assign(theme=comments[themes].fillna("").map(lambda t: [x for x in str(t).split(";") if x]
                                                              or ["other"]))
    d = d.explode("theme").assign(_neg=lambda x: x["comment_sentiment"] <= -0.05)
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
    a = actions.assign(_group=actions[by].fillna("").map(lambda g: [x for x in str(g).split(";") if x]))
    a = a.explode("_group").dropna(subset=["_group"])
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
    th = a.assign(_theme=a["themes"].fillna("").map(lambda t: [x for x in str(t).split(";") if x] or ["other"]))
    th = th.explode("_theme").groupby(["_group", "_theme"], sort=False).size().rename("n").reset_index()
    th = th.sort_values("n", ascending=False, kind="stable").drop_duplicates("_group")
    out["top_theme"] = th.set_index("_group")["_theme"]
    out = out.rename_axis(by).reset_index()
    return out.sort_values("priority_total", ascending=False, kind="stable", na_position="last").reset_index(drop=True)


# --------------------------------------------------------------------------- recurrence, follow-through
