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


The work is split in four modules, every public name importable from here:

* :mod:`cxinfluence.village.roles_rules`: the rule table (``rules/roles.csv``), the order of the
  built-in rules and the choices it encodes, title normalisation (:func:`normalize_title`,
  :data:`ABBREVIATIONS`), :func:`load_role_rules`;
* :mod:`cxinfluence.village.roles_match`: :func:`classify_titles`, titles matched against the table;
* this module: :func:`complete_roles`, a village's blank roles, departments and vetoes filled;
* :mod:`cxinfluence.village.roles_report`: :func:`unclassified_titles`, :func:`title_coverage`,
  :func:`title_coverage_sentence`.

References
----------
Webster, F. E. & Wind, Y. (1972). A general model for understanding
organizational buying behavior. *Journal of Marketing*, 36(2), 12-19.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..exceptions import Problem, UnclassifiedTitleWarning, VillageError
from .roles_match import _distinct, classify_titles
from .roles_report import title_coverage, title_coverage_sentence, unclassified_titles
from .roles_rules import ABBREVIATIONS, _blank, load_role_rules, normalize_title
from .schema import VETO_BY_ROLE

__all__ = ["ABBREVIATIONS", "normalize_title", "load_role_rules", "classify_titles", "complete_roles",
           "unclassified_titles", "title_coverage", "title_coverage_sentence"]

_VETO_TEXT = {
    "true": True, "t": True, "yes": True, "y": True, "1": True, "1.0": True,
    "false": False, "f": False, "no": False, "n": False, "0": False, "0.0": False,
}




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


class _Words:
    """Text values as integer codes (-1: blank), so that :func:`complete_roles` works on codes row by row and
    makes each text once: 2.2M people have a few dozen roles and departments.

    >>> w = _Words(["data"])
    >>> w.codes(["buyer", np.nan, "data"]).tolist()
    [1, -1, 0, -1]
    >>> w.column(np.array([1, -1, 0]), pd.RangeIndex(3)).tolist()
    ['buyer', nan, 'data']
    """

    def __init__(self, words=()):
        self.words, self._code = [], {}
        for word in words:
            self.code(word)

    def code(self, value) -> int:
        if not isinstance(value, str) and pd.isna(value):
            return -1
        if value not in self._code:
            self._code[value] = len(self.words)
            self.words.append(value)
        return self._code[value]

    def codes(self, values) -> np.ndarray:
        """The code of each value, and a trailing -1: indexing the result with a code -1 gives -1."""
        return np.array([self.code(v) for v in values] + [-1], dtype=np.int64)

    def column(self, codes: np.ndarray, index) -> pd.Series:
        """The rows' text as a ``str`` Series (Arrow-backed like every other text column of the village; 2.2M
        people take ~30 MiB a column this way instead of ~135 MiB as Python str objects); NaN for code -1."""
        import pyarrow as pa

        try:
            words = pa.array(self.words, type=pa.large_string())
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all strings: pandas' own conversion
            per_code = np.empty(len(self.words) + 1, dtype=object)
            per_code[:-1], per_code[-1] = self.words, np.nan
            return pd.Series(per_code[codes], index=index, dtype="str")
        return pd.Series(pd.array(words.take(pa.array(codes, mask=codes < 0)), dtype="str"), index=index)


def _clean_codes(values: pd.Series, words: _Words) -> np.ndarray:
    """Each row's value stripped and lower-cased as a code of ``words`` (-1 where blank), cleaned per distinct
    value."""
    codes, distinct = _distinct(values)
    blank = _blank(distinct)
    clean = distinct.astype("string").str.strip().str.lower().astype(object).where(~blank, np.nan)
    return words.codes(clean)[codes]


def _department_roles(role, department, role_given, title_blank, t_codes, generic_title, rules, words) -> np.ndarray:
    """Rows whose title names a rank but no function take their department's role (in place in ``role``).

    A title that only the fallback rule matched ("Manager", "Specialist") or no
    rule matched (``generic_title``, per distinct title and a trailing False for
    a blank one), of a person whose department is known (from the data or the
    title), gets the role the department's own name classifies to:
    "Purchasing" -> buyer, "Quality" -> gatekeeper, "Finance" -> influencer.
    A department that names no function ("Executive", "Admin") changes
    nothing. Returns the mask of rows so filled.
    """
    rows = np.flatnonzero(~role_given & ~title_blank & generic_title[t_codes] & (department >= 0))
    done = np.zeros(len(role), dtype=bool)
    if not len(rows):
        return done
    present = np.unique(department[rows])
    by_name = classify_titles([words.words[c] for c in present], rules)
    named = np.full(int(present.max()) + 1, -1)
    named[present] = words.codes(by_name["role"].where(~by_name["role_fallback"]))[:-1]
    new = named[department[rows]]
    ok = new >= 0
    role[rows[ok]] = new[ok]
    done[rows[ok]] = True
    return done


def _kept_sources(out: pd.DataFrame, column: str, given: np.ndarray, sources: _Words, kept: list,
                  source: np.ndarray) -> np.ndarray:
    """``source`` (codes of ``sources``), except that rows given in the data keep a source (one of ``kept``)
    recorded by an earlier run."""
    if column not in out:
        return source
    prev = out[column]
    for name in kept:
        source = np.where(given & prev.isin([name]).to_numpy(dtype=bool), sources.code(name), source)
    return source


def _warn_unclassified(title: pd.Series, unclassified: np.ndarray, title_blank: np.ndarray) -> None:
    """One :class:`UnclassifiedTitleWarning` listing the titles no rule matched (and people without a title)."""
    if not unclassified.any():
        return
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
        stacklevel=3,
    )


def complete_roles(stakeholders: pd.DataFrame, rules=None) -> pd.DataFrame:
    """Fill blank ``role``, ``department`` and ``veto``; say where each came from.

    Parameters
    ----------
    stakeholders : DataFrame
        The ``stakeholders`` table; ``title``, ``role``, ``department`` and
        ``veto`` are used when present. Not modified.
    rules : DataFrame, dict, str or path, optional
        Extra title rules that take precedence over the built-in table
        (see :func:`load_role_rules` and :mod:`cxinfluence.village.roles_rules`).

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
    # Work per distinct value, then on integer codes per row: millions of rows, a few thousand titles.
    t_codes, t_distinct = _distinct(title)
    title_blank = np.append(_blank(t_distinct).to_numpy(dtype=bool), True)[t_codes]
    words = _Words()  # the roles' and departments' text
    role = _clean_codes(out["role"] if "role" in out else absent, words)
    department = _clean_codes(out["department"] if "department" in out else absent, words)
    role_given = role >= 0
    needs = (~role_given | (department < 0)) & ~title_blank
    wanted = np.unique(t_codes[needs])
    inferred = classify_titles(t_distinct.iloc[wanted], rules)
    # what each distinct title's rules give (a trailing entry for a blank title: nothing)
    title_role, title_department = np.full(len(t_distinct) + 1, -1), np.full(len(t_distinct) + 1, -1)
    title_role[wanted] = words.codes(inferred["role"])[:-1]
    title_department[wanted] = words.codes(inferred["department"])[:-1]
    inferred_role = np.where(needs, title_role[t_codes], -1)
    fill_role = ~role_given & (inferred_role >= 0)
    role[fill_role] = inferred_role[fill_role]
    inferred_department = np.where(needs, title_department[t_codes], -1)
    fill_department = (department < 0) & (inferred_department >= 0)
    department[fill_department] = inferred_department[fill_department]
    generic_title = np.zeros(len(t_distinct) + 1, dtype=bool)  # a rank without a function, or no rule matched
    generic_title[wanted] = inferred["role_fallback"].to_numpy(dtype=bool) | inferred["role"].isna().to_numpy()
    by_department = _department_roles(role, department, role_given, title_blank, t_codes, generic_title, rules,
                                      words)
    fill_role |= by_department
    out["role"] = words.column(role, out.index)
    out["department"] = words.column(department, out.index)

    sources = _Words(["data", "title", "unclassified"])
    source = _kept_sources(out, "role_source", role_given, sources, ["data", "title"], np.where(role_given, 0, 2))
    source[fill_role] = sources.code("title")
    out["role_source"] = sources.column(source, out.index)

    # by role (as given, or as filled), False for a role still unknown
    vetoing = {r for r, v in VETO_BY_ROLE.items() if v}
    default = np.append(np.array([w in vetoing for w in words.words], dtype=bool), False)[role]
    veto = _coerce_veto(out["veto"]) if "veto" in out else absent
    veto_given = veto.notna().to_numpy()
    out["veto"] = pd.Series(np.where(veto_given, veto.to_numpy(dtype=object), default).astype(bool), index=out.index)
    vsources = _Words(["data", "role"])
    vsource = _kept_sources(out, "veto_source", veto_given, vsources, ["data", "role"], np.where(veto_given, 0, 1))
    out["veto_source"] = vsources.column(vsource, out.index)
    _warn_unclassified(title, source == sources.code("unclassified"), title_blank)
    return out
