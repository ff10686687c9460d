"""Helpers shared by the CRM readers (HubSpot, Gainsight) and the account team's workbook.

Everything here works on exports read as text: column names are found through alias lists
(the vendor's API name, its UI label, and any override from the mapping file), dates are parsed
with the rules of the mapping's ``[dates]`` section (Unix-millisecond timestamps as HubSpot writes
them are recognised), buying-role picklists are mapped to village roles through one table that the
mapping's ``[roles]`` section overrides, and long one-row-per-answer survey tables are pivoted to
one row per response. Rows that cannot be used are returned as ``dropped`` entries (file, row,
reason), never silently lost.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from cxinfluence.exceptions import Problem, VillageError
from cxinfluence.schema import ROLES, SCORE_RANGES

#: Default picklist value -> (role, department, veto). Keys are normalised with :func:`norm_key`
#: (upper case, runs of other characters -> "_"), so HubSpot's internal value ``DECISION_MAKER``
#: and the label "Decision Maker" (Gainsight, HubSpot UI exports) are the same entry. ``veto``
#: None means "default by role" (cxinfluence.schema.VETO_BY_ROLE).
DEFAULT_ROLES = {
    # HubSpot hs_buying_role internal values
    "BLOCKER": ("gatekeeper", None, True),            # can stop the purchase: a gatekeeper holding a veto
    "BUDGET_HOLDER": ("decider", "finance", None),     # controls the budget: economic buyer, signs
    "CHAMPION": ("influencer", None, None),            # advocates for us; carries weight, does not sign
    "DECISION_MAKER": ("decider", None, None),
    "END_USER": ("user", None, None),
    "EXECUTIVE_SPONSOR": ("decider", "executive", None),
    "INFLUENCER": ("influencer", None, None),
    "LEGAL_AND_COMPLIANCE": ("gatekeeper", "legal", None),
    "OTHER": (None, None, None),                       # says nothing: role comes from the title
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

#: Question text -> village item, tried in order when neither the survey type nor the mapping says.
QUESTION_RULES = (
    (re.compile(r"recommend", re.IGNORECASE), "nps"),
    (re.compile(r"\btrust", re.IGNORECASE), "trust"),
    (re.compile(r"cared? (for|about)|cares about|feel (valued|cared)", re.IGNORECASE), "cared_for"),
    (re.compile(r"effort", re.IGNORECASE), "ces"),
    (re.compile(r"\beas(y|e|ier|ily)\b", re.IGNORECASE), "neteasy"),
    (re.compile(r"satisf", re.IGNORECASE), "csat"),
    (re.compile(r"comment|reason|why|tell us|anything else|feedback|suggest", re.IGNORECASE), "comment"),
)

ITEMS = tuple(SCORE_RANGES)


def norm_key(text) -> str:
    """A picklist value or column name, normalised for case- and punctuation-free matching.

    Examples
    --------
    >>> norm_key("Decision Maker"), norm_key(" legal_and_compliance "), norm_key("Company Person ID")
    ('DECISION_MAKER', 'LEGAL_AND_COMPLIANCE', 'COMPANY_PERSON_ID')
    """
    return re.sub(r"[^0-9A-Z]+", "_", str(text).upper()).strip("_")


def section(mapping, name) -> dict:
    """The ``name`` section of a parsed mapping file (a dict), or an empty dict."""
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        raise TypeError(f"mapping={type(mapping).__name__}; expected the parsed mapping file as a dict (or None)")
    value = mapping.get(name) or {}
    if not isinstance(value, dict):
        raise VillageError([Problem("mapping", "mapping", None, name, f"section [{name}] must be a table of settings, got {value!r}")])
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
        raise VillageError([Problem(source, str(folder), None, None, f"{source} export folder not found; expected a folder of the CSV files exported from {source}")])
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
        raise VillageError([Problem(table, path.name, None, None, "file is empty; expected a header row with the column names")]) from None
    df.columns = [str(c).strip() for c in df.columns]
    df = df.apply(lambda s: s.str.strip()).replace("", np.nan)
    rows = np.arange(2, len(df) + 2, dtype=np.int64)
    keep = df.notna().any(axis=1).to_numpy()
    blank = int((~keep).sum())
    return df[keep].reset_index(drop=True), rows[keep], blank


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
            problems.append(Problem(table, file, None, overrides[name], f"the mapping names column '{overrides[name]}' for {name}, but the file has no such column; it has: {', '.join(df.columns)}"))
        elif name in required:
            problems.append(Problem(table, file, None, names[0], f"required column for {name} is missing (looked for {', '.join(repr(n) for n in names)}); the file has: {', '.join(df.columns)}. Name the column in the mapping file's columns table"))
    if problems:
        raise VillageError(problems, source=file)
    return found


# --------------------------------------------------------------------------- dates

_DIGITS = re.compile(r"^\d+(\.0+)?$")


def parse_dates(values: pd.Series, dates: dict) -> tuple[pd.Series, np.ndarray]:
    """Parse exported dates to naive ``datetime64[ns]`` in the mapping's time zone.

    Digit-only values of 12-13 digits are Unix milliseconds (HubSpot's API and export of
    datetime properties), of 9-10 digits Unix seconds; both are UTC and converted to
    ``dates["timezone"]`` (default UTC). Text dates use ``dates["format"]`` when given, else
    ISO/automatic parsing; text with an offset (``Z``, ``+02:00``) is converted too. Returns the
    parsed series and a mask of non-blank values that could not be parsed.

    Examples
    --------
    >>> s, bad = parse_dates(pd.Series(["1709647200000", "2024-03-05", "not a date", None]), {})
    >>> s.dt.strftime("%Y-%m-%d %H:%M").tolist()[:2], bad.tolist()
    (['2024-03-05 14:00', '2024-03-05 00:00'], [False, False, True, False])
    >>> parse_dates(pd.Series(["1709647200000"]), {"timezone": "America/New_York"})[0].dt.hour.tolist()
    [9]
    """
    tz = dates.get("timezone") or "UTC"
    fmt = dates.get("format")
    text = values.astype(object).where(values.notna(), None)
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    present = text.notna().to_numpy()
    s = text[present].astype(str).str.strip()
    digits = s.str.fullmatch(_DIGITS.pattern)
    if digits.any():
        num = pd.to_numeric(s[digits], errors="coerce")
        ndig = s[digits].str.split(".").str[0].str.len()
        unit_ms = ndig.between(12, 13)
        unit_s = ndig.between(9, 10)
        for mask, unit in ((unit_ms, "ms"), (unit_s, "s")):
            idx = mask[mask].index
            if len(idx):
                ts = pd.to_datetime(num[idx], unit=unit, utc=True).dt.tz_convert(tz).dt.tz_localize(None)
                out[idx] = ts.astype("datetime64[ns]")
        if fmt:  # e.g. "%Y%m%d"
            rest = digits[digits].index.difference(unit_ms[unit_ms].index).difference(unit_s[unit_s].index)
            if len(rest):
                out[rest] = pd.to_datetime(s[rest], format=fmt, errors="coerce")
    other = s[~digits]
    if len(other):
        if fmt:
            parsed = pd.to_datetime(other, format=fmt, errors="coerce")
            if getattr(parsed.dt, "tz", None) is not None:
                parsed = parsed.dt.tz_convert(tz).dt.tz_localize(None)
        else:
            parsed = pd.Series(pd.NaT, index=other.index, dtype="datetime64[ns]")
            for i, v in other.items():
                try:
                    ts = pd.Timestamp(v)
                except (ValueError, TypeError, OverflowError):
                    continue
                if ts is pd.NaT:
                    continue
                if ts.tzinfo is not None:
                    ts = ts.tz_convert(tz).tz_localize(None)
                parsed[i] = ts
        out[other.index] = parsed.astype("datetime64[ns]")
    bad = present & out.isna().to_numpy()
    return out, bad


def period_end(dates: pd.Series, fiscal_year_end_month: int = 12) -> pd.Series:
    """Last day of the fiscal year each date falls in (calendar year by default).

    Examples
    --------
    >>> period_end(pd.Series(pd.to_datetime(["2024-03-05", "2024-12-31"]))).dt.strftime("%Y-%m-%d").tolist()
    ['2024-12-31', '2024-12-31']
    >>> period_end(pd.Series(pd.to_datetime(["2024-07-01"])), 6).dt.strftime("%Y-%m-%d").tolist()
    ['2025-06-30']
    """
    m = int(fiscal_year_end_month)
    if not 1 <= m <= 12:
        raise VillageError([Problem("mapping", "mapping", None, "fiscal_year_end_month", f"fiscal_year_end_month={m!r}; expected a month number 1-12")])
    months = pd.tseries.frequencies.to_offset(f"YE-{['JAN','FEB','MAR','APR','MAY','JUN','JUL','AUG','SEP','OCT','NOV','DEC'][m - 1]}")
    return dates.dt.to_period(months.freqstr.replace("YE", "Y")).dt.end_time.dt.normalize()


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
            problems.append(Problem("mapping", "mapping", None, "roles", f"roles: '{key}' = '{value}': role '{role}' is not one of {', '.join(ROLES)}; write \"role\" or \"role/department\""))
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
    out = pd.DataFrame({"role": np.nan, "department": np.nan, "veto": np.nan, "unmapped": np.nan}, index=values.index, dtype=object)
    cache = {}
    for i, cell in values.items():
        if not isinstance(cell, str) or not cell.strip():
            continue
        if cell not in cache:
            parts = [p.strip() for p in re.split(r"[;|]", cell) if p.strip()] if sep else [cell]
            hits, unknown = [], []
            for p in parts:
                entry = table.get(norm_key(p))
                (hits if entry is not None else unknown).append(entry if entry is not None else p)
            roles = sorted((h for h in hits if h[0]), key=lambda h: rank[h[0]])
            role = roles[0][0] if roles else np.nan
            dept = roles[0][1] if roles and roles[0][1] else next((h[1] for h in hits if h[1]), np.nan)
            veto = True if any(h[2] is True for h in hits) else np.nan
            cache[cell] = (role, dept, veto, ";".join(unknown) if unknown else np.nan)
        out.loc[i] = cache[cell]
    return out


# --------------------------------------------------------------------------- answers


def score(values: pd.Series) -> pd.Series:
    """Numbers from answer cells: "9", "9.0" and labels that start with the number ("9 - Very likely").

    Examples
    --------
    >>> score(pd.Series(["9", "10 - Extremely likely", "great", None])).tolist()
    [9.0, 10.0, nan, nan]
    """
    text = values.astype(object).where(values.notna(), None).astype(str)
    return pd.to_numeric(text.str.extract(r"^\s*(-?\d+(?:\.\d+)?)\b", expand=False), errors="coerce")


def item_of_question(text, overrides: dict) -> str | None:
    """Village item for a question (or survey name): the mapping first, then :data:`QUESTION_RULES`."""
    if not isinstance(text, str):
        return None
    low = {norm_key(k): v for k, v in overrides.items()}
    hit = low.get(norm_key(text))
    if hit is not None:
        return str(hit).strip().lower() or None
    for pattern, item in QUESTION_RULES:
        if pattern.search(text):
            return item
    return None


def check_question_map(overrides: dict, source: str) -> None:
    bad = [Problem("mapping", "mapping", None, f"{source}.questions", f"questions: '{k}' = '{v}'; expected one of {', '.join(ITEMS + ('comment', 'ignore'))}")
           for k, v in overrides.items() if str(v).strip().lower() not in ITEMS + ("comment", "ignore")]
    if bad:
        raise VillageError(bad, source="mapping")


def pivot_answers(long: pd.DataFrame, *, file: str) -> tuple[pd.DataFrame, list, list]:
    """Pivot long answers (one row per answer) to one row per response.

    ``long`` has columns ``response_key`` (rows with the same key form one response),
    ``response_id``, ``contact_id``, ``email``, ``date``, ``item`` (a village item or
    ``"comment"``), ``value`` (text), ``row`` (spreadsheet row). Scores outside the village
    scale, answers to unknown items and repeated answers to one item are dropped with their row
    (the later answer of a repeat is kept). Returns answers, dropped entries and notes.
    """
    dropped, notes = [], []
    df = long.copy()
    is_comment = df["item"].eq("comment")
    df["score"] = np.where(is_comment, np.nan, score(df["value"]))
    # unusable rows
    for test, reason in (
        (lambda d: d["item"].isna(), "question not recognised as NPS/CSAT/CES/NetEasy/trust/cared-for or a comment; name it in the mapping's questions table"),
        (lambda d: d["item"].ne("comment") & d["value"].notna() & d["score"].isna(), "answer is not a number"),
        (lambda d: d["value"].isna(), "no answer"),
    ):
        mask = test(df)
        for r in df.loc[mask, "row"]:
            dropped.append({"file": file, "row": int(r), "reason": reason})
        df = df[~mask]
    is_comment = df["item"].eq("comment")
    scored = ~is_comment
    lo = df["item"].map(lambda i: SCORE_RANGES.get(i, (np.nan, np.nan))[0])
    hi = df["item"].map(lambda i: SCORE_RANGES.get(i, (np.nan, np.nan))[1])
    off = scored & ((df["score"] < lo) | (df["score"] > hi) | (df["score"] % 1 != 0))
    for r, it, v in df.loc[off, ["row", "item", "score"]].itertuples(index=False):
        lo_, hi_ = SCORE_RANGES[it]
        dropped.append({"file": file, "row": int(r), "reason": f"{it} answer {v:g} is outside the village scale {lo_}-{hi_} (whole numbers)"})
    df = df[~off]
    # repeats: keep the last answer per (response, item)
    rep = df.duplicated(["response_key", "item"], keep="last") & df["item"].ne("comment")
    for r, it in df.loc[rep, ["row", "item"]].itertuples(index=False):
        dropped.append({"file": file, "row": int(r), "reason": f"{it} answered again in the same response; the later answer is kept"})
    if rep.any():
        notes.append(f"{file}: {int(rep.sum())} repeated answer(s) to one question in one response; the later answer was kept")
    df = df[~rep]
    if df.empty:
        return pd.DataFrame(columns=["response_id", "contact_id", "email", "date", *ITEMS, "comment", "channel", "source_file", "source_row"]), dropped, notes
    g = df.groupby("response_key", sort=False)
    head = g.agg(response_id=("response_id", "first"), contact_id=("contact_id", "first"), email=("email", "first"),
                 date=("date", "max"), source_row=("row", "min"))
    scores = df[df["item"] != "comment"].pivot(index="response_key", columns="item", values="score")
    comments = df[df["item"] == "comment"].groupby("response_key")["value"].agg(lambda s: " | ".join(s.astype(str)))
    out = head.join(scores).join(comments.rename("comment"))
    for it in ITEMS:
        if it not in out:
            out[it] = np.nan
    if "comment" not in out:
        out["comment"] = np.nan
    out["channel"] = "survey"
    out["source_file"] = file
    out = out.reset_index(drop=True)
    return out[["response_id", "contact_id", "email", "date", *ITEMS, "comment", "channel", "source_file", "source_row"]], dropped, notes


# --------------------------------------------------------------------------- outcomes


def outcomes_from_deals(deals: pd.DataFrame, *, fiscal_year_end_month=12, source="deals") -> tuple[pd.DataFrame, list]:
    """Renewals and bookings per account and fiscal year from closed deals / opportunities.

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
    closed = deals[deals["state"].isin(["won", "lost"]) & deals["close_date"].notna() & deals["account_id"].notna()].copy()
    if closed.empty:
        return pd.DataFrame(columns=["account_id", "period_end", "renewed", "bookings", "source_file", "source_row"]), [f"{source}: no closed deals, so no outcomes"]
    closed["period_end"] = period_end(closed["close_date"], fiscal_year_end_month)
    closed["won_amount"] = np.where(closed["state"].eq("won"), pd.to_numeric(closed["amount"], errors="coerce").fillna(0.0), 0.0)
    closed["renew_won"] = (closed["renewal"] & closed["state"].eq("won")).astype(float)
    closed["renew_any"] = closed["renewal"].astype(float)
    if "row" not in closed:
        closed["row"] = np.arange(2, len(closed) + 2)
    g = closed.groupby(["account_id", "period_end"], sort=True)
    out = g.agg(renewed=("renew_won", "max"), any_renewal=("renew_any", "max"), bookings=("won_amount", "sum"),
                source_row=("row", "min")).reset_index()
    orphan = out["any_renewal"].eq(0)
    if orphan.any():
        notes.append(f"{source}: {int(orphan.sum())} account-period(s) had won deals but no closed renewal deal; "
                     "an outcome needs renewed, so their bookings are not used (say which deals are renewals in the mapping)")
    out = out[~orphan].drop(columns="any_renewal").reset_index(drop=True)
    out["source_file"] = source
    return out[["account_id", "period_end", "renewed", "bookings", "source_file", "source_row"]], notes


def dropped_rows(mask, rows, file, reason) -> list:
    """Dropped entries for the rows where ``mask`` holds."""
    return [{"file": file, "row": int(r), "reason": reason} for r in np.asarray(rows)[np.asarray(mask, dtype=bool)]]


def email_key(s: pd.Series) -> pd.Series:
    """E-mails compared case-insensitively, blank as NaN."""
    return s.astype(object).where(s.notna(), None).map(lambda v: v.strip().lower() if isinstance(v, str) and v.strip() else np.nan)
