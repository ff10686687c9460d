"""A common sentiment scale for NPS, CSAT, CES, NetEasy, trust and cared-for.

Each item is mapped linearly onto ``[-1, 1]`` (POMP scoring: "percent of
maximum possible", Cohen, Cohen, Aiken & West 1999, *Multivariate Behavioral
Research* 34(3)), reversed where a low score is good (CES, NetEasy)::

    score = direction * (2 * (x - low) / (high - low) - 1)

so -1 is the worst answer on every item, +1 the best and 0 the scale midpoint.
A response's sentiment is the (optionally weighted) mean of the items it
answered; a response that answered none has no sentiment (NaN), so people who
answered only some questions are still used, on the items they answered.

On this scale NPS 9 maps to 0.8, NPS 6 to 0.2 and NPS 0 to -1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: item -> (low, high, direction); direction -1 means a low score is good.
ITEMS = {
    "nps": (0, 10, 1),
    "csat": (1, 5, 1),
    "ces": (1, 5, -1),
    "neteasy": (1, 7, -1),
    "trust": (1, 5, 1),
    "cared_for": (1, 5, 1),
}


def to_common_scale(data: pd.DataFrame, items=None) -> pd.DataFrame:
    """Return a new DataFrame with each item rescaled onto ``[-1, 1]``.

    Only the item columns present in ``data`` are returned (same index).

    >>> df = pd.DataFrame({"nps": [10, 0, 5], "ces": [1, 5, None]})
    >>> to_common_scale(df)
       nps  ces
    0  1.0  1.0
    1 -1.0 -1.0
    2  0.0  NaN
    """
    items = [i for i in (items or ITEMS) if i in data.columns]
    out = {}
    for item in items:
        if item not in ITEMS:
            raise ValueError(f"items contains {item!r}; expected some of {sorted(ITEMS)}")
        low, high, direction = ITEMS[item]
        x = pd.to_numeric(data[item], errors="coerce").astype("float64")
        out[item] = direction * (2.0 * (x - low) / (high - low) - 1.0)
    return pd.DataFrame(out, index=data.index)


def response_sentiment(data: pd.DataFrame, items=None, weights=None) -> pd.Series:
    """Sentiment of each response on ``[-1, 1]``: the mean of its rescaled items.

    Parameters
    ----------
    data : DataFrame
        Responses with some of the item columns.
    items : list of str, optional
        Items to use (default: all of ``ITEMS`` present).
    weights : dict, optional
        Item weights (default equal). Missing items are skipped and the
        remaining weights renormalised per response.

    >>> df = pd.DataFrame({"nps": [10, 0, None], "csat": [3, None, None]})
    >>> response_sentiment(df).tolist()
    [0.5, -1.0, nan]
    """
    scaled = to_common_scale(data, items)
    w = np.array([1.0 if weights is None else float(weights.get(c, 0.0)) for c in scaled.columns])
    values = scaled.to_numpy()
    present = ~np.isnan(values)
    num = np.where(present, values, 0.0) @ w
    den = present @ w
    with np.errstate(invalid="ignore", divide="ignore"):
        result = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return pd.Series(result, index=data.index, name="sentiment")
