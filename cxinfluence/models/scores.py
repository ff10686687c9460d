"""The scores of :mod:`cxinfluence.models.compare`: AUC (weighted, and for the bootstrap replicates a few at a time),
Brier score, log loss, deviance and RMSE per row. Part of :mod:`cxinfluence.models.compare`, which re-exports
:func:`auc` and :func:`bootstrap_auc`.

The bootstrap AUC (:func:`bootstrap_auc`) is the optimised kernel; :func:`auc` with the replicate's weights per
row is its readable definition, and the test suite checks the two bit for bit.
"""

from __future__ import annotations

import numpy as np


def auc(y, score, weights=None, chunk=25):
    """Area under the ROC curve with ties counted 1/2, optionally weighted.

    ``weights`` may be a vector (one per row) or a matrix (replicates x rows)
    to score many bootstrap replicates at once (processed ``chunk`` rows of
    the matrix at a time to bound memory). With rows sorted by score, the
    numerator is ``sum_i w_i y_i (N_below(i) + N_tied(i) / 2)`` where
    ``N_below`` and ``N_tied`` are the weights of non-events scored lower
    than, and equal to, row ``i``.

    >>> auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    y = np.asarray(y, dtype=float)
    s = np.asarray(score, dtype=float)
    # unit weights: every partial sum below is an integer (or half of one), exact in any order, so the faster
    # unstable sort gives the same bits (4-5x faster on 400,000 scores); other weights keep a stable order
    order = np.argsort(s, kind="quicksort" if weights is None else "stable")
    s, y = s[order], y[order]
    new_group = np.r_[True, s[1:] != s[:-1]]
    ties = not new_group.all()
    if ties:
        gid = np.cumsum(new_group) - 1
        starts = np.flatnonzero(new_group)
        ends = np.r_[starts[1:], len(s)] - 1
        first, last = starts[gid], ends[gid]
    single = weights is None or np.ndim(weights) == 1
    W = np.ones((1, len(y))) if weights is None else np.atleast_2d(np.asarray(weights, dtype=float))
    out = np.empty(W.shape[0])
    for i in range(0, W.shape[0], chunk):
        w = W[i:i + chunk][:, order]
        wneg = w * (1.0 - y)
        wpos = w * y
        cum = np.cumsum(wneg, axis=1)
        if ties:
            below = np.where(first > 0, cum[:, np.maximum(first - 1, 0)], 0.0)
            tied = cum[:, last] - below
            num = (wpos * (below + 0.5 * tied)).sum(1)
        else:
            num = (wpos * cum).sum(1)  # a positive row adds no negative weight itself
        with np.errstate(invalid="ignore", divide="ignore"):
            out[i:i + chunk] = num / (wpos.sum(1) * wneg.sum(1))
    return float(out[0]) if single else out


def bootstrap_auc(y, score, groups, W):
    """AUC of every bootstrap replicate, ``W`` holding the weight of each
    group (account) per replicate; equals ``auc(y, score, W[:, groups])``.

    The numerator of a weighted AUC is a sum over pairs (event ``i``,
    non-event ``j``, ``j`` scored below ``i``, ties 1/2) of ``w_i w_j``.
    Sorting the larger class once, every row of the other class needs the
    weight of the larger class below it (and tied with it): prefix sums at
    a few "cut" positions. Those are sparse products, ``segments x groups``
    count matrices times ``W``, so a replicate costs a pass over the rows in
    compiled code rather than a sort-order gather and a cumulative sum of a
    replicates x rows matrix. Weights are counts, so every partial sum is an
    integer held exactly in float64, and the result is bit-identical to
    :func:`auc` with the same weights.

    Parameters
    ----------
    y : array of 0/1
    score : array
    groups : array of int
        Group code (0..G-1) of each row.
    W : array (replicates x G)
        Integer-valued weights (e.g. multinomial bootstrap counts).

    Examples
    --------
    >>> y = np.array([0, 0, 1, 1, 1]); s = np.array([0.1, 0.4, 0.35, 0.8, 0.4])
    >>> g = np.array([0, 1, 1, 2, 2]); W = np.array([[1, 1, 1], [2, 0, 1]])
    >>> bootstrap_auc(y, s, g, W).tolist() == auc(y, s, W[:, g]).tolist()
    True
    """
    return _bootstrap_auc(y, score, groups, np.asarray(W, dtype=float))


#: bootstrap replicates scored at a time: a portfolio's bootstrap products are (rows' cuts x this) wide, not
#: (cuts x every replicate): at a million accounts that is a few hundred MiB instead of gigabytes
REPLICATE_CHUNK = 16


def replicate_dot(W, v, chunk=REPLICATE_CHUNK):
    """``W @ v`` for replicate x group weights ``W`` held in any numeric dtype (compact integer counts), converted
    to float64 ``chunk`` replicates at a time (never the whole matrix at once).

    >>> W = np.array([[1, 0, 2], [0, 3, 0]], dtype=np.uint8)
    >>> replicate_dot(W, np.array([0.5, 1.0, 2.0])).tolist()
    [4.5, 3.0]
    """
    v = np.asarray(v, dtype=float)
    return np.concatenate([np.asarray(W[i:i + chunk], dtype=float) @ v for i in range(0, W.shape[0], chunk)])


def _class_weights(y, groups, W):
    """The weight of the events and of the non-events in each replicate, ``(W @ events per group, W @ non-events
    per group)``: the same for every scheme scored on the same rows, so computed once."""
    pos = np.asarray(y, dtype=float) == 1
    groups = np.asarray(groups)
    n = W.shape[1]
    return (replicate_dot(W, np.bincount(groups[pos], minlength=n)),
            replicate_dot(W, np.bincount(groups[~pos], minlength=n)))


def _auc_counts(y, score, groups, n_groups):
    """The pair counts behind :func:`bootstrap_auc` for one score: ``(big, small, big_is_events)``, two sparse
    ``cuts x groups`` count matrices (CSR): the larger class's rows per segment between consecutive cuts, and
    each smaller-class row at its two cuts (below, and below or tied; one entry of 2 when nothing ties)."""
    import scipy.sparse as sp

    y = np.asarray(y, dtype=float)
    s = np.asarray(score, dtype=float)
    groups = np.asarray(groups)
    pos = y == 1
    big = pos if pos.sum() >= (~pos).sum() else ~pos
    s_big = s[big]
    order = np.argsort(s_big, kind="mergesort")
    s_big, g_big = s_big[order], groups[big][order]
    s_small, g_small = s[~big], groups[~big]
    # positions in the sorted larger class: rows below, and below or tied
    lo = np.searchsorted(s_big, s_small, side="left")
    hi = np.searchsorted(s_big, s_small, side="right")
    # the distinct positions, in order, by marking them (a pass, not a sort); cut_of[position] = its cut number
    mark = np.zeros(len(s_big) + 1, dtype=bool)
    mark[lo] = True
    mark[hi] = True
    cuts = np.flatnonzero(mark)
    cut_of = np.cumsum(mark) - 1
    shape = (len(cuts), n_groups)
    # segment q holds the larger-class rows between cuts q-1 and q (rows past the last cut add nothing);
    # rows are already in segment order, so the CSR arrays are built directly
    last = cuts[-1] if len(cuts) else 0
    big_counts = sp.csr_matrix((np.ones(last), g_big[:last], np.r_[0, cuts]), shape=shape)
    if np.array_equal(lo, hi):  # no ties across the classes: one entry of 2 per row
        at, rows, ones = cut_of[lo], g_small, np.full(len(lo), 2.0)
    else:
        at, rows = np.r_[cut_of[lo], cut_of[hi]], np.r_[g_small, g_small]
        ones = np.ones(len(at))
    # (cut, group) entries in any order: the COO -> CSR conversion places them by a counting pass, no sort
    # (duplicates are summed by the product as they are)
    small_counts = sp.coo_matrix((ones, (at, rows)), shape=shape).tocsr()
    return big_counts, small_counts, big is pos


def _bootstrap_auc(y, score, groups, W, class_weights=None, chunk=REPLICATE_CHUNK):
    """:func:`bootstrap_auc` with ``W`` (replicates x groups) in any numeric dtype (compact integer counts),
    scored ``chunk`` replicates at a time; ``class_weights`` (:func:`_class_weights`, computed here when absent)
    once for all the schemes a caller scores on the same rows. Every product is of integers held exactly, so
    the chunks give the bits one product over every replicate gives."""
    big, small, big_is_pos = _auc_counts(y, score, groups, W.shape[1])
    if class_weights is None:
        class_weights = _class_weights(y, groups, W)
    exact32 = _exact_in_float32(W, len(np.asarray(y)))
    if exact32:  # float32 weights halve the memory the products stream through
        big, small = big.astype(np.float32), small.astype(np.float32)
    twice = np.empty(W.shape[0])
    for i in range(0, W.shape[0], chunk):
        Wt = np.ascontiguousarray(np.asarray(W[i:i + chunk]).T, dtype=np.float32 if exact32 else np.float64)
        below = big @ Wt  # cut x replicate: larger-class weight per segment ...
        np.cumsum(below, axis=0, out=below)  # ... accumulated: weight below each cut
        # twice the sum over smaller-class rows of w_j (larger below + larger below or tied)
        twice[i:i + chunk] = np.einsum("qr,qr->r", below, small @ Wt, dtype=np.float64, casting="safe")
    n_pos, n_neg = class_weights
    n_big, n_small = (n_pos, n_neg) if big_is_pos else (n_neg, n_pos)
    if big_is_pos:  # pairs count events above each non-event
        twice = 2.0 * n_big * n_small - twice
    with np.errstate(invalid="ignore", divide="ignore"):
        return (twice / 2.0) / (n_big * n_small)


def _row_losses(y, p, kind, family=None):
    """Per-row losses whose (weighted) means are the scores."""
    if kind == "rebuy":
        q = np.clip(p, 1e-15, 1 - 1e-15)
        return {"brier": (p - y) ** 2, "log_loss": -(y * np.log(q) + (1 - y) * np.log1p(-q))}
    if family is None:  # ols_log: Gaussian deviance is the squared error
        sq = (y - p) ** 2
        return {"deviance": sq, "rmse": sq}
    return {"deviance": family.resid_dev(y, p) ** 2, "rmse": (y - p) ** 2}


def _scores(y, p, kind, family=None):
    losses = _row_losses(y, p, kind, family)
    out = {}
    if kind == "rebuy":
        out["auc"] = auc(y, p)
    for k, v in losses.items():
        out[k] = float(np.sqrt(v.mean())) if k == "rmse" else float(v.mean())
    return out


def _exact_in_float32(W, n_rows):
    """Whether every partial sum of the weights ``W`` over ``n_rows`` rows is an integer below 2**24, held exactly
    in float32 (so the bootstrap AUCs stay bit-identical in float32; the products are summed in float64)."""
    W = np.asarray(W)
    top = float(W.max(initial=0))
    return n_rows * top * 2 < 2**24 and (W.dtype.kind in "iub" or np.array_equal(W, np.floor(W)))
