"""One table as read from its file, before typing: :class:`RawTable`, and the header and cell
clean-up every reader shares (CSV, Parquet: :mod:`cxinfluence.village.read`; workbooks:
:mod:`cxinfluence.village.read_xlsx`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import Problem


@dataclass
class RawTable:
    """One table as read from its file, before typing and validation.

    Attributes
    ----------
    name : str
        Table name (``accounts``, ...).
    file : str
        How problems name the source: ``accounts.csv`` or ``book.xlsx[accounts]``.
    data : DataFrame
        CSV and xlsx: every cell as a string (NaN where the cell is empty).
        Parquet: the stored dtypes. Columns are the header names as written
        (whitespace stripped); a blank or repeated header is made unique and
        reported in ``problems``.
    rows : ndarray of int
        Row number of each data row as the user sees it: CSV record number with
        the header as row 1 (a spreadsheet's row); xlsx sheet row; Parquet
        record number starting at 1.
    problems : list of Problem
        Problems found while reading (bad encoding, ragged rows, ...).
    usable : bool
        False when the table could not be read at all.
    given : dict
        Filled by validation: contract column -> mask of rows where the file
        gave a value (valid or not).
    """

    name: str
    file: str
    data: pd.DataFrame
    rows: np.ndarray
    problems: list = field(default_factory=list)
    usable: bool = True
    given: dict = field(default_factory=dict)
    #: CSV: the delimiter detected (``,``, ``;`` or tab); ``decimal`` is ``,`` for
    #: ``;``-separated files, where ``8,5`` means 8.5.
    delimiter: str = ","
    decimal: str = "."


def _encoding_hint(raw: bytes) -> str:
    """Guess what a non-UTF-8 file is, for the error message."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16"
    try:
        raw.decode("cp1252")
        return "cp1252/latin-1"
    except UnicodeDecodeError:
        return "latin-1 or another 8-bit code page"


def not_utf8_problem(name: str, label: str, path: Path) -> Problem | None:
    """The problem to report if ``path`` is not UTF-8, else None."""
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
        return None
    except UnicodeDecodeError as exc:
        bad = exc.start
    hint = _encoding_hint(raw)
    row = raw.count(b"\n", 0, bad) + 1 if bad is not None and hint != "UTF-16" else None
    where = f" (first bad byte 0x{raw[bad]:02X})" if row is not None else ""
    return Problem(
        name,
        label,
        row,
        None,
        f"file is not UTF-8 (looks like {hint}){where}: re-save it as UTF-8 "
        "(Excel: Save As > 'CSV UTF-8 (Comma delimited)')",
    )


def _header(names, name: str, label: str) -> tuple[list[str], list[Problem], list[int]]:
    """Clean header names; make blank/repeated ones unique; report them.

    Returns the names, the problems and the positions of blank-named columns
    (kept only if they hold data, which is reported then).
    """
    out, problems, blank, seen = [], [], [], {}
    for i, raw in enumerate(names):
        h = "" if raw is None or (isinstance(raw, float) and np.isnan(raw)) else str(raw).strip()
        if h.startswith("\ufeff"):
            h = h[1:]
        if h == "":
            blank.append(i)
            h = f"unnamed_{i + 1}"
        if h in seen:
            problems.append(
                Problem(name, label, None, h, f"column '{h}' appears twice (columns {seen[h] + 1} and {i + 1}); give each column a unique name")
            )
            h = f"{h}_{i + 1}"
        seen.setdefault(h, i)
        out.append(h)
    return out, problems, blank


def _clean_cells(s: pd.Series) -> pd.Series:
    """Strip the strings of one column; blank (empty) strings become missing."""
    if s.dtype == object:
        # xlsx text, or Parquet objects (dates, ...): strip the strings, leave other values alone
        try:
            stripped = s.str.strip()
            s = stripped.where(stripped.notna(), s)
        except AttributeError:  # no strings in the column
            pass
        return s.mask((s == "") | s.isna())
    if not pd.api.types.is_string_dtype(s):
        return s
    if getattr(s.dtype, "storage", None) == "pyarrow":
        # Arrow-backed text (CSV cells, Parquet strings): work on the Arrow array directly
        import pyarrow as pa
        import pyarrow.compute as pc

        text = pa.array(s)
        chunks = text.chunks if isinstance(text, pa.ChunkedArray) else [text]
        strip = any(_may_have_edge_space(chunk) for chunk in chunks)
        if strip:
            text = pc.utf8_trim_whitespace(text)
        empty = pc.equal(pc.binary_length(text), 0)
        blank = pc.any(empty).as_py()
        if blank:
            text = pc.if_else(empty, pa.scalar(None, text.type), text)
        whole = _one_chunk(text)
        if not (strip or blank or whole is not text):
            return s
        return pd.Series(pd.array(whole, dtype=s.dtype), index=s.index, name=s.name)
    s = s.str.strip()
    return s.mask(s == "")


# UTF-8 bytes that can begin (first) or end (last) a whitespace character: ASCII
# controls and space, U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028/9, U+202F, U+205F,
# U+3000. A superset, so a column none of whose strings starts or ends with one of
# them needs no stripping (stripping copies every string).
_WS_FIRST = np.zeros(256, bool)
_WS_FIRST[: 0x20 + 1] = True
_WS_FIRST[[0xC2, 0xE1, 0xE2, 0xE3]] = True
_WS_LAST = np.zeros(256, bool)
_WS_LAST[: 0x20 + 1] = True
_WS_LAST[[*range(0x80, 0x8B), 0x9F, 0xA0, 0xA8, 0xA9, 0xAF]] = True


def _one_chunk(text):
    """``text`` (an Arrow string array) as one chunk: readers hand over a chunk per row group or
    block, and every later take or hash of a chunked column first concatenates the whole column
    (at 10M comments, 650 MiB and 0.8 s for each pick of rows). Kept chunked if the text would not
    fit one chunk's 32-bit offsets."""
    import pyarrow as pa

    if not isinstance(text, pa.ChunkedArray) or text.num_chunks <= 1:
        return text
    try:
        return pa.chunked_array([text.combine_chunks()], type=text.type)
    except (pa.ArrowInvalid, pa.ArrowCapacityError):  # over 2 GiB of `string` (not large_string) text
        return text


def _may_have_edge_space(chunk) -> bool:
    """Whether any string of an Arrow string array may start or end with whitespace.

    Reads only the first and last byte of each string from the array's buffers.
    """
    import pyarrow as pa

    if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
        return True
    if len(chunk) == 0:
        return False
    _, offsets, data = chunk.buffers()
    kind = np.dtype(np.int64 if pa.types.is_large_string(chunk.type) else np.int32)
    bounds = np.frombuffer(offsets, dtype=kind, count=len(chunk) + 1, offset=chunk.offset * kind.itemsize)
    if bounds[-1] == bounds[0]:  # only empty strings (or none)
        return False
    data = np.frombuffer(data, dtype=np.uint8, count=int(bounds[-1]))
    # An empty string reads a neighbour's byte instead: at worst a needless strip.
    first = data.take(bounds[:-1], mode="clip")
    last = data.take(bounds[1:] - 1, mode="clip")
    return bool(_WS_FIRST.take(first).any() or _WS_LAST.take(last).any())


PARALLEL_CELLS = 4_000_000  # cells of a table from which its columns are cleaned on two threads


def _finish(name, label, header, body: pd.DataFrame, rows: np.ndarray, problems) -> RawTable:
    """Apply the header, blank out empty strings, drop wholly blank rows and headerless empty columns."""
    names, hproblems, blank = _header(header, name, label)
    problems = problems + hproblems
    # copy=False: keep each column as its own array (no copy into 2-D blocks); columns taken out of
    # ``body`` and handed over one by one, so each reader's original is freed as its cleaned copy is made
    index, body.columns = body.index, range(body.shape[1])
    body = pd.DataFrame(dict(zip(names, _clean_columns([body.pop(i) for i in range(len(names))]))),
                        index=index, copy=False)
    for i in blank:
        c = names[i]
        if body[c].notna().any():
            first = int(rows[np.flatnonzero(body[c].notna().to_numpy())[0]])
            problems.append(Problem(name, label, first, None, f"column {i + 1} has values but no header; give it a name or delete it"))
        else:
            body = body.drop(columns=c)
    keep = _not_blank_rows(body)
    if not keep.all():
        body, rows = body.loc[keep].reset_index(drop=True), rows[keep]
    return RawTable(name, label, body.reset_index(drop=True), np.asarray(rows, dtype=np.int64), problems)


def _clean_columns(columns: list) -> list:
    """:func:`_clean_cells` of each column (the list is emptied as they are taken), on two threads when the
    table is large: Arrow's string kernels and the copies into one chunk run without the GIL, and most of
    their time is first touches of new memory, which two cores fault in side by side."""
    cells = sum(len(c) for c in columns)
    if cells < PARALLEL_CELLS or len(columns) < 2:
        return [_clean_cells(columns.pop(0)) for _ in range(len(columns))]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2, thread_name_prefix="clean-cells") as pool:
        futures = [pool.submit(_clean_cells, columns.pop(0)) for _ in range(len(columns))]
    return [f.result() for f in futures]


def _not_blank_rows(body: pd.DataFrame) -> np.ndarray:
    """Rows with a value in some column; a column with no blank at all (an id, usually) settles it."""
    if not body.shape[1]:
        return np.zeros(len(body), bool)
    blank = None
    for c in body.columns:
        missing = body[c].isna().to_numpy()
        if not missing.any():
            return np.ones(len(body), bool)
        blank = missing if blank is None else blank & missing
    return ~blank


def _unreadable(name, label, message, row=None) -> RawTable:
    return RawTable(name, label, pd.DataFrame(), np.zeros(0, np.int64), [Problem(name, label, row, None, message)], usable=False)
