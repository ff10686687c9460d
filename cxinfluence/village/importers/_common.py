"""Helpers shared by the readers: reading an export's CSV fast, finding columns, parsing dates."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ...exceptions import ImportDataError, Problem
from ..ids import positions
from ..io import not_utf8_problem

_AWARE = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")
_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}


def located(source, file, message, row=None, column=None):
    """A located :class:`~cxinfluence.exceptions.Problem` of an import."""
    return Problem(source, str(file), row, column, message)


class Export:
    """One CSV export read as text: its header row(s) and an Arrow table of string columns.

    ``headers[0]`` is the column names (made unique: a repeated name gets `` (2)``);
    ``headers[1:]`` are further header rows (question texts, ImportIds). ``row(i)`` is the
    spreadsheet row of data row ``i`` (1-based, header rows counted).
    """

    def __init__(self, path, header_rows=1, source="import"):
        self.path = Path(path)
        self.file = self.path.name
        self.source = source
        self.header_rows = header_rows
        if not self.path.is_file():
            raise ImportDataError([located(source, self.path, "file not found; pass the export's path")], source=str(path))
        self.headers = self._head(header_rows)
        self.names = _unique([str(h).strip() for h in self.headers[0]])
        self._table, self._loaded = None, []

    def use(self, columns):
        """Read only these columns (names; None entries ignored): the file is parsed once, the rest not converted."""
        want = [c for c in dict.fromkeys(columns) if c is not None and c in self.names]
        if self._table is None or any(c not in self._loaded for c in want):
            cols = list(dict.fromkeys(self._loaded + want)) if self._table is not None else want
            self._table = self._body(cols)
            self._loaded = cols
        return self

    @property
    def table(self):
        if self._table is None:
            self.use(self.names)
        return self._table

    @property
    def n(self) -> int:
        return self.table.num_rows

    def _head(self, k):
        try:
            with open(self.path, newline="", encoding="utf-8-sig") as f:
                reader = csv.reader(f)
                rows = [next(reader, None) for _ in range(k)]
        except UnicodeDecodeError:
            bad = not_utf8_problem(self.source, self.file, self.path)
            raise ImportDataError([located(self.source, self.file, bad.message, bad.row)], source=str(self.path)) from None
        except csv.Error as exc:
            raise ImportDataError([located(self.source, self.file, f"not a readable CSV file ({exc})")], source=str(self.path)) from None
        if rows[0] is None or not any(c.strip() for c in rows[0]):
            raise ImportDataError([located(self.source, self.file, "file holds no header row; expected the column names on row 1", 1)],
                                  source=str(self.path))
        width = len(rows[0])
        return [(r or []) + [""] * (width - len(r or [])) for r in rows]

    def _body(self, columns):
        import pyarrow as pa
        from pyarrow import csv as pacsv

        width = len(self.names)
        keep = [f"f{self.names.index(c)}" for c in columns] or ["f0"]
        def read(block_size):
            # one thread, 1 MiB blocks: least CPU on a shared 2-core machine (16 MiB blocks over 2 threads cost
            # about 2.5x the CPU time for the same file, mostly in allocating the larger buffers)
            return pacsv.read_csv(
                self.path,
                read_options=pacsv.ReadOptions(column_names=[f"f{i}" for i in range(width)], skip_rows=0,
                                               block_size=block_size, use_threads=False),
                parse_options=pacsv.ParseOptions(newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(column_types={k: pa.large_string() for k in keep},
                                                     include_columns=keep,
                                                     strings_can_be_null=True, quoted_strings_can_be_null=True),
            )

        try:
            try:
                table = read(1 << 20)
            except pa.ArrowInvalid as exc:
                if "straddl" not in str(exc):  # a row longer than a block (a very long comment): larger blocks
                    raise
                table = read(1 << 28)
        except (pa.ArrowException, OSError, ValueError) as exc:  # ArrowInvalid: ragged rows, bad bytes
            bad = not_utf8_problem(self.source, self.file, self.path)
            if bad is not None:
                raise ImportDataError([located(self.source, self.file, bad.message, bad.row)], source=str(self.path)) from None
            msg = str(exc).splitlines()[0]
            raise ImportDataError([located(self.source, self.file, f"not a readable CSV file ({msg}); "
                                           "save it as comma-separated UTF-8 text with one header row per the vendor's layout")],
                                  source=str(self.path)) from None
        return table.slice(self.header_rows)

    def has(self, name) -> bool:
        return name in self.names

    def find(self, *candidates):
        """The first column whose name matches a candidate (case-, space- and underscore-insensitive)."""
        norm = {_norm(c): c for c in reversed(self.names)}
        for cand in candidates:
            if cand is None:
                continue
            if cand in self.names:
                return cand
            if _norm(cand) in norm:
                return norm[_norm(cand)]
        return None

    def text(self, name) -> pd.Series:
        """A column as pandas ``str`` (NaN for blank), stripped."""
        import pyarrow.compute as pc

        self.use([name])
        col = self.table.column(f"f{self.names.index(name)}")
        col = pc.utf8_trim_whitespace(col)
        col = pc.if_else(pc.equal(col, ""), None, col)
        return pd.Series(col.to_pandas(), dtype="str").reset_index(drop=True)

    def rows(self) -> np.ndarray:
        return np.arange(self.header_rows + 1, self.header_rows + 1 + self.n, dtype=np.int64)

    def require(self, names, what):
        missing = [c for c in names if c is None or not self.has(c)]
        return missing


def _unique(names):
    seen, out = {}, []
    for n in names:
        k = seen.get(n, 0)
        seen[n] = k + 1
        out.append(n if k == 0 else f"{n} ({k + 1})")
    return out


def _norm(name) -> str:
    return re.sub(r"[\s_\-\.]+", "", str(name).strip().lower())


def numbers(s: pd.Series) -> pd.Series:
    """Text to float64 (NaN for blank or not a number), vectorised.

    >>> numbers(pd.Series(["9", " 10", "x", None])).tolist()
    [9.0, 10.0, nan, nan]
    """
    return pd.to_numeric(s.astype("str").str.strip().str.replace(",", "", regex=False), errors="coerce").astype("float64")


def leading_int(s: pd.Series) -> pd.Series:
    """The leading whole number of a label such as ``"10 - Extremely likely"`` (NaN if none).

    >>> leading_int(pd.Series(["10 - Extremely likely", "7", "Not at all", None])).tolist()
    [10.0, 7.0, nan, nan]
    """
    codes, distinct = pd.factorize(s)
    got = pd.Series(distinct, dtype="str").str.extract(r"^\s*(\d{1,3})(?:\.0+)?\b", expand=False)
    values = pd.to_numeric(got, errors="coerce").to_numpy(dtype=float)
    return pd.Series(np.append(values, np.nan)[codes], index=s.index, dtype="float64")


def booleans(s: pd.Series) -> pd.Series:
    """``true/false/1/0/yes/no`` text to an object Series of True/False/NaN."""
    low = s.astype("str").str.strip().str.lower()
    return pd.Series(np.where(low.isin(_TRUE), True, np.where(low.isin(_FALSE), False, np.nan)), index=s.index, dtype=object)


def emails(s: pd.Series) -> pd.Series:
    """E-mail addresses trimmed and lower-cased, blank -> NaN.

    >>> emails(pd.Series([" Ann.Lee@Acme.COM ", ""])).tolist()
    ['ann.lee@acme.com', nan]
    """
    out = s.astype("str").str.strip().str.lower()
    return out.mask(out == "")


def parse_dates(s: pd.Series, formats=(), *, source_tz=None, target_tz=None, dayfirst=False):
    """Export timestamps to village days: ``(datetime64[ns] Series normalised to the day, not-a-date mask)``.

    Each distinct text is parsed once: the ``formats`` in order, then ISO 8601; a column of 10- or
    13-digit numbers is read as Unix seconds or milliseconds (UTC). Texts with a UTC
    offset (``Z``, ``+02:00``) are converted to ``target_tz`` (UTC when none is given); naive ones
    are taken to be in ``source_tz`` and converted to ``target_tz`` when both are given (else kept as
    written). The time is then dropped.

    Examples
    --------
    >>> d, bad = parse_dates(pd.Series(["05/01/2024 11:30:00 PM", "2024-05-02T01:00:00.000Z", "soon", None]),
    ...                      ["%m/%d/%Y %I:%M:%S %p"], source_tz="America/New_York", target_tz="UTC")
    >>> d.dt.strftime("%Y-%m-%d").tolist(), bad.tolist()
    (['2024-05-02', '2024-05-02', nan, nan], [False, False, True, False])
    """
    shift = bool(source_tz and target_tz and source_tz != target_tz)
    if not shift and len(s) > 10_000:
        # naive ISO timestamps whose zone is not converted: only the day matters, and days repeat
        head = s.astype("str").str.strip()
        if head.dropna().str.fullmatch(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?").all():
            s = head.str.slice(0, 10)
    codes, distinct = pd.factorize(s)
    text = pd.Series(distinct, dtype=object).astype(str).str.strip()
    n = len(text)
    if n and text.str.fullmatch(r"\d{9,10}|\d{12,13}").all():
        # Unix timestamps (e.g. Delighted): seconds or milliseconds since 1970, in UTC
        unit = "ms" if text.str.len().max() > 10 else "s"
        parsed = pd.to_datetime(pd.to_numeric(text), unit=unit, utc=True).dt.tz_convert(target_tz or "UTC")
        days = parsed.dt.tz_localize(None).dt.normalize().to_numpy(dtype="datetime64[ns]")
        out = pd.Series(np.append(days, np.datetime64("NaT"))[codes], index=s.index, dtype="datetime64[ns]")
        return out, pd.Series(np.zeros(len(s), bool), index=s.index)
    values = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    todo = np.ones(n, bool)
    aware = text.str.contains(_AWARE, regex=True).to_numpy() if n else np.zeros(0, bool)

    def take(mask, parsed):
        ok = parsed.notna().to_numpy() & mask
        values[ok] = parsed.to_numpy(dtype="datetime64[ns]")[ok]
        todo[ok] = False

    for fmt in formats:
        if not todo.any():
            break
        take(todo & ~aware, pd.to_datetime(text.where(todo & ~aware), format=fmt, errors="coerce"))
    if todo.any() and aware.any():
        parsed = pd.to_datetime(text.where(todo & aware), format="ISO8601", errors="coerce", utc=True)
        parsed = parsed.dt.tz_convert(target_tz or "UTC").dt.tz_localize(None)
        take(todo & aware, parsed)
    for fmt in ("ISO8601", "mixed"):
        if not todo.any():
            break
        rest = todo & ~aware
        kw = {"dayfirst": dayfirst} if fmt == "mixed" else {}
        try:
            parsed = pd.to_datetime(text.where(rest), format=fmt, errors="coerce", **kw)
        except (ValueError, TypeError):
            continue
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_localize(None)
        take(rest, parsed)
    naive = ~aware & ~todo
    if source_tz and target_tz and naive.any() and source_tz != target_tz:
        local = pd.Series(values[naive]).dt.tz_localize(source_tz, ambiguous="NaT", nonexistent="shift_forward")
        values[naive] = local.dt.tz_convert(target_tz).dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    days = pd.Series(values).dt.normalize().to_numpy(dtype="datetime64[ns]")
    out = pd.Series(np.append(days, np.datetime64("NaT"))[codes], index=s.index, dtype="datetime64[ns]")
    bad = pd.Series(np.append(todo, False)[codes], index=s.index)
    return out, bad


def date_options(mapping):
    """``(formats, target_tz, default source tz)`` from the mapping's ``dates`` section."""
    d = (mapping or {}).get("dates") or {}
    target = d.get("timezone")
    return list(d.get("formats") or []), target, d.get("source_timezone") or target


def dropped_rows(file, rows, reason):
    """``Staged.dropped`` entries for the given spreadsheet rows, one reason for all."""
    return [{"file": str(file), "row": int(r), "reason": reason} for r in np.asarray(rows).tolist()]


def source_columns(frame: pd.DataFrame, file, rows) -> pd.DataFrame:
    """``frame`` with the provenance columns ``source_file`` and ``source_row``."""
    out = frame.copy()
    out["source_file"] = str(file)
    out["source_row"] = np.asarray(rows, dtype=np.int64)
    return out


def lookup(keys, values) -> np.ndarray:
    """Position of each key among ``values`` (first occurrence), -1 when absent or blank; hashed by pyarrow.

    >>> lookup(pd.Series(["b", None, "x"]), pd.Series(["a", "b"])).tolist()
    [1, -1, -1]
    """
    keys = pd.Series(keys).astype("str")
    values = pd.Series(values).astype("str")
    if values.isna().any():
        pos = positions(keys, values.fillna("\x00blank"))
    else:
        pos = positions(keys, values)
    pos = np.asarray(pos, dtype=np.int64)
    pos[keys.isna().to_numpy()] = -1
    return pos


def take(values, pos: np.ndarray, fill=np.nan) -> np.ndarray:
    """``values[pos]`` with ``fill`` where ``pos`` is -1."""
    arr = np.asarray(pd.Series(values).to_numpy(dtype=object))
    out = np.append(arr, fill).astype(object)
    return out[np.where(pos < 0, len(arr), pos)]
