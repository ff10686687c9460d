"""Account managers' books: relationships carried against Dunbar's ~150 and how revenue
is concentrated across each book (seed 002). See :mod:`cxinfluence.listening.coverage` for
the shared definitions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..exceptions import CoverageError
from ..village.asof import DEFAULT_WINDOW_DAYS, active_mask, to_timestamp, window_mask
from ..village.ids import lookup
from .people import _ceil_count, _check_share, _check_village, _check_window, _response_dates, _rows

#: Dunbar's number: the cognitive limit on stable relationships (Dunbar 1992, 1998; seed 002).
DUNBAR_NUMBER = 150


def manager_books(village, as_of, *, capacity=DUNBAR_NUMBER, window_days=DEFAULT_WINDOW_DAYS,
                  top_share=0.2, owner="owner", revenue="annual_revenue") -> pd.DataFrame:
    """Each account manager's book: relationships carried against a capacity, and
    how revenue is concentrated across it.

    Dunbar (1992, 1998) puts the number of stable relationships a person can
    keep at about 150 (seed 002: "about 153", closest layer about 5). A book's
    **active relationships** are the customer stakeholders active at ``as_of``
    in the manager's accounts: every one of them is a person the manager is
    expected to keep a relationship with, heard or not; the
    ``heard_relationships`` (heard within ``window_days``) are shown beside.
    The manager's colleagues and other contacts are not counted, so the
    capacity share is a lower bound on the social load.

    Revenue concentration (accounts with a blank revenue are left out of
    ``revenue`` and these two columns; NaN when the book's revenue is 0 or
    unknown):

    * ``top_revenue_share``: share of the book's revenue in its top
      ``k = ceil(top_share * n)`` accounts by revenue (seed 002's 80/20 when
      ``top_share=0.2``);
    * ``gini``: Gini coefficient of account revenue, with the ``n`` revenues
      sorted ascending ``x_(1) <= ... <= x_(n)``::

          G = 2 * sum_i i * x_(i) / (n * sum_i x_(i)) - (n + 1) / n

      equal to ``sum_i sum_j |x_i - x_j| / (2 n^2 mean(x))`` (0 = all equal,
      ``(n - 1) / n`` = one account has everything; 0 for a one-account book).

    Parameters
    ----------
    village : Village
    as_of : date-like
    capacity : float, default 150
        Relationships one manager can carry (Dunbar's number).
    window_days : float or None, default 365
        Look-back for ``heard_relationships`` and ``accounts_unheard``.
    top_share : float in (0, 1], default 0.2
    owner, revenue : str
        Column names in ``village.accounts``.

    Returns
    -------
    DataFrame
        One row per owner, sorted by ``active_relationships`` descending:
        ``owner, as_of, accounts, accounts_unheard`` (no responder in the
        window), ``active_relationships, heard_relationships, capacity,
        capacity_share`` (active / capacity), ``over_capacity`` (active >
        capacity), ``revenue, revenue_accounts, top_accounts,
        top_revenue_share, gini``. Accounts with no owner form one row with a
        blank owner: the accounts seed 002 warns are left without a manager.

    Examples
    --------
    >>> import pandas as pd
    >>> from cxinfluence.village.core import Village
    >>> v = Village(
    ...     accounts=pd.DataFrame({"account_id": ["A", "B"], "owner": ["kim", "kim"],
    ...                            "annual_revenue": [90.0, 10.0]}),
    ...     stakeholders=pd.DataFrame({"stakeholder_id": ["a1", "a2", "b1"],
    ...                                "account_id": ["A", "A", "B"]}),
    ...     relationships=pd.DataFrame(columns=["source_id", "target_id", "kind"]),
    ...     responses=pd.DataFrame({"stakeholder_id": ["a1"], "date": pd.to_datetime(["2024-01-05"])}),
    ...     outcomes=pd.DataFrame(columns=["account_id", "period_end", "renewed"]))
    >>> books = manager_books(v, "2024-06-30")
    >>> print(books[["owner", "accounts", "active_relationships", "heard_relationships"]].to_string(index=False))
    owner  accounts  active_relationships  heard_relationships
      kim         2                     3                    1
    >>> books.loc[0, ["capacity_share", "top_revenue_share", "gini"]].astype(float).round(6).tolist()
    [0.02, 0.9, 0.4]
    """
    _check_village(village)
    as_of = to_timestamp(as_of)
    window_days = _check_window(window_days)
    top_share = _check_share("top_share", top_share)
    _check_books_args(village, capacity, owner, revenue)
    books = _account_relationships(village, as_of, window_days, owner, revenue)
    g = books.groupby("owner_key", sort=False)
    out = pd.DataFrame({
        "owner": g["owner"].first(),
        "accounts": g.size(),
        "accounts_unheard": (books["heard"] == 0).groupby(books["owner_key"], sort=False).sum(),
        "active_relationships": g["active"].sum().astype(int),
        "heard_relationships": g["heard"].sum().astype(int),
    })
    out.insert(1, "as_of", as_of)
    out["capacity"] = capacity
    out["capacity_share"] = out["active_relationships"] / capacity
    out["over_capacity"] = out["active_relationships"] > capacity
    out = out.join(_revenue_concentration(books, top_share))
    out["revenue_accounts"] = out["revenue_accounts"].fillna(0).astype(int)
    out["top_accounts"] = out["top_accounts"].fillna(0).astype(int)
    out = out.sort_values(["active_relationships", "owner"], ascending=[False, True], kind="stable", na_position="last")
    return out.reset_index(drop=True)


def _check_books_args(village, capacity, owner, revenue):
    number = isinstance(capacity, (int, float, np.integer, np.floating)) and not isinstance(capacity, bool)
    if not number or not capacity > 0:
        raise CoverageError(f"capacity={capacity!r} is not a positive number; expected e.g. 150 (Dunbar's number)")
    a = village.accounts
    for name, col in (("owner", owner), ("revenue", revenue)):
        if col not in a:
            raise CoverageError(
                f"{name}={col!r} is not a column of accounts (columns: {list(a.columns)}); "
                f"manager_books needs the account manager and revenue of each account: add the column "
                f"or pass {name}= the column that holds it"
            )


def _account_relationships(village, as_of, window_days, owner, revenue):
    """One row per account: owner (``owner_key`` for grouping), revenue, active and heard relationships."""
    a = village.accounts
    rows = _rows(village, ties=False)
    accounts = rows.accounts
    s = village.stakeholders
    active = active_mask(s, as_of).to_numpy()
    dates = _response_dates(village)
    said = rows.resp[window_mask(dates, as_of, window_days).to_numpy() & (rows.resp >= 0)]
    heard_row = np.zeros(len(s), dtype=bool)
    heard_row[said] = True
    code, heard = rows.acc[active], heard_row[active]
    n_active = np.bincount(code, minlength=len(accounts))
    n_heard = np.bincount(code, weights=heard, minlength=len(accounts)).astype(int)
    row = lookup(accounts, a["account_id"])
    books = pd.DataFrame({
        "owner": a[owner].astype(object).where(a[owner].notna(), None).to_numpy(),
        "revenue": pd.to_numeric(a[revenue], errors="coerce").to_numpy(dtype=float),
        "active": n_active[row],
        "heard": n_heard[row],
    })
    books["owner_key"] = books["owner"].fillna("\0unassigned")  # groupby drops None keys
    return books


def _revenue_concentration(books, top_share):
    """Per book: revenue, accounts with revenue, the top accounts' count and share, and the Gini coefficient.
    Revenues are ranked within each book (ascending for the Gini, descending for the top-k)."""
    rev = books.loc[books["revenue"].notna(), ["owner_key", "revenue"]].sort_values(["owner_key", "revenue"])
    rg = rev.groupby("owner_key", sort=False)["revenue"]
    n = rg.transform("size")
    i_asc = rg.cumcount() + 1
    top_k = np.maximum(1, _ceil_count(top_share, n))
    in_top = (n - i_asc + 1) <= top_k  # descending position <= k
    summary = pd.DataFrame({
        "revenue": rg.sum(),
        "revenue_accounts": rg.size(),
        "top_accounts": pd.Series(top_k, index=rev.index).groupby(rev["owner_key"]).first(),
        "top_sum": rev["revenue"].where(in_top, 0.0).groupby(rev["owner_key"]).sum(),
        "weighted": (i_asc * rev["revenue"]).groupby(rev["owner_key"]).sum(),
    })
    positive = summary["revenue"].where(summary["revenue"] > 0)
    summary["top_revenue_share"] = summary["top_sum"] / positive
    k = summary["revenue_accounts"]
    summary["gini"] = 2 * summary["weighted"] / (k * positive) - (k + 1) / k
    return summary[["revenue", "revenue_accounts", "top_accounts", "top_revenue_share", "gini"]]


# --------------------------------------------------------------------------
# listening plan
# --------------------------------------------------------------------------
