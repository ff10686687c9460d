""":func:`~cxinfluence.village.roles.complete_roles` person by person: the readable statement of its rules.

The public function works per distinct title and on integer codes per row (2.2M people in about half a second);
this one follows one person at a time through the same rules, for the tests to hold the fast one to
(tests/test_roles.py). Not for large tables: it classifies titles one person at a time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .roles import _coerce_veto
from .roles_match import classify_titles
from .schema import VETO_BY_ROLE


def _text(value):
    """``value`` stripped and lower-cased; None when it is blank (missing or only whitespace)."""
    if not isinstance(value, str) and pd.isna(value):
        return None
    text = str(value).strip()
    return text.lower() if text else None


def complete_roles_reference(stakeholders: pd.DataFrame, rules=None) -> pd.DataFrame:
    """:func:`~cxinfluence.village.roles.complete_roles`, one person at a time (no warning is raised).

    >>> s = pd.DataFrame({"title": ["EHS Manager", "Manager"], "department": [None, "Purchasing"]})
    >>> complete_roles_reference(s)[["role", "department", "veto", "role_source"]].values.tolist()
    [['gatekeeper', 'safety', True, 'title'], ['buyer', 'purchasing', False, 'title']]
    """
    out = stakeholders.copy()
    n = len(out)

    def column(name):
        return list(out[name]) if name in out else [np.nan] * n

    veto_given = list(_coerce_veto(out["veto"])) if "veto" in out else [np.nan] * n
    rows = zip(column("title"), column("role"), column("department"), veto_given, column("role_source"),
               column("veto_source"))
    vetoing = {r for r, v in VETO_BY_ROLE.items() if v}
    result = []
    for title, given_role, given_department, veto, old_role_source, old_veto_source in rows:
        role, department = _text(given_role), _text(given_department)
        titled = _text(title) is not None
        source = "data" if role is not None else "unclassified"
        if role is not None and old_role_source in ("data", "title"):  # recorded by an earlier run
            source = old_role_source
        if titled and (role is None or department is None):
            by_title = classify_titles([title], rules).iloc[0]
            if role is None and pd.notna(by_title["role"]):
                role, source = by_title["role"], "title"
            if department is None and pd.notna(by_title["department"]):
                department = by_title["department"]
            # a rank without a function (or no rule at all): the department's own role, when it names one
            generic = bool(by_title["role_fallback"]) or pd.isna(by_title["role"])
            if _text(given_role) is None and generic and department is not None:
                by_department = classify_titles([department], rules).iloc[0]
                if pd.notna(by_department["role"]) and not by_department["role_fallback"]:
                    role, source = by_department["role"], "title"
        if pd.notna(veto):
            veto_source = old_veto_source if old_veto_source in ("data", "role") else "data"
        else:
            veto, veto_source = role in vetoing, "role"
        result.append((role, department, source, bool(veto), veto_source))
    done = pd.DataFrame(result, columns=["role", "department", "role_source", "veto", "veto_source"],
                        index=out.index)
    for name in done.columns:  # in complete_roles' order
        out[name] = done[name].astype(bool if name == "veto" else "str")
    return out
