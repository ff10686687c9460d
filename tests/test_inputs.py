"""Inputs as people make them: spreadsheets with formulas and dates, ;/tab CSVs with decimal commas,
and the small things (duplicate columns, oversized cells, capped lists, folders or dangling links
in place of a table, future-dated responses)."""

from __future__ import annotations

import datetime as dt
import os
import warnings

import numpy as np
import openpyxl
import pandas as pd
import pytest
from test_validation import GOOD, write

from cxinfluence.exceptions import VillageWarning
from cxinfluence.village.io import read_csv_table, read_tables, sniff_delimiter
from cxinfluence.village.validate import validate_village
from cxinfluence.village.core import load_village


def errors(path):
    return [p for p in validate_village(path) if p.severity == "error"]


def warns(path):
    return [p for p in validate_village(path) if p.severity == "warning"]


def tables_of_good():
    from io import StringIO

    return {name: pd.read_csv(StringIO(text), dtype=str, keep_default_na=False) for name, text in GOOD.items()}


def workbook(path, tables, edit=None):
    """Write tables as sheets with openpyxl (cells as text), then ``edit(wb)``; return path."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, df in tables.items():
        ws = wb.create_sheet(name)
        ws.append(list(df.columns))
        for row in df.itertuples(index=False):
            ws.append([None if v == "" else v for v in row])
    if edit is not None:
        edit(wb)
    wb.save(path)
    return path


def _number_cells(ws, column):
    col = [c.value for c in ws[1]].index(column) + 1
    for r in range(2, ws.max_row + 1):
        cell = ws.cell(r, col)
        if cell.value not in (None, ""):
            cell.value = float(cell.value)
    return col


# --------------------------------------------------------------------------- xlsx formulas


def test_formulas_saved_without_values_are_a_clear_error(tmp_path):
    tables = tables_of_good()

    def formulas(wb):
        ws = wb["outcomes"]
        col = [c.value for c in ws[1]].index("renewed") + 1
        ws.cell(1, 10).value = "helper"
        for r in range(2, ws.max_row + 1):
            ws.cell(r, 10).value = 1
            ws.cell(r, col).value = f"=J{r}*1"

    path = workbook(tmp_path / "v.xlsx", tables, formulas)
    found = errors(path)
    assert len(found) == 1, found
    p = found[0]
    assert p.file == "v.xlsx[outcomes]" and p.table == "outcomes"
    assert "2 formula cell(s) have no calculated value (C2 (=J2*1), C3 (=J3*1))" in p.message
    assert "saved without calculated values" in p.message and "libreoffice --headless --convert-to xlsx" in p.message
    assert "renewed is blank" not in str(found)


def test_formula_cells_with_cached_values_read_those_values(tmp_path):
    tables = tables_of_good()

    def formulas(wb):
        ws = wb["accounts"]
        col = [c.value for c in ws[1]].index("annual_revenue") + 1
        for r in range(2, ws.max_row + 1):
            ws.cell(r, col).value = f"=B{r}*1"  # a formula whose saved value we write below

    path = workbook(tmp_path / "v.xlsx", tables, formulas)
    import re
    import zipfile

    fixed = tmp_path / "cached.xlsx"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(fixed, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            # what Excel stores: the formula and its last calculated value
            data = re.sub(rb"<c r=\"C(\d)\"([^>]*)><f>B\d\*1</f><v\s*/?>(</v>)?</c>",
                          lambda m: b'<c r="C' + m.group(1) + b'"><f>B' + m.group(1) + b"*1</f><v>"
                          + (b"1000" if m.group(1) == b"2" else b"500") + b"</v></c>", data)
            zout.writestr(item, data)
    assert errors(fixed) == []
    v = load_village(fixed, warn=False)
    assert v.accounts["annual_revenue"].tolist() == [1000.0, 500.0]


# --------------------------------------------------------------------------- xlsx dates


def test_real_excel_dates_and_serial_numbers_in_one_column(tmp_path):
    tables = tables_of_good()

    def dates(wb):
        ws = wb["responses"]
        col = [c.value for c in ws[1]].index("date") + 1
        ws.cell(2, col).value = dt.datetime(2023, 1, 15)  # a real date cell
        ws.cell(2, col).number_format = "yyyy-mm-dd"
        ws.cell(3, col).value = 44958  # 2023-02-01 as an Excel serial (a cell formatted General)
        ws.cell(4, col).value = 44682.0  # 2022-05-01
        ws.cell(5, col).value = "2023-03-01"  # text

    path = workbook(tmp_path / "v.xlsx", tables, dates)
    assert errors(path) == []
    note = [p for p in warns(path) if p.column == "date" and "serial" in p.message]
    assert len(note) == 1 and note[0].file == "v.xlsx[responses]"
    assert note[0].message.startswith("2 cell(s) hold numbers, not dates, read as Excel serial dates "
                                      "(e.g. row 3: 44958 -> 2023-02-01)")
    v = load_village(path, warn=False)
    assert v.responses["date"].dt.strftime("%Y-%m-%d").tolist() == ["2023-01-15", "2023-02-01", "2022-05-01",
                                                                     "2023-03-01"]


def test_a_number_that_cannot_be_a_date_stays_a_located_error(tmp_path):
    tables = tables_of_good()

    def year(wb):
        ws = wb["responses"]
        ws.cell(3, [c.value for c in ws[1]].index("date") + 1).value = 2023  # a year, not a serial

    path = workbook(tmp_path / "v.xlsx", tables, year)
    (p,) = errors(path)
    assert (p.file, p.row, p.column) == ("v.xlsx[responses]", 3, "date") and "'2023' is not a date" in p.message


def test_openpyxl_written_real_dates_and_numbers_read_as_values(tmp_path):
    tables = tables_of_good()

    def numbers(wb):
        _number_cells(wb["accounts"], "annual_revenue")

    path = workbook(tmp_path / "v.xlsx", tables, numbers)
    assert errors(path) == []
    assert load_village(path, warn=False).accounts["annual_revenue"].tolist() == [1000.0, 500.0]


# --------------------------------------------------------------------------- CSV delimiters


def _as(text, sep):
    import csv
    import io

    out = io.StringIO()
    w = csv.writer(out, delimiter=sep, lineterminator="\n")
    for rec in csv.reader(io.StringIO(text)):
        w.writerow(rec)
    return out.getvalue()


@pytest.mark.parametrize("sep,word", [(";", "semicolon"), ("\t", "tab"), (",", None)])
def test_delimiter_is_detected_and_named(tmp_path, sep, word):
    path = write(tmp_path / "v", {name: _as(text, sep) for name, text in GOOD.items()})
    assert errors(path) == []
    notes = [p for p in warns(path) if p.message.startswith("read as ")]
    if word is None:
        assert notes == []
    else:
        assert len(notes) == 5 and all(f"read as {word}-separated ({sep!r})" in p.message for p in notes)
    v = load_village(path, warn=False)
    assert v.responses["comment"].tolist()[1] == "Invoice, wrong"
    assert v.stakeholders["influence_rating"].tolist()[:2] == [4.0, 3.0]


def test_decimal_commas_in_a_semicolon_file(tmp_path):
    tables = {name: _as(text, ";") for name, text in GOOD.items()}
    tables["accounts"] = "account_id;name;annual_revenue\nA1;Acme;1000,5\nA2;\"Beta; Inc\";-0,25\n"
    tables["outcomes"] = "account_id;period_end;renewed;bookings\nA1;2023-12-31;1;1200,75\nA2;2023-12-31;0;0\n"
    path = write(tmp_path / "v", tables)
    problems = validate_village(path)
    assert [p for p in problems if p.severity == "error"] == [p for p in problems if "annual_revenue" == p.column]
    bad = [p for p in problems if p.severity == "error"]
    assert len(bad) == 1 and bad[0].row == 3 and "-0.25 is out of range" in bad[0].message
    tables["accounts"] = "account_id;name;annual_revenue\nA1;Acme;1000,5\nA2;\"Beta; Inc\";12,25\n"
    path = write(tmp_path / "w", tables)
    v = load_village(path, warn=False)
    assert v.accounts["annual_revenue"].tolist() == [1000.5, 12.25] and v.accounts["name"].tolist()[1] == "Beta; Inc"
    assert v.outcomes["bookings"].tolist() == [1200.75, 0.0]


def test_commas_stay_separators_in_a_comma_file(tmp_path):
    path = write(tmp_path / "v", accounts='account_id,name,annual_revenue\nA1,Acme,"1000,5"\nA2,Beta,500\n')
    (p,) = errors(path)
    assert (p.row, p.column) == (2, "annual_revenue") and "'1000,5' is not a number" in p.message


def test_sniff_prefers_the_header_delimiter_outside_quotes(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text('"a,b";c;d\n1;2;3\n')
    assert sniff_delimiter(p) == ";"
    p.write_text("one_column\nx\n")
    assert sniff_delimiter(p) == ","


# --------------------------------------------------------------------------- the smaller things


def test_two_columns_that_mean_the_same_are_an_error(tmp_path):
    path = write(tmp_path / "v", accounts="account_id,name,Account ID\nA1,Acme,X1\nA2,Beta,X2\n")
    found = [p for p in errors(path) if p.file == "accounts.csv"]
    assert found[0].message == ("columns 'account_id' (column 1) and 'Account ID' (column 3) both mean "
                                "'account_id'; keep one of them (delete or rename the other)")
    assert found[0].column == "account_id"


def test_oversized_cell_is_located(tmp_path):
    big = "x" * 200_000
    responses = GOOD["responses"] + f'S1,2023-04-01,9,,,,,,,,,"{big}"\nS1,2023-04-02,9,,,,,,,,,,extra\n'
    path = write(tmp_path / "v", responses=responses)
    found = errors(path)
    text = "\n".join(map(str, found))
    assert "field larger than field limit" not in text
    size = [p for p in found if "bytes long" in p.message]
    assert len(size) == 1 and (size[0].file, size[0].row, size[0].column) == ("responses.csv", 6, "comment")
    assert "200,000 bytes long (limit 131,072)" in size[0].message and "never closed" in size[0].message


def test_repeated_reading_problems_are_capped_and_the_hint_comes_first(tmp_path):
    rows = "".join(f"A{i},Name {i},1,2,3\n" for i in range(700))
    path = write(tmp_path / "v", accounts="account_id|name\n" + rows)
    found = [p for p in validate_village(path) if p.file == "accounts.csv"]
    assert "looks '|'-separated" in found[0].message  # the useful hint first
    ragged = [p for p in found if "fields but the header has" in p.message]
    assert len(ragged) == 20
    more = [p for p in found if p.message.startswith("and 680 more row(s) like this")]
    assert len(more) == 1 and found.index(more[0]) > found.index(ragged[-1])
    assert len(found) < 30


def test_folder_or_dangling_link_in_place_of_a_table(tmp_path):
    path = write(tmp_path / "v", accounts=None, outcomes=None)
    (path / "accounts.csv").mkdir()
    os.symlink(tmp_path / "nowhere.csv", path / "outcomes.csv")
    found = {p.table: p.message for p in errors(path)}
    assert found["accounts"] == "table 'accounts' cannot be read: accounts.csv is a folder, not a file; " \
                                "put the accounts table file there instead"
    assert found["outcomes"].startswith("table 'outcomes' cannot be read: outcomes.csv is a symbolic link to ")
    assert "nowhere.csv, which does not exist" in found["outcomes"]
    assert not any("is missing" in m for m in found.values())


def test_future_dated_responses_warn_and_do_not_move_the_default_as_of(tmp_path):
    from cxinfluence.village.asof import default_as_of

    responses = GOOD["responses"] + "S2,2099-01-01,9,,,,,,,,,\n"
    path = write(tmp_path / "v", responses=responses)
    (w,) = [p for p in warns(path) if "after today" in p.message]
    assert w.file == "responses.csv" and w.column == "date" and "'S2' (row 6)" in w.message
    v = load_village(path, warn=False)
    with pytest.warns(VillageWarning, match=r"1 response\(s\) dated after today .* ignored .*S2 on 2099-01-01"):
        day = default_as_of(v)
    assert day == pd.Timestamp("2023-03-02")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert default_as_of(load_village(write(tmp_path / "w"), warn=False)) == pd.Timestamp("2023-03-02")


def test_reader_keeps_the_delimiter(tmp_path):
    p = tmp_path / "accounts.csv"
    p.write_text("account_id\tname\nA1\tAcme\n")
    t = read_csv_table(p)
    assert (t.delimiter, t.decimal) == ("\t", ".") and t.data["name"].tolist() == ["Acme"]
    raw, problems = read_tables(write(tmp_path / "v"))
    assert all(t.delimiter == "," for t in raw.values()) and problems == []
    assert np.array_equal(raw["accounts"].rows, [2, 3])
