"""A short, printable summary of a village (what the CLI and notebook 01 show)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..village.ids import arrow_text, rows_of, unique_text


#: the facts of :func:`village_facts` that add up over partitions
COUNTS = ("accounts", "stakeholders", "departed", "responses", "responding", "ties")
#: the value counts of :func:`village_facts`, merged in order of first appearance
TALLIES = ("roles", "channels", "ties_by_kind")


def village_facts(village) -> dict:
    """What the overview says of a village (or of one partition): counts and first-appearance value counts.

    Summed over the partitions of a village by :func:`merge_facts`, they give the
    overview of the whole village (:func:`village_overview`).

    Examples
    --------
    >>> from cxinfluence.village.synth import make_village
    >>> v, _ = make_village(5, seed=1)
    >>> f = village_facts(v)
    >>> f["accounts"], f["responses"] == len(v.responses)
    (5, True)
    """
    a, s, rel, r = village.accounts, village.stakeholders, village.relationships, village.responses
    dates = r["date"].dropna() if "date" in r else pd.Series([], dtype="datetime64[ns]")
    return {
        "accounts": len(a), "stakeholders": len(s), "responses": len(r), "ties": len(rel),
        "departed": int(s["active_to"].notna().sum()) if "active_to" in s else 0,
        "responding": responding_people(village),
        "roles": _tally(s["role"], blank="unclassified") if "role" in s else {},
        "channels": _tally(r["channel"], blank="blank") if "channel" in r else {},
        "ties_by_kind": _tally(rel["kind"]) if len(rel) else {},
        "first_date": dates.min() if len(dates) else None, "last_date": dates.max() if len(dates) else None,
    }


def _tally(values: pd.Series, blank=None) -> dict:
    """Rows per value in order of first appearance (``value_counts(sort=False)``), blanks counted as ``blank``
    (left out when None). A categorical (a run's response labels, village/compact.py) is counted on its codes:
    the same dict, without a text per row or a new category for the blanks.

    >>> _tally(pd.Series(["b", None, "a", "b"], dtype="category"), blank="blank")
    {'b': 2, 'blank': 1, 'a': 1}
    """
    if not isinstance(values.dtype, pd.CategoricalDtype):
        return (values if blank is None else values.fillna(blank)).value_counts(sort=False).to_dict()
    codes = values.cat.codes.to_numpy()
    seen, first = np.unique(codes, return_index=True)
    counts = np.bincount(codes + 1, minlength=len(values.cat.categories) + 1)
    out = {}
    for i in np.argsort(first, kind="stable"):  # a label listed and the blanks named as it count together
        label = blank if seen[i] < 0 else values.cat.categories[seen[i]]
        if label is not None:
            out[label] = out.get(label, 0) + int(counts[seen[i] + 1])
    return out


def merge_facts(facts) -> dict:
    """The facts of the whole village from its partitions' (:func:`village_facts`), in partition order."""
    facts = list(facts)
    out = {k: sum(f[k] for f in facts) for k in COUNTS}
    for k in TALLIES:
        merged = {}
        for f in facts:
            for value, n in f[k].items():
                merged[value] = merged.get(value, 0) + n
        out[k] = merged
    firsts = [f["first_date"] for f in facts if f["first_date"] is not None]
    lasts = [f["last_date"] for f in facts if f["last_date"] is not None]
    out["first_date"] = min(firsts) if firsts else None
    out["last_date"] = max(lasts) if lasts else None
    return out


def ranked(tally: dict) -> list:
    """``(value, count)`` by count, largest first; ties in order of first appearance (as ``value_counts``)."""
    items = list(tally.items())
    order = sorted(range(len(items)), key=lambda i: -items[i][1])  # sorted() is stable
    return [items[i] for i in order]


def village_overview(village) -> pd.DataFrame:
    """One row per fact about the village: ``item`` and ``value``.

    A village opened partition by partition (:class:`cxinfluence.pipeline.partitioned.PartitionedVillage`)
    brings its partitions' facts summed (``village.facts``, :func:`merge_facts`); the
    overview is the same as the loaded village's.

    Examples
    --------
    >>> from cxinfluence.village.synth import make_village
    >>> village, _ = make_village(20, seed=1)
    >>> overview = village_overview(village)
    >>> overview.set_index("item").loc["accounts", "value"]
    '20'
    """
    f = village.facts if isinstance(getattr(village, "facts", None), dict) else village_facts(village)
    o = village.outcomes
    periods = sorted(o["period_end"].dropna().dt.date.unique())
    first, last = (pd.NaT if f[k] is None else f[k] for k in ("first_date", "last_date"))
    rows = [
        ("accounts", f["accounts"]),
        ("stakeholders", f["stakeholders"]),
        ("stakeholders departed", f["departed"]),
        ("roles", ", ".join(f"{k} {v}" for k, v in ranked(f["roles"]))),
        ("ties", ", ".join(f"{k} {v}" for k, v in ranked(f["ties_by_kind"])) if f["ties"] else "0"),
        ("responses", f["responses"]),
        ("responding stakeholders", f["responding"]),
        ("response dates", f"{first:%Y-%m-%d} to {last:%Y-%m-%d}" if f["responses"] else "none"),
        ("channels", ", ".join(f"{k} {v}" for k, v in ranked(f["channels"]))),
        ("outcome periods", ", ".join(str(p) for p in periods) or "none"),
        ("renewal rate", f"{o['renewed'].mean():.1%}" if len(o) else "n/a"),
    ]
    return pd.DataFrame({"item": [k for k, _ in rows], "value": [str(v) for _, v in rows]})


def responding_people(village) -> int:
    """How many distinct people answered: ``village.responses["stakeholder_id"].nunique()``.

    Counted on the rows of the stakeholders table the village matched already
    (:func:`cxinfluence.village.ids.rows_of`) when every response names a listed
    person and the ids are unique (hashing ten million text ids took seconds);
    otherwise by pandas.

    Examples
    --------
    >>> from cxinfluence.village.synth import make_village
    >>> village, _ = make_village(20, seed=1)
    >>> responding_people(village) == village.responses["stakeholder_id"].nunique()
    True
    """
    r, s = village.responses, village.stakeholders
    ids = arrow_text(s["stakeholder_id"]) if "stakeholder_id" in s else None
    if not len(r) or ids is None or not unique_text(ids):
        return r["stakeholder_id"].nunique()
    rows = rows_of(village, "responses", "stakeholder_id")
    if (rows < 0).any():  # a blank or unknown id: pandas counts those its own way
        return r["stakeholder_id"].nunique()
    seen = np.zeros(len(s), dtype=bool)
    seen[rows] = True
    return int(seen.sum())


def village_summary(village) -> str:
    """The overview as aligned text lines."""
    overview = village_overview(village)
    width = overview["item"].str.len().max()
    return "\n".join(f"  {item:<{width}}  {value}" for item, value in overview.itertuples(index=False))
