"""Buying-center roles and departments inferred from job titles.

CRM exports rarely carry a buying role. :func:`complete_roles` fills a blank
``role`` (Webster & Wind 1972: decider, buyer, user, influencer, gatekeeper)
and a blank ``department`` from ``title`` with an ordered rule table, fills a
blank ``veto`` from :data:`cxinfluence.village.schema.VETO_BY_ROLE` and records where
each value came from (``role_source``, ``veto_source``). A title that names a
rank but no function ("Manager", "Specialist") takes the role of the person's
department when it is known, else the documented default (influencer); titles
that match no rule at all are left blank and reported, never guessed.
:func:`title_coverage` counts how each role was found (``cxinfluence
validate`` prints it).

The rule table
--------------
A table with columns ``pattern, role, department`` (``note`` and
``fallback`` optional), read top to bottom. The built-in table is ``cxinfluence/rules/roles.csv``; rules the
caller passes come first, so they override the built-ins.

* Titles are normalised before matching: lower case; ``.``, ``'`` and ``&`` are
  deleted (``V.P.`` -> ``vp``, ``EH&S`` -> ``ehs``, ``R&D`` -> ``rd``); every
  other run of punctuation or space becomes one space; common abbreviations are
  expanded (:data:`ABBREVIATIONS`: ``Mgr`` -> ``manager``, ``Dir`` ->
  ``director``, ``Sr``/``Jr``, ``Engr``/``Eng`` -> ``engineer``, ``GC`` ->
  ``general counsel``, ``Cnsl`` -> ``counsel``, ``Proc`` -> ``procurement``,
  ``Ops`` -> ``operations``, ``Mfg``, ``Admin``, ``Coord``, ``MIS``, ...).
  :func:`normalize_title` is the one place this happens. VP, SVP, EVP, AVP and
  GM are matched as they are.
* A ``pattern`` made only of words and punctuation (``"EHS manager"``,
  ``"V.P. Sales"``) is a keyword phrase: it is normalised the same way and must
  match whole words. A pattern that contains a regular-expression character
  (one of ``\\ | ( ) [ ] { } * + ? ^ $``) is a regular expression searched,
  case-insensitively, in the normalised title.
* **role** comes from the first rule that matches and has a role;
  **department** from the first rule that matches and has a department. A rule
  may give only one of the two, so rank words ("Director", "VP") can set the
  role while function words ("purchasing", "maintenance") set the department:
  ``"Director of Purchasing"`` -> decider / procurement.

Order of the built-in rules, and the choices it encodes:

0. Lawyers: counsel, general counsel, attorney, legal -> gatekeeper/legal,
   before any rank, so ``"VP & GC"``, ``"SVP, General Counsel"`` and
   ``"President and General Counsel"`` are legal gatekeepers, never deciders.
1. Executives with a function: CFO -> decider/finance, CIO/CISO ->
   gatekeeper/it, COO, CTO, CPO, CEO/president/owner/general manager ->
   decider; plant, site, factory or mill manager -> decider/operations.
2. Gatekeeping functions at *any* rank: IT/security, EHS/HSE/safety/
   environment, quality/QA/QC, facilities, legal/compliance -> gatekeeper.
   The function's power to block outranks the person's occupation or rank, so
   ``"Quality Engineer"`` is a quality gatekeeper (not an engineering
   influencer) and ``"IT Director"`` is an IT gatekeeper.
3. Rank: other chiefs, VPs, directors and heads -> decider (department from
   the function words further down).
4. Purchasing, procurement, buyer, sourcing, category/commodity manager,
   supply chain -> buyer/procurement. Being below rank 3, a ``"Purchasing
   Manager"`` is a buyer, while a ``"Purchasing Director"`` is a decider.
5. Controller, finance, accounting -> influencer/finance (only the CFO and
   finance executives of rank 3 decide).
6. Engineer, R&D, design -> influencer (department engineering unless a more
   specific one applies: ``"Maintenance Engineer"`` -> influencer/maintenance).
7. Supervisors and operations/production managers, then operators,
   technicians, mechanics, maintenance, planners, logistics -> user
   (department maintenance or operations).
8. HR, commercial functions, analysts and consultants -> influencer.
9. Department-only rules: maintenance, engineering, operations.
10. Assistants, secretaries and clerks -> influencer/administration (Webster &
    Wind count them among gatekeepers because they route information, but here
    a gatekeeper can block the deal and vetoes by default).
11. The fallback rule (``fallback`` = true): a rank or seniority word without
    a function (Manager, Specialist, Coordinator, Associate, Administrator,
    Assistant, Officer, Lead, Principal, ...) -> influencer. When the person's
    department is known (from the data, e.g. a CRM ``Department`` field), the
    role its name classifies to wins: "Manager" in Purchasing -> buyer, in
    Quality -> gatekeeper, in Finance -> influencer; a department that names no
    function ("Executive") keeps the default. Directors and VPs keep their rank
    (decider) and take the department from the data.

A title none of these match ("Widget Wrangler", "Product Owner") stays
unclassified: add a rule rather than let the package guess.

References
----------
Webster, F. E. & Wind, Y. (1972). A general model for understanding
organizational buying behavior. *Journal of Marketing*, 36(2), 12-19.
"""

from __future__ import annotations

import os
import re
import warnings
from importlib import resources

import numpy as np
import pandas as pd

from ..exceptions import Problem, RoleRuleError, UnclassifiedTitleWarning, VillageError
from .schema import ROLES, VETO_BY_ROLE

#: Abbreviations expanded (as whole words) when titles and keyword patterns are normalised.
ABBREVIATIONS = {
    "mgr": "manager",
    "mngr": "manager",
    "mgmt": "management",
    "dir": "director",
    "engr": "engineer",
    "eng": "engineer",
    "tech": "technician",
    "maint": "maintenance",
    "supv": "supervisor",
    "supvr": "supervisor",
    "asst": "assistant",
    "sr": "senior",
    "jr": "junior",
    "gc": "general counsel",
    "cnsl": "counsel",
    "gen": "general",
    "proc": "procurement",
    "purch": "purchasing",
    "ops": "operations",
    "admin": "administrator",
    "coord": "coordinator",
    "spec": "specialist",
    "supt": "superintendent",
    "mfg": "manufacturing",
    "prod": "production",
    "qual": "quality",
    "exec": "executive",
    "assoc": "associate",
    "mktg": "marketing",
    "acct": "accounting",
    "acctg": "accounting",
    "fin": "finance",
    "env": "environmental",
    "whse": "warehouse",
    "mgt": "management",
    "mis": "management information systems",
}

_REGEX_CHARS = set("\\|()[]{}*+?^$")
_RULE_COLUMNS = ["pattern", "role", "department", "note", "fallback"]
_TRUE = {"true", "t", "yes", "y", "1"}
_VETO_TEXT = {
    "true": True, "t": True, "yes": True, "y": True, "1": True, "1.0": True,
    "false": False, "f": False, "no": False, "n": False, "0": False, "0.0": False,
}


def normalize_title(title) -> str:
    """Normalise a job title for matching: lower case, no punctuation, abbreviations expanded.

    >>> normalize_title("Sr. V.P., EH&S / Plant-Maint. Mgr.")
    'senior vp ehs plant maintenance manager'
    >>> normalize_title(None)
    ''
    """
    if title is None or (isinstance(title, float) and np.isnan(title)) or title is pd.NA:
        return ""
    text = re.sub(r"[.'\u2019&]", "", str(title).casefold())
    words = re.sub(r"[\W_]+", " ", text).split()
    return " ".join(ABBREVIATIONS.get(w, w) for w in words)


def _pattern_regex(pattern: str) -> str:
    """The regular expression a rule's pattern stands for (see module docstring)."""
    if any(c in _REGEX_CHARS for c in pattern):
        return pattern
    phrase = normalize_title(pattern)
    return r"\b" + re.escape(phrase).replace(r"\ ", " ") + r"\b" if phrase else ""


def _blank(values: pd.Series) -> pd.Series:
    """True where a value is missing or only whitespace."""
    text = values.astype("string").str.strip()
    return (values.isna() | (text == "")).fillna(True).astype(bool)


def _distinct(values) -> tuple[np.ndarray, pd.Series]:
    """``(codes, uniques)`` with ``values == uniques[codes]``; code -1 for a missing value.

    Lets per-value work (normalising, classifying, parsing) run once per
    distinct value: a village has millions of stakeholders but a few thousand
    titles. Only text is deduplicated: hashing mixed Python objects would merge
    ``1``, ``1.0`` and ``True``, whose text differs, so other columns get one
    code per row.
    """
    if not isinstance(values, pd.Series):
        values = pd.Series(values, dtype=object)
    if pd.api.types.is_string_dtype(values.dtype) and (
        values.dtype != object or pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty")
    ):
        codes, uniques = pd.factorize(values)
        return codes, pd.Series(uniques)
    codes = np.arange(len(values))
    codes[values.isna().to_numpy()] = -1
    return codes, values.reset_index(drop=True)


def _take(per_unique: np.ndarray, codes: np.ndarray, missing=np.nan) -> np.ndarray:
    """``per_unique[codes]`` as an object array, ``missing`` where the code is -1."""
    return np.append(np.asarray(per_unique, dtype=object), np.array([missing], dtype=object))[codes]


def _rules_frame(rules, source: str) -> pd.DataFrame:
    """Turn a DataFrame, dict or CSV path into the rule-table columns."""
    if isinstance(rules, pd.DataFrame):
        frame = rules.copy()
    elif isinstance(rules, dict):
        rows = []
        for pattern, value in rules.items():
            if isinstance(value, str) or value is None:
                value = (value, None)
            if not isinstance(value, (tuple, list)) or len(value) != 2:
                raise RoleRuleError(
                    f"rules[{pattern!r}]={value!r} is not a (role, department) pair; "
                    "expected e.g. {'plant manager': ('decider', 'operations')}"
                )
            rows.append({"pattern": pattern, "role": value[0], "department": value[1]})
        frame = pd.DataFrame(rows, columns=["pattern", "role", "department"])
    elif isinstance(rules, (str, os.PathLike)):
        try:
            frame = pd.read_csv(rules, dtype=str, keep_default_na=False, na_values=[""])
        except FileNotFoundError as exc:
            raise RoleRuleError(f"rules={str(rules)!r}: file not found; expected a CSV with columns pattern, role, department") from exc
    else:
        raise RoleRuleError(
            f"rules={rules!r} has type {type(rules).__name__}; expected None, a DataFrame, "
            "a dict {pattern: (role, department)} or the path of a CSV file"
        )
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in ("pattern", "role", "department") if c not in frame.columns]
    if missing:
        raise RoleRuleError(
            f"{source} rule table lacks column(s) {missing}; got {list(frame.columns)}, "
            "expected pattern, role, department (note optional)"
        )
    if "note" not in frame.columns:
        frame["note"] = np.nan
    fallback = frame["fallback"] if "fallback" in frame.columns else pd.Series(np.nan, index=frame.index)
    frame["fallback"] = fallback.astype("string").str.strip().str.lower().isin(_TRUE).to_numpy()
    frame = frame[_RULE_COLUMNS].astype(object)
    for col in ("role", "department"):
        blank = _blank(frame[col])
        frame[col] = frame[col].where(blank, frame[col].astype(str).str.strip().str.lower())
        frame.loc[blank, col] = np.nan
    frame["source"] = source
    return frame


def _check_rules(frame: pd.DataFrame) -> None:
    problems = []
    for i, row in enumerate(frame.itertuples(index=False)):
        where = f"{row.source} rule {i + 1} (pattern {row.pattern!r})"
        if not isinstance(row.pattern, str) or not row.pattern.strip():
            problems.append(f"{where}: pattern is blank")
            continue
        regex = _pattern_regex(row.pattern)
        if not regex:
            problems.append(f"{where}: pattern has no letters or digits")
            continue
        try:
            re.compile(regex)
        except re.error as exc:
            problems.append(f"{where}: not a valid regular expression ({exc})")
        if pd.notna(row.role) and row.role not in ROLES:
            problems.append(f"{where}: role {row.role!r} is not one of {list(ROLES)}")
        if pd.isna(row.role) and pd.isna(row.department):
            problems.append(f"{where}: gives neither a role nor a department")
    if problems:
        raise RoleRuleError("invalid role rules:\n  - " + "\n  - ".join(problems) + "\nFix or remove these rules.")


def load_role_rules(rules=None) -> pd.DataFrame:
    """The ordered rule table: the caller's rules first, then the built-ins.

    Parameters
    ----------
    rules : DataFrame, dict, str or path, optional
        Extra rules that take precedence over the built-in table: a DataFrame
        or CSV file with columns ``pattern, role, department`` (``note``
        optional), or a dict ``{pattern: (role, department)}``. Either of role
        and department may be blank (``None``).

    Returns
    -------
    DataFrame
        Columns ``pattern, role, department, note, source, regex`` in matching
        order; ``source`` is ``"user"`` or ``"builtin"``; ``regex`` is what the
        pattern is matched as.

    Raises
    ------
    RoleRuleError
        Listing every malformed rule (bad regex, unknown role, ...).

    Examples
    --------
    >>> table = load_role_rules({"widget wrangler": ("user", "operations")})
    >>> table.loc[0, ["pattern", "role", "department", "source", "regex"]].tolist()
    ['widget wrangler', 'user', 'operations', 'user', '\\\\bwidget wrangler\\\\b']
    >>> int((table["source"] == "builtin").sum()) > 20
    True
    """
    with resources.files(__package__).joinpath("rules/roles.csv").open("r", encoding="utf-8") as fh:
        builtin = _rules_frame(pd.read_csv(fh, dtype=str, keep_default_na=False, na_values=[""]), "builtin")
    frames = [builtin] if rules is None else [_rules_frame(rules, "user"), builtin]
    table = pd.concat(frames, ignore_index=True)
    _check_rules(table)
    table["regex"] = table["pattern"].map(_pattern_regex)
    return table


def classify_titles(titles, rules=None) -> pd.DataFrame:
    """Role and department for each title, by the rule table.

    Parameters
    ----------
    titles : iterable of str
        Job titles (blank allowed).
    rules : DataFrame, dict, str or path, optional
        Extra rules, see :func:`load_role_rules`.

    Returns
    -------
    DataFrame
        One row per input title: ``title, normalized_title, role, department,
        role_rule, role_fallback`` (``role_rule`` is the pattern that set the
        role, NaN if none; ``role_fallback`` is True when that rule is a
        fallback, i.e. the documented default for a title that names a rank but
        no function, which :func:`complete_roles` replaces by the role of the
        person's department when the department is known).

    Examples
    --------
    >>> classify_titles(["Plant Manager", "Purchasing Mgr.", "Quality Engineer",
    ...                  "Director of Purchasing", "Maintenance Engineer", "VP & GC", "Manager", "Widget Wrangler"]
    ...                 )[["title", "role", "department", "role_fallback"]]
                        title        role   department  role_fallback
    0           Plant Manager     decider   operations          False
    1         Purchasing Mgr.       buyer  procurement          False
    2        Quality Engineer  gatekeeper      quality          False
    3  Director of Purchasing     decider  procurement          False
    4    Maintenance Engineer  influencer  maintenance          False
    5                 VP & GC  gatekeeper        legal          False
    6                 Manager  influencer          NaN           True
    7         Widget Wrangler         NaN          NaN          False
    """
    table = load_role_rules(rules)
    titles = pd.Series(list(titles), dtype=object)
    codes, distinct = _distinct(titles)
    normalized = pd.Series(_take(distinct.map(normalize_title).to_numpy(), codes, ""), dtype=object).infer_objects()
    unique = pd.Series(pd.unique(normalized), dtype=object)
    unique = unique[unique != ""].reset_index(drop=True)
    role = pd.Series(np.nan, index=unique.index, dtype=object)
    department = role.copy()
    rule = role.copy()
    fallback = pd.Series(False, index=unique.index, dtype=object)
    # loop over rules (a few dozen), vectorised over the distinct titles
    for row in table.itertuples(index=False):
        need_role = role.isna() if pd.notna(row.role) else None
        need_dept = department.isna() if pd.notna(row.department) else None
        if (need_role is None or not need_role.any()) and (need_dept is None or not need_dept.any()):
            continue
        search = re.compile(row.regex, re.IGNORECASE).search
        hit = np.fromiter((search(t) is not None for t in unique), dtype=bool, count=len(unique))
        if need_role is not None:
            take = hit & need_role.to_numpy()
            role[take] = row.role
            rule[take] = row.pattern
            fallback[take] = bool(row.fallback)
        if need_dept is not None:
            department[hit & need_dept.to_numpy()] = row.department
    at = pd.Index(unique).get_indexer(normalized)  # -1 for a blank title
    out = pd.DataFrame({"title": titles, "normalized_title": normalized})
    for col, values in (("role", role), ("department", department), ("role_rule", rule)):
        out[col] = pd.Series(_take(values.to_numpy(), at), dtype=object)
    out["role_fallback"] = _take(fallback.to_numpy(), at, False).astype(bool)
    return out


def _coerce_veto(veto: pd.Series) -> pd.Series:
    """Veto values as True/False/NaN (object), accepting bools, 0/1 and yes/no text."""
    if pd.api.types.is_bool_dtype(veto.dtype) or (
        veto.dtype == object and pd.api.types.infer_dtype(veto, skipna=True) in ("boolean", "empty")
    ):
        # already booleans and blanks (as validation leaves it): nothing to parse
        return veto.astype(object).where(veto.notna(), np.nan)
    blank = _blank(veto)
    text = veto.astype("string").str.strip().str.lower()
    mapped = text.map(_VETO_TEXT)
    bad = ~blank & mapped.isna()
    if bad.any():
        rows = list(veto.index[bad][:10])
        raise VillageError([
            Problem("stakeholders", "stakeholders", None, "veto",
                    f"value {veto[i]!r} (index {i}) is not a boolean; expected true/false, yes/no or 1/0")
            for i in rows
        ])
    return mapped.astype(object).where(~blank, np.nan)


def _department_roles(role, department, role_given, title_blank, t_codes, n_titles, wanted, inferred, rules) -> np.ndarray:
    """Rows whose title names a rank but no function take their department's role (in place in ``role``).

    A title that only the fallback rule matched ("Manager", "Specialist") or no
    rule matched, of a person whose department is known (from the data or the
    title), gets the role the department's own name classifies to:
    "Purchasing" -> buyer, "Quality" -> gatekeeper, "Finance" -> influencer.
    A department that names no function ("Executive", "Admin") changes
    nothing. Returns the mask of rows so filled.
    """
    generic_title = np.zeros(n_titles, dtype=bool)
    generic_title[wanted] = inferred["role_fallback"].to_numpy(dtype=bool) | inferred["role"].isna().to_numpy()
    generic = np.append(generic_title, False)[t_codes]
    rows = np.flatnonzero(~role_given & ~title_blank & generic & pd.notna(department))
    done = np.zeros(len(role), dtype=bool)
    if not len(rows):
        return done
    codes, names = _distinct(pd.Series(department[rows], dtype=object))
    by_name = classify_titles(names, rules)
    named = by_name["role"].where(~by_name["role_fallback"]).to_numpy(dtype=object)
    new = _take(named, codes)
    ok = pd.notna(new)
    role[rows[ok]] = new[ok]
    done[rows[ok]] = True
    return done


def complete_roles(stakeholders: pd.DataFrame, rules=None) -> pd.DataFrame:
    """Fill blank ``role``, ``department`` and ``veto``; say where each came from.

    Parameters
    ----------
    stakeholders : DataFrame
        The ``stakeholders`` table; ``title``, ``role``, ``department`` and
        ``veto`` are used when present. Not modified.
    rules : DataFrame, dict, str or path, optional
        Extra title rules that take precedence over the built-in table
        (see :func:`load_role_rules` and the module docstring).

    Returns
    -------
    DataFrame
        A copy with ``role`` and ``department`` (lower case; blanks filled from
        ``title`` where a rule matches), ``veto`` (bool; blanks filled by
        :data:`~cxinfluence.village.schema.VETO_BY_ROLE`, False for a role still
        unknown), ``role_source`` ("data", "title" or "unclassified") and
        ``veto_source`` ("data" or "role"). Running it again on its own output
        keeps the recorded sources.

    Warns
    -----
    UnclassifiedTitleWarning
        When some stakeholders have a blank role and a title no rule matches
        (or no title at all); the message lists those titles.

    Examples
    --------
    >>> s = pd.DataFrame({"stakeholder_id": ["a", "b", "c"],
    ...                   "title": ["EHS Manager", "Purchasing Agent", "Plant Manager"],
    ...                   "role": [None, None, "user"], "veto": [None, None, True]})
    >>> complete_roles(s)[["role", "department", "veto", "role_source", "veto_source"]]
             role   department   veto role_source veto_source
    0  gatekeeper       safety   True       title        role
    1       buyer  procurement  False       title        role
    2        user   operations   True        data        data
    """
    if not isinstance(stakeholders, pd.DataFrame):
        raise TypeError(f"stakeholders has type {type(stakeholders).__name__}; expected a pandas DataFrame")
    out = stakeholders.copy()
    absent = pd.Series(np.nan, index=out.index, dtype=object)
    title = out["title"] if "title" in out else absent
    # Work per distinct value, then spread by codes: millions of rows, a few thousand titles.
    t_codes, t_distinct = _distinct(title)
    title_blank = _take(_blank(t_distinct).to_numpy(), t_codes, True).astype(bool)
    given_roles = None
    for col in ("role", "department"):
        codes, distinct = _distinct(out[col] if col in out else absent)
        blank = _blank(distinct)
        clean = distinct.astype("string").str.strip().str.lower().astype(object).where(~blank, np.nan)
        out[col] = pd.Series(_take(clean.to_numpy(), codes), index=out.index, dtype=object)
        if col == "role":
            given_roles = (codes, clean.to_numpy())
    role = out["role"].to_numpy(dtype=object).copy()
    department = out["department"].to_numpy(dtype=object).copy()
    role_given = pd.notna(role)
    needs = (~role_given | pd.isna(department)) & ~title_blank
    wanted = np.unique(t_codes[needs])
    inferred = classify_titles(t_distinct.iloc[wanted], rules)
    inferred_role, inferred_dept = np.full((2, len(t_distinct)), np.nan, dtype=object)
    inferred_role[wanted] = inferred["role"].to_numpy()
    inferred_dept[wanted] = inferred["department"].to_numpy()
    inferred_by_title = inferred_role
    inferred_role = np.where(needs, _take(inferred_role, t_codes), np.nan)
    inferred_dept = np.where(needs, _take(inferred_dept, t_codes), np.nan)

    fill_role = ~role_given & pd.notna(inferred_role)
    role[fill_role] = inferred_role[fill_role]
    fill_dept = pd.isna(department) & pd.notna(inferred_dept)
    department[fill_dept] = inferred_dept[fill_dept]
    by_department = _department_roles(role, department, role_given, title_blank, t_codes, len(t_distinct), wanted,
                                     inferred, rules)
    fill_role |= by_department
    out["role"] = pd.Series(role, index=out.index, dtype=object)
    out["department"] = pd.Series(department, index=out.index, dtype=object)

    source = np.where(role_given, "data", "unclassified").astype(object)
    if "role_source" in out:  # keep the sources recorded by an earlier run
        prev = out["role_source"]
        source = np.where(role_given & prev.isin(["data", "title"]).to_numpy(), prev.astype(object), source)
    source = np.where(fill_role, "title", source)
    out["role_source"] = pd.Series(source, index=out.index, dtype=object)

    veto = _coerce_veto(out["veto"]) if "veto" in out else absent
    veto_given = veto.notna().to_numpy()
    # by role, False for a role still unknown; per distinct role or title, spread by codes
    vetoing = [r for r, v in VETO_BY_ROLE.items() if v]
    codes, clean = given_roles
    default = np.where(
        fill_role,
        np.append(np.isin(inferred_by_title, vetoing), False)[t_codes],
        np.append(np.isin(clean, vetoing), False)[codes],
    )
    default[by_department] = np.isin(role[by_department], vetoing)
    out["veto"] = pd.Series(np.where(veto_given, veto.to_numpy(dtype=object), default).astype(bool), index=out.index)
    vsource = np.where(veto_given, "data", "role").astype(object)
    if "veto_source" in out:
        prev_v = out["veto_source"]
        vsource = np.where(veto_given & prev_v.isin(["data", "role"]).to_numpy(), prev_v.astype(object), vsource)
    out["veto_source"] = pd.Series(vsource, index=out.index, dtype=object)

    unclassified = source == "unclassified"
    if unclassified.any():
        titled = unclassified & ~title_blank
        counts = title[titled].astype(str).str.strip().value_counts()
        shown = ", ".join(f"{t!r} ({c})" for t, c in counts.head(20).items())
        parts = []
        if len(counts):
            parts.append(f"{len(counts)} title(s) matched no role rule: {shown}"
                         + (f", ... and {len(counts) - 20} more (see unclassified_titles())" if len(counts) > 20 else ""))
        untitled = int((unclassified & title_blank).sum())
        if untitled:
            parts.append(f"{untitled} stakeholder(s) have neither a role nor a title")
        warnings.warn(
            "; ".join(parts) + ". Their role is left blank (role_source='unclassified') and veto defaults to "
            "False. Add rules, e.g. complete_roles(stakeholders, rules={'widget wrangler': ('user', 'operations')}).",
            UnclassifiedTitleWarning,
            stacklevel=2,
        )
    return out


def unclassified_titles(stakeholders: pd.DataFrame, rules=None) -> pd.DataFrame:
    """Titles of stakeholders whose role is blank and could not be inferred.

    Parameters
    ----------
    stakeholders : DataFrame
        Raw or completed stakeholders. When ``role_source`` is present (output
        of :func:`complete_roles`) it is used as is; otherwise titles are
        classified with ``rules`` plus the built-in table.
    rules : optional
        Extra rules, see :func:`load_role_rules`.

    Returns
    -------
    DataFrame
        ``title, normalized_title, n_stakeholders, n_accounts``, most frequent
        first.

    Examples
    --------
    >>> s = pd.DataFrame({"stakeholder_id": ["a", "b", "c"], "account_id": ["x", "y", "y"],
    ...                   "title": ["Widget Wrangler", "widget wrangler", "Buyer"]})
    >>> unclassified_titles(s)
                 title normalized_title  n_stakeholders  n_accounts
    0  Widget Wrangler  widget wrangler               2           2
    """
    title = stakeholders["title"] if "title" in stakeholders else pd.Series(np.nan, index=stakeholders.index, dtype=object)
    role_blank = _blank(stakeholders["role"]) if "role" in stakeholders else pd.Series(True, index=stakeholders.index)
    if "role_source" in stakeholders:
        mask = (stakeholders["role_source"] == "unclassified") & ~_blank(title)
    else:
        candidates = role_blank & ~_blank(title)
        inferred = classify_titles(title[candidates], rules)
        mask = pd.Series(False, index=stakeholders.index)
        mask[candidates] = inferred["role"].isna().to_numpy()
    rows = pd.DataFrame({
        "title": title[mask].astype(str).str.strip(),
        "normalized_title": title[mask].map(normalize_title),
        "account_id": stakeholders["account_id"][mask] if "account_id" in stakeholders else np.nan,
    })
    if rows.empty:
        return pd.DataFrame({"title": pd.Series(dtype=object), "normalized_title": pd.Series(dtype=object),
                             "n_stakeholders": pd.Series(dtype="int64"), "n_accounts": pd.Series(dtype="int64")})
    grouped = rows.groupby("normalized_title", sort=False).agg(
        title=("title", lambda t: t.value_counts().index[0]),
        n_stakeholders=("title", "size"),
        n_accounts=("account_id", "nunique"),
    ).reset_index()
    grouped = grouped.sort_values(["n_stakeholders", "normalized_title"], ascending=[False, True], kind="stable")
    return grouped[["title", "normalized_title", "n_stakeholders", "n_accounts"]].reset_index(drop=True)


def title_coverage(stakeholders: pd.DataFrame, rules=None) -> dict:
    """How the roles of stakeholders without one in the data were found: the share of titles classified.

    Counts the stakeholders whose role had to be inferred (no role in the
    data; with ``role_source`` present, the rows not marked ``"data"``) and
    says how each was classified: by a title rule, by the department (a title
    that names only a rank, e.g. "Manager" in Purchasing), by the documented
    default for a rank without a function, or not at all. Works on raw
    stakeholders and on the output of :func:`complete_roles`; for ``cxinfluence
    validate`` and the import report.

    Parameters
    ----------
    stakeholders : DataFrame
        With ``title`` (and optionally ``role``, ``department``, ``role_source``).
    rules : optional
        Extra rules, see :func:`load_role_rules`.

    Returns
    -------
    dict
        ``stakeholders``, ``role_in_data``, ``to_classify`` (no role in the
        data), ``no_title`` (of those, without a title), ``by_title``,
        ``by_department``, ``by_default``, ``unclassified`` and
        ``share_classified`` = (``by_title`` + ``by_department``) /
        ``to_classify`` (NaN when nothing needed classifying).

    Examples
    --------
    >>> s = pd.DataFrame({"stakeholder_id": list("abcde"),
    ...                   "title": ["Plant Mgr", "Manager", "Manager", "Widget Wrangler", "Buyer"],
    ...                   "department": [None, "Purchasing", None, None, None],
    ...                   "role": [None, None, None, None, "buyer"]})
    >>> c = title_coverage(s)
    >>> {k: c[k] for k in ("to_classify", "by_title", "by_department", "by_default", "unclassified", "share_classified")}
    {'to_classify': 4, 'by_title': 1, 'by_department': 1, 'by_default': 1, 'unclassified': 1, 'share_classified': 0.5}
    """
    n = len(stakeholders)
    absent = pd.Series(np.nan, index=stakeholders.index, dtype=object)
    title = stakeholders.get("title", absent)
    if "role_source" in stakeholders:
        given = (stakeholders["role_source"] == "data").to_numpy()
    else:
        given = (~_blank(stakeholders["role"])).to_numpy() if "role" in stakeholders else np.zeros(n, dtype=bool)
    titled = (~_blank(title)).to_numpy()
    need = ~given & titled
    found = classify_titles(title[need], rules)
    fallback = found["role_fallback"].to_numpy(dtype=bool)
    has_role = found["role"].notna().to_numpy()
    by_title = has_role & ~fallback
    dept = stakeholders["department"][need] if "department" in stakeholders else absent[need]
    dept = dept.where(~_blank(dept), found["department"].to_numpy())
    names = classify_titles(dept, rules)
    dept_role = (names["role"].notna() & ~names["role_fallback"] & ~_blank(dept).to_numpy()).to_numpy()
    by_department = ~by_title & dept_role
    by_default = has_role & fallback & ~by_department
    to_classify = int((~given).sum())
    classified = int(by_title.sum() + by_department.sum())
    return {
        "stakeholders": n,
        "role_in_data": int(given.sum()),
        "to_classify": to_classify,
        "no_title": int((~given & ~titled).sum()),
        "by_title": int(by_title.sum()),
        "by_department": int(by_department.sum()),
        "by_default": int(by_default.sum()),
        "unclassified": int((~has_role & ~by_department).sum()),
        "share_classified": classified / to_classify if to_classify else float("nan"),
    }


def title_coverage_sentence(coverage: dict) -> str:
    """One line for ``validate`` and the import report from :func:`title_coverage`.

    >>> title_coverage_sentence({"stakeholders": 5, "role_in_data": 1, "to_classify": 4, "no_title": 0, "by_title": 1,
    ...                          "by_department": 1, "by_default": 1, "unclassified": 1, "share_classified": 0.5})
    'Titles: 4 of 5 stakeholders have no role in the data; 50% classified (1 by title, 1 by department),
    1 given the default role (influencer: a rank without a function), 1 unclassified.'
    """
    c = coverage
    if not c["to_classify"]:
        return f"Titles: every one of the {c['stakeholders']} stakeholders has a role in the data."
    text = (f"Titles: {c['to_classify']} of {c['stakeholders']} stakeholders have no role in the data; "
            f"{100 * c['share_classified']:.0f}% classified ({c['by_title']} by title, {c['by_department']} by department)")
    if c["by_default"]:
        text += f", {c['by_default']} given the default role (influencer: a rank without a function)"
    text += f", {c['unclassified'] + c['no_title']} unclassified"
    return text + (f" ({c['no_title']} without a title)." if c["no_title"] else ".")
