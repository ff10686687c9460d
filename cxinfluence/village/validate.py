"""Validation of a village: every problem at once, located by file, row and column.

:func:`validate_village` reads a village (see :mod:`cxinfluence.village.io`), checks it
against the data contract in :mod:`cxinfluence.village.schema` and returns the list of
:class:`~cxinfluence.exceptions.Problem` found, errors and warnings, without
raising for bad data. :func:`check_tables` is the engine: it types raw tables
(strings) into the dtypes of a :class:`~cxinfluence.village.core.Village` and
collects problems on the way. Every check is vectorised over rows, so a
10-million-row ``responses`` table is checked in seconds.

What is checked
---------------
* the path exists and holds the five tables (files, or sheets of a workbook);
  each file is readable UTF-8 with a header row; required columns are present;
* each value against its column's kind: ids and required values not blank;
  numbers numeric, finite, in range and whole where the scale is whole
  (scores, ``renewed``); dates in ISO ``YYYY-MM-DD`` form; ``veto`` a yes/no
  value; ``role``, ``kind``, ``channel``, ``journey_stage`` among the allowed
  values (after stripping and lower-casing);
* keys: unique ``account_id``, ``stakeholder_id``, (``source_id``,
  ``target_id``, ``kind``), (``account_id``, ``period_end``); ``active_to``
  not before ``active_from``;
* references: stakeholders' and outcomes' accounts exist; relationship
  endpoints exist, differ (no self-loop) and belong to the same account;
  responses' stakeholders exist.

Warnings (suspicious but usable): accounts with no stakeholders, no outcomes
or no feedback; stakeholders with no responses; responses with neither a
score nor a comment; responses dated outside the respondent's active period;
plus titles no role rule matches (from :func:`cxinfluence.village.roles.complete_roles`).

When one check fails on many rows, the first ``max_listed`` rows are listed
one by one and a final problem counts the rest, so a systematically broken
column does not bury the other problems.
"""

from __future__ import annotations

import warnings

import pandas as pd

from ..exceptions import CxInfluenceWarning, Problem, VillageWarning
from .checks import MAX_LISTED, WARNING_EXAMPLES, _Report, _type_table
from .io import RawTable, read_tables
from .references import (
    _unreferenced,
    check_keys,
    check_outcomes,
    check_people,
    check_responses,
    check_ties,
    match_ids,
    matched_rows,
)
from .roles import complete_roles
from .schema import TABLE_ORDER

__all__ = ["MAX_LISTED", "WARNING_EXAMPLES", "check_tables", "check_village", "validate_village", "problems_table"]


def check_tables(raw: dict[str, RawTable], *, max_listed=MAX_LISTED,
                 matched=None, known=None) -> tuple[dict[str, pd.DataFrame] | None, list[Problem]]:
    """Type and check raw tables; return the typed tables (or None on error) and every problem.

    Parameters
    ----------
    raw : dict of RawTable
        As returned by :func:`cxinfluence.village.io.read_tables`; may lack tables
        (each missing one is then already reported by the reader).
    max_listed : int or None, default 100
        Rows listed one by one per check; the rest are counted. None lists all.
    matched : dict, optional
        Filled, for a valid village, with the row each reference points to
        (``(table, column) -> rows``, as :func:`cxinfluence.village.ids.rows_of`), so
        later stages need not hash the ids again.
    known : dict, optional
        Ids the caller has already matched (the importer), so they are not hashed again:
        ``(table, column) -> int64 rows`` for a defining column (``("accounts", "account_id")``,
        ``("stakeholders", "stakeholder_id")``), which must then hold each id once, in row order
        (``0 .. n-1``), and for every column that refers to it (as in ``matched``), with every id
        found (no -1). A kind of id with any column missing here is hashed as usual.

    Returns
    -------
    tables : dict of DataFrame or None
        The five typed tables when there is no error (``veto`` still holds
        True/False/NaN: blanks are filled by :func:`cxinfluence.village.roles.complete_roles`;
        a blank ``weight`` is 1).
    problems : list of Problem
        Errors and warnings, in table order.
    """
    rep = _Report(max_listed)
    typed, ok = {}, {}
    for name in TABLE_ORDER:
        t = raw.get(name)
        if t is None:
            continue
        # whole-file problems (and hints about the header) before row-by-row ones
        later = [p for p in t.problems if p.row is not None or p.message.startswith("and ")]
        rep.problems.extend(p for p in t.problems if p not in later)
        if not t.usable:
            rep.problems.extend(later)
            continue
        typed[name], ok[name] = _type_table(t, rep, later)

    acc, sh = match_ids(typed, ok, known)
    check_keys(rep, raw, typed, ok, acc, sh)
    if ok.get("stakeholders"):
        check_people(rep, raw, typed, acc)
    if ok.get("relationships"):
        check_ties(rep, raw, typed, acc, sh)
    if ok.get("responses") and sh.known:
        check_responses(rep, raw, typed, acc, sh)
    if ok.get("outcomes") and acc.known:
        check_outcomes(rep, raw, typed, acc)
    if ok.get("stakeholders") and acc.known:
        _unreferenced(rep, raw["accounts"], typed["accounts"], acc, acc.positions("stakeholders", "account_id"),
                      "account(s) have no stakeholders")

    errors = any(p.severity == "error" for p in rep.problems)
    missing = [n for n in TABLE_ORDER if n not in typed]
    if errors or missing:
        return None, _ordered(rep.problems)
    if matched is not None:
        matched.update(matched_rows(acc, sh))
    return typed, _ordered(rep.problems)


def _ordered(problems):
    order = {n: i for i, n in enumerate(("village",) + TABLE_ORDER)}
    return sorted(problems, key=lambda p: (order.get(p.table, 99), p.severity != "error"))


# --------------------------------------------------------------------------- entry points


def check_village(path, *, role_rules=None, max_listed=MAX_LISTED):
    """Read, check and type the village at ``path``; complete roles if it is valid.

    Returns ``(tables, problems)`` where ``tables`` is None when there is any
    error. Warnings raised while completing roles (unclassified titles) are
    captured into ``problems``, not emitted.
    """
    tables, problems, _ = _check_village(path, role_rules=role_rules, max_listed=max_listed)
    return tables, problems


def _check_village(path, *, role_rules=None, max_listed=MAX_LISTED, matched=None):
    """:func:`check_village` plus the warning class of each warning (for re-emitting)."""
    raw, problems = read_tables(path)
    tables, found = check_tables(raw, max_listed=max_listed, matched=matched)
    problems = _ordered(problems + found)
    categories = {p: VillageWarning for p in problems if p.severity == "warning"}
    if tables is None:
        return None, problems, categories

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CxInfluenceWarning)
        tables["stakeholders"] = complete_roles(tables["stakeholders"], rules=role_rules)
    for w in caught:
        if issubclass(w.category, CxInfluenceWarning):
            p = Problem("stakeholders", raw["stakeholders"].file, None, "title", str(w.message), "warning")
            problems.append(p)
            categories[p] = w.category
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return tables, _ordered(problems), categories


def validate_village(path, *, role_rules=None, max_listed=MAX_LISTED) -> list[Problem]:
    """Every problem in the village at ``path``: errors and warnings, without raising.

    Parameters
    ----------
    path : str or Path
        A folder of CSV or Parquet files named after the tables
        (``accounts.csv``, ...), or one ``.xlsx`` workbook with a sheet per
        table. Other files and sub-folders (e.g. ``truth/``) are ignored.
    role_rules : DataFrame, dict, str or path, optional
        Extra title -> role rules (see :func:`cxinfluence.village.roles.load_role_rules`).
    max_listed : int or None, default 100
        Rows listed one by one per check before the rest are counted.

    Returns
    -------
    list of Problem
        Empty when the village is valid and unremarkable. ``severity`` is
        ``"error"`` (the village cannot be loaded) or ``"warning"``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> files = {"accounts": "account_id\\nA1\\n", "stakeholders": "stakeholder_id,account_id,role\\nS1,A1,decider\\nS2,A9,boss\\n",
    ...          "relationships": "source_id,target_id,kind\\n", "responses": "stakeholder_id,date,nps\\nS1,2024-05-01,11\\n",
    ...          "outcomes": "account_id,period_end,renewed\\nA1,2024-12-31,1\\n"}
    >>> for name, text in files.items():
    ...     _ = (d / f"{name}.csv").write_text(text)
    >>> for p in validate_village(d):
    ...     print(p.severity, p)
    error stakeholders.csv, row 3, column 'role': unknown role 'boss'; expected one of decider, buyer, user,
    influencer, gatekeeper (or blank to infer it from title)
    error stakeholders.csv, row 3, column 'account_id': account 'A9' is not in accounts (accounts.csv); add it there or fix the id
    warning stakeholders.csv, column 'stakeholder_id': 1 stakeholder(s) have no responses: 'S2' (row 3)
    error responses.csv, row 2, column 'nps': 11 is out of range; nps takes whole numbers 0-10 (or blank)
    """
    return check_village(path, role_rules=role_rules, max_listed=max_listed)[1]


def problems_table(problems) -> pd.DataFrame:
    """Problems as a DataFrame, one row each, in the order given.

    Parameters
    ----------
    problems : iterable of Problem
        E.g. ``village.problems``, :func:`validate_village`'s result or
        ``VillageError.problems``.

    Returns
    -------
    DataFrame
        ``severity, table, file, row, column, message``; ``row`` is the row
        as the user sees it in the file (nullable integer).

    Examples
    --------
    >>> p = Problem("responses", "responses.csv", 7, "nps", "11 is out of range")
    >>> problems_table([p])
      severity      table           file  row column             message
    0    error  responses  responses.csv    7    nps  11 is out of range
    """
    columns = ["severity", "table", "file", "row", "column", "message"]
    table = pd.DataFrame([{c: getattr(p, c) for c in columns} for p in problems], columns=columns)
    table["row"] = table["row"].astype("Int64")
    return table
