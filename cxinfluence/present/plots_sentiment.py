"""Sentiment figures: influence-weighted against plain mean sentiment, and sentiment by role and journey stage."""

from __future__ import annotations

import warnings

import pandas as pd

from ..exceptions import PlotDataError
from ..village.schema import JOURNEY_STAGES, ROLES
from .plotbase import (
    BLUE,
    RED,
    REFERENCE,
    TICK_SIZE,
    _axes,
    _finish,
    _need,
    _numeric,
    _outcome_labels,
)

__all__ = ["sentiment_scatter", "role_stage_heatmap"]


def sentiment_scatter(data, *, x="mean", y="influence_weighted", hue="renewed", ax=None,
                      title="Who matters changes the score", xlabel=None, ylabel=None, max_points=5000, seed=0,
                      unit="accounts", hue_title=None):
    """Naive mean against influence-weighted sentiment, one point per account.

    Points off the dashed diagonal are accounts whose score moves once
    influence is taken into account; colour shows the outcome (e.g. renewed).

    Parameters
    ----------
    data : DataFrame
        One row per account (e.g. :func:`cxinfluence.account_sentiment`).
    x, y : str
        Sentiment columns on [-1, 1]: the naive mean and the weighted score.
    hue : str or None
        Outcome column; 0/1 values are labelled "no"/"yes".
    ax : matplotlib Axes, optional
    max_points : int or None, default 5000
        Draw a random sample of this many rows when there are more (a
        portfolio's hundreds of thousands of points only hide each other and
        take minutes to render); the note in the corner says so.
    seed : int
        Seed of that sample.
    unit : str
        What one point is, for the count in the corner ("accounts", "account-periods").
    hue_title : str, optional
        Legend title (default ``hue``).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> df = pd.DataFrame({"mean": [0.2, -0.1, 0.5], "influence_weighted": [-0.3, 0.0, 0.6],
    ...                    "renewed": [0, 1, 1]})
    >>> ax = sentiment_scatter(data=df)
    >>> len(ax.collections[0].get_offsets()), tuple(map(float, ax.get_xlim()))
    (3, (-1.05, 1.05))
    """
    import seaborn as sns

    func = "sentiment_scatter"
    df = _numeric(_need(data, [x, y, hue], func), [x, y], func).dropna(subset=[x, y])
    n_all = len(df)
    if max_points is not None and n_all > max_points:
        df = df.sample(max_points, random_state=seed)
    if hue is not None:
        df[hue] = _outcome_labels(df[hue])
    ax = _axes(ax, figsize=(7.5, 6.5))
    ax.plot([-1, 1], [-1, 1], ls="--", color="#888888", lw=1, zorder=0, label="_diagonal", gid=REFERENCE)
    ax.axhline(0, color="#dddddd", lw=0.8, zorder=0)
    ax.axvline(0, color="#dddddd", lw=0.8, zorder=0)
    order = sorted(df[hue].dropna().unique()) if hue is not None else None
    palette = dict(zip(order, [RED, BLUE] if order == ["no", "yes"] else sns.color_palette("colorblind", len(order)))) \
        if order else None
    # a marker per outcome too, so the chart reads in black and white
    markers = {"no": "X", "yes": "o"} if order == ["no", "yes"] else None
    sns.scatterplot(data=df, x=x, y=y, hue=hue, hue_order=order, palette=palette, s=60, alpha=0.8,
                    style=hue if markers else None, style_order=order if markers else None, markers=markers or True,
                    edgecolor="white", linewidth=0.5, ax=ax)
    ax.set_xlim(-1.05, 1.05)
    ax.set_ylim(-1.05, 1.05)
    ax.set_aspect("equal")
    if hue is not None and ax.get_legend() is not None:
        ax.legend(title=hue_title or hue, fontsize=TICK_SIZE, title_fontsize=TICK_SIZE, loc="upper left")
    shown = f"n = {n_all:,} {unit}" if len(df) == n_all else f"random {len(df):,} of {n_all:,} {unit} shown"
    ax.text(0.98, 0.02, shown, transform=ax.transAxes, ha="right", va="bottom",
            fontsize=TICK_SIZE, color="#555555")
    return _finish(ax, title, xlabel or f"{x} (naive, -1 to +1)", ylabel or f"{y} (-1 to +1)")


def role_stage_heatmap(data, *, row="role", col="journey_stage", value="sentiment", ax=None, min_count=1,
                       annot=True, title="Sentiment by role and journey stage"):
    """Mean sentiment in each role x journey-stage cell, with the number of responses.

    Parameters
    ----------
    data : DataFrame
        Long table, one row per response (or per pre-aggregated cell).
    row, col : str
        Grouping columns. Buying-center roles and journey stages are shown in
        the contract's order; other values alphabetically.
    value : str
        Sentiment on [-1, 1].
    min_count : int, default 1
        Cells with fewer responses are left blank (too few to read).
    annot : bool
        Write "mean (n)" in each cell.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> df = pd.DataFrame({"role": ["user", "user", "decider"], "journey_stage": ["decision"] * 3,
    ...                    "sentiment": [0.2, 0.4, -0.5]})
    >>> ax = role_stage_heatmap(data=df)
    >>> [t.get_text() for t in ax.texts]
    ['-0.50\\n(n=1)', '0.30\\n(n=2)']
    """
    import seaborn as sns

    func = "role_stage_heatmap"
    df = _numeric(_need(data, [row, col, value], func), [value], func).dropna(subset=[row, col, value])
    if df.empty:
        raise PlotDataError(f"{func}: no rows with {row!r}, {col!r} and {value!r} all present; nothing to draw.")
    stats = df.groupby([row, col], observed=True)[value].agg(["mean", "count"])
    means, counts = stats["mean"].unstack(col), stats["count"].unstack(col)

    def order(present, canonical):
        present = list(present)
        known = [v for v in canonical if v in present]
        return known + sorted(v for v in present if v not in known)

    rows, cols = order(means.index, ROLES), order(means.columns, JOURNEY_STAGES)
    means, counts = means.reindex(index=rows, columns=cols), counts.reindex(index=rows, columns=cols)
    means = means.where(counts >= min_count)
    labels = means.map(lambda m: "" if pd.isna(m) else f"{m:.2f}") + counts.map(
        lambda n: "" if pd.isna(n) else f"\n(n={int(n)})").where(means.notna(), "")
    ax = _axes(ax, figsize=(1.6 * len(cols) + 3, 0.9 * len(rows) + 2))
    with warnings.catch_warnings():  # seaborn 0.13 calls a method matplotlib 3.11 plans to deprecate
        warnings.filterwarnings("ignore", "The set_bad function", PendingDeprecationWarning)
        sns.heatmap(means, vmin=-1, vmax=1, center=0, cmap="RdBu", annot=labels if annot else False, fmt="",
                    annot_kws={"fontsize": TICK_SIZE}, linewidths=0.5, linecolor="white",
                    cbar_kws={"label": f"{value} (-1 to +1)"}, ax=ax)
    ax.set_facecolor("#f0f0f0")  # blank (too few) cells read as grey, not as neutral white
    ax.tick_params(axis="y", rotation=0)
    return _finish(ax, title, col.replace("_", " "), row.replace("_", " "))


