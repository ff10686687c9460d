"""The last step of an import: the combined tables checked by the validator of ``cxinfluence validate``.

Problems are located in the export rows they came from (file and row); the rows the combiner
already matched each id to are handed to the validator (:func:`_known_rows`), so no id is hashed
twice; roles are completed from job titles and unclassified titles reported as warnings.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ...exceptions import CxInfluenceWarning, ImportDataError, Problem
from ..core import Village
from ..ids import mark_unique, prime
from ..io import RawTable
from ..roles import complete_roles
from ..schema import TABLES
from ..validate import check_tables
from ._common import lookup


def validate_import(tables, report, role_rules):
    """Check the combined tables with the validator of ``cxinfluence validate``; locate problems in the export rows.

    Returns ``(Village, report)`` with roles completed from titles (the report keeps the tables as
    imported); raises :class:`~cxinfluence.exceptions.ImportDataError` listing every error.
    """
    raw, prov = {}, {}
    for name, df in tables.items():
        cols = [c.name for c in TABLES[name].columns]
        data = pd.DataFrame({c: (df[c] if c in df else _blank(TABLES[name].column(c), df.index)) for c in cols}).reset_index(drop=True)
        for c in data.columns:
            col = TABLES[name].column(c)
            s = data[c]
            if col.kind in ("id", "str", "category") and not (pd.api.types.is_string_dtype(s) and s.dtype != object):
                data[c] = s.astype("str") if s.notna().any() else _blank(col, s.index)
            elif col.kind in ("date", "bool") and s.dtype.kind != "M" and not s.notna().any():
                # nothing given (e.g. veto, active_from): a typed blank, which the validator need not read as text
                blank = pd.Series(pd.NA, index=s.index, dtype="boolean")
                data[c] = _blank(col, s.index) if col.kind == "date" else blank
        files = df["source_file"].reset_index(drop=True) if "source_file" in df else pd.Series("", index=data.index)
        prov[name] = (files,
                      df["source_row"].to_numpy() if "source_row" in df else np.zeros(len(df), np.int64))
        raw[name] = RawTable(name, f"imported {name}", data, np.arange(2, len(data) + 2, dtype=np.int64))
    matched = {}
    typed, found = check_tables(raw, matched=matched, known=_known_rows(tables))

    def locate(p):
        if p.row is None or p.table not in prov:
            return p
        files, rows = prov[p.table]
        i = p.row - 2
        return Problem(p.table, f"{files.iloc[i]} (-> {p.table})", int(rows[i]), p.column, p.message, p.severity)

    found = [locate(p) for p in found]
    errors = [p for p in found if p.severity == "error"]
    if typed is None:
        raise ImportDataError(errors or found, source="exports")
    report.tables = dict(typed)  # as imported (roles from picklists only); complete_roles returns a new table
    s = typed["stakeholders"]
    needs = s["role"].isna() & s["title"].notna()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CxInfluenceWarning)
        typed["stakeholders"] = complete_roles(s, rules=role_rules)
    for w in caught:
        if issubclass(w.category, CxInfluenceWarning):
            found.append(Problem("stakeholders", "imported stakeholders", None, "title", str(w.message), "warning"))
    done = typed["stakeholders"]["role_source"].eq("title") & needs
    report.titles = {"to_classify": int(needs.sum()), "classified": int(done.sum()),
                     "share": float(done.sum() / needs.sum()) if needs.sum() else 1.0}
    report.problems = found
    for name, df in typed.items():
        report.counts[name] = len(df)
    village = Village(**typed, source="import", problems=found)
    prime(village, matched)
    mark_unique(village)  # the combiner keeps one row per person id
    return village, report


def _known_rows(tables):
    """The rows the combiner matched each reference to, for :func:`~cxinfluence.village.validate.check_tables`.

    Accounts and people are unique by id here (first value per id; people without an account left
    out, accounts only named by a person added), so each defining table's rows are its ids' codes;
    references carry the row they were matched to (``_row_of`` columns). Ids are only trusted when
    they are Arrow text (nothing converted by validation); a kind of id with any reference not
    matched here (ties from a workbook or another source) is hashed by the validator as usual.
    """
    acc, people = tables["accounts"], tables["stakeholders"]

    def text(s):
        return pd.api.types.is_string_dtype(s) and s.dtype != object and not s.isna().any()

    if not (text(acc["account_id"]) and text(people["stakeholder_id"]) and text(people["account_id"])):
        return None
    known = {("accounts", "account_id"): np.arange(len(acc)),
             ("stakeholders", "stakeholder_id"): np.arange(len(people))}
    for table, column, rows in (("stakeholders", "account_id", None), ("outcomes", "account_id", "_account_row_of"),
                                ("relationships", "source_id", "_source_row_of"),
                                ("relationships", "target_id", "_target_row_of"),
                                ("responses", "stakeholder_id", "_row_of")):
        df = tables[table]
        if rows is None:
            pos = lookup(df[column], acc["account_id"])
        elif rows in df and not df[rows].isna().any() and text(df[column]) or (rows in df and len(df) == 0):
            pos = df[rows].to_numpy(dtype=np.int64)
        else:
            continue
        if len(pos) and pos.min() < 0:
            continue
        known[(table, column)] = pos
    return known


def _blank(col, index):
    if col.kind in ("int", "float"):
        return pd.Series(np.nan, index=index, dtype="float64")
    if col.kind == "date":
        return pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
    if col.kind == "bool":
        return pd.Series(np.nan, index=index, dtype=object)
    return pd.Series(np.nan, index=index, dtype="str")
