"""How the roles of stakeholders were found: titles left unclassified, and the share classified.

:func:`unclassified_titles` lists the titles no rule matches; :func:`title_coverage` counts how
each missing role was found (by title, by department, by the default, or not at all) and
:func:`title_coverage_sentence` says it in one line for ``cxinfluence validate`` and the import report.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .roles_match import classify_titles
from .roles_rules import _blank, normalize_title


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
