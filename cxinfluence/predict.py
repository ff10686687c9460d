"""Predictions from fitted models for the current snapshot and for charts.

Both functions reuse statsmodels' ``get_prediction`` (delta method on the
link scale, transformed back through the inverse link), so intervals of a
probability stay inside ``[0, 1]``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd


def snapshot_frame(village, as_of, **frame_options) -> pd.DataFrame:
    """The model frame's columns for every account at ``as_of`` (outcome unknown).

    One outcome row per account is added at ``as_of`` (``renewed`` blank) to
    each account's latest outcome before it, so lagged controls (prior
    bookings) come from the previous period exactly as in
    :func:`cxinfluence.modelframe.model_frame`; older periods are left out, as
    nothing at ``as_of`` depends on them (sentiment is measured per period).
    """
    from .asof import to_timestamp
    from .modelframe import model_frame

    as_of = to_timestamp(as_of)
    o = village.outcomes
    future = pd.DataFrame({"account_id": village.accounts["account_id"].astype(str), "period_end": as_of,
                           "renewed": np.nan, "bookings": np.nan})
    before = o[o["period_end"] < as_of].sort_values("period_end", kind="stable")
    latest = before.groupby(before["account_id"].astype(str), sort=False).tail(1)
    extended = replace(village, outcomes=pd.concat([latest, future], ignore_index=True))
    frame = model_frame(extended, **frame_options)
    return frame[frame["period_end"] == as_of].reset_index(drop=True)


def _exog_columns(fit, data):
    from .models import formula_columns

    outcome = fit.outcome
    return [c for c in formula_columns(fit.formula, data) if c != outcome]


def predict_renewal(fit, data, conf_level=0.95) -> pd.DataFrame:
    """Predicted renewal probability and its interval for each usable row of ``data``.

    Rows missing a model column (e.g. an account nobody was heard from) get
    no prediction rather than an invented one.

    Returns
    -------
    DataFrame
        ``account_id, p_renew, p_renew_low, p_renew_high``.
    """
    ok = data.dropna(subset=_exog_columns(fit, data))
    pred = fit.result.get_prediction(ok).summary_frame(alpha=1 - conf_level)
    return pd.DataFrame({"account_id": ok["account_id"].astype(str).to_numpy(), "p_renew": pred["mean"].to_numpy(),
                         "p_renew_low": pred["mean_ci_lower"].to_numpy(),
                         "p_renew_high": pred["mean_ci_upper"].to_numpy()})


def renewal_curve_table(fit, column, grid=None, conf_level=0.95) -> pd.DataFrame:
    """Predicted renewal across values of ``column`` for a typical account.

    The other model columns are held at their typical value in the fitted data
    (median of numbers, most frequent category), so the curve reads "an
    account like most, at this sentiment".

    Returns
    -------
    DataFrame
        ``sentiment, p_renew, p_renew_low, p_renew_high``.
    """
    data = fit.data
    grid = np.linspace(-1, 1, 41) if grid is None else np.asarray(grid, dtype=float)
    typical = {}
    for c in _exog_columns(fit, data):
        if c == column:
            continue
        s = data[c]
        typical[c] = s.median() if pd.api.types.is_numeric_dtype(s) else s.mode().iloc[0]
    rows = pd.DataFrame({column: grid, **{c: [v] * len(grid) for c, v in typical.items()}})
    pred = fit.result.get_prediction(rows).summary_frame(alpha=1 - conf_level)
    return pd.DataFrame({"sentiment": grid, "p_renew": pred["mean"].to_numpy(),
                         "p_renew_low": pred["mean_ci_lower"].to_numpy(),
                         "p_renew_high": pred["mean_ci_upper"].to_numpy()})
