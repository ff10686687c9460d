"""Informal comments, step 2: themes from a rule table users extend (``rules/themes.csv``), and the
routing table (``rules/routing.csv``) that says which group owns each theme.
"""

from __future__ import annotations

import os
import re
import warnings
from importlib import resources

import numpy as np
import pandas as pd

from ..village.ids import blank_texts, distinct_text
from .capture import _blank, _snake


def _rule_table(builtin_file, rules, builtin, columns, what):
    """Built-in CSV rules, extended or overridden by the user's (DataFrame, dict or CSV path)."""
    tables = []
    if builtin:
        tables.append(pd.read_csv(resources.files(__package__) / "rules" / builtin_file, dtype=str))
    if rules is not None:
        if isinstance(rules, (str, os.PathLike)):
            user = pd.read_csv(rules, dtype=str)
        elif isinstance(rules, dict):
            user = pd.DataFrame(
                [(k, v) for k, vals in rules.items() for v in ([vals] if isinstance(vals, str) else vals)],
                columns=list(columns[:2]))
        elif isinstance(rules, pd.DataFrame):
            user = rules.astype(object)
        else:
            raise TypeError(f"{what} is a {type(rules).__name__}; expected a DataFrame, a dict or a CSV path")
        user.columns = [_snake(c) for c in user.columns]
        lacking = [c for c in columns[:2] if c not in user.columns]
        if lacking:
            raise ValueError(f"{what} lacks column(s) {lacking}; expected columns {list(columns[:2])} "
                             f"(got {list(user.columns)})")
        tables.append(user)
    if not tables:
        raise ValueError(f"{what}=None with builtin=False leaves no rules; pass {what}=")
    table = pd.concat(tables, ignore_index=True)
    table = table.reindex(columns=list(columns)).astype(object)
    for c in columns[:2]:
        table[c] = table[c].map(lambda v: v.strip() if isinstance(v, str) else v)
    bad = table[list(columns[:2])].isna().any(axis=1)
    if bad.any():
        raise ValueError(f"{what} has blank {list(columns[:2])} in row(s) {list(np.flatnonzero(bad))}; "
                         "fill both or drop the row")
    table["theme"] = table["theme"].str.lower()
    names = table["theme"][~table["theme"].str.fullmatch(r"[a-z][a-z0-9_]*")]
    if len(names):
        raise ValueError(f"{what} has theme name(s) {names.tolist()}; expected snake_case names "
                         "(letters, digits, underscores; they become column names)")
    return table


def theme_rules(rules=None, *, builtin=True) -> pd.DataFrame:
    """The theme rule table: built-in ``rules/themes.csv`` plus the user's rules.

    Each row is ``theme, pattern[, note]``. ``pattern`` is a Python regular
    expression searched case-insensitively anywhere in the comment; use
    ``\\b`` for word boundaries (``\\binvoice(s)?\\b``). A theme may have
    several rows; a comment gets the theme when any of its patterns matches.
    Themes keep the order of their first row (built-in first), which is the
    order of the ``themes`` column.

    Built-in themes: delivery, quality, billing, pricing, support, safety,
    documentation, people (including a champion or sponsor leaving),
    onboarding, training, communication, product.

    Parameters
    ----------
    rules : DataFrame, dict or str/Path, optional
        Extra rules: a DataFrame or CSV with columns ``theme, pattern``, or a
        dict ``{theme: pattern or [patterns]}``. They add to the built-in rules
        (a built-in theme gets more patterns; a new theme is added).
    builtin : bool, default True
        False uses only ``rules``.

    Examples
    --------
    >>> t = theme_rules({"sustainability": r"\\b(carbon|recycl\\w*|packaging waste)\\b"})
    >>> t["theme"].iloc[-1], len(t) > 12
    ('sustainability', True)
    """
    table = _rule_table("themes.csv", rules, builtin, ("theme", "pattern", "note"), "rules")
    for i, p in enumerate(table["pattern"]):
        try:
            re.compile(p)
        except re.error as exc:
            raise ValueError(f"rules row {i} (theme {table['theme'].iloc[i]!r}) has pattern {p!r} that is not a "
                             f"valid regular expression ({exc}); fix or escape it (re.escape)") from None
    return table.reset_index(drop=True)


def tag_themes(data: pd.DataFrame, text="comment", rules=None, *, builtin=True) -> pd.DataFrame:
    """Tag each comment with themes from the rule table (:func:`theme_rules`).

    Parameters
    ----------
    data : DataFrame
        Rows with a free-text column.
    text : str, default "comment"
        The text column.
    rules, builtin
        Extra or replacement rules, as in :func:`theme_rules`.

    Returns
    -------
    DataFrame
        A copy of ``data`` with ``themes`` (matched theme names joined by
        ``";"`` in rule-table order; ``""`` when no theme matched, NaN when the
        text is blank) and one boolean column ``theme_<name>`` per theme.

    Examples
    --------
    >>> df = pd.DataFrame({"comment": ["Invoice was wrong and the delivery late", "Great people", None]})
    >>> tag_themes(df)[["themes", "theme_billing", "theme_delivery"]]
                 themes  theme_billing  theme_delivery
    0  delivery;billing           True            True
    1                            False           False
    2               NaN          False           False
    """
    if text not in data.columns:
        raise KeyError(f"text={text!r} is not a column of data; columns are {list(data.columns)}")
    table = theme_rules(rules, builtin=builtin)
    # Match each distinct text once (templates and copied notes repeat), then broadcast.
    if isinstance(data[text].dtype, pd.StringDtype):  # already text: no Python string per row
        raw, distinct = distinct_text(data[text])
        blank_text = blank_texts(distinct)
        blank = blank_text[raw]
        codes, uniq = pd.factorize(np.append(np.where(blank_text[:-1], "", distinct), "").astype(object))
        codes = codes[raw]
    else:
        values = data[text].astype(object)
        blank = _blank(values).to_numpy()
        codes, uniq = pd.factorize(values.where(~blank, "").map(str))
    uniq = pd.Series(np.asarray(uniq, dtype=object))
    out = data.copy()
    joined = pd.Series("", index=range(len(uniq)), dtype=object)
    for theme, patterns in table.groupby("theme", sort=False)["pattern"]:
        rx = "|".join(f"(?:{p})" for p in patterns)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="This pattern .* match groups", category=UserWarning)
            hit = uniq.str.contains(rx, case=False, regex=True, na=False).to_numpy(dtype=bool)
        out[f"theme_{theme}"] = hit[codes] if len(codes) else np.zeros(0, bool)
        joined = joined + np.where(hit, theme + ";", "")
    themes = joined.str.rstrip(";").to_numpy(dtype=object)
    out["themes"] = pd.Series(themes[codes] if len(codes) else [], index=data.index, dtype=object).where(~blank, np.nan)
    return out


# --------------------------------------------------------------------------- comment sentiment


def routing_table(routing=None, *, builtin=True) -> pd.DataFrame:
    """The routing table: theme -> owning group in the supplier company.

    Built-in ``rules/routing.csv`` (delivery -> logistics, quality -> quality,
    billing -> finance/billing, pricing -> sales/pricing, support -> customer
    support, safety -> EHS, documentation -> technical writing, people and
    communication -> account team, onboarding -> implementation, training ->
    customer training, product -> product management, ``other`` -> account
    team). The ``other`` row routes comments that match no theme, and themes
    without a row of their own.

    Parameters
    ----------
    routing : DataFrame, dict or str/Path, optional
        ``theme, owning_group`` rows (DataFrame or CSV) or ``{theme: group}``.
        A theme given here replaces its built-in route.
    builtin : bool, default True

    Examples
    --------
    >>> r = routing_table({"delivery": "regional logistics hub"})
    >>> r.set_index("theme").loc["delivery", "owning_group"]
    'regional logistics hub'
    """
    table = _rule_table("routing.csv", routing, builtin, ("theme", "owning_group", "note"), "routing")
    table = table.drop_duplicates("theme", keep="last").reset_index(drop=True)
    if "other" not in set(table["theme"]):
        raise ValueError("routing has no 'other' row; add one (e.g. other -> account team) to route "
                         "comments that match no theme")
    return table


def split_joined(values: pd.Series, empty=None) -> tuple[np.ndarray, np.ndarray]:
    """The parts of a ``;``-joined column (themes, owning groups), one per row of the result.

    Returns ``(rows, parts)``: for each row of ``values`` in order, its non-empty parts in order
    (``rows`` the row's position, ``parts`` the text as Python strings); a blank cell, or one with
    no non-empty part, gives ``empty`` as its one part, or nothing when ``empty`` is None. What
    ``values.map(lambda t: [x for x in str(t).split(";") if x] or [empty]).explode()`` gives,
    split by Arrow in one pass (:func:`split_joined_reference`).

    >>> rows, parts = split_joined(pd.Series(["delivery;billing", None, ";quality"]), empty="other")
    >>> rows.tolist(), parts.tolist()
    ([0, 0, 1, 2], ['delivery', 'billing', 'other', 'quality'])
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    text = values.astype(object).where(values.notna(), "").to_numpy(dtype=object)
    try:
        text = pa.array(text, type=pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # numbers in the column: split as str() shows them
        text = pa.array([str(t) for t in text], type=pa.large_string())
    lists = pc.split_pattern(text, ";")
    flat, parent = pc.list_flatten(lists), pc.list_parent_indices(lists)
    kept = pc.not_equal(flat, "")
    rows = parent.filter(kept).to_numpy().astype(np.intp)
    parts = np.asarray(flat.filter(kept).to_pylist(), dtype=object)
    if empty is not None:
        has = np.zeros(len(values), dtype=bool)
        has[rows] = True
        none = np.flatnonzero(~has)
        order = np.argsort(np.r_[rows, none], kind="stable")
        rows = np.r_[rows, none][order]
        parts = np.r_[parts, np.full(len(none), empty, dtype=object)][order]
    return rows, parts


def split_joined_reference(values: pd.Series, empty=None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`split_joined` one row at a time (the definition it is tested equal to)."""
    rows, parts = [], []
    for i, t in enumerate(values.astype(object).where(values.notna(), "")):
        found = [x for x in str(t).split(";") if x] or ([] if empty is None else [empty])
        rows += [i] * len(found)
        parts += found
    return np.array(rows, dtype=np.intp), np.array(parts, dtype=object)
