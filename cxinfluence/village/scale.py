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


def item_sentiment(items):
    """Response sentiment on ``[-1, 1]`` from item arrays: the one computation every stage uses.

    Each item ``x`` on ``[low, high]`` maps to ``direction * (2 (x - low) / (high - low) - 1)``, computed as
    ``x * a - b`` with ``a = 2 direction / (high - low)``; a response's sentiment is the mean over the items
    it answered, summed in the order given (NaN if none). :func:`response_sentiment` (tables, maps, pages) and
    the account sentiment kernel (:mod:`cxinfluence.sentiment.base`) both call it, so the same response has
    the same sentiment, to the bit, on a map and in a table.

    Parameters
    ----------
    items : mapping of str -> float array
        Item name (a key of :data:`ITEMS`) -> scores, NaN = blank.

    Examples
    --------
    >>> item_sentiment({"nps": np.array([10.0, 0.0, np.nan]), "ces": np.array([5.0, np.nan, np.nan])}).tolist()
    [0.0, -1.0, nan]
    """
    from ..exceptions import MetricError  # lazy: the exceptions module is light, but scale is imported early

    num = den = None
    for item, x in items.items():
        if item not in ITEMS:
            raise MetricError(f"items contains {item!r}; expected some of {sorted(ITEMS)}")
        low, high, direction = ITEMS[item]
        x = np.asarray(x, dtype=float)
        if num is None:
            num, den = np.zeros(len(x)), np.zeros(len(x))
        present = ~np.isnan(x)
        a = 2.0 * direction / (high - low)
        np.add(num, x * a - direction * (2.0 * low / (high - low) + 1.0), out=num, where=present)
        den += present
    if num is None:
        raise MetricError("items is empty; expected at least one score column such as 'nps' or 'csat'")
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / den


#: rows per block of :func:`response_sentiment`: one block's item temporaries stay in the CPU cache
_BLOCK = 1 << 18


def _floats(column) -> np.ndarray:
    """A score column as float64 (NaN for blanks and text that is not a number); no copy when it is float64."""
    if column.dtype == np.float64:
        return column.to_numpy()
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


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
    if weights is None:  # equal weights: the shared computation (item_sentiment), the same bits as the kernel's
        present = [i for i in (items or ITEMS) if i in data.columns]  # an unknown item: item_sentiment says so
        if not present:
            return pd.Series(np.nan, index=data.index, name="sentiment")
        values = {i: _floats(data[i]) for i in present}
        out = np.empty(len(data))
        for lo in range(0, len(data), _BLOCK):  # elementwise: blocks give the same bits, and stay in the CPU cache
            out[lo:lo + _BLOCK] = item_sentiment({i: v[lo:lo + _BLOCK] for i, v in values.items()})
        return pd.Series(out, index=data.index, name="sentiment")
    scaled = to_common_scale(data, items)
    w = np.array([1.0 if weights is None else float(weights.get(c, 0.0)) for c in scaled.columns])
    values = scaled.to_numpy()
    present = ~np.isnan(values)
    num = np.where(present, values, 0.0) @ w
    den = present @ w
    with np.errstate(invalid="ignore", divide="ignore"):
        result = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return pd.Series(result, index=data.index, name="sentiment")
