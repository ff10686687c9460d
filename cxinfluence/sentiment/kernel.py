"""The all-schemes kernel: every account sentiment scheme from integer-coded arrays in one pass
(:func:`schemes_from_codes`), split into its steps. The readable reference it is tested equal to
is :mod:`cxinfluence.sentiment.schemes_reference`; the estimators are in
:mod:`cxinfluence.sentiment.estimators`.
"""

from __future__ import annotations

import numpy as np

from ..exceptions import MetricError
from .estimators import (VETO_THRESHOLD, _SE_SCHEMES, _heard_ci, _wmean_clean, _z, eb_shrink, impute_unheard,
                         nested_mean, veto_floor, veto_floor_interval, weighted_group_mean)


def schemes_from_codes(resp_stakeholder, resp_sentiment, stakeholder_account, stakeholder_role,
                       stakeholder_veto, stakeholder_influence, n_accounts, *, resp_weight=None,
                       resp_nps=None, resp_time=None, stakeholder_active=None, sorted_by_stakeholder=False,
                       account_segment=None, role_weights=None, nest_codes=None, nest_weights=None,
                       veto_threshold=VETO_THRESHOLD, veto_margin=0.25, unheard="impute", conf_level=0.95):
    """All schemes for all accounts from integer codes (the vectorised core).

    Parameters
    ----------
    resp_stakeholder : int array (n_responses,)
        Stakeholder code (row in the stakeholder arrays) of each usable
        response; without ``resp_time`` they must be in date order (the last
        NPS answer wins).
    resp_sentiment : float array
        Response sentiment on ``[-1, 1]``; NaN = no item answered, or a
        response to ignore (outside the window).
    stakeholder_account, stakeholder_role : int arrays (n_stakeholders,)
        Account code (0..n_accounts-1) and role code (index into
        ``role_weights``) of each active stakeholder.
    stakeholder_veto : bool array
    stakeholder_influence : float array
        Influence, summing to 1 over each account's active stakeholders
        (NaN for an account without influence weights).
    resp_weight : float array, optional
        Recency weights (default 1); a weight of 0 marks a response as not
        usable, like a NaN sentiment.
    resp_nps : float array, optional
        NPS answer of each response (NaN = not asked); ``nps`` is NaN without it.
    resp_time : int array, optional
        Response date as an integer (e.g. days since 1970). When given, the
        latest NPS answer is the one with the largest time (ties: later
        position), so responses need not be sorted.
    stakeholder_active : bool array (n_stakeholders,), optional
        Who is active at the as-of date (default all). Inactive people are
        left out of every count and scheme, so the caller need not re-code
        (or filter) the responses of people who left.
    sorted_by_stakeholder : bool
        Promise that responses are sorted by stakeholder, then time (e.g.
        sorted once per village). Reductions then run over contiguous memory
        and the latest NPS answer is found from segment ends, without
        ``resp_time``.
    account_segment : int array (n_accounts,), optional
        Shrinkage target group (default: one portfolio group).
    role_weights : float array
        Weight per role code (default all 1).
    nest_codes, nest_weights : optional
        Subgroup code per stakeholder and weight per subgroup for ``nested``
        (default: the role codes and ``role_weights``).
    veto_threshold, veto_margin, unheard, conf_level
        As in :func:`account_sentiment`.

    Returns
    -------
    (accounts, stakeholders) : two dicts of arrays
        Per account: every column of :func:`account_sentiment` except ids;
        per stakeholder: ``sentiment``, ``n_responses``, ``nps``.

    Notes
    -----
    The steps, each a function below: usable responses, stakeholder means,
    latest NPS answers, account counts, the level schemes (mean, nps,
    role_weighted), the influence schemes (shrunk, influence_weighted),
    the veto floor, nested, disagreement, then the intervals clipped to
    ``[-1, 1]``. :func:`cxinfluence.sentiment.schemes_reference.schemes_reference`
    computes the same from the formulas with pandas (tested equal to 1e-12).
    """
    A = int(n_accounts)
    r_sh = np.asarray(resp_stakeholder, dtype=np.int64)
    x = np.asarray(resp_sentiment, dtype=float)
    s_acc = np.asarray(stakeholder_account, dtype=np.int64)
    s_role = np.asarray(stakeholder_role, dtype=np.int64)
    S = len(s_acc)
    infl = np.asarray(stakeholder_influence, dtype=float)
    veto = np.asarray(stakeholder_veto, bool)
    role_w = np.ones(int(s_role.max(initial=0)) + 1) if role_weights is None else np.asarray(role_weights, float)
    if nest_codes is None:
        nest_codes, nest_weights = s_role, role_w
    act = np.ones(S, dtype=bool) if stakeholder_active is None else np.asarray(stakeholder_active, dtype=bool)

    idx, sh_u, x_u, w_u = _usable_responses(r_sh, x, resp_weight)
    s, k, heard, sigma_within2 = _stakeholder_means(sh_u, x_u, w_u, act, S)
    s_nps = _latest_nps(resp_nps, resp_time, idx, sh_u, act, S, sorted_by_stakeholder)
    del sh_u, x_u, w_u, idx

    out, infl_ok = _account_counts(s_acc, act, heard, k, infl, A)
    h = np.flatnonzero(heard)  # account schemes over the heard people only (smaller arrays, no NaN)
    sh, gh = s[h], s_acc[h]
    cis = _level_schemes(out, sh, gh, s_acc, s_nps, role_w[s_role[h]], A, conf_level)
    y = _influence_schemes(out, cis, sh, gh, infl_ok[h], account_segment, A, unheard, conf_level)
    _veto_scheme(out, cis, s, k, s_acc, veto, sigma_within2, A, veto_threshold, veto_margin, conf_level)
    m, se, n, ne2 = nested_mean(sh, gh, np.asarray(nest_codes)[h], np.asarray(nest_weights, dtype=float), A)
    out["nested"], out["nested_se"] = m, se
    cis["nested"] = _heard_ci(m, se, n, ne2, conf_level)
    out["disagreement"] = _disagreement(sh, gh, infl_ok[h], y, A)

    z = _z(conf_level)
    cis["shrunk"] = (out["shrunk"] - z * out["shrunk_se"], out["shrunk"] + z * out["shrunk_se"])  # EB: normal
    for name in _SE_SCHEMES:
        out[f"{name}_ci_low"] = np.clip(cis[name][0], -1.0, 1.0)
        out[f"{name}_ci_high"] = np.clip(cis[name][1], -1.0, 1.0)
    stake = {"sentiment": s, "n_responses": k, "nps": s_nps}
    return out, stake


def _usable_responses(r_sh, x, resp_weight):
    """Step 1 of :func:`schemes_from_codes`: the usable responses (a sentiment and, if weighted, a positive
    weight), compressed once so that every later pass runs over them only, with no masks."""
    ok = x == x  # not NaN
    if resp_weight is not None:
        ok &= np.asarray(resp_weight, dtype=float) > 0  # weight 0 = not usable (e.g. outside the window)
    idx = np.flatnonzero(ok)  # increasing: keeps the caller's order
    w_u = None if resp_weight is None else np.asarray(resp_weight, dtype=float)[idx]
    return idx, r_sh[idx], x[idx], w_u


def _stakeholder_means(sh_u, x_u, w_u, act, S):
    """Step 2: each stakeholder's (recency-)weighted mean ``s``, answers ``k``, heard flag, and the pooled
    within-person variance of single answers around the person's mean."""
    k = np.bincount(sh_u, minlength=S)
    k[~act] = 0
    wx = x_u if w_u is None else w_u * x_u
    sw = k.astype(float) if w_u is None else np.bincount(sh_u, w_u, S)
    swx = np.bincount(sh_u, wx, S)
    heard = k > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        s = np.where(heard, swx / sw, np.nan)
    # pooled within-person variance of single answers around the person's (weighted) mean:
    # sum_j w_j (x_j - s)^2 = sum w x^2 - s sum w x (no gather of s back to the responses), over
    # sum_i W_i (k_i - 1) / k_i, which is sum_i (k_i - 1) without recency weights
    swxx = np.bincount(sh_u, wx * x_u, S)
    del wx
    with np.errstate(invalid="ignore", divide="ignore"):
        within_df = float(np.sum((sw * (k - 1) / k)[heard]))
        ss_within = float(np.sum(np.maximum(swxx - s * swx, 0.0)[heard]))
    sigma_within2 = ss_within / within_df if within_df > 0 else np.nan
    return s, k, heard, sigma_within2


def _latest_nps(resp_nps, resp_time, idx, sh_u, act, S, sorted_by_stakeholder):
    """Step 3: each active stakeholder's latest NPS answer among the usable responses (NaN: none)."""
    s_nps = np.full(S, np.nan)
    if resp_nps is None:
        return s_nps
    nps = np.asarray(resp_nps, dtype=float)[idx]
    has = np.flatnonzero(nps == nps)
    if sorted_by_stakeholder:
        # sorted by (stakeholder, time): the last row of each stakeholder's run is the latest
        sh_has = sh_u[has]
        end = np.ones(len(has), dtype=bool)
        np.not_equal(sh_has[1:], sh_has[:-1], out=end[:-1])
        s_nps[sh_has[end]] = nps[has[end]]
    else:
        # the largest (time, position) key wins
        key = has
        if resp_time is not None and len(has):
            t = np.asarray(resp_time, dtype=np.int64)[idx[has]]
            t -= t.min()
            if int(t.max()) >= np.iinfo(np.int64).max // max(len(idx), 1):
                raise MetricError("resp_time spans too wide a range to combine with positions; pass "
                                  "days (e.g. dates.astype('datetime64[D]').astype(int)), not nanoseconds")
            t *= len(idx)
            t += has
            key = t
        last = np.full(S, -1, dtype=np.int64)
        np.maximum.at(last, sh_u[has], key)
        got = last >= 0
        s_nps[got] = nps[last[got] % max(len(idx), 1)]
    s_nps[~act] = np.nan
    return s_nps


def _account_counts(s_acc, act, heard, k, infl, A):
    """Step 4: people, respondents, responses and heard influence per account; the influence with NaN and
    inactive people as 0."""
    out = {}
    out["n_stakeholders"] = np.bincount(s_acc, act, A).astype(np.int64)
    out["n_respondents"] = np.bincount(s_acc[heard], minlength=A)
    out["n_responses"] = np.bincount(s_acc, k, A).astype(np.int64)
    infl_ok = np.where(np.isnan(infl) | ~act, 0.0, infl)
    has_infl = np.bincount(s_acc, ~np.isnan(infl) & act, A) > 0
    out["heard_influence"] = np.where(has_infl, np.bincount(s_acc[heard], infl_ok[heard], A), np.nan)
    return out, infl_ok


def _level_schemes(out, sh, gh, s_acc, s_nps, role_w_h, A, conf_level):
    """Step 5: ``mean``, ``nps`` and ``role_weighted`` into ``out``; returns their intervals."""
    from .metrics import net_score_ci

    m, se, n, ne = _wmean_clean(sh, None, gh, A)
    out["mean"], out["mean_se"] = m, se
    cis = {"mean": _heard_ci(m, se, n, ne, conf_level)}
    prom = np.bincount(s_acc, s_nps >= 9, A)
    detr = np.bincount(s_acc, s_nps <= 6, A)
    n_nps = np.bincount(s_acc, ~np.isnan(s_nps), A)
    out["nps"], out["nps_ci_low"], out["nps_ci_high"] = net_score_ci(prom, detr, n_nps, conf_level)
    out["nps_n"] = n_nps.astype(np.int64)
    m, se, n, ne = weighted_group_mean(sh, role_w_h, gh, A)  # (a role may weigh 0)
    out["role_weighted"], out["role_weighted_se"] = m, se
    cis["role_weighted"] = _heard_ci(m, se, n, ne, conf_level)
    return cis


def _influence_schemes(out, cis, sh, gh, infl_h, account_segment, A, unheard, conf_level):
    """Step 6: the heard influence-weighted mean ``y``, its EB shrinkage (``shrunk``) and the imputed
    ``influence_weighted`` (with ``influence_heard``) into ``out`` and ``cis``; returns ``y``."""
    y, y_se, n, ne = weighted_group_mean(sh, infl_h, gh, A)
    # pooled between-person variance within accounts, around each account's plain mean
    between_ss = np.sum((sh - out["mean"][gh]) ** 2)
    between_df = np.maximum(out["n_respondents"] - 1, 0).sum()
    sigma2 = between_ss / between_df if between_df > 0 else np.nan
    v = sigma2 / ne  # sampling variance of the heard mean: between-person variance / Kish n
    seg = np.zeros(A, dtype=np.int64) if account_segment is None else np.asarray(account_segment, np.int64)
    shr, B, shr_se, _, _ = eb_shrink(y, v, seg)
    out["shrunk"], out["shrinkage"], out["shrunk_se"] = shr, B, shr_se
    H = out["heard_influence"]
    Bf = np.where(np.isfinite(B) & np.isfinite(shr), B, 0.0)
    if unheard == "impute":
        prior = np.where(np.isfinite(shr), shr, y)  # no EB estimate possible: assume the heard mean
        iw = impute_unheard(y, H, prior)
        iw_se = (H + (1.0 - H) * (1.0 - Bf)) * y_se  # d(iw)/d(y) with B, mu held fixed
    else:
        iw, iw_se = y, y_se
    out["influence_weighted"], out["influence_weighted_se"] = iw, iw_se
    # the heard influence-weighted mean before imputation: a classical-error measurement of the heard
    # people's sentiment, which cxinfluence.measurement can correct (the imputed score is partly shrunk)
    out["influence_heard"], out["influence_heard_se"] = y, y_se
    # bounded-scale interval of the heard mean (cxinfluence.intervals), mapped through the imputation
    ylo, yhi = _heard_ci(y, y_se, n, ne, conf_level)
    c = (H + (1.0 - H) * (1.0 - Bf)) if unheard == "impute" else 1.0
    cis["influence_weighted"] = (iw + c * (ylo - y), iw + c * (yhi - y))
    return y


def _veto_scheme(out, cis, s, k, s_acc, veto, sigma_within2, A, veto_threshold, veto_margin, conf_level):
    """Step 7: ``veto_floor`` over ``influence_weighted``, its binding flag, SE and exact bootstrap interval."""
    iw = out["influence_weighted"]
    vf, binding, _ = veto_floor(iw, s, s_acc, veto, A, veto_threshold, veto_margin)
    out["veto_floor"] = vf
    out["veto_binding"] = binding
    # the base's sampling SD read off its interval (defined from one respondent on)
    z = _z(conf_level)
    base_sd = (cis["influence_weighted"][1] - cis["influence_weighted"][0]) / (2.0 * z)
    with np.errstate(invalid="ignore", divide="ignore"):
        x_sd = np.sqrt(sigma_within2 / k)  # each person's noise: pooled within-person SD / sqrt(answers)
    vse, vlo, vhi = veto_floor_interval(vf, iw, base_sd, s, x_sd, s_acc, veto, A,
                                        veto_threshold, veto_margin, conf_level=conf_level)
    has_boot = np.isfinite(vlo)
    out["veto_floor_se"] = np.where(has_boot, vse, out["influence_weighted_se"])
    cis["veto_floor"] = (np.where(has_boot, vlo, cis["influence_weighted"][0]),
                         np.where(has_boot, vhi, cis["influence_weighted"][1]))


def _disagreement(sh, gh, w_h, y, A):
    """Step 8: ``disagreement``, :func:`weighted_sd` written out to reuse the influence-weighted mean ``y``."""
    r = sh - y[gh]
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.bincount(gh, w_h * r * r, A) / np.bincount(gh, w_h, A)
    n_pos = np.bincount(gh, w_h > 0, A)
    return np.where(n_pos > 1, np.sqrt(np.maximum(var, 0.0)), np.nan)


# --------------------------------------------------------------------------
# Village -> codes -> tables
# --------------------------------------------------------------------------
