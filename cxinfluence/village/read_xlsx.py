"""Reading a village from one ``.xlsx`` workbook, one sheet per table (:func:`read_xlsx_tables`).

Cells are read as a CSV would show them (:func:`_cell_text`); formulas from their saved values (a
workbook saved without them is one error naming the cells and the fix); real Excel date cells as
dates, and serial numbers in a date column read with a warning. The tables come back raw
(:class:`cxinfluence.village.read.RawTable`), like the CSV and Parquet readers' in :mod:`.read`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import Problem
from .rawtable import RawTable, _finish, _unreadable
from .schema import TABLE_ORDER, TABLES


def _cell_text(v):
    """An xlsx cell value as text, the way it would read in a CSV."""
    import datetime as dt

    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 2**53 else repr(v)
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d") if v.time() == dt.time(0) else v.strftime("%Y-%m-%dT%H:%M:%S")
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


#: Excel serial numbers read as dates in a date column (1954-10-03 .. 2119-01-08); others stay errors.
EXCEL_SERIAL_RANGE = (20_000, 80_000)


_FORMULA_FIX = ("the workbook was saved without calculated values (written by a script such as openpyxl?): open it "
                "in Excel or LibreOffice and save it, or run `libreoffice --headless --convert-to xlsx --outdir "
                "fixed/ {file}`, then use the saved copy")


def _norm_header(h) -> str:
    import re

    return re.sub(r"[\s\-]+", "_", str(h).strip().lower()) if h is not None else ""


def _formula_cells(path: Path, sheet: str, values: list, skip: set | None = None) -> list[tuple[int, int, str]]:
    """Cells of ``sheet`` holding a formula whose calculated value was not saved: (row, col, formula)."""
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        out = []
        for r, row in enumerate(wb[sheet].iter_rows(values_only=True)):
            for c, v in enumerate(row):
                if isinstance(v, str) and v.startswith("=") and (r >= len(values) or c >= len(values[r])
                                                                  or values[r][c] is None):
                    out.append((r, c, v))
        return out
    finally:
        wb.close()


def _sheets_with_formulas(path: Path) -> set[str]:
    """Worksheet XML parts that hold a formula (``<f>`` element), by zip member name."""
    import zipfile

    found = set()
    with zipfile.ZipFile(path) as z:
        for member in z.namelist():
            if member.startswith("xl/worksheets/") and member.endswith(".xml"):
                with z.open(member) as fh:
                    data = fh.read()
                if b"<f>" in data or b"<f " in data:
                    found.add(member)
    return found


def _excel_dates(values: list, start: int, name: str, label: str, epoch) -> list:
    """Numbers in the contract's date columns read as Excel serial dates (in place); a note per column."""
    import datetime as dt

    from openpyxl.utils.datetime import from_excel

    spec = TABLES.get(name)
    if spec is None:
        return []
    dates = {c.name for c in spec.columns if c.kind == "date"}
    header = values[start]
    problems = []
    for j, h in enumerate(header):
        if _norm_header(h) not in dates:
            continue
        converted = []
        for i in range(start + 1, len(values)):
            row = values[i]
            v = row[j] if j < len(row) else None
            if isinstance(v, (int, float)) and not isinstance(v, bool) and \
                    EXCEL_SERIAL_RANGE[0] <= v <= EXCEL_SERIAL_RANGE[1]:
                day = from_excel(v, epoch=epoch)
                row = list(row)
                row[j] = day if isinstance(day, dt.datetime) else dt.datetime.combine(day, dt.time(0))
                values[i] = row
                converted.append((i + 1, v, row[j]))
        if converted:
            r, v, d = converted[0]
            n = len(converted)
            problems.append(Problem(
                name, label, None, str(h).strip(),
                f"{n:,} cell(s) hold numbers, not dates, read as Excel serial dates (e.g. row {r}: {v:g} -> "
                f"{d:%Y-%m-%d}); format the column as Date in Excel to keep them dates", "warning"))
    return problems


def read_xlsx_tables(path, names=TABLE_ORDER) -> tuple[dict[str, RawTable], list[Problem]]:
    """Read the sheets named after ``names`` (case-insensitive) from one workbook, as text.

    Returns the tables found and the workbook-level problems (missing sheets,
    unreadable file). Sheet rows are numbered as Excel shows them. Formula
    cells read as the values Excel calculated and saved; a workbook saved
    without them (written by a script) is an error saying how to fix it.
    Date cells read as dates; plain numbers in a date column are read as
    Excel serial dates, with a warning.
    """
    import openpyxl

    path = Path(path)
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        formulas = _sheets_with_formulas(path)
    except Exception as exc:  # zipfile/openpyxl raise several types for bad files
        return {}, [Problem("village", path.name, None, None, f"not a readable .xlsx workbook ({type(exc).__name__}: {exc}); re-save it from Excel as .xlsx")]
    try:
        sheets = {s.strip().lower(): s for s in wb.sheetnames}
        tables, problems = {}, []
        for name in names:
            if name not in sheets:
                problems.append(
                    Problem(name, path.name, None, None, f"sheet '{name}' is missing; the workbook has sheets: "
                                                         f"{', '.join(wb.sheetnames)}. Add a sheet named '{name}'")
                )
                continue
            label = f"{path.name}[{sheets[name]}]"
            ws = wb[sheets[name]]
            raw = [list(row) for row in ws.iter_rows(values_only=True)]
            member = getattr(ws, "_worksheet_path", None)
            if formulas and (member is None or member.lstrip("/") in formulas):
                missing = _formula_cells(path, sheets[name], raw)
                if missing:
                    from openpyxl.utils import get_column_letter

                    shown = ", ".join(f"{get_column_letter(c + 1)}{r + 1} ({f[:30]})" for r, c, f in missing[:5])
                    more = f" and {len(missing) - 5:,} more" if len(missing) > 5 else ""
                    tables[name] = _unreadable(name, label, f"{len(missing):,} formula cell(s) have no calculated value "
                                               f"({shown}{more}); " + _FORMULA_FIX.format(file=path.name))
                    continue
            start = next((i for i, r in enumerate(raw) if any(v is not None and str(v).strip() for v in r)), None)
            if start is None:
                tables[name] = _unreadable(name, label, "sheet is empty; expected a header row with the column names")
                continue
            notes = _excel_dates(raw, start, name, label, getattr(wb, "epoch", None))
            values = [[_cell_text(v) for v in row] for row in raw]
            width = len(values[start])
            body = pd.DataFrame([(r + [None] * width)[:width] for r in values[start + 1 :]], columns=range(width), dtype=object)
            rows = np.arange(start + 2, start + 2 + len(body), dtype=np.int64)
            tables[name] = _finish(name, label, values[start], body, rows, notes)
        return tables, problems
    finally:
        wb.close()
