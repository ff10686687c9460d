"""A workbook of plain sheets written as XML text, column at a time: the Kumu export at portfolio scale.

An ``.xlsx`` file is a zip of XML parts. openpyxl builds a Python object per
cell and took about 30 s of CPU for the Kumu workbook of 10,000 accounts
(330,000 rows); here each column becomes the text of its cells with Arrow
kernels (:mod:`cxinfluence.present.xmlcolumns`), a block of rows is written as
one buffer, and the sheet is compressed as it is streamed into the zip.

The cells are those openpyxl's write-only workbook writes for the same values
(``t="inlineStr"`` text, ``t="n"`` numbers as ``"%.16g"``, ``t="b"`` flags,
blanks and non-finite numbers left out, text cut at Excel's 32,767
characters, ``xml:space="preserve"`` where text starts or ends with
whitespace), and so are the package parts around them, except
``docProps/app.xml``, which names cxinfluence: :func:`cell_xml` is the
readable rule for one cell, tested equal. Every text cell stays text, so a
customer's ``=...`` is never a formula; the caller cleans the text (bidi
controls and characters XML cannot hold dropped) and checks the row limit.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd

from .xmlcolumns import join_columns, join_lines, plain_text, write_lines

__all__ = ["BLOCK_ROWS", "EXCEL_MAX_CHARS", "cell_xml", "reference_sheet", "write_workbook"]

#: the most characters an Excel cell holds (longer text is cut, as openpyxl cuts it)
EXCEL_MAX_CHARS = 32_767
#: rows turned into text and written at a time (bounds the memory the text of one block takes)
BLOCK_ROWS = 100_000

_NS = "http://schemas.openxmlformats.org/"
_SHEET_HEAD = (f'<worksheet xmlns="{_NS}spreadsheetml/2006/main"><sheetPr><outlinePr summaryBelow="1" '
               'summaryRight="1" /><pageSetUpPr /></sheetPr><sheetViews><sheetView workbookViewId="0"><selection '
               'activeCell="A1" sqref="A1" /></sheetView></sheetViews><sheetFormatPr baseColWidth="8" '
               'defaultRowHeight="15" /><sheetData>')
_SHEET_TAIL = ('</sheetData><pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5" />'
               '</worksheet>')
_FIXED_TIME = "2000-01-01T00:00:00Z"


def column_letter(k: int) -> str:
    """Excel's name of the ``k``-th column (0-based): ``A``, ..., ``Z``, ``AA``, ...

    >>> column_letter(0), column_letter(25), column_letter(26)
    ('A', 'Z', 'AA')
    """
    name = ""
    k += 1
    while k:
        k, r = divmod(k - 1, 26)
        name = chr(65 + r) + name
    return name


def cell_xml(ref: str, value) -> str:
    """The readable rule: one cell's XML as openpyxl's write-only workbook writes it ("" for a blank).

    ``value`` is text (already cleaned), a bool, a number or a blank (``None``,
    ``pd.NA``, NaN and infinities); anything else is written as its text.

    Examples
    --------
    >>> cell_xml("B2", "=1+1"), cell_xml("C2", 0.1 + 0.2), cell_xml("D2", True), cell_xml("E2", float("nan"))
    ('<c r="B2" t="inlineStr"><is><t>=1+1</t></is></c>', '<c r="C2" t="n"><v>0.3</v></c>', \
'<c r="D2" t="b"><v>1</v></c>', '')
    """
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, str):
        value = value[:EXCEL_MAX_CHARS]
        if value == "":
            return f'<c r="{ref}" t="inlineStr" />'
        stripped = value.strip()
        space = ' xml:space="preserve"' if stripped and stripped != value else ""
        return f'<c r="{ref}" t="inlineStr"><is><t{space}>{escape(value)}</t></is></c>'
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float)):
        return f'<c r="{ref}" t="n"><v>{"%.16g" % value}</v></c>'
    return cell_xml(ref, str(value))  # anything else (a date, an object) as its text


def reference_sheet(columns) -> str:
    """The readable writer: a sheet's XML from :func:`cell_xml`, row by row (what :func:`write_workbook` writes).

    Parameters
    ----------
    columns : list of list
        One list per column, all of one length; the first value of each is its heading.

    Returns
    -------
    str
        The worksheet part (``xl/worksheets/sheetN.xml``), tested equal to the column-at-a-time writer.

    Examples
    --------
    >>> sheet = reference_sheet([["n", 1.5]])
    >>> sheet[sheet.index('<row r="2"'):sheet.index("</sheetData>")]
    '<row r="2"><c r="A2" t="n"><v>1.5</v></c></row>'
    """
    rows = zip(*columns)
    letters = [column_letter(k) for k in range(len(columns))]
    body = "".join(f'<row r="{n}">' + "".join(cell_xml(f"{a}{n}", v) for a, v in zip(letters, row)) + "</row>"
                   for n, row in enumerate(rows, start=1))
    return _SHEET_HEAD + body + _SHEET_TAIL


def _text_cells(values, letter):
    """Cell parts of a text column for :func:`join_lines`, or None when a value is not text (or cannot be
    written without escapes here): then :func:`cell_xml` writes it value by value."""
    import pyarrow.compute as pc

    arr = plain_text(values)
    if arr is None:
        return None
    if (pc.max(pc.utf8_length(arr)).as_py() or 0) > EXCEL_MAX_CHARS:
        return None
    trimmed = pc.utf8_trim_whitespace(arr)
    odd = pc.or_(pc.equal(pc.binary_length(arr), 0), pc.not_equal(trimmed, arr))
    if pc.any(odd).as_py():  # empty text, or whitespace at an end: value by value
        return None
    return [f'<c r="{letter}', None, '" t="inlineStr"><is><t>', arr, "</t></is></c>"]


def _number_text(x: np.ndarray):
    """``"%.16g" % v`` of each finite float of ``x``, as an Arrow string array: integers below 1e16 by Arrow's
    cast, the other values by Python's formatting (correctly rounded)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    whole = (x == np.trunc(x)) & (np.abs(x) < 1e16) & ~((x == 0) & np.signbit(x))
    text = pa.array(np.where(whole, x, 0).astype(np.int64)).cast(pa.string())
    odd = np.flatnonzero(~whole)
    if len(odd):
        text = pc.replace_with_mask(text, pa.array(~whole), pa.array(["%.16g" % v for v in x[odd].tolist()],
                                                                       pa.string()))
    return text


def _value_cells(values, letter):
    """Cell parts of a bool or numeric column for :func:`join_lines` (blanks null), or None when the column holds
    anything else."""
    import pyarrow as pa
    import pyarrow.compute as pc

    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if s.dtype == bool:
        text = pa.array(np.where(s.to_numpy(), "1", "0"))
        return [f'<c r="{letter}', None, '" t="b"><v>', text, "</v></c>"]
    if not (pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)):
        return None
    if pd.api.types.is_integer_dtype(s.dtype) and s.isna().sum() == 0:
        x = s.to_numpy(np.int64)
        if np.abs(x).max(initial=0) >= 10 ** 16:
            return None
        return [f'<c r="{letter}', None, '" t="n"><v>', pa.array(x).cast(pa.string()), "</v></c>"]
    x = s.to_numpy(float, na_value=np.nan)
    ok = np.isfinite(x)
    text = _number_text(np.where(ok, x, 0.0))
    if not ok.all():
        text = pc.if_else(pa.array(ok), text, pa.scalar(None, pa.string()))
    return [f'<c r="{letter}', None, '" t="n"><v>', text, "</v></c>"]


def _block_lines(columns, first):
    """The ``<row>`` lines of rows ``first+1, first+2, ...`` of ``columns`` (equal-length slices)."""
    import pyarrow as pa

    n = len(columns[0])
    rows = pa.array(np.arange(first + 1, first + n + 1, dtype=np.int64)).cast(pa.string())
    parts = ['<row r="', rows, '">']
    for k, values in enumerate(columns):
        letter = column_letter(k)
        cells = _text_cells(values, letter) if _is_text(values) else _value_cells(values, letter)
        if cells is None:  # the readable rule, value by value
            col = values.to_numpy(object) if isinstance(values, pd.Series) else list(values)
            text = [cell_xml(f"{letter}{first + 1 + i}", v) or None for i, v in enumerate(col)]
            parts.append(pa.array(text, pa.string()))
            continue
        cells[1] = rows
        value = cells[3]
        parts += cells if value.null_count == 0 else [join_columns(*cells)]  # a blank leaves the cell out
    return join_lines(parts + ["</row>"])


def _is_text(values) -> bool:
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    return pd.api.types.is_string_dtype(s.dtype) or s.dtype == object


def _dimension(heads, columns) -> str:
    """The ``<dimension>`` element openpyxl's (not write-only) workbook writes: the box from A1 to the last column
    and the last row holding a value (the headings are row 1)."""
    values = [c.to_numpy(object) if isinstance(c, pd.Series) else c for c in columns]
    last = len(values[0]) if values else 0
    while last and all(cell_xml("A1", c[last - 1]) == "" for c in values):  # from the end: usually one look
        last -= 1
    return f'<dimension ref="A1:{column_letter(len(heads) - 1)}{last + 1}" />'


def _sheet_parts(heads, columns, dimension=False):
    """The sheet's XML in pieces (bytes or Arrow arrays of lines), headings first."""
    head = _SHEET_HEAD
    if dimension:
        head = head.replace("</sheetPr>", "</sheetPr>" + _dimension(heads, columns), 1)
    yield (head + '<row r="1">' + "".join(cell_xml(f"{column_letter(k)}1", h) for k, h in enumerate(heads))
           + "</row>").encode("utf-8")
    n = len(columns[0]) if columns else 0
    for lo in range(0, n, BLOCK_ROWS):
        yield _block_lines([c.iloc[lo:lo + BLOCK_ROWS] if isinstance(c, pd.Series) else c[lo:lo + BLOCK_ROWS]
                            for c in columns], lo + 1)
    yield _SHEET_TAIL.encode("utf-8")


def _package_parts(names):
    """The workbook's parts other than the sheets, as openpyxl writes them (``docProps/app.xml`` names us)."""
    from openpyxl.writer.theme import theme_xml  # the default theme text: openpyxl's, as its own files carry

    rel = f"{_NS}officeDocument/2006/relationships"
    sheets = "".join(f'<sheet name="{escape(n, {chr(34): "&quot;"})}" sheetId="{k}" state="visible" r:id="rId{k}" />'
                     for k, n in enumerate(names, start=1))
    sheet_rels = "".join(f'<Relationship Type="{rel}/worksheet" Target="/xl/worksheets/sheet{k}.xml" Id="rId{k}" />'
                         for k in range(1, len(names) + 1))
    m = len(names)
    ct = "application/vnd.openxmlformats-officedocument."
    overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{k}.xml" ContentType="{ct}spreadsheetml.worksheet+xml"'
                        " />" for k in range(1, m + 1))
    return {
        "app": '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
               "<Application>cxinfluence</Application></Properties>",
        "core": '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
                'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
                'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator>openpyxl</dc:creator>'
                f'<dcterms:created xsi:type="dcterms:W3CDTF">{_FIXED_TIME}</dcterms:created><dcterms:modified '
                f'xsi:type="dcterms:W3CDTF">{_FIXED_TIME}</dcterms:modified></cp:coreProperties>',
        "theme": theme_xml,
        "styles": _STYLES,
        "rels": f'<Relationships xmlns="{_NS}package/2006/relationships"><Relationship Type="{rel}/officeDocument" '
                f'Target="xl/workbook.xml" Id="rId1" /><Relationship Type="{_NS}package/2006/relationships/metadata/'
                f'core-properties" Target="docProps/core.xml" Id="rId2" /><Relationship Type="{rel}/extended-'
                'properties" Target="docProps/app.xml" Id="rId3" /></Relationships>',
        "workbook": f'<workbook xmlns:r="{rel}" xmlns="{_NS}spreadsheetml/2006/main"><workbookPr /><workbookProtection'
                    ' /><bookViews><workbookView visibility="visible" minimized="0" showHorizontalScroll="1" '
                    'showVerticalScroll="1" showSheetTabs="1" tabRatio="600" firstSheet="0" activeTab="0" '
                    f'autoFilterDateGrouping="1" /></bookViews><sheets>{sheets}</sheets><definedNames /><calcPr '
                    'calcId="124519" fullCalcOnLoad="1" /></workbook>',
        "workbook_rels": f'<Relationships xmlns="{_NS}package/2006/relationships">{sheet_rels}<Relationship '
                         f'Type="{rel}/styles" Target="styles.xml" Id="rId{m + 1}" /><Relationship Type="{rel}/theme" '
                         f'Target="theme/theme1.xml" Id="rId{m + 2}" /></Relationships>',
        "types": f'<Types xmlns="{_NS}package/2006/content-types"><Default Extension="rels" ContentType="application/'
                 'vnd.openxmlformats-package.relationships+xml" /><Default Extension="xml" ContentType="application/'
                 f'xml" /><Override PartName="/xl/styles.xml" ContentType="{ct}spreadsheetml.styles+xml" /><Override '
                 f'PartName="/xl/theme/theme1.xml" ContentType="{ct}theme+xml" /><Override PartName="/docProps/core.'
                 'xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml" /><Override '
                 f'PartName="/docProps/app.xml" ContentType="{ct}extended-properties+xml" />{overrides}<Override '
                 f'PartName="/xl/workbook.xml" ContentType="{ct}spreadsheetml.sheet.main+xml" /></Types>',
    }


_COLORS = ("00000000 00FFFFFF 00FF0000 0000FF00 000000FF 00FFFF00 00FF00FF 0000FFFF 00000000 00FFFFFF 00FF0000 "
           "0000FF00 000000FF 00FFFF00 00FF00FF 0000FFFF 00800000 00008000 00000080 00808000 00800080 00008080 "
           "00C0C0C0 00808080 009999FF 00993366 00FFFFCC 00CCFFFF 00660066 00FF8080 000066CC 00CCCCFF 00000080 "
           "00FF00FF 00FFFF00 0000FFFF 00800080 00800000 00008080 000000FF 0000CCFF 00CCFFFF 00CCFFCC 00FFFF99 "
           "0099CCFF 00FF99CC 00CC99FF 00FFCC99 003366FF 0033CCCC 0099CC00 00FFCC00 00FF9900 00FF6600 00666699 "
           "00969696 00003366 00339966 00003300 00333300 00993300 00993366 00333399 00333333").split()
_STYLES = (
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="0" /><fonts '
    'count="1"><font><name val="Calibri" /><family val="2" /><color theme="1" /><sz val="11" /><scheme val="minor" />'
    '</font></fonts><fills count="2"><fill><patternFill /></fill><fill><patternFill patternType="gray125" /></fill>'
    '</fills><borders count="1"><border><left /><right /><top /><bottom /><diagonal /></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" /></cellStyleXfs><cellXfs count="1">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" pivotButton="0" quotePrefix="0" xfId="0" /></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0" hidden="0" /></cellStyles><tableStyles '
    'count="0" defaultTableStyle="TableStyleMedium9" defaultPivotStyle="PivotStyleLight16" /><colors><indexedColors>'
    + "".join(f'<rgbColor rgb="{c}" />' for c in _COLORS) + "</indexedColors></colors></styleSheet>")


def write_workbook(path, sheets, *, dimensions: bool = False) -> Path:
    """Write sheets of plain cells as an ``.xlsx`` workbook, streamed; return the path.

    Parameters
    ----------
    path : str or Path
        Written whole or not at all (a temporary file beside it is renamed).
    sheets : list of (name, headings, columns)
        ``columns``: one array-like or Series per heading, all of one length:
        text (cleaned by the caller), bools or numbers; blanks left empty.
    dimensions : bool, default False
        Each sheet names the box its cells fill (``<dimension ref="A1:M1071" />``), as openpyxl's ordinary
        ``Workbook`` writes it (its write-only workbook does not): the sheets are then the bytes that workbook
        writes for the same cells, when every row has a value.

    Returns
    -------
    Path
        The same data give the same bytes (no time stamps).

    Examples
    --------
    >>> import tempfile, os, openpyxl
    >>> p = write_workbook(os.path.join(tempfile.mkdtemp(), "w.xlsx"),
    ...                    [("S", ["name", "n"], [pd.Series(["=1+1", None]), pd.Series([1.5, 2.0])])])
    >>> [[(c.value, c.data_type) for c in r] for r in openpyxl.load_workbook(p)["S"].iter_rows()]
    [[('name', 's'), ('n', 's')], [('=1+1', 's'), (1.5, 'n')], [(None, 'n'), (2, 'n')]]
    """
    path = Path(path)
    parts = _package_parts([name for name, _, _ in sheets])
    order = [("docProps/app.xml", parts["app"]), ("docProps/core.xml", parts["core"]),
             ("xl/theme/theme1.xml", parts["theme"])]
    order += [(f"xl/worksheets/sheet{k}.xml", (heads, columns, dimensions))
              for k, (_, heads, columns) in enumerate(sheets, 1)]
    order += [("xl/styles.xml", parts["styles"]), ("_rels/.rels", parts["rels"]),
              ("xl/workbook.xml", parts["workbook"]), ("xl/_rels/workbook.xml.rels", parts["workbook_rels"]),
              ("[Content_Types].xml", parts["types"])]
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for name, part in order:
            info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with z.open(info, "w") as f:
                if isinstance(part, str):
                    f.write(part.encode("utf-8"))
                    continue
                for piece in _sheet_parts(*part):
                    f.write(piece) if isinstance(piece, bytes) else write_lines(f, piece)
    tmp.replace(path)
    return path
