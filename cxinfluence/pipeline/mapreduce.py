"""The partitioned run: map over partitions of accounts, reduce the portfolio parameters, map again.

:func:`cxinfluence.pipeline.runner.run` computes its per-account stages with the
functions below, on ``partitions=K`` partitions of the village (split by a
SHA-256 hash of ``account_id``, :mod:`cxinfluence.village.partitions`) and on the
engine asked for (:mod:`cxinfluence.pipeline.engines`)::

    map     influence + structure          per partition
    map     coverage + listening plan      per partition (with its influence rows)
    map     the prior's sufficient stats   per partition       -> reduce: PortfolioPrior.combine
    map     account sentiment (snapshot and every outcome period, with the prior),
            model-frame rows, risk flags   per partition
    map     informal comments (actions)    per partition
    then    models on the concatenated account-level frame, accounts at risk, maps, report (whole portfolio)

``partitions=1`` on the in-process engine is the ordinary run: the same
functions, called once on the whole village. Each mapped function takes a
village (five pandas DataFrames, as a :class:`~cxinfluence.village.core.Village`
or a dict) and keyword arguments (DataFrames of the partition's own earlier
results, options) and returns a dict of DataFrames. The concatenated tables are
put back in the order the one-partition run gives (by the accounts' order in the
village), so every output is the same for every K.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..comments.actions import LEVEL_SHARES, action_list
from ..listening.coverage import coverage_and_plan
from ..models.frame import PEOPLE_COLUMNS, model_frame, multi_metric_index, outcome_periods
from ..models.risk import risk_flags
from ..network.influence import influence_weights
from ..network.structure import stakeholder_structure
from ..sentiment.prior import PortfolioPrior, portfolio_prior
from ..sentiment.schemes import sentiment_tables
from ..village.core import Village

#: how the one-partition run orders each table, so that the combined partitions give the same order:
#: "account": by the account's row in the village (rows of one account kept together, in their order);
#: "as_of": by date, then by the account's row; a tuple: sorted by those columns (as text, stably)
ORDER = {"influence": "account", "coverage": "account", "listening_plan": "account", "snapshot": "account",
         "stakeholder_sentiment": "account", "history": "as_of", "model_frame": ("account_id", "period_end"),
         "risk_flags": ("account_id",),
         "snapshot_frame": ("account_id",)}


def _village(tables):
    return tables if isinstance(tables, Village) else Village(**{k: tables[k] for k in (
        "accounts", "stakeholders", "relationships", "responses", "outcomes")})


# --------------------------------------------------------------------------- the mapped functions


def influence_part(tables, *, as_of) -> dict:
    """Influence weights and structural measures of one partition's people at ``as_of``."""
    v = _village(tables)
    infl = influence_weights(v, as_of)
    return {"influence": _join_rows(infl, stakeholder_structure(v, as_of), on=["account_id", "stakeholder_id"])}


def coverage_part(tables, *, as_of, window_days, influence=None) -> dict:
    """Coverage and the listening plan of one partition's accounts."""
    cov, plan = coverage_and_plan(_village(tables), as_of, window_days=window_days, influence=influence)
    return {"coverage": cov, "listening_plan": plan}


def prior_part(tables, *, as_of, window_days, lead_days, half_life_days, influence=None) -> dict:
    """The sufficient statistics of the portfolio prior in one partition: ``{"prior": PortfolioPrior}``.

    At the snapshot (no lead, with the partition's influence rows) and at each of its
    accounts' outcome periods (with ``lead_days``), as the run scores them.
    """
    v = _village(tables)
    periods = outcome_periods(v)
    priors = [portfolio_prior(v, as_of, window_days=window_days, lead_days=0, half_life_days=half_life_days,
                              influence=influence)]
    if len(periods):
        priors.append(portfolio_prior(v, periods, window_days=window_days, lead_days=lead_days,
                                      half_life_days=half_life_days))
    return {"prior": PortfolioPrior.merge(priors)}


def sentiment_part(tables, *, as_of, window_days, lead_days, half_life_days, influence=None, prior=None,
                   frame=True) -> dict:
    """Account and stakeholder sentiment (snapshot and outcome periods), model-frame rows and risk flags."""
    v = _village(tables)
    snap, people = sentiment_tables(v, as_of, window_days=window_days, lead_days=0, half_life_days=half_life_days,
                                    influence=influence, prior=prior)
    periods = outcome_periods(v)
    if len(periods):
        history, history_people = sentiment_tables(v, periods, window_days=window_days, lead_days=lead_days,
                                                   half_life_days=half_life_days, prior=prior,
                                                   people_columns=PEOPLE_COLUMNS,  # read by the frame only
                                                   people_categoricals=True)
    else:
        history, history_people = snap.iloc[:0], None
    out = {"snapshot": snap, "stakeholder_sentiment": people, "history": history, "risk_flags": risk_flags(people)}
    if frame and len(periods):
        try:  # the frame's failure is the models stage's, not the sentiment's: reported there
            out["model_frame"] = model_frame(v, window_days=window_days, lead_days=lead_days,
                                             half_life_days=half_life_days, sentiment=history,
                                             stakeholders=history_people)
        except Exception as exc:  # noqa: BLE001 - named by the run's models stage
            out["model_frame_error"] = pd.DataFrame({"error": [f"{type(exc).__name__}: {exc}"]})
    return out


def actions_part(tables, *, as_of, window_days, influence=None) -> dict:
    """The informal comments of one partition, routed (the action list's rows)."""
    return {"actions": action_list(_village(tables), as_of, influence=influence, window_days=window_days)}


# --------------------------------------------------------------------------- combining


def account_rank(v) -> pd.Series:
    """Each account id's row in the village (the order every combined table follows)."""
    ids = v.accounts["account_id"].astype(str)
    return pd.Series(np.arange(len(ids)), index=pd.Index(ids))


def combine(frames, name, rank=None) -> pd.DataFrame | None:
    """The partitions' rows of one table as one table, in the order the one-partition run gives.

    ``frames`` lists each partition's table (None where a partition has none);
    ``rank`` is each account id's row in the whole village (:func:`account_rank`).
    Rows are ordered by :data:`ORDER`: by the account's row in the village, or
    by a column first and then by account; rows of one account keep their order.
    A list ``frames`` is emptied once its tables are joined, so that they can go
    (a million accounts' comments: 1.7 GiB in pieces, as much joined).
    """
    given, frames = frames, [f for f in frames if f is not None]
    if not frames:
        return None
    keep = [f for f in frames if len(f)] or frames[:1]
    out, single = (pd.concat(keep, ignore_index=True) if len(keep) > 1 else keep[0]), len(keep) == 1
    if isinstance(given, list):
        given.clear()
    frames = keep = None
    if name == "actions":
        return rank_actions(out, rank)
    if single:
        return out
    out = order_rows(out, name, rank)
    if name in ("model_frame", "snapshot_frame") and "multi_index" in out.columns:  # z-scores over the whole frame
        out["multi_index"] = multi_metric_index(out)
    return out


def order_rows(table, name, rank) -> pd.DataFrame:
    """``table``'s rows in the order :data:`ORDER` gives table ``name`` (``rank``: :func:`account_rank`).

    :func:`combine` puts the partitions' rows together so; a streamed run orders
    each partition's rows so before it keeps them on disk (pipeline/spill.py).
    """
    order = ORDER.get(name, "account")
    if order is None or rank is None or "account_id" not in table.columns:
        return table
    if isinstance(order, tuple):
        return table.sort_values(list(order), kind="stable").reset_index(drop=True)
    pos = rank.reindex(table["account_id"].astype(str)).to_numpy()
    if order == "account":
        idx = np.argsort(pos, kind="stable")
    else:  # np.lexsort sorts by the last key first; stable
        idx = np.lexsort((pos, table[order].to_numpy()))
    return table.iloc[idx].reset_index(drop=True)


def rank_actions(rows, rank=None) -> pd.DataFrame:
    """The action list of the whole portfolio from the partitions' rows: sorted and levelled again.

    Problems, requests, praise; within each by ``urgency`` (highest first), then
    the newest; then by the account's row in the village (ties); ``level``
    (high / medium / low by urgency among problems and requests,
    :data:`cxinfluence.comments.actions.LEVEL_SHARES`) is assigned in that order,
    so it is the same however the accounts were split.
    """
    import math

    if rows is None or not len(rows):
        return rows
    kind = rows["kind"].map({"problem": 0, "request": 1, "praise": 2}).to_numpy()
    pos = (rank.reindex(rows["account_id"].astype(str)).to_numpy() if rank is not None
           else np.zeros(len(rows)))
    urgency = rows["urgency"].to_numpy(dtype=float)
    date = rows["date"].to_numpy().astype("datetime64[ns]").astype(np.int64).astype(float)
    date[pd.isna(rows["date"]).to_numpy()] = np.nan
    # np.lexsort: last key first; NaN urgency and dates last, as in action_list
    neg_u = np.where(np.isnan(urgency), np.inf, -urgency)
    neg_d = np.where(np.isnan(date), np.inf, -date)
    idx = np.lexsort((np.arange(len(rows)), pos, neg_d, neg_u, kind))
    out = rows.iloc[idx].reset_index(drop=True)
    ranked = out["urgency"].where(out["kind"] != "praise")
    place = ranked.rank(ascending=False, method="first")
    n = int((out["kind"] != "praise").sum())
    hi, mid = (math.ceil(share * n) for share in (LEVEL_SHARES[0], sum(LEVEL_SHARES)))
    out["level"] = np.where(out["kind"] == "praise", "praise",
                            np.where(place <= hi, "high", np.where(place <= mid, "medium", "low")))
    return out


def combine_all(results, rank) -> dict:
    """Per table name, the partitions' tables combined (see :func:`combine`); a failure message kept as is."""
    names = [n for r in results for n in r]
    out = {}
    for n in dict.fromkeys(names):
        frames = [r.get(n) for r in results]
        out[n] = next(f for f in frames if f is not None) if n.endswith("_error") else combine(frames, n, rank)
    return out


def combine_priors(priors, as_of=None):
    """The portfolio prior of the whole village from its partitions' (``PortfolioPrior.combine`` per date).

    A partition whose accounts have no outcome at some period holds no statistics for
    that date: each date and option set is combined over the partitions that hold it.
    ``as_of`` is recorded as the prior's snapshot date.

    Examples
    --------
    >>> from cxinfluence.village.synth import make_village
    >>> from cxinfluence.sentiment.prior import portfolio_prior
    >>> from cxinfluence.village.partitions import split_village
    >>> v, _ = make_village(30, seed=4)
    >>> parts = [portfolio_prior(p, "2025-06-30") for p in split_village(v, 3)]
    >>> combine_priors(parts).close_to(portfolio_prior(v, "2025-06-30"))
    True
    """
    from dataclasses import replace

    by_key = {}
    for p in priors:
        if p is None:
            continue
        for key, entry in p.entries_by_key().items():
            by_key.setdefault(key, []).append(PortfolioPrior((entry,)))
    if not by_key:
        return None
    whole = PortfolioPrior.merge([PortfolioPrior.combine(parts) for parts in by_key.values()])
    return replace(whole, snapshot=pd.Timestamp(as_of)) if as_of is not None else whole


def _join_rows(left, right, on):
    """``left`` with ``right``'s other columns, matched on ``on`` (a left join).

    Both tables list the same people in the same order when computed at one
    as-of date, so the columns are placed side by side after checking that the
    keys agree row for row; a merge on millions of text keys is the fallback.
    """
    extra = right[on + [c for c in right.columns if c not in left.columns]]
    aligned = len(left) == len(extra) and all(
        bool(pd.Series(left[c].array == extra[c].array).fillna(False).all()) for c in on)
    if not aligned:
        return left.merge(extra, on=on, how="left")
    # assigned, not concatenated: left's columns stay the very Arrow arrays (concat makes new ones), so the
    # id rows cached on them (influence_weights seeds its stakeholder ids') are found by every later stage
    return left.assign(**{c: extra[c].set_axis(left.index) for c in extra.columns if c not in on})
