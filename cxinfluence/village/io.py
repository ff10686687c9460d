"""Writing villages (a folder of CSV or Parquet files, or one ``.xlsx`` workbook with one sheet per
table) and the data dictionary.

Writing is atomic (:mod:`cxinfluence.village.files`): everything is written into a temporary folder
(or file) beside the target and swapped into place in one step only once complete, so a failure or a
kill never leaves a half-written village behind. Reading is :mod:`cxinfluence.village.read` (its
names are importable from here too).
"""

from __future__ import annotations

import contextlib
import csv
import io as _io
from pathlib import Path

import numpy as np
import pandas as pd

from .csvsafe import neutralise_arrow, neutralise_cell, neutralise_frame
from .files import atomic_file, atomic_folder
from .read import (  # noqa: F401 - the readers, importable from here as before
    MAX_CELL_BYTES,
    MAX_READ_LISTED,
    TABLE_SUFFIXES,
    RawTable,
    not_utf8_problem,
    read_csv_table,
    read_parquet_table,
    read_tables,
    sniff_delimiter,
)
from .read_xlsx import EXCEL_SERIAL_RANGE, read_xlsx_tables  # noqa: F401 - importable from here as before
from .schema import DERIVED_COLUMNS, TABLE_ORDER, TABLES

FORMATS = ("csv", "parquet", "xlsx")


#: rows an .xlsx sheet holds (Excel's limit, header included); the one definition every writer uses
EXCEL_MAX_ROWS = 1_048_576


# --------------------------------------------------------------------------- writing


@contextlib.contextmanager
def atomic_output(path, *, overwrite=False, is_dir=True):
    """Write to ``path`` atomically: yield a temporary path beside it, put it in place on success.

    A thin wrapper of :func:`cxinfluence.village.files.atomic_folder` (``is_dir=True``)
    and :func:`cxinfluence.village.files.atomic_file` (``is_dir=False``), which add
    the lock and the one-step swap. On an exception the temporary output is
    removed and ``path`` is untouched. An existing ``path`` is replaced only
    with ``overwrite=True``, and a non-empty folder only if it holds a village.

    Parameters
    ----------
    path : str or Path
        Final location.
    overwrite : bool, default False
        Replace ``path`` if it exists.
    is_dir : bool, default True
        Yield a temporary folder (True) or a temporary file path (False).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out"
    >>> with atomic_output(target) as tmp:
    ...     _ = (tmp / "a.txt").write_text("hello")
    >>> sorted(p.name for p in target.iterdir())
    ['a.txt']
    """

    path = Path(path)
    _check_target(path, overwrite)
    writer = atomic_folder(path, replace=overwrite) if is_dir else atomic_file(path, replace=overwrite)
    with writer as tmp:
        yield tmp
        _check_target(path, overwrite)  # someone may have created it meanwhile


def _check_target(path: Path, overwrite: bool) -> None:
    if not path.exists():
        return
    if not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True (CLI: --force) to replace it")
    if path.is_dir() and any(path.iterdir()) and not _looks_like_village(path):
        raise FileExistsError(
            f"{path} is a non-empty folder that holds no village tables; refusing to replace it. "
            "Choose a new or empty folder."
        )


def _looks_like_village(folder: Path) -> bool:
    """A folder holding table files, or an .xlsx workbook (a village written as one)."""
    return any(
        (p.stem.lower() in TABLES and p.suffix.lower() in TABLE_SUFFIXES) or p.suffix.lower() == ".xlsx"
        for p in folder.iterdir()
    )


def _village_tables(village) -> dict[str, pd.DataFrame]:
    tables = village.tables() if hasattr(village, "tables") else dict(village)
    missing = [t for t in TABLE_ORDER if t not in tables]
    if missing:
        raise ValueError(f"village is missing table(s) {missing}; expected all of {list(TABLE_ORDER)}")
    return {t: tables[t] for t in TABLE_ORDER}


def _text_column(s: pd.Series) -> pd.Series:
    """One column as the text written to CSV: ISO dates, true/false, whole numbers without '.0'."""
    if pd.api.types.is_bool_dtype(s):
        return s.map({True: "true", False: "false"}).astype(object)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_convert(None)
    if pd.api.types.is_datetime64_any_dtype(s):
        fmt = "%Y-%m-%d" if (s.dropna() == s.dropna().dt.normalize()).all() else "%Y-%m-%dT%H:%M:%S"
        return s.dt.strftime(fmt).astype(object)
    if pd.api.types.is_float_dtype(s):
        v = s.to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            whole = np.isfinite(v) & (v == np.round(v)) & (np.abs(v) < 2**53)
        if whole[~np.isnan(v)].all():
            return s.astype("Int64")
        # mixed: whole numbers without '.0', others in shortest round-trip form
        text = np.where(whole, np.where(whole, v, 0).astype(np.int64).astype(str), v.astype(str))
        return pd.Series(text, index=s.index, dtype=object).where(~np.isnan(v))
    if s.dtype == object:
        # Mixed Python values (e.g. a bool column holding NaN): booleans as true/false.
        return s.map(lambda x: ("true" if x else "false") if isinstance(x, (bool, np.bool_)) else x)
    return s


def _writable(df: pd.DataFrame, table: str) -> pd.DataFrame:
    drop = [c for c in DERIVED_COLUMNS.get(table, ()) if c in df.columns]
    df = df.drop(columns=drop)
    return pd.DataFrame({c: _text_column(df[c]) for c in df.columns}, index=range(len(df)))


def _parquet_column(s: pd.Series) -> pd.Series:
    if s.dtype == object:
        non_null = s.dropna()
        if len(non_null) and non_null.map(type).nunique() > 1:
            # pyarrow cannot store a column mixing e.g. str and int: store text.
            return s.map(lambda x: x if pd.isna(x) else str(x)).astype(object)
    return s


def write_village(village, path, format="csv", overwrite=False) -> Path:
    """Write a village's five tables to ``path``, atomically.

    Parameters
    ----------
    village : Village or dict of DataFrame
        The tables ``accounts``, ``stakeholders``, ``relationships``,
        ``responses`` and ``outcomes``.
    path : str or Path
        A folder for ``csv`` and ``parquet`` (one file per table, named after
        the table), a ``.xlsx`` file for ``xlsx`` (one sheet per table).
    format : {"csv", "parquet", "xlsx"}, default "csv"
    overwrite : bool, default False
        Replace ``path`` if it exists (a folder is replaced only if it holds a
        village or is empty). Without it an existing ``path`` raises
        :class:`FileExistsError`.

    Returns
    -------
    Path
        ``path``.

    Notes
    -----
    CSV and xlsx hold dates as ISO ``YYYY-MM-DD`` text (with ``THH:MM:SS`` only
    if a column has times), booleans as ``true``/``false``, blanks for missing
    values and whole numbers without a trailing ``.0``. CSV is UTF-8 without a
    byte-order mark. Parquet keeps the dtypes. Extra columns are written;
    columns derived while loading (``role_source``, ``veto_source``) are not.
    Values filled while loading (roles inferred from titles, veto defaulted by
    role) are written as they are in the village.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from cxinfluence.village.core import Village
    >>> v = Village(
    ...     accounts=pd.DataFrame({"account_id": ["007"]}),
    ...     stakeholders=pd.DataFrame({"stakeholder_id": ["s1"], "account_id": ["007"],
    ...                                "veto": [True], "active_from": pd.to_datetime(["2024-01-31"])}),
    ...     relationships=pd.DataFrame(columns=["source_id", "target_id", "kind"]),
    ...     responses=pd.DataFrame({"stakeholder_id": ["s1"], "date": pd.to_datetime(["2024-02-01"]),
    ...                             "nps": [9.0], "csat": [float("nan")]}),
    ...     outcomes=pd.DataFrame({"account_id": ["007"], "period_end": pd.to_datetime(["2024-12-31"]),
    ...                            "renewed": [1.0]}),
    ... )
    >>> out = write_village(v, pathlib.Path(tempfile.mkdtemp()) / "village")
    >>> sorted(p.name for p in out.iterdir())
    ['accounts.csv', 'outcomes.csv', 'relationships.csv', 'responses.csv', 'stakeholders.csv']
    >>> print((out / "stakeholders.csv").read_text())
    stakeholder_id,account_id,veto,active_from
    s1,007,true,2024-01-31
    <BLANKLINE>
    >>> print((out / "responses.csv").read_text())
    stakeholder_id,date,nps,csat
    s1,2024-02-01,9,
    <BLANKLINE>
    """
    if format not in FORMATS:
        raise ValueError(f"format={format!r} is not supported; expected one of {list(FORMATS)}")
    path = Path(path)
    tables = _village_tables(village)
    if format == "xlsx":
        if path.suffix.lower() != ".xlsx":
            raise ValueError(f"path={str(path)!r} must end in .xlsx when format='xlsx'")
        too_long = {t: len(df) for t, df in tables.items() if len(df) + 1 > EXCEL_MAX_ROWS}
        if too_long:
            raise ValueError(
                f"table(s) {too_long} exceed Excel's {EXCEL_MAX_ROWS:,} rows per sheet; use format='csv' or 'parquet'"
            )
        with atomic_output(path, overwrite=overwrite, is_dir=False) as tmp:
            # Build in memory and save only when every sheet is written: a context
            # manager would try to save a half-built workbook on error.
            buffer = _io.BytesIO()
            xl = pd.ExcelWriter(buffer, engine="openpyxl")
            for name, df in tables.items():
                sheet = _writable(df, name)
                sheet.to_excel(xl, sheet_name=name, index=False)
                _text_not_formulas(xl.sheets[name], sheet)
            xl.close()
            tmp.write_bytes(buffer.getvalue())
        return path
    with atomic_output(path, overwrite=overwrite, is_dir=True) as tmp:
        write_tables(tables, tmp, format=format)
    return path


def _text_not_formulas(ws, df: pd.DataFrame) -> None:
    """openpyxl stores a string starting with ``=`` as a formula: store those cells (and names) as text."""
    for j, c in enumerate(df.columns, start=1):
        if isinstance(c, str) and c.startswith("="):
            ws.cell(row=1, column=j).data_type = "s"
        s = df[c]
        if not (s.dtype == object or pd.api.types.is_string_dtype(s)):
            continue
        hits = np.flatnonzero(s.map(lambda v: isinstance(v, str) and v.startswith("=")).to_numpy(dtype=bool))
        for i in hits:
            ws.cell(row=int(i) + 2, column=j).data_type = "s"


def write_csv(df: pd.DataFrame, path) -> None:
    """Write an output table as UTF-8 CSV, fast, for pandas and spreadsheets to read back.

    pyarrow's writer is an order of magnitude faster than ``DataFrame.to_csv``
    on the million-row tables of a portfolio run. Dates are written
    ``YYYY-MM-DD``, booleans ``True``/``False`` and missing values blank, as
    ``to_csv(index=False, date_format="%Y-%m-%d")`` writes them; text is
    quoted. A table pyarrow cannot convert (mixed Python objects) falls back
    to pandas. Text cells (and column names) a spreadsheet would run as a
    formula get a ``'`` in front (see :mod:`cxinfluence.village.csvsafe`; read the file
    back with :func:`cxinfluence.read_output_csv` for the raw values); numbers
    are written as numbers.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> write_csv(pd.DataFrame({"id": ["a", "b"], "x": [0.5, np.nan], "ok": [True, False],
    ...                         "day": pd.to_datetime(["2025-12-31", None])}), path)
    >>> print(path.read_text(encoding="utf-8"))
    "id","x","ok","day"
    "a",0.5,"True",2025-12-31
    "b",,"False",
    <BLANKLINE>
    """
    write_csv_pieces([df], path)


def write_csv_pieces(pieces, path) -> None:
    """Write the tables ``pieces`` (an iterable of DataFrames with the same columns) one after the other as one
    CSV file, each converted as :func:`write_csv` converts a table: the bytes ``write_csv(pd.concat(pieces))``
    writes, holding one piece at a time (a streamed run writes its largest tables so, partition by partition).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> a, b = pd.DataFrame({"id": ["a"], "x": [1.5]}), pd.DataFrame({"id": ["=b"], "x": [None]})
    >>> write_csv_pieces([a, b], folder / "pieces.csv")
    >>> write_csv(pd.concat([a, b]), folder / "whole.csv")
    >>> (folder / "pieces.csv").read_bytes() == (folder / "whole.csv").read_bytes()
    True
    """
    import pyarrow as pa
    import pyarrow.csv as pcsv

    with open(path, "wb") as f:
        first = True
        for df in pieces:
            table = _csv_table(df)
            if table is None:  # pyarrow cannot convert it (mixed Python objects): pandas writes it
                text = neutralise_frame(df).to_csv(index=False, header=first, date_format="%Y-%m-%d")
                f.write(text.encode("utf-8"))
            elif first or table.num_rows:
                # the text of each batch in buffers from the system allocator, which keeps a freed one in the
                # writing thread's heap for the next; jemalloc (village/arrowpool.py) hands it back at once, so a
                # large table's text was faulted in page by page (the 100k run's table writer: 2.3 -> 0.4 s of
                # system time). The bytes are the same.
                pcsv.write_csv(table, f, write_options=pcsv.WriteOptions(include_header=first),
                               memory_pool=pa.system_memory_pool())
            first = False


def _csv_table(df: pd.DataFrame):
    """``df`` as the Arrow table :func:`write_csv` writes (None when pyarrow cannot convert it)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        table = pa.Table.from_pandas(df, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError):
        return None
    columns = []
    for col in table.columns:
        if pa.types.is_timestamp(col.type):
            col = pc.cast(col, pa.date32(), safe=False)  # the day, as date_format="%Y-%m-%d" writes it
        elif pa.types.is_boolean(col.type):
            col = pc.if_else(col, "True", "False")
        else:
            col = neutralise_arrow(col)  # text a spreadsheet would run as a formula gets a leading '
        columns.append(col)
    return pa.Table.from_arrays(columns, names=[neutralise_cell(str(c)) for c in df.columns])


def _has_carriage_return(df: pd.DataFrame) -> bool:
    return any(df[c].astype("str").str.contains("\r", regex=False).any() for c in df.columns
               if df[c].dtype == object or pd.api.types.is_string_dtype(df[c])) or any("\r" in str(c) for c in df.columns)


def write_tables(tables, folder, format="csv") -> None:
    """Write tables into an existing ``folder``, one file per table (not atomic).

    The building block of :func:`write_village`; use it inside
    :func:`atomic_output` to add more files (e.g. a ground truth) to the same
    atomic write. CSV text cells a spreadsheet would run as a formula get a
    ``'`` in front (see :mod:`cxinfluence.village.csvsafe`); :func:`read_csv_table`
    (and so :func:`cxinfluence.load_village`) removes it again.
    """

    folder = Path(folder)
    for name, df in tables.items():
        if format == "csv":
            text = neutralise_frame(_writable(df, name))
            # a lone carriage return is not quoted with "\n" line ends: quote every text cell then
            quoting = csv.QUOTE_NONNUMERIC if _has_carriage_return(text) else csv.QUOTE_MINIMAL
            text.to_csv(folder / f"{name}.csv", index=False, encoding="utf-8", lineterminator="\n", quoting=quoting)
        elif format == "parquet":
            drop = [c for c in DERIVED_COLUMNS.get(name, ()) if c in df.columns]
            out = df.drop(columns=drop).reset_index(drop=True)
            out = pd.DataFrame({c: _parquet_column(out[c]) for c in out.columns})
            out.to_parquet(folder / f"{name}.parquet", index=False)
        else:
            raise ValueError(f"format={format!r} is not supported here; expected 'csv' or 'parquet'")


_KIND_TEXT = {
    "id": "id (text)",
    "str": "text",
    "category": "category",
    "bool": "boolean",
    "int": "number",
    "float": "number",
    "date": "date",
}


def range_text(col) -> str:
    """The numbers a column takes, in words: ``whole numbers 0-10``, ``a number >= 0``, ``0 or 1``.

    >>> range_text(TABLES["responses"].column("nps"))
    'whole numbers 0-10'
    >>> range_text(TABLES["relationships"].column("weight"))
    'a number > 0'
    """
    if col.low == 0 and col.high == 1 and col.integer:
        return "0 or 1"
    if col.low is not None and col.high is not None:
        return f"whole numbers {col.low:g}-{col.high:g}" if col.integer else f"a number from {col.low:g} to {col.high:g}"
    if col.low is not None:
        return f"{'a whole number' if col.integer else 'a number'} {'>' if col.low_open else '>='} {col.low:g}"
    return "whole numbers" if col.integer else "a number"


def _allowed(col) -> str:
    if col.values:
        return ", ".join(f"`{v}`" for v in col.values)
    if col.kind in ("int", "float"):
        return range_text(col)
    if col.kind == "date":
        return "`YYYY-MM-DD` (ISO 8601; a time part is allowed)"
    if col.kind == "bool":
        return "`true`/`false` (also `yes`/`no`, `1`/`0`)"
    if col.kind == "id":
        return "any text; kept exactly (`007` stays `007`)"
    return "any text"


def data_dictionary_markdown() -> str:
    """The data dictionary's tables, generated from :data:`cxinfluence.village.schema.TABLES`.

    ``data/README.md`` embeds this text verbatim (a test checks it), so the
    documentation cannot drift from the contract the validator enforces.

    Examples
    --------
    >>> md = data_dictionary_markdown()
    >>> md.splitlines()[0]
    '### `accounts`'
    >>> "| `nps` | number | no | Likelihood to recommend" in md
    True
    """
    out = []
    for table in TABLES.values():
        key = ", ".join(f"`{k}`" for k in table.key)
        out.append(f"### `{table.name}`\n")
        line = table.description
        if table.key:
            line += f" Key: {key}" + (" (unique)." if table.unique_key else ".")
        out.append(line + "\n")
        out.append("| column | type | required | meaning | allowed values |")
        out.append("|---|---|---|---|---|")
        for c in table.columns:
            meaning = c.description.replace("|", "\\|")
            out.append(f"| `{c.name}` | {_KIND_TEXT[c.kind]} | {'yes' if c.required else 'no'} | {meaning} | {_allowed(c)} |")
        derived = DERIVED_COLUMNS.get(table.name, ())
        if derived:
            out.append("")
            out.append("Added when loading (not read from or written to files): " + ", ".join(f"`{c}`" for c in derived) + ".")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
