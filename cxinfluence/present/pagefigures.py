"""The account pages' two pictures as PNG ``data:`` URIs, drawn with less repeated work for the pages of a run.

:func:`trend_figure` draws one account's sentiment over time (the readable reference); :class:`TrendCharts`
gives the same PNG for many accounts from one figure per layout: the accounts of a run share their outcome
dates, so the chart's axes, ticks, labels, title and legend are the same for all of them and only the three
data artists (the influence-weighted line, its interval band, the plain-mean line) change. The figure is built
once per layout and its data swapped; it keeps one Agg canvas, so the renderer (and its cache of text
measurements) is reused from page to page. :func:`interest_png` draws the who-cares-about-what digraph cropped
to its tight box like ``savefig(bbox_inches="tight")``, without the layout-only drawing pass matplotlib makes
first (the figure has fixed limits and no layout engine, so the box is the same). Both give the bytes of the
plain ``figure_to_data_uri`` calls (tests/test_pagefigures.py).
"""

from __future__ import annotations

import pandas as pd

from .interests import _draw_interests, _interest_axes, _interest_rows, interest_digraph, interest_edges
from .plotbase import drawn_marks, figure_to_data_uri

__all__ = ["trend_rows", "trend_figure", "trend_layout", "TrendCharts", "interest_png", "InterestCharts"]

#: the trend chart's size in inches
TREND_SIZE = (7.5, 3.2)


def trend_rows(history, account_id):
    """The account's rows with an influence-weighted score, by date (None with fewer than two)."""
    h = history[history["account_id"].astype(str) == str(account_id)].sort_values("as_of")
    h = h.dropna(subset=["influence_weighted"])
    return h if len(h) >= 2 else None


def trend_layout(h) -> tuple:
    """What fixes the trend chart's layout (everything but the data): its dates and which series it has."""
    dates = pd.to_datetime(h["as_of"])
    return ("trend", tuple(d.strftime("%Y-%m-%d") for d in dates), "influence_weighted_ci_low" in h, "mean" in h)


def trend_figure(h):
    """The trend chart of one account's rows ``h`` (two or more dates): a new matplotlib Figure.

    Examples
    --------
    >>> h = pd.DataFrame({"account_id": "A", "as_of": ["2025-01-01", "2026-01-01"], "influence_weighted": [0.1, -0.2],
    ...                   "mean": [0.0, -0.1]})
    >>> [len(line.get_xdata()) for line in trend_figure(h).axes[0].lines[:2]]
    [2, 2]
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=TREND_SIZE)  # not pyplot's: no figure manager to create and close for each page
    ax = fig.subplots()
    dates = pd.to_datetime(h["as_of"])
    ax.plot(dates, h["influence_weighted"], marker="o", color="#111111", label="influence-weighted")
    if "influence_weighted_ci_low" in h:
        ax.fill_between(dates, h["influence_weighted_ci_low"], h["influence_weighted_ci_high"], color="#bbbbbb",
                        alpha=0.5, label="95% interval")
    if "mean" in h:
        ax.plot(dates, h["mean"], marker="s", ls="--", color="#666666", label="plain mean")
    ax.axhline(0, color="#999999", lw=0.8)
    ax.set_ylim(-1.05, 1.05)
    ax.set_ylabel("Sentiment (-1 to +1)")
    ax.set_title("Has this account's sentiment moved?", loc="left", fontsize=12)
    ax.legend(fontsize=8, frameon=False, loc="lower left")
    ax.grid(color="#eeeeee")
    ax.set_xticks(dates, [d.strftime("%Y-%m-%d") for d in dates], fontsize=8)
    return fig


class TrendCharts:
    """Trend chart PNGs for the pages of one run: one figure per layout (:func:`trend_layout`), data swapped.

    ``png(history, account_id)`` is ``figure_to_data_uri(trend_figure(rows))`` (None with fewer than two dates or
    nothing drawn), byte for byte.

    Examples
    --------
    >>> h = pd.DataFrame({"account_id": ["A", "A", "B", "B"], "as_of": ["2025-01-01", "2026-01-01"] * 2,
    ...                   "influence_weighted": [0.1, -0.2, 0.5, 0.6]})
    >>> charts = TrendCharts()
    >>> charts.png(h, "B") == figure_to_data_uri(trend_figure(h[h.account_id == "B"]))
    True
    """

    def __init__(self):
        self._figures = {}  # layout -> (figure, influence-weighted line, band or None, mean line or None)
        self._boxes = {}  # figure_to_data_uri's cache of tight boxes

    def png(self, history, account_id):
        h = trend_rows(history, account_id)
        if h is None:
            return None
        key = trend_layout(h)
        if key not in self._figures:
            from matplotlib.backends.backend_agg import FigureCanvasAgg

            fig = trend_figure(h)
            FigureCanvasAgg(fig)  # kept with the figure: one renderer for all its pages
            lines = fig.axes[0].lines
            band = fig.axes[0].collections[0] if key[2] else None
            self._figures[key] = (fig, lines[0], band, lines[1] if key[3] else None)
        else:
            fig, line, band, mean = self._figures[key]
            dates = pd.to_datetime(h["as_of"])
            line.set_data(dates, h["influence_weighted"])
            if band is not None:
                band.set_data(dates, h["influence_weighted_ci_low"], h["influence_weighted_ci_high"])
            if mean is not None:
                mean.set_data(dates, h["mean"])
        fig = self._figures[key][0]
        if drawn_marks(fig) == 0:
            return None
        return figure_to_data_uri(fig, bbox_cache=self._boxes, bbox_key=key)


def interest_png(comments):
    """PNG data URI of the account's who-cares-about-what digraph (110 dpi, tight box), or None without themes.

    The same bytes as ``figure_to_data_uri(interest_digraph(interest_edges(comments)), dpi=110)``.

    Examples
    --------
    >>> c = pd.DataFrame({"role": ["user", "decider"], "themes": ["price", "price;delivery"],
    ...                   "comment_sentiment": [-0.5, 0.4]})
    >>> interest_png(c) == figure_to_data_uri(interest_digraph(interest_edges(c)), dpi=110)
    True
    """
    fig = interest_digraph(interest_edges(comments))
    if fig is None:
        return None
    return figure_to_data_uri(fig, dpi=110, layout_pass=False)


class InterestCharts:
    """Interest digraph PNGs for the pages of one run: one figure per number of rows, its arrows and names redrawn.

    ``png(comments)`` is :func:`interest_png` of the comments, byte for byte: the figure (its size set by the
    number of rows), axes and title are kept with one Agg canvas; the arrows, counts, names and key are drawn
    again on the emptied axes.

    Examples
    --------
    >>> c = pd.DataFrame({"role": ["user", "decider"], "themes": ["price", "price;delivery"],
    ...                   "comment_sentiment": [-0.5, 0.4]})
    >>> charts = InterestCharts()
    >>> charts.png(c) == interest_png(c) and charts.png(c.iloc[:1]) == interest_png(c.iloc[:1])
    True
    """

    def __init__(self, title="Who cares about what"):
        self.title = title
        self._figures = {}  # rows -> (figure, axes)

    def png(self, comments):
        edges = interest_edges(comments)
        if not len(edges):
            return None
        roles, themes, rows = _interest_rows(edges)
        if rows not in self._figures:
            from matplotlib.backends.backend_agg import FigureCanvasAgg

            fig, ax = _interest_axes(rows, self.title)
            FigureCanvasAgg(fig)  # kept with the figure: one renderer for its tight boxes
            self._figures[rows] = (fig, ax)
        fig, ax = self._figures[rows]
        for artist in [*ax.patches, *ax.texts, *ax.lines, *ax.collections]:
            artist.remove()
        _draw_interests(ax, edges, roles, themes, rows)
        return figure_to_data_uri(fig, dpi=110, layout_pass=False)
