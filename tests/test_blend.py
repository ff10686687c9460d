"""The blend of influence components (network/blend.py) against the formula written plainly, bit for bit."""

import numpy as np
import pytest

from cxinfluence.network.blend import _blend, blend_shares


def _formula(block, pagerank, role_w, rating, g, r, t):
    """The module docstring's blend, one masked expression per line (the code before the per-account sums)."""
    k = int(block[-1]) + 1
    sizes = np.bincount(block, minlength=k)

    def account_sum(values):
        return np.repeat(np.bincount(block, weights=values, minlength=k), sizes)

    role_total = account_sum(role_w)
    role_ok = role_total > 0
    role_prior = np.where(role_ok, role_w / np.where(role_ok, role_total, 1.0), np.nan)
    rated = ~np.isnan(rating)
    n_rated = account_sum(rated.astype(float))
    mean_rating = account_sum(np.where(rated, rating, 0.0)) / np.where(n_rated > 0, n_rated, 1.0)
    filled = np.where(rated, rating, mean_rating)
    has_rating = n_rated > 0
    rating_total = account_sum(np.where(has_rating, filled, 0.0))
    rating_part = np.where(has_rating, filled / np.where(has_rating, rating_total, 1.0), np.nan)
    num = g * pagerank
    den = np.full(len(pagerank), float(g))
    for share, comp in ((r, role_prior), (t, rating_part)):
        available = ~np.isnan(comp)
        num = num + np.where(available, share * np.nan_to_num(comp), 0.0)
        den = den + np.where(available, share, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        influence = np.where(den > 0, num / np.where(den > 0, den, 1.0), pagerank)
    return {"role_prior": role_prior, "rating_share": rating_part, "rating_imputed": has_rating & ~rated,
            "influence": influence}


def _people(seed, n_accounts=3_000):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 12, n_accounts)
    block = np.repeat(np.arange(n_accounts), sizes)
    pagerank = rng.random(len(block))
    pagerank /= np.repeat(np.bincount(block, weights=pagerank), sizes)
    role_w = rng.choice([0.0, 0.5, 1.0, 2.0, 3.0], len(block))
    role_w[np.repeat(rng.random(n_accounts) < 0.05, sizes)] = 0.0  # accounts whose roles all weigh 0
    rating = rng.integers(1, 6, len(block)).astype(float)
    rating[rng.random(len(block)) < 0.4] = np.nan
    rating[np.repeat(rng.random(n_accounts) < 0.2, sizes)] = np.nan  # accounts nobody rated
    return block, pagerank, role_w, rating


@pytest.mark.parametrize("shares", [(0.5, 0.3, 0.2), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0),
                                    (0.0, 0.3, 0.2), (2.0, 1.0, 7.0)])
@pytest.mark.parametrize("seed", [1, 2])
def test_blend_is_the_formula_bit_for_bit(shares, seed):
    block, pagerank, role_w, rating = _people(seed)
    got = _blend(block, pagerank, role_w, rating, *shares)
    want = _formula(block, pagerank, role_w, rating, *shares)
    assert got.keys() == want.keys()
    for name in want:
        assert got[name].dtype == want[name].dtype, name
        assert np.array_equal(got[name], want[name], equal_nan=True), name


def test_blend_shares_leaves_out_missing_components_and_keeps_pagerank_without_any():
    pr, role, rating = np.array([0.6, 0.4, 1.0]), np.array([0.5, 0.5, np.nan]), np.array([np.nan, np.nan, np.nan])
    assert blend_shares(pr, role, rating, 0.5, 0.3, 0.2).tolist() == [(0.3 + 0.15) / 0.8, (0.2 + 0.15) / 0.8, 1.0]
    assert blend_shares(pr, role, rating, 0.0, 0.0, 1.0).tolist() == pr.tolist()  # no share available: PageRank


def test_role_weights_from_the_village_codes_equal_the_role_columns_own_matching():
    import pandas as pd

    from cxinfluence.network.blend import role_weight_of, role_weights_at
    from cxinfluence.village.core import Village
    from cxinfluence.village.schema import ROLE_WEIGHTS

    rng = np.random.default_rng(5)
    labels = np.array(["user", "buyer", "decider", "gatekeeper", "influencer", "Chief Wizard", "", None], dtype=object)
    roles = pd.array(labels[rng.integers(0, len(labels), 4_000)], dtype="str")
    v = Village(pd.DataFrame(), pd.DataFrame({"role": roles}), pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
    rows = np.sort(rng.choice(len(roles), 2_500, replace=False))
    for priors in (dict(ROLE_WEIGHTS), {"user": 0.0, "Chief Wizard": 7.5, "": 2.0}, {}):
        want = role_weight_of(v.stakeholders["role"], priors, len(roles))[rows]
        got = role_weights_at(v, rows, priors)
        assert np.array_equal(got, want), priors
    assert role_weights_at(v, rows, {1: 2.0}) is None  # a key that is not text: the column's own matching
    as_objects = Village(pd.DataFrame(), pd.DataFrame({"role": roles.astype(object)}), pd.DataFrame(), pd.DataFrame(),
                         pd.DataFrame())
    got = role_weights_at(as_objects, rows, dict(ROLE_WEIGHTS))  # None where the column is not Arrow text
    want = role_weight_of(as_objects.stakeholders["role"], dict(ROLE_WEIGHTS), len(roles))[rows]
    assert got is None or np.array_equal(got, want)
