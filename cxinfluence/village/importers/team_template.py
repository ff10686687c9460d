"""The account team's workbook template: the sheets written for the team to fill in.

:func:`write_team_template` writes the workbook (sheets and their columns are described in
:mod:`cxinfluence.village.importers.team`, which reads a filled copy back and re-exports the names here).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import atomic_output
from ..schema import RELATIONSHIP_KINDS

HOWTO, PEOPLE, TIES, VETO, RATINGS, DEPARTURES = (
    "How to fill this in",
    "People",
    "Influence ties",
    "Veto power",
    "Influence ratings",
    "Departures",
)
PEOPLE_COLUMNS = ["account_id", "account_name", "stakeholder_id", "name", "title", "role"]
TIE_COLUMNS = ["account_id", "source_id", "target_id", "kind", "weight", "note"]
VALUE_SHEETS = {  # sheet -> (value column, "now" column shown beside it)
    VETO: ("veto", "veto_now"),
    RATINGS: ("influence_rating", "influence_rating_now"),
    DEPARTURES: ("active_to", "active_to_now"),
}

HOW_TO = [
    "How to fill this in",
    "",
    "This workbook records what your account team knows and the CRM cannot hold: who influences whom, who can veto,",
    "how much weight each person carries, and who has left. cxinfluence merges it over the CRM import.",
    "",
    "People: everyone the import brought in, per account. Use these ids (column stakeholder_id) on the other sheets.",
    "  Do not retype ids: copy them, or pick them from the drop-down lists. Keep the id columns formatted as Text,",
    "  so Excel does not turn long numeric ids (HubSpot record ids) into 1.23E+11.",
    "Influence ties: one row per tie inside one account. source_id influences target_id means the source's view",
    "  carries weight with the target (kind = influences); kind = reports_to means the target is the source's manager",
    "  (add reporting lines the CRM lacks). weight is how strong the tie is, > 0 (blank = 1; 2 = twice as strong).",
    "Veto power: yes if the person can kill a buying decision on their own, no if they cannot. Blank = keep the",
    "  default (deciders and gatekeepers hold a veto). The column veto_now shows what the import says.",
    "Influence ratings: your view of the person's influence on buying decisions, a whole number from 1 (little)",
    "  to 5 (decisive). Blank = no rating.",
    "Departures: the date the person left the account (active_to). Type a date (2025-03-31) or use Excel's date",
    "  format. People with a date are counted as gone from that day.",
    "",
    "Rows you leave blank are ignored. Do not rename the sheets or the header row; you may add a note column.",
    "Then run: cxinfluence import --hubspot DIR --team THIS_WORKBOOK.xlsx --out VILLAGE (or pass it to import_village(team=...)).",
    "Every problem (sheet, row, column) is listed at once if something cannot be read.",
]


def _people_frame(village) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(accounts, people) from a Village or a dict of tables (``stakeholders`` or ``people``)."""
    if isinstance(village, dict):
        accounts = village.get("accounts", pd.DataFrame(columns=["account_id", "name"]))
        people = village.get("stakeholders", village.get("people"))
    else:
        accounts, people = village.accounts, village.stakeholders
    if people is None or "stakeholder_id" not in people or "account_id" not in people:
        raise ValueError(
            "village has no people with stakeholder_id and account_id; expected a Village or a dict with a 'stakeholders' table"
        )
    return accounts, people


def write_team_template(village, path) -> Path:
    """Write the account team's workbook (.xlsx), prefilled with the village's people per account.

    Parameters
    ----------
    village : Village or dict of DataFrame
        The imported village (``accounts`` and ``stakeholders``; a dict may name the people
        table ``people``). Values it already has (veto, influence rating, departure date) are
        shown in the ``*_now`` columns beside the empty columns to fill.
    path : str or Path
        The ``.xlsx`` file to write (replaced atomically).

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import tempfile, openpyxl
    >>> from cxinfluence.village.synth import make_village
    >>> out = write_team_template(make_village(2, seed=1)[0], Path(tempfile.mkdtemp()) / "team.xlsx")
    >>> openpyxl.load_workbook(out).sheetnames
    ['How to fill this in', 'People', 'Influence ties', 'Veto power', 'Influence ratings', 'Departures']
    >>> from cxinfluence.village.importers.team import read_team_workbook
    >>> len(read_team_workbook(out).tables)  # nothing filled in yet
    0
    """
    import openpyxl

    accounts, people = _people_frame(village)
    names = accounts.set_index("account_id")["name"] if "name" in accounts else pd.Series(dtype=object)
    p = people.copy()
    p["account_name"] = p["account_id"].map(names)
    p = p.sort_values(["account_id", "stakeholder_id"], kind="stable").reset_index(drop=True)
    wb = openpyxl.Workbook()
    _how_to_sheet(wb.active)
    _add_sheet(
        wb,
        PEOPLE,
        PEOPLE_COLUMNS,
        list(p.reindex(columns=PEOPLE_COLUMNS).itertuples(index=False)),
        widths={"name": 24, "title": 30, "account_name": 28},
    )
    _ties_sheet(wb, len(p))
    _value_sheets(wb, p)
    path = Path(path)
    with atomic_output(path, overwrite=True, is_dir=False) as tmp:
        wb.save(tmp)
    return path


def _cell_value(v):
    """A value as a workbook cell takes it: blanks None, dates as dates, booleans yes/no, numpy scalars unwrapped."""
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime().date()
    if isinstance(v, (np.bool_, bool)):
        return "yes" if v else "no"
    if isinstance(v, np.generic):
        return v.item()
    return str(v) if not isinstance(v, (int, float, dt.date)) else v


def _add_sheet(wb, title, columns, rows, fill_col=None, widths=None):
    """A sheet with a bold, frozen header row, id columns formatted as text, the column to fill highlighted."""
    import openpyxl
    from openpyxl.styles import Font, PatternFill

    ws = wb.create_sheet(title)
    ws.append(columns)
    for c in ws[1]:
        c.font = Font(bold=True)
    for r in rows:
        ws.append([_cell_value(v) for v in r])
    for i, col in enumerate(columns, start=1):
        letter = openpyxl.utils.get_column_letter(i)
        ws.column_dimensions[letter].width = (widths or {}).get(col, 18)
        if col.endswith("_id"):
            for (c,) in ws.iter_rows(min_row=2, max_row=(len(rows) if rows else 500) + 1, min_col=i, max_col=i):
                c.number_format = "@"
        if col == fill_col:
            ws.cell(1, i).fill = PatternFill("solid", fgColor="FFF2CC")
    ws.freeze_panes = "A2"
    return ws


def _how_to_sheet(how) -> None:
    """The first sheet: how to fill the workbook in (:data:`HOW_TO`)."""
    from openpyxl.styles import Font

    how.title = HOWTO
    for line in HOW_TO:
        how.append([line])
    how["A1"].font = Font(bold=True, size=14)
    how.column_dimensions["A"].width = 120


def _ties_sheet(wb, n: int) -> None:
    """The empty ties sheet, its id cells restricted to the People sheet's ids, kind and weight checked."""
    from openpyxl.worksheet.datavalidation import DataValidation

    id_list = f"={_quote(PEOPLE)}!$C$2:$C${max(n, 1) + 1}"
    ws = _add_sheet(wb, TIES, TIE_COLUMNS, [], widths={"note": 40})
    _validate(
        ws,
        DataValidation(type="list", formula1=id_list, allow_blank=True),
        "B2:C1000",
        "Pick a stakeholder_id from the People sheet",
    )
    _validate(
        ws,
        DataValidation(type="list", formula1='"' + ",".join(RELATIONSHIP_KINDS) + '"', allow_blank=True),
        "D2:D1000",
        "influences or reports_to",
    )
    _validate(
        ws,
        DataValidation(type="decimal", operator="greaterThan", formula1="0", allow_blank=True),
        "E2:E1000",
        "A number > 0 (blank = 1)",
    )


def _value_sheets(wb, p: pd.DataFrame) -> None:
    """One sheet per value (veto, rating, departure): every person, the current value beside the cell to fill."""
    from openpyxl.worksheet.datavalidation import DataValidation

    n = len(p)
    base = ["account_id", "account_name", "stakeholder_id", "name", "title"]
    for title, (col, now) in VALUE_SHEETS.items():
        current = p[col] if col in p else pd.Series(np.nan, index=p.index)
        rows = [list(r) + [c, None, None] for r, c in zip(p.reindex(columns=base).itertuples(index=False), current)]
        ws = _add_sheet(
            wb,
            title,
            base + [now, col, "note"],
            rows,
            fill_col=col,
            widths={"name": 24, "title": 30, "account_name": 28, "note": 40},
        )
        rng = f"G2:G{max(n, 1) + 1}"
        if col == "veto":
            _validate(ws, DataValidation(type="list", formula1='"yes,no"', allow_blank=True), rng, "yes or no")
        elif col == "influence_rating":
            _validate(
                ws,
                DataValidation(type="whole", operator="between", formula1="1", formula2="5", allow_blank=True),
                rng,
                "A whole number 1-5",
            )
        else:
            _validate(
                ws,
                DataValidation(type="date", operator="greaterThan", formula1="1", allow_blank=True),
                rng,
                "A date, e.g. 2025-03-31",
            )
            for row in ws.iter_rows(min_row=2, max_row=n + 1, min_col=6, max_col=7):
                for c in row:
                    c.number_format = "yyyy-mm-dd"


def _quote(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


def _validate(ws, dv, ref, prompt):
    dv.error = prompt
    dv.errorTitle = "Not allowed here"
    dv.prompt = prompt
    dv.showErrorMessage = True
    ws.add_data_validation(dv)
    dv.add(ref)
