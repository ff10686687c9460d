"""Who cares about what: the parties' interests as an interrelationship digraph (seed 001).

:func:`interest_edges` turns an account's comments into directed edges
``role -> theme`` weighted by how many comments that role made on that theme,
with their mean sentiment; :func:`interest_digraph` draws them: roles on the
left, themes on the right, line width = comments, line colour = mean
sentiment (red negative, blue positive), dashed when most of the role's
comments on the theme are negative, so it reads in black and white.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .maps import _RDBU

__all__ = ["interest_edges", "interest_digraph"]

_NEGATIVE = -0.05


def interest_edges(comments: pd.DataFrame, *, role="role", themes="themes", sentiment="comment_sentiment",
                   max_themes=6) -> pd.DataFrame:
    """Role -> theme edges of one account's comments.

    Parameters
    ----------
    comments : DataFrame
        With ``role``, ``themes`` (";"-joined) and ``sentiment``
        (:func:`cxinfluence.comments.capture.comment_table`).
    max_themes : int
        Keep the account's most raised themes.

    Returns
    -------
    DataFrame
        ``role, theme, comments, negative, sentiment`` (mean), most comments first.

    Examples
    --------
    >>> c = pd.DataFrame({"role": ["user", "decider", "decider"], "themes": ["delivery", "price;delivery", "price"],
    ...                   "comment_sentiment": [-0.5, -0.6, 0.4]})
    >>> interest_edges(c).values.tolist()
    [['decider', 'delivery', 1, 1, -0.6], ['decider', 'price', 2, 1, -0.1], ['user', 'delivery', 1, 1, -0.5]]
    """
    cols = ["role", "theme", "comments", "negative", "sentiment"]
    if comments is None or not len(comments) or themes not in comments or role not in comments:
        return pd.DataFrame(columns=cols)
    c = comments.assign(theme=comments[themes].fillna("").astype(str).str.split(";")).explode("theme")
    c = c[c["theme"].str.strip() != ""].assign(_role=lambda d: d[role].fillna("role unknown").astype(str))
    if not len(c):
        return pd.DataFrame(columns=cols)
    top = c["theme"].value_counts().head(max_themes).index
    c = c[c["theme"].isin(top)]
    s = pd.to_numeric(c[sentiment], errors="coerce") if sentiment in c else pd.Series(np.nan, index=c.index)
    c = c.assign(_s=s, _neg=s <= _NEGATIVE)
    g = c.groupby(["_role", "theme"], observed=True).agg(comments=("_s", "size"), negative=("_neg", "sum"),
                                                          sentiment=("_s", "mean")).reset_index()
    g = g.rename(columns={"_role": "role"}).astype({"negative": int})
    g["sentiment"] = g["sentiment"].round(6)
    return g.sort_values(["role", "theme"], kind="stable").reset_index(drop=True)[cols]


def interest_digraph(edges: pd.DataFrame, *, title="Who cares about what"):
    """Draw :func:`interest_edges` as a two-column digraph; a matplotlib Figure (None when there are no edges).

    Examples
    --------
    >>> e = pd.DataFrame({"role": ["decider", "user"], "theme": ["price", "price"], "comments": [3, 1],
    ...                   "negative": [2, 0], "sentiment": [-0.4, 0.3]})
    >>> fig = interest_digraph(e)
    >>> len([p for p in fig.axes[0].patches if p.get_gid() == "cx-interest"])
    2
    """
    if edges is None or not len(edges):
        return None
    roles, themes, rows = _interest_rows(edges)
    fig, ax = _interest_axes(rows, title)
    _draw_interests(ax, edges, roles, themes, rows)
    return fig


def _interest_rows(edges) -> tuple:
    """The digraph's roles (left, in the edges' order), themes (right, most comments first) and row count."""
    roles = list(dict.fromkeys(edges["role"]))
    themes = list(edges.groupby("theme")["comments"].sum().sort_values(ascending=False, kind="stable").index)
    return roles, themes, max(len(roles), len(themes))


def _interest_axes(rows: int, title: str):
    """The digraph's empty figure for ``rows`` rows: (Figure, Axes without axis lines)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.5, 1.2 + 0.55 * rows), dpi=100)
    ax = fig.add_axes([0.02, 0.02, 0.96, 0.88])
    ax.set_axis_off()
    fig.suptitle(title, fontsize=13, x=0.02, ha="left")
    return fig, ax


def _draw_interests(ax, edges, roles, themes, rows) -> None:
    """The arrows, counts, role and theme names and the key of :func:`interest_digraph` on ``ax``."""
    from matplotlib.colors import LinearSegmentedColormap, Normalize
    from matplotlib.patches import FancyArrowPatch

    def ys(n):
        return {i: rows - 1 - (i + 0.5) * rows / n + 0.5 for i in range(n)}

    yr, yt = ys(len(roles)), ys(len(themes))
    pr = {r: (0.0, yr[i]) for i, r in enumerate(roles)}
    pt = {t: (1.0, yt[i]) for i, t in enumerate(themes)}
    # the maps' red-blue scale with a grey middle: a neutral arrow must still show on white paper
    cmap = LinearSegmentedColormap.from_list("cx_rdgybu", [*_RDBU[:3], "#9e9e9e", *_RDBU[-3:]])
    norm = Normalize(-1, 1)
    top = float(edges["comments"].max())
    for e in edges.itertuples(index=False):
        colour = "#999999" if pd.isna(e.sentiment) else cmap(norm(e.sentiment))
        arrow = FancyArrowPatch(pr[e.role], pt[e.theme], arrowstyle="-|>", mutation_scale=14,
                                linewidth=1.0 + 5.0 * e.comments / top, color=colour,
                                linestyle="--" if e.negative * 2 > e.comments else "-",
                                shrinkA=6, shrinkB=6, zorder=1)
        arrow.set_gid("cx-interest")
        # add_artist, not add_patch: add_patch works out the arrow's whole path (shrunk, bezier-split) only to
        # widen the data limits, which are set below; half the time of building the figure. Same picture
        # (tests/test_pagefigures.py)
        ax.add_artist(arrow)
        mid = (0.62 * pr[e.role][0] + 0.38 * pt[e.theme][0], 0.62 * pr[e.role][1] + 0.38 * pt[e.theme][1])
        ax.text(*mid, str(e.comments), fontsize=9, ha="center", va="center", zorder=3,
                bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none", alpha=0.85))
    for r, (x, y) in pr.items():
        ax.text(x - 0.02, y, r, ha="right", va="center", fontsize=11, fontweight="bold")
    for t, (x, y) in pt.items():
        ax.text(x + 0.02, y, t, ha="left", va="center", fontsize=11)
    ax.set_xlim(-0.45, 1.45)
    ax.set_ylim(-0.8, rows - 0.2)
    ax.text(-0.45, -0.7, "Arrow: a role commented on a topic; width and number = comments;\ncolour = mean tone "
            "(red negative, grey neutral, blue positive); dashed = mostly negative.", fontsize=8.5, color="#333333",
            va="center")
