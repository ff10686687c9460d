"""The column-at-a-time workbook writer (present/xlsxsheets.py): openpyxl's cells, and the readable rule's XML."""

import zipfile

import numpy as np
import openpyxl
import pandas as pd
from openpyxl.cell import WriteOnlyCell

from cxinfluence.present import xlsxsheets
from cxinfluence.present.portfolio import stable_xlsx
from cxinfluence.present.xlsxsheets import reference_sheet, cell_xml, write_workbook

TEXT = ["plain", "", " lead", "trail ", "   ", "a\nb", "c\rd", "t\tx", "&<>\"'", "=HYPERLINK(\"x\")", "ünïcødé 日本",
        "x" * 40_000, None, "en–dash"]
NUMBERS = [0.0, -0.0, 1.0, 2.5, 0.1 + 0.2, 1e-7, 1e16, 123456789012345.6, np.nan, np.inf, -3.0, 1 / 3]


def _columns():
    n = len(NUMBERS)
    return [pd.Series((TEXT * 2)[:n], dtype=object), pd.Series((TEXT * 2)[:n], dtype="str"),
            pd.Series(NUMBERS), pd.Series(range(n)), pd.Series([i % 3 == 0 for i in range(n)]),
            pd.Series([1, "a", None, 2.5, True] * 2 + [None, None], dtype=object),
            pd.Series([f"S{i}" for i in range(n)])]


def _openpyxl_book(path, heads, columns):
    """The workbook openpyxl's write-only mode writes for the same values (text cells forced to text)."""
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("S")
    ws.append(heads)
    for row in zip(*[c.to_numpy(object) for c in columns]):
        out = []
        for v in row:
            if isinstance(v, np.generic):
                v = v.item()
            if v is None or v is pd.NA or (isinstance(v, float) and not np.isfinite(v)):
                out.append(None)
            elif isinstance(v, str):
                cell = WriteOnlyCell(ws, value=v)
                cell.data_type = "s"
                out.append(cell)
            else:
                out.append(v)
        ws.append(out)
    wb.save(path)
    return stable_xlsx(path)  # its time stamps fixed, as the exports fix them


def test_same_sheet_xml_as_openpyxl_and_the_readable_rule(tmp_path, monkeypatch):
    columns = _columns()
    heads = [f"h{k}" for k in range(len(columns))]
    ours = zipfile.ZipFile(write_workbook(tmp_path / "a.xlsx", [("S", heads, columns)])).read("xl/worksheets/sheet1.xml")
    theirs = zipfile.ZipFile(_openpyxl_book(tmp_path / "b.xlsx", heads, columns)).read("xl/worksheets/sheet1.xml")
    assert ours == theirs
    ref = reference_sheet([[h] + c.to_numpy(object).tolist() for h, c in zip(heads, columns)]).encode()
    assert ours == ref
    monkeypatch.setattr(xlsxsheets, "BLOCK_ROWS", 5)  # rows over several blocks
    blocks = zipfile.ZipFile(write_workbook(tmp_path / "c.xlsx", [("S", heads, columns)]))
    assert blocks.read("xl/worksheets/sheet1.xml") == ref
    for name in blocks.namelist():  # every other part as openpyxl writes it, but the application's name
        if name != "docProps/app.xml":
            assert blocks.read(name) == zipfile.ZipFile(tmp_path / "b.xlsx").read(name), name


def test_cells_read_back_as_text_numbers_and_flags(tmp_path):
    columns = _columns()
    heads = [f"h{k}" for k in range(len(columns))]
    a = openpyxl.load_workbook(write_workbook(tmp_path / "a.xlsx", [("S", heads, columns)]))["S"]
    b = openpyxl.load_workbook(_openpyxl_book(tmp_path / "b.xlsx", heads, columns))["S"]
    cells = [[(c.value, c.data_type) for c in r] for r in a.iter_rows()]
    assert cells == [[(c.value, c.data_type) for c in r] for r in b.iter_rows()]
    assert a["A11"].value == '=HYPERLINK("x")' and a["A11"].data_type == "s"  # customer text is never a formula
    assert len(a["A13"].value) == xlsxsheets.EXCEL_MAX_CHARS  # cut at Excel's limit, as openpyxl cuts it


def test_cell_xml_is_openpyxls_rule():
    assert cell_xml("A1", " x") == '<c r="A1" t="inlineStr"><is><t xml:space="preserve"> x</t></is></c>'
    assert cell_xml("A1", "  ") == '<c r="A1" t="inlineStr"><is><t>  </t></is></c>'
    assert cell_xml("A1", "") == '<c r="A1" t="inlineStr" />'
    assert cell_xml("A1", np.float64(0.30000000000000004)) == '<c r="A1" t="n"><v>0.3</v></c>'
    assert cell_xml("A1", -0.0) == '<c r="A1" t="n"><v>-0</v></c>'
    assert cell_xml("A1", np.bool_(False)) == '<c r="A1" t="b"><v>0</v></c>'
    assert cell_xml("A1", pd.NA) == cell_xml("A1", None) == cell_xml("A1", float("-inf")) == ""


def test_kumu_text_of_any_kind_is_cleaned(tmp_path):
    """Customer text in a categorical column, or next to dates, is cleaned like plain text (bidi and control
    characters dropped) and written as text."""
    from cxinfluence.present.portfolio import write_portfolio_kumu

    nodes = pd.DataFrame({"id": ["a", "b", "c"],
                          "name": pd.Categorical(["Eve\u202eevil", "bell\x07", "=1+1"]),
                          "title": pd.Series(["ok", pd.Timestamp("2025-01-02"), None], dtype=object)})
    ws = openpyxl.load_workbook(write_portfolio_kumu(nodes, pd.DataFrame(columns=["source", "target"]),
                                                     tmp_path / "k.xlsx"))["Elements"]
    assert [ws[f"B{r}"].value for r in (2, 3, 4)] == ["Eveevil", "bell", "=1+1"]
    assert ws["B4"].data_type == "s" and ws["C3"].value == "2025-01-02 00:00:00" and ws["C4"].value is None
