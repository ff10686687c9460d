"""The listening plan: per account, whom to survey next and why. See
:mod:`cxinfluence.listening.coverage` for the shared definitions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..exceptions import CoverageError
from ..village.asof import DEFAULT_WINDOW_DAYS, to_timestamp
from ..village.ids import native_text
from .people import _check_village, _check_window, _default_influence_fn, _each_distinct, _heard_now, _people, _rows


def listening_plan(village, as_of, *, window_days=DEFAULT_WINDOW_DAYS, influence=None, per_account=3,
                   influence_fn=None) -> pd.DataFrame:
    """Per account, the not-recently-heard active stakeholders to survey next.

    Candidates are the active stakeholders not heard in the window. They are
    ordered **veto holders first** (each unheard veto holder is a party who can
    kill the decision without our knowing their view: seed 001, key 1), then
    by influence share ``w_i`` descending, then never-heard before
    heard-long-ago (older ``last_heard`` first), then ``stakeholder_id``.
    Heard influence is additive in the shares, so within each veto group this
    greedy order is the one that raises heard influence fastest: after the
    first ``k`` additions, ``heard_influence_after = H + sum of their w_i``
    (assuming each answers), and no other choice of ``k`` people from the
    group gives more.

    Parameters
    ----------
    village : Village
    as_of : date-like
    window_days : float or None, default 365
    influence : DataFrame, optional
        As in :func:`coverage`.
    per_account : int or None, default 3
        Most people listed per account; None lists every candidate.
    influence_fn : callable, optional
        As in :func:`coverage`.

    Returns
    -------
    DataFrame
        ``account_id, as_of, rank`` (1 = first to survey), ``stakeholder_id``
        (plus ``name, title`` when the village has them), ``role, veto,
        influence, last_heard, heard_influence_before`` (the account's ``H``
        now), ``heard_influence_after`` (cumulative, after this person),
        ``unheard_veto_after`` (veto holders still unheard after this person)
        and ``reason`` (plain words). Accounts with nobody to add have no row.

    Examples
    --------
    >>> import pandas as pd
    >>> from cxinfluence.village.core import Village
    >>> v = Village(
    ...     accounts=pd.DataFrame({"account_id": ["A"]}),
    ...     stakeholders=pd.DataFrame({
    ...         "stakeholder_id": ["a1", "a2", "a3", "a4"], "account_id": ["A"] * 4,
    ...         "role": ["decider", "buyer", "user", "gatekeeper"],
    ...         "veto": [True, False, False, True]}),
    ...     relationships=pd.DataFrame(columns=["source_id", "target_id", "kind"]),
    ...     responses=pd.DataFrame({"stakeholder_id": ["a1"], "date": pd.to_datetime(["2024-03-01"])}),
    ...     outcomes=pd.DataFrame(columns=["account_id", "period_end", "renewed"]))
    >>> w = pd.DataFrame({"stakeholder_id": ["a1", "a2", "a3", "a4"], "influence": [0.4, 0.3, 0.2, 0.1]})
    >>> plan = listening_plan(v, "2024-06-30", influence=w)
    >>> plan[["rank", "stakeholder_id", "heard_influence_after"]].values.tolist()
    [[1, 'a4', 0.5], [2, 'a2', 0.8], [3, 'a3', 1.0]]
    """
    _check_village(village)
    as_of = to_timestamp(as_of)
    window_days = _check_window(window_days)
    _check_per_account(per_account)
    if influence is None:
        influence = _default_influence_fn(influence_fn)(village, as_of)
    rows = _rows(village, ties=False)
    return _plan(village, as_of, window_days, _people(village, as_of, window_days, influence, rows), rows,
                 per_account)


def _check_per_account(per_account):
    if per_account is not None and (isinstance(per_account, bool) or not isinstance(per_account, (int, np.integer))
                                    or per_account < 1):
        raise CoverageError(f"per_account={per_account!r} is not a positive integer; expected e.g. 3, or None for all")


def _plan(village, as_of, window_days, people, rows, per_account) -> pd.DataFrame:
    """The listening plan from the active people (:func:`cxinfluence.listening.people._people`, only read) and
    the village's resolved ids ``rows``: arguments already checked."""
    heard_now, unheard_veto_now = _heard_now(people, len(rows.accounts))

    cand = people.loc[~people["heard"].to_numpy()].copy()
    cand["_never"] = cand["last_heard"].isna()
    cand = cand.sort_values(  # accounts in village order; within each, the greedy order
        ["acc", "veto", "influence", "_never", "last_heard", "stakeholder_id"],
        ascending=[True, False, False, False, True, True], na_position="last", kind="stable",
    )
    g = cand.groupby("acc", sort=False)
    cand["rank"] = g.cumcount() + 1
    cand["heard_influence_before"] = heard_now[cand["acc"].to_numpy()]
    cand["heard_influence_after"] = cand["heard_influence_before"] + g["influence"].cumsum()
    cand["unheard_veto_after"] = unheard_veto_now[cand["acc"].to_numpy()] - g["veto"].cumsum().astype(int)
    if per_account is not None:
        cand = cand.loc[cand["rank"] <= per_account]

    s = village.stakeholders
    for extra in ("name", "title"):  # taken for the listed people only
        if extra in s:
            cand[extra] = native_text(s[extra].iloc[cand["row"].to_numpy()], lambda x: x.to_numpy())
    cand["reason"] = _reasons(cand, window_days)
    cand.insert(1, "as_of", as_of)
    cols = ["account_id", "as_of", "rank", "stakeholder_id"] + [c for c in ("name", "title") if c in cand] + [
        "role", "veto", "influence", "last_heard", "heard_influence_before", "heard_influence_after",
        "unheard_veto_after", "reason"]
    return cand[cols].reset_index(drop=True)


def _reasons(cand: pd.DataFrame, window_days) -> pd.Series:
    """The plain-words ``reason`` of each listening-plan row."""
    window_text = "ever" if window_days is None else f"in the last {window_days:g} days"
    heard_text = np.where(
        cand["last_heard"].isna(), "never heard",
        "last heard " + _each_distinct(cand["last_heard"], lambda x: x.dt.strftime("%Y-%m-%d")).fillna("")
        + ", not " + window_text,
    )

    def percent(col):
        return _each_distinct((100 * cand[col]).round(1), lambda x: x.astype(str))

    who = np.where(cand["veto"], "veto holder, ", "") + "influence " + percent("influence")
    return (
        who + "% of account (" + cand["role"].fillna("role unknown").astype(str) + "), "
        + pd.Series(heard_text, index=cand.index) + "; heard influence "
        + percent("heard_influence_before") + "% -> " + percent("heard_influence_after") + "%"
    )
