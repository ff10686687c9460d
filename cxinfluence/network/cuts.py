"""Cut vertices (articulation points) of many small graphs at once, and the readable reference.

A person is a cut vertex of their account's undirected tie graph when removing them splits it
into more connected pieces (Hopcroft & Tarjan 1973, as :func:`networkx.articulation_points`
defines it): the listening loses its only path to someone if they leave. The portfolio is the
disjoint union of its accounts' graphs, so the cut vertices of the union are every account's.

:func:`articulation_points_blocks` finds them without a Python loop over people or accounts. Only
someone with two or more neighbours can be a cut vertex (removing a leaf never splits a graph).
In round ``r`` every account removes its ``r``-th such candidate at the same time; one
:func:`scipy.sparse.csgraph.connected_components` call on the union of the accounts that still
have an ``r``-th candidate counts each account's pieces, and the candidate is a cut vertex when
its account has more pieces without it than with it. Accounts are ordered by their number of
candidates, so each round's graph is a prefix of the one before: the work is about the sum over
accounts of (candidates x size), not rounds x portfolio. :func:`articulation_points_reference` is
the networkx call on the union graph it is tested equal to.

References
----------
Hopcroft, J. & Tarjan, R. (1973). Algorithm 447: efficient algorithms for graph manipulation.
*Communications of the ACM*, 16(6), 372-378.
"""

from __future__ import annotations

import numpy as np


def _simple_edges(src, dst, n):
    """Each undirected pair once, self-ties dropped: ``(u, v)`` with ``u < v``."""
    src, dst = np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64)
    keep = src != dst
    u, v = np.minimum(src[keep], dst[keep]), np.maximum(src[keep], dst[keep])
    pair = np.sort(u * n + v)  # a sort, not np.unique: numpy's hashed unique is slower on millions of pairs
    pair = pair[np.r_[True, pair[1:] != pair[:-1]]] if len(pair) else pair
    return pair // n, pair % n


def articulation_points_blocks(block, src, dst) -> np.ndarray:
    """Whether each node is a cut vertex of its block's undirected graph (bool per node).

    Parameters
    ----------
    block : array of int
        Each node's block (account), 0 .. k-1. Edges join nodes of one block.
    src, dst : arrays of int
        Edges as node positions; direction, repeats and self-ties do not matter.

    Returns
    -------
    ndarray of bool
        ``True`` for the nodes :func:`networkx.articulation_points` returns on the union graph.

    Examples
    --------
    A path a - b - c and a triangle: only b cuts.

    >>> articulation_points_blocks([0, 0, 0, 1, 1, 1], [0, 1, 3, 4, 5], [1, 2, 4, 5, 3]).tolist()
    [False, True, False, False, False, False]
    """
    from scipy.sparse import csr_array
    from scipy.sparse.csgraph import connected_components

    block = np.asarray(block, dtype=np.int64)
    n = len(block)
    cut = np.zeros(n, dtype=bool)
    if n == 0 or len(src) == 0:
        return cut
    u, v = _simple_edges(src, dst, n)
    degree = np.bincount(u, minlength=n) + np.bincount(v, minlength=n)
    k = int(block.max()) + 1
    candidate = degree >= 2
    n_cand = np.bincount(block[candidate], minlength=k)
    # accounts with more candidates first: the accounts of round r are a prefix of round r - 1's
    rank = np.empty(k, dtype=np.int64)
    rank[np.argsort(-n_cand, kind="stable")] = np.arange(k)
    node_order = np.lexsort((np.arange(n), rank[block]))  # nodes by account rank, then as given
    new = np.empty(n, dtype=np.int64)
    new[node_order] = np.arange(n)
    nb, nu, nv = rank[block[node_order]], new[u], new[v]
    edge_order = np.argsort(nu, kind="stable")  # by first end: rows of a CSR matrix, and by account rank
    nu, nv = nu[edge_order], nv[edge_order]
    in_graph = (degree > 0)[node_order]
    is_cand = candidate[node_order]
    # each candidate's place among its account's candidates: round r removes place r
    cand_nodes = np.flatnonzero(is_cand)
    heads = np.searchsorted(nb[cand_nodes], np.arange(k))
    place = np.arange(len(cand_nodes)) - heads[nb[cand_nodes]]
    sorted_counts = np.sort(n_cand)[::-1]
    node_end = np.searchsorted(nb, np.arange(1, k + 1))  # nodes of accounts ranked < m: node_end[m - 1]
    edge_end = np.searchsorted(nb[nu], np.arange(1, k + 1))

    def pieces(m, removed):
        """Connected pieces of each of the first ``m`` accounts without the ``removed`` nodes."""
        n_m, e_m = int(node_end[m - 1]), int(edge_end[m - 1])
        gone = np.zeros(n_m, dtype=bool)
        gone[removed] = True
        a, b = nu[:e_m], nv[:e_m]
        keep = ~(gone[a] | gone[b])
        b = b[keep]
        indptr = np.r_[0, np.cumsum(np.bincount(a[keep], minlength=n_m))]  # edges are sorted by a
        graph = csr_array((np.ones(len(b), dtype=np.int8), b, indptr), shape=(n_m, n_m))
        _, labels = connected_components(graph, directed=False)
        counted = np.flatnonzero(in_graph[:n_m] & ~gone)
        account_of_piece = np.full(int(labels.max()) + 1, -1, dtype=np.int64)
        account_of_piece[labels[counted]] = nb[counted]  # a piece lies in one account
        return np.bincount(account_of_piece[account_of_piece >= 0], minlength=m)

    base = pieces(k, np.zeros(0, dtype=np.int64))
    for r in range(int(sorted_counts[0]) if k else 0):
        m = int((sorted_counts > r).sum())  # the accounts with an r-th candidate
        removed = cand_nodes[(place == r) & (nb[cand_nodes] < m)]
        after = pieces(m, removed)
        cut[node_order[removed]] = after[nb[removed]] > base[nb[removed]]
    return cut


def articulation_points_reference(block, src, dst) -> np.ndarray:
    """:func:`articulation_points_blocks` by :func:`networkx.articulation_points` on the union graph.

    >>> articulation_points_reference([0, 0, 0], [0, 1], [1, 2]).tolist()
    [False, True, False]
    """
    import networkx as nx

    graph = nx.Graph()
    graph.add_edges_from((a, b) for a, b in zip(np.asarray(src).tolist(), np.asarray(dst).tolist()) if a != b)
    cut = np.zeros(len(block), dtype=bool)
    cut[list(nx.articulation_points(graph))] = True
    return cut
