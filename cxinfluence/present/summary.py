"""A short, printable summary of a village (what the CLI and notebook 01 show)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..village.ids import arrow_text, rows_of, unique_text


def village_overview(village) -> pd.DataFrame:
    """One row per fact about the village: ``item`` and ``value``.

    Examples
    --------
    >>> from cxinfluence.village.synth import make_village
    >>> village, _ = make_village(20, seed=1)
    >>> overview = village_overview(village)
    >>> overview.set_index("item").loc["accounts", "value"]
    '20'
    """
    a, s, rel, r, o = village.tables().values()
    departed = int(s["active_to"].notna().sum()) if "active_to" in s else 0
    roles = s["role"].fillna("unclassified").value_counts() if "role" in s else pd.Series(dtype=int)
    channels = r["channel"].fillna("blank").value_counts() if "channel" in r else pd.Series(dtype=int)
    periods = sorted(o["period_end"].dropna().dt.date.unique())
    rows = [
        ("accounts", len(a)),
        ("stakeholders", len(s)),
        ("stakeholders departed", departed),
        ("roles", ", ".join(f"{k} {v}" for k, v in roles.items())),
        ("ties", ", ".join(f"{k} {v}" for k, v in rel["kind"].value_counts().items()) if len(rel) else "0"),
        ("responses", len(r)),
        ("responding stakeholders", responding_people(village)),
        ("response dates", f"{r['date'].min():%Y-%m-%d} to {r['date'].max():%Y-%m-%d}" if len(r) else "none"),
        ("channels", ", ".join(f"{k} {v}" for k, v in channels.items())),
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
