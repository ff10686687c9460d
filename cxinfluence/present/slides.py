"""Buying-center maps as still pictures for slides: PNG and SVG drawn with matplotlib.

:func:`map_figure` draws the same networkx graph :func:`cxinfluence.present.maps.network_map`
shows in the browser, with the same encoding, so a map pasted into a deck
reads like the page:

* only people still there (``active``): people who left are not drawn, and
  the caption says how many were left out;
* marker shape = buying-center role (:data:`cxinfluence.present.maps.ROLE_SHAPES`:
  decider star, buyer square, influencer triangle, gatekeeper hexagon, user
  dot, role unknown triangle down), marker area proportional to influence,
  fill = sentiment on the maps' red-white-blue scale, people not heard in the
  window hatched amber; veto holders have a heavy black border. Shape, border
  and hatching carry the meaning in black and white;
* ``reports_to`` ties solid dark grey, ``influences`` ties dashed purple;
* names of veto holders and the most influential people (the map page's
  rule: :data:`~cxinfluence.present.maps.KEY_LABELS`, at most
  :data:`~cxinfluence.present.maps.MAX_KEY_LABELS`) at :data:`SLIDE_FONT_PT`
  points on a 16:9 slide-sized figure, on a light box;
* layout: force-directed (networkx's Fruchterman-Reingold, seeded) like the
  page's first view, or the page's org chart (``hierarchical=True``).

:func:`write_map_figures` saves one figure as ``<stem>.png`` and ``<stem>.svg``;
``cxinfluence run`` writes them beside each selected account's map in
``networks/``.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path

import numpy as np

from .slideparts import (  # noqa: F401 - _wrap_caption: the caption's wrapping, importable from here as before
    _MAP_AXES,
    _caption,
    _colorbar,
    _draw_map,
    _legend,
    _legend_key,
    _map_data,
    _title_text,
    _wrap_caption,
)

__all__ = ["SLIDE_SIZE", "SLIDE_FONT_PT", "map_figure", "write_map_figures"]

#: Figure size in inches: a 16:9 slide (13.33 x 7.5 in, PowerPoint/Keynote/Google Slides default).
SLIDE_SIZE = (13.33, 7.5)
#: Point size of the names on the figure (legible when the slide is projected or printed).
SLIDE_FONT_PT = 11
#: resolution of the PNG
_PNG_DPI = 150


def map_figure(G, *, seed: int = 1, hierarchical: bool = False, title: str | None = None,
               size: str = "influence", color: str = "sentiment", weight: str = "weight", label: str = "name",
               figsize=SLIDE_SIZE, font_pt: float = SLIDE_FONT_PT):
    """One account's buying-center map as a matplotlib Figure for slides.

    Parameters
    ----------
    G : networkx.DiGraph
        An account graph as for :func:`cxinfluence.present.maps.network_map`
        (``departed="mark"`` or ``"exclude"``; people with ``active`` false are
        left out of the drawing).
    seed : int, default 1
        Seed of the force-directed layout (same graph and seed, same picture).
    hierarchical : bool, default False
        Org-chart layout (managers on top) instead of the force-directed one.
    title : str, optional
        Figure title (customer text: bidi controls removed).
    size, color, weight, label : str
        Node attribute for the marker area (influence, >= 0), node attribute
        for the fill (sentiment in [-1, 1], None = not heard), edge attribute
        for the line width, node attribute for the names.
    figsize : (float, float)
        Inches; default a 16:9 slide.
    font_pt : float
        Point size of the names.

    Returns
    -------
    matplotlib.figure.Figure
        The people are one scatter collection per role (``gid`` ``"cx-nodes"``),
        one marker per person still there.

    Raises
    ------
    GraphError
        If ``G`` is not a graph or has no nodes, or a value is out of range.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph()
    >>> G.add_node("a", name="Ann", role="decider", veto=True, influence=0.6, sentiment=-0.4, active=True)
    >>> G.add_node("b", name="Bo", role="user", influence=0.4, sentiment=None, active=True)
    >>> G.add_node("c", name="Cy", role="user", influence=0.0, active=False)
    >>> G.add_edge("b", "a", kind="reports_to", weight=1.0)
    >>> fig = map_figure(G, title="Acme")
    >>> sum(len(c.get_offsets()) for c in fig.axes[0].collections if c.get_gid() == "cx-nodes")
    2
    >>> sorted(t.get_text() for t in fig.axes[0].texts if t.get_gid() == "cx-name")
    ['Ann', 'Bo']
    """

    from matplotlib.figure import Figure

    m = _map_data(G, seed=seed, hierarchical=hierarchical, size=size, color=color)
    fig = Figure(figsize=figsize, dpi=100)
    ax = fig.add_axes(_MAP_AXES)
    ax.set_axis_off()
    if title:
        fig.suptitle(_title_text(title), fontsize=font_pt + 5, x=0.01, ha="left", y=0.975)
    _draw_map(ax, m, weight, label, font_pt)
    _legend(fig, m.H, m.sent, font_pt)
    _colorbar(fig, font_pt)
    # wrapped here, once, as matplotlib's ``wrap=True`` would at the PNG's 150 dpi: its wrapping measures every
    # prefix of the caption again on each draw (a third of the drawing time of a map)
    fig.text(0.01, 0.03, _caption(m, font_pt, figsize), fontsize=font_pt, ha="left", va="bottom", color="#333333")
    fig.cx_departed = m.departed  # for callers and tests: people left out
    return fig


class _SlideFigure:
    """One slide figure drawn again and again: :func:`map_figure`'s picture of each graph, built with less work.

    The axes, colour bar, title and caption are made once and kept; for each map the people, ties and names are
    replaced, the title and caption texts set, and the legend of that set of roles (made once per set) shown.
    The figure keeps one Agg canvas, so its renderer and the renderer's cache of text measurements serve every
    map. Drawn, it is :func:`map_figure`'s figure of the same graph: the same SVG document and PNG pixels
    (tests/test_slides_reuse.py).
    """

    def __init__(self, figsize, font_pt, titled: bool):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.fig = fig = Figure(figsize=figsize, dpi=100)
        FigureCanvasAgg(fig)
        self.ax = fig.add_axes(_MAP_AXES)
        self.ax.set_axis_off()
        self.title = fig.suptitle("", fontsize=font_pt + 5, x=0.01, ha="left", y=0.975) if titled else None
        _colorbar(fig, font_pt)
        self.cax = fig.axes[-1]
        self.caption = fig.text(0.01, 0.03, "", fontsize=font_pt, ha="left", va="bottom", color="#333333")
        self.legends = {}
        self.layers = {}  # (legend, dpi) -> (rows, columns, pixels) of the legend and colour bar drawn on white
        self.key = None
        self.pasted = 0  # maps whose legend and colour bar were put back, not drawn (for tests)
        self.overlaid = 0  # maps whose legend and colour bar were drawn over the bare figure, not drawn whole (tests)
        self.figsize, self.font_pt = figsize, font_pt

    def draw(self, G, *, seed=1, hierarchical=False, title=None, size="influence", color="sentiment",
             weight="weight", label="name"):
        m = _map_data(G, seed=seed, hierarchical=hierarchical, size=size, color=color)
        fig, ax = self.fig, self.ax
        for artist in [*ax.collections, *ax.texts, *ax.patches, *ax.lines]:
            artist.remove()
        if self.title is not None:
            self.title.set_text(_title_text(title))
        _draw_map(ax, m, weight, label, self.font_pt)
        key = _legend_key(m.H, m.sent)
        if key not in self.legends:
            self.legends[key] = _legend(fig, m.H, m.sent, self.font_pt)
        fig.legends[:] = [self.legends[key]]
        self.key = key
        self.caption.set_text(_caption(m, self.font_pt, self.figsize))
        fig.cx_departed = m.departed
        return fig

    def rgba(self, dpi) -> np.ndarray:
        """The figure drawn at ``dpi``: the H x W x 4 pixels of ``savefig(format="rgba", facecolor="white")``.

        The legend and the colour bar are the same on every map with the same roles, and drawn last over white
        (nothing else is there, unless a long name runs under them). So the figure is drawn without them and,
        where their box is still plain white, their pixels from an earlier map are put back: the pixels a whole
        drawing gives. Elsewhere (and for the first map of a legend) the figure is drawn whole.
        """
        layer = self.layers.get((self.key, dpi))
        if layer is False:  # the legend draws outside its box: no shortcut
            return _rgba(self.fig, dpi)
        static = (self.fig.legends[0], self.cax)
        for artist in static:
            artist.set_visible(False)
        try:
            bare = _rgba(self.fig, dpi)
        finally:
            for artist in static:
                artist.set_visible(True)
        if layer is not None:
            rows, cols, pixels = layer
            if (bare[rows, cols] == 255).all():
                bare[rows, cols] = pixels
                self.pasted += 1
                return bare
            return self._drawn_over(dpi)
        whole = self._drawn_over(dpi)
        rows, cols = self._static_box(dpi, bare.shape)
        if (bare[rows, cols] == 255).all():
            inside = np.zeros(bare.shape[:2], dtype=bool)
            inside[rows, cols] = True
            same_outside = np.array_equal(bare[~inside], whole[~inside])
            self.layers[(self.key, dpi)] = (rows, cols, whole[rows, cols].copy()) if same_outside else False
        return whole

    def _drawn_over(self, dpi) -> np.ndarray:
        """The whole figure's pixels: the colour bar and legend drawn over the bare drawing still on the canvas.

        In the figure's drawing order the colour bar (an axes, z-order 0) comes after the map's axes but before the
        title and caption (texts, 3), and the legend (5) last. Drawn after the texts instead, the colour bar gives
        the same pixels wherever no text touches it; where one does, the figure is drawn whole.
        """
        fig = self.fig
        old = fig.dpi
        try:
            fig.dpi = dpi
            renderer = fig.canvas.get_renderer()  # the renderer _rgba drew the bare figure with, pixels kept
            box = self.cax.get_tightbbox(renderer).padded(3)
            later = [a for a in fig.get_children() if a.get_visible() and a.get_zorder() > self.cax.get_zorder()
                     and a is not fig.legends[0] and a is not fig.patch]  # the patch is drawn first, not by order
            if any(a.get_window_extent(renderer).overlaps(box) for a in later):
                whole = None
            else:
                for artist in (self.cax, fig.legends[0]):
                    artist.draw(renderer)
                whole = np.array(renderer.buffer_rgba())
                self.overlaid += 1
        finally:
            fig.dpi = old
        return _rgba(fig, dpi) if whole is None else whole

    def _static_box(self, dpi, shape, pad=3):
        """Row and column slices of the pixels the legend and colour bar (ticks and label included) cover."""
        fig = self.fig
        old = fig.dpi
        try:
            fig.dpi = dpi
            renderer = fig.canvas.get_renderer()
            boxes = [fig.legends[0].get_window_extent(renderer), self.cax.get_tightbbox(renderer)]
        finally:
            fig.dpi = old
        x0, y0 = min(b.x0 for b in boxes), min(b.y0 for b in boxes)
        x1, y1 = max(b.x1 for b in boxes), max(b.y1 for b in boxes)
        height, width = shape[:2]
        rows = slice(max(int(height - y1) - pad, 0), min(int(height - y0) + 1 + pad, height))
        cols = slice(max(int(x0) - pad, 0), min(int(x1) + 1 + pad, width))
        return rows, cols


#: The slide figures this thread keeps between maps, by size (``KEPT_FIGURES.figures``); matplotlib figures are not
#: for sharing between threads. ``KEPT_FIGURES.__dict__.clear()`` lets them go (a few MiB each).
KEPT_FIGURES = threading.local()


def _slide_figure(figsize, font_pt, titled) -> _SlideFigure:
    """The kept figure of this size, made again when matplotlib's settings changed (a style applied since)."""
    import matplotlib

    figures = KEPT_FIGURES.__dict__.setdefault("figures", {})
    key = (tuple(map(float, figsize)), float(font_pt), titled)
    # the settings as stored, read without RcParams.__getitem__ (which resolves the backend: pyplot imported, and
    # 0.04 s a map for ~300 lookups); the backend does not change a picture drawn on the figure's own Agg canvas
    params = dict.copy(matplotlib.rcParams)
    params.pop("backend", None)
    if key not in figures or figures[key].params != params:
        figures[key] = _SlideFigure(figsize, font_pt, titled)
        figures[key].params = params
    return figures[key]


def write_map_figures(G, folder, stem: str, **kwargs) -> list:
    """Write :func:`map_figure` of ``G`` as ``<folder>/<stem>.png`` (150 dpi) and ``.svg``; return both paths.

    The SVG keeps its words as text (``svg.fonttype="none"``): editable in a
    slide tool and searchable.

    Examples
    --------
    >>> import networkx as nx, tempfile
    >>> G = nx.DiGraph(); G.add_node("a", name="Ann", role="buyer", influence=1.0, sentiment=0.5)
    >>> [p.suffix for p in write_map_figures(G, tempfile.mkdtemp(), "acme")]
    ['.png', '.svg']
    """
    import matplotlib

    folder = Path(folder)
    options = dict(kwargs)
    figsize, font_pt = options.pop("figsize", SLIDE_SIZE), options.pop("font_pt", SLIDE_FONT_PT)
    # one figure per size, kept and redrawn: map_figure's picture (tests/test_slides_reuse.py) with less work
    slide = _slide_figure(figsize, font_pt, bool(options.get("title")))
    fig = slide.draw(G, **options)
    paths = []
    for suffix in (".png", ".svg"):
        path = folder / f"{stem}{suffix}"
        tmp = path.with_name(path.name + ".tmp")
        if suffix == ".png":
            _encode_png(slide.rgba(_PNG_DPI), tmp, _PNG_DPI)
        else:
            # SVG text stays text (editable on a slide, searchable, and checked by the anonymisation tests)
            # and the same figure gives the same bytes (fixed hash salt for the SVG's element ids)
            with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "cxinfluence"}):
                fig.savefig(tmp, format="svg", facecolor="white", metadata={"Date": None})
        tmp.replace(path)
        paths.append(path)
    return paths


def _rgba(fig, dpi) -> np.ndarray:
    """``fig`` drawn on white at ``dpi``: H x W x 4 pixels (a writable array)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="rgba", dpi=dpi, facecolor="white")
    width, height = int(fig.get_figwidth() * dpi), int(fig.get_figheight() * dpi)  # the renderer's size
    if buf.getbuffer().nbytes != 4 * width * height:  # pragma: no cover - matplotlib sizes its canvas this way
        raise RuntimeError(f"matplotlib drew {buf.getbuffer().nbytes} bytes; expected a {width} x {height} RGBA canvas")
    return np.frombuffer(bytearray(buf.getbuffer()), dtype=np.uint8).reshape(height, width, 4)


def _encode_png(pixels: np.ndarray, path, dpi: float) -> None:
    """H x W x 4 pixels of an opaque figure as an RGB PNG (zlib level 3), tagged like matplotlib's.

    The figure is opaque (white face), so the alpha channel ``savefig`` writes
    is 255 everywhere; without it, and at zlib level 3 instead of 6, the file
    takes about half the time to encode and is smaller.
    """
    import matplotlib
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Software", f"Matplotlib version{matplotlib.__version__}, https://matplotlib.org/")
    height, width = pixels.shape[:2]
    # the RGBA buffer mapped by Pillow and converted in C: a third of the time of numpy's strided copy to three bytes
    # a pixel, which Pillow then unpacks back to its four (same image, same PNG bytes)
    rgba = Image.frombuffer("RGBA", (width, height), np.ascontiguousarray(pixels), "raw", "RGBA", 0, 1)
    image = rgba.convert("RGB")
    image.save(path, format="png", pnginfo=info, dpi=(dpi, dpi), compress_level=3)
