"""Predictions from fitted models for the current snapshot and for charts.

Both functions reuse statsmodels' ``get_prediction`` (delta method on the
link scale, transformed back through the inverse link), so intervals of a
probability stay inside ``[0, 1]``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from ..exceptions import ModelError
from ..village.asof import to_timestamp
from ..village.ids import carry
from .fit import formula_columns
from .frame import model_frame


def snapshot_frame(village, as_of, *, sentiment=None, stakeholders=None, prior=None, **frame_options) -> pd.DataFrame:
    """The model frame's columns for every account at ``as_of`` (outcome unknown).

    One row per account at ``as_of`` (``renewed`` blank), built by
    :func:`cxinfluence.models.frame.model_frame`; the lagged controls (prior
    bookings and renewal) are each account's latest outcome before ``as_of``,
    as the model frame's previous period would give them.

    Parameters
    ----------
    village : Village
    as_of : date
    sentiment, stakeholders : DataFrame, optional
        :func:`~cxinfluence.sentiment.schemes.account_sentiment` and
        :func:`~cxinfluence.sentiment.schemes.stakeholder_sentiment` at ``as_of``,
        already computed with the same options (the pipeline has them).
    prior : PortfolioPrior, optional
        Score the sentiment against this portfolio prior (see
        :func:`~cxinfluence.models.frame.model_frame`); unused when ``sentiment`` is given.
    **frame_options
        Passed to :func:`~cxinfluence.models.frame.model_frame`.
    """
    as_of = to_timestamp(as_of)
    o = village.outcomes
    future = pd.DataFrame({"account_id": village.accounts["account_id"].astype(str), "period_end": as_of,
                           "renewed": np.nan, "bookings": np.nan})
    frame = model_frame(carry(village, replace(village, outcomes=future)), sentiment=sentiment,
                        stakeholders=stakeholders, prior=prior, **frame_options)
    before = o[o["period_end"] < as_of].sort_values("period_end", kind="stable")
    latest = before.groupby(before["account_id"].astype(str), sort=False).tail(1)
    prior = pd.DataFrame({"account_id": latest["account_id"].astype(str).to_numpy(),
                          "prior_bookings": pd.to_numeric(latest["bookings"], errors="coerce").to_numpy(float)
                          if "bookings" in latest.columns else np.nan,
                          "prior_renewed": pd.to_numeric(latest["renewed"], errors="coerce").to_numpy(float)})
    columns = frame.columns
    frame = frame.drop(columns=["prior_bookings", "log_prior_bookings", "prior_renewed"]).merge(
        prior, on="account_id", how="left")
    frame["log_prior_bookings"] = np.log1p(frame["prior_bookings"])
    return frame[columns]


def _exog_columns(fit, data):
    outcome = fit.outcome
    return [c for c in formula_columns(fit.formula, data) if c != outcome]


def _design(fit, rows):
    """What to predict from: ``rows`` themselves when the model still has its formula; otherwise (terms
    that were constant or collinear in the fitted rows were dropped, so the model was refitted on a
    reduced design) the design matrix of ``rows`` built as on the fitted rows, with the kept columns."""
    model = fit.result.model
    if getattr(model, "formula", None) is not None or (fit.data is None and fit.design_info is None):
        if fit.released and getattr(model, "formula", None) is None:
            raise ModelError(f"{fit.name!r} was refitted on a reduced design and its fitted rows were released "
                             "(or it was unpickled since): refit it on the run's model_frame to predict")
        return rows
    import patsy

    info = fit.design_info  # kept when the fitted rows were released (cxinfluence.models.release)
    if info is None:
        info = patsy.dmatrix(fit.formula.split("~", 1)[1], fit.data, return_type="dataframe").design_info
    (X,) = patsy.build_design_matrices([info], rows, return_type="dataframe")
    return X[list(model.exog_names)]


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
    pred = fit.result.get_prediction(_design(fit, ok)).summary_frame(alpha=1 - conf_level)
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
    grid = np.linspace(-1, 1, 41) if grid is None else np.asarray(grid, dtype=float)
    typical = {}
    for c in _exog_columns(fit, pd.DataFrame(columns=fit.data_columns)):
        if c == column:
            continue
        typical[c] = fit.column_summary(c)["typical"]  # median of numbers, most frequent category
    rows = pd.DataFrame({column: grid, **{c: [v] * len(grid) for c, v in typical.items()}})
    pred = fit.result.get_prediction(_design(fit, rows)).summary_frame(alpha=1 - conf_level)
    return pd.DataFrame({"sentiment": grid, "p_renew": pred["mean"].to_numpy(),
                         "p_renew_low": pred["mean_ci_lower"].to_numpy(),
                         "p_renew_high": pred["mean_ci_upper"].to_numpy()})
