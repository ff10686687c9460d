"""Cut vertices (articulation points) of many small graphs at once, and the readable reference.

A person is a cut vertex of their account's undirected tie graph when removing them splits it
into more connected pieces (Hopcroft & Tarjan 1973, as :func:`networkx.articulation_points`
defines it): the listening loses its only path to someone if they leave. The portfolio is the
disjoint union of its accounts' graphs, so the cut vertices of the union are every account's.

:func:`articulation_points_blocks` is Hopcroft and Tarjan's depth-first criterion without a Python
loop over people or accounts. One depth-first search (:func:`scipy.sparse.csgraph.depth_first_order`)
visits every connected piece: a chain of helper nodes, each joined to the next and to one node of
a piece, enters each piece only through that node, its root. In the depth-first tree, a root cuts
when it has two or more children; another person ``v`` cuts when some child's subtree reaches no
one discovered before ``v`` (``low[c] >= disc[v]``). ``low`` (the earliest discovery any edge from a
subtree reaches) is passed up the tree level by level, deepest first. The work is about linear in
the ties plus the levels of the deepest tree (scipy's search scans a person's ties again each time
it comes back to them, so one person with ``d`` ties costs up to ``d**2`` steps: a star of 80,000
takes 1.6 s, a buying center of a few hundred nothing); the rounds of earlier versions removed each
account's candidates one at a time (1.5 s at 100,000 accounts against 0.6 s, cProfile).
:func:`articulation_points_reference` is the networkx call on the union graph it is tested equal to.

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
        Each node's block (account), 0 .. k-1. Edges join nodes of one block (the cut vertices of the
        union graph are each block's, so only the number of nodes is read).
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
    from scipy.sparse.csgraph import connected_components, depth_first_order

    n = len(block)
    cut = np.zeros(n, dtype=bool)
    u, v = _simple_edges(src, dst, n) if n and len(src) else (np.zeros(0, np.int64),) * 2
    if len(u) == 0:
        return cut
    a, b = np.r_[u, v], np.r_[v, u]  # each tie both ways
    ones = np.ones(len(a), dtype=np.int8)
    _, piece = connected_components(csr_array((ones, (a, b)), shape=(n, n)), directed=False)
    tied = np.flatnonzero(np.bincount(a, minlength=n) > 0)
    first = np.full(n, n, dtype=np.int64)
    np.minimum.at(first, piece[tied], tied)
    roots = first[first < n]  # each piece with a tie: its first node
    chain = n + np.arange(len(roots))  # helper nodes: chain[i] - chain[i + 1], chain[i] - roots[i]
    ea = np.r_[a, chain, roots, chain[:-1], chain[1:]]
    eb = np.r_[b, roots, chain, chain[1:], chain[:-1]]
    size = n + len(roots)
    graph = csr_array((np.ones(len(ea), dtype=np.int8), (ea, eb)), shape=(size, size))
    order, parent = depth_first_order(graph, n, directed=True, return_predecessors=True)  # both ways: undirected
    disc = np.full(size, -1, dtype=np.int64)
    disc[order] = np.arange(len(order))
    parent = parent[:n].astype(np.int64)
    # the earliest discovery each person's own ties reach, the tie to their parent left out
    low = disc[:n].copy()
    other = b != parent[a]
    np.minimum.at(low, a[other], disc[b[other]])
    # passed up the tree from the deepest level: low[v] = min(low[v], low of v's children)
    child = tied[parent[tied] < n]  # every tied person but the roots (whose parent is a helper node)
    depth = _depths(parent, child, n)
    by_depth = np.argsort(-depth[child], kind="stable")
    levels = child[by_depth]
    bounds = np.flatnonzero(np.diff(depth[levels])) + 1
    for nodes in np.split(levels, bounds):
        np.minimum.at(low, parent[nodes], low[nodes])
    # a non-root cuts when a child's subtree reaches no one discovered before it; a root (for whose children that
    # always holds), when it has two children
    p = parent[child]
    cut[p[low[child] >= disc[p]]] = True
    cut[roots] = np.bincount(p, minlength=n)[roots] >= 2
    return cut


def _depths(parent, child, n):
    """Each node's depth below its root (roots and untied nodes 0): ``parent`` doubled up until every chain of
    ancestors is counted (list ranking: a few passes however deep the trees)."""
    up = np.arange(n, dtype=np.int64)
    up[child] = parent[child]
    depth = np.zeros(n, dtype=np.int64)
    depth[child] = 1
    while True:
        moving = np.flatnonzero(up != up[up])
        if not len(moving):
            return depth
        depth[moving] += depth[up[moving]]
        up[moving] = up[up[moving]]


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
