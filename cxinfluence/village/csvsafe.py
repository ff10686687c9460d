"""CSV cells that a spreadsheet cannot run as formulas, and a reader that undoes it.

Excel, LibreOffice and Google Sheets treat a CSV cell that begins with ``=``,
``+``, ``-`` or ``@`` (or a tab / carriage return before one) as a formula:
``=HYPERLINK("http://...")`` as an account id or ``=cmd|' /C calc'!A0`` in a
comment would run when the file is opened (OWASP "CSV injection"). Every CSV
cxinfluence writes therefore *neutralises* such text cells the way OWASP
recommends, by putting a single quote ``'`` in front of them.

The rule, exactly (so that it can be undone):

* a **text** cell is prefixed with ``'`` when, after any leading single quotes,
  it begins with a tab or carriage return, or with ``=``, ``+``, ``-`` or ``@``
  (spaces and line breaks before those allowed);
* except a cell that is a plain decimal number (``-3``, ``+1.5``, ``-2e-3``):
  a spreadsheet reads it as that number, never as a formula;
* numeric, boolean and date columns are never touched (``-3.2`` stays a number);
* column names follow the same rule.

The leading quotes in the rule make it reversible: :func:`restore_cell` removes
one ``'`` from a cell that starts with one or more ``'`` followed by what the
rule neutralises, and leaves every other cell alone, so
``restore_cell(neutralise_cell(x)) == x`` for every text ``x``.
:func:`read_output_csv` reads an output table back with the raw values (ids
as text, joinable with the village); :func:`cxinfluence.load_village` undoes
the rule in village CSV files too, so a village written by
:func:`cxinfluence.write_village` round-trips exactly.

Examples
--------
>>> neutralise_cell('=HYPERLINK("http://x")')
'\\'=HYPERLINK("http://x")'
>>> neutralise_cell("-3.2"), neutralise_cell("great service"), neutralise_cell("'=1")
('-3.2', 'great service', "''=1")
>>> restore_cell(neutralise_cell("'=1"))
"'=1"
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .ids import one_array

#: RE2 (pyarrow) and Python patterns: what is neutralised, what is a plain number, what to restore.
DANGER = r"^'*(?:[\t\r]|[\t\r\n ]*[=+\-@])"
NUMBER = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
ESCAPED = r"^'+(?:[\t\r]|[\t\r\n ]*[=+\-@])"
_DANGER = re.compile(DANGER)
_NUMBER = re.compile(NUMBER.rstrip("$") + r"\Z")
_ESCAPED = re.compile(ESCAPED)
#: First characters a neutralised or restorable cell can start with (a cheap pre-filter).
_FIRST = frozenset("'\t\r\n =+-@")


def neutralise_cell(value):
    """``value`` with a ``'`` in front if a spreadsheet could read it as a formula (text only).

    >>> neutralise_cell("@SUM(1+1)*C4"), neutralise_cell(-3.2), neutralise_cell(None)
    ("'@SUM(1+1)*C4", -3.2, None)
    """
    if isinstance(value, str) and value[:1] in _FIRST and _DANGER.match(value) and not _NUMBER.match(value):
        return "'" + value
    return value


def restore_cell(value):
    """Undo :func:`neutralise_cell`: the raw text back (other values unchanged).

    >>> restore_cell("'@SUM(1+1)*C4"), restore_cell("'quoted'"), restore_cell("-3")
    ('@SUM(1+1)*C4', "'quoted'", '-3')
    """
    if isinstance(value, str) and value[:1] == "'" and _ESCAPED.match(value):
        return value[1:]
    return value


def _is_text(s: pd.Series) -> bool:
    return s.dtype == object or pd.api.types.is_string_dtype(s) or isinstance(s.dtype, pd.CategoricalDtype)


def _apply(s: pd.Series, arrow_fn, cell_fn) -> pd.Series:
    if isinstance(s.dtype, pd.CategoricalDtype):
        changed = any(cell_fn(c) is not c for c in s.cat.categories)
        return s.astype(object).map(cell_fn, na_action="ignore") if changed else s
    if pd.api.types.is_string_dtype(s) and getattr(s.dtype, "storage", None) == "pyarrow":
        import pyarrow as pa

        arr = pa.array(s)
        out = arrow_fn(arr)
        return s if out is arr else pd.Series(pd.array(out, dtype=s.dtype), index=s.index, name=s.name)
    if s.dtype == object or pd.api.types.is_string_dtype(s):
        first = s.map(lambda v: isinstance(v, str) and v[:1] in _FIRST)
        if not first.any():
            return s
        out = s.copy()
        out[first] = s[first].map(cell_fn)
        return out
    return s


_FIRST_BYTES = np.zeros(256, bool)
_FIRST_BYTES[[ord(c) for c in _FIRST]] = True


def _first_byte_candidates(arr) -> np.ndarray:
    """Which strings of an Arrow string array begin with a byte of ``_FIRST`` (reads only the buffers)."""
    import pyarrow as pa

    _, offsets, data = arr.buffers()
    kind = np.dtype(np.int64 if pa.types.is_large_string(arr.type) else np.int32)
    bounds = np.frombuffer(offsets, dtype=kind, count=len(arr) + 1, offset=arr.offset * kind.itemsize)
    if data is None or bounds[-1] == bounds[0]:
        return np.zeros(len(arr), bool)
    raw = np.frombuffer(data, dtype=np.uint8, count=int(bounds[-1]))
    nonempty = bounds[1:] > bounds[:-1]
    return nonempty & _FIRST_BYTES.take(raw.take(bounds[:-1], mode="clip"))


def neutralise_arrow(arr):
    """:func:`neutralise_cell` over a pyarrow string array (vectorised; returns ``arr`` itself if nothing changes)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(arr, pa.ChunkedArray):
        text = pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)
        if text and not any(_first_byte_candidates(c).any() for c in arr.chunks):
            return arr  # nothing to neutralise: no copy of millions of strings into one chunk
        arr = one_array(arr)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)) or len(arr) == 0:
        return arr
    candidates = _first_byte_candidates(arr)  # a cheap pass over the first bytes: most columns stop here
    if not candidates.any():
        return arr
    where = np.flatnonzero(candidates)
    subset = arr.take(pa.array(where))
    danger = pc.fill_null(pc.match_substring_regex(subset, DANGER), False)
    hit = pc.and_(danger, pc.invert(pc.fill_null(pc.match_substring_regex(subset, NUMBER), False)))
    hit = hit.to_numpy(zero_copy_only=False)
    if not hit.any():
        return arr
    mask = np.zeros(len(arr), bool)
    mask[where[hit]] = True
    return pc.if_else(pa.array(mask), pc.binary_join_element_wise(pa.scalar("'", arr.type), arr,
                                                                  pa.scalar("", arr.type)), arr)


def restore_arrow(arr):
    """:func:`restore_cell` over a pyarrow string array (vectorised)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = one_array(arr)
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)) or len(arr) == 0:
        return arr
    quoted = pc.fill_null(pc.starts_with(arr, "'"), False)
    if not pc.any(quoted).as_py():
        return arr
    mask = pc.fill_null(pc.match_substring_regex(arr, ESCAPED), False)
    if not pc.any(mask).as_py():
        return arr
    return pc.if_else(mask, pc.utf8_slice_codeunits(arr, 1), arr)


def neutralise_series(s: pd.Series) -> pd.Series:
    """A text column with :func:`neutralise_cell` applied; other columns returned as they are."""
    return _apply(s, neutralise_arrow, neutralise_cell) if _is_text(s) else s


def restore_series(s: pd.Series) -> pd.Series:
    """A text column with :func:`restore_cell` applied; other columns returned as they are."""
    return _apply(s, restore_arrow, restore_cell) if _is_text(s) else s


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A new DataFrame with every text cell and column name neutralised (numbers untouched).

    >>> neutralise_frame(pd.DataFrame({"id": ["=1+1", "A"], "x": [-3.2, 1.0]})).to_dict("list")
    {'id': ["'=1+1", 'A'], 'x': [-3.2, 1.0]}
    """
    return _frame(df, neutralise_series, neutralise_cell)


def restore_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`neutralise_frame`: raw text cells and column names back."""
    return _frame(df, restore_series, restore_cell)


def _frame(df, series_fn, cell_fn):
    columns = [df.iloc[:, i] for i in range(df.shape[1])]
    done = [series_fn(c) for c in columns]
    names = [cell_fn(c) if isinstance(c, str) else c for c in df.columns]
    if all(a is b for a, b in zip(done, columns)) and names == list(df.columns):
        return df.copy(deep=False)
    out = pd.DataFrame(dict(enumerate(done)), index=df.index)
    out.columns = names
    return out


def read_output_csv(path, **kwargs) -> pd.DataFrame:
    """Read a CSV written by cxinfluence with the raw values: the reader that undoes neutralising.

    Columns whose name is ``id`` or ends in ``_id`` are read as text, so ids
    such as ``007`` or ``NA`` stay exactly as in the village and tables join on
    them; a blank cell is missing, other text (``NA``, ``null``) is kept as
    text. Then every text cell and column name that :func:`neutralise_cell`
    prefixed gets its raw value back. Other keyword arguments go to
    :func:`pandas.read_csv`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from cxinfluence.village.io import write_csv
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> write_csv(pd.DataFrame({"account_id": ["007", "=1+1"], "score": [-3.2, 1.0]}), p)
    >>> print(p.read_text())
    "account_id","score"
    "007",-3.2
    "'=1+1",1
    <BLANKLINE>
    >>> read_output_csv(p).to_dict("list")
    {'account_id': ['007', '=1+1'], 'score': [-3.2, 1.0]}
    """
    path = Path(path)
    with open(path, newline="", encoding="utf-8-sig") as fh:
        header = next(csv.reader(fh), [])
    ids = {h: "str" for h in header if restore_cell(h) == "id" or restore_cell(h).endswith("_id")}
    dtype = kwargs.pop("dtype", None)
    if dtype is None or isinstance(dtype, dict):
        dtype = {**ids, **(dtype or {})}
    kwargs.setdefault("keep_default_na", False)
    kwargs.setdefault("na_values", [""])
    kwargs.setdefault("encoding", "utf-8")
    return restore_frame(pd.read_csv(path, dtype=dtype, **kwargs))
