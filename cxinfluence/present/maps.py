"""Interactive buying-center maps (pyvis / vis-network), offline and escaped.

:func:`network_map` turns one account's buying-center graph (from
:func:`cxinfluence.account_graph`) into a self-contained HTML page:

* node size = influence (area proportional to the share of the account's
  influence), colour = sentiment on a diverging red-white-blue scale
  (ColorBrewer RdBu, Brewer 2003) with a distinct amber, dash-bordered colour
  for people not heard in the window;
* shape = buying-center role (decider star, buyer square, influencer
  triangle, gatekeeper hexagon, user dot), so role reads without hovering and
  in black and white; veto holders have a heavy black border;
* ``reports_to`` ties are solid grey arrows, ``influences`` ties dashed purple;
* tooltips give name, title, role, influence, sentiment, latest scores, date
  last heard and the latest comment; a legend and a one-line caption explain
  the encoding.

Readable at 80 people: veto holders and the ``KEY_LABELS`` most influential
people are named at the first view, at ``LABEL_FONT_SIZE`` screen pixels
whatever the zoom; everyone else is named once zoomed in, and on hover.
People who left are hidden until "people who left" is ticked, and are then
grey with their ties grey and dotted: never drawn as live. A toolbar searches
names and titles, filters by role, department and sentiment, hides influence
ties, switches between the network and the org-chart layout, and downloads
what is shown as PNG or SVG (made in the page: no request).

Two promises hold for every page written here:

**No network request.** pyvis 0.3.2's own template loads vis-network from a
CDN (a blank graph offline) and always links bootstrap from a CDN. The page is
therefore rendered from this package's template with vis-network's JavaScript
(shipped inside the pyvis wheel) and its tooltip style inlined, and a Content-Security-Policy
that forbids every fetch (``default-src 'none'``; scripts allowed only by hash).

**Customer text is shown as text.** Names, titles and comments come from
customers. pyvis switches every tooltip to raw HTML as soon as one contains
``href``, and inserts ``heading`` unescaped, so neither is used: node data
travel as JSON inside ``<script type="application/json">`` (``<``, ``>``, ``&``
escaped as ``\\u003c``...), tooltips are built with ``textContent``, labels are
drawn on the canvas, and the title, legend and caption are ``html.escape``-d.
Because the CSP allows scripts only by hash, even an injected ``onerror``
handler could not run.

:func:`portfolio_map` places accounts by weighted sentiment against revenue
(or coverage) as an inline SVG with hover tooltips: no script at all.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import html
import json
import math
import numbers
import re
import string
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import GraphError, PlotDataError
from ..village.safetext import display_text

__all__ = [
    "NOT_HEARD_COLOR",
    "DEPARTED_COLOR",
    "sentiment_color",
    "network_map",
    "save_map",
    "show_map",
    "show_html",
    "portfolio_map",
]

#: ColorBrewer RdBu (9 classes), from -1 (red) through 0 (near white) to +1 (blue).
_RDBU = ("#b2182b", "#d6604d", "#f4a582", "#fddbc7", "#f7f7f7", "#d1e5f0", "#92c5de", "#4393c3", "#2166ac")
#: Not on the diverging scale, so "not heard" cannot be read as neutral.
NOT_HEARD_COLOR = "#ffc20a"
DEPARTED_COLOR = "#cfcfcf"
_EDGE_STYLE = {
    "reports_to": {"color": "#555555", "dashes": False, "text": "reports to"},
    "influences": {"color": "#8e63b5", "dashes": [8, 6], "text": "influences"},
}
_MIN_SIZE, _MAX_SIZE = 12.0, 45.0
_SCORES = (("nps", "NPS", "/10"), ("csat", "CSAT", "/5"), ("ces", "CES", "/5"), ("neteasy", "NetEasy", "/7"))
_COMMENT_CHARS = 400
_LABEL_CHARS = 32
_VIS_DIR = ("templates", "lib", "vis-9.1.2")
#: Node shape per buying-center role (Webster & Wind 1972), so role reads without hovering and in black and white.
ROLE_SHAPES = {"decider": "star", "buyer": "square", "influencer": "triangle", "gatekeeper": "hexagon", "user": "dot"}
OTHER_SHAPE = "triangleDown"
#: People named on the canvas at the first view: the ``KEY_LABELS`` most influential, plus veto holders,
#: at most ``MAX_KEY_LABELS`` in all; everyone else is named once zoomed in, and on hover.
KEY_LABELS, MAX_KEY_LABELS = 10, 18
#: Label size in screen pixels at the first view (the page keeps named labels at least this size when zoomed out).
LABEL_FONT_SIZE = 14
#: Sentiment bands of the map's filter: below -0.1 negative, above +0.1 positive, else neutral.
_MOOD_BAND = 0.1


# --------------------------------------------------------------------------- colours


def _rgb(hex_colour):
    return np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)


_RDBU_RGB = np.array([_rgb(c) for c in _RDBU])


def _diverging(values) -> list:
    """Hex colours for sentiments in [-1, 1]; NaN gives ``NOT_HEARD_COLOR``."""
    v = np.atleast_1d(np.asarray(values, dtype="float64"))
    pos = np.nan_to_num((np.clip(v, -1.0, 1.0) + 1.0) / 2.0 * (len(_RDBU) - 1))
    lo = np.clip(np.floor(pos), 0, len(_RDBU) - 2).astype(int)
    frac = (pos - lo)[:, None]
    rgb = np.rint(_RDBU_RGB[lo] * (1 - frac) + _RDBU_RGB[lo + 1] * frac).astype(int)
    out = ["#%02x%02x%02x" % tuple(c) for c in rgb]
    return [NOT_HEARD_COLOR if np.isnan(x) else c for x, c in zip(v, out)]


def sentiment_color(value) -> str:
    """Colour of one sentiment value on the maps' diverging scale.

    Parameters
    ----------
    value : float or None
        Sentiment on the common [-1, 1] scale (values outside are clipped);
        ``None`` or NaN means "not heard".

    Returns
    -------
    str
        ``#rrggbb``: red for -1, near white for 0, blue for +1 (ColorBrewer
        RdBu, linearly interpolated), amber ``NOT_HEARD_COLOR`` when not heard.

    Examples
    --------
    >>> sentiment_color(-1.0), sentiment_color(0.0), sentiment_color(1.0)
    ('#b2182b', '#f7f7f7', '#2166ac')
    >>> sentiment_color(None) == NOT_HEARD_COLOR
    True
    """
    return _diverging([np.nan if value is None else float(value)])[0]


# --------------------------------------------------------------------------- conversions


def _plain(value):
    """A JSON-ready Python value: numpy scalars, Timestamps and NaN converted."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, (pd.Timestamp, _dt.datetime, _dt.date, np.datetime64)):
        ts = pd.Timestamp(value)
        return None if ts is pd.NaT else ts.date().isoformat()
    if isinstance(value, str):
        return value
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _number(value):
    value = _plain(value)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    return float(value) if math.isfinite(float(value)) else None


def _text(value) -> str | None:
    """Customer text ready to show: stripped, bidi controls removed, None when blank."""
    value = _plain(value)
    if value is None:
        return None
    value = display_text(str(value)).strip()
    return value or None


def _mood(sentiment) -> str:
    if sentiment is None:
        return "unheard"
    return "negative" if sentiment < -_MOOD_BAND else "positive" if sentiment > _MOOD_BAND else "neutral"


def _flag(value, default: bool) -> bool:
    """A yes/no attribute; text such as "False" or "0" reads as no (bool("False") is True)."""
    value = _plain(value)
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() in ("true", "t", "yes", "y", "1")
    return bool(value)


def _fmt(x: float) -> str:
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}"


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _json_for_html(obj) -> str:
    """JSON that cannot close the ``<script>`` element it sits in."""
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


# --------------------------------------------------------------------------- graph -> vis


def _node_ids(G) -> dict:
    ids = {}
    seen = {}
    for n in G.nodes:
        key = _text(n)
        if key is None:
            raise GraphError(f"G has a node with an empty id ({n!r}); expected non-empty ids. Drop or rename that node.")
        if key in seen:
            raise GraphError(
                f"G has two nodes, {seen[key]!r} and {n!r}, that both read {key!r} as text; "
                "expected ids that stay distinct as strings. Rename one of them."
            )
        seen[key] = n
        ids[n] = key
    return ids


def _kinds(kind) -> list:
    """Tie kinds of one edge: ``"reports_to+influences"`` -> both; blank -> influences."""
    return [k for k in (_text(kind) or "influences").split("+") if k] or ["influences"]


def _org_chart(G, ids, size) -> dict:
    """Org-chart position per node id: ``(level, column)``.

    ``level`` (row): 0 = top manager, +1 per reporting step down (longest
    chain of ``reports_to`` ties). Reporting cycles (bad data) are collapsed so
    each cycle shares one row. People outside every ``reports_to`` tie
    (reporting line unknown) share the bottom row.

    ``column``: a tidy tree (each person under the manager one row up; a
    manager centred over their reports, each subtree as wide as its leaves),
    most influential first, so reading left to right follows influence.
    """
    import networkx as nx

    H = nx.DiGraph()
    H.add_edges_from((u, v) for u, v, k in G.edges(data="kind") if "reports_to" in _kinds(k) and u != v)
    if H.number_of_nodes() == 0:
        return {ids[n]: (0, float(i)) for i, n in enumerate(G.nodes)}
    C = nx.condensation(H)
    level_c = {}
    for c in reversed(list(nx.topological_sort(C))):  # managers (sinks) first
        succ = list(C.successors(c))
        level_c[c] = 1 + max(level_c[s] for s in succ) if succ else 0
    level = {n: level_c[c] for n, c in C.graph["mapping"].items()}

    def rank(n):  # most influential first, then id: deterministic
        return (-(_number(G.nodes[n].get(size)) or 0.0), ids[n])

    # tree parent: the manager directly above (highest row number among managers)
    children = {n: [] for n in H}
    roots = []
    for n in sorted(H, key=rank):
        above = [m for m in H.successors(n) if level[m] < level[n]]
        if above:
            nearest = max(level[m] for m in above)
            children[min((m for m in above if level[m] == nearest), key=rank)].append(n)
        else:
            roots.append(n)
    column, cursor = {}, [0.0]

    def place(n):
        if not children[n]:
            column[n] = cursor[0]
            cursor[0] += 1.0
            return
        for c in children[n]:
            place(c)
        column[n] = (column[children[n][0]] + column[children[n][-1]]) / 2

    for r in roots:
        place(r)
    out = {ids[n]: (level[n], column[n]) for n in H}
    bottom = max(level.values()) + 1
    others = sorted((n for n in G.nodes if n not in level), key=rank)
    out.update({ids[n]: (bottom, float(i)) for i, n in enumerate(others)})
    return out


def _node_tooltip(node_id, a, influence, sentiment, veto, active) -> list:
    rows = [["", _text(a.get("name")) or display_text(node_id)]]
    for key, label in (("title", "Title"), ("role", "Role"), ("department", "Department")):
        if _text(a.get(key)):
            rows.append([label, _text(a.get(key))])
    rows.append(["Veto holder", "yes" if veto else "no"])
    if not active:
        left = _plain(a.get("active_to"))
        rows.append(["Status", f"left on {left}" if left else "left"])
    rows.append(["Influence", "not computed" if influence is None else f"{influence:.3f} ({influence:.0%} of the account)"])
    rows.append(["Sentiment", "not heard in the window" if sentiment is None else f"{sentiment:+.2f} (scale -1 to +1)"])
    scores = [f"{lab} {_fmt(v)}{top}" for key, lab, top in _SCORES if (v := _number(a.get(key))) is not None]
    rows.append(["Latest scores", ", ".join(scores) if scores else "none"])
    n = _number(a.get("n_responses"))
    if n is not None:
        rows.append(["Responses", _fmt(n)])
    rows.append(["Last heard", _plain(a.get("last_heard")) or "never"])
    comment = _text(a.get("latest_comment"))
    if comment:
        rows.append(["Latest comment", "\u201c" + _shorten(comment, _COMMENT_CHARS) + "\u201d"])
    return rows


def _vis_network(G, *, seed, hierarchical, height, width, size, color, weight, label):
    """Build the pyvis Network (nodes, edges, options) for ``G``."""
    from pyvis.network import Network

    ids = _node_ids(G)
    nodes = list(G.nodes(data=True))
    sizes = []
    for n, a in nodes:
        s = _number(a.get(size))
        if s is not None and s < 0:
            raise GraphError(f"node {ids[n]!r} has {size}={s}; expected influence >= 0 (or None when not computed).")
        sizes.append(s)
    top = max((s for s in sizes if s is not None), default=0.0)
    sents = []
    for n, a in nodes:
        s = _number(a.get(color))
        if s is not None and not -1.0 - 1e-9 <= s <= 1.0 + 1e-9:
            raise GraphError(
                f"node {ids[n]!r} has {color}={s}; expected a sentiment on the common [-1, 1] scale "
                "(or None when not heard). Rescale with cxinfluence.village.scale.to_common_scale."
            )
        sents.append(s)
    fills = _diverging([np.nan if s is None else s for s in sents])
    actives = [_flag(a.get("active"), True) for _, a in nodes]
    # org-chart positions for everyone still there; people who left get a row of their own below
    live = G.subgraph([n for (n, _), act in zip(nodes, actives) if act])
    chart = _org_chart(live, ids, size) if live.number_of_nodes() else {}
    gone = sorted((n for (n, _), act in zip(nodes, actives) if not act), key=lambda n: ids[n])
    bottom = max((lv for lv, _ in chart.values()), default=-1) + 1
    chart.update({ids[n]: (bottom, float(i)) for i, n in enumerate(gone)})
    width_units = max(c for _, c in chart.values()) + 1
    rows = max(lv for lv, _ in chart.values()) + 1
    # taller rows for wide charts, so the drawing fills a landscape frame
    row_step = max(150.0, 0.5 * 150.0 * width_units / max(rows - 1, 1))
    # named on the canvas at the first view: veto holders and the most influential people still there
    ranked = sorted((i for i, act in enumerate(actives) if act), key=lambda i: (-(sizes[i] or 0.0), ids[nodes[i][0]]))
    keyed = {i for i in ranked[:KEY_LABELS]}
    keyed |= {i for i in ranked if _flag(nodes[i][1].get("veto"), False)}
    keyed = set(sorted(keyed, key=ranked.index)[:MAX_KEY_LABELS])

    net = Network(height=height, width=width, directed=True, cdn_resources="in_line")
    for i, ((n, a), infl, sent, fill, active) in enumerate(zip(nodes, sizes, sents, fills, actives)):
        nid = ids[n]
        veto = _flag(a.get("veto"), False)
        role = _text(a.get("role"))
        # area proportional to influence share within the account
        radius = _MIN_SIZE if infl is None or top <= 0 else _MIN_SIZE + (_MAX_SIZE - _MIN_SIZE) * math.sqrt(infl / top)
        border = "#111111" if veto else "#555555"
        if not active:
            fill, border = DEPARTED_COLOR, "#9a9a9a"
        text = _shorten(_text(a.get(label)) or display_text(nid), _LABEL_CHARS) + ("" if active else " (left)")
        level, col = chart[nid]
        opts = dict(
            size=round(radius, 2),
            borderWidth=4.0 if veto else 1.5,
            color={"background": fill, "border": border,
                   "highlight": {"background": fill, "border": "#000000"},
                   "hover": {"background": fill, "border": "#000000"}},
            font={"color": "#222222" if active else "#8a8a8a", "size": LABEL_FONT_SIZE,
                  "strokeWidth": 3, "strokeColor": "#ffffff"},
            shapeProperties={"borderDashes": [4, 3] if sent is None and active else False},
            tip=_node_tooltip(nid, a, infl, sent, veto, active),
            cx={"name": _text(a.get("name")) or display_text(nid), "title": _text(a.get("title")) or "",
                "role": role or "", "department": _text(a.get("department")) or "",
                "mood": _mood(sent), "veto": veto, "active": active, "key": i in keyed,
                "ox": round(col * 150.0, 1), "oy": round(level * row_step, 1)},
        )
        if hierarchical:  # fixed org-chart positions, no physics
            opts.update(level=level, x=opts["cx"]["ox"], y=opts["cx"]["oy"])
        net.add_node(nid, label=text, shape=ROLE_SHAPES.get(role, OTHER_SHAPE), **opts)

    weights = [_number(d.get(weight)) for _, _, d in G.edges(data=True)]
    wmax = max((w for w in weights if w is not None and w > 0), default=1.0)
    names = {ids[n]: _text(a.get("name")) or display_text(ids[n]) for n, a in nodes}
    alive = {ids[n]: act for (n, _), act in zip(nodes, actives)}
    for (u, v, d), w in zip(G.edges(data=True), weights):
        kinds = _kinds(d.get("kind"))
        # a pair tied both ways is drawn as a reporting line (graph.py: kind="reports_to+influences")
        kind = "reports_to" if "reports_to" in kinds else "influences"
        style = dict(_EDGE_STYLE[kind])
        style["text"] = " and ".join(_EDGE_STYLE.get(k, {"text": k})["text"] for k in kinds)
        w_txt = "1 (default)" if w is None else _fmt(w) if float(w).is_integer() else f"{w:.2f}"
        extra = {}
        if hierarchical and kind != "reports_to":
            # bow influence ties out so they do not hide the reporting lines
            extra["smooth"] = {"enabled": True, "type": "curvedCW", "roundness": 0.3}
        past = not (alive[ids[u]] and alive[ids[v]])
        tip = [["", f"{names[ids[u]]} {style['text']} {names[ids[v]]}"], ["Weight", w_txt]]
        if past:  # a tie to someone who left is history, never drawn as a live tie
            style.update(color=DEPARTED_COLOR, dashes=[2, 5])
            tip.append(["Status", "past tie: one of the two has left"])
        net.add_edge(
            ids[u], ids[v],
            width=1.0 if past else round(1.0 + 3.0 * ((w if w is not None and w > 0 else 1.0) / wmax), 2),
            color={"color": style["color"], "highlight": "#000000", "hover": "#000000"},
            dashes=style["dashes"],
            tip=tip,
            cx={"kind": kind, "past": past},
            **extra,
        )

    layouts = {
        "org": {"physics": {"enabled": False},
                "edges": {"smooth": {"enabled": True, "type": "cubicBezier", "forceDirection": "vertical",
                                     "roundness": 0.4}}},
        "network": {"physics": {
            "enabled": True, "solver": "forceAtlas2Based",
            "forceAtlas2Based": {"gravitationalConstant": -80, "springLength": 140, "springConstant": 0.05,
                                 "avoidOverlap": 0.4},
            "stabilization": {"enabled": True, "iterations": 400, "fit": True}},
            "edges": {"smooth": {"enabled": True, "type": "dynamic"}}},
    }
    start = layouts["org" if hierarchical else "network"]
    net.options = {
        "layout": {"randomSeed": int(seed), "improvedLayout": True},
        "physics": start["physics"],
        "edges": {"arrows": {"to": {"enabled": True, "scaleFactor": 0.6}}, **start["edges"]},
        "nodes": {"font": {"face": "Helvetica, Arial, sans-serif"}},
        "interaction": {"hover": True, "tooltipDelay": 120, "navigationButtons": False, "keyboard": False},
    }
    net.cx_layouts = layouts
    return net


# --------------------------------------------------------------------------- page


def _vis_asset(name: str) -> str:
    import pyvis

    return Path(pyvis.__file__).parent.joinpath(*_VIS_DIR, name).read_text(encoding="utf-8")


def _vis_css() -> str:
    """The tooltip rule of vis-network's stylesheet.

    The rest of the 220 kB file styles the configurator, manipulation toolbar
    and navigation buttons (base64 images) that these maps never enable, so
    only the tooltip rule is inlined (about a third off every saved map).
    """
    import re

    rules = re.findall(r"div\.vis-tooltip\{[^}]*\}", _vis_asset("vis-network.css"))
    if not rules:  # pyvis is pinned; a different vis build would need a look
        raise RuntimeError("vis-network.css in the installed pyvis has no div.vis-tooltip rule; "
                           "reinstall pyvis==0.3.2.")
    return "".join(rules)


def _static(name: str) -> str:
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


def _csp(*scripts: str) -> str:
    hashes = " ".join(
        "'sha256-%s'" % base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode("ascii") for s in scripts
    )
    return (
        "default-src 'none'; "
        f"script-src {hashes}; style-src 'unsafe-inline'; img-src data:; font-src data:; "
        "connect-src 'none'; base-uri 'none'; form-action 'none'"
    )


def _shape_icon(shape: str, *, veto: bool = False) -> str:
    """A 16 px inline SVG of a vis-network node shape (our markup; no customer text)."""
    stroke = 'stroke="#111111" stroke-width="2.5"' if veto else 'stroke="#444444" stroke-width="1.2"'
    body = {
        "dot": '<circle cx="8" cy="8" r="6"',
        "square": '<rect x="2.5" y="2.5" width="11" height="11"',
        "triangle": '<polygon points="8,1.5 14.5,13.5 1.5,13.5"',
        "triangleDown": '<polygon points="1.5,2.5 14.5,2.5 8,14.5"',
        "hexagon": '<polygon points="4.5,2 11.5,2 15,8 11.5,14 4.5,14 1,8"',
        "star": '<polygon points="8,1 9.9,6 15,6 10.9,9.2 12.4,14.5 8,11.3 3.6,14.5 5.1,9.2 1,6 6.1,6"',
    }[shape]
    return f'<svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true">{body} fill="#ffffff" {stroke}/></svg>'


def _legend(has_departed: bool, has_unheard: bool, roles=()) -> str:
    shapes = [f'<span class="cx-item">{_shape_icon(ROLE_SHAPES[r])}{r}</span>' for r in ROLE_SHAPES if r in roles]
    if any(r not in ROLE_SHAPES for r in roles):
        shapes.append(f'<span class="cx-item">{_shape_icon(OTHER_SHAPE)}role unknown</span>')
    items = [
        '<span class="cx-item">Sentiment <span>\u22121</span><span class="cx-scale"></span><span>+1</span></span>',
        f'<span class="cx-item"><span class="cx-sw" style="background:{NOT_HEARD_COLOR};border-style:dashed"></span>not heard</span>',
        f'<span class="cx-item"><span class="cx-sw" style="background:{DEPARTED_COLOR};border-color:#9a9a9a"></span>left the account</span>',
        *shapes,
        f'<span class="cx-item">{_shape_icon("dot", veto=True)}heavy black border = veto holder</span>',
        '<span class="cx-item">size = share of influence</span>',
        '<span class="cx-item"><svg width="36" height="10" aria-hidden="true"><line x1="0" y1="5" x2="36" y2="5" '
        'stroke="#555555" stroke-width="2.5"/></svg>reports to</span>',
        '<span class="cx-item"><svg width="36" height="10" aria-hidden="true"><line x1="0" y1="5" x2="36" y2="5" '
        'stroke="#8e63b5" stroke-width="2.5" stroke-dasharray="8 6"/></svg>influences</span>',
    ]
    if not has_unheard:
        items.pop(1)
    if not has_departed:
        items = [i for i in items if "left the account" not in i]
    return "".join(items)


def network_map(
    G,
    *,
    seed: int = 1,
    hierarchical: bool = False,
    height: str = "700px",
    width: str = "100%",
    title: str | None = None,
    size: str = "influence",
    color: str = "sentiment",
    weight: str = "weight",
    label: str = "name",
    file_stem: str = "buying-center-map",
) -> str:
    """Interactive buying-center map of one account as a self-contained HTML page.

    Parameters
    ----------
    G : networkx.DiGraph
        An account graph with the node and edge attributes listed in
        ``docs/architecture.md`` (``name, title, role, department, veto, active,
        active_to, influence, sentiment, n_responses, last_heard, nps, csat,
        ces, neteasy, latest_comment``; edges ``kind, weight``). Missing
        attributes are shown as unknown. Ids may be any hashable (numpy
        integers included); they are shown as text.
    seed : int, default 1
        vis-network ``layout.randomSeed``: the same graph and seed give the
        same layout.
    hierarchical : bool, default False
        Org-chart layout: managers on top, one row per reporting step, each
        person under their manager (``reports_to`` ties only; people with no
        known reporting line on the bottom row), fixed positions, physics off.
        Otherwise a force-directed layout (forceAtlas2). Either way the page
        can switch between the two.
    height, width : str
        CSS size of the drawing area.
    title : str, optional
        Heading shown above the map (escaped).
    size, color, weight, label : str
        Node attribute for the size (influence, >= 0), node attribute for the
        colour (sentiment in [-1, 1], None = not heard), edge attribute for
        the line width, node attribute for the label.
    file_stem : str
        Name (without extension) of the PNG/SVG the page's buttons download;
        characters other than ``A-Za-z0-9_.-`` become ``_``.

    Returns
    -------
    str
        A complete HTML document. It makes no network request (vis-network
        inlined, CSP ``default-src 'none'``) and shows every customer string
        as text.

    Raises
    ------
    GraphError
        If ``G`` has no nodes, a sentiment outside [-1, 1], a negative
        influence, or two ids that read the same as text.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph()
    >>> G.add_node("s1", name="<b>Ann</b>", role="decider", veto=True, active=True,
    ...            influence=0.6, sentiment=-0.4)
    >>> G.add_node("s2", name="Bob", role="user", veto=False, active=True,
    ...            influence=0.4, sentiment=None)
    >>> G.add_edge("s2", "s1", kind="reports_to", weight=1.0)
    >>> page = network_map(G, title="Acme & Co")
    >>> "<b>Ann</b>" in page, "Acme &amp; Co" in page, "https://" in page.split("<script>")[0]
    (False, True, False)
    """
    if G is None or not hasattr(G, "nodes") or not hasattr(G, "edges"):
        raise GraphError(f"G is {type(G).__name__}; expected a networkx graph from cxinfluence.account_graph().")
    if G.number_of_nodes() == 0:
        raise GraphError("G has no nodes; expected an account graph with at least one stakeholder. "
                         "Check the account id and the as_of date passed to account_graph().")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise GraphError(f"seed is {seed!r}; expected an integer, e.g. seed=1.")

    net = _vis_network(G, seed=seed, hierarchical=hierarchical, height=height, width=width,
                       size=size, color=color, weight=weight, label=label)
    nodes, edges, _, height, width, _ = net.get_network_data()
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", str(file_stem)).strip("._") or "buying-center-map"
    data = {"nodes": nodes, "edges": edges, "options": net.options, "layouts": net.cx_layouts,
            "layout": "org" if hierarchical else "network", "fileStem": stem, "labelPx": LABEL_FONT_SIZE}

    live = [n for n in nodes if n["cx"]["active"]]
    unheard = sum(1 for n in live if n["cx"]["mood"] == "unheard")
    departed = len(nodes) - len(live)
    vetoes = sum(1 for n in live if n["cx"]["veto"])
    ties = sum(1 for e in edges if not e["cx"]["past"])
    caption = (f"{len(live)} people, {vetoes} veto holder{'s' if vetoes != 1 else ''}, {unheard} not heard; "
               f"{ties} ties." + (f" {departed} who left are hidden (tick \u201cpeople who left\u201d to show "
                                  "them, grey, with their past ties dotted)." if departed else "")
               + " Names shown for veto holders and the most influential; zoom in or hover for the rest. "
               "Drag to move, scroll to zoom.")
    vis_js, app_js = _vis_asset("vis-network.min.js"), _static("network_map.js")
    page = string.Template(_static("network_map.html")).substitute(
        csp=_csp(vis_js, app_js),
        doc_title=html.escape(_text(title) or "Buying-center map"),
        heading=f'<h2 class="cx-title">{html.escape(_text(title) or "")}</h2>' if title else "",
        aria_label=html.escape(f"Buying-center map: {caption}"),
        width=_css_size(width, "width"),
        height=_css_size(height, "height"),
        gradient=", ".join(_RDBU),
        vis_css=_vis_css(),
        legend=_legend(departed > 0, unheard > 0, {n["cx"]["role"] for n in nodes}),
        caption=html.escape(caption),
        n_departed=departed,
        org_selected=" selected" if hierarchical else "",
        data=_json_for_html(data),
        vis_js=vis_js,
        app_js=app_js,
    )
    return page


def _css_size(value, name) -> str:
    """Accept ``700``, ``"700px"``, ``"80%"``, ``"60vh"``; refuse anything else (it lands in CSS)."""
    import re

    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return f"{float(value):g}px"
    if isinstance(value, str) and re.fullmatch(r"\d+(\.\d+)?(px|%|vh|vw|em|rem)", value.strip()):
        return value.strip()
    raise GraphError(f"{name} is {value!r}; expected a CSS size such as '700px', '100%' or 700.")


def save_map(G, path, **kwargs) -> Path:
    """Write :func:`network_map` of ``G`` to ``path`` (UTF-8) and return the path.

    The parent folder is created if needed; the file is written next to its
    final name and renamed, so a reader never sees half a map.

    Parameters
    ----------
    G : networkx.DiGraph
        An account graph (see :func:`network_map`).
    path : str or Path
        File to write, e.g. ``out/networks/A001.html``.
    **kwargs
        Passed to :func:`network_map` (``seed``, ``hierarchical``, ``title``, ...).

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import networkx as nx, tempfile, os
    >>> G = nx.DiGraph(); G.add_node("a", name="Ann", influence=1.0, sentiment=0.5)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = save_map(G, os.path.join(d, "networks", "A1.html"))
    ...     p.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    True
    """
    path = Path(path)
    page = network_map(G, **kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path


_UNTRUSTED_NOTE = ("[Interactive map not shown: this notebook is not trusted. "
                   "Re-run the cell, or trust the notebook, to display it.]")


def show_html(page: str, *, height: str = "820px"):
    """Display an HTML page inline in Jupyter inside an ``<iframe srcdoc>``.

    The page is escaped into the ``srcdoc`` attribute, so it is stored in the
    notebook as plain HTML output (no widget state, no external file). The
    frame is sandboxed (``allow-scripts`` only): the page cannot reach the
    notebook, and dialogs are blocked. JupyterLab strips iframes from the
    outputs of an untrusted (reopened, unsigned) notebook; the frame carries a
    one-line note that remains in that case, saying to re-run or trust.

    Parameters
    ----------
    page : str
        A complete HTML document, e.g. from :func:`network_map`.
    height : str
        CSS height of the frame.

    Returns
    -------
    IPython.display.HTML

    Examples
    --------
    >>> out = show_html("<p>Tom & Jerry</p>", height="100px")
    >>> 'srcdoc="&lt;p&gt;Tom &amp; Jerry&lt;/p&gt;"' in out.data
    True
    """
    from IPython.display import HTML

    # wrapped in a <div>: IPython warns about bare <iframe> output
    # The text inside <iframe> is never shown by a browser (srcdoc wins), but an
    # HTML sanitizer that drops the iframe (JupyterLab, for an untrusted
    # notebook) keeps it, so the reader sees why the map is missing.
    frame = (
        f'<div class="cx-frame"><iframe srcdoc="{html.escape(page, quote=True)}" sandbox="allow-scripts" '
        f'style="width:100%;height:{_css_size(height, "height")};border:0" loading="eager">'
        f"{html.escape(_UNTRUSTED_NOTE)}</iframe></div>"
    )
    return HTML(frame)


def show_map(G, *, frame_height: str | None = None, **kwargs):
    """Show :func:`network_map` of ``G`` inline in Jupyter (see :func:`show_html`).

    Parameters
    ----------
    G : networkx.DiGraph
        An account graph (see :func:`network_map`).
    frame_height : str, optional
        CSS height of the frame; default the map height plus room for the
        title and legend.
    **kwargs
        Passed to :func:`network_map`.

    Returns
    -------
    IPython.display.HTML

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph(); G.add_node(1, name="Ann", influence=1.0, sentiment=0.2)
    >>> show_map(G, height="500px").data.startswith('<div class="cx-frame"><iframe srcdoc=')
    True
    """
    if frame_height is None:
        h = str(kwargs.get("height", "700px"))
        frame_height = f"{float(h[:-2]) + 170:g}px" if h.endswith("px") else "880px"
    return show_html(network_map(G, **kwargs), height=frame_height)


# --------------------------------------------------------------------------- portfolio

_OKABE_ITO = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000")


def _nice_ticks(lo: float, hi: float, n: int = 5) -> np.ndarray:
    span = hi - lo if hi > lo else abs(hi) or 1.0
    step = 10 ** math.floor(math.log10(span / n))
    for m in (1, 2, 2.5, 5, 10):
        if span / (step * m) <= n:
            step *= m
            break
    return np.arange(math.ceil(lo / step) * step, hi + step * 1e-9, step)


def _tick_text(v: float) -> str:
    a = abs(v)
    for div, suf in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{v / div:.3g}{suf}"
    return f"{v:.3g}"


def portfolio_map(
    data: pd.DataFrame,
    *,
    x: str = "influence_weighted",
    y: str = "annual_revenue",
    size: str | None = None,
    hue: str | None = None,
    label: str = "account_id",
    tooltip: list | tuple = (),
    title: str | None = "Where the money at risk sits",
    n_labels: int = 10,
    width: int = 900,
    height: int = 560,
) -> str:
    """Portfolio view: every account placed by sentiment against revenue (or coverage).

    Accounts left of zero are unhappy; high and left is where the money at risk
    sits, so that quadrant is shaded and its ``n_labels`` largest accounts (by
    ``y``) are labelled. Accounts with no sentiment (nobody heard) are drawn in
    a separate "not heard" strip on the left, amber as on the network maps.
    Hovering a point shows its label, values and any ``tooltip`` columns.

    Parameters
    ----------
    data : DataFrame
        One row per account.
    x : str
        Sentiment column on the common [-1, 1] scale (NaN = not heard).
    y : str
        Revenue (>= 0) or coverage column; numeric.
    size : str, optional
        Numeric column (>= 0) for the marker area, e.g. revenue at risk.
    hue : str, optional
        Categorical column for the marker colour (at most 8 levels, Okabe-Ito
        palette). Default: colour by ``x`` on the maps' diverging scale.
    label : str
        Column naming each account (tooltips and labels).
    tooltip : sequence of str
        Extra columns shown on hover.
    title : str, optional
    n_labels : int
        How many at-risk accounts to label on the chart.
    width, height : int
        Size of the SVG in pixels.

    Raises
    ------
    PlotDataError
        A missing column, ``x`` outside [-1, 1], no numeric ``y``, or more
        than 8 ``hue`` levels.

    Returns
    -------
    str
        An HTML ``<figure>`` holding an inline SVG: no script, no external
        reference; every value from ``data`` is escaped. Display it with
        ``IPython.display.HTML`` or embed it in a report.

    Examples
    --------
    >>> df = pd.DataFrame({"account_id": ["A1", "A2", "<A3>"],
    ...                    "influence_weighted": [-0.5, 0.4, None],
    ...                    "annual_revenue": [2e6, 5e5, 1e6]})
    >>> fig = portfolio_map(df)
    >>> fig.count("<circle"), "&lt;A3&gt;" in fig, "<A3>" in fig
    (3, True, False)
    """
    cols = [x, y, label] + [c for c in (size, hue) if c] + list(tooltip)
    missing = [c for c in dict.fromkeys(cols) if c not in data.columns]
    if missing:
        raise PlotDataError(f"data has no column(s) {missing}; expected columns {list(dict.fromkeys(cols))}. "
                       f"Available: {list(data.columns)}.")
    df = data.loc[:, list(dict.fromkeys(cols))].copy()
    xs = pd.to_numeric(df[x], errors="coerce").astype("float64").to_numpy()
    ys = pd.to_numeric(df[y], errors="coerce").astype("float64").to_numpy()
    if np.isnan(ys).all():
        raise PlotDataError(f"y={y!r} has no numeric values; expected revenue or coverage numbers.")
    bad = xs[~np.isnan(xs) & (np.abs(np.nan_to_num(xs)) > 1 + 1e-9)]
    if bad.size:
        raise PlotDataError(f"x={x!r} has {bad.size} value(s) outside [-1, 1] (e.g. {bad[0]:.3g}); "
                         "expected sentiment on the common scale (NaN = not heard).")
    keep = ~np.isnan(ys)
    df, xs, ys = df.loc[keep], xs[keep], ys[keep]

    left, right, top, bottom = 90, 30, 40 if title else 16, 56
    pw, ph = width - left - right, height - top - bottom
    strip = 0.12 * pw  # the "not heard" strip
    x0 = left + strip
    xw = pw - strip
    ymin = min(0.0, float(ys.min()))
    ymax = float(ys.max()) if ys.max() > ymin else ymin + 1.0
    ymax += 0.05 * (ymax - ymin)
    heard = ~np.isnan(xs)
    px = np.where(heard, x0 + (np.nan_to_num(xs) + 1) / 2 * xw, left + strip / 2)
    py = top + ph - (ys - ymin) / (ymax - ymin) * ph

    if size:
        s = pd.to_numeric(df[size], errors="coerce").astype("float64").fillna(0).clip(lower=0).to_numpy()
        radius = 4 + 14 * np.sqrt(s / s.max()) if s.max() > 0 else np.full(len(s), 6.0)
    else:
        radius = np.full(len(df), 6.0)
    if hue:
        levels = pd.unique(df[hue].astype("string").fillna("(blank)"))
        if len(levels) > len(_OKABE_ITO):
            raise PlotDataError(f"hue={hue!r} has {len(levels)} levels; expected at most {len(_OKABE_ITO)}. "
                             "Bin it first, e.g. with pd.cut.")
        palette = dict(zip(levels, _OKABE_ITO))
        fills = [palette[v] for v in df[hue].astype("string").fillna("(blank)")]
    else:
        fills = _diverging(xs)

    e = html.escape
    out = ['<figure class="cx-portfolio" style="margin:0;font-family:system-ui,Helvetica,Arial,sans-serif">',
           f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'role="img" aria-label="{e(title or "Portfolio map")}" style="font-size:13px;max-width:100%;height:auto">']
    if title:
        out.append(f'<text x="{left}" y="24" style="font-size:17px;font-weight:600">{e(title)}</text>')
    # at-risk half shaded: negative sentiment, plus the not-heard strip
    out.append(f'<rect x="{left}" y="{top}" width="{strip + xw / 2:.1f}" height="{ph}" fill="#fbe3e1" opacity="0.55"/>')
    out.append(f'<line x1="{x0:.1f}" y1="{top}" x2="{x0:.1f}" y2="{top + ph}" stroke="#999" stroke-dasharray="3 3"/>')
    for t in _nice_ticks(ymin, ymax):
        ty = top + ph - (t - ymin) / (ymax - ymin) * ph
        out.append(f'<line x1="{left}" y1="{ty:.1f}" x2="{left + pw}" y2="{ty:.1f}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end">{e(_tick_text(t))}</text>')
    for t in (-1, -0.5, 0, 0.5, 1):
        tx = x0 + (t + 1) / 2 * xw
        out.append(f'<line x1="{tx:.1f}" y1="{top}" x2="{tx:.1f}" y2="{top + ph}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{tx:.1f}" y="{top + ph + 18}" text-anchor="middle">{t:+g}</text>'.replace(">+0<", ">0<"))
    mid = x0 + xw / 2
    out.append(f'<line x1="{mid:.1f}" y1="{top}" x2="{mid:.1f}" y2="{top + ph}" stroke="#666"/>')
    out.append(f'<text x="{left + strip / 2:.1f}" y="{top + ph + 18}" text-anchor="middle">not heard</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>')
    out.append(f'<text x="{x0 + xw / 2:.1f}" y="{height - 12}" text-anchor="middle" style="font-weight:600">'
               f'{e(x)} (sentiment, -1 to +1)</text>')
    out.append(f'<text transform="translate(18,{top + ph / 2:.1f}) rotate(-90)" text-anchor="middle" '
               f'style="font-weight:600">{e(y)}</text>')

    labels = df[label].astype("string").fillna("(no id)").map(display_text).to_numpy()
    extra = [(c, df[c].map(display_text).to_numpy()) for c in tooltip]
    order = np.argsort(-radius, kind="stable")  # big markers first, small ones on top
    for i in order:
        tip = [f"{labels[i]}", f"{x}: " + ("not heard" if np.isnan(xs[i]) else f"{xs[i]:+.2f}"), f"{y}: {ys[i]:,.6g}"]
        if size:
            tip.append(f"{size}: {_plain(df[size].iloc[i])}")
        if hue:
            tip.append(f"{hue}: {_plain(df[hue].iloc[i])}")
        tip += [f"{c}: {_plain(v[i])}" for c, v in extra]
        stroke = "#7a5c00" if np.isnan(xs[i]) else "#333"
        out.append(f'<circle cx="{px[i]:.1f}" cy="{py[i]:.1f}" r="{radius[i]:.1f}" fill="{fills[i]}" '
                   f'fill-opacity="0.85" stroke="{stroke}" stroke-width="0.8"><title>{e(chr(10).join(tip))}</title></circle>')
    at_risk = np.where(~heard | (np.nan_to_num(xs) < 0))[0]
    for i in at_risk[np.argsort(-ys[at_risk], kind="stable")][: max(int(n_labels), 0)]:
        out.append(f'<text x="{px[i] + radius[i] + 3:.1f}" y="{py[i] + 4:.1f}" style="font-size:11px">'
                   f'{e(_shorten(str(labels[i]), 24))}</text>')
    out.append("</svg>")
    money = float(ys[at_risk].sum())
    out.append(f'<figcaption style="font-size:12px;color:#555">{len(at_risk)} of {len(df)} accounts are negative '
               f'or not heard; together they hold {e(_tick_text(money))} of {e(y)} '
               f'({money / ys.sum():.0%} of the total). Hover a point for details.</figcaption>' if ys.sum() > 0 else
               f'<figcaption style="font-size:12px;color:#555">{len(at_risk)} of {len(df)} accounts are negative '
               'or not heard.</figcaption>')
    out.append("</figure>")
    return "".join(out)
