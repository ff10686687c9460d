"""What every figure of :mod:`cxinfluence.present.plots` shares: sizes, colours, checks of ``data``,
the axes and labels, percent formatting; and the figure's way out (a PNG ``data:`` URI, counting drawn marks)."""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd

from ..exceptions import PlotDataError

__all__ = ["FIGSIZE", "REFERENCE", "figure_to_data_uri", "drawn_marks"]

FIGSIZE = (9.0, 5.5)
TITLE_SIZE, LABEL_SIZE, TICK_SIZE = 16, 13, 11
#: colour-blind safe (Okabe & Ito 2008), also seaborn's "colorblind" first colours
BLUE, ORANGE, GREEN, RED, GREY = "#0072b2", "#e69f00", "#009e73", "#d55e00", "#bbbbbb"


def _need(data, columns, func):
    """The columns as a new DataFrame; PlotDataError naming any that are missing."""
    if not isinstance(data, pd.DataFrame):
        raise PlotDataError(f"{func}: data is {type(data).__name__}; expected a pandas DataFrame.")
    cols = list(dict.fromkeys(c for c in columns if c is not None))
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise PlotDataError(
            f"{func}: data has no column(s) {missing}; expected {cols}. Available columns: {list(data.columns)}. "
            "Pass the right names, e.g. x='...'.")
    return data.loc[:, cols].copy()


def _numeric(df, cols, func):
    for c in cols:
        if c is None:
            continue
        converted = pd.to_numeric(df[c], errors="coerce")
        bad = converted.isna() & df[c].notna()
        if bad.any():
            raise PlotDataError(f"{func}: column {c!r} has non-numeric value {df[c][bad].iloc[0]!r}; expected numbers.")
        df[c] = converted.astype("float64")
    return df


def _axes(ax, figsize=FIGSIZE):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _finish(ax, title, xlabel, ylabel):
    if title:
        ax.set_title(title, fontsize=TITLE_SIZE, loc="left", fontweight="bold")
    ax.set_xlabel(xlabel, fontsize=LABEL_SIZE)
    ax.set_ylabel(ylabel, fontsize=LABEL_SIZE)
    ax.tick_params(labelsize=TICK_SIZE)
    return ax


def _outcome_labels(series):
    """0/1 outcomes read as words in a legend; other values kept as text."""
    values = set(series.dropna().unique())
    if values <= {0, 1, True, False}:
        # via float: a dict keyed by both 0 and False collapses, and a bool column then maps to NaN
        # (the blank chart of notebook 03)
        return series.astype("float64").map({0.0: "no", 1.0: "yes"})
    return series.astype("string")



def _percent():
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(xmax=1.0, decimals=0)



# --------------------------------------------------------------------------- export


def figure_to_data_uri(fig, *, dpi=150, close=False, bbox_cache=None, bbox_key=None, layout_pass=True) -> str:
    """PNG ``data:`` URI of a matplotlib Figure (or the figure of an Axes).

    For embedding in the self-contained report: ``<img src="{uri}">`` needs
    no file and no network. ``close=True`` closes the figure afterwards.

    The image is cropped to the figure's tight bounding box. Working that box out
    costs a layout pass; a caller drawing many figures whose box is the same (same
    size, texts and axes: the account pages' trend charts with the same dates) passes
    a dict ``bbox_cache`` and a hashable ``bbox_key`` naming that layout: the box is
    computed once per key, exactly as ``bbox_inches="tight"`` does, and reused, which
    gives the same bytes. ``layout_pass=False`` measures the box without the drawing pass (with no output) that
    matplotlib makes first, for a figure whose layout no drawing changes (fixed limits, no layout engine, no
    tick labels placed at draw time): the same box, a third less work.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots(figsize=(2, 1)); _ = ax.plot([0, 1])
    >>> figure_to_data_uri(ax, dpi=50, close=True)[:30]
    'data:image/png;base64,iVBORw0K'
    """
    figure = getattr(fig, "figure", None) if not hasattr(fig, "savefig") else fig
    if figure is None or not hasattr(figure, "savefig"):
        raise PlotDataError(f"fig is {type(fig).__name__}; expected a matplotlib Figure or Axes.")
    buf = io.BytesIO()
    if bbox_cache is not None and bbox_key is not None:
        key = (bbox_key, dpi, tuple(figure.get_size_inches()))
        if key not in bbox_cache:
            bbox_cache[key] = _tight_bbox(figure, dpi, layout_pass=layout_pass)
        bbox = bbox_cache[key]
    else:
        bbox = "tight" if layout_pass else _tight_bbox(figure, dpi, layout_pass=False)
    figure.savefig(buf, format="png", dpi=dpi, bbox_inches=bbox, facecolor="white",
                   metadata={"Software": None})
    if close:
        import matplotlib.pyplot as plt

        plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _tight_bbox(figure, dpi, layout_pass=True):
    """The box ``savefig(bbox_inches="tight", dpi=dpi)`` crops to (matplotlib's own steps: a layout pass at
    ``dpi`` without rendering, unless ``layout_pass`` is false, the tight box of the figure, padded by
    ``savefig.pad_inches``)."""
    import matplotlib as mpl
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = figure.canvas if isinstance(figure.canvas, FigureCanvasAgg) else FigureCanvasAgg(figure)
    old = figure.dpi
    try:
        figure.dpi = dpi
        renderer = canvas.get_renderer()
        if layout_pass:
            with renderer._draw_disabled():
                figure.draw(renderer)
        box = figure.get_tightbbox(renderer)
    finally:
        figure.dpi = old
    pad = mpl.rcParams["savefig.pad_inches"]
    return box.padded(pad, pad)


#: ``gid`` of guide lines drawn in data coordinates (a diagonal): not data, so not counted by :func:`drawn_marks`.
REFERENCE = "cx-reference"


def drawn_marks(fig) -> int:
    """How many data marks a figure draws: points, bars, line vertices and cells, on any of its axes.

    Reference lines (``axhline``/``axvline``, lines with ``gid=REFERENCE``), text, legends and empty
    collections do not count, so a chart whose data were all dropped (NaN
    labels, an empty filter) counts 0 however many decorations it has. The
    report refuses such a chart, and the notebook tests fail on one.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots(); _ = ax.scatter([np.nan], [1.0]); _ = ax.axvline(0); _ = ax.set_title("n = 300")
    >>> drawn_marks(fig)
    0
    >>> _ = ax.bar(["a", "b"], [1.0, 2.0]); drawn_marks(fig)
    2
    >>> plt.close(fig)
    """
    figure = fig if hasattr(fig, "axes") and not hasattr(fig, "transData") else fig.figure
    count = 0
    for ax in figure.axes:
        for line in ax.lines:
            if line.get_transform() != ax.transData or line.get_gid() == REFERENCE:  # axhline/axvline, guides
                continue
            x, y = (np.asarray(v, dtype=float) for v in line.get_data())
            count += int(np.sum(np.isfinite(x) & np.isfinite(y)))
        for coll in ax.collections:
            if hasattr(coll, "get_array") and coll.get_array() is not None and not len(coll.get_offsets()) > 1:
                count += int(np.sum(np.isfinite(np.ma.filled(np.asarray(coll.get_array(), dtype=float), np.nan))))
                continue
            offsets = np.asarray(coll.get_offsets(), dtype=float).reshape(-1, 2)
            if len(offsets) and coll.get_paths():
                count += int(np.sum(np.isfinite(offsets).all(axis=1)))
            elif coll.get_paths():
                count += sum(1 for p in coll.get_paths() if len(p.vertices) and np.isfinite(p.vertices).all())
        for patch in ax.patches:
            if type(patch).__name__ == "Rectangle" and patch.get_width() and patch.get_height() and np.isfinite(
                    [patch.get_width(), patch.get_height()]).all():
                count += 1
        count += sum(1 for im in ax.images if np.size(im.get_array()))
    return count
