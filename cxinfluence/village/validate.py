"""Validation of a village: every problem at once, located by file, row and column.

:func:`validate_village` reads a village (see :mod:`cxinfluence.village.io`), checks it
against the data contract in :mod:`cxinfluence.village.schema` and returns the list of
:class:`~cxinfluence.exceptions.Problem` found, errors and warnings, without
raising for bad data. :func:`check_tables` is the engine: it types raw tables
(strings) into the dtypes of a :class:`~cxinfluence.village.core.Village` and
collects problems on the way. Every check is vectorised over rows, so a
10-million-row ``responses`` table is checked in seconds.

What is checked
---------------
* the path exists and holds the five tables (files, or sheets of a workbook);
  each file is readable UTF-8 with a header row; required columns are present;
* each value against its column's kind: ids and required values not blank;
  numbers numeric, finite, in range and whole where the scale is whole
  (scores, ``renewed``); dates in ISO ``YYYY-MM-DD`` form; ``veto`` a yes/no
  value; ``role``, ``kind``, ``channel``, ``journey_stage`` among the allowed
  values (after stripping and lower-casing);
* keys: unique ``account_id``, ``stakeholder_id``, (``source_id``,
  ``target_id``, ``kind``), (``account_id``, ``period_end``); ``active_to``
  not before ``active_from``;
* references: stakeholders' and outcomes' accounts exist; relationship
  endpoints exist, differ (no self-loop) and belong to the same account;
  responses' stakeholders exist.

Warnings (suspicious but usable): accounts with no stakeholders, no outcomes
or no feedback; stakeholders with no responses; responses with neither a
score nor a comment; responses dated outside the respondent's active period;
plus titles no role rule matches (from :func:`cxinfluence.village.roles.complete_roles`).

When one check fails on many rows, the first ``max_listed`` rows are listed
one by one and a final problem counts the rest, so a systematically broken
column does not bury the other problems.
"""

from __future__ import annotations

import difflib
import re
import warnings

import numpy as np
import pandas as pd

from ..exceptions import CxInfluenceWarning, Problem, VillageWarning
from .io import RawTable, range_text as _range_text, read_tables
from .schema import DERIVED_COLUMNS, TABLE_ORDER, TABLES, Column
from .roles import complete_roles

#: Rows listed individually per check before the rest are counted in one problem.
MAX_LISTED = 100
#: Examples named in an aggregated warning.
WARNING_EXAMPLES = 8

_TRUE = ("true", "t", "yes", "y", "1", "1.0")
_FALSE = ("false", "f", "no", "n", "0", "0.0")
_BOOL_TEXT = {**{k: True for k in _TRUE}, **{k: False for k in _FALSE}}
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")
_TS_MIN, _TS_MAX = pd.Timestamp.min.ceil("D"), pd.Timestamp.max.floor("D")


def _show(value, limit=40) -> str:
    """A value quoted for a message, shortened if long."""
    text = str(value)
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


class _Report:
    """Collects problems; lists at most ``max_listed`` rows per check."""

    def __init__(self, max_listed=MAX_LISTED):
        self.problems: list[Problem] = []
        self.max_listed = max_listed

    def add(self, table, file, row, column, message, severity="error"):
        self.problems.append(Problem(table, file, row, column, message, severity))

    def rows(self, t: RawTable, mask, column, message, severity="error"):
        """One problem per row where ``mask``; ``message(positions)`` -> list of str."""
        idx = np.flatnonzero(np.asarray(mask, dtype=bool))
        if not len(idx):
            return
        shown = idx if self.max_listed is None else idx[: self.max_listed]
        for i, text in zip(shown, message(shown)):
            self.add(t.name, t.file, int(t.rows[i]), column, text, severity)
        rest = idx[len(shown):]
        if len(rest):
            some = ", ".join(str(r) for r in t.rows[rest[:10]])
            self.add(
                t.name, t.file, None, column,
                f"the same problem on {len(rest):,} more row(s) (rows {some}{', ...' if len(rest) > 10 else ''})",
                severity,
            )

    def summary(self, t: RawTable, mask, column, what, ids, severity="warning"):
        """One aggregated problem naming a few examples (for warnings)."""
        idx = np.flatnonzero(np.asarray(mask, dtype=bool))
        if not len(idx):
            return
        ex = ", ".join(f"{_show(ids.iloc[i])} (row {t.rows[i]})" for i in idx[:WARNING_EXAMPLES])
        more = f" and {len(idx) - WARNING_EXAMPLES:,} more" if len(idx) > WARNING_EXAMPLES else ""
        self.add(t.name, t.file, None, column, f"{len(idx):,} {what}: {ex}{more}", severity)


# --------------------------------------------------------------------------- values


def _text(s: pd.Series) -> pd.Series:
    """Any raw column as text (``str`` dtype, NaN for blank), as a CSV would hold it."""
    if pd.api.types.is_bool_dtype(s):
        out = s.map({True: "true", False: "false"})
    elif pd.api.types.is_datetime64_any_dtype(s):
        out = s.dt.strftime("%Y-%m-%d")
    elif pd.api.types.is_float_dtype(s):
        v = s.to_numpy(dtype=float, na_value=np.nan)
        whole = np.isfinite(v) & (v == np.round(v)) & (np.abs(v) < 2**53)
        text = np.where(whole, np.where(whole, v, 0).astype(np.int64).astype(str), v.astype(str))
        out = pd.Series(text, index=s.index, dtype=object)
    elif pd.api.types.is_numeric_dtype(s):
        out = s.astype(str)
    elif pd.api.types.is_string_dtype(s) and s.dtype != object:
        return s
    else:
        out = s.map(lambda v: v if isinstance(v, str) or pd.isna(v) else str(v))
    return out.where(s.notna()).astype("str")


def _parse_floats(raw: pd.Series) -> pd.Series:
    """Text to float64, NaN where blank or not a number (pyarrow's cast first: fast when all parse)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        values = pc.cast(pa.array(raw), pa.float64()).to_numpy(zero_copy_only=False)
        return pd.Series(values, index=raw.index, dtype="float64")
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
        return pd.to_numeric(raw, errors="coerce").astype("float64")


def _numbers(t: RawTable, s: pd.Series, col: Column, rep: _Report) -> pd.Series:
    blank_ok = "" if col.required else " (or blank)"
    expected = f"{col.name} takes {_range_text(col)}{blank_ok}"
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        # stored numbers (Parquet): checked as they are; float64 needs no conversion
        v = s.to_numpy() if s.dtype == np.float64 else s.to_numpy(dtype=float, na_value=np.nan)
        given = s.notna().to_numpy()

        def shown(i):
            return v[i]
    else:
        raw = _text(s)
        text = raw
        if getattr(t, "decimal", ".") == ",":
            # a ';'-separated file: 8,5 is 8.5 (a number with both ',' and '.' is left alone, and fails)
            text = raw.str.replace(r"^\s*([+-]?\d*),(\d+)\s*$", r"\1.\2", regex=True)
        v = _parse_floats(text).to_numpy()
        given = raw.notna().to_numpy()

        def shown(i):
            return raw.iloc[i]
    finite = np.isfinite(v)
    rep.rows(t, given & ~finite, col.name, lambda pos: [f"{_show(shown(i))} is not a number; {expected}" for i in pos])
    bad = np.zeros(len(v), bool)
    with np.errstate(invalid="ignore"):
        if col.low is not None:
            bad |= (v <= col.low) if col.low_open else (v < col.low)
        if col.high is not None:
            bad |= v > col.high
    bad &= finite
    rep.rows(t, bad, col.name, lambda pos: [f"{v[i]:g} is out of range; {expected}" for i in pos])
    if col.integer:
        frac = finite & ~bad & (v != np.round(v))
        rep.rows(t, frac, col.name, lambda pos: [f"{v[i]:g} is not a whole number; {expected}" for i in pos])
        bad |= frac
    return pd.Series(np.where(finite & ~bad, v, np.nan), index=s.index, dtype="float64")


def _dates(t: RawTable, s: pd.Series, col: Column, rep: _Report) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s):
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            s = s.dt.tz_convert(None)
        return s.astype("datetime64[ns]")
    raw = _text(s)
    # parse each distinct text once: millions of rows hold a few thousand dates
    codes, distinct = pd.factorize(raw)
    values, bad, outside = _parse_dates(pd.Series(distinct, dtype=raw.dtype))
    rep.rows(
        t, np.append(bad, False)[codes], col.name,
        lambda pos: [f"{_show(raw.iloc[i])} is not a date; expected YYYY-MM-DD (e.g. 2024-06-30)" for i in pos],
    )
    rep.rows(
        t, np.append(outside, False)[codes], col.name,
        lambda pos: [f"{_show(raw.iloc[i])} is outside the supported dates (1677-09-22 to 2262-04-11)" for i in pos],
    )
    return pd.Series(np.append(values, np.datetime64("NaT", "ns"))[codes], index=s.index)


def _parse_dates(raw: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dates of non-blank texts: ``(datetime64[ns] values, not-a-date mask, out-of-range mask)``.

    Values are NaT where the text is not a date or out of range.
    """
    out = pd.to_datetime(raw, format="%Y-%m-%d", errors="coerce")
    slow = out.isna()
    if slow.any():
        # Not plain YYYY-MM-DD: allow ISO date-times (offsets converted to UTC), nothing else.
        sub = raw[slow]
        iso = sub.str.match(_ISO.pattern).fillna(False).astype(bool)
        parsed = pd.to_datetime(sub[iso], format="ISO8601", errors="coerce", utc=True).dt.tz_convert(None)
        out = out.astype("datetime64[us]")
        out.loc[parsed.index] = parsed.astype("datetime64[us]")
    in_range = out.isna() | ((out >= _TS_MIN) & (out <= _TS_MAX))
    values = out.where(in_range).astype("datetime64[ns]").to_numpy()
    return values, out.isna().to_numpy(), ~in_range.to_numpy()


def _categories(t: RawTable, s: pd.Series, col: Column, rep: _Report) -> pd.Series:
    text = _text(s)
    if (text.isna() | text.isin(col.values)).all():
        return text  # already lower-case allowed values (the usual case): nothing to change
    text = text.str.lower()
    bad = (text.notna() & ~text.isin(col.values)).to_numpy()
    allowed = ", ".join(col.values)
    tail = " (or blank to infer it from title)" if col.name == "role" else ("" if col.required else " (or blank)")
    rep.rows(t, bad, col.name, lambda pos: [f"unknown {col.name} {_show(s.iloc[i])}; expected one of {allowed}{tail}" for i in pos])
    return text.where(~bad)


def _booleans(t: RawTable, s: pd.Series, col: Column, rep: _Report) -> pd.Series:
    if pd.api.types.is_bool_dtype(s):
        return s.astype(object).where(s.notna(), np.nan)
    text = _text(s).str.lower()
    codes, distinct = pd.factorize(text)
    values = np.append(pd.Series(distinct, dtype=object).map(_BOOL_TEXT).astype(object).to_numpy(), np.nan)[codes]
    bad = (codes >= 0) & pd.isna(values)
    tail = " or blank to default by role" if col.name == "veto" else " (or blank)"
    rep.rows(
        t, bad, col.name,
        lambda pos: [f"{_show(s.iloc[i])} is not a yes/no value; {col.name} takes true/false (also yes/no, 1/0){tail}" for i in pos],
    )
    return pd.Series(values, index=s.index, dtype=object)


def _blank_column(col: Column, n: int) -> pd.Series:
    if col.kind in ("int", "float"):
        return pd.Series(np.full(n, np.nan))
    if col.kind == "date":
        return pd.Series(np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]"))
    if col.kind == "bool":
        return pd.Series([np.nan] * n, dtype=object)
    return pd.Series([np.nan] * n, dtype="str")


def _type_column(t: RawTable, s: pd.Series, col: Column, rep: _Report) -> pd.Series:
    if col.kind in ("int", "float"):
        out = _numbers(t, s, col, rep)
    elif col.kind == "date":
        out = _dates(t, s, col, rep)
    elif col.kind == "category":
        out = _categories(t, s, col, rep)
    elif col.kind == "bool":
        out = _booleans(t, s, col, rep)
    else:  # id, str
        out = _text(s)
    if col.required:
        missing = s.isna().to_numpy()
        rep.rows(t, missing, col.name, lambda pos: [f"{col.name} is blank; every row needs one" for _ in pos])
    return out


# --------------------------------------------------------------------------- tables


def _match_columns(t: RawTable, rep: _Report) -> dict[str, str]:
    """Contract column -> file column; exact names first, then case/space-insensitive."""
    spec = TABLES[t.name]
    have = list(t.data.columns)
    norm = {re.sub(r"[\s\-]+", "_", str(c).strip().lower()): c for c in reversed(have)}
    mapping = {}
    for col in spec.columns:
        same = [c for c in have if re.sub(r"[\s\-]+", "_", str(c).strip().lower()) == col.name]
        if len(same) > 1:
            where = " and ".join(f"'{c}' (column {have.index(c) + 1})" for c in same)
            rep.add(t.name, t.file, None, col.name, f"columns {where} both mean '{col.name}'; keep one of them "
                    "(delete or rename the other)")
            mapping[col.name] = col.name if col.name in have else same[0]
            continue
        if col.name in have:
            mapping[col.name] = col.name
        elif col.name in norm and norm[col.name] not in mapping.values():
            mapping[col.name] = norm[col.name]
    for name in spec.required:
        if name not in mapping:
            close = difflib.get_close_matches(name, [c for c in have if c not in mapping.values()], n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            seps = [sep for sep in (";", "\t", "|") if len(have) == 1 and sep in str(have[0])]
            if seps:
                hint = f"; the header looks {seps[0]!r}-separated: save the file with commas (CSV)"
            listed = ", ".join(map(str, have)) if have else "none"
            rep.add(t.name, t.file, None, name, f"required column '{name}' is missing (the file has: {listed}){hint}")
    return mapping


def _type_table(t: RawTable, rep: _Report, read_rows=()) -> tuple[pd.DataFrame, bool]:
    """Typed table (contract columns in contract order, then extras) and whether it is complete.

    ``read_rows``: row-level problems found while reading, reported after the header's.
    """
    spec = TABLES[t.name]
    mapping = _match_columns(t, rep)
    rep.problems.extend(read_rows)
    complete = all(name in mapping for name in spec.required)
    n = len(t.data)
    out = {}
    for col in spec.columns:
        if col.name in mapping:
            out[col.name] = _type_column(t, t.data[mapping[col.name]].reset_index(drop=True), col, rep).reset_index(drop=True)
        else:
            out[col.name] = _blank_column(col, n)
    derived = set(DERIVED_COLUMNS.get(t.name, ()))
    for c in t.data.columns:
        if c not in mapping.values() and c not in derived:
            out[c] = t.data[c].reset_index(drop=True)
    # which contract values the file gave (valid or not), so warnings don't echo errors
    t.given = {name: t.data[c].notna().to_numpy() for name, c in mapping.items()}
    return pd.DataFrame(out, index=pd.RangeIndex(n)), complete


def _duplicates(t: RawTable, df: pd.DataFrame, rep: _Report, codes=None) -> None:
    """Report repeated keys; ``codes`` maps key columns to their id codes when already factorized."""
    spec = TABLES[t.name]
    if not spec.unique_key or not spec.key:
        return
    key = list(spec.key)
    parts = [codes[c] if codes and c in codes else pd.factorize(df[c])[0] for c in key]
    valid = np.logical_and.reduce([c >= 0 for c in parts])
    if len(parts) == 1 and len(parts[0]) and parts[0].max() + 1 == valid.sum():
        return  # as many distinct ids as rows with one
    pos_all = np.flatnonzero(valid)
    # one int64 per row for the whole key, renumbered in order of first appearance
    combined, card = np.zeros(len(pos_all), np.int64), 1
    for c in parts:
        width = max(int(c.max()) + 1, 1) if len(c) else 1
        if card * width >= 2**62:  # keep the product inside int64: renumber the keys so far
            combined, uniques = pd.factorize(combined)
            card = len(uniques)
        combined = combined * width + c[valid]
        card *= width
    combined = pd.factorize(combined)[0]
    first = _first_occurrence(combined)
    if first.all():
        return
    mask = np.zeros(len(df), bool)
    mask[pos_all[~first]] = True
    first_of = np.full(len(df), -1)
    first_of[pos_all] = pos_all[np.flatnonzero(first)[combined]]

    def message(pos):
        out = []
        for i in pos:
            values = df.loc[i, key]
            shown = ", ".join(f"{k}={_show(v.date() if isinstance(v, pd.Timestamp) else v)}" for k, v in values.items())
            what = "id" if len(key) == 1 else "key"
            out.append(f"duplicate {what} {shown} (first on row {t.rows[first_of[i]]}); each must be unique")
        return out

    rep.rows(t, mask, key[0] if len(key) == 1 else None, message)


def _first_occurrence(codes: np.ndarray) -> np.ndarray:
    """True on the first row of each code; codes number values in order of first appearance (-1 blank)."""
    if not len(codes):
        return np.zeros(0, bool)
    # a value's first row is where its code exceeds every earlier code
    return codes > np.concatenate(([-1], np.maximum.accumulate(codes)[:-1]))


class _Ids:
    """One kind of id (account or stakeholder), factorized once over every column that holds it.

    Hashing millions of strings is the costly part of the reference checks, so
    each id is hashed once; positions, first rows, duplicate keys and
    same-account checks then work on integer codes. Codes follow first
    appearance with the defining column (``accounts.account_id``,
    ``stakeholders.stakeholder_id``) first, so the ids that table defines are
    codes ``0 .. n-1`` in the order they first appear there; a code >= ``n`` is
    an id the table lacks; -1 is blank.

    Attributes
    ----------
    codes : dict
        ``(table, column)`` -> int64 codes, for the usable tables.
    known : bool
        The defining table is usable (references can be checked).
    n : int
        Distinct ids in the defining column.
    first_row : ndarray
        Row of the defining table where each id first appears (by code).
    """

    def __init__(self, typed, ok, table, column, references, known=None):
        cols = [(t, c) for t, c in [(table, column), *references] if ok.get(t)]
        if known and all(k in known for k in cols):  # matched by the caller (see check_tables): no hashing
            self.codes = {k: np.asarray(known[k], dtype=np.int64) for k in cols}
        else:
            self.codes = dict(zip(cols, _factorize_together([typed[t][c] for t, c in cols])))
        own = self.codes.get((table, column))
        self.known = own is not None
        self.n = int(own.max()) + 1 if self.known and len(own) else 0
        self.first_row = np.flatnonzero(_first_occurrence(own)) if self.known else np.zeros(0, np.int64)

    def positions(self, table, column) -> np.ndarray:
        """Each row's position among the defining table's distinct ids; -1 if absent or blank."""
        c = self.codes[(table, column)]
        return np.where(c < self.n, c, -1)

    def of(self, table) -> dict:
        """Column -> codes for one table's id columns."""
        return {c: codes for (t, c), codes in self.codes.items() if t == table}


def _factorize_together(columns) -> list[np.ndarray]:
    """Codes of several text columns from one factorization: equal text, equal code."""
    import pyarrow as pa

    if not columns:
        return []
    chunks = []
    for c in columns:
        a = pa.array(c, type=pa.large_string())
        chunks.extend(a.chunks if isinstance(a, pa.ChunkedArray) else [a])
    codes, _ = pd.factorize(pd.array(pa.chunked_array(chunks, type=pa.large_string()), dtype="str"))
    codes = codes.astype(np.int64, copy=False)
    return np.split(codes, np.cumsum([len(c) for c in columns])[:-1])


def check_tables(raw: dict[str, RawTable], *, max_listed=MAX_LISTED,
                 matched=None, known=None) -> tuple[dict[str, pd.DataFrame] | None, list[Problem]]:
    """Type and check raw tables; return the typed tables (or None on error) and every problem.

    Parameters
    ----------
    raw : dict of RawTable
        As returned by :func:`cxinfluence.village.io.read_tables`; may lack tables
        (each missing one is then already reported by the reader).
    max_listed : int or None, default 100
        Rows listed one by one per check; the rest are counted. None lists all.
    matched : dict, optional
        Filled, for a valid village, with the row each reference points to
        (``(table, column) -> rows``, as :func:`cxinfluence.village.ids.rows_of`), so
        later stages need not hash the ids again.
    known : dict, optional
        Ids the caller has already matched (the importer), so they are not hashed again:
        ``(table, column) -> int64 rows`` for a defining column (``("accounts", "account_id")``,
        ``("stakeholders", "stakeholder_id")``), which must then hold each id once, in row order
        (``0 .. n-1``), and for every column that refers to it (as in ``matched``), with every id
        found (no -1). A kind of id with any column missing here is hashed as usual.

    Returns
    -------
    tables : dict of DataFrame or None
        The five typed tables when there is no error (``veto`` still holds
        True/False/NaN: blanks are filled by :func:`cxinfluence.village.roles.complete_roles`;
        a blank ``weight`` is 1).
    problems : list of Problem
        Errors and warnings, in table order.
    """
    rep = _Report(max_listed)
    typed, ok = {}, {}
    for name in TABLE_ORDER:
        t = raw.get(name)
        if t is None:
            continue
        # whole-file problems (and hints about the header) before row-by-row ones
        later = [p for p in t.problems if p.row is not None or p.message.startswith("and ")]
        rep.problems.extend(p for p in t.problems if p not in later)
        if not t.usable:
            rep.problems.extend(later)
            continue
        typed[name], ok[name] = _type_table(t, rep, later)

    def usable(*names):
        return all(ok.get(n, False) for n in names)

    accounts, people = typed.get("accounts"), typed.get("stakeholders")
    acc = _Ids(typed, ok, "accounts", "account_id", [("stakeholders", "account_id"), ("outcomes", "account_id")], known)
    sh = _Ids(typed, ok, "stakeholders", "stakeholder_id",
              [("relationships", "source_id"), ("relationships", "target_id"), ("responses", "stakeholder_id")], known)
    for name in TABLE_ORDER:
        if ok.get(name):
            _duplicates(raw[name], typed[name], rep, {**acc.of(name), **sh.of(name)})

    if usable("stakeholders"):
        t, s = raw["stakeholders"], people
        late = (s["active_to"] < s["active_from"]).to_numpy()
        rep.rows(t, late, "active_to", lambda pos: [
            f"active_to {s['active_to'].iloc[i]:%Y-%m-%d} is before active_from {s['active_from'].iloc[i]:%Y-%m-%d}; "
            "swap them or fix the dates" for i in pos])
        if acc.known:
            _unknown(rep, t, s["account_id"], acc.positions("stakeholders", "account_id"), "account_id", "account",
                     raw["accounts"].file)

    sh_account = None
    if sh.known:
        # each stakeholder's account (from the id's first row), as an account code
        sh_account = acc.codes[("stakeholders", "account_id")][sh.first_row]

    if usable("relationships"):
        t, r = raw["relationships"], typed["relationships"]
        src_code, dst_code = sh.codes[("relationships", "source_id")], sh.codes[("relationships", "target_id")]
        loop = (src_code >= 0) & (src_code == dst_code)
        rep.rows(t, loop, "target_id", lambda pos: [
            f"source_id and target_id are both {_show(r['source_id'].iloc[i])} (a self-loop); a tie needs two different people"
            for i in pos])
        if sh.known:
            src = _unknown(rep, t, r["source_id"], sh.positions("relationships", "source_id"), "source_id", "stakeholder",
                           raw["stakeholders"].file)
            dst = _unknown(rep, t, r["target_id"], sh.positions("relationships", "target_id"), "target_id", "stakeholder",
                           raw["stakeholders"].file)
            account_of = np.append(sh_account, -1)  # position -1 (unknown) -> no account
            a_src, a_dst = account_of[src], account_of[dst]
            cross = (a_src >= 0) & (a_dst >= 0) & (a_src != a_dst)

            def account(pos):
                return _show(people["account_id"].iloc[sh.first_row[pos]])

            rep.rows(t, cross, "target_id", lambda pos: [
                f"tie crosses accounts: source {_show(r['source_id'].iloc[i])} is in account {account(src[i])} "
                f"but target {_show(r['target_id'].iloc[i])} is in account {account(dst[i])}; ties must stay inside one account"
                for i in pos])
        r["weight"] = r["weight"].fillna(1.0)

    if usable("responses") and sh.known:
        t, r = raw["responses"], typed["responses"]
        pos_sh = _unknown(rep, t, r["stakeholder_id"], sh.positions("responses", "stakeholder_id"), "stakeholder_id",
                          "stakeholder", raw["stakeholders"].file)
        _response_warnings(rep, t, r, raw["stakeholders"], people, sh, pos_sh)
        if acc.known:
            heard = np.zeros(acc.n, bool)
            got = pos_sh[pos_sh >= 0]
            if len(got):
                hit = np.where(sh_account < acc.n, sh_account, -1)[got]
                heard[hit[hit >= 0]] = True
            mask = np.zeros(len(accounts), bool)
            mask[acc.first_row] = ~heard
            rep.summary(raw["accounts"], mask, "account_id", "account(s) have no feedback from anyone (no responses)",
                        accounts["account_id"])

    if usable("outcomes") and acc.known:
        t, o = raw["outcomes"], typed["outcomes"]
        pos_acc = _unknown(rep, t, o["account_id"], acc.positions("outcomes", "account_id"), "account_id", "account",
                           raw["accounts"].file)
        _unreferenced(rep, raw["accounts"], accounts, acc, pos_acc, "account(s) have no outcomes")

    if usable("stakeholders") and acc.known:
        _unreferenced(rep, raw["accounts"], accounts, acc, acc.positions("stakeholders", "account_id"),
                      "account(s) have no stakeholders")

    errors = any(p.severity == "error" for p in rep.problems)
    missing = [n for n in TABLE_ORDER if n not in typed]
    if errors or missing:
        return None, _ordered(rep.problems)
    if matched is not None:
        matched.update(_matched_rows(typed, acc, sh))
    return typed, _ordered(rep.problems)


def _matched_rows(typed, acc, sh) -> dict:
    """References as rows of the defining table; the codes are rows only when
    every defining id is present once, in row order (a valid village)."""
    out = {}
    for ids, table, refs in ((acc, "accounts", [("stakeholders", "account_id"), ("outcomes", "account_id")]),
                             (sh, "stakeholders", [("relationships", "source_id"), ("relationships", "target_id"),
                                                   ("responses", "stakeholder_id")])):
        if ids.known and ids.n == len(typed[table]) and np.array_equal(ids.first_row, np.arange(ids.n)):
            out.update({ref: ids.positions(*ref) for ref in refs if ref in ids.codes})
    return out


def _ordered(problems):
    order = {n: i for i, n in enumerate(("village",) + TABLE_ORDER)}
    return sorted(problems, key=lambda p: (order.get(p.table, 99), p.severity != "error"))


def _unknown(rep, t, ids: pd.Series, positions: np.ndarray, column, what, target_file) -> np.ndarray:
    """Report ids not in the defining table (``positions`` -1 but not blank); return ``positions``."""
    bad = (positions < 0) & ids.notna().to_numpy()
    table = "accounts" if what == "account" else "stakeholders"
    rep.rows(t, bad, column, lambda p: [
        f"{what} {_show(ids.iloc[i])} is not in {table} ({target_file}); add it there or fix the id" for i in p])
    return positions


def _unreferenced(rep, t, df, ids: _Ids, positions, what):
    """Warn about the ids of ``df`` (its first column, defined by ``ids``) that no row refers to."""
    used = np.zeros(ids.n, bool)
    used[positions[positions >= 0]] = True
    mask = np.zeros(len(df), bool)
    mask[ids.first_row] = ~used
    rep.summary(t, mask, df.columns[0], what, df[df.columns[0]])


def _response_warnings(rep, t, r, t_people, people, sh: _Ids, pos_sh):
    scores = [c.name for c in TABLES["responses"].columns if c.name in ("nps", "csat", "ces", "neteasy", "trust", "cared_for")]
    given = np.zeros(len(r), bool)
    for c in scores + ["comment"]:
        given |= t.given.get(c, np.zeros(len(r), bool))
    empty = ~given
    rep.summary(t, empty, None, "response(s) have neither a score nor a comment (nothing to analyse)",
                r["stakeholder_id"])
    _unreferenced(rep, t_people, people, sh, pos_sh, "stakeholder(s) have no responses")
    known = pos_sh >= 0
    rows = sh.first_row[pos_sh[known]]  # the row that defines each respondent
    start = np.full(len(r), np.datetime64("NaT"), dtype="datetime64[ns]")
    end = start.copy()
    start[known] = people["active_from"].to_numpy()[rows]
    end[known] = people["active_to"].to_numpy()[rows]
    date = r["date"].to_numpy()
    with np.errstate(invalid="ignore"):
        outside = known & ~np.isnat(date) & ((~np.isnat(start) & (date < start)) | (~np.isnat(end) & (date >= end)))
    rep.summary(t, outside, "date",
                "response(s) are dated outside the respondent's active period (before active_from or on/after active_to)",
                r["stakeholder_id"])
    today = pd.Timestamp.today().normalize()
    future = ~np.isnat(date) & (date >= (today + pd.Timedelta(days=1)).to_datetime64())
    rep.summary(t, future, "date",
                f"response(s) are dated after today ({today:%Y-%m-%d}); check them (the default as-of date "
                "ignores them)", r["stakeholder_id"])


# --------------------------------------------------------------------------- entry points


def check_village(path, *, role_rules=None, max_listed=MAX_LISTED):
    """Read, check and type the village at ``path``; complete roles if it is valid.

    Returns ``(tables, problems)`` where ``tables`` is None when there is any
    error. Warnings raised while completing roles (unclassified titles) are
    captured into ``problems``, not emitted.
    """
    tables, problems, _ = _check_village(path, role_rules=role_rules, max_listed=max_listed)
    return tables, problems


def _check_village(path, *, role_rules=None, max_listed=MAX_LISTED, matched=None):
    """:func:`check_village` plus the warning class of each warning (for re-emitting)."""
    raw, problems = read_tables(path)
    tables, found = check_tables(raw, max_listed=max_listed, matched=matched)
    problems = _ordered(problems + found)
    categories = {p: VillageWarning for p in problems if p.severity == "warning"}
    if tables is None:
        return None, problems, categories

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CxInfluenceWarning)
        tables["stakeholders"] = complete_roles(tables["stakeholders"], rules=role_rules)
    for w in caught:
        if issubclass(w.category, CxInfluenceWarning):
            p = Problem("stakeholders", raw["stakeholders"].file, None, "title", str(w.message), "warning")
            problems.append(p)
            categories[p] = w.category
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return tables, _ordered(problems), categories


def validate_village(path, *, role_rules=None, max_listed=MAX_LISTED) -> list[Problem]:
    """Every problem in the village at ``path``: errors and warnings, without raising.

    Parameters
    ----------
    path : str or Path
        A folder of CSV or Parquet files named after the tables
        (``accounts.csv``, ...), or one ``.xlsx`` workbook with a sheet per
        table. Other files and sub-folders (e.g. ``truth/``) are ignored.
    role_rules : DataFrame, dict, str or path, optional
        Extra title -> role rules (see :func:`cxinfluence.village.roles.load_role_rules`).
    max_listed : int or None, default 100
        Rows listed one by one per check before the rest are counted.

    Returns
    -------
    list of Problem
        Empty when the village is valid and unremarkable. ``severity`` is
        ``"error"`` (the village cannot be loaded) or ``"warning"``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> files = {"accounts": "account_id\\nA1\\n", "stakeholders": "stakeholder_id,account_id,role\\nS1,A1,decider\\nS2,A9,boss\\n",
    ...          "relationships": "source_id,target_id,kind\\n", "responses": "stakeholder_id,date,nps\\nS1,2024-05-01,11\\n",
    ...          "outcomes": "account_id,period_end,renewed\\nA1,2024-12-31,1\\n"}
    >>> for name, text in files.items():
    ...     _ = (d / f"{name}.csv").write_text(text)
    >>> for p in validate_village(d):
    ...     print(p.severity, p)
    error stakeholders.csv, row 3, column 'role': unknown role 'boss'; expected one of decider, buyer, user,
    influencer, gatekeeper (or blank to infer it from title)
    error stakeholders.csv, row 3, column 'account_id': account 'A9' is not in accounts (accounts.csv); add it there or fix the id
    warning stakeholders.csv, column 'stakeholder_id': 1 stakeholder(s) have no responses: 'S2' (row 3)
    error responses.csv, row 2, column 'nps': 11 is out of range; nps takes whole numbers 0-10 (or blank)
    """
    return check_village(path, role_rules=role_rules, max_listed=max_listed)[1]


def problems_table(problems) -> pd.DataFrame:
    """Problems as a DataFrame, one row each, in the order given.

    Parameters
    ----------
    problems : iterable of Problem
        E.g. ``village.problems``, :func:`validate_village`'s result or
        ``VillageError.problems``.

    Returns
    -------
    DataFrame
        ``severity, table, file, row, column, message``; ``row`` is the row
        as the user sees it in the file (nullable integer).

    Examples
    --------
    >>> p = Problem("responses", "responses.csv", 7, "nps", "11 is out of range")
    >>> problems_table([p])
      severity      table           file  row column             message
    0    error  responses  responses.csv    7    nps  11 is out of range
    """
    columns = ["severity", "table", "file", "row", "column", "message"]
    table = pd.DataFrame([{c: getattr(p, c) for c in columns} for p in problems], columns=columns)
    table["row"] = table["row"].astype("Int64")
    return table
