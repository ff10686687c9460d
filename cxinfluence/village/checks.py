"""Typing and checking the values of a village's tables, column by column.

The first half of validation (:mod:`cxinfluence.village.validate`): each raw
column (CSV text, or Parquet values as stored) is typed into the dtype of a
:class:`~cxinfluence.village.core.Village` column, and every value that does
not fit its column's kind in :mod:`cxinfluence.village.schema` is reported,
located by file, row and column (:class:`_Report`). Keys and references
between tables are checked afterwards, in :mod:`cxinfluence.village.references`.
"""

from __future__ import annotations

import difflib
import re

import numpy as np
import pandas as pd

from ..exceptions import Problem
from .io import RawTable
from .io import range_text as _range_text
from .schema import DERIVED_COLUMNS, TABLES, Column

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
    keep = finite & ~bad
    if s.dtype == np.float64 and not (given & ~keep).any():
        return s  # stored float64 with every given value valid: nothing to blank out, no copy
    return pd.Series(np.where(keep, v, np.nan), index=s.index, dtype="float64")


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
    # copy=False: each column stays its own array (no copy into 2-D blocks)
    return pd.DataFrame(out, index=pd.RangeIndex(n), copy=False), complete
