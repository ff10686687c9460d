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
in :func:`cxinfluence.network.graph.account_graph`). Betweenness uses the endorsement
graph PageRank runs on (:func:`cxinfluence.network.graph.endorsement_graph`:
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

from typing import NamedTuple

import numpy as np
import pandas as pd

from ..village.ids import arrow_text, join_ids, native_text, ranges, rows_of, unique_text
from .edges import REPORTS_TO, _exact_kinds
from .influence import _account_blocks, _active_people, _active_rows, _listed_accounts, _positions

#: Accounts up to this size get batched betweenness; larger ones use networkx.
DENSE_MAX = 256
_BATCH_CELLS = 250_000  # nodes x sources per batch: 2 MB float64 state arrays stay in cache
# nodes x sources x largest size per batch: a search has fewer levels than people, so the
# levels kept for the backward pass stay under 128 MB even if every search runs that long
_LEVEL_CELLS = 16_000_000
_COMPACT_BELOW = 0.75  # drop finished accounts once the live ones hold less than this share of the rows


_PEOPLE_COLUMNS = ("stakeholder_id", "account_id", "role", "department", "veto")


def _portfolio_ties(village, as_of):
    """Active people (the columns used here) sorted by account, and their ties as
    positions (data direction)."""
    rows = _active_rows(village, as_of)
    people = _active_people(village, rows, _PEOPLE_COLUMNS)
    listed = _listed_accounts(village)  # integer account rows when every account is listed: no text compared
    order, block = _account_blocks(people["account_id"], None if listed is None else listed[rows])
    if order is not None:
        rows = rows[order]
    people = people.reset_index(drop=True) if order is None else people.iloc[order].reset_index(drop=True)
    rel = village.relationships
    n = len(people)
    if rel is None or len(rel) == 0 or n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return people, block, empty, empty, np.zeros(0, dtype=bool)
    s, t = _tie_positions(village, rows, people)
    is_rep = _reports_to(rel["kind"])
    keep = (s >= 0) & (t >= 0) & (s != t)
    keep[keep] = block[s[keep]] == block[t[keep]]
    return people, block, s[keep], t[keep], is_rep[keep]


def _reports_to(kind) -> np.ndarray:
    """Which ties are ``reports_to`` (spelled exactly; anything else is not): one Arrow
    hash lookup when the column is Arrow text spelled as :data:`~cxinfluence.network.edges.KINDS`."""
    codes = _exact_kinds(kind)
    if codes is not None:
        return codes == REPORTS_TO
    return np.asarray((kind == "reports_to").fillna(False), dtype=bool)


def _tie_positions(village, rows, people):
    """Position among ``people`` (the stakeholders rows ``rows``) of each tie's
    source and target, -1 for anyone else.

    With unique ids and no blank, the rows :func:`cxinfluence.village.ids.rows_of`
    matched once per village give them without hashing; otherwise the ids are
    looked up among the people."""
    rel = village.relationships
    ids = arrow_text(village.stakeholders["stakeholder_id"])
    if ids is None or ids.null_count or any(arrow_text(rel[c]) is None for c in ("source_id", "target_id")) \
            or not unique_text(ids):
        return _positions(rel["source_id"], people["stakeholder_id"], rel["target_id"])
    node_of = np.full(len(ids) + 1, -1, dtype=np.int64)  # the last slot answers row -1 (nobody)
    node_of[rows] = np.arange(len(rows))
    return tuple(node_of[rows_of(village, "relationships", end)] for end in ("source_id", "target_id"))


def _distinct_sorted(key):
    """Sorted distinct values (a sort: several times faster than :func:`numpy.unique`'s
    hash table on millions of integers, same result)."""
    key = np.sort(key)
    return key[np.r_[True, key[1:] != key[:-1]]] if len(key) else key


def _unique_pairs(u, v, n):
    """Distinct ``(u, v)`` pairs, sorted by ``u`` then ``v``."""
    key = _distinct_sorted(np.asarray(u, dtype=np.int64) * n + np.asarray(v, dtype=np.int64))
    return key // n, key % n


def _typed_pairs(src, dst, is_rep, n):
    """Distinct tied pairs overall, among ``reports_to`` ties and among the others
    (each as :func:`_unique_pairs` gives them), from one sort of all ties."""
    pair = np.asarray(src, dtype=np.int64) * n + np.asarray(dst, dtype=np.int64)
    key = _distinct_sorted(pair * 2 + np.asarray(is_rep, dtype=np.int64))  # the kind as lowest bit
    pair, rep = key // 2, key % 2 == 1
    both = pair[np.r_[True, pair[1:] != pair[:-1]]] if len(pair) else pair
    return tuple((p // n, p % n) for p in (both, pair[rep], pair[~rep]))


def _hierarchy_level(block, sizes, u, v, n):
    """Longest reports_to chain up to a top manager; NaN without ties or in a cycle
    (``u -> v``: the distinct reports_to pairs)."""
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


class _Stage(NamedTuple):
    """Rows still in play during a breadth-first pass: ``rows`` (positions in the
    batch), ``inner`` (their positions among the previous stage's rows; None for
    the first), ``acc`` (account of each row), ``forward``/``back`` (adjacency
    among them: ``[to, from]`` and ``[from, to]`` sparse matrices)."""

    rows: np.ndarray
    inner: np.ndarray | None
    acc: np.ndarray
    forward: object
    back: object


def _stage(rows, inner, acc, u, v):
    """A stage over ``rows`` with edges ``u -> v`` (distinct, sorted by ``u`` then ``v``)."""
    from scipy.sparse import csr_array

    n = len(rows)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(u, minlength=n), out=indptr[1:])
    back = csr_array((np.ones(len(u)), v, indptr), shape=(n, n))
    return _Stage(rows, inner, acc, back.T, back)  # the transpose is a view (csc): no copy


def _compact(stage, keep, u, v):
    """The stage restricted to the rows ``keep`` (whole accounts) and the edges among them."""
    inner = np.flatnonzero(keep)
    new_pos = np.cumsum(keep) - 1
    live = keep[u]  # an edge never leaves its account: both ends stay or go together
    u, v = new_pos[u[live]], new_pos[v[live]]
    return _stage(stage.rows[inner], inner, stage.acc[inner], u, v), u, v


def _bfs_levels(acc, local, u, v, width):
    """Shortest-path counts of a batch, level by level, for every source at once.

    State is node-major: entry ``[t, s]`` is about paths from the ``s``-th person
    of ``t``'s account to ``t`` (``s < size``; the other columns stay 0). Returns
    ``levels`` (``(sigma on level k, stage)`` for k = 0, 1, ...: shortest-path
    counts of the pairs at distance k, 0 elsewhere) and the ``stages``; accounts
    whose searches have all ended are dropped from later levels.
    """
    n = len(acc)
    stages = [_stage(np.arange(n), None, acc, u, v)]
    frontier = np.zeros((n, width))
    frontier[np.arange(n), local] = 1.0
    unreached = frontier == 0
    levels = [(frontier, 0)]
    while True:
        stage = stages[-1]
        step = stage.forward @ frontier
        new = step > 0
        new &= unreached
        live_rows = new.any(axis=1)
        if not live_rows.any():
            return levels, stages
        unreached ^= new
        step *= new  # paths to newly reached targets only: the next frontier
        frontier = step
        levels.append((frontier, len(stages) - 1))
        live = np.zeros(int(stage.acc.max()) + 1, dtype=bool)
        live[stage.acc[live_rows]] = True
        keep = live[stage.acc]
        if keep.sum() < _COMPACT_BELOW * len(keep):
            compacted, u, v = _compact(stage, keep, u, v)
            stages.append(compacted)
            frontier, unreached = frontier[keep], unreached[keep]


def _dependencies(levels, stages, n, width):
    """Brandes' accumulation from the farthest level back, summed over sources:
    ``delta[s, v] = sum over w one step beyond v of sigma[s, v] / sigma[s, w]
    * (1 + delta[s, w])``; returns ``sum over s of delta[s, v]`` per row."""
    bc = np.zeros(n)
    ones = np.ones(width)
    delta = None  # on level k, in level k's stage
    for k in range(len(levels) - 1, 1, -1):  # level 1 passes nothing on: its predecessor is the source
        sigma, s = levels[k]
        before, s_before = levels[k - 1]
        on_level = sigma > 0
        share = np.ones_like(sigma) if delta is None else delta + 1.0
        np.divide(share, sigma, out=share, where=on_level)
        share *= on_level
        delta = stages[s].back @ share
        if s_before != s:  # back to the rows of the earlier (larger) stage
            wider = np.zeros((len(before), width))
            wider[stages[s].inner] = delta
            delta = wider
        delta *= before
        bc[stages[s_before].rows] += delta @ ones
    return bc


def _batch_betweenness(sizes, u, v):
    """Normalised betweenness of a batch of accounts laid end to end (``sizes``),
    edges ``u -> v`` as positions in the batch (distinct, no self-ties)."""
    n = int(sizes.sum())
    first = np.cumsum(sizes) - sizes
    acc = np.repeat(np.arange(len(sizes)), sizes)
    local = np.arange(n) - first[acc]
    width = int(sizes.max())
    levels, stages = _bfs_levels(acc, local, u, v, width)
    size = sizes[acc]
    return _dependencies(levels, stages, n, width) * (1.0 / np.maximum((size - 1) * (size - 2), 1))


def _size_batches(sizes, accounts):
    """Accounts (sorted by size) cut into batches of at most ``_BATCH_CELLS``
    nodes x largest size and ``_LEVEL_CELLS`` nodes x largest size squared (at
    least one account each)."""
    accounts = accounts[np.argsort(sizes[accounts], kind="stable")]
    lo = 0
    while lo < len(accounts):
        rest = sizes[accounts[lo:]].astype(np.int64)
        cells = np.cumsum(rest) * rest  # sorted: the last account is the widest
        full = (cells > _BATCH_CELLS) | (cells * rest > _LEVEL_CELLS)
        hi = lo + max(1, int(np.searchsorted(full, True)))
        yield accounts[lo:hi]
        lo = hi


def _networkx_betweenness(n, u, v):
    import networkx as nx

    G = nx.DiGraph()
    G.add_nodes_from(range(n))
    G.add_edges_from(zip(u.tolist(), v.tolist()))
    bc = nx.betweenness_centrality(G)
    return [bc[i] for i in range(n)]


def portfolio_betweenness(block, src, dst):
    """Normalised directed betweenness of every node, account by account.

    Accounts of similar size are batched, and Brandes (2001) runs on each
    batch for every source at once: breadth-first levels counting shortest
    paths, then dependencies accumulated from the farthest level back; each
    level is one sparse product with the batch's (block-diagonal) adjacency,
    and accounts whose searches have ended drop out. Accounts larger than
    :data:`DENSE_MAX` use networkx, one at a time.

    Parameters
    ----------
    block : ndarray of int
        Sorted account code of each node (nodes of an account contiguous).
    src, dst : ndarray of int
        Edges as node positions (unweighted; duplicates and self-ties ignored).

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
    block = np.asarray(block)
    n_nodes = len(block)
    out = np.zeros(n_nodes)
    if n_nodes == 0:
        return out
    starts = np.flatnonzero(np.r_[True, block[1:] != block[:-1]])
    sizes = np.diff(np.r_[starts, n_nodes])
    src, dst = np.asarray(src), np.asarray(dst)
    u, v = _unique_pairs(src[src != dst], dst[src != dst], n_nodes)  # sorted by u: accounts contiguous
    edge_start = np.searchsorted(u, starts)
    edge_count = np.diff(np.r_[edge_start, len(u)])
    for a in np.flatnonzero(sizes > DENSE_MAX):
        es = slice(edge_start[a], edge_start[a] + edge_count[a])
        out[starts[a]:starts[a] + sizes[a]] = _networkx_betweenness(sizes[a], u[es] - starts[a], v[es] - starts[a])
    # nobody lies between two others in an account of one or two
    for batch in _size_batches(sizes, np.flatnonzero((sizes > 2) & (sizes <= DENSE_MAX))):
        nodes = ranges(starts[batch], sizes[batch])
        edges = ranges(edge_start[batch], edge_count[batch])
        shift = np.repeat(np.cumsum(sizes[batch]) - sizes[batch] - starts[batch], edge_count[batch])
        out[nodes] = _batch_betweenness(sizes[batch], u[edges] + shift, v[edges] + shift)
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
    >>> from cxinfluence.village.core import Village
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

    def text(col):  # as to_numpy() would give, without a round trip through objects for Arrow text
        return native_text(people[col], lambda x: x.to_numpy())

    out = pd.DataFrame({"account_id": text("account_id"), "stakeholder_id": text("stakeholder_id")})
    for col in ("role", "department"):
        out[col] = text(col) if col in people.columns else np.nan
    (u, v), (ru, rv), (iu, iv) = _typed_pairs(src, dst, is_rep, max(n, 1))
    out["in_degree"] = np.bincount(v, minlength=n)
    out["out_degree"] = np.bincount(u, minlength=n)
    out["n_reports"] = np.bincount(rv, minlength=n)
    out["n_managers"] = np.bincount(ru, minlength=n)
    out["n_influences"] = np.bincount(iu, minlength=n)
    out["n_influenced_by"] = np.bincount(iv, minlength=n)
    # endorsement direction for brokerage: influences reversed
    e_src = np.where(is_rep, src, dst)
    e_dst = np.where(is_rep, dst, src)
    out["betweenness"] = portfolio_betweenness(block, e_src, e_dst)
    out["hierarchy_level"] = _hierarchy_level(block, sizes, ru, rv, n)
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
    >>> from cxinfluence.village.core import Village
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
        # each account's distinct departments, sorted and joined in one pass (no Python call per account)
        code = pd.factorize(per["account_id"])[0]  # numbered by first appearance, as the groups are
        pairs = pd.DataFrame({"c": code, "d": dept.astype(object).to_numpy()}).dropna().drop_duplicates()
        out["n_departments"] = np.bincount(pairs["c"].to_numpy(), minlength=len(out)).astype(int)
        out["departments"] = join_ids(pairs["c"].to_numpy(), pairs["d"].to_numpy(), len(out))
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
