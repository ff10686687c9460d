"""PageRank of many small graphs at once, and the readable reference it is tested against.

Every account's buying center is a small graph; the portfolio is their
block-diagonal union, with networkx's definitions: damping ``alpha``, dangling
nodes' rank spread uniformly within their block, teleport uniform within the
block. Two kernels, both with no Python loop over accounts:

* ``method="exact"`` (the default): the fixed point itself. For an account of
  ``n`` people, ``x = alpha (P + d 1'/n) x + (1 - alpha) 1/n`` (``P`` the
  column-normalised ties, ``d`` the dangling people); since the dangling and
  teleport terms are both a multiple of the uniform vector, ``x`` is the
  solution ``y`` of ``(I - alpha P) y = 1`` rescaled to sum to 1. Accounts of
  up to :data:`EXACT_DENSE_MAX` people are solved as dense LU systems batched
  by size (``numpy.linalg.solve`` over stacks of equal-sized matrices; the
  matrix is strictly column diagonally dominant, so this is well conditioned:
  condition number at most ``(1 + alpha) / (1 - alpha)``), larger ones by a
  sparse LU (SuperLU). The result is then certified: one power step gives each
  account's residual ``r = ||G x - x||_1``, and ``||x - x*||_1 <= r / (1 -
  alpha)`` bounds the distance to the exact fixed point ``x*``; an account whose
  bound is not below ``tol`` continues by power steps (each shrinking the error
  by ``alpha``) until it is, or raises :class:`ConvergenceError` after
  ``max_iter``. In practice the bound is ~1e-15 and no step is needed.
* ``method="power"``: networkx's power iteration and stopping rule (block *a*
  stops at the first iteration whose L1 change is below ``n_a * tol``), which
  reproduces ``nx.pagerank`` at the same ``tol`` iterate for iterate: sparse
  matrix-vector products over cache-sized chunks of whole accounts, converged
  accounts dropped as they finish. Used for ``alpha=1`` (no damping: no unique
  fixed point in general).

:func:`pagerank_reference` is the same computation written plainly, one block
at a time (for ``"exact"`` the textbook ``x = (1 - alpha) (I - alpha S)^-1 1/n``
with ``S`` column-stochastic, a different formulation from the kernel's), as
networkx keeps ``_pagerank_python`` beside its scipy path; the tests hold the
two equal on small hand-drawn and fuzzed portfolios, and the exact kernel
against an independent sparse direct solve of the whole portfolio.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..exceptions import ConvergenceError, GraphError
from ..village.ids import THREADS as _THREADS
from ..village.ids import ranges

# drop converged accounts from the power iteration once the live share of the
# working set falls below this (each drop costs about one iteration)
_COMPACT_AT = 0.7
# nodes per cache-sized chunk of accounts in the power iteration
_CHUNK_NODES = 65_536
#: Accounts up to this many people are solved as dense LU systems (batched by
#: size) by the exact kernel; larger ones by a sparse LU.
EXACT_DENSE_MAX = 96
# dense matrix entries per batch of the exact kernel (2**20 float64: 8 MiB, cache-sized)
_SOLVE_CELLS = 1 << 20
METHODS = ("exact", "power")


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


def pagerank_arrays(group, src, dst, w, *, alpha=0.85, max_iter=100, tol=1.0e-10, method="exact"):
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
    alpha : float
        Damping factor in (0, 1].
    max_iter : int
    tol : float
        ``method="exact"``: each block's PageRank is within ``tol`` (L1, so
        every value too) of the exact fixed point, certified by its residual
        (see the module docstring); power steps refine a block that is not, up
        to ``max_iter``. ``method="power"``: as in :func:`networkx.pagerank`,
        block *a* stops at the first iteration whose L1 change is below
        ``n_a * tol``, and keeps the vector of that iteration.
    method : {"exact", "power"}
        Direct solve (default) or networkx's power iteration (see the module
        docstring); ``alpha=1`` always uses the power iteration.

    Returns
    -------
    x : ndarray of float, shape (n,)
    iterations : ndarray of int, one per block (in block order)
        Power steps taken: 0 for a block the exact solve settled.

    Raises
    ------
    ConvergenceError
        A block not within ``tol`` after ``max_iter`` iterations.

    Examples
    --------
    >>> x, it = pagerank_arrays(np.array([0, 0, 1]), np.array([0]), np.array([1]), np.array([1.0]))
    >>> np.round(x, 4).tolist(), it.tolist()
    ([0.3509, 0.6491, 1.0], [0, 0])
    >>> x, it = pagerank_arrays(np.array([0, 0, 1]), np.array([0]), np.array([1]), np.array([1.0]),
    ...                         tol=1e-6, method="power")
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
    return pagerank_blocks(group, src, dst, w, alpha=alpha, max_iter=max_iter, tol=tol, method=method)


def check_method(method, alpha, tol, max_iter):
    """Raise ``ValueError`` for an unknown ``method`` or a ``tol``/``max_iter`` out of range."""
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not one of {METHODS}; use 'exact' (the default) or 'power'")
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol={tol!r} must be a finite number > 0 (default 1e-10)")
    if int(max_iter) != max_iter or max_iter < 0:
        raise ValueError(f"max_iter={max_iter!r} must be a whole number >= 0 (default 100)")
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha={alpha!r} is outside (0, 1]; the usual damping factor is 0.85")


def pagerank_blocks(group, src, dst, w, *, alpha=0.85, max_iter=100, tol=1.0e-10, method="exact"):
    """:func:`pagerank_arrays` for callers whose edges are known to stay inside their
    blocks and whose ``group`` is sorted (the influence stage builds them so): no checks."""
    check_method(method, alpha, tol, max_iter)
    group = np.asarray(group)
    n = len(group)
    if n == 0:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    if method == "exact" and alpha < 1:
        return _exact_blocks(group, np.asarray(src), np.asarray(dst), np.asarray(w, dtype=float), alpha=alpha,
                             max_iter=max_iter, tol=tol)
    return _power_blocks(group, src, dst, w, alpha=alpha, max_iter=max_iter, tol=tol)


def _power_blocks(group, src, dst, w, *, alpha, max_iter, tol):
    """The power iteration of :func:`pagerank_blocks` (``method="power"``)."""
    import scipy.sparse as sp

    n = len(group)
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


# ----------------------------------------------------------------------------
# The exact kernel: one direct solve per account, batched by size
# ----------------------------------------------------------------------------

def _dense_solve(x, accounts, starts, sizes, flat, coef):
    """Solve ``(I - alpha P) y = 1`` for ``accounts`` (sorted by size) laid end to end
    as dense matrices, and write ``y`` rescaled to sum to 1 per account into ``x``.

    ``flat`` is each edge's cell in that layout (``u -> v`` at row ``v``, column
    ``u`` of its account's matrix) and ``coef`` its ``alpha * w / out_weight``;
    parallel edges add up in the cell.
    """
    size = sizes[accounts].astype(np.int64)
    cells = size * size
    offset = np.cumsum(cells) - cells
    A = -np.bincount(flat, weights=coef, minlength=int(cells.sum())).astype(float, copy=False)
    first = np.repeat(offset, size)  # each node's diagonal cell
    local = np.arange(len(first)) - np.repeat(np.cumsum(size) - size, size)
    A[first + local * (np.repeat(size, size) + 1)] += 1.0
    y = np.empty(len(first))
    bounds = np.flatnonzero(np.r_[True, size[1:] != size[:-1], True])
    node = np.cumsum(size) - size
    for i0, i1 in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        s, k = int(size[i0]), i1 - i0
        stack = A[offset[i0]:offset[i0] + k * s * s].reshape(k, s, s)
        ys = np.linalg.solve(stack, np.ones((k, s, 1)))[..., 0]
        ys /= ys.sum(axis=1, keepdims=True)
        y[node[i0]:node[i0] + k * s] = ys.ravel()
    x[ranges(starts[accounts], size)] = y


def _sparse_solve(x, accounts, starts, sizes, block, src, dst, coef):
    """As :func:`_dense_solve` for large accounts, by one sparse LU of their block-diagonal union."""
    import scipy.sparse as sp
    from scipy.sparse.linalg import splu

    nodes = ranges(starts[accounts], sizes[accounts])
    m = len(nodes)
    pos = np.full(len(block), -1, dtype=np.int64)
    pos[nodes] = np.arange(m)
    e = pos[src] >= 0
    M = sp.csc_array((-coef[e], (pos[dst[e]], pos[src[e]])), shape=(m, m)) + sp.identity(m, format="csc")
    y = splu(sp.csc_array(M)).solve(np.ones(m))
    acc = np.repeat(np.arange(len(accounts)), sizes[accounts])
    x[nodes] = y / np.bincount(acc, weights=y)[acc]


def _google_step(x, block, sizes, src, dst, coef, dangling, alpha):
    """One power step ``G x`` of every block (edges summed with :func:`numpy.bincount`)."""
    gx = np.bincount(dst, weights=coef * x[src], minlength=len(x)).astype(float, copy=False)
    mass = np.bincount(block[dangling], weights=x[dangling], minlength=len(sizes)).astype(float, copy=False)
    gx += ((alpha * mass + 1.0 - alpha) / sizes)[block]
    return gx


def _exact_blocks(group, src, dst, w, *, alpha, max_iter, tol):
    """The exact kernel of :func:`pagerank_blocks` (see the module docstring)."""
    n = len(group)
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    sizes = np.diff(np.r_[starts, n])
    block = np.repeat(np.arange(len(sizes)), sizes)
    out_w = np.bincount(src, weights=w, minlength=n)
    coef = alpha * w / out_w[src] if len(src) else np.zeros(0)
    x = np.empty(n)
    # accounts by size; the dense ones cut into cache-sized batches of whole accounts
    small = sizes <= EXACT_DENSE_MAX
    order = np.flatnonzero(small)
    order = order[np.argsort(sizes[order], kind="stable")]
    cells = sizes[order].astype(np.int64) ** 2
    end = np.cumsum(cells)
    cut = np.searchsorted(end, np.arange(_SOLVE_CELLS, int(end[-1]) if len(end) else 0, _SOLVE_CELLS), side="left")
    bounds = np.unique(np.r_[0, cut + 1, len(order)])
    bounds = bounds[bounds <= len(order)]
    n_batches = len(bounds) - 1
    batch_of = np.full(len(sizes), -1, dtype=np.int64)  # each account's batch
    batch_of[order] = np.repeat(np.arange(n_batches), np.diff(bounds))
    # each edge's cell in its batch: account offset + row (target) * size + column (source),
    # as a per-node row part (offset + local * size, target side) plus a column part (local, source side)
    rank = np.empty(len(sizes), dtype=np.int64)
    rank[order] = np.arange(len(order))
    cell_start = end - cells - np.repeat(np.r_[0, end][bounds[:-1]], np.diff(bounds))
    itype = np.int32 if n < 2**31 and _SOLVE_CELLS + EXACT_DENSE_MAX**2 < 2**31 else np.int64
    local = (np.arange(n) - np.repeat(starts, sizes)).astype(itype)
    base = np.zeros(len(sizes), dtype=np.int64)
    base[order] = cell_start
    row_part = np.repeat(base.astype(itype), sizes) + local * np.repeat(sizes.astype(itype), sizes)
    btype = np.uint16 if n_batches < 2**16 else np.int64
    node_batch = np.repeat(np.where(batch_of >= 0, batch_of, 0).astype(btype), sizes)
    if small.all():  # the usual case: no large account, no edge to set aside
        e_src, e_dst, e_coef = src, dst, coef
    else:
        on = small[block[src]]
        e_src, e_dst, e_coef = src[on], dst[on], coef[on]
    e_batch = node_batch[e_src]
    e_order = np.argsort(e_batch, kind="stable")
    e_bounds = np.r_[0, np.cumsum(np.bincount(e_batch, minlength=n_batches))]
    e_src, e_dst = e_src[e_order], e_dst[e_order]
    flat = row_part[e_dst] + local[e_src]
    e_coef = e_coef[e_order]

    def run(b):
        es = slice(e_bounds[b], e_bounds[b + 1])
        _dense_solve(x, order[bounds[b]:bounds[b + 1]], starts, sizes, flat[es], e_coef[es])

    workers = min(_THREADS, n_batches)
    if workers > 1:  # batches are independent; numpy's solve releases the GIL
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(run, range(n_batches)))
    else:
        for b in range(n_batches):
            run(b)
    if (~small).any():
        _sparse_solve(x, np.flatnonzero(~small), starts, sizes, block, src, dst, coef)

    # certify: ||x - x*||_1 <= ||G x - x||_1 / (1 - alpha) per block; refine by power steps if needed
    dangling = out_w == 0
    iterations = np.zeros(len(sizes), dtype=np.int64)
    gx = _google_step(x, block, sizes, src, dst, coef, dangling, alpha)
    open_ = np.add.reduceat(np.abs(gx - x), starts) >= tol * (1.0 - alpha)
    for it in range(1, max_iter + 1):
        if not open_.any():
            break
        live = open_[block]
        x[live] = gx[live]
        iterations[open_] = it
        gx = _google_step(x, block, sizes, src, dst, coef, dangling, alpha)
        open_ &= np.add.reduceat(np.abs(gx - x), starts) >= tol * (1.0 - alpha)
    if not open_.any():
        return x, iterations
    raise ConvergenceError(
        f"PageRank of {int(open_.sum())} account(s) is not certified within tol={tol} of the exact fixed point "
        f"after max_iter={max_iter} refinement steps (rounding limits the certificate to about 1e-15 per person); "
        "raise tol or max_iter")



def portfolio_pagerank(nodes: pd.DataFrame, edges: pd.DataFrame, *, account="account_id", node="stakeholder_id",
                       source="source_id", target="target_id", weight="weight", alpha=0.85, max_iter=100,
                       tol=1.0e-10, method="exact") -> pd.DataFrame:
    """PageRank of every account's graph at once (:mod:`cxinfluence.network.pagerank`).

    The fixed point ``networkx.pagerank(G, alpha, weight=weight)`` converges to,
    account by account, on the DiGraph of that account's nodes and edges:
    uniform teleport within the account, the rank of nodes without outgoing
    edges spread uniformly over their account, weighted edges, parallel edges
    summed. By default (``method="exact"``) each account's linear system is
    solved directly (dense LU batched by account size, sparse LU for large
    accounts) and every account is certified within ``tol`` (L1) of the exact
    fixed point. ``method="power"`` runs networkx's power iteration and
    stopping rule instead (L1 change < ``n_account * tol``), reproducing
    ``nx.pagerank`` at the same ``tol`` iterate for iterate. No Python loop
    over accounts either way.

    Parameters
    ----------
    nodes : DataFrame
        One row per node with columns ``account`` and ``node`` (unique ids).
    edges : DataFrame
        Columns ``source``, ``target`` and optionally ``weight`` (blank = 1,
        otherwise > 0). Rank flows from source to target (networkx
        convention), so pass endorsement edges (see the module docstring).
    account, node, source, target, weight : str
        Column names. ``weight=None`` ignores weights.
    alpha : float
        Damping factor in (0, 1] (``alpha=1`` always uses the power iteration).
    max_iter : int
    tol : float
        ``"exact"``: bound on each account's L1 distance to the exact fixed
        point (default 1e-10; the solve itself is accurate to about 1e-16),
        power steps refining an account up to ``max_iter`` if its certificate
        is not below it. ``"power"``: networkx's stopping rule.
    method : {"exact", "power"}

    Returns
    -------
    DataFrame
        ``account, node, pagerank`` in the order of ``nodes``; sums to 1 within
        each account. ``attrs["iterations"]`` maps account -> power steps used
        (0 for an account the exact solve settled).

    Raises
    ------
    GraphError
        Unknown node ids in ``edges``, duplicate node ids, an edge across
        accounts, or a non-positive weight.
    ConvergenceError
        When some account has not converged after ``max_iter`` iterations.

    Examples
    --------
    A manager ``m`` with three reports outranks each of them:

    >>> nodes = pd.DataFrame({"account_id": ["A"] * 4 + ["B"],
    ...                       "stakeholder_id": ["m", "r1", "r2", "r3", "solo"]})
    >>> edges = pd.DataFrame({"source_id": ["r1", "r2", "r3"], "target_id": ["m", "m", "m"]})
    >>> pr = portfolio_pagerank(nodes, edges)
    >>> pr.round(4)
      account_id stakeholder_id  pagerank
    0          A              m    0.5420
    1          A             r1    0.1527
    2          A             r2    0.1527
    3          A             r3    0.1527
    4          B           solo    1.0000
    """
    check_method(method, alpha, tol, max_iter)
    for name, frame, cols in (("nodes", nodes, (account, node)), ("edges", edges, (source, target))):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise GraphError(f"{name} lacks column(s) {missing}; got {list(frame.columns)}")
    ids = nodes[node].to_numpy()
    order = np.argsort(nodes[account].to_numpy(), kind="stable")
    acc_sorted = nodes[account].to_numpy()[order]
    codes, _ = pd.factorize(acc_sorted)
    # factorize numbers accounts in order of appearance, which is sorted here
    pos = pd.Index(ids[order])
    if not pos.is_unique:
        dup = pos[pos.duplicated()].unique()[:5].tolist()
        raise GraphError(f"nodes[{node!r}] has duplicate ids {dup}; each node must appear once")
    src = pos.get_indexer(edges[source].to_numpy())
    dst = pos.get_indexer(edges[target].to_numpy())
    unknown = (src < 0) | (dst < 0)
    if unknown.any():
        bad = edges.loc[unknown, [source, target]].head(5).to_numpy().tolist()
        raise GraphError(f"edges refer to node ids not in nodes, e.g. {bad}; drop those edges or add the nodes")
    if weight is not None and weight in edges.columns:
        w = pd.to_numeric(edges[weight], errors="coerce").fillna(1.0).to_numpy(float)
        if np.any(w <= 0) or not np.all(np.isfinite(w)):
            raise GraphError(f"edges[{weight!r}] has values <= 0 or infinite; tie weights must be > 0")
    else:
        w = np.ones(len(edges))
    x, iterations = pagerank_arrays(codes, src, dst, w, alpha=alpha, max_iter=max_iter, tol=tol, method=method)
    result = np.empty(len(ids))
    result[order] = x
    out = pd.DataFrame({account: nodes[account].to_numpy(), node: ids, "pagerank": result})
    first = np.r_[0, np.flatnonzero(codes[1:] != codes[:-1]) + 1] if len(codes) else np.zeros(0, int)
    out.attrs["iterations"] = dict(zip(acc_sorted[first].tolist(), iterations.tolist()))
    return out


def pagerank_reference(group, src, dst, w, *, alpha=0.85, max_iter=100, tol=1.0e-10, method="exact"):
    """Readable PageRank of each block in turn: the definition :func:`pagerank_arrays` implements.

    Same parameters and results. For each block *a* of ``n`` nodes, with ``S``
    the column-stochastic matrix of the block (``S[v, u] = w_uv / out_u``, and
    ``1/n`` in every row of a dangling ``u``'s column):

    * ``method="exact"``: ``x = (1 - alpha) (I - alpha S)^-1 1/n``, one dense
      solve (it sums to 1 because every column of ``S`` does); then, as the
      kernel does, power steps ``x <- alpha S x + (1 - alpha) / n`` while the
      certificate ``||alpha S x + (1 - alpha) / n - x||_1 / (1 - alpha)`` is not
      below ``tol`` (a solve never needs one);
    * ``method="power"``: starting from ``x = 1/n``, repeat ``x_v <- alpha * (sum
      over edges u->v of x_u w_uv / out_u + sum over dangling u of x_u / n) +
      (1 - alpha) / n`` until the L1 change is below ``n * tol``.

    >>> x, it = pagerank_reference(np.array([0, 0, 1]), np.array([0]), np.array([1]), np.array([1.0]))
    >>> np.round(x, 4).tolist()
    [0.3509, 0.6491, 1.0]
    """
    check_method(method, alpha, tol, max_iter)
    group, src, dst, w = np.asarray(group), np.asarray(src), np.asarray(dst), np.asarray(w, dtype=float)
    x_all = np.zeros(len(group))
    blocks = list(dict.fromkeys(group.tolist()))
    iterations = np.zeros(len(blocks), dtype=np.int64)
    exact = method == "exact" and alpha < 1
    for b, block in enumerate(blocks):
        nodes = np.flatnonzero(group == block)
        n = len(nodes)
        local = {int(node): i for i, node in enumerate(nodes)}
        edges = [(local[int(u)], local[int(v)], float(wt)) for u, v, wt in zip(src, dst, w) if int(u) in local]
        out = np.zeros(n)
        for u, _, wt in edges:
            out[u] += wt
        if exact:
            S = np.zeros((n, n))
            for u, v, wt in edges:
                S[v, u] += wt / out[u]
            S[:, out == 0] = 1.0 / n
            x = np.linalg.solve(np.eye(n) - alpha * S, np.full(n, (1.0 - alpha) / n))
            it = 0
            while np.abs(alpha * S @ x + (1.0 - alpha) / n - x).sum() >= tol * (1.0 - alpha):
                if it == max_iter:
                    raise ConvergenceError(f"PageRank not within tol={tol} after max_iter={max_iter} steps")
                x, it = alpha * S @ x + (1.0 - alpha) / n, it + 1
            x_all[nodes], iterations[b] = x, it
            continue
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
