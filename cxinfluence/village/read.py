"""Reading villages: a folder of CSV or Parquet files, or one ``.xlsx`` workbook with one sheet per
table.

Reading takes files as spreadsheets write them: the CSV delimiter is detected (comma, semicolon with
decimal commas, tab), workbook formulas are read from their saved values, and date cells as dates.

Reading returns the tables *raw* (:class:`RawTable`): CSV and xlsx cells as strings, Parquet
columns as stored, each row tagged with its number as the user sees it in the file. Typing and
checking is done by :mod:`cxinfluence.village.validate`.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import Problem
from .csvsafe import restore_cell, restore_frame
from .rawtable import RawTable, _finish, _unreadable, not_utf8_problem
from .read_xlsx import read_xlsx_tables
from .schema import TABLE_ORDER, TABLES

#: File suffixes recognised as tables inside a village folder.
TABLE_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


#: Cells longer than this (in bytes) are reported: usually a quote that is never closed.
MAX_CELL_BYTES = 131_072


#: Repeated reading problems (e.g. ragged rows) listed one by one before the rest are counted.
MAX_READ_LISTED = 20


_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}


def sniff_delimiter(path) -> str:
    """The delimiter of a CSV file: ``,``, ``;`` or tab, whichever the header row uses most.

    Quoted text is not counted; a header with none of them (one column) is
    comma-separated.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
    >>> _ = p.write_text('account_id;name;"revenue, EUR"\\nA1;Acme;8,5\\n')
    >>> sniff_delimiter(p)
    ';'
    """
    with open(path, "rb") as fh:
        head = fh.read(65536)
    text = head.decode("utf-8-sig", errors="replace")
    line, quoted = [], False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif ch in "\r\n" and not quoted:
            break
        elif not quoted:
            line.append(ch)
    counts = {d: line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def read_csv_table(path, name=None) -> RawTable:
    """Read one CSV table as strings, numbering rows as a spreadsheet would.

    The delimiter is detected (comma, semicolon or tab, see
    :func:`sniff_delimiter`) and named in the problems when it is not a
    comma; in a semicolon-separated file numbers may have decimal commas.
    A cell (or header) that cxinfluence neutralised against spreadsheet
    formulas when writing (a ``'`` before ``=``, ``+``, ``-``, ``@``...; see
    :mod:`cxinfluence.village.csvsafe`) is read back without that ``'``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "accounts.csv"
    >>> _ = p.write_text("account_id,name\\n007, Acme \\n\\n008,\\n")
    >>> t = read_csv_table(p)
    >>> t.data["account_id"].tolist(), t.data["name"].tolist(), t.rows.tolist()
    (['007', '008'], ['Acme', nan], [2, 4])
    """
    path = Path(path)
    name = name or path.stem.lower()
    label = path.name
    if path.stat().st_size == 0:
        expected = ", ".join(TABLES[name].required) if name in TABLES else "the column names"
        return _unreadable(name, label, f"file is empty (0 bytes); expected at least a header row ({expected})")
    problems = []
    delimiter = sniff_delimiter(path)
    try:
        body = _read_csv_arrow(path, delimiter)
    except Exception:  # pyarrow raises ArrowInvalid for bad bytes, ragged rows, odd files
        bad = not_utf8_problem(name, label, path)
        if bad is not None:
            return _unreadable(name, label, bad.message, bad.row)
        try:
            body, problems = _read_csv_slow(path, name, label, delimiter)
        except csv.Error as exc:
            return _unreadable(name, label, f"not a readable CSV file ({exc}); save it as comma-separated UTF-8 text")
    if body is None:
        return _unreadable(name, label, "file holds no header row; expected the column names on row 1")

    header = [restore_cell(h) for h in body.iloc[0].tolist()]
    body = body.iloc[1:].reset_index(drop=True)
    body.columns = range(body.shape[1])
    body = restore_frame(body)  # undo the formula neutralising of cxinfluence's own CSVs (csvsafe)
    rows = np.arange(2, len(body) + 2, dtype=np.int64)
    problems = _oversized(body, header, rows, name, label) + problems
    if delimiter != ",":
        decimal = " with decimal commas (8,5 = 8.5)" if delimiter == ";" else ""
        problems.insert(0, Problem(name, label, None, None, f"read as {_DELIMITER_NAMES[delimiter]}-separated "
                                   f"({delimiter!r}){decimal}", "warning"))
    table = _finish(name, label, header, body, rows, problems)
    table.delimiter, table.decimal = delimiter, ("," if delimiter == ";" else ".")
    return table


def _oversized(body: pd.DataFrame, header, rows, name, label) -> list:
    """Located problems for cells over :data:`MAX_CELL_BYTES` (an unclosed quote, usually)."""
    import pyarrow as pa

    out = []
    for i in range(body.shape[1]):
        s = body.iloc[:, i]
        if getattr(s.dtype, "storage", None) == "pyarrow":
            # Arrow text (the fast reader): the longest cell from the offsets alone, no copy
            arr = pa.array(s)
            chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
            longest = 0
            for chunk in chunks:
                if len(chunk) and (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
                    kind = np.dtype(np.int64 if pa.types.is_large_string(chunk.type) else np.int32)
                    offsets = np.frombuffer(chunk.buffers()[1], dtype=kind, count=len(chunk) + 1,
                                            offset=chunk.offset * kind.itemsize)
                    longest = max(longest, int(np.diff(offsets).max()))
            if longest <= MAX_CELL_BYTES:
                continue
        lengths = s.map(lambda v: len(v.encode()) if isinstance(v, str) else 0).to_numpy()
        big = np.flatnonzero(lengths > MAX_CELL_BYTES)
        column = str(header[i]).strip() if i < len(header) and header[i] is not None else f"column {i + 1}"
        for j in big[:MAX_READ_LISTED]:
            out.append(Problem(name, label, int(rows[j]), column,
                               f"cell is {int(lengths[j]):,} bytes long (limit {MAX_CELL_BYTES:,}); usually a quote "
                               "(\") opened in this cell and never closed, which swallows the following rows: "
                               "check the quotes here, or shorten the text"))
        if len(big) > MAX_READ_LISTED:
            out.append(Problem(name, label, None, column, f"and {len(big) - MAX_READ_LISTED:,} more cell(s) like this"))
    return out


def _read_csv_arrow(path: Path, delimiter: str = ",") -> pd.DataFrame:
    """Every cell as a string, header row included, with pyarrow's (multi-threaded) reader.

    Empty lines are kept as rows so that row numbers match the file.
    """
    import pyarrow as pa
    from pyarrow import csv as pacsv

    with open(path, newline="", encoding="utf-8-sig") as f:
        width = len(next(csv.reader(f, delimiter=delimiter)))
    if width == 0:
        raise ValueError("blank first line")
    table = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(autogenerate_column_names=True),
        parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(
            column_types={f"f{i}": pa.large_string() for i in range(width)},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    return table.to_pandas()


def _read_csv_slow(path: Path, name: str, label: str, delimiter: str = ","):
    """Fallback with the csv module: pads short rows and lists rows with more fields than the header.

    No field size limit here: oversized cells are reported, located, by :func:`_oversized`.
    """
    limit = csv.field_size_limit()
    csv.field_size_limit(2**31 - 1)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            records = list(csv.reader(f, delimiter=delimiter))
    finally:
        csv.field_size_limit(limit)
    if not records or not any(records[0]):
        return None, []
    width = len(records[0])
    ragged = [i for i, r in enumerate(records) if len(r) > width]
    sep = {",": "commas", ";": "semicolons", "\t": "tabs"}[delimiter]
    problems = [
        Problem(name, label, i + 1, None, f"row has {len(records[i])} fields but the header has {width}; extra values "
                f"are ignored (check for unquoted {sep})")
        for i in ragged[:MAX_READ_LISTED]
    ]
    if len(ragged) > MAX_READ_LISTED:
        more = ", ".join(str(i + 1) for i in ragged[MAX_READ_LISTED:MAX_READ_LISTED + 10])
        problems.append(Problem(name, label, None, None, f"and {len(ragged) - MAX_READ_LISTED:,} more row(s) like "
                                f"this (rows {more}{', ...' if len(ragged) > MAX_READ_LISTED + 10 else ''})"))
    body = pd.DataFrame([(r + [""] * width)[:width] for r in records], dtype="str")
    return body, problems


def read_parquet_table(path, name=None) -> RawTable:
    """Read one Parquet table, keeping its stored dtypes; rows numbered from 1."""
    path = Path(path)
    name = name or path.stem.lower()
    try:
        # one block per column (no copy into 2-D blocks) and Arrow memory freed column by column
        body = pd.read_parquet(path, to_pandas_kwargs={"split_blocks": True, "self_destruct": True})
    except Exception as exc:  # pyarrow raises several types for corrupt files
        return _unreadable(name, path.name, f"not a readable Parquet file ({type(exc).__name__}: {exc}); re-export it or use CSV")
    body = body.reset_index(drop=True)
    header = list(body.columns)
    body.columns = range(body.shape[1])
    return _finish(name, path.name, header, body, np.arange(1, len(body) + 1, dtype=np.int64), [])


def read_tables(path) -> tuple[dict[str, RawTable], list[Problem]]:
    """Read the village at ``path`` (folder of CSV/Parquet files, or an .xlsx workbook).

    Returns the tables found (by name) and the problems that concern the
    village as a whole: path not found, no tables, missing tables or sheets,
    two files for one table. Files whose stem is not a table name and
    sub-folders (such as ``truth/``) are ignored.
    """
    path = Path(path)
    label = path.name or str(path)
    if not path.exists():
        return {}, [Problem("village", str(path), None, None, "path not found; expected a folder of CSV/Parquet files or an .xlsx workbook")]
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".xlsx":
            return read_xlsx_tables(path)
        hint = "re-save it as .xlsx" if suffix in (".xls", ".xlsm", ".ods") else "pass the folder that holds the table files"
        return {}, [Problem("village", label, None, None, f"expected a folder of CSV/Parquet files or an .xlsx workbook, got a '{suffix}' file; {hint}")]
    found: dict[str, list[Path]] = {}
    odd: dict[str, str] = {}
    for p in sorted(path.iterdir()):
        if p.suffix.lower() in TABLE_SUFFIXES and p.stem.lower() in TABLES:
            if p.is_file():
                found.setdefault(p.stem.lower(), []).append(p)
            elif p.is_symlink() and not p.exists():
                odd[p.stem.lower()] = (f"{p.name} is a symbolic link to {os.readlink(p)}, which does not exist; "
                                       "point it at the table file or replace it with the file")
            elif p.is_dir():
                odd[p.stem.lower()] = f"{p.name} is a folder, not a file; put the {p.stem.lower()} table file there instead"
            else:
                odd[p.stem.lower()] = f"{p.name} is not a regular file; replace it with the table file"
    expected = ", ".join(f"{t}.csv" for t in TABLE_ORDER)
    if not found and odd:
        return {}, [Problem(n, label, None, None, f"table '{n}' cannot be read: {m}") for n, m in odd.items()]
    if not found:
        books = sorted(p.name for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".xlsx")
        hint = f"; the folder holds {books[0]}: pass that workbook's path instead" if len(books) == 1 else ""
        return {}, [Problem("village", label, None, None, f"no village tables found; expected {expected} (or .parquet files with those names){hint}")]
    tables, problems = {}, []
    for name in TABLE_ORDER:
        files = found.get(name)
        if not files and name in odd:
            problems.append(Problem(name, label, None, None, f"table '{name}' cannot be read: {odd[name]}"))
            continue
        if not files:
            problems.append(Problem(name, label, None, None, f"table '{name}' is missing: add {name}.csv (or {name}.parquet) to the folder"))
            continue
        if len(files) > 1:
            problems.append(Problem(name, label, None, None, f"table '{name}' is given twice ({', '.join(f.name for f in files)}); keep one"))
            continue
        f = files[0]
        reader = read_csv_table if TABLE_SUFFIXES[f.suffix.lower()] == "csv" else read_parquet_table
        tables[name] = reader(f, name)
    return tables, problems


# --------------------------------------------------------------------------- data dictionary
