"""The exact PageRank kernel (the default): direct solves per account, certified
within ``tol`` of the fixed point, checked against independent solves."""

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

import cxinfluence.network.pagerank as kernel
from cxinfluence.exceptions import ConvergenceError
from cxinfluence.network.pagerank import pagerank_arrays, pagerank_reference


def fuzzed(seed, max_size=12, n_accounts=40, self_loops=True):
    """Accounts of 1..max_size people with random weighted ties (parallel ties,
    self-ties, dangling people, isolated people, accounts without ties)."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, max_size + 1, n_accounts)
    group = np.repeat(np.arange(n_accounts), sizes)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    m = rng.integers(0, 3 * sizes + 1)
    acc = np.repeat(np.arange(n_accounts), m)
    src = starts[acc] + (rng.random(len(acc)) * sizes[acc]).astype(np.int64)
    dst = starts[acc] + (rng.random(len(acc)) * sizes[acc]).astype(np.int64)
    if not self_loops:
        src, dst = src[src != dst], dst[src != dst]
    w = rng.uniform(0.2, 3.0, len(src))
    return group, src, dst, w


def direct_solve(group, src, dst, w, alpha=0.85):
    """Independent exact PageRank: the Google matrix of the whole portfolio
    (dangling columns spread uniformly in their block) and one sparse solve of
    ``(I - alpha S) x = (1 - alpha) / n_block``; no normalisation afterwards."""
    n = len(group)
    size = np.bincount(group)[group]
    out_w = np.bincount(src, weights=w, minlength=n)
    S = sp.coo_array((w / out_w[src], (dst, src)), shape=(n, n)).tocsr()
    dangling = np.flatnonzero(out_w == 0)
    # dangling column u: 1/n_block in every row of u's block
    rows = [np.flatnonzero(group == group[u]) for u in dangling]
    cols = [np.full(len(r), u) for u, r in zip(dangling, rows)]
    if rows:
        S = S + sp.coo_array((1.0 / size[np.concatenate(cols)], (np.concatenate(rows), np.concatenate(cols))),
                             shape=(n, n)).tocsr()
    return spsolve(sp.csc_array(sp.identity(n) - alpha * S), (1.0 - alpha) / size)


@pytest.mark.parametrize("seed", range(5))
def test_exact_kernel_equals_an_independent_sparse_solve_and_sums_to_one(seed):
    group, src, dst, w = fuzzed(seed)
    x, it = pagerank_arrays(group, src, dst, w)
    np.testing.assert_allclose(x, direct_solve(group, src, dst, w), rtol=0, atol=1e-14)
    assert (it == 0).all()
    assert np.abs(np.bincount(group, weights=x) - 1).max() < 1e-14
    x6, _ = pagerank_arrays(group, src, dst, w, alpha=0.6)
    np.testing.assert_allclose(x6, direct_solve(group, src, dst, w, alpha=0.6), rtol=0, atol=1e-14)


def test_exact_kernel_is_the_limit_networkx_converges_to():
    group, src, dst, w = fuzzed(11, self_loops=False)
    x, _ = pagerank_arrays(group, src, dst, w)
    for a in range(group.max() + 1):
        nodes = np.flatnonzero(group == a)
        G = nx.DiGraph()
        G.add_nodes_from(nodes.tolist())
        for u, v, wt in zip(src.tolist(), dst.tolist(), w.tolist()):
            if group[u] == a:
                G.add_edge(u, v, weight=G[u][v]["weight"] + wt if G.has_edge(u, v) else wt)
        pr = nx.pagerank(G, tol=1e-15, max_iter=100_000)
        np.testing.assert_allclose(x[nodes], [pr[i] for i in nodes.tolist()], rtol=0, atol=1e-12)


def test_loose_networkx_tolerance_is_far_from_the_fixed_point_and_the_default_is_not():
    # why the default changed: tol=1e-6 stops up to ~1e-5 away from the exact fixed point
    group, src, dst, w = fuzzed(3, max_size=30, self_loops=False)
    exact = direct_solve(group, src, dst, w)
    loose, _ = pagerank_arrays(group, src, dst, w, tol=1e-6, method="power")
    default, _ = pagerank_arrays(group, src, dst, w)
    assert np.abs(loose - exact).max() > 1e-8
    assert np.abs(default - exact).max() < 1e-14


def test_dense_batches_and_sparse_path_agree(monkeypatch):
    group, src, dst, w = fuzzed(4, max_size=40)
    dense, _ = pagerank_arrays(group, src, dst, w)
    monkeypatch.setattr(kernel, "EXACT_DENSE_MAX", 10)  # accounts of 11+ people by sparse LU
    mixed, _ = pagerank_arrays(group, src, dst, w)
    monkeypatch.setattr(kernel, "EXACT_DENSE_MAX", 0)  # every account by sparse LU
    sparse, _ = pagerank_arrays(group, src, dst, w)
    reference = direct_solve(group, src, dst, w)
    for x in (dense, mixed, sparse):
        np.testing.assert_allclose(x, reference, rtol=0, atol=1e-14)
    monkeypatch.setattr(kernel, "_SOLVE_CELLS", 1)  # one account per batch: the same solve per account
    monkeypatch.setattr(kernel, "EXACT_DENSE_MAX", 96)
    assert np.array_equal(pagerank_arrays(group, src, dst, w)[0], dense)


def test_a_poor_solve_is_caught_by_the_certificate_and_refined(monkeypatch):
    group, src, dst, w = fuzzed(6)
    exact = direct_solve(group, src, dst, w)

    def uniform(x, accounts, starts, sizes, flat, coef):  # a wrong "solve": the uniform vector
        for a in accounts:
            x[starts[a]:starts[a] + sizes[a]] = 1.0 / sizes[a]

    monkeypatch.setattr(kernel, "_dense_solve", uniform)
    x, it = pagerank_arrays(group, src, dst, w, tol=1e-10, max_iter=1000)
    # certified: every account's L1 distance to the fixed point is below tol
    assert np.bincount(group, weights=np.abs(x - exact)).max() < 1e-10
    assert it.max() > 10  # power steps did the work
    with pytest.raises(ConvergenceError, match="not certified within tol=1e-10"):
        pagerank_arrays(group, src, dst, w, tol=1e-10, max_iter=3)


def test_impossible_tolerance_raises_instead_of_pretending():
    group, src, dst, w = fuzzed(8)
    with pytest.raises(ConvergenceError, match="raise tol or max_iter"):
        pagerank_arrays(group, src, dst, w, tol=1e-30, max_iter=5)


def test_alpha_one_falls_back_to_the_power_iteration():
    # chains ending in a dangling person: the undamped iteration converges
    group, src, dst, w = np.array([0, 0, 0, 1, 1]), np.array([0, 1, 3]), np.array([1, 2, 4]), np.ones(3)
    a, _ = pagerank_arrays(group, src, dst, w, alpha=1.0, tol=1e-12, max_iter=10_000)
    b, _ = pagerank_arrays(group, src, dst, w, alpha=1.0, tol=1e-12, max_iter=10_000, method="power")
    assert np.array_equal(a, b)
    np.testing.assert_allclose(a, [1 / 6, 1 / 3, 1 / 2, 1 / 3, 2 / 3], atol=1e-10)


@pytest.mark.parametrize("bad, match", [(dict(method="lu"), "method='lu'"), (dict(tol=0.0), "tol=0.0"),
                                        (dict(tol=np.nan), "tol=nan"), (dict(max_iter=-1), "max_iter=-1"),
                                        (dict(alpha=0.0), "alpha=0.0")])
def test_bad_options_are_named(bad, match):
    group, src, dst, w = fuzzed(1)
    with pytest.raises(ValueError, match=match):
        pagerank_arrays(group, src, dst, w, **bad)
    with pytest.raises(ValueError, match=match):
        pagerank_reference(group, src, dst, w, **bad)


@pytest.mark.parametrize("seed", range(3))
def test_readable_reference_exact_and_power_agree_at_tight_tolerance(seed):
    group, src, dst, w = fuzzed(seed + 20)
    exact, _ = pagerank_reference(group, src, dst, w)
    power, _ = pagerank_reference(group, src, dst, w, tol=1e-15, max_iter=100_000, method="power")
    np.testing.assert_allclose(exact, power, rtol=0, atol=1e-12)
    np.testing.assert_allclose(exact, direct_solve(group, src, dst, w), rtol=0, atol=1e-14)
