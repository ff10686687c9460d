"""The account sentiment schemes written plainly: a readable reference for :func:`schemes_from_codes`.

:func:`cxinfluence.sentiment.schemes.schemes_from_codes` is the optimised kernel
(``np.bincount`` over integer codes, responses compressed once, the latest NPS
answer found from sort order). :func:`schemes_reference` computes the same
columns from the formulas of docs/methods.md section 9, one pandas ``groupby``
per quantity, for a reader checking what a number means and for the tests,
which hold the two equal to 1e-12 on hand-made and fuzzed villages
(tests/test_schemes_reference.py). It is slow (seconds on a portfolio): the
package never calls it.

Two building blocks are shared rather than rewritten, because each is itself
checked elsewhere: the bounded-scale interval of a mean
(:func:`cxinfluence.sentiment.intervals.bounded_mean_ci`, checked for coverage
by simulation) with Agresti-Min's NPS interval
(:func:`cxinfluence.sentiment.metrics.net_score_ci`), and the exact bootstrap
interval of the veto floor, whose plain form (:func:`veto_floor_interval_reference`, every term
at every bisection step) is here and is held bitwise equal to the kernel's
(:func:`cxinfluence.sentiment.schemes.veto_floor_interval`, checked against simulation in
tests/test_intervals.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from .estimators import _floor_holders, _floor_interval
from .intervals import bounded_mean_ci
from .metrics import net_score_ci
from .schemes import SE_SCHEMES, VETO_THRESHOLD


def _people(stakeholder_account, stakeholder_role, stakeholder_veto, stakeholder_influence, stakeholder_active,
            role_weights, nest_codes, nest_weights):
    """One row per stakeholder code: account, role weight, nest group and its weight, veto, influence, active."""
    account = np.asarray(stakeholder_account, dtype=np.int64)
    role = np.asarray(stakeholder_role, dtype=np.int64)
    role_w = np.ones(int(role.max(initial=0)) + 1) if role_weights is None else np.asarray(role_weights, float)
    if nest_codes is None:
        nest_codes, nest_weights = role, role_w
    nest = np.asarray(nest_codes, dtype=np.int64)
    return pd.DataFrame({
        "account": account, "role_weight": role_w[role], "nest": nest,
        "nest_weight": np.asarray(nest_weights, dtype=float)[nest],
        "veto": np.asarray(stakeholder_veto, dtype=bool),
        "influence": np.asarray(stakeholder_influence, dtype=float),
        "active": (np.ones(len(account), bool) if stakeholder_active is None
                   else np.asarray(stakeholder_active, dtype=bool))})


def _usable_responses(people, resp_stakeholder, resp_sentiment, resp_weight, resp_nps, resp_time):
    """Responses with a sentiment and a positive weight, from people active at the date."""
    n = len(resp_stakeholder)
    r = pd.DataFrame({"person": np.asarray(resp_stakeholder, dtype=np.int64),
                      "x": np.asarray(resp_sentiment, dtype=float),
                      "w": 1.0 if resp_weight is None else np.asarray(resp_weight, dtype=float),
                      "nps": np.nan if resp_nps is None else np.asarray(resp_nps, dtype=float),
                      "time": 0 if resp_time is None else np.asarray(resp_time, dtype=np.int64),
                      "position": np.arange(n)})
    usable = r["x"].notna() & (r["w"] > 0) & people["active"].to_numpy()[r["person"].to_numpy()]
    return r[usable]


def _person_sentiment(people, r):
    """Per person: ``s_i`` (weighted mean of their answers), their number of answers, their latest NPS answer."""
    r = r.assign(wx=r["w"] * r["x"])
    g = r.groupby("person")
    per = pd.DataFrame({"n_responses": g.size(), "sw": g["w"].sum(), "swx": g["wx"].sum()})
    per["sentiment"] = per["swx"] / per["sw"]
    latest = r[r["nps"].notna()].sort_values(["time", "position"]).groupby("person")["nps"].last()
    out = people.join(per[["sentiment", "n_responses", "sw"]]).join(latest.rename("nps"))
    out["n_responses"] = out["n_responses"].fillna(0).astype(np.int64)
    out["heard"] = out["n_responses"] > 0
    return out


def _within_person_variance(people, r):
    """Pooled within-person variance of single answers: ``sum_j w_j (x_j - s_i)^2 / sum_i W_i (k_i - 1) / k_i``."""
    s = people["sentiment"].to_numpy()[r["person"].to_numpy()]
    ss = float((r["w"] * (r["x"] - s) ** 2).sum())
    heard = people[people["heard"]]
    df = float((heard["sw"] * (heard["n_responses"] - 1) / heard["n_responses"]).sum())
    return ss / df if df > 0 else np.nan


def _weighted_mean(heard, weight, n_accounts):
    """Per account: ``m = sum w s / sum w``, ``se^2 = n/(n-1) sum w^2 (s - m)^2 / (sum w)^2``, ``n``, Kish
    ``n_eff = (sum w)^2 / sum w^2`` and the weighted variance ``sum w^2 (s - m)^2 / sum w^2``; rows with ``w > 0``."""
    d = heard.assign(w=weight)
    d = d[d["w"] > 0]
    m = (d["w"] * d["sentiment"]).groupby(d["account"]).sum() / d["w"].groupby(d["account"]).sum()
    d = d.assign(r2=d["w"] ** 2 * (d["sentiment"] - d["account"].map(m)) ** 2, w2=d["w"] ** 2)
    g = d.groupby("account")
    t = pd.DataFrame({"mean": m, "n": g.size().astype(float), "sw": g["w"].sum(), "sw2": g["w2"].sum(),
                      "ss": g["r2"].sum()}).reindex(range(n_accounts))
    t["n"] = t["n"].fillna(0.0)
    t["se"] = np.where(t["n"] > 1, np.sqrt(t["n"] / (t["n"] - 1.0) * t["ss"]) / t["sw"], np.nan)
    t["n_eff"] = t["sw"] ** 2 / t["sw2"]
    t["var"] = np.where(t["n"] > 1, t["ss"] / t["sw2"], 0.0)
    return t


def _interval(t, conf_level):
    """The bounded-scale interval of a heard mean (docs/methods.md 8a)."""
    return bounded_mean_ci(t["mean"].to_numpy(), t["var"].to_numpy(), t["n_eff"].fillna(0.0).to_numpy(),
                           -1.0, 1.0, conf_level)


def _shrink(y, v, segment, portfolio=None):
    """Empirical Bayes per segment: ``mu_g`` the mean of ``y``, ``tau^2 = max(0, SS / (A - G) - mean v)``,
    ``B = v / (v + tau^2)``, shrunk ``B mu + (1 - B) y``, SE ``sqrt((1 - B) v)``; ``mu`` and ``tau^2`` as
    given in ``portfolio`` (a portfolio prior's parameters) when given."""
    d = pd.DataFrame({"y": y, "v": v, "segment": segment})
    ok = d["y"].notna() & d["v"].notna() & np.isfinite(d["y"]) & np.isfinite(d["v"])
    if portfolio is not None:
        mu, tau2 = np.asarray(portfolio["mu"], dtype=float)[d["segment"].to_numpy()], portfolio["tau2"]
        dof = 1 if np.isfinite(tau2) else 0
    else:
        mu = d["segment"].map(d[ok].groupby("segment")["y"].mean()).to_numpy(dtype=float)
        dof = int(ok.sum()) - d.loc[ok, "segment"].nunique()
    if dof < 1:
        nan = np.full(len(d), np.nan)
        return nan, nan.copy(), nan.copy()
    if portfolio is None:
        tau2 = max(0.0, float(((d["y"] - mu)[ok] ** 2).sum()) / dof - float(d.loc[ok, "v"].mean()))
    B = np.where(ok, d["v"] / (d["v"] + tau2), np.nan)
    B = np.where(ok & (d["v"] == 0) & (tau2 == 0), 0.0, B)
    return B * mu + (1.0 - B) * d["y"].to_numpy(), B, np.sqrt((1.0 - B) * d["v"].to_numpy())


def schemes_reference(resp_stakeholder, resp_sentiment, stakeholder_account, stakeholder_role, stakeholder_veto,
                      stakeholder_influence, n_accounts, *, resp_weight=None, resp_nps=None, resp_time=None,
                      stakeholder_active=None, account_segment=None, role_weights=None, nest_codes=None,
                      nest_weights=None, veto_threshold=VETO_THRESHOLD, veto_margin=0.25, unheard="impute",
                      conf_level=0.95, portfolio=None, portfolio_stats=None):
    """Every scheme of :func:`schemes_from_codes`, written from the formulas (slow, for reading and tests).

    Same arguments and returns as :func:`cxinfluence.sentiment.schemes.schemes_from_codes` (without its
    speed-only ``sorted_by_stakeholder``; ``portfolio`` sets the pooled quantities, ``portfolio_stats`` is
    not filled: the statistics are the kernel's business). Not split: it is long on purpose, it reads top to bottom
    as docs/methods.md section 9, one scheme after another, each a few lines over the tables built above it.

    Examples
    --------
    Two people in one account, a decider (weight 3) at +1 and a user (weight 1) at 0, influence 0.75 / 0.25:

    >>> acc, people = schemes_reference([0, 1], [1.0, 0.0], [0, 0], [0, 1], [False, False], [0.75, 0.25], 1,
    ...                                 role_weights=[3.0, 1.0])
    >>> float(acc["mean"][0]), float(acc["role_weighted"][0]), float(acc["influence_heard"][0])
    (0.5, 0.75, 0.75)
    """
    A = int(n_accounts)
    accounts = pd.RangeIndex(A)
    people = _people(stakeholder_account, stakeholder_role, stakeholder_veto, stakeholder_influence,
                     stakeholder_active, role_weights, nest_codes, nest_weights)
    r = _usable_responses(people, resp_stakeholder, resp_sentiment, resp_weight, resp_nps, resp_time)
    people = _person_sentiment(people, r)
    sigma_within2 = _within_person_variance(people, r) if portfolio is None else portfolio["sigma_within2"]
    active = people[people["active"]]
    heard = active[active["heard"]].copy()
    heard["influence"] = heard["influence"].fillna(0.0)
    by = active.groupby("account")
    out = {
        "n_stakeholders": by.size().reindex(accounts, fill_value=0).to_numpy(np.int64),
        "n_respondents": heard.groupby("account").size().reindex(accounts, fill_value=0).to_numpy(np.int64),
        "n_responses": by["n_responses"].sum().reindex(accounts, fill_value=0).to_numpy(np.int64),
    }
    has_influence = by["influence"].count().reindex(accounts, fill_value=0) > 0
    H = np.where(has_influence, heard.groupby("account")["influence"].sum().reindex(accounts, fill_value=0.0),
                 np.nan)
    out["heard_influence"] = H
    cis = {}

    # mean: the plain mean of the heard people's sentiment
    plain = _weighted_mean(heard, 1.0, A)
    out["mean"], out["mean_se"] = plain["mean"].to_numpy(), plain["se"].to_numpy()
    cis["mean"] = _interval(plain, conf_level)

    # nps: promoters minus detractors among each heard person's latest NPS answer
    nps = active[active["nps"].notna()].groupby("account")["nps"]
    prom = nps.apply(lambda s: (s >= 9).sum()).reindex(accounts, fill_value=0).to_numpy(float)
    detr = nps.apply(lambda s: (s <= 6).sum()).reindex(accounts, fill_value=0).to_numpy(float)
    n_nps = nps.size().reindex(accounts, fill_value=0).to_numpy(float)
    out["nps"], out["nps_ci_low"], out["nps_ci_high"] = net_score_ci(prom, detr, n_nps, conf_level)
    out["nps_n"] = n_nps.astype(np.int64)

    # role_weighted: weighted by the role weight
    role = _weighted_mean(heard, heard["role_weight"], A)
    out["role_weighted"], out["role_weighted_se"] = role["mean"].to_numpy(), role["se"].to_numpy()
    cis["role_weighted"] = _interval(role, conf_level)

    # the heard influence-weighted mean y and its sampling variance (between-person variance / Kish n)
    infl = _weighted_mean(heard, heard["influence"], A)
    y, y_se = infl["mean"].to_numpy(), infl["se"].to_numpy()
    resid = heard["sentiment"] - heard["account"].map(plain["mean"])
    between_df = np.maximum(out["n_respondents"] - 1, 0).sum()
    sigma2 = float((resid ** 2).sum()) / between_df if between_df > 0 else np.nan
    if portfolio is not None:
        sigma2 = portfolio["sigma_between2"]
    segment = np.zeros(A, np.int64) if account_segment is None else np.asarray(account_segment, np.int64)
    shr, B, shr_se = _shrink(y, sigma2 / infl["n_eff"].to_numpy(), segment, portfolio)
    out["shrunk"], out["shrinkage"], out["shrunk_se"] = shr, B, shr_se

    # influence_weighted: H y + (1 - H) prior, the prior the shrunk estimate (else y)
    if unheard == "impute":
        prior = np.where(np.isfinite(shr), shr, y)
        iw = H * y + (1.0 - H) * prior
        slope = H + (1.0 - H) * (1.0 - np.where(np.isfinite(B) & np.isfinite(shr), B, 0.0))
    else:
        iw, slope = y, 1.0
    out["influence_weighted"], out["influence_weighted_se"] = iw, slope * y_se
    out["influence_heard"], out["influence_heard_se"] = y, y_se
    ylo, yhi = _interval(infl, conf_level)
    cis["influence_weighted"] = (iw + slope * (ylo - y), iw + slope * (yhi - y))

    # veto_floor: capped at the unhappiest heard veto holder + margin when below the threshold
    low = heard[heard["veto"]].groupby("account")["sentiment"].min().reindex(accounts).to_numpy()
    cap = np.where(low < veto_threshold, low + veto_margin, np.inf)
    out["veto_floor"] = np.where(cap < iw, cap, iw)
    out["veto_binding"] = cap < iw
    z = float(norm.ppf(0.5 + conf_level / 2.0))
    base_sd = (cis["influence_weighted"][1] - cis["influence_weighted"][0]) / (2.0 * z)
    with np.errstate(divide="ignore", invalid="ignore"):
        person_sd = np.sqrt(sigma_within2 / people["n_responses"].to_numpy())
    vse, vlo, vhi = veto_floor_interval_reference(
        out["veto_floor"], iw, base_sd, people["sentiment"].where(people["heard"] & people["active"]).to_numpy(),
        person_sd, people["account"].to_numpy(), people["veto"].to_numpy(), A, veto_threshold, veto_margin,
        conf_level=conf_level)
    boot = np.isfinite(vlo)
    out["veto_floor_se"] = np.where(boot, vse, out["influence_weighted_se"])
    cis["veto_floor"] = (np.where(boot, vlo, cis["influence_weighted"][0]),
                         np.where(boot, vhi, cis["influence_weighted"][1]))

    # nested: each (account, nest group) cell's plain mean, weighted by the group's weight
    cell_n = heard.groupby(["account", "nest"])["sentiment"].transform("size")
    nested = _weighted_mean(heard, heard["nest_weight"] / cell_n, A)
    out["nested"], out["nested_se"] = nested["mean"].to_numpy(), nested["se"].to_numpy()
    cis["nested"] = _interval(nested, conf_level)

    # disagreement: the influence-weighted SD around y (two people with influence at least)
    d = heard.assign(r2=heard["influence"] * (heard["sentiment"] - heard["account"].map(pd.Series(y))) ** 2)
    g = d.groupby("account")
    var = (g["r2"].sum() / g["influence"].sum()).reindex(accounts).to_numpy()
    n_pos = g["influence"].apply(lambda w: (w > 0).sum()).reindex(accounts, fill_value=0).to_numpy()
    out["disagreement"] = np.where(n_pos > 1, np.sqrt(np.maximum(var, 0.0)), np.nan)

    cis["shrunk"] = (shr - z * shr_se, shr + z * shr_se)
    for name in SE_SCHEMES:
        out[f"{name}_ci_low"] = np.clip(cis[name][0], -1.0, 1.0)
        out[f"{name}_ci_high"] = np.clip(cis[name][1], -1.0, 1.0)
    stake = {"sentiment": people["sentiment"].where(people["heard"] & people["active"]).to_numpy(),
             "n_responses": people["n_responses"].where(people["active"], 0).to_numpy(np.int64),
             "nps": people["nps"].where(people["active"]).to_numpy(dtype=float)}
    return out, stake


def veto_floor_interval_reference(value, base, base_sd, x, x_sd, groups, veto, n_groups, threshold=None, margin=0.25,
                                  conf_level=0.95, iterations=26):
    """:func:`cxinfluence.sentiment.estimators.veto_floor_interval` written plainly: every holder's term
    evaluated at every bisection step, both quantiles one after the other on one thread (the kernel
    decides most steps from a few certified evaluations, :mod:`cxinfluence.sentiment.floorsolve`, and splits
    the accounts over two threads; tested equal bitwise).
    """
    from scipy.special import log_ndtr

    threshold = VETO_THRESHOLD if threshold is None else threshold
    h = _floor_holders(base, base_sd, x, x_sd, groups, veto)
    if h is None:
        return tuple(np.full(n_groups, np.nan) for _ in range(3))
    acc, start, pos, xs, sds, b0, bsd, ok = h

    def log_survival(q):  # log P(floor* > q) per account slot
        cut = np.minimum(threshold, q[pos] - margin)
        holders = np.bincount(pos, log_ndtr((xs - cut) / sds), len(acc))
        return log_ndtr((b0 - q) / bsd) + holders

    a = (1.0 - conf_level) / 2.0
    span = 8.0 * np.maximum(bsd, np.bincount(pos, sds, len(acc)))
    low_x = np.minimum.reduceat(xs - 8.0 * sds, start) + margin
    q = {}
    for p in (a, 1.0 - a):  # solve P(floor* <= q) = p, i.e. log S(q) = log(1 - p)
        target = np.log1p(-p)
        left, right = np.minimum(b0 - span, low_x), b0 + span
        for _ in range(iterations):
            mid = 0.5 * (left + right)
            below = log_survival(mid) > target  # F(mid) < p: the quantile lies to the right
            left = np.where(below, mid, left)
            right = np.where(below, right, mid)
        q[p] = 0.5 * (left + right)
    return _floor_interval(q, value, acc, ok, a, n_groups)

