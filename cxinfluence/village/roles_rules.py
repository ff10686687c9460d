"""The title rule table: how job titles are normalised and which rules there are.

:func:`load_role_rules` reads the built-in table (``rules/roles.csv`` beside this module) and the
caller's extra rules, checks them all at once and says what each pattern is matched as;
:func:`normalize_title` is the one place titles and keyword patterns are normalised. Matching
titles against the table is :mod:`cxinfluence.village.roles_match`; filling a village's roles is
:mod:`cxinfluence.village.roles`.

The rule table
--------------
A table with columns ``pattern, role, department`` (``note`` and
``fallback`` optional), read top to bottom. The built-in table is
``cxinfluence/village/rules/roles.csv``; rules the caller passes come first,
so they override the built-ins.

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
from importlib import resources

import numpy as np
import pandas as pd

from ..exceptions import RoleRuleError
from .schema import ROLES

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
