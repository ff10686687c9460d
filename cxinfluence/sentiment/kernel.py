"""The all-schemes kernel: every account sentiment scheme from integer-coded arrays in one pass
(:func:`schemes_from_codes`), split into its steps. The readable reference it is tested equal to
is :mod:`cxinfluence.sentiment.schemes_reference`; the estimators are in
:mod:`cxinfluence.sentiment.estimators`.
"""

from __future__ import annotations

import numpy as np

from ..exceptions import MetricError
from .estimators import (
    _SE_SCHEMES,
    VETO_THRESHOLD,
    _heard_ci,
    _wmean_clean,
    eb_parameters,
    eb_shrink,
    impute_unheard,
    nested_mean,
    veto_floor,
    veto_floor_interval,
    weighted_group_mean,
)
from .intervals import z_value as _z
from .metrics import net_score_ci


def schemes_from_codes(resp_stakeholder, resp_sentiment, stakeholder_account, stakeholder_role,
                       stakeholder_veto, stakeholder_influence, n_accounts, *, resp_weight=None,
                       resp_nps=None, resp_time=None, stakeholder_active=None, sorted_by_stakeholder=False,
                       account_segment=None, role_weights=None, nest_codes=None, nest_weights=None,
                       veto_threshold=VETO_THRESHOLD, veto_margin=0.25, unheard="impute", conf_level=0.95,
                       portfolio=None, portfolio_stats=None):
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
    stakeholder_influence : float array, or a function returning it
        Influence, summing to 1 over each account's active stakeholders
        (NaN for an account without influence weights). A function is
        called once the responses' steps are done, so a caller computing
        the influence on another thread waits for it only then.
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
    portfolio : dict, optional
        The portfolio-wide parameters to use (:func:`portfolio_parameters` of
        a whole portfolio's statistics): ``sigma_within2``,
        ``sigma_between2``, ``mu`` (one per ``account_segment`` code) and
        ``tau2``. Default: estimated from these accounts themselves.
    portfolio_stats : dict, optional
        Filled with these accounts' sufficient statistics (see
        :func:`portfolio_parameters`), which add up over partitions.

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
    veto = np.asarray(stakeholder_veto, bool)
    role_w = np.ones(int(s_role.max(initial=0)) + 1) if role_weights is None else np.asarray(role_weights, float)
    if nest_codes is None:
        nest_codes, nest_weights = s_role, role_w
    act = np.ones(S, dtype=bool) if stakeholder_active is None else np.asarray(stakeholder_active, dtype=bool)

    idx, sh_u, x_u, w_u = _usable_responses(r_sh, x, resp_weight)
    s, k, heard, within_ss, within_df = _stakeholder_means(sh_u, x_u, w_u, act, S)
    s_nps = _latest_nps(resp_nps, resp_time, idx, sh_u, act, S, sorted_by_stakeholder)
    del sh_u, x_u, w_u, idx
    h = np.flatnonzero(heard)  # account schemes over the heard people only (smaller arrays, no NaN)
    sh, gh = s[h], s_acc[h]
    # the schemes that do not weigh by influence first (while a caller's thread may still be computing it)
    out = _account_counts(s_acc, act, heard, k, A)
    level = {}
    cis = _level_schemes(level, sh, gh, s_acc, s_nps, role_w[s_role[h]], A, conf_level)
    nested = nested_mean(sh, gh, np.asarray(nest_codes)[h], np.asarray(nest_weights, dtype=float), A)
    infl = np.asarray(stakeholder_influence() if callable(stakeholder_influence) else stakeholder_influence,
                      dtype=float)

    infl_ok = _heard_influence(out, s_acc, act, heard, infl, A)
    out.update(level)  # the columns in their order: counts, heard influence, then the level schemes
    seg = np.zeros(A, dtype=np.int64) if account_segment is None else np.asarray(account_segment, np.int64)
    heard_mean = weighted_group_mean(sh, infl_ok[h], gh, A)
    stats = _portfolio_stats(out, sh, gh, heard_mean, seg, within_ss, within_df)
    if portfolio_stats is not None:
        portfolio_stats.update(stats)
    params = portfolio_parameters(stats) if portfolio is None else portfolio
    y = _influence_schemes(out, cis, heard_mean, seg, params, unheard, conf_level)
    _veto_scheme(out, cis, s, k, s_acc, veto, params["sigma_within2"], A, veto_threshold, veto_margin, conf_level)
    m, se, n, ne2 = nested
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
    """Step 2: each stakeholder's (recency-)weighted mean ``s``, answers ``k``, heard flag, and the sums of the
    pooled within-person variance of single answers around the person's mean (its sum of squares and df)."""
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
    return s, k, heard, ss_within, within_df


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


def _account_counts(s_acc, act, heard, k, A):
    """Step 4: people, respondents and responses per account (before the influence is needed)."""
    out = {}
    out["n_stakeholders"] = np.bincount(s_acc, act, A).astype(np.int64)
    out["n_respondents"] = np.bincount(s_acc[heard], minlength=A)
    out["n_responses"] = np.bincount(s_acc, k, A).astype(np.int64)
    return out


def _heard_influence(out, s_acc, act, heard, infl, A):
    """Step 4, continued: the heard influence per account into ``out``; returns the influence with NaN and
    inactive people as 0."""
    infl_ok = np.where(np.isnan(infl) | ~act, 0.0, infl)
    has_infl = np.bincount(s_acc, ~np.isnan(infl) & act, A) > 0
    out["heard_influence"] = np.where(has_infl, np.bincount(s_acc[heard], infl_ok[heard], A), np.nan)
    return infl_ok


def _level_schemes(out, sh, gh, s_acc, s_nps, role_w_h, A, conf_level):
    """Step 5: ``mean``, ``nps`` and ``role_weighted`` into ``out``; returns their intervals."""
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


def _portfolio_stats(out, sh, gh, heard_mean, seg, within_ss, within_df):
    """Step 6a: the sufficient statistics of every quantity pooled across accounts, sums that add up over
    any partition of the accounts: the within-person sum of squares and df (the veto floor's noise), the
    between-person ones (the sampling variance of the heard mean), and per segment the count, sum and
    sum of squares of the heard influence-weighted means and the sum of 1 / Kish n (the shrinkage)."""
    y, _, _, ne = heard_mean
    G = int(seg.max(initial=-1)) + 1
    # pooled between-person variance within accounts, around each account's plain mean
    between_ss = float(np.sum((sh - out["mean"][gh]) ** 2))
    between_df = int(np.maximum(out["n_respondents"] - 1, 0).sum())
    ok = np.flatnonzero(np.isfinite(y) & np.isfinite(ne) & (ne > 0))
    g = seg[ok]
    n = np.bincount(g, minlength=G)
    total = np.bincount(g, y[ok], G)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = total / n
    m2 = np.bincount(g, (y[ok] - mu[g]) ** 2, G)
    return {"within_ss": float(within_ss), "within_df": float(within_df), "between_ss": between_ss,
            "between_df": between_df, "n": n.astype(np.int64), "total": total, "m2": m2,
            "inv_n_eff": np.bincount(g, 1.0 / ne[ok], G), "n_accounts": int(len(y))}


def portfolio_parameters(stats):
    """The portfolio-wide parameters from sufficient statistics (one as-of date).

    ``sigma_within2 = within_ss / within_df`` (the pooled within-person
    variance of single answers, the veto floor's noise), ``sigma_between2 =
    between_ss / between_df`` (the pooled between-person variance within
    accounts, the heard mean's sampling variance ``sigma_between2 / n_eff``),
    and the shrinkage's segment means ``mu`` and ``tau2``
    (:func:`cxinfluence.sentiment.estimators.eb_parameters`). NaN when a df is 0.

    Examples
    --------
    >>> p = portfolio_parameters({"within_ss": 2.0, "within_df": 4.0, "between_ss": 1.5, "between_df": 3,
    ...                           "n": [2], "total": [0.4], "m2": [0.02], "inv_n_eff": [1.0]})
    >>> p["sigma_within2"], p["sigma_between2"], p["mu"].tolist(), p["tau2"]
    (0.5, 0.5, [0.2], 0.0)
    """
    within_df, between_df = stats["within_df"], stats["between_df"]
    sigma_within2 = stats["within_ss"] / within_df if within_df > 0 else np.nan
    sigma2 = stats["between_ss"] / between_df if between_df > 0 else np.nan
    mu, tau2 = eb_parameters(stats["n"], stats["total"], stats["m2"], stats["inv_n_eff"], sigma2)
    return {"sigma_within2": sigma_within2, "sigma_between2": sigma2, "mu": mu, "tau2": tau2}


def _influence_schemes(out, cis, heard_mean, seg, params, unheard, conf_level):
    """Step 6b: the heard influence-weighted mean ``y``, its EB shrinkage (``shrunk``) and the imputed
    ``influence_weighted`` (with ``influence_heard``) into ``out`` and ``cis``; returns ``y``."""
    y, y_se, n, ne = heard_mean
    v = params["sigma_between2"] / ne  # sampling variance of the heard mean: between-person variance / Kish n
    shr, B, shr_se, _, _ = eb_shrink(y, v, seg, mu=params["mu"], tau2=params["tau2"])
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
