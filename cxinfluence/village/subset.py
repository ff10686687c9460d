"""One village's accounts: a smaller village holding only some accounts, their people, ties,
responses and outcomes (for a map of a few accounts, a partition, the sensitivity sample).

Influence, coverage and sentiment are computed within each account, so an account's figures are
the same in the subset as in the whole village; the as-of default (the day after the latest
response) is not, so callers resolve it on the whole village first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .core import Village
from .ids import arrow_identity, arrow_text, prime, rows_of, unique_text


def subset_village(village, accounts):
    """A village with only the listed accounts (and their people, ties,
    responses and outcomes). Inputs are not modified.

    On a village whose ids are Arrow text and every stakeholder's account is
    listed (any loaded village), rows are chosen from the id matches cached on
    the village (:func:`cxinfluence.village.ids.rows_of`) instead of hashing
    every id again, and the subset's own matches are carried over; the result
    is the same as :func:`subset_village_reference`'s.

    >>> from cxinfluence.synth import make_village
    >>> v, _ = make_village(10, seed=1)
    >>> s = subset_village(v, v.accounts["account_id"].iloc[:3])
    >>> len(s.accounts), bool(s.stakeholders["account_id"].isin(s.accounts["account_id"]).all())
    (3, True)
    """
    keep = pd.Index(pd.Series(accounts).astype(str))
    columns = (village.accounts.get("account_id"), village.stakeholders.get("account_id"),
               village.stakeholders.get("stakeholder_id"), village.relationships.get("source_id"),
               village.relationships.get("target_id"), village.responses.get("stakeholder_id"),
               village.outcomes.get("account_id"))
    if any(c is None or arrow_identity(c) is None for c in columns):
        return subset_village_reference(village, accounts)
    s_acc = rows_of(village, "stakeholders", "account_id")
    ids = arrow_text(village.stakeholders["stakeholder_id"])
    if len(s_acc) and s_acc.min() < 0 or ids is None or not unique_text(ids):
        return subset_village_reference(village, accounts)  # unlisted accounts or repeated ids: match by value
    acc_keep = village.accounts["account_id"].astype(str).isin(keep).to_numpy()
    st_keep = acc_keep[s_acc]
    # one extra False slot answers row -1 (an id that matches nobody)
    st_slot = np.r_[st_keep, False]
    new_acc = np.r_[np.cumsum(acc_keep) - 1, -1]
    new_st = np.r_[np.cumsum(st_keep) - 1, -1]
    rel = village.relationships
    rel_src, rel_dst = rows_of(village, "relationships", "source_id"), rows_of(village, "relationships", "target_id")
    rel_keep = st_slot[rel_src] & st_slot[rel_dst]
    r_st = rows_of(village, "responses", "stakeholder_id")
    resp_keep = st_slot[r_st]
    o_acc = rows_of(village, "outcomes", "account_id")
    out_keep = np.r_[acc_keep, False][o_acc]
    unlisted = np.flatnonzero(o_acc < 0)  # an outcome of an unlisted account is kept by its id
    out_keep[unlisted] = village.outcomes["account_id"].iloc[unlisted].astype(str).isin(keep).to_numpy()

    def take(frame, mask):
        return frame.iloc[np.flatnonzero(mask)].reset_index(drop=True)

    sub = Village(take(village.accounts, acc_keep), take(village.stakeholders, st_keep), take(rel, rel_keep),
                  take(village.responses, resp_keep), take(village.outcomes, out_keep), source=village.source)
    prime(sub, {("stakeholders", "account_id"): new_acc[s_acc[st_keep]],
                ("relationships", "source_id"): new_st[rel_src[rel_keep]],
                ("relationships", "target_id"): new_st[rel_dst[rel_keep]],
                ("responses", "stakeholder_id"): new_st[r_st[resp_keep]],
                ("outcomes", "account_id"): new_acc[o_acc[out_keep]]})
    return sub


def subset_village_reference(village, accounts):
    """:func:`subset_village` by matching ids as text (the readable definition it is tested equal to).

    >>> from cxinfluence.synth import make_village
    >>> v, _ = make_village(10, seed=1)
    >>> len(subset_village_reference(v, v.accounts["account_id"].iloc[:3]).accounts)
    3
    """
    keep = pd.Index(pd.Series(accounts).astype(str))
    acc = village.accounts[village.accounts["account_id"].astype(str).isin(keep)]
    st = village.stakeholders[village.stakeholders["account_id"].astype(str).isin(keep)]
    ids = pd.Index(st["stakeholder_id"].astype(str))
    rel = village.relationships
    if len(rel) and "source_id" in rel.columns:
        rel = rel[rel["source_id"].astype(str).isin(ids) & rel["target_id"].astype(str).isin(ids)]
    resp = village.responses[village.responses["stakeholder_id"].astype(str).isin(ids)]
    out = village.outcomes
    if len(out) and "account_id" in out.columns:
        out = out[out["account_id"].astype(str).isin(keep)]
    return Village(acc.reset_index(drop=True), st.reset_index(drop=True), rel.reset_index(drop=True),
                   resp.reset_index(drop=True), out.reset_index(drop=True), source=village.source)
