"""Accounts at risk: revenue at risk and the reasons, in plain words.

Revenue at risk of account ``a`` is ``annual_revenue_a * (1 - p_a)``, where
``p_a`` is the renewal probability the rebuy model predicts from the account's
current sentiment (:func:`cxinfluence.models.predict.predict_renewal`). Its interval
comes from the interval of ``p_a``.

The reasons are flags a leadership audience recognises (seed 001: anyone in
the village can kill the deal):

========================  ==================================================
``unhappy_veto``          a heard veto holder's sentiment is below
                          ``veto_threshold`` (default 0: below the scale's
                          midpoint, i.e. NPS 5 or worse on NPS alone)
``key_influencer_left``   a departed person was among the account's top
                          influencers (from :func:`cxinfluence.listening.coverage.coverage`)
``deciders_unheard``      an active decider gave no feedback in the window
``unheard_veto``          a veto holder gave no feedback in the window
``split_village``         stakeholders disagree: influence-weighted SD of
                          sentiment >= ``split_threshold`` with >= 2 heard
                          (Van Bruggen, Lilien & Kacker 2002)
``negative_sentiment``    the account's weighted sentiment is below 0
========================  ==================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..sentiment.schemes import PRIMARY_SCHEME
from ..village.ids import join_ids

REASON_TEXT = {
    "unhappy_veto": "unhappy veto holder",
    "key_influencer_left": "key influencer left",
    "deciders_unheard": "decision-makers unheard",
    "unheard_veto": "veto holder unheard",
    "split_village": "split village",
    "negative_sentiment": "negative weighted sentiment",
}


def risk_flags(stakeholders: pd.DataFrame, *, veto_threshold: float = 0.0) -> pd.DataFrame:
    """Per-account counts of unhappy veto holders and unheard deciders.

    Parameters
    ----------
    stakeholders : DataFrame
        One row per active stakeholder with ``account_id, role, veto,
        sentiment`` (NaN sentiment = not heard), e.g. from
        :func:`cxinfluence.sentiment.schemes.stakeholder_sentiment`.

    Examples
    --------
    >>> st = pd.DataFrame({"account_id": ["A", "A", "B"], "stakeholder_id": ["p", "q", "r"],
    ...     "role": ["decider", "gatekeeper", "decider"], "veto": [True, True, True],
    ...     "sentiment": [-0.5, 0.4, np.nan]})
    >>> risk_flags(st)
      account_id  unhappy_veto unhappy_veto_ids  deciders_unheard
    0          A             1                p                 0
    1          B             0                                  1
    """
    heard = stakeholders["sentiment"].notna()
    unhappy = heard & stakeholders["veto"].fillna(False).astype(bool) & (stakeholders["sentiment"] < veto_threshold)
    deciders_unheard = ~heard & (stakeholders["role"] == "decider")
    # the two flags grouped by account on their own: not a copy of every column of the (2M-row) table
    flags = {"account_id": stakeholders["account_id"], "_u": unhappy, "_d": deciders_unheard}
    grouped = pd.DataFrame({k: v.array for k, v in flags.items()}).groupby("account_id", sort=True)
    out = pd.DataFrame({"unhappy_veto": grouped["_u"].sum().astype(int)})
    # each account's unhappy veto holders, sorted and ;-joined, in the rows of `out` (its sorted accounts)
    acc = grouped.ngroup().to_numpy(dtype=float)  # NaN: a blank account, in no group
    who = np.flatnonzero(unhappy.to_numpy() & ~np.isnan(acc))
    out["unhappy_veto_ids"] = join_ids(acc[who].astype(np.intp),
                                       stakeholders["stakeholder_id"].iloc[who].astype(str).to_numpy(), len(out))
    out["deciders_unheard"] = grouped["_d"].sum().astype(int)
    return out.reset_index()


def accounts_at_risk(accounts, sentiment, flags, coverage=None, predicted=None, *, scheme=PRIMARY_SCHEME,
                     split_threshold=0.5) -> pd.DataFrame:
    """Rank accounts by revenue at risk, with the reasons.

    Parameters
    ----------
    accounts : DataFrame
        ``account_id`` and optionally ``name, segment, owner, annual_revenue``.
    sentiment : DataFrame
        One row per account from :func:`cxinfluence.sentiment.schemes.account_sentiment`
        (one as-of date).
    flags : DataFrame
        From :func:`risk_flags`.
    coverage : DataFrame, optional
        From :func:`cxinfluence.listening.coverage.coverage` (``unheard_veto``,
        ``key_influencer_departed``).
    predicted : DataFrame, optional
        ``account_id, p_renew, p_renew_low, p_renew_high``. Without it revenue at
        risk is not computed (NaN) and accounts are ranked by revenue.
    scheme : str
        Sentiment scheme shown and used for ``negative_sentiment``.
    split_threshold : float

    Returns
    -------
    DataFrame
        One row per account, riskiest first: identity columns, ``sentiment``
        (+ CI), ``p_renew`` (+ CI), ``revenue_at_risk`` (+ CI), one boolean per
        reason in :data:`REASON_TEXT` and ``reasons`` in words.

    Examples
    --------
    >>> acc = pd.DataFrame({"account_id": ["A", "B"], "annual_revenue": [100.0, 50.0]})
    >>> sent = pd.DataFrame({"account_id": ["A", "B"], "influence_weighted": [-0.2, 0.5],
    ...     "disagreement": [0.6, 0.1], "n_respondents": [3, 2]})
    >>> fl = pd.DataFrame({"account_id": ["A", "B"], "unhappy_veto": [1, 0], "deciders_unheard": [0, 0]})
    >>> pred = pd.DataFrame({"account_id": ["A", "B"], "p_renew": [0.6, 0.9],
    ...     "p_renew_low": [0.5, 0.8], "p_renew_high": [0.7, 0.95]})
    >>> risk = accounts_at_risk(acc, sent, fl, predicted=pred)
    >>> risk[["account_id", "revenue_at_risk"]]
      account_id  revenue_at_risk
    0          A             40.0
    1          B              5.0
    >>> risk["reasons"].tolist()
    ['unhappy veto holder; split village; negative weighted sentiment', '']
    """
    keep = [c for c in ("account_id", "name", "segment", "region", "owner", "annual_revenue") if c in accounts]
    out = accounts[keep].copy()
    out["account_id"] = out["account_id"].astype(str)
    cols = ["account_id", scheme] + [c for c in (f"{scheme}_ci_low", f"{scheme}_ci_high", "disagreement",
                                                   "n_respondents", "heard_influence") if c in sentiment]
    s = sentiment[cols].rename(columns={scheme: "sentiment", f"{scheme}_ci_low": "sentiment_ci_low",
                                        f"{scheme}_ci_high": "sentiment_ci_high"})
    out = out.merge(s.astype({"account_id": str}), on="account_id", how="left")
    out = out.merge(flags.astype({"account_id": str}), on="account_id", how="left")
    if coverage is not None:
        cov = coverage[["account_id"] + [c for c in ("unheard_veto", "key_influencer_departed") if c in coverage]]
        out = out.merge(cov.astype({"account_id": str}), on="account_id", how="left")
    revenue = out["annual_revenue"] if "annual_revenue" in out else pd.Series(np.nan, index=out.index)
    if predicted is not None:
        out = out.merge(predicted.astype({"account_id": str}), on="account_id", how="left")
        out["revenue_at_risk"] = revenue * (1 - out["p_renew"])
        out["revenue_at_risk_low"] = revenue * (1 - out["p_renew_high"])
        out["revenue_at_risk_high"] = revenue * (1 - out["p_renew_low"])
    else:
        out["revenue_at_risk"] = np.nan

    def count(col):
        return out[col].fillna(0).astype(float) > 0 if col in out else pd.Series(False, index=out.index)

    reasons = pd.DataFrame({
        "unhappy_veto": count("unhappy_veto"),
        "key_influencer_left": count("key_influencer_departed"),
        "deciders_unheard": count("deciders_unheard"),
        "unheard_veto": count("unheard_veto"),
        "split_village": (out.get("disagreement", np.nan) >= split_threshold) & (out.get("n_respondents", 0) >= 2),
        "negative_sentiment": out["sentiment"] < 0,
    })
    text = np.array([REASON_TEXT[c] for c in reasons.columns], dtype=object)
    out["reasons"] = ["; ".join(text[row]) for row in reasons.to_numpy()]
    out = out.drop(columns=[c for c in ("unhappy_veto", "unheard_veto", "deciders_unheard", "key_influencer_departed")
                            if c in out]).join(reasons.add_prefix("risk_").astype(bool))
    order = ["revenue_at_risk", "annual_revenue"] if "annual_revenue" in out else ["revenue_at_risk"]
    return out.sort_values(order, ascending=False, na_position="last", kind="stable").reset_index(drop=True)
