"""Coverage's departures: who left in the window, and each departed person's influence at the instant
before they left (:func:`_influence_at_departure`: the villages as they were at every departure, computed
in one influence call), with the integer plumbing (groups, ranks) it runs on.

Split from :mod:`cxinfluence.listening.people` (the active people, who was heard, their influence now).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ..network.blend import influence_of_blocks, role_weight_of
from ..network.edges import endorse, tie_kinds, tie_weights
from ..network.influence import influence_weights
from ..village.asof import active_mask, active_nanoseconds
from ..village.core import Village
from ..village.ids import arrow_text, id_strings, prime, ranges
from ..village.schema import ROLE_WEIGHTS
from .people import _ceil_count, _Rows


def _departure_mask(village, as_of, window_days) -> np.ndarray:
    """Bool per stakeholders row: left at or before ``as_of`` and, unless
    ``window_days`` is None, no earlier than ``as_of - window_days``."""
    s = village.stakeholders
    if "active_to" not in s:
        return np.zeros(len(s), dtype=bool)
    end = pd.to_datetime(s["active_to"])
    mask = end.notna() & (end <= as_of)
    if window_days is not None:
        mask &= end >= as_of - pd.Timedelta(days=window_days)
    return mask.to_numpy(dtype=bool)


def _departures(village, as_of, window_days, rows: _Rows) -> pd.DataFrame:
    """Stakeholders who left at or before ``as_of`` (``active_to <= as_of``) and, unless
    ``window_days`` is None, no earlier than ``as_of - window_days``: ``row``, ``acc``,
    ``stakeholder_id``, ``active_to``."""
    s = village.stakeholders
    end = pd.to_datetime(s["active_to"]) if "active_to" in s else pd.Series(pd.NaT, index=s.index)
    row = np.flatnonzero(_departure_mask(village, as_of, window_days))
    return pd.DataFrame({"row": row, "acc": rows.acc[row], "stakeholder_id": id_strings(s["stakeholder_id"].iloc[row]),
                         "active_to": end.iloc[row].to_numpy(dtype="datetime64[ns]")})


def _influence_at_departure(village, gone: pd.DataFrame, as_of, influence_fn, key_top, rows: _Rows) -> pd.DataFrame:
    """Each departed person's influence share at the instant before they left, and
    whether they ranked in the top ``max(1, ceil(key_top * n))`` of the ``n``
    people then active in the account.

    One call of ``influence_fn`` for all departures: every (account, departure
    instant) pair becomes one account of a stand-in village holding the people
    active at that instant (with their ties), all marked active, so the
    portfolio-wide influence computation runs once, not once per date.
    Returns ``gone`` with ``acc`` (account code), ``influence``, ``key_influencer``.
    """
    s = village.stakeholders
    gone = gone.assign(instant=gone["active_to"].to_numpy(dtype="datetime64[ns]") - np.timedelta64(1, "ns"))
    pairs = gone[["acc", "instant"]].drop_duplicates().reset_index(drop=True)
    pairs["key"] = np.arange(len(pairs))
    gone = gone.merge(pairs, on=["acc", "instant"])

    # members: (key, row of stakeholders) for everyone active in that account at that instant
    by_account = _Groups.of(rows.acc)
    key, row = by_account.expand(pairs["acc"].to_numpy())
    present = _active_at(s, row, pairs["instant"].to_numpy(dtype="datetime64[ns]")[key])
    member = _member_finder(by_account, pairs["acc"].to_numpy(), present)
    key, row = key[present], row[present]
    if not len(key):  # nobody was active at any of those instants (e.g. left the day they joined)
        return gone.assign(influence=np.nan, key_influencer=False)

    # the default influence treats each account alone: the stand-in accounts (at 100k accounts 3.8M people, more
    # than the village) are scored from arrays in slices of whole stand-in accounts, each slice's gone before the
    # next; another influence_fn gets one stand-in village of them all
    by_source = _Groups.of(rows.src)
    default = _reads_only(influence_fn, s)
    step = STAND_IN_SLICE if default else len(key)
    arrays = _person_and_tie_arrays(village) if default else None
    influence = np.full(len(key), np.nan)
    for m0, m1 in _slices(key, step):
        influence[m0:m1] = _stand_in_influence(village, key[m0:m1], row[m0:m1], m0, member, by_source, rows.dst,
                                               as_of, influence_fn, arrays)
    total = np.bincount(key, weights=np.nan_to_num(influence), minlength=len(pairs))[key]
    share = np.where(total > 0, influence / np.where(total > 0, total, 1.0), np.nan)
    n_present = np.bincount(key, minlength=len(pairs))[key]
    top_n = np.maximum(1, _ceil_count(key_top, n_present))

    at = member(gone["key"].to_numpy(), gone["row"].to_numpy())
    found = at >= 0
    rank = _rank_desc(key, share, at[found])
    key_influencer = found.copy()
    key_influencer[found] = rank <= top_n[at[found]]
    gone["influence"] = np.where(found, share[at], np.nan)
    gone["key_influencer"] = key_influencer
    return gone


#: Stand-in people scored per influence call by :func:`_influence_at_departure` (whole stand-in accounts per
#: slice): bounds the call's tables and arrays, which at 3.8M stand-in people added 0.7 GiB at once.
STAND_IN_SLICE = 500_000


def _slices(key: np.ndarray, size: int):
    """``(start, stop)`` of consecutive runs of ``key`` (sorted) holding about ``size`` entries each, never
    splitting a run of equal keys."""
    n = len(key)
    start = 0
    while start < n:
        stop = min(start + max(int(size), 1), n)
        if stop < n:  # extend to the end of the stand-in account cut at stop
            stop = int(np.searchsorted(key, key[stop - 1], side="right"))
        yield start, stop
        start = stop


def _stand_in_influence(village, key, row, offset, member, by_source, dst, as_of, influence_fn,
                        arrays=None) -> np.ndarray:
    """``influence_fn`` of the stand-in accounts of members ``offset .. offset + len(key)`` (whole accounts):
    each member's influence, in member order. Members are named ``m<member index>`` and accounts
    ``k<key>`` whatever the slice, so a slice's stand-in village is the whole one's rows for those accounts.
    With ``arrays`` (:func:`_person_and_tie_arrays`; the default influence) no village is built: the
    influence comes from the members' rows and ties as positions (:func:`influence_of_blocks`, the same
    arithmetic as :func:`influence_weights` on the stand-in village, tested equal)."""
    s = village.stakeholders
    # ties among members of the same stand-in account
    t_src_pos, tie = by_source.expand(row)  # each member's ties as source
    t_dst_pos = member(key[t_src_pos], dst[tie])
    inside = t_dst_pos >= 0
    tie, t_src_pos, t_dst_pos = tie[inside], t_src_pos[inside], t_dst_pos[inside] - offset
    first_member = np.r_[True, key[1:] != key[:-1]]
    account_row = np.cumsum(first_member) - 1
    if arrays is not None:
        role_w, rating, kinds, weights = arrays
        u, v = endorse(t_src_pos, t_dst_pos, kinds[tie])
        keep = u != v  # influence_weights drops self-ties
        return influence_of_blocks(account_row, u[keep], v[keep], weights[tie][keep], role_w[row], rating[row])
    sub_id = _labels("m", np.arange(offset, offset + len(key)))

    # the real rows (role, veto, rating, any extra column) under stand-in ids, all active
    account_label = _labels("k", key[first_member])
    stand_in_ties = _take_replacing(village.relationships, tie, source_id=sub_id.take(t_src_pos),
                                    target_id=sub_id.take(t_dst_pos))
    stand_in_people = _take_replacing(s, row, stakeholder_id=sub_id, account_id=account_label.take(account_row),
                                      active_from=pd.NaT, active_to=pd.NaT)
    stand_in = Village(
        accounts=pd.DataFrame({"account_id": account_label}),
        stakeholders=stand_in_people,
        relationships=stand_in_ties,
        responses=village.responses.iloc[:0].copy(),
        outcomes=village.outcomes.iloc[:0].copy(),
        source="coverage: village at each departure",
    )
    del stand_in_people, stand_in_ties
    # the stand-in ids resolve by construction: spare influence_fn hashing them (cxinfluence.village.ids)
    prime(stand_in, {("relationships", "source_id"): t_src_pos, ("relationships", "target_id"): t_dst_pos,
                     ("stakeholders", "account_id"): account_row})

    w = influence_fn(stand_in, as_of)
    del stand_in
    returned, asked = arrow_text(w["stakeholder_id"]), arrow_text(pd.Series(sub_id))
    if returned is not None and asked is not None and returned.equals(asked):  # same people, same order
        return pd.to_numeric(w["influence"], errors="coerce").to_numpy(dtype=float, copy=True)
    # stand-in ids are "m<member index>": parse them back rather than hash them
    pos = pd.to_numeric(pd.Series(w["stakeholder_id"]).astype("str").str.slice(1), errors="coerce")
    pos = pos.fillna(-1).to_numpy(dtype=np.int64) - offset
    pos = np.where((pos >= 0) & (pos < len(key)), pos, -1)
    influence = np.full(len(key), np.nan)
    influence[pos[pos >= 0]] = pd.to_numeric(w["influence"], errors="coerce").to_numpy(dtype=float)[pos >= 0]
    return influence


def _person_and_tie_arrays(village):
    """What the default influence reads of each stakeholder and tie, as arrays: role weight, rating (NaN:
    blank), kind code and weight. The kinds and weights of every tie are checked, as the influence now
    (computed on the whole village before the departures) checks them."""
    s, ties = village.stakeholders, village.relationships
    role_w = role_weight_of(s["role"], dict(ROLE_WEIGHTS), len(s))
    rating = (pd.to_numeric(s["influence_rating"], errors="coerce").to_numpy(float)
              if "influence_rating" in s.columns else np.full(len(s), np.nan))
    has_ties = ties is not None and len(ties) and "kind" in ties.columns
    kinds = tie_kinds(ties["kind"]) if has_ties else np.zeros(0, dtype=np.int64)
    weights = tie_weights(ties, "weight") if has_ties else np.zeros(0)
    return role_w, rating, kinds, weights


def _reads_only(influence_fn, stakeholders) -> bool:
    """Whether ``influence_fn`` is the default influence (with roles and veto present, so that it completes
    no roles from titles), which :func:`_person_and_tie_arrays` and :func:`influence_of_blocks` reproduce."""
    return influence_fn is influence_weights and {"role", "veto"} <= set(stakeholders.columns)


def _active_at(stakeholders: pd.DataFrame, rows: np.ndarray, instants: np.ndarray) -> np.ndarray:
    """:func:`cxinfluence.village.asof.active_mask` of each ``stakeholders`` row at its own
    instant (``datetime64[ns]``), compared as integers (:func:`~cxinfluence.village.asof.active_nanoseconds`)
    when the date columns are ``datetime64[ns]`` too."""
    cols = [c for c in ("active_from", "active_to") if c in stakeholders]
    if any(stakeholders[c].dtype != "datetime64[ns]" for c in cols):
        dates = stakeholders[cols].iloc[rows].reset_index(drop=True)
        return active_mask(dates, pd.Series(instants)).to_numpy()
    if not cols:
        return np.ones(len(rows), dtype=bool)
    at_rows = [stakeholders[c].to_numpy().view(np.int64)[rows] if c in cols else None
               for c in ("active_from", "active_to")]
    return active_nanoseconds(*at_rows, instants.view(np.int64))


class _Groups(NamedTuple):
    """Positions of an integer code array grouped by code (codes in ``[-1, n)``;
    -1 is a group too): ``codes`` themselves, ``order`` (positions by code,
    ascending within a code) and ``start``/``count`` of code ``c`` at index
    ``c + 1``. One stable sort builds it; every look-up is then a direct index
    (no hashing, no binary search)."""

    codes: np.ndarray
    order: np.ndarray
    start: np.ndarray
    count: np.ndarray

    @classmethod
    def of(cls, codes: np.ndarray) -> "_Groups":
        codes = np.asarray(codes, dtype=np.intp)
        count = np.bincount(codes + 1, minlength=1)
        return cls(codes, np.argsort(codes, kind="stable"), np.cumsum(count) - count, count)

    def slots(self) -> np.ndarray:
        """Each position's place within its group."""
        slot = np.empty(len(self.order), dtype=np.intp)
        slot[self.order] = np.arange(len(self.order)) - np.repeat(self.start, self.count)
        return slot

    def sizes(self, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """First place in ``order`` and size of each wanted code's group (size 0
        for a code never seen)."""
        w = np.minimum(np.asarray(wanted, dtype=np.intp) + 1, len(self.count))
        count = np.r_[self.count, 0]  # one empty group past the end
        return np.r_[self.start, 0][w], count[w]

    def expand(self, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each entry of ``wanted`` in turn, every position ``i`` with
        ``codes[i] == wanted`` in ascending order: ``(entry, i)`` pairs, the rows
        of the inner merge of ``wanted`` with ``codes``."""
        first, n = self.sizes(wanted)
        return np.repeat(np.arange(len(wanted)), n), self.order[ranges(first, n)]


def _member_finder(groups: _Groups, wanted: np.ndarray, present: np.ndarray):
    """Look-up into the pairs of ``groups.expand(wanted)`` kept by ``present``:
    ``find(entry, position)`` gives the index of ``(entry, position)`` among the
    kept pairs, -1 when it is not one (position -1, of another code, or not
    present). Arithmetic on the position's slot in its group, no search."""
    wanted = np.asarray(wanted, dtype=np.intp)
    slot = groups.slots()
    n = groups.sizes(wanted)[1]
    offset = np.cumsum(n) - n  # first expanded pair of each entry
    kept_index = np.cumsum(present) - 1

    def find(entry, position):
        entry, position = np.asarray(entry, dtype=np.intp), np.asarray(position, dtype=np.intp)
        safe = np.maximum(position, 0)
        ok = (position >= 0) & (groups.codes[safe] == wanted[entry])
        at = offset[entry] + slot[safe]
        ok[ok] = present[at[ok]]
        return np.where(ok, kept_index[np.where(ok, at, 0)], -1)

    return find


def _rank_desc(group: np.ndarray, values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Rank of ``values[at]`` within its group (``group`` sorted ascending), largest
    first, ties sharing the smallest rank (``groupby(group).rank(method="min",
    ascending=False)``; NaN values are left out, a NaN queried ranks NaN), by
    comparing each queried value with its own group only."""
    group = np.asarray(group)
    at = np.asarray(at, dtype=np.intp)
    first = np.searchsorted(group, group[at], "left")
    n = np.searchsorted(group, group[at], "right") - first
    query = np.repeat(np.arange(len(at)), n)
    above = np.bincount(query, weights=values[ranges(first, n)] > values[at][query], minlength=len(at))
    return np.where(np.isnan(values[at]), np.nan, above + 1.0)


def _labels(prefix: str, numbers: np.ndarray):
    """``prefix + str(number)`` ids, built by pyarrow and typed as pandas would
    type the same Python strings (Arrow-backed ``str`` on pandas 3, object before)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.binary_join_element_wise(prefix, pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string()), "")
    dtype = pd.Series(["x"]).dtype
    return pd.array(text, dtype=dtype) if dtype is not np.dtype(object) else np.asarray(text.to_pylist(), dtype=object)


def _take_replacing(frame: pd.DataFrame, rows: np.ndarray, **columns) -> pd.DataFrame:
    """``frame.iloc[rows].reset_index(drop=True).assign(**columns)`` without taking
    the columns about to be replaced (text columns are the costly ones to take)."""
    kept = frame.drop(columns=[c for c in columns if c in frame.columns])
    out = kept.iloc[rows].reset_index(drop=True).assign(**columns)
    return out[list(frame.columns) + [c for c in columns if c not in frame.columns]]
