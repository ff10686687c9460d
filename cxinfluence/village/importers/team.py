"""The account team's knowledge workbook: influence ties, veto power, ratings and departures.

Standard CRM objects carry reporting lines and buying roles, but not who influences whom, who
can veto, how much weight each person carries in the account team's view, or when someone left.
:func:`write_team_template` writes an Excel workbook, prefilled per account with the people an
import brought in, where the account team records that knowledge; :func:`read_team_workbook`
reads a filled copy back as a :class:`~cxinfluence.village.importers.staging.Staged` (source ``"team"``)
that the importer merges over the CRM's data.

Sheets
------
``How to fill this in``
    The instructions.
``People``
    Reference: ``account_id``, ``account_name``, ``stakeholder_id``, ``name``, ``title``, ``role``
    as imported. Ids on the other sheets must be on this sheet.
``Influence ties``
    ``account_id`` (optional), ``source_id``, ``target_id``, ``kind`` (``influences`` or
    ``reports_to``), ``weight`` (> 0, blank = 1), ``note``. ``source influences target`` means
    the source's view carries weight with the target.
``Veto power``, ``Influence ratings``, ``Departures``
    One prefilled row per person, with what the import says now beside an empty column to fill:
    ``veto`` (yes/no), ``influence_rating`` (whole number 1-5), ``active_to`` (the date the
    person left). Rows left blank are ignored.

Reading checks every cell and reports every problem at once, located by sheet, row and column,
as :class:`~cxinfluence.exceptions.TeamWorkbookError` (a
:class:`~cxinfluence.exceptions.VillageError`): ids of the wrong shape (including long
numeric ids that Excel turned into numbers such as ``1.23E+11``) or not on the People sheet,
ties between accounts or to oneself, unknown kinds, weights <= 0, ratings off the 1-5 scale,
veto not yes/no, dates that are not dates, conflicting duplicates, and formulas whose value
was never calculated. Formula cells are read by their cached values; real Excel date cells,
ISO text dates, the mapping's ``[dates] format`` and Excel serial numbers are all dates.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ...exceptions import Problem, TeamWorkbookError
from ..schema import RELATIONSHIP_KINDS
from . import _crm
from .staging import Staged
from .team_template import (
    DEPARTURES,
    HOW_TO,
    HOWTO,
    PEOPLE,
    PEOPLE_COLUMNS,
    RATINGS,
    TIE_COLUMNS,
    TIES,
    VALUE_SHEETS,
    VETO,
    write_team_template,
)

SOURCE = "team"
__all__ = ["read_team_workbook", "write_team_template", "SOURCE", "HOWTO", "PEOPLE", "TIES", "VETO", "RATINGS",
           "DEPARTURES", "PEOPLE_COLUMNS", "TIE_COLUMNS", "VALUE_SHEETS", "HOW_TO"]
_ID_MAX = 100
_YES = {"yes", "y", "true", "t", "1", "x"}
_NO = {"no", "n", "false", "f", "0"}

# --------------------------------------------------------------------------- reading


class _Sheet:
    """One sheet's rows as cell values, with header positions and a formula map."""

    def __init__(self, name, label, values, formulas):
        self.name, self.label = name, label
        self.header = [_crm.norm_key(v) if v is not None else "" for v in (values[0] if values else [])]
        self.raw_header = [v for v in (values[0] if values else [])]
        self.rows = values[1:]
        self.formulas = formulas  # (row index from 0 in rows, col) -> formula text

    def col(self, name):
        key = _crm.norm_key(name)
        return self.header.index(key) if key in self.header else None


def _load_sheets(path: Path):
    import openpyxl

    try:
        values_wb = openpyxl.load_workbook(path, data_only=True)
        formula_wb = openpyxl.load_workbook(path, data_only=False)
    except Exception as exc:  # noqa: BLE001 - zipfile/openpyxl raise several types for bad files
        raise TeamWorkbookError(
            [
                Problem(
                    "team",
                    path.name,
                    None,
                    None,
                    f"not a readable .xlsx workbook ({type(exc).__name__}: {exc}); save it from Excel as .xlsx",
                )
            ]
        ) from None
    sheets = {}
    for ws in values_wb.worksheets:
        fws = formula_wb[ws.title]
        values = [list(r) for r in ws.iter_rows(values_only=True)]
        formulas = {}
        for r_i, row in enumerate(fws.iter_rows(min_row=2)):
            for c_i, c in enumerate(row):
                if isinstance(c.value, str) and c.value.startswith("="):
                    formulas[(r_i, c_i)] = c.value
        sheets[_crm.norm_key(ws.title)] = _Sheet(ws.title, f"{path.name}[{ws.title}]", values, formulas)
    return sheets


def _blank(v) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _id(v):
    """(id text, problem message) for an id cell."""
    if isinstance(v, bool):
        return None, f"expected an id, got {v!r}"
    if isinstance(v, int):
        return str(v), None
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v)), None
        return (
            None,
            f"{v!r} looks like a number Excel rounded or shortened; format the column as Text and paste the id again from the People sheet",
        )
    text = str(v).strip()
    if re.fullmatch(r"\d+(\.\d+)?[eE]\+?\d+", text):
        return (
            None,
            f"'{text}' is a long id that Excel turned into a number; format the column as Text and paste the id again from the People sheet",
        )
    if re.search(r"\s", text):
        return None, f"'{text}' contains spaces; an id is one word (copy it from the People sheet)"
    if len(text) > _ID_MAX:
        return None, f"id is {len(text)} characters long; expected at most {_ID_MAX}"
    return text, None


def read_team_workbook(path, mapping=None) -> Staged:
    """Read a filled account-team workbook (see :func:`write_team_template`).

    Parameters
    ----------
    path : str or Path
        The filled ``.xlsx``.
    mapping : dict, optional
        The parsed mapping file; its ``[dates]`` ``format`` is used for dates typed as text.

    Returns
    -------
    Staged
        Source ``"team"``: ``people`` (``stakeholder_id``, ``account_id`` from the People sheet,
        and the ``veto``, ``influence_rating``, ``active_to`` filled in) and ``ties``
        (``source_id``, ``target_id``, ``kind``, ``weight``); tables with nothing filled in are
        absent.

    Raises
    ------
    TeamWorkbookError
        Every problem in the workbook, each located by sheet, row and column (a subclass of
        :class:`~cxinfluence.exceptions.VillageError`).

    Examples
    --------
    >>> staged = read_team_workbook(Path(__file__).parents[3] / "data" / "exports" / "team_knowledge_example.xlsx")
    >>> sorted(staged.tables), sorted(staged.tables["ties"]["kind"].unique())
    (['people', 'ties'], ['influences'])
    """
    path = Path(path)
    if not path.is_file():
        raise TeamWorkbookError(
            [
                Problem(
                    "team", str(path), None, None, "file not found; expected the filled account-team workbook (.xlsx)"
                )
            ]
        )
    staged = Staged(source=SOURCE, path=str(path))
    book = _Workbook(path, _load_sheets(path))
    book.read_people(staged)
    ties = book.read_ties()
    values, where = book.read_values(staged, _crm.section(mapping, "dates"))
    if book.problems:
        raise TeamWorkbookError(book.problems, source=path.name)
    if book.sheet(TIES) is not None:
        staged.rows_read[f"{path.name}[{TIES}]"] = len(ties)
    _stage_ties(staged, ties, path.name)
    _stage_people(staged, values, where, book.account_of, path.name)
    return staged


class _Workbook:
    """The sheets of a filled workbook being read, with every problem found so far (by sheet, row, column).

    ``known`` is the set of ids on the People sheet (None without one: ids are then checked for shape
    only) and ``account_of`` maps each of them to its account, once :meth:`read_people` has run.
    """

    def __init__(self, path: Path, sheets: dict):
        self.path, self.sheets = path, sheets
        self.problems: list[Problem] = []
        self.known = None
        self.account_of = {}

    def sheet(self, title):
        return self.sheets.get(_crm.norm_key(title))

    def add(self, sh, r, column, message):
        self.problems.append(Problem(sh.name, sh.label, None if r is None else r + 2, column, message))

    def cell(self, sh, r, c, column):
        """The value of a cell, or a problem for a formula never calculated."""
        v = sh.rows[r][c] if c < len(sh.rows[r]) else None
        if v is None and (r, c) in sh.formulas:
            self.add(
                sh,
                r,
                column,
                f"cell has the formula {sh.formulas[(r, c)]} but no calculated value; open the workbook in Excel and save it, or type the value",
            )
        return v

    def person(self, sh, r, c, column):
        """The id in a cell that must name someone on the People sheet, or None (with a problem)."""
        v = self.cell(sh, r, c, column)
        if _blank(v):
            self.add(sh, r, column, "id is blank; every filled row needs the person's id")
            return None
        sid, msg = _id(v)
        if msg:
            self.add(sh, r, column, msg)
            return None
        if self.known is not None and sid not in self.known:
            self.add(
                sh,
                r,
                column,
                f"'{sid}' is not on the People sheet; copy the id from there (people the import did not bring in cannot be added here)",
            )
            return None
        return sid

    def read_people(self, staged: Staged) -> None:
        """The ids on the People sheet (``known``) and their accounts (``account_of``)."""
        sh = self.sheet(PEOPLE)
        if sh is None:
            staged.notes.append(f"{self.path.name}: no People sheet, so ids are checked for shape only")
            return
        ci, ca = sh.col("stakeholder_id"), sh.col("account_id")
        if ci is None:
            self.add(sh, None, "stakeholder_id", "the People sheet has no stakeholder_id column; do not rename the header row")
            return
        self.known = set()
        for r in range(len(sh.rows)):
            v = self.cell(sh, r, ci, "stakeholder_id")
            if _blank(v):
                continue
            sid, msg = _id(v)
            if msg:
                self.add(sh, r, "stakeholder_id", msg)
                continue
            self.known.add(sid)
            if ca is not None and not _blank(self.cell(sh, r, ca, "account_id")):
                self.account_of[sid] = _id(sh.rows[r][ca])[0]

    def read_ties(self) -> list[tuple]:
        """``(source, target, kind, weight, row, label)`` for each usable row of the Ties sheet."""
        ts = self.sheet(TIES)
        if ts is None:
            return []
        cols = {k: ts.col(k) for k in TIE_COLUMNS}
        missing = [k for k in ("source_id", "target_id", "kind") if cols[k] is None]
        for k in missing:
            self.add(ts, None, k, f"column '{k}' is missing; the header row must have {', '.join(TIE_COLUMNS[1:5])}")
        ties = [] if missing else [tie for r in range(len(ts.rows)) if (tie := self._tie(ts, cols, r)) is not None]
        seen = {}
        for s, t, k, _w, r, _f in ties:
            if (s, t, k) in seen:
                self.add(ts, r, "source_id", f"the tie {s} -> {t} ({k}) is already on row {seen[(s, t, k)] + 2}; keep one row")
            else:
                seen[(s, t, k)] = r
        return ties

    def _tie(self, ts, cols, r):
        """One row of the Ties sheet as a tie, or None when it is empty or has problems (recorded)."""
        vals = {k: self.cell(ts, r, c, k) for k, c in cols.items() if c is not None}
        if all(_blank(vals.get(k)) for k in ("source_id", "target_id", "kind", "weight")):
            return None
        n0 = len(self.problems)
        s = self.person(ts, r, cols["source_id"], "source_id")
        t = self.person(ts, r, cols["target_id"], "target_id")
        kind = None if _blank(vals["kind"]) else str(vals["kind"]).strip().lower().replace(" ", "_")
        kind = {"influence": "influences", "reports": "reports_to", "reports_to": "reports_to"}.get(kind, kind)
        if kind not in RELATIONSHIP_KINDS:
            self.add(ts, r, "kind", f"kind is {vals['kind']!r}; expected one of {', '.join(RELATIONSHIP_KINDS)}")
        w = vals.get("weight")
        if _blank(w):
            w = 1.0
        else:
            try:
                w = float(w)
                if not np.isfinite(w) or w <= 0:
                    raise ValueError
            except (TypeError, ValueError):
                self.add(ts, r, "weight", f"weight is {w!r}; expected a number > 0 (blank = 1)")
        if s is not None and t is not None:
            if s == t:
                self.add(ts, r, "target_id", f"'{s}' is tied to themself; source and target must be two people")
            elif self.account_of and self.account_of.get(s) != self.account_of.get(t):
                self.add(
                    ts,
                    r,
                    "target_id",
                    f"'{s}' (account {self.account_of.get(s)}) and '{t}' (account {self.account_of.get(t)}) are in "
                    "different accounts; ties stay inside one account",
                )
        return (s, t, kind, w, r, ts.label) if len(self.problems) == n0 else None

    def read_values(self, staged: Staged, dates) -> tuple[dict, dict]:
        """``({column: {id: value}}, {id: (sheet label, row)})`` from the Veto, Rating and Departures sheets."""
        values, where = {}, {}
        for title, (col, _now) in VALUE_SHEETS.items():
            sh = self.sheet(title)
            if sh is None:
                staged.notes.append(f"{self.path.name}: no '{title}' sheet")
                continue
            ci, cv = sh.col("stakeholder_id"), sh.col(col)
            for k, c in (("stakeholder_id", ci), (col, cv)):
                if c is None:
                    self.add(sh, None, k, f"column '{k}' is missing; do not rename the header row")
            if ci is None or cv is None:
                continue
            got = self._values(sh, ci, cv, col, dates)
            values[col] = {k: v for k, (v, _r) in got.items()}
            for k, (_v, r) in got.items():
                where.setdefault(k, (sh.label, r + 2))
            staged.rows_read[f"{self.path.name}[{title}]"] = len(got)
        return values, where

    def _values(self, sh, ci, cv, col, dates) -> dict:
        """``{id: (value, row)}`` of one value sheet; a person given two different values is a problem."""
        got = {}
        for r in range(len(sh.rows)):
            v = self.cell(sh, r, cv, col)
            if _blank(v):
                continue
            sid = self.person(sh, r, ci, "stakeholder_id")
            value = _value(col, v, dates)
            if isinstance(value, str):  # a message
                self.add(sh, r, col, value)
                continue
            if sid is None:
                continue
            if sid in got and got[sid][0] != value:
                self.add(sh, r, col, f"'{sid}' already has {col} {got[sid][0]!r} on row {got[sid][1] + 2}; keep one value")
                continue
            got[sid] = (value, r)
        return got


def _stage_ties(staged: Staged, ties: list, name: str) -> None:
    """The ties read, as the staged ``ties`` table, with a note counting them by kind."""
    if not ties:
        return
    staged.tables["ties"] = pd.DataFrame(
        [(*t[:4], t[5], t[4] + 2) for t in ties],
        columns=["source_id", "target_id", "kind", "weight", "source_file", "source_row"],
    )
    staged.notes.append(
        f"{name}: {len(ties)} tie(s) from the account team "
        f"({', '.join(f'{k}: {n}' for k, n in pd.Series([t[2] for t in ties]).value_counts().items())})"
    )


def _stage_people(staged: Staged, values: dict, where: dict, account_of: dict, name: str) -> None:
    """The veto, rating and departure values read, as the staged ``people`` table, with a note."""
    ids = sorted(set().union(*[set(v) for v in values.values()])) if values else []
    if not ids:
        return
    people = pd.DataFrame({"stakeholder_id": ids})
    people["account_id"] = people["stakeholder_id"].map(account_of)
    for col in ("veto", "influence_rating", "active_to"):
        people[col] = people["stakeholder_id"].map(values.get(col, {}))
    people["active_to"] = pd.to_datetime(people["active_to"])
    people["influence_rating"] = pd.to_numeric(people["influence_rating"])
    people["source_file"] = people["stakeholder_id"].map(lambda i: where[i][0])
    people["source_row"] = people["stakeholder_id"].map(lambda i: where[i][1])
    staged.tables["people"] = people
    staged.notes.append(
        f"{name}: the account team set veto for {people['veto'].notna().sum()}, a rating for "
        f"{people['influence_rating'].notna().sum()} and a departure date for {people['active_to'].notna().sum()} people; "
        "these override the CRM's values"
    )


def _value(col, v, dates):
    """A typed value, or a message (str) when it cannot be read."""
    if col == "veto":
        if isinstance(v, bool):
            return v
        text = str(v).strip().lower()
        if isinstance(v, (int, float)) and v in (0, 1):
            return bool(v)
        if text in _YES:
            return True
        if text in _NO:
            return False
        return f"veto is {v!r}; expected yes or no"
    if col == "influence_rating":
        try:
            x = float(v)
        except (TypeError, ValueError):
            return f"influence_rating is {v!r}; expected a whole number 1-5"
        if isinstance(v, bool) or not x.is_integer() or not 1 <= x <= 5:
            return f"influence_rating is {v!r}; expected a whole number 1-5"
        return x
    # active_to
    if isinstance(v, dt.datetime):
        return pd.Timestamp(v).normalize()
    if isinstance(v, dt.date):
        return pd.Timestamp(v)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if 20000 <= v <= 80000:  # an Excel serial day number in a cell not formatted as a date
            return (pd.Timestamp("1899-12-30") + pd.Timedelta(days=int(v))).normalize()
        return f"active_to is {v!r}; expected a date such as 2025-03-31"
    parsed, bad = _crm.parse_dates(pd.Series([str(v)]), dates)
    if bad[0] or pd.isna(parsed.iloc[0]):
        fmts = _crm.date_options(dates)[0]
        return f"active_to is {v!r}; expected a date such as 2025-03-31" + (
            f" or in the mapping's formats {', '.join(fmts)}" if fmts else ""
        )
    return parsed.iloc[0].normalize()
