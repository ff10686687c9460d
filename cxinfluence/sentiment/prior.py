"""The portfolio prior of a village: :func:`portfolio_prior` (the type, :class:`PortfolioPrior`, is
in :mod:`cxinfluence.sentiment.prior_stats` and importable from here).

Every quantity of account sentiment that pools across accounts, held as sufficient statistics that
add up exactly over any partition of the accounts; docs/methods.md, 'Subset analyses and the
portfolio prior'.
"""

from __future__ import annotations

from .prior_stats import (PRIOR_FILE, PRIOR_FORMAT, PRIOR_OPTIONS, PRIOR_VERSION, PortfolioPrior, PriorEntry,
                          SegmentStats)
from .schemes import _tables

__all__ = ["PRIOR_FILE", "PRIOR_FORMAT", "PRIOR_OPTIONS", "PRIOR_VERSION", "PortfolioPrior", "PriorEntry",
           "SegmentStats", "portfolio_prior"]


def portfolio_prior(village, as_of, *, window_days=365, lead_days=0, half_life_days=None, influence=None,
                    **scheme_options) -> PortfolioPrior:
    """The portfolio prior of a village: the sufficient statistics of its pooled quantities.

    Parameters
    ----------
    village : Village
    as_of : date, list of dates, or DataFrame with an ``as_of`` column
        The dates to hold statistics for (a run uses its snapshot and every outcome period,
        :func:`~cxinfluence.models.frame.outcome_periods`). Every account of the village counts at
        every date.
    window_days, lead_days, half_life_days
        The sentiment window, as in :func:`~cxinfluence.sentiment.schemes.account_sentiment`; a
        prior is used only with the options it was computed with.
    influence : DataFrame, optional
        As in :func:`~cxinfluence.sentiment.schemes.account_sentiment` (default: computed at each date).
    **scheme_options
        The other options of :func:`~cxinfluence.sentiment.schemes.account_sentiment` (checked; they
        do not change the statistics).

    Returns
    -------
    PortfolioPrior

    Examples
    --------
    >>> from cxinfluence.village.synth import make_village
    >>> v, _ = make_village(20, seed=1)
    >>> p = portfolio_prior(v, ["2024-06-30", "2025-01-01"])
    >>> [f"{d:%Y-%m-%d}" for d in p.dates], p.entries[0].n_accounts
    (['2024-06-30', '2025-01-01'], 20)
    """
    table, _ = _tables(village, as_of, stakeholders=False, window_days=window_days, lead_days=lead_days,
                       half_life_days=half_life_days, influence=influence, **scheme_options)
    return PortfolioPrior.of(table)
