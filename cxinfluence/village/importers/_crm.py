"""Helpers shared by the CRM readers (HubSpot, Gainsight) and the account team's workbook.

Everything here works on exports read as text: column names are found through alias lists
(the vendor's API name, its UI label, and any override from the mapping file), dates are parsed
with the rules of the mapping's ``[dates]`` section (Unix-millisecond timestamps as HubSpot writes
them are recognised), buying-role picklists are mapped to village roles through one table that the
mapping's ``[roles]`` section overrides, and closed deals become renewals and bookings per period.
Rows that cannot be used are returned as ``dropped`` entries (file, row, reason), never silently
lost. Survey answers (questions to items, long answers pivoted to responses) are
:mod:`cxinfluence.village.importers._crm_answers`.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ...exceptions import Problem, VillageError
from ..schema import ROLES

#: Default picklist value -> (role, department, veto). Keys are normalised with :func:`norm_key`
#: (upper case, runs of other characters -> "_"), so HubSpot's internal value ``DECISION_MAKER``
#: and the label "Decision Maker" (Gainsight, HubSpot UI exports) are the same entry. ``veto``
#: None means "default by role" (cxinfluence.village.schema.VETO_BY_ROLE).
DEFAULT_ROLES = {
    # HubSpot hs_buying_role internal values
    "BLOCKER": ("gatekeeper", None, True),  # can stop the purchase: a gatekeeper holding a veto
    "BUDGET_HOLDER": ("decider", "finance", None),  # controls the budget: economic buyer, signs
    "CHAMPION": ("influencer", None, None),  # advocates for us; carries weight, does not sign
    "DECISION_MAKER": ("decider", None, None),
    "END_USER": ("user", None, None),
    "EXECUTIVE_SPONSOR": ("decider", "executive", None),
    "INFLUENCER": ("influencer", None, None),
    "LEGAL_AND_COMPLIANCE": ("gatekeeper", "legal", None),
    "OTHER": (None, None, None),  # says nothing: role comes from the title
    # Gainsight Company Person "Role" and common picklist labels (best-guess defaults)
    "ECONOMIC_BUYER": ("decider", "finance", None),
    "EXECUTIVE": ("decider", "executive", None),
    "SPONSOR": ("decider", "executive", None),
    "USER": ("user", None, None),
    "POWER_USER": ("user", None, None),
    "ADMIN": ("user", None, None),
    "ADMINISTRATOR": ("user", None, None),
    "TECHNICAL_BUYER": ("influencer", "engineering", None),
    "TECHNICAL_EVALUATOR": ("influencer", "engineering", None),
    "EVALUATOR": ("influencer", None, None),
    "PROCUREMENT": ("buyer", "procurement", None),
    "PURCHASING": ("buyer", "procurement", None),
    "BUYER": ("buyer", "procurement", None),
    "GATEKEEPER": ("gatekeeper", None, None),
    "DETRACTOR": ("gatekeeper", None, True),
    "LEGAL": ("gatekeeper", "legal", None),
    "IT": ("gatekeeper", "it", None),
    "SECURITY": ("gatekeeper", "it", None),
}

#: When one person carries several picklist values (HubSpot's multi-select, "DECISION_MAKER;BLOCKER"),
#: the role that decides more wins; veto is kept if any value carries it.
ROLE_PRIORITY = ("decider", "gatekeeper", "buyer", "influencer", "user")

def norm_key(text) -> str:
    """A picklist value or column name, normalised for case- and punctuation-free matching.

    Examples
    --------
    >>> norm_key("Decision Maker"), norm_key(" legal_and_compliance "), norm_key("Company Person ID")
    ('DECISION_MAKER', 'LEGAL_AND_COMPLIANCE', 'COMPANY_PERSON_ID')
    """
    return re.sub(r"[^0-9A-Z]+", "_", str(text).upper()).strip("_")


def type_key(text) -> str:
    """A picklist value for comparison: case, spaces and underscores ignored ("Existing Business" == "existingbusiness").

    >>> type_key("Existing Business") == type_key("existingbusiness") == type_key("EXISTING_BUSINESS")
    True
    """
    return norm_key(text).replace("_", "")


def renewal_values(mapping, source: str, own_key: str, default) -> set:
    """Values marking a renewal: the source's own key, else the global ``[renewals] types``, else ``default``."""
    values = section(mapping, source).get(own_key) or section(mapping, "renewals").get("types") or default
    return {type_key(v) for v in values}


def map_unique(values: pd.Series, func) -> pd.Series:
    """``values.map(func)`` computed once per distinct value (blank stays NaN), as object dtype.

    Examples
    --------
    >>> map_unique(pd.Series(["a", "b", "a", None]), str.upper).tolist()
    ['A', 'B', 'A', nan]
    """
    codes, uniques = pd.factorize(values.astype(object).where(values.notna(), None))
    mapped = np.array([func(u) for u in uniques] + [np.nan], dtype=object)
    return pd.Series(mapped[codes], index=values.index, dtype=object)


def section(mapping, name) -> dict:
    """The ``name`` section of a parsed mapping file (a dict), or an empty dict."""
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        raise TypeError(f"mapping={type(mapping).__name__}; expected the parsed mapping file as a dict (or None)")
    value = mapping.get(name) or {}
    if not isinstance(value, dict):
        raise VillageError(
            [Problem("mapping", "mapping", None, name, f"section [{name}] must be a table of settings, got {value!r}")]
        )
    return value


# --------------------------------------------------------------------------- files


def find_file(folder: Path, words, exclude=()) -> Path | None:
    """The CSV in ``folder`` whose name contains one of ``words`` (case-insensitive), else None.

    Vendor exports carry dates and prefixes in their names
    (``hubspot-crm-exports-all-contacts-2024-03-05.csv``), so names are matched by keyword.
    """
    files = sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() == ".csv")
    for word in words:
        for p in files:
            name = p.stem.lower().replace("-", "_").replace(" ", "_")
            if word in name and not any(x in name for x in exclude):
                return p
    return None


def check_folder(folder, source: str) -> Path:
    folder = Path(folder)
    if not folder.is_dir():
        raise VillageError(
            [
                Problem(
                    source,
                    str(folder),
                    None,
                    None,
                    f"{source} export folder not found; expected a folder of the CSV files exported from {source}",
                )
            ]
        )
    return folder


def read_export(path: Path, table: str) -> tuple[pd.DataFrame, np.ndarray, int]:
    """Read one exported CSV as text: blank cells NaN, cells stripped, blank rows left out.

    Returns the frame, the spreadsheet row number of each row (header = row 1) and how many
    blank rows were skipped. Excel's UTF-8 byte-order mark is accepted; a file that is not
    UTF-8 is read as Windows-1252 (what Excel writes for "CSV" on Windows).
    """
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False, encoding="utf-8-sig")
    except UnicodeDecodeError:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=False, encoding="cp1252")
    except pd.errors.EmptyDataError:
        raise VillageError(
            [Problem(table, path.name, None, None, "file is empty; expected a header row with the column names")]
        ) from None
    df.columns = [str(c).strip() for c in df.columns]
    df = df.apply(lambda s: s.str.strip()).replace("", np.nan)
    rows = np.arange(2, len(df) + 2, dtype=np.int64)
    keep = df.notna().any(axis=1).to_numpy()
    blank = int((~keep).sum())
    return df[keep].reset_index(drop=True), rows[keep], blank


def overrides_for(cfg: dict, name: str) -> dict:
    """Column overrides of one export file: ``columns.<name>`` (a table) over the flat ``columns`` entries.

    Examples
    --------
    >>> overrides_for({"columns": {"title": "Position", "deals": {"amount": "ACV"}}}, "deals")
    {'title': 'Position', 'amount': 'ACV'}
    """
    cols = cfg.get("columns") or {}
    flat = {k: v for k, v in cols.items() if not isinstance(v, dict)}
    return {**flat, **(cols.get(name) or {})}


def pick_columns(df: pd.DataFrame, aliases: dict, overrides: dict, *, table: str, file: str, required=()) -> dict:
    """Find each wanted column by its aliases (case/punctuation-insensitive); mapping overrides first.

    Returns ``{canonical: actual column}`` for the columns found. Raises
    :class:`~cxinfluence.exceptions.VillageError` naming every required column missing,
    with the aliases tried and the columns the file has.
    """
    have = {norm_key(c): c for c in df.columns}
    found, problems = {}, []
    for name, names in aliases.items():
        wanted = [overrides[name]] if overrides.get(name) else list(names)
        hit = next((have[norm_key(n)] for n in wanted if norm_key(n) in have), None)
        if hit is not None:
            found[name] = hit
        elif overrides.get(name):
            problems.append(
                Problem(
                    table,
                    file,
                    None,
                    overrides[name],
                    f"the mapping names column '{overrides[name]}' for {name}, but the file has no such column; it has: {', '.join(df.columns)}",
                )
            )
        elif name in required:
            problems.append(
                Problem(
                    table,
                    file,
                    None,
                    names[0],
                    f"required column for {name} is missing (looked for {', '.join(repr(n) for n in names)}); "
                    f"the file has: {', '.join(df.columns)}. Name the column in the mapping file's columns table",
                )
            )
    if problems:
        raise VillageError(problems, source=file)
    return found


# --------------------------------------------------------------------------- dates

_DIGITS = re.compile(r"^\d+(\.0+)?$")
_AWARE = r"(?:Z|[+-]\d{2}:?\d{2})$"


def date_options(dates: dict) -> tuple[list, str | None, str | None]:
    """``(formats, timezone, source_timezone)`` from the mapping's ``[dates]`` section.

    ``formats`` (a list; a single ``format`` is accepted too) are strftime formats tried before
    ISO 8601; ``timezone`` is the zone village dates are expressed in; ``source_timezone`` the
    zone of export times that carry none (default: ``timezone``, i.e. no shift).
    """
    formats = list(dates.get("formats") or [])
    if dates.get("format"):
        formats.insert(0, dates["format"])
    tz = dates.get("timezone")
    return formats, tz, dates.get("source_timezone") or tz


def parse_dates(values: pd.Series, dates: dict, *, keep_time=False) -> tuple[pd.Series, np.ndarray]:
    """Parse exported dates to naive ``datetime64[ns]`` days in the mapping's time zone.

    Digit-only values of 12-13 digits are Unix milliseconds (HubSpot's exports of datetime
    properties), of 9-10 digits Unix seconds; both are UTC and converted to ``timezone``
    (UTC when none is given). Text is tried with the mapping's ``formats`` in order, then as
    ISO 8601, then in any form pandas reads; text with an offset (``Z``, ``+02:00``) is converted
    to ``timezone`` (UTC when none); naive text is taken to be in ``source_timezone`` and
    converted to ``timezone`` when both are given and differ (else kept as written). The time
    is then dropped (a village date is a day) unless ``keep_time``. Each distinct value is
    parsed once. Returns the dates and a mask of non-blank values that are not dates.

    Examples
    --------
    >>> s, bad = parse_dates(pd.Series(["1709647200000", "2024-03-05", "not a date", None]), {}, keep_time=True)
    >>> s.dt.strftime("%Y-%m-%d %H:%M").tolist()[:2], bad.tolist()
    (['2024-03-05 14:00', '2024-03-05 00:00'], [False, False, True, False])
    >>> parse_dates(pd.Series(["1709680000000"]), {"timezone": "America/New_York"})[0].dt.strftime("%Y-%m-%d").tolist()
    ['2024-03-05']
    >>> parse_dates(pd.Series(["05/03/2024"]), {"formats": ["%d/%m/%Y"]})[0].tolist()
    [Timestamp('2024-03-05 00:00:00')]
    """
    formats, tz, source_tz = date_options(dates)
    present = values.notna().to_numpy()
    codes, distinct = pd.factorize(values.astype(object).where(values.notna(), None))
    text = pd.Series(distinct, dtype=object).astype(str).str.strip()
    n = len(text)
    out = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    todo = np.ones(n, bool)

    def take(mask, parsed):
        ok = mask & parsed.notna().to_numpy()
        out[ok] = parsed.to_numpy(dtype="datetime64[ns]")[ok]
        todo[ok] = False

    digits = text.str.fullmatch(_DIGITS.pattern).to_numpy() if n else np.zeros(0, bool)
    if digits.any():
        ndig = text.str.split(".").str[0].str.len().to_numpy()
        num = pd.to_numeric(text.where(digits), errors="coerce")
        for unit, lo, hi in (("ms", 12, 13), ("s", 9, 10)):
            m = digits & (ndig >= lo) & (ndig <= hi)
            if m.any():
                ts = pd.to_datetime(num.where(m), unit=unit, utc=True).dt.tz_convert(tz or "UTC").dt.tz_localize(None)
                take(m, ts)
    aware = text.str.contains(_AWARE, regex=True).to_numpy() if n else np.zeros(0, bool)
    for fmt in formats:
        if todo.any():
            take(todo & ~aware, pd.to_datetime(text.where(todo & ~aware), format=fmt, errors="coerce"))
    if todo.any() and aware.any():
        parsed = pd.to_datetime(text.where(todo & aware), format="ISO8601", errors="coerce", utc=True)
        take(todo & aware, parsed.dt.tz_convert(tz or "UTC").dt.tz_localize(None))
    naive_from = todo & ~aware & ~digits
    for fmt in ("ISO8601", "mixed"):
        rest = todo & ~aware & ~digits
        if not rest.any():
            break
        try:
            parsed = pd.to_datetime(text.where(rest), format=fmt, errors="coerce")
        except (ValueError, TypeError):
            continue
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_localize(None)
        take(rest, parsed)
    naive = naive_from & ~todo
    if source_tz and tz and source_tz != tz and naive.any():
        local = pd.Series(out[naive]).dt.tz_localize(source_tz, ambiguous="NaT", nonexistent="shift_forward")
        out[naive] = local.dt.tz_convert(tz).dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    if not keep_time:
        out = pd.Series(out).dt.normalize().to_numpy(dtype="datetime64[ns]")
    result = pd.Series(np.append(out, np.datetime64("NaT"))[codes], index=values.index, dtype="datetime64[ns]")
    bad = present & np.append(todo, False)[codes]
    return result, bad


PERIODS = {"year": "Y", "quarter": "Q", "month": "M"}


def period_end(dates: pd.Series, period: str = "year") -> pd.Series:
    """Last day of the calendar year (quarter, month) each date falls in: the outcome's ``period_end``.

    Examples
    --------
    >>> period_end(pd.Series(pd.to_datetime(["2024-03-05", "2024-12-31"]))).dt.strftime("%Y-%m-%d").tolist()
    ['2024-12-31', '2024-12-31']
    >>> period_end(pd.Series(pd.to_datetime(["2024-03-05"])), "quarter").dt.strftime("%Y-%m-%d").tolist()
    ['2024-03-31']
    """
    if period not in PERIODS:
        raise VillageError(
            [
                Problem(
                    "mapping",
                    "mapping",
                    None,
                    "renewals.period",
                    f"period={period!r}; expected one of {', '.join(PERIODS)}",
                )
            ]
        )
    return dates.dt.to_period(PERIODS[period]).dt.end_time.dt.normalize()


# --------------------------------------------------------------------------- roles


def role_table(mapping) -> dict:
    """Picklist value -> (role, department, veto): the defaults, overridden by the mapping's ``[roles]``.

    A mapping value is ``"role"`` or ``"role/department"`` (``"gatekeeper/legal"``); ``""`` or
    ``"none"`` ignores the picklist value (role from the title). Keys are case-insensitive.
    """
    table = dict(DEFAULT_ROLES)
    problems = []
    for key, value in section(mapping, "roles").items():
        text = "" if value is None else str(value).strip().lower()
        if text in ("", "none"):
            table[norm_key(key)] = (None, None, None)
            continue
        role, _, dept = text.partition("/")
        if role not in ROLES:
            problems.append(
                Problem(
                    "mapping",
                    "mapping",
                    None,
                    "roles",
                    f"roles: '{key}' = '{value}': role '{role}' is not one of {', '.join(ROLES)}; write \"role\" or \"role/department\"",
                )
            )
            continue
        table[norm_key(key)] = (role, dept.strip() or None, DEFAULT_ROLES.get(norm_key(key), (None, None, None))[2])
    if problems:
        raise VillageError(problems, source="mapping")
    return table


def map_roles(values: pd.Series, table: dict, sep=";") -> pd.DataFrame:
    """Map picklist cells (multi-select joined by ``sep``) to ``role``, ``department``, ``veto``.

    Returns a frame on the same index with those columns plus ``unmapped`` (the values no
    entry knows, joined by ``;``). The role deciding most wins (:data:`ROLE_PRIORITY`); the
    department comes with it (else from another value); veto is True when any value carries it.

    Examples
    --------
    >>> map_roles(pd.Series(["DECISION_MAKER;BLOCKER", "End User", "Wizard", None]), role_table(None))
          role department  veto unmapped
    0  decider        NaN  True      NaN
    1     user        NaN   NaN      NaN
    2      NaN        NaN   NaN   Wizard
    3      NaN        NaN   NaN      NaN
    """
    rank = {r: i for i, r in enumerate(ROLE_PRIORITY)}
    codes, cells = pd.factorize(values.astype(object).where(values.notna(), None))
    rows = []
    for cell in cells:  # each distinct picklist cell once
        parts = [p.strip() for p in re.split(r"[;|]", str(cell)) if p.strip()] if sep else [str(cell)]
        hits, unknown = [], []
        for p in parts:
            entry = table.get(norm_key(p))
            (hits if entry is not None else unknown).append(entry if entry is not None else p)
        roles = sorted((h for h in hits if h[0]), key=lambda h: rank[h[0]])
        role = roles[0][0] if roles else np.nan
        dept = roles[0][1] if roles and roles[0][1] else next((h[1] for h in hits if h[1]), np.nan)
        veto = True if any(h[2] is True for h in hits) else np.nan
        rows.append((role, dept, veto, ";".join(unknown) if unknown else np.nan))
    rows.append((np.nan, np.nan, np.nan, np.nan))  # blank cells (code -1)
    table_ = pd.DataFrame(rows, columns=["role", "department", "veto", "unmapped"], dtype=object)
    out = table_.iloc[codes].set_axis(values.index)
    return out


# --------------------------------------------------------------------------- outcomes


def outcomes_from_deals(deals: pd.DataFrame, *, period="year", source="deals") -> tuple[pd.DataFrame, list]:
    """Renewals and bookings per account and period (calendar year by default) from closed deals / opportunities.

    ``deals`` has ``account_id``, ``close_date``, ``state`` ("won", "lost", "open"),
    ``renewal`` (bool), ``amount`` and optionally ``row`` (the spreadsheet row, kept as
    ``source_row`` of the period's first deal). ``renewed`` is 1 when a renewal deal of the period was
    won, 0 when the period's renewal deals were all lost; ``bookings`` is the sum of the
    amounts of every deal won in the period (renewal or not). Periods with bookings but no
    closed renewal decision get no outcome row (an outcome needs ``renewed``), and are counted
    in the notes.

    Examples
    --------
    >>> d = pd.DataFrame({"account_id": ["A", "A", "A", "B"], "state": ["won", "won", "lost", "lost"],
    ...                   "close_date": pd.to_datetime(["2024-11-30", "2024-03-01", "2025-11-30", "2024-12-01"]),
    ...                   "renewal": [True, False, True, True], "amount": [100.0, 50.0, 80.0, 70.0]})
    >>> outcomes_from_deals(d)[0].drop(columns=["source_file", "source_row"])
      account_id period_end  renewed  bookings
    0          A 2024-12-31      1.0     150.0
    1          A 2025-12-31      0.0       0.0
    2          B 2024-12-31      0.0       0.0
    """
    notes = []
    closed = deals[
        deals["state"].isin(["won", "lost"]) & deals["close_date"].notna() & deals["account_id"].notna()
    ].copy()
    if closed.empty:
        return pd.DataFrame(columns=["account_id", "period_end", "renewed", "bookings", "source_file", "source_row"]), [
            f"{source}: no closed deals, so no outcomes"
        ]
    closed["period_end"] = period_end(closed["close_date"], period)
    closed["won_amount"] = np.where(
        closed["state"].eq("won"), pd.to_numeric(closed["amount"], errors="coerce").fillna(0.0), 0.0
    )
    closed["renew_won"] = (closed["renewal"] & closed["state"].eq("won")).astype(float)
    closed["renew_any"] = closed["renewal"].astype(float)
    if "row" not in closed:
        closed["row"] = np.arange(2, len(closed) + 2)
    g = closed.groupby(["account_id", "period_end"], sort=True)
    out = g.agg(
        renewed=("renew_won", "max"),
        any_renewal=("renew_any", "max"),
        bookings=("won_amount", "sum"),
        source_row=("row", "min"),
    ).reset_index()
    orphan = out["any_renewal"].eq(0)
    if orphan.any():
        notes.append(
            f"{source}: {int(orphan.sum())} account-period(s) had closed deals but no closed renewal deal; "
            "an outcome needs renewed, so their bookings are not used (say which deals are renewals in the mapping)"
        )
    out = out[~orphan].drop(columns="any_renewal").reset_index(drop=True)
    out["source_file"] = source
    return out[["account_id", "period_end", "renewed", "bookings", "source_file", "source_row"]], notes


def dropped_rows(mask, rows, file, reason) -> list:
    """Dropped entries for the rows where ``mask`` holds."""
    return [{"file": file, "row": int(r), "reason": reason} for r in np.asarray(rows)[np.asarray(mask, dtype=bool)]]


def email_key(s: pd.Series) -> pd.Series:
    """E-mails compared case-insensitively, blank as NaN."""
    return (
        s.astype(object)
        .where(s.notna(), None)
        .map(lambda v: v.strip().lower() if isinstance(v, str) and v.strip() else np.nan)
    )
