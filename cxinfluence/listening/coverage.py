"""Who we hear in each account, who we miss, and what turnover does to it.

Seed 001 (key 1) asks to "identify all parties within a customer account with
the power to kill a buying decision... keep a radar on their sentiment". This
module measures how well that radar covers each account's village, as of a
date, and what to do about the gaps:

* :func:`coverage` -- one row per account: stakeholders, responders, the share
  of the account's influence heard recently, veto holders not heard, whether
  one contact carries the relationship, roles missing, recent departures and
  whether a key influencer left;
* :func:`manager_books` -- one row per account manager: relationships carried
  against Dunbar's ~150 and how revenue is concentrated across the book;
* :func:`listening_plan` -- per account, whom to survey next;
* :func:`turnover_what_if` -- remove people (or restore those who left) and
  compare influence, coverage and single points of failure before and after.

Definitions shared by every function (``t`` = ``as_of``)
--------------------------------------------------------
* **active**: :func:`cxinfluence.village.asof.active_mask` (``active_from`` blank or
  ``<= t``; ``active_to`` blank or ``> t``).
* **heard**: an active stakeholder with at least one response (any row of
  ``responses``, survey or informal, whatever items it answered) dated in
  ``[t - window_days, t)`` (:func:`cxinfluence.village.asof.window_mask`). A response
  dated on ``t`` itself does not count; ``window_days=None`` looks back forever.
* **influence share** ``w_i``: the stakeholder's ``influence``
  (:func:`cxinfluence.network.influence.influence_weights`, or the table the caller
  passes) divided by the sum over the account's *active* stakeholders, so the
  shares sum to 1 per account even if the table passed holds other people.
* **heard influence** of account ``a``: ``H_a = sum_{i in a, heard} w_i``, in
  ``[0, 1]``; NaN for an account with no active stakeholder.
* **last_heard**: the latest response strictly before ``t``, with no window
  limit, so a veto holder heard only long ago shows when.

References
----------
Dunbar, R. I. M. (1992). Neocortex size as a constraint on group size in
primates. *Journal of Human Evolution*, 22(6), 469-493.

Dunbar, R. I. M. (1998). The social brain hypothesis. *Evolutionary
Anthropology*, 6(5), 178-190.

Seed 002 ("5 Rules for Managing Your Customer Experience in B2B"): the Dunbar
number (~150, closest layer ~5) limits the relationships one person can
manage; a sales team that knew 80% of revenue came from 20% of accounts left
the other accounts effectively without an account manager.

Hopcroft, J. & Tarjan, R. (1973). Efficient algorithms for graph manipulation
(Algorithm 447). *Communications of the ACM*, 16(6), 372-378 (articulation
points, as computed by :func:`networkx.articulation_points`).

Gini, C. (1912). *Variabilità e mutabilità*; the sorted-values formula used
here is in Damgaard & Weiner (2000), *Ecology* 81(4), 1139-1142.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ..village.asof import DEFAULT_WINDOW_DAYS, active_mask, check_window, to_timestamp, window_mask
from ..exceptions import CoverageError
from ..village.ids import (arrow_identity, arrow_text, find, id_strings, key_series, lookup, native_text, prime,
                           ranges, run_heads, unique_text)
from ..village.schema import ROLES, VETO_BY_ROLE
from ..village.core import Village

__all__ = [
    "coverage",
    "manager_books",
    "listening_plan",
    "turnover_what_if",
    "TurnoverWhatIf",
    "DUNBAR_NUMBER",
]

#: Dunbar's number: the cognitive limit on stable relationships (Dunbar 1992, 1998; seed 002).
DUNBAR_NUMBER = 150

_COVERAGE_COLUMNS = [
    "account_id", "as_of", "n_stakeholders", "n_responders", "heard_influence",
    "veto_holders", "unheard_veto", "unheard_veto_ids", "single_threaded",
    "top_responder_share", "missing_roles", "departed", "departed_ids",
    "key_influencer_departed", "departed_max_influence", "last_heard",
]


# --------------------------------------------------------------------------
# argument checks
# --------------------------------------------------------------------------

def _check_village(village):
    if not isinstance(village, Village):
        raise CoverageError(
            f"village={type(village).__name__} is not a Village; expected a cxinfluence.Village "
            "(load one with cxinfluence.load_village or build one with Village(...))"
        )


def _check_window(window_days):
    return check_window(window_days, error=CoverageError)


def _check_share(name, value):
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not (ok and 0 < value <= 1):
        raise CoverageError(f"{name}={value!r} is not a share in (0, 1]; expected e.g. 0.8")
    return float(value)


def _ceil_count(share, n):
    """``ceil(share * n)`` robust to float error (0.2 * 15 = 3.0000000000000004)."""
    return np.ceil(np.round(share * np.asarray(n, dtype=float), 9)).astype(int)


def _default_influence_fn(influence_fn):
    if influence_fn is not None:
        if not callable(influence_fn):
            raise CoverageError(
                f"influence_fn={influence_fn!r} is not callable; expected a function "
                "(village, as_of) -> DataFrame like cxinfluence.network.influence.influence_weights"
            )
        return influence_fn
    from ..network.influence import influence_weights  # lazy: influence is the heavier module

    return influence_weights


# --------------------------------------------------------------------------
# shared building blocks (integer account codes + np.bincount: no loop over accounts)
# --------------------------------------------------------------------------

def _tie_ends(relationships: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """``source_id`` and ``target_id`` of the ties (empty when a tie-less table has no columns)."""
    missing = [c for c in ("source_id", "target_id") if c not in relationships.columns]
    if missing and len(relationships):
        raise CoverageError(f"relationships has no column {missing}; expected 'source_id' and 'target_id'")
    if missing:
        return pd.Series([], dtype="str"), pd.Series([], dtype="str")
    return relationships["source_id"], relationships["target_id"]


def _account_ids(village) -> pd.Index:
    """Every account: the accounts table first, then any only seen in stakeholders."""
    ids = pd.Index(id_strings(village.accounts["account_id"])).drop_duplicates()
    seen = village.stakeholders["account_id"]
    arr = arrow_text(seen)
    if arr is not None:  # stakeholders come grouped by account: one id per run is enough
        seen = seen.iloc[run_heads(arr)]
    extra = pd.Index(id_strings(seen)).drop_duplicates().difference(ids, sort=False)
    return ids.append(extra)


class _Rows(NamedTuple):
    """Every id of a village resolved once to integer positions, so the analyses
    run on integer arrays: ``accounts`` (the account ids), ``acc`` (account code
    of each stakeholders row), ``src``/``dst`` (stakeholders row of each tie's
    ends) and ``resp`` (stakeholders row of each response); -1 = unknown."""

    accounts: pd.Index
    acc: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    resp: np.ndarray


def _rows(village, ties=True) -> _Rows:
    """Resolve the village's ids once (``ties=False`` skips the ties, left empty,
    for analyses that do not use them).

    The answer is kept on the village, keyed on the Arrow arrays behind its id
    columns (immutable, so an edited or replaced column simply misses), for the
    next analysis of the same village: coverage and listening_plan share it."""
    key = _id_arrays(village)
    hit = village.__dict__.get(_ROWS_CACHE)
    if key is not None and hit is not None and len(hit[0]) == len(key) \
            and all(a is b for a, b in zip(hit[0], key)) and (hit[1] or not ties):
        return hit[2]
    rows = _resolve(village, ties)
    for a in rows[1:]:
        a.flags.writeable = False  # shared through the cache
    if key is not None:
        village.__dict__[_ROWS_CACHE] = (key, ties, rows)
    return rows


#: Where :func:`_rows` keeps its answer on a village (as :mod:`cxinfluence.village.ids` keeps its own).
_ROWS_CACHE = "_coverage_rows"


def _id_arrays(village):
    """The Arrow arrays behind every id column :func:`_rows` reads, or None when
    one is missing or not Arrow-backed (nothing immutable to key a cache on)."""
    columns = [(village.accounts, "account_id"), (village.stakeholders, "account_id"),
               (village.stakeholders, "stakeholder_id"), (village.relationships, "source_id"),
               (village.relationships, "target_id"), (village.responses, "stakeholder_id")]
    if any(table is None or col not in table.columns for table, col in columns):
        return None
    key = tuple(arrow_identity(table[col]) for table, col in columns)
    return None if any(k is None for k in key) else key


def _resolve(village, ties) -> _Rows:
    """:func:`_rows` without the cache."""
    s = village.stakeholders
    src, dst = _tie_ends(village.relationships) if ties else (pd.Series([], dtype="str"),) * 2
    r = village.responses
    if "stakeholder_id" not in r.columns and len(r):
        raise CoverageError("responses has no 'stakeholder_id' column; expected who gave each response")
    resp = r["stakeholder_id"] if "stakeholder_id" in r.columns else pd.Series([], dtype="str")
    ids = arrow_text(s["stakeholder_id"])
    if ids is not None and unique_text(ids) and all(arrow_text(x) is not None for x in (src, dst, resp)):
        # the usual case: hash the Arrow ids directly (duplicates take the path below, which names them)
        accounts, acc = _account_rows(village)
        if ids.null_count == 0:
            # unique ids without blanks: the rows cxinfluence.village.ids matched once per village (at loading) are the answer
            from ..village.ids import rows_of

            refs = (("relationships", "source_id"), ("relationships", "target_id"), ("responses", "stakeholder_id"))
            # copy=False: share the arrays cxinfluence.village.ids keeps rather than hold a second copy
            return _Rows(accounts, acc, *(rows_of(village, *ref).astype(np.intp, copy=False) if len(x)
                                          else np.zeros(0, np.intp) for ref, x in zip(refs, (src, dst, resp))))
        return _Rows(accounts, acc, *(find(s["stakeholder_id"], x) for x in (src, dst, resp)))
    accounts = _account_ids(village)
    parts = [key_series(x) for x in (s["stakeholder_id"], src, dst, resp)]
    codes, uniques = pd.factorize(pd.concat(parts, ignore_index=True))
    s_codes = codes[:len(s)]
    counts = np.bincount(s_codes[s_codes >= 0], minlength=len(uniques))
    if (counts > 1).any():
        dup = sorted(str(x) for x in uniques[np.flatnonzero(counts > 1)[:5]])
        raise CoverageError(f"stakeholders has duplicate stakeholder_id {dup}; expected one row per person "
                            "(run cxinfluence.validate_village to list every problem)")
    row_of = np.full(len(uniques), -1, dtype=np.intp)
    row_of[s_codes[s_codes >= 0]] = np.flatnonzero(s_codes >= 0)
    bounds = np.cumsum([len(x) for x in parts])
    resolved = [np.where(c >= 0, row_of[c], -1) for c in np.split(codes, bounds[:-1])]
    return _Rows(accounts, find(accounts, s["account_id"]), resolved[1], resolved[2], resolved[3])


def _account_rows(village) -> tuple[pd.Index, np.ndarray]:
    """:func:`_account_ids` and the account code of each stakeholders row.

    When the accounts table lists every account once (no blank), the codes are
    its rows, as :func:`cxinfluence.village.ids.rows_of` matched them (once per village)."""
    from ..village.ids import rows_of

    table = village.accounts["account_id"]
    listed = arrow_text(table)
    if listed is not None and listed.null_count == 0 and arrow_text(village.stakeholders["account_id"]) is not None:
        ids = pd.Index(id_strings(table))
        if ids.is_unique:
            found = rows_of(village, "stakeholders", "account_id")
            if len(found) == 0 or found.min() >= 0:  # no account beyond the table's
                return ids, found.astype(np.intp, copy=False)
    accounts = _account_ids(village)
    return accounts, find(accounts, village.stakeholders["account_id"])


def _join_ids(codes: np.ndarray, ids: np.ndarray, k: int) -> np.ndarray:
    """``;``-joined sorted ids per account code (``""`` where none).

    Text has no vectorised join, so this is one cheap pass over the already
    grouped rows (much faster than a pandas per-group aggregation)."""
    out = np.full(k, "", dtype=object)
    if len(codes) == 0:
        return out
    frame = pd.DataFrame({"c": codes, "i": ids}).sort_values(["c", "i"], kind="stable")
    c = frame["c"].to_numpy()
    i = frame["i"].tolist()
    starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
    ends = np.r_[starts[1:], len(c)]
    out[c[starts]] = [";".join(i[a:b]) for a, b in zip(starts.tolist(), ends.tolist())]
    return out


def _veto(stakeholders: pd.DataFrame) -> np.ndarray:
    """``veto`` as bool; blank filled by role (schema.VETO_BY_ROLE), else False."""
    if "veto" in stakeholders and stakeholders["veto"].dtype == bool:  # nothing blank to fill
        return stakeholders["veto"].to_numpy()
    index = stakeholders.index
    by_role = stakeholders["role"].map(VETO_BY_ROLE) if "role" in stakeholders else pd.Series(np.nan, index=index)
    veto = stakeholders["veto"] if "veto" in stakeholders else pd.Series(np.nan, index=index, dtype=object)
    return veto.astype(object).where(veto.notna(), by_role).fillna(False).astype(bool).to_numpy()


def _response_dates(village) -> pd.Series:
    """Response dates, positionally aligned with ``_Rows.resp``."""
    r = village.responses
    if "date" not in r.columns:
        if len(r):
            raise CoverageError("responses has no 'date' column; expected the date of each response")
        return pd.Series([], dtype="datetime64[ns]")  # no feedback at all
    return pd.to_datetime(r["date"]).reset_index(drop=True)


def _people(village, as_of, window_days, influence, rows: _Rows) -> pd.DataFrame:
    """Active stakeholders with ``row`` (position in ``village.stakeholders``),
    account code ``acc``, role, veto, influence share, responses in the window
    (``n_responses``, ``heard``) and ``last_heard``."""
    s = village.stakeholders
    act_rows = np.flatnonzero(active_mask(s, as_of).to_numpy())
    used = ["account_id", "stakeholder_id", "role", "veto"]  # listening_plan adds name, title for its rows only
    act = s[[c for c in s.columns if c in used]].iloc[act_rows]
    people = pd.DataFrame({
        "account_id": native_text(act["account_id"], id_strings),
        "stakeholder_id": native_text(act["stakeholder_id"], id_strings),
        "role": (native_text(act["role"], lambda x: x.to_numpy(dtype=object)) if "role" in act
                 else np.full(len(act), np.nan, dtype=object)),
        "veto": _veto(act),
    })
    people["row"] = act_rows
    people["acc"] = rows.acc[act_rows]

    # per stakeholders row first (slot 0: unknown speaker), then the active rows' values
    speaker = rows.resp + 1
    r_date = _response_dates(village)
    in_window = window_mask(r_date, as_of, window_days).to_numpy()
    people["n_responses"] = np.bincount(speaker[in_window], minlength=len(s) + 1)[1:][act_rows]
    people["heard"] = people["n_responses"].to_numpy() > 0
    never = np.iinfo(np.int64).min  # NaT
    last = np.full(len(s) + 1, never, dtype=np.int64)
    stamp = r_date.to_numpy(dtype="datetime64[ns]").view(np.int64)
    np.maximum.at(last, speaker, np.where((r_date < as_of).to_numpy(), stamp, never))
    people["last_heard"] = last[1:][act_rows].view("datetime64[ns]")

    people["influence"] = _influence_share(people, influence, len(rows.accounts), act["stakeholder_id"])
    return people


def _influence_share(people: pd.DataFrame, influence: pd.DataFrame, k: int, people_ids=None) -> np.ndarray:
    """Each active person's influence divided by the account's active total
    (``people_ids``: the people's ids as in the stakeholders table, if at hand)."""
    if not isinstance(influence, pd.DataFrame) or not {"stakeholder_id", "influence"} <= set(influence.columns):
        got = list(influence.columns) if isinstance(influence, pd.DataFrame) else type(influence).__name__
        raise CoverageError(
            f"influence has columns {got}; expected a DataFrame with 'stakeholder_id' and 'influence' "
            "as returned by cxinfluence.network.influence.influence_weights(village, as_of)"
        )
    values = pd.to_numeric(influence["influence"], errors="coerce").to_numpy(dtype=float)
    given = arrow_text(influence["stakeholder_id"])
    mine = arrow_text(people_ids) if people_ids is not None else None
    if given is not None and mine is not None and given.equals(mine):
        # the usual case (influence_weights lists the active people in table order): no hashing;
        # the people's ids are unique, so these are too
        pos = np.arange(len(people))
    else:
        ids = influence["stakeholder_id"].astype("str")
        if ids.duplicated().any():
            dup = sorted(ids[ids.duplicated()].unique())[:5]
            raise CoverageError(
                f"influence lists stakeholder_id {dup} more than once; expected one row per stakeholder "
                "(compute it for one as_of date)"
            )
        pos = find(ids, people["stakeholder_id"] if mine is None else people_ids)
    raw = np.where(pos >= 0, values[pos] if len(values) else np.nan, np.nan)
    missing = people["stakeholder_id"].iloc[np.flatnonzero(np.isnan(raw))].to_numpy()
    if len(missing):
        raise CoverageError(
            f"influence has no value for {len(missing)} active stakeholder(s), e.g. {sorted(missing)[:5]}; "
            "expected one row per stakeholder active at as_of: compute it with "
            "influence_weights(village, as_of) for the same as_of"
        )
    if (raw < 0).any():
        raise CoverageError(f"influence has negative values, e.g. {raw[raw < 0][0]!r}; expected weights >= 0")
    acc = people["acc"].to_numpy()
    total = np.bincount(acc, weights=raw, minlength=k)[acc]
    return np.where(total > 0, raw / np.where(total > 0, total, 1.0), np.nan)


def _group_max(codes: np.ndarray, values: np.ndarray, k: int, initial=0.0) -> np.ndarray:
    """Largest value per code in ``[0, k)``, ``initial`` where a code has none
    (values are never below ``initial``); the dtype is ``initial``'s.

    One ``maximum.reduceat`` over runs when the codes come sorted (people are
    grouped by account in the usual layout), else ``maximum.at``."""
    top = np.full(k, initial)
    if len(codes) and (codes[1:] >= codes[:-1]).all():
        heads = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        top[codes[heads]] = np.maximum.reduceat(values, heads)
    else:
        np.maximum.at(top, codes, values)
    return top


def _role_codes(roles: pd.Series) -> np.ndarray:
    """Position of each role in ``schema.ROLES``; -1 for a blank or any other value.

    pyarrow matches the text (Arrow-backed or plain objects) without a Python
    object per row; values pyarrow cannot read as text take the pandas path."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from ..village.ids import arrow_strings

    try:
        arr = arrow_strings(roles)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pd.Index(ROLES).get_indexer(roles.to_numpy(dtype=object))
    if not pa.types.is_large_string(arr.type) or arr.null_count == len(arr):  # e.g. numbers cast to text
        return pd.Index(ROLES).get_indexer(roles.to_numpy(dtype=object))
    found = pc.index_in(arr, value_set=pa.array(ROLES, type=arr.type))
    return pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.intp)


def _heard_now(people: pd.DataFrame, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per account code: heard influence ``H`` (NaN when nobody is active or the
    account's influence total is 0) and the number of unheard veto holders."""
    acc = people["acc"].to_numpy()
    heard = people["heard"].to_numpy()
    infl = people["influence"].to_numpy(dtype=float)
    known = np.bincount(acc, weights=~np.isnan(infl), minlength=k) > 0  # NaN shares: the account's total is 0
    total_w = np.bincount(acc, weights=np.nan_to_num(infl), minlength=k)
    heard_w = np.bincount(acc, weights=np.nan_to_num(infl) * heard, minlength=k)
    heard_influence = np.where(known & (total_w > 0), heard_w / np.where(total_w > 0, total_w, 1.0), np.nan)
    unheard_veto = np.bincount(acc, weights=people["veto"].to_numpy() & ~heard, minlength=k).astype(int)
    return heard_influence, unheard_veto


def _account_summary(people: pd.DataFrame, accounts: pd.Index, single_thread_share: float) -> pd.DataFrame:
    """Per-account coverage columns from :func:`_people`, indexed by ``account_id``."""
    k = len(accounts)
    acc = people["acc"].to_numpy()
    heard = people["heard"].to_numpy()
    veto = people["veto"].to_numpy()

    def per_account(weights=None):
        return np.bincount(acc, weights=weights, minlength=k)

    out = pd.DataFrame(index=accounts)
    out["n_stakeholders"] = per_account().astype(int)
    out["n_responders"] = per_account(heard).astype(int)
    heard_influence, unheard_veto = _heard_now(people, k)
    out["heard_influence"] = heard_influence
    out["veto_holders"] = per_account(veto).astype(int)
    out["unheard_veto"] = unheard_veto
    unheard = np.flatnonzero(veto & ~heard)  # ids as objects for these people only
    out["unheard_veto_ids"] = _join_ids(acc[unheard], people["stakeholder_id"].iloc[unheard].to_numpy(), k)

    n_resp = people["n_responses"].to_numpy()
    total_resp = per_account(n_resp)
    top = _group_max(acc, n_resp, k)
    share = np.where(total_resp > 0, top / np.where(total_resp > 0, total_resp, 1.0), np.nan)
    out["top_responder_share"] = share
    out["single_threaded"] = (out["n_responders"].to_numpy() == 1) | np.nan_to_num(share >= single_thread_share)

    role_code = _role_codes(people["role"])
    present = np.zeros((k, len(ROLES)), dtype=bool)
    present[acc[role_code >= 0], role_code[role_code >= 0]] = True
    missing = np.full(k, "", dtype=object)
    for j, role in enumerate(ROLES):  # five roles, not a loop over accounts
        missing = missing + np.where(present[:, j], "", role + ";")
    out["missing_roles"] = pd.Series(missing, index=accounts).str.rstrip(";").astype(object)

    stamps = people["last_heard"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    out["last_heard"] = _group_max(acc, stamps, k, np.iinfo(np.int64).min).view("datetime64[ns]")
    out.index.name = "account_id"
    return out


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

    # ties among members of the same stand-in account
    src, dst = rows.src, rows.dst
    t_src_pos, tie = _Groups.of(src).expand(row)  # each member's ties as source
    t_dst_pos = member(key[t_src_pos], dst[tie])
    inside = t_dst_pos >= 0
    tie, t_src_pos, t_dst_pos = tie[inside], t_src_pos[inside], t_dst_pos[inside]
    sub_id = _labels("m", np.arange(len(key)))

    # the real rows (role, veto, rating, any extra column) under stand-in ids, all active
    first_member = np.r_[True, key[1:] != key[:-1]]
    account_label = _labels("k", key[first_member])
    account_row = np.cumsum(first_member) - 1
    stand_in_people = _take_replacing(s, row, stakeholder_id=sub_id, account_id=account_label.take(account_row),
                                      active_from=pd.NaT, active_to=pd.NaT)
    stand_in_ties = _take_replacing(village.relationships, tie, source_id=sub_id.take(t_src_pos),
                                    target_id=sub_id.take(t_dst_pos))
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
    returned, asked = arrow_text(w["stakeholder_id"]), arrow_text(pd.Series(sub_id))
    if returned is not None and asked is not None and returned.equals(asked):  # same people, same order
        influence = pd.to_numeric(w["influence"], errors="coerce").to_numpy(dtype=float, copy=True)
    else:  # stand-in ids are "m<position>": parse them back rather than hash them
        pos = pd.to_numeric(pd.Series(w["stakeholder_id"]).astype("str").str.slice(1), errors="coerce")
        pos = pos.fillna(-1).to_numpy(dtype=np.int64)
        pos = np.where((pos >= 0) & (pos < len(key)), pos, -1)
        influence = np.full(len(key), np.nan)
        influence[pos[pos >= 0]] = pd.to_numeric(w["influence"], errors="coerce").to_numpy(dtype=float)[pos >= 0]
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


def _active_at(stakeholders: pd.DataFrame, rows: np.ndarray, instants: np.ndarray) -> np.ndarray:
    """:func:`cxinfluence.village.asof.active_mask` of each ``stakeholders`` row at its own
    instant (``datetime64[ns]``), compared as integers when the date columns are
    ``datetime64[ns]`` too (NaT is the smallest integer)."""
    cols = [c for c in ("active_from", "active_to") if c in stakeholders]
    if any(stakeholders[c].dtype != "datetime64[ns]" for c in cols):
        dates = stakeholders[cols].iloc[rows].reset_index(drop=True)
        return active_mask(dates, pd.Series(instants)).to_numpy()
    t = instants.view(np.int64)
    never = np.iinfo(np.int64).min
    mask = np.ones(len(rows), dtype=bool)
    if "active_from" in stakeholders:  # blank (NaT) or on/before the instant
        mask &= stakeholders["active_from"].to_numpy().view(np.int64)[rows] <= t
    if "active_to" in stakeholders:  # blank or after the instant
        end = stakeholders["active_to"].to_numpy().view(np.int64)[rows]
        mask &= (end == never) | (end > t)
    return mask


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
    return pd.array(text, dtype=dtype) if dtype != object else np.asarray(text.to_pylist(), dtype=object)


def _take_replacing(frame: pd.DataFrame, rows: np.ndarray, **columns) -> pd.DataFrame:
    """``frame.iloc[rows].reset_index(drop=True).assign(**columns)`` without taking
    the columns about to be replaced (text columns are the costly ones to take)."""
    kept = frame.drop(columns=[c for c in columns if c in frame.columns])
    out = kept.iloc[rows].reset_index(drop=True).assign(**columns)
    return out[list(frame.columns) + [c for c in columns if c not in frame.columns]]


# --------------------------------------------------------------------------
# coverage
# --------------------------------------------------------------------------

def coverage(village, as_of, *, window_days=DEFAULT_WINDOW_DAYS, influence=None,
             single_thread_share=0.8, key_top=0.2, influence_fn=None) -> pd.DataFrame:
    """How well feedback covers each account's village, as of a date.

    Parameters
    ----------
    village : Village
    as_of : date-like
        One date; stakeholders active and responses usable are judged at it
        (module docstring).
    window_days : float or None, default 365
        Look-back for "heard recently" and for counting departures; None = ever.
    influence : DataFrame, optional
        ``stakeholder_id, influence`` for the people active at ``as_of``
        (e.g. ``influence_weights(village, as_of)``). Computed with
        ``influence_fn`` when omitted.
    single_thread_share : float in (0, 1], default 0.8
        An account is single-threaded when one active contact carries the
        relationship: exactly one responder in the window, or one responder
        giving at least this share of the window's responses.
    key_top : float in (0, 1], default 0.2
        A departed person is a key influencer when, at the instant before they
        left, their influence ranked in the top ``max(1, ceil(key_top * n))``
        of the ``n`` people then active in the account (ties share a rank), the
        "vital few" of seed 002's 80/20. Their influence then is computed by
        one extra call of ``influence_fn`` on the villages as they were at each
        departure (people active at that instant, with their ties).
    influence_fn : callable, optional
        ``(village, as_of) -> DataFrame`` with ``stakeholder_id, influence``;
        default :func:`cxinfluence.network.influence.influence_weights`. Used for
        ``influence`` when omitted, and for departed people's influence: if
        ``influence`` came from other settings, pass the same ones here, e.g.
        ``functools.partial(influence_weights, graph_share=1.0)``.

    Returns
    -------
    DataFrame
        One row per account (accounts table order):

        ``n_stakeholders``       active stakeholders at ``as_of``
        ``n_responders``         active stakeholders heard in the window
        ``heard_influence``      ``H = sum of w_i over heard i`` (module
                                 docstring); NaN when nobody is active
        ``veto_holders``         active stakeholders with ``veto``
        ``unheard_veto``         of those, not heard in the window (never, or
                                 only before it); ids ``;``-joined in
                                 ``unheard_veto_ids``
        ``single_threaded``      see ``single_thread_share``; False for an
                                 account with no responder (nobody carries it:
                                 see ``n_responders == 0``)
        ``top_responder_share``  the top responder's share of the window's
                                 responses from active people (NaN if none)
        ``missing_roles``        roles of ``schema.ROLES`` held by no active
                                 stakeholder, ``;``-joined ("" if none missing;
                                 unclassified roles count as no role)
        ``departed``             people whose ``active_to`` lies in
                                 ``[as_of - window_days, as_of]`` (left at or
                                 before ``as_of``; ever when ``window_days`` is
                                 None); ids in ``departed_ids``
        ``key_influencer_departed``  some departed person was a key influencer
                                 (``key_top``) at the instant before leaving,
                                 computed on the village as it was then
        ``departed_max_influence``   the largest such influence share (NaN if
                                 nobody departed)
        ``last_heard``           latest response of an active stakeholder
                                 before ``as_of`` (no window limit), NaT if none

    Raises
    ------
    CoverageError
        A bad option, or an ``influence`` table without a value for some
        active stakeholder (the message names them).

    Examples
    --------
    >>> import pandas as pd
    >>> from cxinfluence.village.core import Village
    >>> v = Village(
    ...     accounts=pd.DataFrame({"account_id": ["A"]}),
    ...     stakeholders=pd.DataFrame({
    ...         "stakeholder_id": ["a1", "a2", "a3"], "account_id": ["A"] * 3,
    ...         "role": ["decider", "buyer", "user"], "veto": [True, False, False],
    ...         "active_from": pd.NaT, "active_to": pd.NaT}),
    ...     relationships=pd.DataFrame(columns=["source_id", "target_id", "kind"]),
    ...     responses=pd.DataFrame({"stakeholder_id": ["a2", "a3"],
    ...                             "date": pd.to_datetime(["2024-03-01", "2024-06-30"])}),
    ...     outcomes=pd.DataFrame(columns=["account_id", "period_end", "renewed"]))
    >>> w = pd.DataFrame({"stakeholder_id": ["a1", "a2", "a3"], "influence": [0.5, 0.3, 0.2]})
    >>> cov = coverage(v, "2024-06-30", influence=w)
    >>> cov[["n_responders", "heard_influence", "unheard_veto_ids", "single_threaded"]]
       n_responders  heard_influence unheard_veto_ids  single_threaded
    0             1              0.3               a1             True
    >>> cov.loc[0, "missing_roles"]
    'influencer;gatekeeper'
    """
    _check_village(village)
    as_of = to_timestamp(as_of)
    window_days = _check_window(window_days)
    single_thread_share = _check_share("single_thread_share", single_thread_share)
    key_top = _check_share("key_top", key_top)
    if influence is None:
        influence = _default_influence_fn(influence_fn)(village, as_of)

    # the ties are only needed to rebuild the village at each departure
    rows = _rows(village, ties=bool(_departure_mask(village, as_of, window_days).any()))
    accounts = rows.accounts
    people = _people(village, as_of, window_days, influence, rows)
    out = _account_summary(people, accounts, single_thread_share)

    gone = _departures(village, as_of, window_days, rows)
    gone_acc = gone["acc"].to_numpy()
    out["departed"] = np.bincount(gone_acc, minlength=len(accounts)).astype(int)
    out["departed_ids"] = _join_ids(gone_acc, gone["stakeholder_id"].to_numpy(), len(accounts))
    if len(gone):
        at_exit = _influence_at_departure(village, gone, as_of, _default_influence_fn(influence_fn), key_top, rows)
        acc = at_exit["acc"].to_numpy()
        out["key_influencer_departed"] = np.bincount(acc, weights=at_exit["key_influencer"].to_numpy(),
                                                     minlength=len(accounts)) > 0
        top = np.full(len(accounts), -np.inf)
        np.maximum.at(top, acc, at_exit["influence"].fillna(-np.inf).to_numpy())
        out["departed_max_influence"] = np.where(np.isfinite(top), top, np.nan)
    else:
        out["key_influencer_departed"] = False
        out["departed_max_influence"] = np.nan
    out.insert(0, "as_of", as_of)
    return out.reset_index()[_COVERAGE_COLUMNS]


# --------------------------------------------------------------------------
# account-manager books
# --------------------------------------------------------------------------

def manager_books(village, as_of, *, capacity=DUNBAR_NUMBER, window_days=DEFAULT_WINDOW_DAYS,
                  top_share=0.2, owner="owner", revenue="annual_revenue") -> pd.DataFrame:
    """Each account manager's book: relationships carried against a capacity, and
    how revenue is concentrated across it.

    Dunbar (1992, 1998) puts the number of stable relationships a person can
    keep at about 150 (seed 002: "about 153", closest layer about 5). A book's
    **active relationships** are the customer stakeholders active at ``as_of``
    in the manager's accounts: every one of them is a person the manager is
    expected to keep a relationship with, heard or not; the
    ``heard_relationships`` (heard within ``window_days``) are shown beside.
    The manager's colleagues and other contacts are not counted, so the
    capacity share is a lower bound on the social load.

    Revenue concentration (accounts with a blank revenue are left out of
    ``revenue`` and these two columns; NaN when the book's revenue is 0 or
    unknown):

    * ``top_revenue_share``: share of the book's revenue in its top
      ``k = ceil(top_share * n)`` accounts by revenue (seed 002's 80/20 when
      ``top_share=0.2``);
    * ``gini``: Gini coefficient of account revenue, with the ``n`` revenues
      sorted ascending ``x_(1) <= ... <= x_(n)``::

          G = 2 * sum_i i * x_(i) / (n * sum_i x_(i)) - (n + 1) / n

      equal to ``sum_i sum_j |x_i - x_j| / (2 n^2 mean(x))`` (0 = all equal,
      ``(n - 1) / n`` = one account has everything; 0 for a one-account book).

    Parameters
    ----------
    village : Village
    as_of : date-like
    capacity : float, default 150
        Relationships one manager can carry (Dunbar's number).
    window_days : float or None, default 365
        Look-back for ``heard_relationships`` and ``accounts_unheard``.
    top_share : float in (0, 1], default 0.2
    owner, revenue : str
        Column names in ``village.accounts``.

    Returns
    -------
    DataFrame
        One row per owner, sorted by ``active_relationships`` descending:
        ``owner, as_of, accounts, accounts_unheard`` (no responder in the
        window), ``active_relationships, heard_relationships, capacity,
        capacity_share`` (active / capacity), ``over_capacity`` (active >
        capacity), ``revenue, revenue_accounts, top_accounts,
        top_revenue_share, gini``. Accounts with no owner form one row with a
        blank owner: the accounts seed 002 warns are left without a manager.

    Examples
    --------
    >>> import pandas as pd
    >>> from cxinfluence.village.core import Village
    >>> v = Village(
    ...     accounts=pd.DataFrame({"account_id": ["A", "B"], "owner": ["kim", "kim"],
    ...                            "annual_revenue": [90.0, 10.0]}),
    ...     stakeholders=pd.DataFrame({"stakeholder_id": ["a1", "a2", "b1"],
    ...                                "account_id": ["A", "A", "B"]}),
    ...     relationships=pd.DataFrame(columns=["source_id", "target_id", "kind"]),
    ...     responses=pd.DataFrame({"stakeholder_id": ["a1"], "date": pd.to_datetime(["2024-01-05"])}),
    ...     outcomes=pd.DataFrame(columns=["account_id", "period_end", "renewed"]))
    >>> books = manager_books(v, "2024-06-30")
    >>> print(books[["owner", "accounts", "active_relationships", "heard_relationships"]].to_string(index=False))
    owner  accounts  active_relationships  heard_relationships
      kim         2                     3                    1
    >>> books.loc[0, ["capacity_share", "top_revenue_share", "gini"]].astype(float).round(6).tolist()
    [0.02, 0.9, 0.4]
    """
    _check_village(village)
    as_of = to_timestamp(as_of)
    window_days = _check_window(window_days)
    top_share = _check_share("top_share", top_share)
    if isinstance(capacity, bool) or not isinstance(capacity, (int, float, np.integer, np.floating)) or not capacity > 0:
        raise CoverageError(f"capacity={capacity!r} is not a positive number; expected e.g. 150 (Dunbar's number)")
    a = village.accounts
    for name, col in (("owner", owner), ("revenue", revenue)):
        if col not in a:
            raise CoverageError(
                f"{name}={col!r} is not a column of accounts (columns: {list(a.columns)}); "
                f"manager_books needs the account manager and revenue of each account: add the column "
                f"or pass {name}= the column that holds it"
            )

    rows = _rows(village, ties=False)
    accounts = rows.accounts
    s = village.stakeholders
    active = active_mask(s, as_of).to_numpy()
    dates = _response_dates(village)
    said = rows.resp[window_mask(dates, as_of, window_days).to_numpy() & (rows.resp >= 0)]
    heard_row = np.zeros(len(s), dtype=bool)
    heard_row[said] = True
    code, heard = rows.acc[active], heard_row[active]
    n_active = np.bincount(code, minlength=len(accounts))
    n_heard = np.bincount(code, weights=heard, minlength=len(accounts)).astype(int)

    row = lookup(accounts, a["account_id"])
    books = pd.DataFrame({
        "owner": a[owner].astype(object).where(a[owner].notna(), None).to_numpy(),
        "revenue": pd.to_numeric(a[revenue], errors="coerce").to_numpy(dtype=float),
        "active": n_active[row],
        "heard": n_heard[row],
    })
    books["owner_key"] = books["owner"].fillna("\0unassigned")  # groupby drops None keys

    g = books.groupby("owner_key", sort=False)
    out = pd.DataFrame({
        "owner": g["owner"].first(),
        "accounts": g.size(),
        "accounts_unheard": (books["heard"] == 0).groupby(books["owner_key"], sort=False).sum(),
        "active_relationships": g["active"].sum().astype(int),
        "heard_relationships": g["heard"].sum().astype(int),
    })
    out.insert(1, "as_of", as_of)
    out["capacity"] = capacity
    out["capacity_share"] = out["active_relationships"] / capacity
    out["over_capacity"] = out["active_relationships"] > capacity

    # Revenue concentration: rank revenues within each book (ascending for the Gini, descending for top-k).
    rev = books.loc[books["revenue"].notna(), ["owner_key", "revenue"]].sort_values(["owner_key", "revenue"])
    rg = rev.groupby("owner_key", sort=False)["revenue"]
    n = rg.transform("size")
    i_asc = rg.cumcount() + 1
    top_k = np.maximum(1, _ceil_count(top_share, n))
    in_top = (n - i_asc + 1) <= top_k  # descending position <= k
    summary = pd.DataFrame({
        "revenue": rg.sum(),
        "revenue_accounts": rg.size(),
        "top_accounts": pd.Series(top_k, index=rev.index).groupby(rev["owner_key"]).first(),
        "top_sum": rev["revenue"].where(in_top, 0.0).groupby(rev["owner_key"]).sum(),
        "weighted": (i_asc * rev["revenue"]).groupby(rev["owner_key"]).sum(),
    })
    positive = summary["revenue"].where(summary["revenue"] > 0)
    summary["top_revenue_share"] = summary["top_sum"] / positive
    k = summary["revenue_accounts"]
    summary["gini"] = 2 * summary["weighted"] / (k * positive) - (k + 1) / k
    out = out.join(summary[["revenue", "revenue_accounts", "top_accounts", "top_revenue_share", "gini"]])
    out["revenue_accounts"] = out["revenue_accounts"].fillna(0).astype(int)
    out["top_accounts"] = out["top_accounts"].fillna(0).astype(int)
    out = out.sort_values(["active_relationships", "owner"], ascending=[False, True], kind="stable", na_position="last")
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------
# listening plan
# --------------------------------------------------------------------------

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
    if per_account is not None and (isinstance(per_account, bool) or not isinstance(per_account, (int, np.integer))
                                    or per_account < 1):
        raise CoverageError(f"per_account={per_account!r} is not a positive integer; expected e.g. 3, or None for all")
    if influence is None:
        influence = _default_influence_fn(influence_fn)(village, as_of)
    rows = _rows(village, ties=False)
    people = _people(village, as_of, window_days, influence, rows)
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


def _each_distinct(values: pd.Series, convert) -> pd.Series:
    """``convert(values)`` computed once per distinct value (a few thousand
    dates or rounded percentages among hundreds of thousands of rows)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    done = convert(pd.Series(uniques))
    return pd.Series(done.array.take(codes), index=values.index)


# --------------------------------------------------------------------------
# turnover what-if
# --------------------------------------------------------------------------

class TurnoverWhatIf(NamedTuple):
    """Result of :func:`turnover_what_if`: ``accounts`` (one row per account,
    before/after) and ``stakeholders`` (one row per person active in either
    scenario). Unpacks as ``accounts, stakeholders = turnover_what_if(...)``."""

    accounts: pd.DataFrame
    stakeholders: pd.DataFrame


def _articulation_points(people: pd.DataFrame, rows: _Rows, only=None) -> np.ndarray:
    """Bool per row of ``people``: articulation point of its account's undirected tie
    graph (ties among active people of one account; self-ties dropped).

    Accounts are disjoint, so the articulation points of the union graph are the
    union of each account's: one :func:`networkx.articulation_points` call on
    integer nodes instead of a loop over accounts. ``only`` (bool per account
    code) limits the graph to those accounts."""
    import networkx as nx

    person_of_row = np.full(len(rows.acc), -1, dtype=np.intp)
    person_of_row[people["row"].to_numpy()] = np.arange(len(people))
    src = np.where(rows.src >= 0, person_of_row[rows.src], -1)
    dst = np.where(rows.dst >= 0, person_of_row[rows.dst], -1)
    acc = people["acc"].to_numpy()
    keep = (src >= 0) & (dst >= 0) & (src != dst)
    keep[keep] = acc[src[keep]] == acc[dst[keep]]
    if only is not None:
        keep[keep] = only[acc[src[keep]]]
    graph = nx.Graph()
    graph.add_edges_from(zip(src[keep].tolist(), dst[keep].tolist()))
    flags = np.zeros(len(people), dtype=bool)
    flags[list(nx.articulation_points(graph))] = True
    return flags


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
    >>> acc[["spof_ids_before", "heard_influence_before", "heard_influence_after", "unheard_veto_after"]].values.tolist()
    [['a2', 0.666..., 0.5, 0]]
    """
    _check_village(village)
    as_of = to_timestamp(as_of)
    window_days = _check_window(window_days)
    spof_share = _check_share("spof_share", spof_share)
    single_thread_share = _check_share("single_thread_share", single_thread_share)
    fn = _default_influence_fn(influence_fn)
    if remove is not None and not (isinstance(remove, str) and remove == "departed") and (
            isinstance(remove, str) or not isinstance(remove, (list, tuple, set, pd.Index, pd.Series, np.ndarray))):
        raise CoverageError(
            f"remove={remove!r} is not understood; expected None, 'departed' or a list of stakeholder ids"
        )
    full = village
    if accounts is not None:
        village = _subset(village, accounts)
    rows = _rows(village)
    s = village.stakeholders
    end = (pd.to_datetime(s["active_to"]) if "active_to" in s else pd.Series(pd.NaT, index=s.index))
    end = end.to_numpy(dtype="datetime64[ns]").copy()

    if remove is None:
        scenario, removed_rows = "none", np.zeros(0, dtype=np.intp)
        before_v = after_v = village
    elif isinstance(remove, str):
        scenario = "departed"
        removed_rows = _departures(village, as_of, window_days, rows)["row"].to_numpy()
        end[removed_rows] = np.datetime64("NaT")  # as if they had stayed
        before_v, after_v = _with_stakeholders(village, s.assign(active_to=end)), village
    else:
        scenario = "removed"
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
        before_v, after_v = village, _with_stakeholders(village, s.assign(active_to=end))

    accounts = rows.accounts
    k = len(accounts)
    is_removed = np.zeros(len(s), dtype=bool)
    is_removed[removed_rows] = True
    people_b = _people(before_v, as_of, window_days, fn(before_v, as_of), rows)
    people_b = _single_points(people_b, _articulation_points(people_b, rows), spof_share, k)
    removed_mask = is_removed[people_b["row"].to_numpy()]
    if after_v is before_v:
        people_a = people_b
    else:
        people_a = _people(after_v, as_of, window_days, fn(after_v, as_of), rows)
        # only accounts that lost someone can change shape: reuse the other accounts' flags
        touched = np.zeros(k, dtype=bool)
        touched[people_b["acc"].to_numpy()[removed_mask]] = True
        cut = _articulation_points(people_a, rows, only=touched)
        was_cut = np.zeros(len(s), dtype=bool)
        was_cut[people_b["row"].to_numpy()] = people_b["articulation_point"].to_numpy()
        untouched = ~touched[people_a["acc"].to_numpy()]
        cut[untouched] = was_cut[people_a["row"].to_numpy()[untouched]]
        people_a = _single_points(people_a, cut, spof_share, k)

    def summary(people):
        out = _account_summary(people, accounts, single_thread_share)
        spof = people["spof"].to_numpy()
        out["spof_ids"] = _join_ids(people["acc"].to_numpy()[spof], people["stakeholder_id"].to_numpy()[spof], k)
        out["n_spof"] = np.bincount(people["acc"].to_numpy()[spof], minlength=k).astype(int)
        return out[["n_stakeholders", "n_responders", "heard_influence", "veto_holders", "unheard_veto",
                    "single_threaded", "missing_roles", "spof_ids", "n_spof"]]

    gone_acc = people_b["acc"].to_numpy()[removed_mask]
    acc = pd.DataFrame(index=accounts)
    acc.index.name = "account_id"
    acc["as_of"] = as_of
    acc["scenario"] = scenario
    acc["n_removed"] = np.bincount(gone_acc, minlength=k).astype(int)
    acc["removed_ids"] = _join_ids(gone_acc, people_b["stakeholder_id"].to_numpy()[removed_mask], k)
    acc["removed_influence"] = np.bincount(
        gone_acc, weights=np.nan_to_num(people_b["influence"].to_numpy(dtype=float)[removed_mask]), minlength=k)
    acc = acc.join(summary(people_b).add_suffix("_before")).join(summary(people_a).add_suffix("_after"))
    acc["heard_influence_change"] = acc["heard_influence_after"] - acc["heard_influence_before"]
    order = ["as_of", "scenario", "n_removed", "removed_ids", "removed_influence"]
    for col in ("n_stakeholders", "n_responders", "heard_influence", "veto_holders", "unheard_veto",
                "single_threaded", "missing_roles", "spof_ids", "n_spof"):
        order += [f"{col}_before", f"{col}_after"]
    acc = acc[order + ["heard_influence_change"]].reset_index()

    keys = ["row", "acc", "account_id", "stakeholder_id"]
    cols = keys + ["role", "veto", "heard", "influence", "articulation_point", "spof"]
    people = people_b[cols].merge(people_a[cols], on=keys, how="outer", suffixes=("_before", "_after"))
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
    return TurnoverWhatIf(acc, people.reset_index(drop=True))


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
    """A shallow copy of ``village`` with another stakeholders table (input untouched)."""
    return Village(accounts=village.accounts, stakeholders=stakeholders, relationships=village.relationships,
                   responses=village.responses, outcomes=village.outcomes, source=village.source,
                   problems=list(village.problems))
