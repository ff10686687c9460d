"""Cut vertices of every account at once equal networkx's articulation points on the union graph."""

import networkx as nx
import numpy as np
import pytest

from cxinfluence.network.cuts import articulation_points_blocks, articulation_points_reference


def _random_portfolio(rng, k, max_size, density):
    sizes = rng.integers(1, max_size + 1, k)
    block = rng.permutation(np.repeat(np.arange(k), sizes))  # people of an account need not sit together
    src, dst = [], []
    for a in range(k):
        nodes = np.flatnonzero(block == a)
        m = rng.integers(0, int(density * len(nodes)) + 1)
        src.extend(rng.choice(nodes, m).tolist())
        dst.extend(rng.choice(nodes, m).tolist())
    return block, np.array(src, dtype=np.int64), np.array(dst, dtype=np.int64)


def _accounts(graphs):
    """``(block, src, dst)`` of the graphs side by side, one account each (nodes numbered on)."""
    block, src, dst, start = [], [], [], 0
    for a, g in enumerate(graphs):
        block += [a] * g.number_of_nodes()
        src += [start + u for u, _ in g.edges()]
        dst += [start + v for _, v in g.edges()]
        start += g.number_of_nodes()
    return np.array(block), np.array(src), np.array(dst)


@pytest.mark.parametrize("seed", range(6))
def test_fuzzed_portfolios_equal_networkx(seed):
    rng = np.random.default_rng(seed)
    for _ in range(60):
        block, src, dst = _random_portfolio(rng, int(rng.integers(1, 15)), int(rng.integers(1, 25)),
                                            float(rng.uniform(0.3, 3.0)))
        np.testing.assert_array_equal(articulation_points_blocks(block, src, dst),
                                      articulation_points_reference(block, src, dst))


def test_shapes_a_buying_center_takes():
    # a reporting tree (every manager of someone cuts), a cycle (nobody cuts), a complete graph, a
    # star with repeated and self ties, two triangles sharing one person (she cuts), and a person alone
    cases = [nx.balanced_tree(2, 3), nx.cycle_graph(7), nx.complete_graph(6),
             nx.MultiGraph([(0, 1), (0, 1), (0, 2), (0, 0), (0, 3)]),
             nx.Graph([(0, 1), (1, 2), (2, 0), (2, 3), (3, 4), (4, 2)]), nx.empty_graph(1)]
    block, src, dst = _accounts(cases)
    block = block * 3  # account codes with gaps
    got = articulation_points_blocks(block, src, dst)
    np.testing.assert_array_equal(got, articulation_points_reference(block, src, dst))
    assert got[:15].sum() == 7 and not got[15:28].any() and got[28] and got[32 + 2] and got.sum() == 9


def test_one_large_account_beside_small_ones():
    rng = np.random.default_rng(3)
    big = nx.connected_watts_strogatz_graph(400, 4, 0.1, seed=1)
    tail = nx.path_graph(5)  # a chain hanging off the large account: its inner people cut
    big = nx.union(big, tail, rename=("", "t"))
    big.add_edge("0", "t0")
    big = nx.convert_node_labels_to_integers(big)
    small_block, small_src, small_dst = _random_portfolio(rng, 50, 8, 1.5)
    n_big = big.number_of_nodes()
    block = np.r_[np.zeros(n_big, dtype=int), small_block + 1]
    src = np.r_[[u for u, _ in big.edges()], small_src + n_big]
    dst = np.r_[[v for _, v in big.edges()], small_dst + n_big]
    got = articulation_points_blocks(block, src, dst)
    np.testing.assert_array_equal(got, articulation_points_reference(block, src, dst))
    assert got[:n_big].sum() >= 5


def test_nothing_to_cut():
    empty = np.zeros(0, dtype=int)
    assert articulation_points_blocks(empty, empty, empty).shape == (0,)
    assert not articulation_points_blocks(np.zeros(4, dtype=int), empty, empty).any()
    assert not articulation_points_blocks(np.zeros(2, dtype=int), np.array([0, 1]), np.array([0, 1])).any()


def test_deep_trees_and_many_pieces_of_one_account():
    # a path of 3,000 people (a depth-first tree 3,000 levels deep: every inner person cuts), a long cycle with
    # one chord and a pendant (only the pendant's anchor cuts), and one account in three pieces
    path = nx.path_graph(3000)
    ring = nx.cycle_graph(1500)
    ring.add_edges_from([(0, 750), (1499, 1500)])
    pieces = nx.disjoint_union_all([nx.path_graph(3), nx.star_graph(4), nx.complete_graph(4)])
    graphs = [path, ring, pieces]
    block, src, dst = _accounts(graphs)
    order = np.random.default_rng(4).permutation(len(src))  # ties in no particular order
    got = articulation_points_blocks(np.array(block), np.array(src)[order], np.array(dst)[order])
    np.testing.assert_array_equal(got, articulation_points_reference(block, src, dst))
    assert got[1:2999].all() and not got[[0, 2999]].any()
    assert got[3000:4501].sum() == 1 and got[3000 + 1499]
    assert got[4501:].sum() == 2  # the path's middle and the star's centre
