"""Matching job titles against the rule table: a role and a department per distinct title.

The rule table and title normalisation are :mod:`cxinfluence.village.roles_rules`. A village has
millions of stakeholders but a few thousand distinct titles, so the work is done once per distinct
value (:func:`_distinct`) and spread back by codes (:func:`_take`).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .roles_rules import load_role_rules, normalize_title


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
