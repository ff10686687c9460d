"""The scores of :mod:`cxinfluence.models.compare`: AUC (weighted, and for every bootstrap replicate at once),
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
    order = np.argsort(s, kind="mergesort")
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
    W = np.asarray(W, dtype=float)
    return _bootstrap_auc(y, score, groups, np.ascontiguousarray(W.T), _class_weights(y, groups, W))


def _class_weights(y, groups, W):
    """The weight of the events and of the non-events in each replicate, ``(W @ events per group, W @ non-events
    per group)``: the same for every scheme scored on the same rows, so computed once, from the float64 weights."""
    pos = np.asarray(y, dtype=float) == 1
    groups = np.asarray(groups)
    n = W.shape[1]
    return (W @ np.bincount(groups[pos], minlength=n).astype(float),
            W @ np.bincount(groups[~pos], minlength=n).astype(float))


def _bootstrap_auc(y, score, groups, Wt, class_weights=None):
    """:func:`bootstrap_auc` with the weights as groups x replicates
    (C-contiguous), so that a caller scoring many schemes transposes once;
    ``class_weights`` (:func:`_class_weights`, computed here when absent)
    likewise once for all schemes."""
    import scipy.sparse as sp

    y = np.asarray(y, dtype=float)
    s = np.asarray(score, dtype=float)
    groups = np.asarray(groups)
    pos = y == 1
    if class_weights is None:
        class_weights = _class_weights(y, groups, np.asarray(Wt, dtype=float).T)
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
    shape = (len(cuts), Wt.shape[0])
    # segment q holds the larger-class rows between cuts q-1 and q (rows past the last cut add nothing);
    # rows are already in segment order, so the CSR arrays are built directly
    # float32 weights (see _bootstrap_weights_t) halve the memory the products stream through
    dt = Wt.dtype if Wt.dtype == np.float32 else np.float64
    big_counts = sp.csr_matrix((np.ones(cuts[-1] if len(cuts) else 0, dtype=dt), g_big[:cuts[-1] if len(cuts) else 0],
                                np.r_[0, cuts]), shape=shape)
    if np.array_equal(lo, hi):  # no ties across the classes: one entry of 2 per row
        at, rows, ones = cut_of[lo], g_small, np.full(len(lo), 2.0, dtype=dt)
    else:
        at, rows = np.r_[cut_of[lo], cut_of[hi]], np.r_[g_small, g_small]
        ones = np.ones(len(at), dtype=dt)
    # (cut, group) entries in any order: the COO -> CSR conversion places them by a counting pass, no sort
    # (duplicates are summed by the product as they are)
    small_counts = sp.coo_matrix((ones, (at, rows)), shape=shape).tocsr()
    below = big_counts @ Wt  # cut x replicate: larger-class weight per segment ...
    np.cumsum(below, axis=0, out=below)  # ... accumulated: weight below each cut
    # twice the sum over smaller-class rows of w_j (larger below + larger below or tied)
    twice = np.einsum("qr,qr->r", below, small_counts @ Wt, dtype=np.float64, casting="safe")
    n_pos, n_neg = class_weights
    n_big, n_small = (n_pos, n_neg) if big is pos else (n_neg, n_pos)
    if big is pos:  # pairs count events above each non-event
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


def _bootstrap_weights_t(W, n_rows):
    """``W`` transposed (accounts x replicates, C-contiguous) for :func:`_bootstrap_auc`: in float32 when every
    partial sum of it over ``n_rows`` rows is an integer below 2**24 (held exactly, so the AUCs stay bit-identical;
    the products are summed in float64), else float64."""
    exact32 = n_rows * float(W.max(initial=0.0)) * 2 < 2**24 and np.array_equal(W, np.floor(W))
    return np.ascontiguousarray(W.T, dtype=np.float32 if exact32 else np.float64)
