"""PageRank of many small graphs at once, and the readable reference it is tested against.

Every account's buying center is a small graph; the portfolio is their
block-diagonal union. :func:`pagerank_arrays` runs the power iteration on all
blocks at once (sparse matrix-vector products over cache-sized chunks of whole
accounts, converged accounts dropped as they finish), with networkx's
definitions: damping ``alpha``, dangling nodes' rank spread uniformly within
their block, teleport uniform within the block, and block *a* stopping at the
first iteration whose L1 change is below ``n_a * tol``.

:func:`pagerank_reference` is the same computation written plainly, one block
at a time, as networkx keeps ``_pagerank_python`` beside its scipy path; the
tests hold the two equal on small hand-drawn and fuzzed portfolios.
"""

from __future__ import annotations

import os

import numpy as np

from ..exceptions import ConvergenceError, GraphError

# drop converged accounts from the power iteration once the live share of the
# working set falls below this (each drop costs about one iteration)
_COMPACT_AT = 0.7
# nodes per cache-sized chunk of accounts in the power iteration
_CHUNK_NODES = 65_536
# threads running chunks side by side (the target machine has 2 cores)
_THREADS = min(2, os.cpu_count() or 1)


# ----------------------------------------------------------------------------
# The kernel: PageRank of many small graphs at once
# ----------------------------------------------------------------------------

def _drop_blocks(P, keep):
    """Rows and columns of the block-diagonal CSR ``P`` for nodes where ``keep``
    (whole blocks only, so column positions just shift left)."""
    import scipy.sparse as sp

    rowlen = np.diff(P.indptr)
    entries = np.repeat(keep, rowlen)
    newpos = (np.cumsum(keep) - 1).astype(P.indices.dtype)
    indptr = np.zeros(int(keep.sum()) + 1, dtype=P.indptr.dtype)
    np.cumsum(rowlen[keep], out=indptr[1:])
    size = len(indptr) - 1
    return sp.csr_array((P.data[entries], newpos[P.indices[entries]], indptr), shape=(size, size))


def _power_iterate(P, sizes, dangling, alpha, max_iter, tol):
    """Power iteration on one block-diagonal system (see :func:`pagerank_arrays`).

    ``P`` already holds ``alpha * w_uv / out_weight_u`` at (v, u). Returns the
    converged vector and the iteration count of each block.
    """
    n_blocks = len(sizes)
    x_final = np.empty(int(sizes.sum()))
    iterations = np.zeros(n_blocks, dtype=np.int64)
    idx = np.arange(len(x_final))  # positions of the working set in x_final
    blocks = np.arange(n_blocks)
    sizes = sizes.astype(np.int64)
    block = np.repeat(np.arange(n_blocks), sizes)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    x = 1.0 / sizes[block]
    live = np.ones(n_blocks, dtype=bool)  # blocks of the working set still iterating
    n_live = len(x)
    d_idx = np.flatnonzero(dangling)
    d_block = block[d_idx]
    tmp = np.empty_like(x)
    for it in range(1, max_iter + 1):
        # teleport + dangling mass, both spread uniformly within the block
        c = (alpha * np.bincount(d_block, weights=x[d_idx], minlength=len(sizes)) + (1.0 - alpha)) / sizes
        x_new = P @ x
        x_new += np.repeat(c, sizes)
        np.subtract(x_new, x, out=tmp)
        np.abs(tmp, out=tmp)
        err = np.add.reduceat(tmp, starts)
        x = x_new
        newly = np.flatnonzero(live & (err < sizes * tol))
        if len(newly) == 0:
            continue
        # node positions of the newly converged blocks (contiguous ranges)
        lengths = sizes[newly]
        pos = np.repeat(starts[newly] - np.r_[0, np.cumsum(lengths)[:-1]], lengths) + np.arange(lengths.sum())
        x_final[idx[pos]] = x[pos]
        iterations[blocks[newly]] = it
        live[newly] = False
        n_live -= int(lengths.sum())
        if n_live == 0:
            return x_final, iterations
        if n_live < _COMPACT_AT * len(x):  # compact only when worth an O(nnz) pass
            keep = np.repeat(live, sizes)
            P = _drop_blocks(P, keep)
            idx, x, dangling = idx[keep], x[keep], dangling[keep]
            blocks, sizes = blocks[live], sizes[live]
            live = np.ones(len(sizes), dtype=bool)
            block = np.repeat(np.arange(len(sizes)), sizes)
            starts = np.r_[0, np.cumsum(sizes)[:-1]]
            d_idx = np.flatnonzero(dangling)
            d_block = block[d_idx]
            tmp = np.empty_like(x)
    raise ConvergenceError(
        f"PageRank did not converge within max_iter={max_iter} for at least {int(live.sum())} account(s) "
        f"(tol={tol}); raise max_iter or tol"
    )


def pagerank_arrays(group, src, dst, w, *, alpha=0.85, max_iter=100, tol=1.0e-6):
    """PageRank of a block-diagonal portfolio given as integer arrays.

    Parameters
    ----------
    group : ndarray of int, shape (n,)
        Block (account) of each node, **sorted** (nodes of a block contiguous).
    src, dst : ndarray of int
        Edge endpoints as node positions; rank flows ``src -> dst``. Both ends
        must be in the same block. Parallel edges are summed.
    w : ndarray of float
        Edge weights (> 0).
    alpha, max_iter, tol
        As in :func:`networkx.pagerank`; convergence is checked per block:
        block *a* stops at the first iteration whose L1 change is below
        ``n_a * tol``, and keeps the vector of that iteration.

    Returns
    -------
    x : ndarray of float, shape (n,)
    iterations : ndarray of int, one per block (in block order)

    Examples
    --------
    >>> x, it = pagerank_arrays(np.array([0, 0, 1]), np.array([0]), np.array([1]), np.array([1.0]))
    >>> np.round(x, 4).tolist(), it.tolist()
    ([0.3509, 0.6491, 1.0], [..., 1])
    """
    group = np.asarray(group)
    if len(group) == 0:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    if np.any(group[1:] < group[:-1]):
        raise GraphError("group must be sorted so that each block's nodes are contiguous; sort the nodes by account first")
    src, dst = np.asarray(src), np.asarray(dst)
    if len(src):
        block = np.searchsorted(np.flatnonzero(np.r_[True, group[1:] != group[:-1]]), np.arange(len(group)),
                                side="right") - 1
        if np.any(block[src] != block[dst]):
            raise GraphError("an edge joins two different accounts; ties must stay inside one account")
    return pagerank_blocks(group, src, dst, w, alpha=alpha, max_iter=max_iter, tol=tol)


def pagerank_blocks(group, src, dst, w, *, alpha=0.85, max_iter=100, tol=1.0e-6):
    """:func:`pagerank_arrays` for callers whose edges are known to stay inside their
    blocks and whose ``group`` is sorted (the influence stage builds them so): no checks."""
    import scipy.sparse as sp

    group = np.asarray(group)
    n = len(group)
    if n == 0:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    sizes = np.diff(np.r_[starts, n])
    src = np.asarray(src)
    dst = np.asarray(dst)
    w = np.asarray(w, dtype=float)
    out_w = np.bincount(src, weights=w, minlength=n)
    dangling = out_w == 0
    # column-stochastic transpose of networkx's row-normalised A, damping folded in
    index_type = np.int32 if n < 2**31 - 1 else np.int64
    P = sp.csr_array((alpha * w / out_w[src], (dst.astype(index_type, copy=False), src.astype(index_type, copy=False))),
                     shape=(n, n))
    P.sum_duplicates()
    # Iterate chunk by chunk of whole accounts: a chunk's vectors stay in the
    # CPU cache for all its iterations instead of streaming the whole
    # portfolio through memory on every one (same iterates, same result).
    x = np.empty(n)
    iterations = np.empty(len(sizes), dtype=np.int64)
    node_end = np.cumsum(sizes)
    cut = np.searchsorted(node_end, np.arange(_CHUNK_NODES, n, _CHUNK_NODES), side="left")
    bounds = np.unique(np.r_[0, cut + 1, len(sizes)]) if len(sizes) else np.array([0])
    bounds = bounds[bounds <= len(sizes)]
    def run(b0, b1):
        n0, n1 = int(starts[b0]), int(node_end[b1 - 1])
        e0, e1 = P.indptr[n0], P.indptr[n1]
        sub = sp.csr_array((P.data[e0:e1], P.indices[e0:e1] - n0, P.indptr[n0:n1 + 1] - e0), shape=(n1 - n0, n1 - n0))
        x[n0:n1], iterations[b0:b1] = _power_iterate(sub, sizes[b0:b1], dangling[n0:n1], alpha, max_iter, tol)

    pairs = list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))
    workers = min(_THREADS, len(pairs))
    if workers > 1:  # chunks are independent; numpy and scipy release the GIL in their loops
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda p: run(*p), pairs))
    else:
        for b0, b1 in pairs:
            run(b0, b1)
    return x, iterations




def pagerank_reference(group, src, dst, w, *, alpha=0.85, max_iter=100, tol=1.0e-6):
    """Readable PageRank of each block in turn: the definition :func:`pagerank_arrays` implements.

    Same parameters and results. For each block *a* of ``n`` nodes, starting from
    ``x = 1/n``, repeat ``x_v <- alpha * (sum over edges u->v of x_u w_uv / out_u
    + sum over dangling u of x_u / n) + (1 - alpha) / n`` until the L1 change is
    below ``n * tol``.

    >>> x, it = pagerank_reference(np.array([0, 0, 1]), np.array([0]), np.array([1]), np.array([1.0]))
    >>> np.round(x, 4).tolist()
    [0.3509, 0.6491, 1.0]
    """
    group, src, dst, w = np.asarray(group), np.asarray(src), np.asarray(dst), np.asarray(w, dtype=float)
    x_all = np.zeros(len(group))
    blocks = list(dict.fromkeys(group.tolist()))
    iterations = np.zeros(len(blocks), dtype=np.int64)
    for b, block in enumerate(blocks):
        nodes = np.flatnonzero(group == block)
        n = len(nodes)
        local = {int(node): i for i, node in enumerate(nodes)}
        edges = [(local[int(u)], local[int(v)], float(wt)) for u, v, wt in zip(src, dst, w) if int(u) in local]
        out = np.zeros(n)
        for u, _, wt in edges:
            out[u] += wt
        x = np.full(n, 1.0 / n)
        for it in range(1, max_iter + 1):
            new = np.zeros(n)
            for u, v, wt in edges:
                new[v] += alpha * x[u] * wt / out[u]
            new += alpha * x[out == 0].sum() / n + (1.0 - alpha) / n
            converged = np.abs(new - x).sum() < n * tol
            x = new
            if converged:
                break
        else:
            raise ConvergenceError(f"PageRank did not converge within max_iter={max_iter} (tol={tol})")
        x_all[nodes], iterations[b] = x, it
    return x_all, iterations
