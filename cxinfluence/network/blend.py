"""The blend of :mod:`cxinfluence.network.influence` on arrays: role weights from a role column, and
each person's ``role_prior``, ``rating_share`` and ``influence`` from their account's PageRank, role
weights and ratings (the module docstring of :mod:`~cxinfluence.network.influence` has the formula).

:func:`influence_of_blocks` is the ``influence`` column of
:func:`~cxinfluence.network.influence.influence_weights` for callers that already hold the people as
rows and their ties as positions (coverage's villages at each departure): the same arithmetic, so the
same bits, without building a village.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..village.ids import arrow_identity, factorized, positions
from ..village.schema import UNKNOWN_ROLE_WEIGHT
from .pagerank import pagerank_blocks


def _text_positions(column: pd.Series, values: list) -> np.ndarray:
    """Position of each entry of a text column among ``values`` (-1: not listed or blank):
    one Arrow hash lookup on the column's own buffers when it is Arrow text (no copy),
    else :func:`cxinfluence.village.ids.positions`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = arrow_identity(column)
    if arr is None and column.dtype == object and all(isinstance(v, str) for v in values):
        # Python strings (a role column read as objects): hash the column once, look up its few distinct values
        codes, distinct = pd.factorize(column, use_na_sentinel=True)
        if all(isinstance(d, str) for d in distinct):
            where = {v: i for i, v in reversed(list(enumerate(values)))}  # a repeated value: its first position
            return np.array([where.get(d, -1) for d in distinct] + [-1], dtype=np.int64)[codes]
    if arr is None or not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)) \
            or not all(isinstance(v, str) for v in values):
        return positions(column, pd.Series(values, dtype="str"))
    hit = pc.index_in(arr, value_set=pa.array(values, type=arr.type))
    hit = hit.combine_chunks() if isinstance(hit, pa.ChunkedArray) else hit
    return (hit if hit.null_count == 0 else pc.fill_null(hit, -1)).to_numpy(zero_copy_only=False)


def role_codes_of(village, role: pd.Series):
    """``(codes, names)``: the stakeholders' ``role`` column factorized (blank: -1), once per village for the
    Arrow array behind it (:func:`cxinfluence.village.ids.factorized`): the influence blend and the sentiment
    schemes code the same millions of labels."""
    return factorized(village, role, "stakeholder role codes")


def role_weights_at(village, rows, priors: dict):
    """:func:`role_weight_of` of ``village.stakeholders["role"]`` at ``rows``, read off the village's role codes
    (:func:`role_codes_of`): a weight per distinct role, then one gather. None when that does not apply (no
    role column, a column not backed by Arrow text, a role weight keyed by something other than text): the
    caller then uses :func:`role_weight_of`, whose matching is the definition."""
    role = village.stakeholders["role"] if "role" in village.stakeholders.columns else None
    if role is None or arrow_identity(role) is None or not all(isinstance(k, str) for k in priors):
        return None
    codes, names = role_codes_of(village, role)
    if not all(isinstance(n, str) for n in names):
        return None
    by_code = np.array([priors.get(n, UNKNOWN_ROLE_WEIGHT) for n in names] + [UNKNOWN_ROLE_WEIGHT], dtype=float)
    return by_code[codes[rows]]  # code -1 (blank) reads the last slot


def role_weight_of(role, priors: dict, n: int) -> np.ndarray:
    """Each person's role weight (``priors``; :data:`UNKNOWN_ROLE_WEIGHT` for a blank or unlisted role):
    one hash pass over the role column (``None``: nobody has a role)."""
    role_w = np.full(n, UNKNOWN_ROLE_WEIGHT)
    if role is not None and priors:
        listed = _text_positions(role, list(priors))
        known = listed >= 0
        role_w[known] = np.array(list(priors.values()), dtype=float)[listed[known]]
    return role_w


def _blend(block, pagerank, role_w, rating, graph_share, role_share, rating_share) -> dict:
    """``role_prior, rating_share, rating_imputed, influence`` of people grouped by account (``block``:
    0, 0, 1, ... contiguous): the blend of the module docstring. Sums and means are taken per account and
    repeated over its people (contiguous blocks: no gather); each division is the one the formula writes,
    so the bits do not depend on the layout (tests/test_blend.py holds the formula written plainly)."""
    k = int(block[-1]) + 1 if len(block) else 0
    sizes = np.bincount(block, minlength=k)

    def per_account(values):
        return np.bincount(block, weights=values, minlength=k)

    role_total = np.repeat(per_account(role_w), sizes)
    role_prior = np.divide(role_w, role_total, out=np.full(len(block), np.nan), where=role_total > 0)

    rated = ~np.isnan(rating)
    n_rated = per_account(rated)
    has_rating = n_rated > 0
    mean_rating = per_account(np.where(rated, rating, 0.0)) / np.where(has_rating, n_rated, 1.0)
    # an account nobody rated has mean 0, so every filled rating is 0 there: no mask before the sum
    filled = np.where(rated, rating, np.repeat(mean_rating, sizes))
    has = np.repeat(has_rating, sizes)
    rating_part = np.divide(filled, np.repeat(per_account(filled), sizes), out=np.full(len(block), np.nan),
                            where=has)
    return {"role_prior": role_prior, "rating_share": rating_part, "rating_imputed": has & ~rated,
            "influence": blend_shares(pagerank, role_prior, rating_part, graph_share, role_share, rating_share)}


def blend_shares(pagerank, role_prior, rating_part, graph_share, role_share, rating_share) -> np.ndarray:
    """``(g PR + r R + t T) / (g + r + t)`` per person, a component that is NaN (no rating in the account)
    left out of both sums; PageRank where every positive share's component is missing. The components are
    shares (finite) or NaN.

    >>> blend_shares(np.array([0.6, 0.4]), np.array([0.5, 0.5]), np.array([np.nan, np.nan]), 0.5, 0.3, 0.2).round(4).tolist()
    [0.5625, 0.4375]
    """
    num = graph_share * np.asarray(pagerank, dtype=float)
    den = np.full(len(num), float(graph_share))
    for share, comp in ((role_share, role_prior), (rating_share, rating_part)):
        available = ~np.isnan(comp)
        np.add(num, share * np.asarray(comp, dtype=float), out=num, where=available)  # NaN terms left out
        np.add(den, share, out=den, where=available)
    return np.divide(num, den, out=np.array(pagerank, dtype=float), where=den > 0)


def influence_of_blocks(block, src, dst, w, role_w, rating, *, alpha=0.85, graph_share=0.5, role_share=0.3,
                        rating_share=0.2, max_iter=100, tol=1.0e-10, method="exact") -> np.ndarray:
    """The ``influence`` column of :func:`influence_weights` from integer arrays: people grouped by
    account (``block`` contiguous from 0), their endorsement edges (``src -> dst`` positions, weights
    ``w``; no self-ties), role weights (:func:`role_weight_of`) and ratings (NaN: blank). For callers that
    already hold the people as rows (coverage's villages at each departure); the same arithmetic as
    :func:`influence_weights`, so the same bits."""
    pagerank, _ = pagerank_blocks(block, src, dst, w, alpha=alpha, max_iter=max_iter, tol=tol, method=method)
    return _blend(block, pagerank, role_w, rating, graph_share, role_share, rating_share)["influence"]
