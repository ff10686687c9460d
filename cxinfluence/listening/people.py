"""The listening stage's shared building blocks: each account's active people, who of
them was heard (:mod:`cxinfluence.village.heard`), their influence share, and the integer
plumbing (account codes, groups, ranks) the coverage tables are computed with.

Definitions are in :mod:`cxinfluence.listening.coverage`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ..exceptions import CoverageError
from ..network.influence import influence_weights
from ..village.asof import active_mask, check_window, window_mask
from ..village.core import Village
from ..village.ids import (
    arrow_identity,
    arrow_strings,
    arrow_text,
    find,
    id_strings,
    join_ids,
    key_series,
    native_text,
    remember,
    remembered,
    rows_of,
    run_heads,
    unique_text,
)
from ..village.schema import ROLES, VETO_BY_ROLE


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
    next analysis of the same village (in the village's one id cache, :func:`cxinfluence.village.ids.remember`):
    coverage and listening_plan share it."""
    key = _id_arrays(village)
    for with_ties in (True,) if ties else (True, False):  # an answer with the ties serves one without
        hit = remembered(village, ("coverage rows", with_ties), key)
        if hit is not None:
            return hit
    rows = _resolve(village, ties)
    for a in rows[1:]:
        a.flags.writeable = False  # shared through the cache
    remember(village, ("coverage rows", ties), key, rows)
    return rows


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
    if ids is not None and unique_text(ids) and all(_arrow_backed(x) or arrow_text(x) is not None
                                                    for x in (src, dst, resp)):
        # the usual case: hash the Arrow ids directly (duplicates take the path below, which names them)
        accounts, acc = _account_rows(village)
        if ids.null_count == 0:
            # unique ids without blanks: the rows cxinfluence.village.ids matched once per village
            # (at loading) are the answer

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


def _arrow_backed(values) -> bool:
    """Text held by pandas in Arrow (for which :func:`cxinfluence.village.ids.arrow_text` is never
    None), told from the dtype alone: no copy of the column to find out."""
    dtype = getattr(values, "dtype", None)
    return isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"


def _account_rows(village) -> tuple[pd.Index, np.ndarray]:
    """:func:`_account_ids` and the account code of each stakeholders row.

    When the accounts table lists every account once (no blank), the codes are
    its rows, as :func:`cxinfluence.village.ids.rows_of` matched them (once per village)."""
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

    n_responses, last = _heard(village, as_of, window_days, rows, act_rows)
    people["n_responses"] = n_responses
    people["heard"] = n_responses > 0
    people["last_heard"] = last.view("datetime64[ns]")

    people["influence"] = _influence_share(people, influence, len(rows.accounts), act["stakeholder_id"])
    return people


def _heard(village, as_of, window_days, rows: _Rows, act_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For the stakeholders rows ``act_rows``: responses in the window and the latest response before
    ``as_of`` (nanoseconds; NaT's integer where none). Dates in nanoseconds are compared as integers,
    the window as one unsigned comparison, and only the listed people's responses are maximised."""
    n_st = len(village.stakeholders)
    speaker = rows.resp + 1  # per stakeholders row first (slot 0: unknown speaker), then the listed rows
    r_date = _response_dates(village)
    never = np.iinfo(np.int64).min  # NaT
    if r_date.dtype != "datetime64[ns]":
        in_window = window_mask(r_date, as_of, window_days).to_numpy()
        before = (r_date < as_of).to_numpy()
        stamp = r_date.to_numpy(dtype="datetime64[ns]").view(np.int64)
    else:
        stamp = r_date.to_numpy().view(np.int64)
        stop = pd.Timestamp(as_of).as_unit("ns").value
        before = stamp < stop
        if window_days is None:
            in_window = before & (stamp != never)
        else:
            start = (pd.Timestamp(as_of) - pd.Timedelta(days=window_days)).as_unit("ns").value
            in_window = (stamp - np.int64(start)).view(np.uint64) < np.uint64(max(stop - start, 0))
    n_responses = np.bincount(speaker[in_window], minlength=n_st + 1)[1:][act_rows]
    listed = np.zeros(n_st + 1, dtype=bool)
    listed[act_rows + 1] = True
    keep = np.flatnonzero(before & listed[speaker])  # NaT's stamp is the smallest integer: it changes no maximum
    last = np.full(n_st + 1, never, dtype=np.int64)
    np.maximum.at(last, speaker[keep], stamp[keep])
    return n_responses, last[1:][act_rows]


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
    out["unheard_veto_ids"] = join_ids(acc[unheard], people["stakeholder_id"].iloc[unheard].to_numpy(), k)

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


# --------------------------------------------------------------------------
# coverage
# --------------------------------------------------------------------------


def _each_distinct(values: pd.Series, convert) -> pd.Series:
    """``convert(values)`` computed once per distinct value (a few thousand
    dates or rounded percentages among hundreds of thousands of rows)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    done = convert(pd.Series(uniques))
    return pd.Series(done.array.take(codes), index=values.index)
