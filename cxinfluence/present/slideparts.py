"""The pieces of a buying-center map drawn for slides (:mod:`cxinfluence.present.slides`): the people still
there, checked and placed; ties, markers, names, legend, colour bar and caption drawn with matplotlib."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from ..exceptions import GraphError
from .maps import (
    _EDGE_STYLE,
    _RDBU,
    KEY_LABELS,
    MAX_KEY_LABELS,
    NOT_HEARD_COLOR,
    OTHER_SHAPE,
    ROLE_SHAPES,
    _diverging,
    _flag,
    _kinds,
    _node_ids,
    _number,
    _org_chart,
    _shorten,
    _text,
)

__all__: list = []  # the pieces are private to present/slides.py

#: vis-network shape -> matplotlib marker
_MARKERS = {"star": "*", "square": "s", "triangle": "^", "hexagon": "h", "dot": "o", "triangleDown": "v"}
#: marker area in points^2 of the least and most influential person
_MIN_AREA, _MAX_AREA = 90.0, 900.0
_LABEL_CHARS = 26


def _positions(G, ids, hierarchical, seed, size) -> dict:
    """Node -> (x, y) in data units: org chart (rows top-down) or a seeded force-directed layout."""
    import networkx as nx

    if hierarchical:
        chart = _org_chart(G, ids, size)
        return {n: (chart[ids[n]][1], -float(chart[ids[n]][0])) for n in G.nodes}
    U = nx.Graph()
    U.add_nodes_from(sorted(G.nodes, key=lambda n: ids[n]))  # deterministic order for the seed
    U.add_edges_from((u, v) for u, v in G.edges if u != v)
    k = 2.5 / math.sqrt(max(U.number_of_nodes(), 1))  # more room than networkx's default 1/sqrt(n): names fit
    return nx.spring_layout(U, k=k, seed=int(seed), iterations=200)


def _live_graph(G, live_nodes):
    """``G`` restricted to ``live_nodes``, nodes and ties in ``G``'s order.

    ``G.subgraph`` would iterate its nodes in the order of a set of ids, which
    changes with Python's string hashing from one run to the next: the SVG's
    elements would come out in a different order each run.
    """
    live = set(live_nodes)
    H = G.__class__()
    H.add_nodes_from((n, G.nodes[n]) for n in live_nodes)
    H.add_edges_from((u, v, d) for u, v, d in G.edges(data=True) if u in live and v in live)
    return H


#: where the people are drawn, in figure fractions (the legend and colour bar are to the right)
_MAP_AXES = (0.01, 0.12, 0.78, 0.80)


class _MapData(NamedTuple):
    H: Any  # the live graph
    ids: dict
    departed: int
    infl: dict
    sent: dict
    top: float
    pos: dict

    def area(self, n) -> float:
        s = self.infl[n]
        return _MIN_AREA if s is None or self.top <= 0 else _MIN_AREA + (_MAX_AREA - _MIN_AREA) * s / self.top


def _map_data(G, *, seed, hierarchical, size, color) -> _MapData:
    """What a map draws: the people still there, their influence and sentiment (checked), their positions."""
    if G is None or not hasattr(G, "nodes") or not hasattr(G, "edges"):
        raise GraphError(f"G is {type(G).__name__}; expected a networkx graph from cxinfluence.account_graph().")
    if G.number_of_nodes() == 0:
        raise GraphError("G has no nodes; expected an account graph with at least one stakeholder. "
                         "Check the account id and the as_of date passed to account_graph().")
    ids = _node_ids(G)
    live_nodes = [n for n, a in G.nodes(data=True) if _flag(a.get("active"), True)]
    departed = G.number_of_nodes() - len(live_nodes)
    H = _live_graph(G, live_nodes)
    infl, sent = {}, {}
    for n in H.nodes:
        a = H.nodes[n]
        s = _number(a.get(size))
        if s is not None and s < 0:
            raise GraphError(f"node {ids[n]!r} has {size}={s}; expected influence >= 0 (or None when not computed).")
        c = _number(a.get(color))
        if c is not None and not -1.0 - 1e-9 <= c <= 1.0 + 1e-9:
            raise GraphError(f"node {ids[n]!r} has {color}={c}; expected a sentiment on the common [-1, 1] scale "
                             "(or None when not heard).")
        infl[n], sent[n] = s, c
    top = max((s for s in infl.values() if s is not None), default=0.0)
    pos = _positions(H, ids, hierarchical, seed, size) if H.number_of_nodes() else {}
    return _MapData(H, ids, departed, infl, sent, top, pos)


def _title_text(title) -> str:
    return _shorten(_text(title) or "", 110)


def _draw_map(ax, m, weight, label, font_pt):
    """The people, their ties and the key names on ``ax``."""
    _draw_ties(ax, m.H, m.pos, weight)
    _draw_people(ax, m.H, m.pos, m.sent, m.area)
    _draw_names(ax, m.H, m.pos, m.infl, m.ids, m.area, label, font_pt)


def _caption(m, font_pt, figsize) -> str:
    H = m.H
    vetoes = sum(1 for n in H.nodes if _flag(H.nodes[n].get("veto"), False))
    unheard = sum(1 for n in H.nodes if m.sent[n] is None)
    caption = (f"{H.number_of_nodes()} people, {vetoes} veto holder{'s' if vetoes != 1 else ''}, {unheard} not "
               f"heard; size = share of the account's influence. Named: veto holders and the most influential."
               + (f" {m.departed} who left are not drawn." if m.departed else ""))
    return _wrap_caption(caption, font_pt, (1 - 0.01) * figsize[0])


def _wrap_caption(text: str, font_pt: float, width_in: float, dpi: float = 150.0) -> str:
    """``text`` broken into lines no wider than ``width_in`` inches at ``font_pt`` points.

    The same greedy rule as matplotlib's ``Text(wrap=True)`` (the longest run of
    words whose rendered width, rounded up to whole pixels, fits the line; a
    single word too wide stays on its own line), measured with the Agg renderer
    at ``dpi``; widths grow with the number of words, so each line's break is
    found by bisection.

    Examples
    --------
    >>> _wrap_caption("one two three", 11, 100.0)
    'one two three'
    >>> _wrap_caption("one two three", 11, 0.5)
    'one\\ntwo\\nthree'
    """
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    renderer = RendererAgg(1, 1, dpi)
    prop = FontProperties(size=font_pt)
    limit = width_in * dpi

    def fits(words):
        return math.ceil(renderer.get_text_width_height_descent(" ".join(words), prop, ismath=False)[0]) <= limit

    lines = []
    for raw in text.split("\n"):
        words = raw.split(" ")
        while words:
            lo, hi = 1, len(words)  # words[:lo] is kept even when too wide; find the longest prefix that fits
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if fits(words[:mid]):
                    lo = mid
                else:
                    hi = mid - 1
            lines.append(" ".join(words[:lo]))
            words = words[lo:]
    return "\n".join(lines)


def _draw_ties(ax, H, pos, weight):
    """Ties between people still there: one line collection per kind, drawn under the people, with arrowheads."""
    from matplotlib.collections import LineCollection

    wts = [_number(d.get(weight)) for _, _, d in H.edges(data=True)]
    wmax = max((w for w in wts if w is not None and w > 0), default=1.0)
    segs = {"reports_to": ([], []), "influences": ([], [])}
    for (u, v, d), w in zip(H.edges(data=True), wts):
        if u == v:
            continue
        kind = "reports_to" if "reports_to" in _kinds(d.get("kind")) else "influences"
        segs[kind][0].append([pos[u], pos[v]])
        segs[kind][1].append(0.8 + 2.2 * ((w if w is not None and w > 0 else 1.0) / wmax))
    for kind, (lines, widths) in segs.items():
        if lines:
            style = _EDGE_STYLE[kind]
            ax.add_collection(LineCollection(lines, colors=style["color"], linewidths=widths, alpha=0.75, zorder=1,
                                             linestyles="solid" if kind == "reports_to" else (0, (5, 4)),
                                             gid=f"cx-ties-{kind}"))
            # an arrowhead at 80% of the way to the target: who reports to / influences whom
            p = np.asarray(lines, dtype=float)
            tip = p[:, 0] + 0.8 * (p[:, 1] - p[:, 0])
            ax.quiver(p[:, 0, 0] + 0.7 * (p[:, 1, 0] - p[:, 0, 0]), p[:, 0, 1] + 0.7 * (p[:, 1, 1] - p[:, 0, 1]),
                      tip[:, 0] - (p[:, 0, 0] + 0.7 * (p[:, 1, 0] - p[:, 0, 0])),
                      tip[:, 1] - (p[:, 0, 1] + 0.7 * (p[:, 1, 1] - p[:, 0, 1])),
                      angles="xy", scale_units="xy", scale=1, color=style["color"], width=0.0025, headwidth=5,
                      headlength=6, zorder=1.5, alpha=0.9)


def _draw_people(ax, H, pos, sent, area):
    """People: one scatter per (shape, veto, heard) so markers, borders and hatching are exact."""
    fills = dict(zip(H.nodes, _diverging([np.nan if sent[n] is None else sent[n] for n in H.nodes])))
    groups = {}
    for n in H.nodes:
        a = H.nodes[n]
        shape = ROLE_SHAPES.get(_text(a.get("role")) or "", OTHER_SHAPE)
        groups.setdefault((shape, _flag(a.get("veto"), False), sent[n] is None), []).append(n)
    for (shape, veto, unheard), members in sorted(groups.items()):
        xy = np.array([pos[n] for n in members], dtype=float)
        coll = ax.scatter(xy[:, 0], xy[:, 1], s=[area(n) for n in members], marker=_MARKERS[shape],
                          c=[fills[n] for n in members], edgecolors="#111111" if veto else "#444444",
                          linewidths=3.0 if veto else 1.0, hatch="////" if unheard else None, zorder=3)
        coll.set_gid("cx-nodes")


def _draw_names(ax, H, pos, infl, ids, area, label, font_pt):
    """Names of veto holders and the most influential (the map page's first view); the axes fitted to the people."""
    ranked = sorted(H.nodes, key=lambda n: (-(infl[n] or 0.0), ids[n]))
    keyed = set(ranked[:KEY_LABELS]) | {n for n in ranked if _flag(H.nodes[n].get("veto"), False)}
    keyed = sorted(keyed, key=ranked.index)[:MAX_KEY_LABELS]
    # a light box, not a stroked halo: path effects would turn the SVG's names into outlines
    halo = dict(boxstyle="round,pad=0.12", facecolor="white", edgecolor="none", alpha=0.8)
    for n in keyed:
        name = _shorten(_text(H.nodes[n].get(label)) or _text(ids[n]) or "", _LABEL_CHARS)
        r = math.sqrt(area(n)) / 2 + 3  # points below the marker centre
        t = ax.annotate(name, pos[n], xytext=(0, -r), textcoords="offset points", ha="center", va="top",
                        fontsize=font_pt, color="#111111", zorder=4, bbox=halo)
        t.set_gid("cx-name")
    if pos:
        xy = np.array(list(pos.values()), dtype=float)
        pad = 0.06 * max(np.ptp(xy[:, 0]), np.ptp(xy[:, 1]), 1e-9)
        ax.set_xlim(xy[:, 0].min() - pad, xy[:, 0].max() + pad)
        ax.set_ylim(xy[:, 1].min() - 2 * pad, xy[:, 1].max() + pad)


def _legend_key(H, sent) -> tuple:
    """What the legend shows: the roles present (and whether one is unknown), whether someone is not heard."""
    roles = {(_text(H.nodes[n].get("role")) or "") for n in H.nodes}
    return (tuple(r for r in ROLE_SHAPES if r in roles), any(r not in ROLE_SHAPES for r in roles),
            any(sent[n] is None for n in H.nodes))


def _legend(fig, H, sent, font_pt):
    """Legend: roles present, veto border, not heard, tie kinds."""
    from matplotlib.lines import Line2D

    roles, unknown, unheard = _legend_key(H, sent)
    handles = [Line2D([], [], ls="", marker=_MARKERS[ROLE_SHAPES[r]], ms=11, mfc="white", mec="#333333", label=r)
               for r in roles]
    if unknown:
        handles.append(Line2D([], [], ls="", marker=_MARKERS[OTHER_SHAPE], ms=11, mfc="white", mec="#333333",
                              label="role unknown"))
    handles.append(Line2D([], [], ls="", marker="o", ms=11, mfc="white", mec="#111111", mew=3,
                          label="veto holder"))
    if unheard:
        from matplotlib.patches import Patch

        handles.append(Patch(facecolor=NOT_HEARD_COLOR, edgecolor="#444444", hatch="////",
                             label="not heard in the window"))
    handles += [Line2D([], [], color=_EDGE_STYLE["reports_to"]["color"], lw=2, label="reports to"),
                Line2D([], [], color=_EDGE_STYLE["influences"]["color"], lw=2, ls=(0, (5, 4)), label="influences")]
    return fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.80, 0.92), frameon=False,
                      fontsize=font_pt, title="Shape = role", title_fontsize=font_pt, alignment="left")


def _colorbar(fig, font_pt):
    """The sentiment colour bar under the legend."""
    import matplotlib
    from matplotlib.colors import LinearSegmentedColormap, Normalize

    cax = fig.add_axes([0.81, 0.16, 0.13, 0.025])
    cmap = LinearSegmentedColormap.from_list("cx_rdbu", list(_RDBU))
    cb = fig.colorbar(matplotlib.cm.ScalarMappable(Normalize(-1, 1), cmap), cax=cax, orientation="horizontal")
    cb.set_ticks([-1, 0, 1], labels=["-1 negative", "0", "+1 positive"])
    cb.ax.tick_params(labelsize=font_pt - 1)
    cb.set_label("Sentiment (fill)", fontsize=font_pt)
