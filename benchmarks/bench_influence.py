"""Benchmark: influence weights for a whole portfolio vs the per-account networkx loop.

Builds a synthetic portfolio (default 100,000 accounts, ~2.2 million
stakeholders, ~3.8 million ties) with a vectorised generator, or loads a
village folder (``--village PATH``, e.g. the cached 100k benchmark village;
as-of date: the day after the latest response, as ``run`` uses), then
measures in the same run:

1. ``influence_weights(village, as_of)`` end to end from the tables, at the
   default (``method="exact"``: every account within ``tol=1e-10`` of the
   exact PageRank fixed point), best of ``--repeat``; the first call on a
   village built in memory also matches its string ids to rows
   (:mod:`cxinfluence.village.ids`; ``load_village``'s validation does that
   while loading) and is shown separately;
2. its internal kernel: the exact PageRank kernel alone on the integer arrays
   ``influence_weights`` builds (``pagerank_blocks``), and for comparison the
   power iteration at networkx's loose default ``tol=1e-6`` (the default
   before) and at ``tol=1e-12``;
3. the loop an analyst would write: for each account an ``nx.DiGraph`` of its
   endorsement edges and ``nx.pagerank`` (default ``tol=1e-6``, and
   ``tol=1e-12``), timed on a random sample of accounts and **extrapolated** to
   the portfolio; ratios by wall and by CPU time;
4. accuracy against an independent exact reference: every account's PageRank
   from one sparse direct solve of the Google matrix ``(I - alpha S) x = (1 -
   alpha) / n`` (dangling columns spread, no power iteration), for the default
   and for the old ``tol=1e-6``; and ``nx.pagerank`` at ``tol=1e-12`` on the
   sample;
5. memory: peak RSS of the process (MiB) and the tracemalloc peak of one
   ``influence_weights`` call (MiB); the load average before and after.

Run: ``python benchmarks/bench_influence.py [--accounts 100000 | --village PATH]
[--sample 1000] [--repeat 3]`` (with ``PYTHONPATH`` at the repository root).
The machine may be shared: compare the ratios and CPU times, not the seconds.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import tracemalloc

import networkx as nx
import numpy as np
import pandas as pd

from cxinfluence.network.influence import influence_weights
from cxinfluence.network.pagerank import pagerank_blocks
from cxinfluence.village.schema import ROLES
from cxinfluence.village.core import Village


def make_portfolio(n_accounts: int, seed: int = 0) -> Village:
    """A random village: ~1 + Poisson(21) people per account, a reports_to
    tree (each person but the first reports to an earlier one) plus
    Poisson(17) influences ties per account between random pairs."""
    rng = np.random.default_rng(seed)
    sizes = 1 + rng.poisson(21, n_accounts)
    n = int(sizes.sum())
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    acc = np.repeat(np.arange(n_accounts), sizes)
    local = np.arange(n) - starts[acc]
    rep = np.flatnonzero(local > 0)
    manager = starts[acc[rep]] + np.floor(rng.random(len(rep)) * local[rep]).astype(np.int64)
    m = rng.poisson(17, n_accounts)
    ia = np.repeat(np.arange(n_accounts), m)
    iu = starts[ia] + np.floor(rng.random(len(ia)) * sizes[ia]).astype(np.int64)
    iv = starts[ia] + np.floor(rng.random(len(ia)) * sizes[ia]).astype(np.int64)
    ok = iu != iv
    iu, iv = iu[ok], iv[ok]

    account_ids = np.char.add("A", np.arange(n_accounts).astype(str)).astype(object)
    person_ids = np.char.add("S", np.arange(n).astype(str)).astype(object)
    role = np.array(ROLES, dtype=object)[rng.integers(0, len(ROLES), n)]
    rating = rng.integers(1, 6, n).astype(float)
    rating[rng.random(n) < 0.4] = np.nan
    stakeholders = pd.DataFrame({
        "stakeholder_id": person_ids,
        "account_id": account_ids[acc],
        "role": role,
        "veto": np.isin(role, ["decider", "gatekeeper"]),
        "influence_rating": rating,
        "active_from": pd.NaT,
        "active_to": pd.NaT,
    })
    stakeholders["active_from"] = stakeholders["active_from"].astype("datetime64[ns]")
    stakeholders["active_to"] = stakeholders["active_to"].astype("datetime64[ns]")
    relationships = pd.DataFrame({
        "source_id": np.r_[person_ids[rep], person_ids[iu]],
        "target_id": np.r_[person_ids[manager], person_ids[iv]],
        "kind": np.r_[np.full(len(rep), "reports_to", dtype=object), np.full(len(iu), "influences", dtype=object)],
        "weight": rng.uniform(0.5, 2.0, len(rep) + len(iu)),
    })
    accounts = pd.DataFrame({"account_id": account_ids})
    return Village(accounts, stakeholders, relationships, pd.DataFrame(), pd.DataFrame(), source="bench")


def analyst_loop(block, src, dst, w, accounts, *, tol, max_iter):
    """What an analyst writes: one DiGraph and one nx.pagerank per account (edges
    in endorsement direction, parallel ties summed); wall and CPU seconds of the loop."""
    starts = np.r_[0, np.flatnonzero(block[1:] != block[:-1]) + 1]
    ends = np.r_[starts[1:], len(block)]
    order = np.argsort(block[src], kind="stable")
    e_start = np.searchsorted(block[src][order], np.arange(block[-1] + 2))
    result = {}
    t0, c0 = time.perf_counter(), time.process_time()
    for a in accounts:
        G = nx.DiGraph()
        G.add_nodes_from(range(starts[a], ends[a]))
        for e in order[e_start[a]:e_start[a + 1]]:
            u, v, wt = int(src[e]), int(dst[e]), float(w[e])
            if G.has_edge(u, v):
                G[u][v]["weight"] += wt
            else:
                G.add_edge(u, v, weight=wt)
        result.update(nx.pagerank(G, alpha=0.85, tol=tol, max_iter=max_iter, weight="weight"))
    return result, time.perf_counter() - t0, time.process_time() - c0


def exact_pagerank(block, src, dst, w, alpha=0.85):
    """Exact PageRank of every account, independently of the kernel.

    The Google matrix S of the whole portfolio (column-stochastic: ``S[v, u] =
    w_uv / out_u``, a dangling person's column ``1/n`` over their account) and one
    sparse direct solve of ``(I - alpha S) x = (1 - alpha) / n_account``, which
    sums to 1 per account by itself (the kernel instead solves without the
    dangling columns and rescales).
    """
    import scipy.sparse as sp
    from scipy.sparse.linalg import spsolve

    n = len(block)
    size = np.bincount(block)[block]
    out_w = np.bincount(src, weights=w, minlength=n)
    S = sp.coo_array((w / out_w[src], (dst, src)), shape=(n, n)).tocsr()
    dangling = np.flatnonzero(out_w == 0)
    starts = np.r_[0, np.flatnonzero(block[1:] != block[:-1]) + 1]
    first, count = starts[block[dangling]], size[dangling]
    rows = np.repeat(first - np.cumsum(count) + count, count) + np.arange(count.sum())
    cols = np.repeat(dangling, count)
    S = S + sp.coo_array((1.0 / size[cols], (rows, cols)), shape=(n, n)).tocsr()
    return spsolve(sp.csc_array(sp.identity(n) - alpha * S), (1.0 - alpha) / size)


def timed(fn, repeat):
    """Best wall and CPU seconds of ``repeat`` calls, and the last result."""
    walls, cpus = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return min(walls), min(cpus), walls, result


def kernel_arrays(village, as_of):
    """The integer arrays influence_weights hands its PageRank kernel (same code path)."""
    from cxinfluence.network import influence as I

    rows, block = I._active_blocks(village, as_of)
    src, dst, w = I._endorsement_arrays(village, rows, block)
    return block, src, dst, w


def load():
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--village", help="load this village folder instead of generating one")
    parser.add_argument("--sample", type=int, default=1000, help="accounts timed with the networkx loop")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    t = time.perf_counter()
    if args.village:
        from cxinfluence.village.asof import default_as_of
        from cxinfluence.village.core import load_village

        village = load_village(args.village, warn=False)
        as_of = default_as_of(village)
        how = f"loaded from {args.village}"
    else:
        village, as_of = make_portfolio(args.accounts, args.seed), None
        how = "generated"
    build = time.perf_counter() - t
    print(f"portfolio {how} in {build:.1f} s: {len(village.accounts):,} accounts, {len(village.stakeholders):,} "
          f"stakeholders, {len(village.relationships):,} ties; as_of {as_of or 'default'}")
    print(f"load average at start: {load()} (2 cores)")

    cold, cold_cpu, _, _ = timed(lambda: influence_weights(village, as_of), 1)
    what = "ids matched by load_village" if args.village else "includes matching the ties' string ids to rows once"
    print(f"[0] first call ({what}): {cold:.2f} s wall, {cold_cpu:.2f} s CPU")
    wall, cpu, runs, weights = timed(lambda: influence_weights(village, as_of), args.repeat)
    print(f"[1] influence_weights(village, as_of), default exact (tol=1e-10 of the fixed point), end to end: "
          f"best wall {wall:.2f} s, best CPU {cpu:.2f} s (runs: {', '.join(f'{x:.2f}' for x in runs)})")
    sums = weights.groupby("account_id")["influence"].sum()
    print(f"    influence sums to 1 per account: max |sum - 1| = {np.abs(sums - 1).max():.1e} over {len(sums):,} "
          "accounts")

    block, src, dst, w = kernel_arrays(village, as_of)
    n_acc = int(block[-1]) + 1
    kwall, kcpu, _, (x_exact, it_exact) = timed(lambda: pagerank_blocks(block, src, dst, w), args.repeat)
    pwall, pcpu, _, (x_loose, _) = timed(lambda: pagerank_blocks(block, src, dst, w, tol=1e-6, method="power"),
                                         args.repeat)
    twall, tcpu, _, (x_tight, _) = timed(lambda: pagerank_blocks(block, src, dst, w, tol=1e-12, max_iter=1000,
                                                                 method="power"), args.repeat)
    print(f"[2] kernel alone on the integer arrays ({len(block):,} people, {len(src):,} endorsement edges, "
          f"{n_acc:,} accounts): exact {kwall:.2f} s wall / {kcpu:.2f} s CPU (power steps needed: "
          f"{int(it_exact.max())}); power iteration tol=1e-6 {pwall:.2f} s / {pcpu:.2f} s CPU; tol=1e-12 "
          f"{twall:.2f} s / {tcpu:.2f} s CPU")
    print(f"    public call / kernel: {wall / kwall:.2f}x wall, {cpu / kcpu:.2f}x CPU")

    rng = np.random.default_rng(args.seed + 1)
    sample = np.sort(rng.choice(n_acc, size=min(args.sample, n_acc), replace=False))
    nx_pr, loop, loop_cpu = analyst_loop(block, src, dst, w, sample, tol=1e-6, max_iter=100)
    nx_tight, loop_t, loop_t_cpu = analyst_loop(block, src, dst, w, sample, tol=1e-12, max_iter=1000)
    k = n_acc / len(sample)
    print(f"[3] networkx loop (DiGraph + nx.pagerank per account) on {len(sample):,} sampled accounts: "
          f"{loop:.2f} s wall / {loop_cpu:.2f} s CPU at tol=1e-6, {loop_t:.2f} s / {loop_t_cpu:.2f} s CPU at "
          f"tol=1e-12; EXTRAPOLATED x{k:.0f}: {loop * k:.0f} s / {loop_cpu * k:.0f} s CPU and "
          f"{loop_t * k:.0f} s / {loop_t_cpu * k:.0f} s CPU")
    print(f"[4] SPEED-UP of influence_weights end to end (exact) vs the nx loop, same run: by CPU time "
          f"{loop_cpu * k / cpu:.0f}x (nx tol=1e-6) and {loop_t_cpu * k / cpu:.0f}x (nx tol=1e-12); by wall "
          f"{loop * k / wall:.0f}x and {loop_t * k / wall:.0f}x; the kernel alone by CPU {loop_cpu * k / kcpu:.0f}x "
          f"and {loop_t_cpu * k / kcpu:.0f}x")

    t = time.perf_counter()
    ref = exact_pagerank(block, src, dst, w)
    solve = time.perf_counter() - t
    ours = weights["pagerank"].to_numpy()
    d_pub, d_ker, d_loose = (np.abs(ours - ref), np.abs(x_exact - ref), np.abs(x_loose - ref))
    print(f"[5] every account vs the exact fixed point (independent sparse solve of the Google matrix, "
          f"{solve:.1f} s): influence_weights max |diff| {d_pub.max():.1e}, kernel {d_ker.max():.1e} -> "
          f"{'OK' if d_pub.max() < 1e-10 else 'FAIL'} (1e-10); the old default (power, tol=1e-6): max "
          f"{d_loose.max():.1e}, {100 * (d_loose > 1e-9).mean():.0f}% of people off by more than 1e-9; "
          f"power tol=1e-12: max {np.abs(x_tight - ref).max():.1e}")
    nodes = np.array(list(nx_tight))
    print(f"    vs nx.pagerank tol=1e-12 on the sample ({len(nodes):,} people): max |diff| "
          f"{np.abs(x_exact[nodes] - np.array([nx_tight[i] for i in nodes])).max():.1e}; nx tol=1e-6: "
          f"{np.abs(x_exact[nodes] - np.array([nx_pr[i] for i in nodes])).max():.1e}")
    # the influence column and ranks: exact vs the old default
    old = influence_weights(village, as_of, tol=1e-6, method="power")
    change = np.abs(old["influence"].to_numpy() - weights["influence"].to_numpy())
    acc = weights["account_id"].to_numpy()
    # ranks of values equal to 1e-9 are ties (people in symmetric positions differ only by rounding)
    r_new = weights.assign(a=acc, i=weights["influence"].round(9)).groupby("a", sort=False)["i"].rank(method="min", ascending=False)
    r_old = old.assign(a=acc, i=old["influence"].round(9)).groupby("a", sort=False)["i"].rank(method="min", ascending=False)
    moved = r_new.to_numpy() != r_old.to_numpy()
    print(f"[6] influence vs the old default (power, tol=1e-6): max |change| {change.max():.1e}; people whose "
          f"within-account influence rank changes (ties: equal to 1e-9): {int(moved.sum()):,} of {len(weights):,} "
          f"in {len(np.unique(acc[moved])):,} accounts; top person changes in "
          f"{len(np.unique(acc[moved & ((r_new.to_numpy() == 1) | (r_old.to_numpy() == 1))])):,} accounts")

    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    influence_weights(village, as_of)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"[7] memory: process peak RSS {peak_rss:,.0f} MiB (village + every step above); tracemalloc peak of "
          f"one influence_weights call {peak / 2**20:,.0f} MiB")
    print(f"load average at the end: {load()}")


if __name__ == "__main__":
    main()
