"""Portfolio figures: who was heard per account (coverage) and where the revenue at risk sits (Pareto)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..exceptions import PlotDataError
from .plotbase import (
    BLUE,
    LABEL_SIZE,
    ORANGE,
    RED,
    TICK_SIZE,
    _axes,
    _finish,
    _need,
    _numeric,
    _percent,
)

__all__ = ["coverage_chart", "revenue_at_risk_pareto"]


def coverage_chart(data, *, account="account_id", heard="heard_influence", unheard_veto="unheard_veto",
                   top=25, target=0.5, ax=None, title="How much of each village we actually hear"):
    """Share of each account's influence heard recently, least-covered accounts first.

    Each bar is one account: the dark part is the share of influence whose
    holders gave feedback in the window, the light part the share not heard.
    Accounts with an unheard veto holder are drawn in orange and annotated.

    Parameters
    ----------
    data : DataFrame
        One row per account (e.g. from :func:`cxinfluence.listening.coverage`).
    heard : str
        Heard share of influence, in [0, 1].
    unheard_veto : str or None
        Number of veto holders not heard.
    top : int
        Show the ``top`` least-covered accounts (lowest heard share; ties:
        more unheard veto holders first).
    target : float or None
        Dotted line at the coverage target.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> cov = pd.DataFrame({"account_id": ["A", "B", "C"], "heard_influence": [0.9, 0.2, 0.5],
    ...                     "unheard_veto": [0, 2, 0]})
    >>> ax = coverage_chart(data=cov)
    >>> [t.get_text() for t in ax.get_yticklabels()], [round(float(p.get_width()), 2) for p in ax.patches[:3]]
    (['B', 'C', 'A'], [0.2, 0.5, 0.9])
    """
    func = "coverage_chart"
    df = _numeric(_need(data, [account, heard, unheard_veto], func), [heard, unheard_veto], func)
    df = df.dropna(subset=[heard])
    if ((df[heard] < -1e-9) | (df[heard] > 1 + 1e-9)).any():
        raise PlotDataError(f"{func}: {heard!r} has values outside [0, 1]; expected a share of influence.")
    veto = df[unheard_veto].fillna(0) if unheard_veto else pd.Series(0.0, index=df.index)
    df = df.assign(_veto=veto).sort_values([heard, "_veto"], ascending=[True, False], kind="stable").head(top)
    ax = _axes(ax, figsize=(9.0, 0.32 * len(df) + 1.8))
    pos = np.arange(len(df))
    h = df[heard].to_numpy()
    colours = np.where(df["_veto"].to_numpy() > 0, ORANGE, BLUE)
    ax.barh(pos, h, color=colours, height=0.7, label="heard")
    ax.barh(pos, 1 - h, left=h, color="#e8e8e8", height=0.7, label="not heard")
    for i, v in zip(pos, df["_veto"].to_numpy()):
        if v > 0:
            ax.text(1.01, i, f"{int(v)} veto unheard", va="center", fontsize=TICK_SIZE - 1, color="#a0522d",
                    clip_on=False)
    if target is not None:
        ax.axvline(target, color="#333333", ls=":", lw=1.2)
    ax.set_yticks(pos, df[account].astype(str).tolist())
    ax.set_ylim(len(df) - 0.5, -0.5)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(_percent())
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=BLUE, label="heard"), Patch(color=ORANGE, label="heard (veto holder unheard)"),
                       Patch(color="#e8e8e8", label="not heard")], fontsize=TICK_SIZE - 1,
              loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3, frameon=False)
    return _finish(ax, title, "Share of the account's influence heard", "")


def revenue_at_risk_pareto(data, *, account="account_id", value="revenue_at_risk", ci_low=None, ci_high=None,
                           top=20, ax=None, title="Revenue at risk, largest first", ylabel="Revenue at risk"):
    """Pareto chart: revenue at risk per account (bars) and cumulative share (line).

    Bars show the ``top`` accounts by ``value``; the line (right axis, also
    ``ax.cumulative_ax``) is the running share of the **whole portfolio's**
    revenue at risk, so "the first 5 accounts hold 60 %" reads directly.

    Parameters
    ----------
    data : DataFrame
        One row per account (e.g. from :mod:`cxinfluence.models.risk`).
    value : str
        Revenue at risk (>= 0).
    ci_low, ci_high : str, optional
        Interval columns, drawn as error bars.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> risk = pd.DataFrame({"account_id": ["A", "B", "C"], "revenue_at_risk": [100.0, 300.0, 100.0]})
    >>> ax = revenue_at_risk_pareto(data=risk)
    >>> [float(p.get_height()) for p in ax.patches], ax.cumulative_ax.lines[0].get_ydata().tolist()
    ([300.0, 100.0, 100.0], [0.6, 0.8, 1.0])
    """
    func = "revenue_at_risk_pareto"
    df = _numeric(_need(data, [account, value, ci_low, ci_high], func), [value, ci_low, ci_high], func)
    df = df.dropna(subset=[value])
    if (df[value] < 0).any():
        raise PlotDataError(f"{func}: {value!r} has negative values (e.g. {df.loc[df[value] < 0, value].iloc[0]}); "
                            "expected revenue at risk >= 0.")
    total = df[value].sum()
    if df.empty or total <= 0:
        raise PlotDataError(f"{func}: total {value!r} is {total}; nothing at risk to chart.")
    df = df.sort_values(value, ascending=False, kind="stable").head(top)
    ax = _axes(ax, figsize=(10.0, 5.5))
    pos = np.arange(len(df))
    vals = df[value].to_numpy()
    yerr = None
    if ci_low and ci_high:
        yerr = np.nan_to_num(np.vstack([vals - df[ci_low].to_numpy(), df[ci_high].to_numpy() - vals]).clip(min=0))
    ax.bar(pos, vals, color=RED, width=0.75, yerr=yerr, capsize=3 if yerr is not None else 0,
           error_kw={"ecolor": "#555555", "lw": 1})
    ax.set_xticks(pos, df[account].astype(str).tolist(), rotation=45 if len(df) > 8 else 0, ha="right"
                  if len(df) > 8 else "center")
    ax.yaxis.set_major_formatter(_money())
    twin = ax.twinx()
    twin.plot(pos, np.cumsum(vals) / total, color="#333333", marker="o", ms=4, lw=1.8)
    twin.set_ylim(0, 1.02)
    twin.yaxis.set_major_formatter(_percent())
    twin.set_ylabel("Cumulative share of all revenue at risk", fontsize=LABEL_SIZE)
    twin.tick_params(labelsize=TICK_SIZE)
    ax.cumulative_ax = twin
    ax.grid(axis="y", color="#eeeeee")
    return _finish(ax, title, "", ylabel)


def _money():
    from matplotlib.ticker import FuncFormatter

    def fmt(v, _pos):
        for div, suf in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
            if abs(v) >= div:
                return f"{v / div:g}{suf}"
        return f"{v:g}"

    return FuncFormatter(fmt)


