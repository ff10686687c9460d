"""Structural measures of buying centers: per stakeholder and per account.

Per stakeholder (:func:`stakeholder_structure`): degrees in the tie graph,
reporting and influence counts, betweenness (brokers who sit on the shortest
paths between others) and hierarchy level. Per account
(:func:`account_structure`): the buying-center dimensions of Johnston & Bonoma
(1981) -- extensivity (size), lateral involvement (departments), vertical
involvement (levels of the hierarchy), connectedness (density) and centrality
(of the buyer) -- plus components, isolates and veto holders.

Which graph
-----------
Degrees, density and components use the ties as recorded (``u -> v`` for
``u reports_to v`` and for ``u influences v``, one edge per ordered pair, as
in :func:`cxinfluence.graph.account_graph`). Betweenness uses the endorsement
graph PageRank runs on (:func:`cxinfluence.graph.endorsement_graph`:
``influences`` ties reversed), unweighted, normalised like
``networkx.betweenness_centrality`` (divided by ``(n-1)(n-2)`` for n > 2).

Hierarchy level: 0 for someone who has reports but no manager (the top of a
``reports_to`` chain), otherwise one more than their manager's level, taking
the longest chain when a person has several managers (as an org chart would).
People with no ``reports_to`` tie at all have an unknown level (NaN), as do
people caught in a reporting cycle.

Both functions work on the whole portfolio at once: degrees, levels and
components are vectorised over all ties, and betweenness is computed for many
accounts at a time from batched shortest-path counts (accounts larger than
:data:`DENSE_MAX` fall back to networkx, one account at a time).

References
----------
Johnston, W. J. & Bonoma, T. V. (1981). The buying center: structure and
interaction patterns. *Journal of Marketing*, 45(3), 143-156.

Freeman, L. C. (1977). A set of measures of centrality based on betweenness.
*Sociometry*, 40(1), 35-41.

Brandes, U. (2001). A faster algorithm for betweenness centrality. *Journal of
Mathematical Sociology*, 25(2), 163-177.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .influence import _account_blocks, _positions, active_stakeholders

#: Accounts up to this size get batched dense betweenness; larger ones use networkx.
DENSE_MAX = 64
_BATCH_CELLS = 4_000_000  # accounts x n x n cells per dense batch


def _portfolio_ties(village, as_of):
    """Active people sorted by account, and their ties as positions (data direction)."""
    people = active_stakeholders(village, as_of)
    order, block = _account_blocks(people["account_id"])
    people = people.reset_index(drop=True) if order is None else people.iloc[order].reset_index(drop=True)
    rel = village.relationships
    n = len(people)
    if rel is None or len(rel) == 0 or n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return people, block, empty, empty, np.zeros(0, dtype=bool)
    s, t = _positions(rel["source_id"], people["stakeholder_id"], rel["target_id"])
    is_rep = np.asarray((rel["kind"] == "reports_to").fillna(False), dtype=bool)
    keep = (s >= 0) & (t >= 0) & (s != t)
    keep[keep] = block[s[keep]] == block[t[keep]]
    return people, block, s[keep], t[keep], is_rep[keep]


def _unique_pairs(u, v, n):
    key = np.unique(u.astype(np.int64) * n + v)
    return key // n, key % n


def _hierarchy_level(block, sizes, src, dst, is_rep, n):
    """Longest reports_to chain up to a top manager; NaN without ties or in a cycle."""
    u, v = _unique_pairs(src[is_rep], dst[is_rep], max(n, 1))
    level = np.zeros(n)
    in_tree = np.zeros(n, dtype=bool)
    in_tree[u] = True
    in_tree[v] = True
    # relax level[u] = max(level[u], level[v] + 1); a DAG settles within max size steps
    max_size = int(sizes.max()) if len(sizes) else 0
    for _ in range(max_size + 1):
        candidate = level.copy()
        np.maximum.at(candidate, u, level[v] + 1)
        if np.array_equal(candidate, level):
            break
        level = candidate
    cyclic = level >= sizes[block]  # only a cycle can push a level past n - 1
    # everyone below a cycle inherits an impossible level too
    return np.where(in_tree & ~cyclic, level, np.nan)


def _dense_betweenness(adj, sizes):
    """Betweenness of a batch of padded graphs: adj [B, n, n] (0/1), sizes [B].

    Brandes (2001) on dense matrices: a breadth-first pass counts shortest
    paths ``sigma[s, t]`` level by level, then dependencies are accumulated
    from the farthest level back, ``delta[s, v] = sum over w one step beyond
    v of sigma[s, v] / sigma[s, w] * (1 + delta[s, w])``; each level is one
    batched matrix product, so a graph costs O(n^3 * depth), not O(n^4).
    """
    B, n, _ = adj.shape
    reached = np.broadcast_to(np.eye(n, dtype=bool), (B, n, n)).copy()
    dist = np.where(reached, 0.0, np.inf)
    sigma = reached.astype(float)
    frontier = sigma.copy()
    depth = 0
    for k in range(1, n):
        # shortest paths to newly reached targets only pass through the frontier
        step = np.matmul(frontier, adj)
        new = (step > 0) & ~reached
        if not new.any():
            break
        frontier = np.where(new, step, 0.0)
        sigma = np.where(new, step, sigma)
        dist = np.where(new, float(k), dist)
        reached |= new
        depth = k
    safe_sigma = np.where(sigma > 0, sigma, 1.0)
    delta = np.zeros((B, n, n))
    adj_t = adj.transpose(0, 2, 1)
    for k in range(depth, 1, -1):  # level 1 passes nothing on: its predecessor is the source
        share = np.where(dist == k, (1.0 + delta) / safe_sigma, 0.0)
        delta += np.where(dist == k - 1, sigma * np.matmul(share, adj_t), 0.0)
    bc = delta.sum(axis=1)  # delta[s, s] stays 0: the source is never between
    scale = np.where(sizes > 2, 1.0 / np.maximum((sizes - 1) * (sizes - 2), 1), 1.0)
    return bc * scale[:, None]


def portfolio_betweenness(block, src, dst):
    """Normalised directed betweenness of every node, account by account.

    Parameters
    ----------
    block : ndarray of int
        Sorted account code of each node (nodes of an account contiguous).
    src, dst : ndarray of int
        Edges as node positions (unweighted; duplicates ignored).

    Returns
    -------
    ndarray of float
        Equal to ``networkx.betweenness_centrality(G)`` of each account's
        DiGraph (``normalized=True``, no weights).

    Examples
    --------
    >>> portfolio_betweenness(np.array([0, 0, 0, 1]), np.array([0, 1]), np.array([1, 2])).tolist()
    [0.0, 0.5, 0.0, 0.0]
    """
    import networkx as nx

    block = np.asarray(block)
    n_nodes = len(block)
    out = np.zeros(n_nodes)
    if n_nodes == 0:
        return out
    starts = np.flatnonzero(np.r_[True, block[1:] != block[:-1]])
    sizes = np.diff(np.r_[starts, n_nodes])
    account = np.repeat(np.arange(len(starts)), sizes)
    u, v = _unique_pairs(np.asarray(src), np.asarray(dst), n_nodes)
    local_u, local_v = u - starts[account[u]], v - starts[account[v]]
    edge_acc = account[u]
    # size buckets (pad to the bucket's largest size: isolated padding changes nothing)
    bounds = [2, 4, 8, 12, 16, 20, 24, 28, 32, 40, 48, 56, DENSE_MAX]
    bucket = np.searchsorted(bounds, sizes)
    edge_order = np.argsort(edge_acc, kind="stable")
    edge_start = np.searchsorted(edge_acc[edge_order], np.arange(len(starts)))
    edge_end = np.searchsorted(edge_acc[edge_order], np.arange(len(starts)), side="right")
    for b in np.unique(bucket):
        accounts = np.flatnonzero(bucket == b)
        if b >= len(bounds):  # large accounts: networkx, one by one
            for a in accounts:
                es = edge_order[edge_start[a]:edge_end[a]]
                G = nx.DiGraph()
                G.add_nodes_from(range(sizes[a]))
                G.add_edges_from(zip(local_u[es].tolist(), local_v[es].tolist()))
                bc = nx.betweenness_centrality(G)
                out[starts[a]:starts[a] + sizes[a]] = [bc[i] for i in range(sizes[a])]
            continue
        width = bounds[b]
        if width < 3:
            continue  # nobody can lie between two others
        per_batch = max(1, _BATCH_CELLS // (width * width))
        for lo in range(0, len(accounts), per_batch):
            chunk = accounts[lo:lo + per_batch]
            adj = np.zeros((len(chunk), width, width))
            pos = np.full(len(starts), -1)
            pos[chunk] = np.arange(len(chunk))
            mask = pos[edge_acc] >= 0
            adj[pos[edge_acc[mask]], local_u[mask], local_v[mask]] = 1.0
            bc = _dense_betweenness(adj, sizes[chunk])
            cols = np.arange(width)
            valid = cols[None, :] < sizes[chunk][:, None]
            node = starts[chunk][:, None] + cols[None, :]
            out[node[valid]] = bc[valid]
    return out


def stakeholder_structure(village, as_of=None) -> pd.DataFrame:
    """Structural position of every active stakeholder.

    Parameters
    ----------
    village : Village
    as_of : date-like, optional
        People active at this date (``None``: ``active_to`` blank) and the
        ties among them.

    Returns
    -------
    DataFrame
        ``account_id, stakeholder_id, role, department, in_degree,
        out_degree, n_reports, n_managers, n_influences, n_influenced_by,
        betweenness, hierarchy_level`` (see the module docstring), grouped by
        account.

    Examples
    --------
    >>> from cxinfluence.village import Village
    >>> s = pd.DataFrame({"stakeholder_id": ["pm", "sup", "op", "eng"], "account_id": ["A"] * 4,
    ...                   "role": ["decider", "user", "user", "influencer"], "veto": [True, False, False, False]})
    >>> r = pd.DataFrame({"source_id": ["sup", "op", "eng"], "target_id": ["pm", "sup", "pm"],
    ...                   "kind": ["reports_to", "reports_to", "influences"]})
    >>> v = Village(pd.DataFrame({"account_id": ["A"]}), s, r, pd.DataFrame(), pd.DataFrame())
    >>> # endorsement chain op -> sup -> pm -> eng: sup and pm each broker 2 of 6 ordered pairs
    >>> stakeholder_structure(v)[["stakeholder_id", "in_degree", "out_degree", "betweenness", "hierarchy_level"]]
      stakeholder_id  in_degree  out_degree  betweenness  hierarchy_level
    0             pm          2           0     0.333333              0.0
    1            sup          1           1     0.333333              1.0
    2             op          0           1     0.000000              2.0
    3            eng          0           1     0.000000              NaN
    """
    people, block, src, dst, is_rep = _portfolio_ties(village, as_of)
    n = len(people)
    sizes = np.bincount(block) if n else np.zeros(0, dtype=int)
    out = pd.DataFrame({"account_id": people["account_id"].to_numpy(), "stakeholder_id": people["stakeholder_id"].to_numpy()})
    for col in ("role", "department"):
        out[col] = people[col].to_numpy() if col in people.columns else np.nan
    u, v = _unique_pairs(src, dst, max(n, 1))
    out["in_degree"] = np.bincount(v, minlength=n)
    out["out_degree"] = np.bincount(u, minlength=n)
    ru, rv = _unique_pairs(src[is_rep], dst[is_rep], max(n, 1))
    iu, iv = _unique_pairs(src[~is_rep], dst[~is_rep], max(n, 1))
    out["n_reports"] = np.bincount(rv, minlength=n)
    out["n_managers"] = np.bincount(ru, minlength=n)
    out["n_influences"] = np.bincount(iu, minlength=n)
    out["n_influenced_by"] = np.bincount(iv, minlength=n)
    # endorsement direction for brokerage: influences reversed
    e_src = np.where(is_rep, src, dst)
    e_dst = np.where(is_rep, dst, src)
    out["betweenness"] = portfolio_betweenness(block, e_src, e_dst)
    out["hierarchy_level"] = _hierarchy_level(block, sizes, src, dst, is_rep, n)
    return out


def account_structure(village, as_of=None, *, stakeholders=None) -> pd.DataFrame:
    """Buying-center dimensions of every account (Johnston & Bonoma 1981).

    Parameters
    ----------
    village : Village
    as_of : date-like, optional
        As in :func:`stakeholder_structure`.
    stakeholders : DataFrame, optional
        Output of :func:`stakeholder_structure` for the same ``as_of`` (saves
        recomputing it).

    Returns
    -------
    DataFrame
        One row per account with an active stakeholder: ``account_id, size``
        (extensivity), ``n_departments`` (lateral involvement),
        ``departments`` (sorted, ``;``-separated), ``vertical_levels``
        (vertical involvement: distinct hierarchy levels present),
        ``n_ties`` (ordered pairs tied), ``density`` (connectedness:
        ``n_ties / (size (size - 1))``, NaN for one person),
        ``buyer_centrality`` (centrality: highest degree centrality
        ``(in + out) / (2 (size - 1))`` among buyers, NaN without a buyer),
        ``max_betweenness``, ``n_components`` (weakly connected pieces),
        ``n_isolates``, ``n_roles``, ``n_veto``.

    Examples
    --------
    >>> from cxinfluence.village import Village
    >>> s = pd.DataFrame({"stakeholder_id": ["pm", "buy", "op", "qa"], "account_id": ["A"] * 4,
    ...                   "role": ["decider", "buyer", "user", "gatekeeper"], "veto": [True, False, False, True],
    ...                   "department": ["operations", "procurement", "operations", "quality"]})
    >>> r = pd.DataFrame({"source_id": ["buy", "op"], "target_id": ["pm", "pm"], "kind": ["reports_to"] * 2})
    >>> v = Village(pd.DataFrame({"account_id": ["A"]}), s, r, pd.DataFrame(), pd.DataFrame())
    >>> account_structure(v).iloc[0].to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'account_id': 'A', 'size': 4, 'n_departments': 3, 'departments': 'operations;procurement;quality',
     'vertical_levels': 2, 'n_ties': 2, 'density': 0.1666..., 'buyer_centrality': 0.1666...,
     'max_betweenness': 0.0, 'n_components': 2, 'n_isolates': 1, 'n_roles': 4, 'n_veto': 2}
    """
    from scipy.sparse import csr_array
    from scipy.sparse.csgraph import connected_components

    per = stakeholder_structure(village, as_of) if stakeholders is None else stakeholders
    people, _, src, dst, _ = _portfolio_ties(village, as_of)
    n = len(per)
    groups = per.groupby("account_id", sort=False)
    out = pd.DataFrame({"account_id": groups.size().index.to_numpy()})
    size = groups.size().to_numpy()
    out["size"] = size
    if "department" in per.columns:
        dept = per["department"].astype("string").str.strip().str.lower()
        pairs = pd.DataFrame({"account_id": per["account_id"].to_numpy(), "d": dept.astype(object).to_numpy()})
        pairs = pairs.dropna().drop_duplicates().sort_values(["account_id", "d"], kind="stable")
        joined = pairs.groupby("account_id", sort=False)["d"].agg(";".join)
        out["n_departments"] = pairs.groupby("account_id", sort=False).size().reindex(out["account_id"]).fillna(0).astype(int).to_numpy()
        out["departments"] = joined.reindex(out["account_id"]).fillna("").to_numpy()
    else:
        out["n_departments"] = 0
        out["departments"] = ""
    out["vertical_levels"] = groups["hierarchy_level"].nunique().to_numpy()
    n_ties = groups[["out_degree"]].sum()["out_degree"].to_numpy()
    out["n_ties"] = n_ties
    out["density"] = np.where(size > 1, n_ties / np.maximum(size * (size - 1), 1), np.nan)
    degree_c = (per["in_degree"] + per["out_degree"]) / (2.0 * (per.groupby("account_id", sort=False)["stakeholder_id"]
                                                             .transform("size") - 1)).replace(0, np.nan)
    buyer = per["role"].eq("buyer") if "role" in per.columns else pd.Series(False, index=per.index)
    out["buyer_centrality"] = degree_c.where(buyer).groupby(per["account_id"], sort=False).max().reindex(out["account_id"]).to_numpy()
    out["max_betweenness"] = groups["betweenness"].max().to_numpy()
    if n:
        # weakly connected pieces of the whole portfolio, counted per account
        graph = csr_array((np.ones(len(src)), (src, dst)), shape=(len(people), len(people)))
        _, labels = connected_components(graph, directed=True, connection="weak")
        comp = pd.Series(labels).groupby(people["account_id"].to_numpy(), sort=False).nunique()
        out["n_components"] = comp.reindex(out["account_id"]).to_numpy()
    else:
        out["n_components"] = np.zeros(0, dtype=int)
    isolated = (per["in_degree"] + per["out_degree"]) == 0
    out["n_isolates"] = isolated.groupby(per["account_id"], sort=False).sum().reindex(out["account_id"]).to_numpy()
    out["n_roles"] = groups["role"].nunique().to_numpy() if "role" in per.columns else 0
    veto = people.set_index("stakeholder_id")["veto"].reindex(per["stakeholder_id"]).fillna(False).astype(bool)
    out["n_veto"] = veto.groupby(per["account_id"].to_numpy(), sort=False).sum().reindex(out["account_id"]).to_numpy()
    return out
