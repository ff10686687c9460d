"""The listening stage's shared building blocks: each account's active people, who of
them was heard (:mod:`cxinfluence.village.heard`), their influence share, and the integer
plumbing (account codes, groups, ranks) the coverage tables are computed with.

Definitions are in :mod:`cxinfluence.listening.coverage`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ..village.asof import active_mask, check_window, window_mask
from ..exceptions import CoverageError
from ..village.ids import (arrow_identity, arrow_text, find, id_strings, key_series, native_text, prime,
                           ranges, run_heads, unique_text)
from ..village.schema import ROLES, VETO_BY_ROLE
from ..village.core import Village


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
            # unique ids without blanks: the rows cxinfluence.village.ids matched once per village
            # (at loading) are the answer
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
    return pd.array(text, dtype=dtype) if dtype is not np.dtype(object) else np.asarray(text.to_pylist(), dtype=object)


def _take_replacing(frame: pd.DataFrame, rows: np.ndarray, **columns) -> pd.DataFrame:
    """``frame.iloc[rows].reset_index(drop=True).assign(**columns)`` without taking
    the columns about to be replaced (text columns are the costly ones to take)."""
    kept = frame.drop(columns=[c for c in columns if c in frame.columns])
    out = kept.iloc[rows].reset_index(drop=True).assign(**columns)
    return out[list(frame.columns) + [c for c in columns if c not in frame.columns]]


# --------------------------------------------------------------------------
# coverage
# --------------------------------------------------------------------------


def _each_distinct(values: pd.Series, convert) -> pd.Series:
    """``convert(values)`` computed once per distinct value (a few thousand
    dates or rounded percentages among hundreds of thousands of rows)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    done = convert(pd.Series(uniques))
    return pd.Series(done.array.take(codes), index=values.index)


# --------------------------------------------------------------------------
# turnover what-if
# --------------------------------------------------------------------------
