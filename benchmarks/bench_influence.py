"""Benchmark: influence weights for a whole portfolio vs the per-account networkx loop.

Builds a synthetic portfolio (default 100,000 accounts, ~2.2 million
stakeholders, ~3.8 million ties) with a vectorised generator, then measures in
the same run:

1. ``cxinfluence.influence_weights(village)``: every account's PageRank and
   blended influence, end to end from the string-id tables (timed), and the
   PageRank kernel alone on integer-coded arrays. The first call on a village
   matches its string ids to rows (:mod:`cxinfluence.village.ids`; ``load_village``'s
   validation does it while loading) and is timed separately; later calls,
   and every later stage of a run, reuse that;
2. the loop an analyst would write: for each account build an ``nx.DiGraph``
   of its endorsement edges and call ``nx.pagerank`` -- timed on a random
   sample of accounts and **extrapolated** to the whole portfolio;
3. agreement with ``nx.pagerank`` over the sampled accounts, both sides at
   networkx's default ``tol=1e-6`` and both at a tight ``--tight-tol``
   (default 1e-12, ``max_iter=1000``); every account is checked against the
   exact PageRank fixed point (one sparse direct solve), and against
   ``nx.pagerank`` itself with ``--full-check`` (slow: the full networkx loop);
4. peak memory: ``ru_maxrss`` of the process, and the tracemalloc peak of one
   extra (untimed) ``influence_weights`` call.

Run: ``.venv/bin/python benchmarks/bench_influence.py [--accounts 100000]
[--sample 1000] [--full-check]``. The machine may be shared, so the fastest of
``--repeat`` runs is reported for the vectorised path, with its CPU time and
the load average.
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

from cxinfluence.network.influence import influence_weights, pagerank_arrays
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


def analyst_loop(village: Village, accounts, *, tol, max_iter):
    """What an analyst writes: one DiGraph and one nx.pagerank per account."""
    st = village.stakeholders[village.stakeholders["account_id"].isin(accounts)]
    rel = village.relationships
    members = set(st["stakeholder_id"])
    rel = rel[rel["source_id"].isin(members)]
    account_of = dict(zip(st["stakeholder_id"], st["account_id"]))
    # endorsement direction: report -> manager; influenced -> influencer
    inf = rel["kind"].eq("influences")
    u = np.where(inf, rel["target_id"], rel["source_id"])
    v = np.where(inf, rel["source_id"], rel["target_id"])
    edges = pd.DataFrame({"u": u, "v": v, "w": rel["weight"].to_numpy(), "acc": [account_of[x] for x in u]})
    by_acc_edges = dict(tuple(edges.groupby("acc")))
    result = {}
    t0, c0 = time.perf_counter(), time.process_time()
    for acc, people in st.groupby("account_id"):
        G = nx.DiGraph()
        G.add_nodes_from(people["stakeholder_id"])
        e = by_acc_edges.get(acc)
        if e is not None:
            for a, b, w in zip(e["u"], e["v"], e["w"]):
                if G.has_edge(a, b):
                    G[a][b]["weight"] += w
                else:
                    G.add_edge(a, b, weight=w)
        result.update(nx.pagerank(G, alpha=0.85, tol=tol, max_iter=max_iter, weight="weight"))
    return result, time.perf_counter() - t0, time.process_time() - c0


def exact_pagerank(block, src, dst, w, alpha=0.85):
    """Exact PageRank of every account, independently of any power iteration.

    The fixed point networkx converges to solves, per account,
    x = alpha P x + (alpha * dangling mass + 1 - alpha) u with u uniform, so x is
    (I - alpha P)^-1 u rescaled to sum to 1 in each account: one sparse direct
    solve for the whole block-diagonal portfolio.
    """
    import scipy.sparse as sp
    from scipy.sparse.linalg import spsolve

    n = len(block)
    out_w = np.bincount(src, weights=w, minlength=n)
    P = sp.csr_array((w / out_w[src], (dst, src)), shape=(n, n))
    u = 1.0 / np.bincount(block)[block]
    y = spsolve((sp.identity(n, format="csr") - alpha * P).tocsc(), u)
    return y / np.bincount(block, weights=y)[block]


def timed(fn, repeat):
    """Best wall and CPU seconds of ``repeat`` calls, and the last result."""
    walls, cpus = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return min(walls), min(cpus), walls, result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=1000, help="accounts timed with the networkx loop")
    parser.add_argument("--tight-tol", type=float, default=1e-12, help="tolerance of the agreement checks")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--full-check", action="store_true", help="also run nx.pagerank on every account (slow)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    tight = dict(tol=args.tight_tol, max_iter=1000)

    t = time.perf_counter()
    village = make_portfolio(args.accounts, args.seed)
    build = time.perf_counter() - t
    n_people, n_ties = len(village.stakeholders), len(village.relationships)
    print(f"portfolio: {args.accounts:,} accounts, {n_people:,} stakeholders, {n_ties:,} ties (built in {build:.1f} s)")
    print(f"machine load average at start: {', '.join(f'{x:.1f}' for x in os.getloadavg())} (2 cores)")

    # The first call on a village matches its string ids to rows (cxinfluence.village.ids): a
    # village read by load_village had that done by validation, so later calls -- and
    # every later stage of a run -- reuse it. Both costs are shown.
    cold, cold_cpu, _, _ = timed(lambda: influence_weights(village), 1)
    print(f"[0] first call on a village built in memory (includes matching {n_ties:,} ties' string ids "
          f"to rows once per village, as load_village's validation does): {cold:.2f} s wall, {cold_cpu:.2f} s CPU")
    wall, cpu, runs, weights = timed(lambda: influence_weights(village), args.repeat)
    print(f"[1] influence_weights(village), all accounts, end to end from the tables (ids already matched, "
          f"as after load_village), networkx default tol=1e-6: "
          f"best wall {wall:.2f} s, best CPU {cpu:.2f} s (runs: {', '.join(f'{x:.2f}' for x in runs)})")
    wall_t, cpu_t, runs_t, weights_t = timed(lambda: influence_weights(village, **tight), args.repeat)
    print(f"[2] same with tol={args.tight_tol:g}, max_iter=1000: best wall {wall_t:.2f} s, best CPU {cpu_t:.2f} s")
    sums = weights.groupby("account_id")["influence"].sum()
    print(f"    influence sums to 1 per account: max |sum - 1| = {np.abs(sums - 1).max():.1e} over {len(sums):,} accounts")

    # kernel alone on integer arrays (ids already resolved)
    st = village.stakeholders
    pos = pd.Index(st["stakeholder_id"].to_numpy(dtype=object))
    rel = village.relationships
    inf = rel["kind"].eq("influences").to_numpy()
    s = pos.get_indexer(rel["source_id"].to_numpy(dtype=object))
    d = pos.get_indexer(rel["target_id"].to_numpy(dtype=object))
    src, dst, w = np.where(inf, d, s), np.where(inf, s, d), rel["weight"].to_numpy()
    block = pd.factorize(st["account_id"])[0]
    kwall, kcpu, _, _ = timed(lambda: pagerank_arrays(block, src, dst, w), args.repeat)
    print(f"[3] PageRank kernel alone on integer-coded arrays, tol=1e-6: best wall {kwall:.2f} s, best CPU {kcpu:.2f} s")

    rng = np.random.default_rng(args.seed + 1)
    all_accounts = village.accounts["account_id"].to_numpy()
    sample = rng.choice(all_accounts, size=min(args.sample, len(all_accounts)), replace=False)
    nx_pr, loop, loop_cpu = analyst_loop(village, sample, tol=1e-6, max_iter=100)
    nx_tight, loop_t, loop_t_cpu = analyst_loop(village, sample, **tight)
    k = len(all_accounts) / len(sample)
    print(f"[4] networkx loop (DiGraph + nx.pagerank per account) on a random sample of {len(sample):,} accounts: "
          f"{loop:.2f} s wall / {loop_cpu:.2f} s CPU at tol=1e-6, {loop_t:.2f} s wall / {loop_t_cpu:.2f} s CPU "
          f"at tol={args.tight_tol:g}")
    print(f"    EXTRAPOLATED to {len(all_accounts):,} accounts (x{k:.0f}): {loop * k:.0f} s and {loop_t * k:.0f} s wall")
    print(f"[5] SPEED-UP vs the extrapolated nx loop, same tolerance on both sides, same run: "
          f"{loop * k / wall:.0f}x end to end at tol=1e-6 ({loop * k / kwall:.0f}x kernel alone); "
          f"{loop_t * k / wall_t:.0f}x at tol={args.tight_tol:g} (wall clock); by CPU time: "
          f"{loop_cpu * k / cpu:.0f}x end to end at tol=1e-6 ({loop_cpu * k / kcpu:.0f}x kernel alone), "
          f"{loop_t_cpu * k / cpu_t:.0f}x at tol={args.tight_tol:g}")
    print(f"    first call (id matching included): {loop * k / cold:.0f}x at tol=1e-6 (wall clock)")

    def max_diff(ours_df, ref):
        ours = pd.Series(ours_df["pagerank"].to_numpy(), index=ours_df["stakeholder_id"].to_numpy())
        ref = pd.Series(ref)
        return np.abs(ours.reindex(ref.index).to_numpy() - ref.to_numpy()).max(), len(ref)

    for label, ours_df, ref in (("tol=1e-6 both sides", weights, nx_pr),
                                (f"tol={args.tight_tol:g} both sides", weights_t, nx_tight)):
        diff, m = max_diff(ours_df, ref)
        print(f"[6] agreement with nx.pagerank, {label}, {len(sample):,} sampled accounts ({m:,} stakeholders): "
              f"max |diff| = {diff:.1e} -> {'OK' if diff < 1e-9 else 'FAIL'} (1e-9)")
    t = time.perf_counter()
    exact = exact_pagerank(block, src, dst, w)
    ours = pd.Series(weights_t["pagerank"].to_numpy(), index=weights_t["stakeholder_id"].to_numpy())
    diff = np.abs(ours.reindex(st["stakeholder_id"]).to_numpy() - exact).max()
    print(f"[7] EVERY account ({len(block):,} stakeholders), tol={args.tight_tol:g} vs the exact fixed point "
          f"(sparse direct solve, {time.perf_counter() - t:.1f} s): max |diff| = {diff:.1e} -> "
          f"{'OK' if diff < 1e-9 else 'FAIL'} (1e-9)")
    if args.full_check:
        nx_all, full, _ = analyst_loop(village, all_accounts, **tight)
        diff, m = max_diff(weights_t, nx_all)
        print(f"[8] FULL nx check, every account ({m:,} stakeholders, nx loop measured {full:.0f} s): "
              f"max |diff| = {diff:.1e} -> {'OK' if diff < 1e-9 else 'FAIL'} (1e-9)")

    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    influence_weights(village)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"[9] peak memory: process max RSS {peak_rss:,.0f} MiB (portfolio + every step above); "
          f"tracemalloc peak of one influence_weights call {peak / 2**20:,.0f} MiB")


if __name__ == "__main__":
    main()
