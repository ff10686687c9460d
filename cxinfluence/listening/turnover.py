"""Turnover what-ifs: remove people (or restore those who left) and compare influence,
coverage and single points of failure before and after. See
:mod:`cxinfluence.listening.coverage` for the shared definitions.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ..exceptions import CoverageError
from ..network.cuts import articulation_points_blocks
from ..village.asof import DEFAULT_WINDOW_DAYS, to_timestamp
from ..village.core import Village
from ..village.ids import carry, id_strings, join_ids, lookup
from .departures import _departures
from .people import (
    _account_ids,
    _account_summary,
    _check_share,
    _check_village,
    _check_window,
    _default_influence_fn,
    _people,
    _Rows,
    _rows,
)


class TurnoverWhatIf(NamedTuple):
    """Result of :func:`turnover_what_if`: ``accounts`` (one row per account,
    before/after) and ``stakeholders`` (one row per person active in either
    scenario). Unpacks as ``accounts, stakeholders = turnover_what_if(...)``."""

    accounts: pd.DataFrame
    stakeholders: pd.DataFrame


def _articulation_points(people: pd.DataFrame, rows: _Rows, only=None) -> np.ndarray:
    """Bool per row of ``people``: articulation point of its account's undirected tie
    graph (ties among active people of one account; self-ties dropped), for every account
    at once (:func:`cxinfluence.network.cuts.articulation_points_blocks`). ``only`` (bool
    per account code) limits the graph to those accounts."""
    person_of_row = np.full(len(rows.acc), -1, dtype=np.intp)
    person_of_row[people["row"].to_numpy()] = np.arange(len(people))
    src = np.where(rows.src >= 0, person_of_row[rows.src], -1)
    dst = np.where(rows.dst >= 0, person_of_row[rows.dst], -1)
    acc = people["acc"].to_numpy()
    keep = (src >= 0) & (dst >= 0) & (src != dst)
    keep[keep] = acc[src[keep]] == acc[dst[keep]]
    if only is not None:
        keep[keep] = only[acc[src[keep]]]
    return articulation_points_blocks(acc, src[keep], dst[keep])


def _single_points(people: pd.DataFrame, articulation: np.ndarray, spof_share: float, k: int) -> pd.DataFrame:
    """Add ``articulation_point``, ``heard_share`` (``w_i / H`` for heard people) and
    ``spof`` (articulation point, or ``heard_share > spof_share``)."""
    acc = people["acc"].to_numpy()
    heard_w = np.where(people["heard"].to_numpy(), np.nan_to_num(people["influence"].to_numpy(dtype=float)), 0.0)
    heard_total = np.bincount(acc, weights=heard_w, minlength=k)[acc]
    share = np.where(heard_total > 0, heard_w / np.where(heard_total > 0, heard_total, 1.0), 0.0)
    return people.assign(articulation_point=articulation, heard_share=share,
                         spof=articulation | (share > spof_share))


def turnover_what_if(village, as_of, *, remove=None, window_days=DEFAULT_WINDOW_DAYS, influence_fn=None,
                     spof_share=0.5, single_thread_share=0.8, accounts=None) -> TurnoverWhatIf:
    """What turnover does to influence, coverage and single points of failure.

    Scenarios (``as_of`` fixed; the input village is never modified):

    * ``remove=[ids]``: **before** is the village at ``as_of``; **after** marks
      the listed people as having left at ``as_of`` (``active_to = as_of``) and
      recomputes everyone's influence without them (their ties go with them).
      Listed people who are not active at ``as_of`` change nothing; an id not
      in the village raises :class:`~cxinfluence.exceptions.CoverageError`.
    * ``remove="departed"``: **before** restores everyone who left within the
      window (``active_to`` in ``[as_of - window_days, as_of]``, as in
      :func:`coverage`; ever if ``window_days`` is None) as if they had stayed;
      **after** is the village as it is. This shows what the turnover cost.
    * ``remove=None``: no change (before = after); use it to read the current
      single points of failure.

    Influence is recomputed on each scenario's village with ``influence_fn``
    (default :func:`cxinfluence.network.influence.influence_weights`), so the people
    who remain can gain or lose weight through the graph. A **single point of
    failure** is an active person who either

    * is an articulation point of the account's undirected tie graph (removing
      them splits the account's people into more connected pieces: Hopcroft &
      Tarjan 1973, :func:`networkx.articulation_points`), or
    * carries more than ``spof_share`` of the account's heard influence
      (``w_i / H`` for a heard person): losing them loses most of what we hear.

    Parameters
    ----------
    village : Village
    as_of : date-like
    remove : None, "departed" or list of str
    window_days : float or None, default 365
    influence_fn : callable, optional
        ``(village, as_of) -> DataFrame`` with ``stakeholder_id, influence``.
    spof_share : float in (0, 1], default 0.5
    single_thread_share : float in (0, 1], default 0.8
        As in :func:`coverage`.
    accounts : list of str, optional
        Only these accounts (default: all). Influence is computed within each
        account, so the figures do not change; it saves time on a large
        portfolio, where the articulation points (networkx, one pass over every
        tie) dominate the cost.

    Returns
    -------
    TurnoverWhatIf
        ``accounts``: ``account_id, as_of, scenario, n_removed, removed_ids,
        removed_influence`` (the removed people's influence share before) and
        ``*_before`` / ``*_after`` for ``n_stakeholders, n_responders,
        heard_influence, veto_holders, unheard_veto, single_threaded,
        missing_roles, spof_ids, n_spof``, plus ``heard_influence_change``.
        ``stakeholders``: ``account_id, stakeholder_id, role, veto, removed,
        heard, influence_before, influence_after, influence_change,
        articulation_point_before/after, spof_before/after`` (NaN/False for a
        scenario the person is not in).

    Examples
    --------
    >>> import pandas as pd
    >>> from cxinfluence.village.core import Village
    >>> v = Village(
    ...     accounts=pd.DataFrame({"account_id": ["A"]}),
    ...     stakeholders=pd.DataFrame({"stakeholder_id": ["a1", "a2", "a3"], "account_id": ["A"] * 3,
    ...                                "role": ["user", "decider", "user"], "veto": [False, True, False]}),
    ...     relationships=pd.DataFrame({"source_id": ["a1", "a3"], "target_id": ["a2", "a2"],
    ...                                 "kind": ["reports_to"] * 2}),
    ...     responses=pd.DataFrame({"stakeholder_id": ["a1", "a2"], "date": pd.to_datetime(["2024-05-01"] * 2)}),
    ...     outcomes=pd.DataFrame(columns=["account_id", "period_end", "renewed"]))
    >>> def equal(village, as_of):  # equal influence among active people
    ...     s = village.stakeholders
    ...     s = s[s["active_to"].isna() | (s["active_to"] > pd.Timestamp(as_of))] if "active_to" in s else s
    ...     n = s.groupby("account_id")["stakeholder_id"].transform("size")
    ...     return s[["account_id", "stakeholder_id"]].assign(influence=1 / n)
    >>> acc, people = turnover_what_if(v, "2024-06-30", remove=["a2"], influence_fn=equal)
    >>> cols = ["spof_ids_before", "heard_influence_before", "heard_influence_after", "unheard_veto_after"]
    >>> acc[cols].values.tolist()
    [['a2', 0.666..., 0.5, 0]]
    """
    _check_village(village)
    as_of = to_timestamp(as_of)
    window_days = _check_window(window_days)
    spof_share = _check_share("spof_share", spof_share)
    single_thread_share = _check_share("single_thread_share", single_thread_share)
    fn = _default_influence_fn(influence_fn)
    _check_remove(remove)
    full = village
    if accounts is not None:
        village = _subset(village, accounts)
    rows = _rows(village)
    scenario, removed_rows, before_v, after_v = _scenario(village, full, remove, as_of, window_days, rows)
    is_removed = np.zeros(len(village.stakeholders), dtype=bool)
    is_removed[removed_rows] = True
    people_b, people_a = _before_after(before_v, after_v, as_of, window_days, fn, rows, is_removed, spof_share)
    acc = _turnover_accounts(people_b, people_a, rows.accounts, is_removed, as_of, scenario, single_thread_share)
    return TurnoverWhatIf(acc, _turnover_people(people_b, people_a, is_removed))


def _check_remove(remove):
    if remove is not None and not (isinstance(remove, str) and remove == "departed") and (
            isinstance(remove, str) or not isinstance(remove, (list, tuple, set, pd.Index, pd.Series, np.ndarray))):
        raise CoverageError(
            f"remove={remove!r} is not understood; expected None, 'departed' or a list of stakeholder ids"
        )


def _scenario(village, full, remove, as_of, window_days, rows):
    """The scenario of :func:`turnover_what_if`: ``(name, removed rows, village before, village after)``."""
    s = village.stakeholders
    end = (pd.to_datetime(s["active_to"]) if "active_to" in s else pd.Series(pd.NaT, index=s.index))
    end = end.to_numpy(dtype="datetime64[ns]").copy()
    if remove is None:
        return "none", np.zeros(0, dtype=np.intp), village, village
    if isinstance(remove, str):
        removed_rows = _departures(village, as_of, window_days, rows)["row"].to_numpy()
        end[removed_rows] = np.datetime64("NaT")  # as if they had stayed
        return "departed", removed_rows, _with_stakeholders(village, s.assign(active_to=end)), village
    wanted = pd.Series([str(x) for x in remove], dtype=object).drop_duplicates()
    unknown = wanted[lookup(full.stakeholders["stakeholder_id"], wanted) < 0]
    if len(unknown):
        raise CoverageError(
            f"remove lists {len(unknown)} stakeholder id(s) not in the village, e.g. {sorted(unknown)[:5]}; "
            "expected ids from village.stakeholders['stakeholder_id']"
        )
    removed_rows = lookup(s["stakeholder_id"], wanted)
    removed_rows = removed_rows[removed_rows >= 0]  # people outside ``accounts`` are not reported
    leave = end[removed_rows]
    end[removed_rows] = np.where(np.isnat(leave) | (leave > as_of.to_datetime64()), as_of.to_datetime64(), leave)
    return "removed", removed_rows, village, _with_stakeholders(village, s.assign(active_to=end))


def _before_after(before_v, after_v, as_of, window_days, fn, rows, is_removed, spof_share):
    """People tables (influence, heard, cut vertices, single points of failure) before and after."""
    k = len(rows.accounts)
    people_b = _people(before_v, as_of, window_days, fn(before_v, as_of), rows)
    people_b = _single_points(people_b, _articulation_points(people_b, rows), spof_share, k)
    if after_v is before_v:
        return people_b, people_b
    removed_mask = is_removed[people_b["row"].to_numpy()]
    people_a = _people(after_v, as_of, window_days, fn(after_v, as_of), rows)
    # only accounts that lost someone can change shape: reuse the other accounts' flags
    touched = np.zeros(k, dtype=bool)
    touched[people_b["acc"].to_numpy()[removed_mask]] = True
    cut = _articulation_points(people_a, rows, only=touched)
    was_cut = np.zeros(len(is_removed), dtype=bool)
    was_cut[people_b["row"].to_numpy()] = people_b["articulation_point"].to_numpy()
    untouched = ~touched[people_a["acc"].to_numpy()]
    cut[untouched] = was_cut[people_a["row"].to_numpy()[untouched]]
    return people_b, _single_points(people_a, cut, spof_share, k)


_SUMMARY = ("n_stakeholders", "n_responders", "heard_influence", "veto_holders", "unheard_veto", "single_threaded",
            "missing_roles", "spof_ids", "n_spof")


def _spof_summary(people, accounts, single_thread_share):
    """The account summary of one side of the scenario, with its single points of failure."""
    k = len(accounts)
    out = _account_summary(people, accounts, single_thread_share)
    spof = people["spof"].to_numpy()
    out["spof_ids"] = join_ids(people["acc"].to_numpy()[spof], people["stakeholder_id"].to_numpy()[spof], k)
    out["n_spof"] = np.bincount(people["acc"].to_numpy()[spof], minlength=k).astype(int)
    return out[list(_SUMMARY)]


def _turnover_accounts(people_b, people_a, accounts, is_removed, as_of, scenario, single_thread_share):
    """The per-account table of :func:`turnover_what_if`."""
    k = len(accounts)
    removed_mask = is_removed[people_b["row"].to_numpy()]
    gone_acc = people_b["acc"].to_numpy()[removed_mask]
    acc = pd.DataFrame(index=accounts)
    acc.index.name = "account_id"
    acc["as_of"] = as_of
    acc["scenario"] = scenario
    acc["n_removed"] = np.bincount(gone_acc, minlength=k).astype(int)
    acc["removed_ids"] = join_ids(gone_acc, people_b["stakeholder_id"].to_numpy()[removed_mask], k)
    acc["removed_influence"] = np.bincount(
        gone_acc, weights=np.nan_to_num(people_b["influence"].to_numpy(dtype=float)[removed_mask]), minlength=k)
    acc = acc.join(_spof_summary(people_b, accounts, single_thread_share).add_suffix("_before")).join(
        _spof_summary(people_a, accounts, single_thread_share).add_suffix("_after"))
    acc["heard_influence_change"] = acc["heard_influence_after"] - acc["heard_influence_before"]
    order = ["as_of", "scenario", "n_removed", "removed_ids", "removed_influence"]
    for col in _SUMMARY:
        order += [f"{col}_before", f"{col}_after"]
    return acc[order + ["heard_influence_change"]].reset_index()


def _turnover_people(people_b, people_a, is_removed):
    """The per-person table of :func:`turnover_what_if` (before and after side by side)."""
    ids = ["acc", "account_id", "stakeholder_id"]
    cols = ["row", "role", "veto", "heard", "influence", "articulation_point", "spof"]
    # the stakeholders-table row says who someone is: join on it (an integer), then name each row
    # from the side that has it (the same person on both sides)
    people = people_b[cols].merge(people_a[cols], on="row", how="outer", suffixes=("_before", "_after"))
    row = people["row"].to_numpy()
    where = np.full(len(is_removed), -1, dtype=np.intp)
    where[people_a["row"].to_numpy()] = len(people_b) + np.arange(len(people_a))
    where[people_b["row"].to_numpy()] = np.arange(len(people_b))
    named = pd.concat([people_b[ids], people_a[ids]], ignore_index=True).take(where[row])
    people = pd.concat([people[["row"]], named.set_axis(people.index), people.drop(columns="row")], axis=1)
    for col in ("role", "veto", "heard"):
        people[col] = people[f"{col}_before"].where(people[f"{col}_before"].notna(), people[f"{col}_after"])
    people["removed"] = is_removed[people["row"].to_numpy()]
    people["influence_change"] = people["influence_after"] - people["influence_before"]
    for col in ("articulation_point", "spof"):
        for side in ("before", "after"):
            people[f"{col}_{side}"] = people[f"{col}_{side}"].astype("boolean").fillna(False).astype(bool)
    people["veto"] = people["veto"].astype(bool)
    people["heard"] = people["heard"].astype(bool)
    people = people.sort_values(["acc", "stakeholder_id"], kind="stable")
    people = people[["account_id", "stakeholder_id", "role", "veto", "removed", "heard", "influence_before",
                     "influence_after", "influence_change", "articulation_point_before", "articulation_point_after",
                     "spof_before", "spof_after"]]
    return people.reset_index(drop=True)


def _subset(village, accounts) -> Village:
    """The village restricted to some accounts (their people, ties and responses).

    Influence and coverage are computed within each account, so an account's
    figures are the same in the subset as in the whole village."""
    wanted = pd.Index(id_strings(pd.Series([accounts] if isinstance(accounts, str) else list(accounts), dtype=object)))
    unknown = wanted.difference(_account_ids(village))
    if len(unknown):
        raise CoverageError(
            f"accounts lists {len(unknown)} account id(s) not in the village, e.g. {sorted(unknown)[:5]}; "
            "expected ids from village.accounts['account_id']"
        )
    a, s = village.accounts, village.stakeholders
    s = s.loc[pd.Index(id_strings(s["account_id"])).isin(wanted)]
    people = pd.Index(id_strings(s["stakeholder_id"]))
    rel, r = village.relationships, village.responses
    return Village(
        accounts=a.loc[pd.Index(id_strings(a["account_id"])).isin(wanted)],
        stakeholders=s,
        relationships=rel.loc[pd.Index(id_strings(rel["source_id"])).isin(people)] if len(rel) else rel,
        responses=r.loc[pd.Index(id_strings(r["stakeholder_id"])).isin(people)] if len(r) else r,
        outcomes=village.outcomes, source=village.source, problems=list(village.problems),
    )


def _with_stakeholders(village, stakeholders) -> Village:
    """A shallow copy of ``village`` with another stakeholders table (input untouched), keeping the id
    matches of the columns it shares (:func:`cxinfluence.village.ids.carry`: the ties are not hashed again)."""
    return carry(village, Village(accounts=village.accounts, stakeholders=stakeholders,
                                  relationships=village.relationships, responses=village.responses,
                                  outcomes=village.outcomes, source=village.source, problems=list(village.problems)))
