"""One buying-center graph per account, as of a date.

:func:`account_graph` returns a :class:`networkx.DiGraph` whose nodes are the
account's stakeholders and whose edges are their ties.

Edge direction
--------------
Edges keep the direction of the ``relationships`` table, so a map reads as the
data does: ``u -> v`` with ``kind="reports_to"`` means u reports to v (v is the
manager); with ``kind="influences"`` it means u's view carries weight with v.
Influence flows toward the person who is listened to, which is the manager for
``reports_to`` but the *source* for ``influences``; :func:`cxinfluence.network.edges.endorsement_graph`
turns the graph into the one PageRank runs on (``reports_to`` edges kept,
``influences`` edges reversed, parallel ties summed), so that
``nx.pagerank(endorsement_graph(G))`` equals the ``pagerank`` component of
:func:`cxinfluence.network.influence.influence_weights` (see that module for the rule
and the references).

When one pair is tied by both kinds in the same direction the DiGraph holds
one edge with ``kind="reports_to+influences"``, ``weight`` the sum and the
parts in ``reports_to_weight`` and ``influences_weight`` (every edge carries
these two, 0.0 for a kind it lacks).

Node attributes (plain Python types, never numpy scalars): ``account_id, name,
title, role, department, veto (bool), active (bool), active_to (ISO date or
None), influence (float; 0.0 for someone who has left), sentiment (mean
response sentiment on [-1, 1] over the window, None = not heard),
n_responses (int, in the window), last_heard (ISO date of the latest response
before the as-of date, any age, or None), nps, csat, ces, neteasy (latest
value in the window, or None), latest_comment (str or None)``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..exceptions import GraphError, VillageWarning
from ..village.asof import check_lead, check_window, resolve_as_of, to_timestamp, window_mask
from ..village.roles import complete_roles
from ..village.scale import response_sentiment
from ..village.subset import subset_village
from .edges import INFLUENCES, REPORTS_TO, tie_kinds, tie_weights
from .influence import active_stakeholders, influence_weights

NODE_ATTRIBUTES = ("account_id", "name", "title", "role", "department", "veto", "active", "active_to", "influence",
                   "sentiment", "n_responses", "last_heard", "nps", "csat", "ces", "neteasy", "latest_comment")
_LATEST_ITEMS = ("nps", "csat", "ces", "neteasy")


def _plain(value):
    """A plain Python value: None for blanks, ISO date strings, no numpy scalars."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _people(village, as_of, departed, account_ids):
    if departed not in ("exclude", "mark"):
        raise ValueError(f"departed={departed!r}; expected 'exclude' (drop people who left) or 'mark' (keep them, active=False)")
    people = village.stakeholders
    if account_ids is not None:
        people = people[people["account_id"].isin(list(account_ids))]
    active_ids = set(active_stakeholders(village.__class__(village.accounts, people, village.relationships,
                                                            village.responses, village.outcomes), as_of)["stakeholder_id"])
    people = people.assign(active=people["stakeholder_id"].isin(active_ids))
    if departed == "exclude":
        people = people[people["active"]]
    elif as_of is not None and "active_from" in people.columns:
        # "mark" keeps people who left, not people who have not joined yet
        people = people[people["active_from"].isna() | (people["active_from"] <= to_timestamp(as_of))]
    if "role" not in people.columns or "veto" not in people.columns:
        people = complete_roles(people)
    return people


def _response_stats(village, ids, as_of, window_days, lead_days):
    """Per stakeholder: sentiment, n_responses, last_heard and latest items."""
    resp = village.responses
    cols = ["sentiment", "n_responses", "last_heard", *_LATEST_ITEMS, "latest_comment"]
    if resp is None or len(resp) == 0 or "stakeholder_id" not in resp.columns:
        return pd.DataFrame(columns=cols, index=pd.Index([], name="stakeholder_id"))
    resp = resp[resp["stakeholder_id"].isin(ids)]
    if as_of is None:
        before = resp
        in_window = resp
    else:
        end = to_timestamp(as_of) - pd.Timedelta(days=lead_days or 0)
        before = resp[resp["date"] < end]
        in_window = resp[window_mask(resp["date"], as_of, window_days=window_days, lead_days=lead_days)]
    mean = _mean_sentiment(in_window)
    in_window = in_window.sort_values("date", kind="stable")
    stats = pd.DataFrame(index=pd.Index(pd.unique(in_window["stakeholder_id"]), name="stakeholder_id"))
    groups = in_window.groupby("stakeholder_id", sort=False)
    stats["sentiment"] = mean
    stats["n_responses"] = groups.size()
    for item in _LATEST_ITEMS:
        stats[item] = groups[item].last() if item in in_window.columns else np.nan
    if "comment" in in_window.columns:
        text = in_window["comment"].where(in_window["comment"].astype("string").str.strip() != "")
        stats["latest_comment"] = text.groupby(in_window["stakeholder_id"], sort=False).last()
    else:
        stats["latest_comment"] = np.nan
    last = before.groupby("stakeholder_id")["date"].max()
    stats = stats.reindex(stats.index.union(last.index))
    stats["last_heard"] = last
    return stats[cols]


def _mean_sentiment(responses) -> pd.Series:
    """Each stakeholder's mean response sentiment, summed in the responses' own order as the account
    sentiment kernel sums it (:func:`cxinfluence.sentiment.base._stakeholder_rows`: ``numpy.bincount``), so a
    map shows the stakeholder table's value to the bit (pandas' groupby mean sums with compensation instead)."""
    x = response_sentiment(responses).to_numpy()
    codes, ids = pd.factorize(responses["stakeholder_id"])
    ok = ~np.isnan(x) & (codes >= 0)
    n = np.bincount(codes[ok], minlength=len(ids))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(codes[ok], x[ok], len(ids)) / n
    return pd.Series(np.where(n > 0, mean, np.nan), index=ids)


def _edge_table(relationships, people, weight):
    """Ties among ``people`` in data direction, one row per ordered pair with
    the weight of each kind: ``account_id, u, v, r, i``."""
    cols = ["account_id", "u", "v", "r", "i"]
    if relationships is None or len(relationships) == 0 or len(people) == 0:
        return pd.DataFrame(columns=cols)
    account = pd.Series(people["account_id"].to_numpy(), index=people["stakeholder_id"].to_numpy())
    rel = relationships[relationships["source_id"].isin(account.index) & relationships["target_id"].isin(account.index)]
    rel = rel[rel["source_id"] != rel["target_id"]]
    if rel.empty:
        return pd.DataFrame(columns=cols)
    w, kind = tie_weights(rel, weight), tie_kinds(rel["kind"])
    frame = pd.DataFrame({"account_id": rel["source_id"].map(account).to_numpy(), "u": rel["source_id"].to_numpy(),
                          "v": rel["target_id"].to_numpy(), "r": np.where(kind == REPORTS_TO, w, 0.0),
                          "i": np.where(kind == INFLUENCES, w, 0.0)})
    frame = frame[frame["account_id"].to_numpy() == rel["target_id"].map(account).to_numpy()]
    return frame.groupby(["account_id", "u", "v"], sort=False)[["r", "i"]].sum().reset_index()


def _add_edges(G, edges):
    for u, v, r, i in edges[["u", "v", "r", "i"]].itertuples(index=False):
        kinds = "+".join(k for k, x in (("reports_to", r), ("influences", i)) if x > 0)
        G.add_edge(u, v, kind=kinds, weight=float(r + i), reports_to_weight=float(r), influences_weight=float(i))


def account_graphs(village, account_ids=None, as_of=None, *, departed="exclude", influence=None, sentiment=None,
                   window_days=365, lead_days=0, weight="weight") -> dict:
    """Buying-center graphs of many accounts: ``{account_id: nx.DiGraph}``.

    Same as :func:`account_graph` for each account, with influence and
    response statistics computed once for all of them. ``account_ids=None``
    means every account in ``village.accounts`` (plus any account a
    stakeholder refers to); accounts without anyone to show get an empty graph.

    Examples
    --------
    >>> from cxinfluence.village.core import Village
    >>> s = pd.DataFrame({"stakeholder_id": ["a", "b", "c"], "account_id": ["A", "A", "B"],
    ...                   "role": ["user", "decider", "buyer"], "veto": [False, True, False]})
    >>> r = pd.DataFrame({"source_id": ["a"], "target_id": ["b"], "kind": ["reports_to"]})
    >>> v = Village(pd.DataFrame({"account_id": ["A", "B"]}), s, r, pd.DataFrame(), pd.DataFrame())
    >>> {k: sorted(g.nodes) for k, g in account_graphs(v).items()}
    {'A': ['a', 'b'], 'B': ['c']}
    """
    import networkx as nx

    as_of = resolve_as_of(village, as_of)
    window_days = check_window(window_days, error=GraphError)
    lead_days = check_lead(lead_days, error=GraphError)
    if account_ids is None:
        known = village.stakeholders["account_id"].dropna()
        if village.accounts is not None and "account_id" in village.accounts.columns:
            known = pd.concat([village.accounts["account_id"].dropna(), known])
        account_ids = list(pd.unique(known))
    elif isinstance(account_ids, str):
        account_ids = [account_ids]
    account_ids = list(account_ids)
    if village.accounts is not None and "account_id" in village.accounts.columns \
            and len(account_ids) < len(village.accounts) // 4:
        # a few accounts of a large village: work on their rows only (as_of is already the whole village's)
        village = subset_village(village, account_ids)
        if influence is not None and "account_id" in influence.columns:
            influence = influence[influence["account_id"].isin(account_ids).to_numpy()]
    people = _people(village, as_of, departed, account_ids)

    if influence is None:
        sub = village.__class__(village.accounts, village.stakeholders[village.stakeholders["account_id"].isin(account_ids)],
                                village.relationships, village.responses, village.outcomes)
        import warnings

        with warnings.catch_warnings():  # an empty account is shown as an empty graph, not warned about
            warnings.simplefilter("ignore", VillageWarning)
            influence = influence_weights(sub, as_of, weight=weight)
    elif not {"stakeholder_id", "influence"} <= set(influence.columns):
        raise ValueError(f"influence has columns {list(influence.columns)}; expected at least stakeholder_id, influence "
                         "(e.g. the output of cxinfluence.network.influence.influence_weights)")
    infl = pd.Series(influence["influence"].to_numpy(float), index=influence["stakeholder_id"].to_numpy())
    infl = infl[~infl.index.duplicated()]

    stats = _response_stats(village, people["stakeholder_id"], as_of, window_days, lead_days)
    if sentiment is not None:
        if not {"stakeholder_id", "sentiment"} <= set(sentiment.columns):
            raise ValueError(f"sentiment has columns {list(sentiment.columns)}; expected at least stakeholder_id, sentiment "
                             "(e.g. cxinfluence.sentiment.schemes.stakeholder_sentiment)")
        given = sentiment.drop_duplicates("stakeholder_id").set_index("stakeholder_id")
        stats = stats.reindex(stats.index.union(given.index))
        for col in ("sentiment", "n_responses", "last_heard"):
            if col in given.columns:
                stats[col] = given[col].reindex(stats.index)

    table = people.set_index("stakeholder_id", drop=False)
    stats = stats.reindex(table.index)
    influence_value = np.where(table["active"], infl.reindex(table.index).to_numpy(), 0.0)
    attrs = pd.DataFrame({
        "account_id": table["account_id"],
        "name": table["name"] if "name" in table.columns else None,
        "title": table["title"] if "title" in table.columns else None,
        "role": table["role"],
        "department": table["department"] if "department" in table.columns else None,
        "veto": table["veto"].astype(bool),
        "active": table["active"].astype(bool),
        "active_to": table["active_to"] if "active_to" in table.columns else None,
        "influence": influence_value,
        "sentiment": stats["sentiment"],
        "n_responses": stats["n_responses"].fillna(0).astype(int),
        "last_heard": stats["last_heard"],
        **{item: stats[item] for item in _LATEST_ITEMS},
        "latest_comment": stats["latest_comment"],
    }, index=table.index)

    edges = _edge_table(village.relationships, people, weight)
    node_groups = dict(tuple(attrs.groupby("account_id", sort=False))) if len(account_ids) > 1 else {account_ids[0]: attrs}
    edge_groups = dict(tuple(edges.groupby("account_id", sort=False)))
    graphs = {}
    for acc in account_ids:
        G = nx.DiGraph(account_id=acc, as_of=None if as_of is None else to_timestamp(as_of).date().isoformat(),
                       departed=departed)
        rows = node_groups.get(acc, attrs.iloc[:0])
        for sid, row in zip(rows.index, rows.itertuples(index=False)):
            G.add_node(sid, **{k: _plain(v) for k, v in zip(NODE_ATTRIBUTES, row)})
        if acc in edge_groups:
            _add_edges(G, edge_groups[acc])
        graphs[acc] = G
    return graphs


def account_graph(village, account_id, as_of=None, *, departed="exclude", influence=None, sentiment=None,
                  window_days=365, lead_days=0, weight="weight"):
    """The buying-center graph of one account as of a date.

    Parameters
    ----------
    village : Village
    account_id : str
    as_of : date-like, optional
        People active at this date (omitted: the day after the latest response,
        :func:`cxinfluence.village.asof.default_as_of`); feedback dated before it (see :mod:`cxinfluence.village.asof`).
    departed : {"exclude", "mark"}
        Drop people who left before ``as_of``, or keep them with
        ``active=False`` (and influence 0.0) together with their ties.
    influence : DataFrame, optional
        ``stakeholder_id, influence`` (e.g. from
        :func:`cxinfluence.network.influence.influence_weights`); computed for this
        account when omitted.
    sentiment : DataFrame, optional
        ``stakeholder_id, sentiment`` (optionally ``n_responses``,
        ``last_heard``) overriding the values computed from the responses.
    window_days, lead_days : int
        Look-back window for sentiment, response counts and latest scores
        (``window_days=None``: unlimited).
    weight : str
        Column of ``relationships`` with the tie strength (blank = 1).

    Returns
    -------
    networkx.DiGraph
        Nodes and edges as described in the module docstring; ``G.graph``
        holds ``account_id``, ``as_of`` and ``departed``.

    Raises
    ------
    GraphError
        When ``account_id`` is not in the village.

    Examples
    --------
    >>> from cxinfluence.village.core import Village
    >>> s = pd.DataFrame({"stakeholder_id": ["op", "pm"], "account_id": ["A", "A"],
    ...                   "role": ["user", "decider"], "veto": [False, True]})
    >>> r = pd.DataFrame({"source_id": ["op"], "target_id": ["pm"], "kind": ["reports_to"]})
    >>> resp = pd.DataFrame({"stakeholder_id": ["pm"], "date": pd.to_datetime(["2024-03-01"]), "nps": [9.0]})
    >>> G = account_graph(Village(pd.DataFrame({"account_id": ["A"]}), s, r, resp, pd.DataFrame()), "A", "2024-06-30")
    >>> G.edges["op", "pm"]["kind"], G.nodes["pm"]["nps"], G.nodes["pm"]["last_heard"], G.nodes["op"]["sentiment"]
    ('reports_to', 9.0, '2024-03-01', None)
    >>> round(G.nodes["pm"]["influence"], 3)  # (0.5 * PageRank 0.649 + 0.3 * role prior 0.75) / 0.8, no ratings
    0.687
    """
    listed = village.accounts is not None and "account_id" in village.accounts.columns
    if not ((listed and village.accounts["account_id"].eq(account_id).any())
            or village.stakeholders["account_id"].eq(account_id).any()):
        known = set(village.stakeholders["account_id"].dropna())
        if listed:
            known |= set(village.accounts["account_id"].dropna())
        raise GraphError(f"account_id={account_id!r} is not in the village; expected one of its accounts, "
                         f"e.g. {sorted(map(str, known))[:3]}")
    return account_graphs(village, [account_id], as_of, departed=departed, influence=influence, sentiment=sentiment,
                          window_days=window_days, lead_days=lead_days, weight=weight)[account_id]
