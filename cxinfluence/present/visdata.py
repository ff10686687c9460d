"""One account graph as vis-network data: nodes (size, colour, shape, tooltip rows, org-chart position),
ties (kind, width, past or live) and the two layouts a map page switches between."""

from __future__ import annotations

import math

import numpy as np

from ..exceptions import GraphError
from ..village.safetext import display_text
from .mapstyle import (
    _COMMENT_CHARS,
    _EDGE_STYLE,
    _LABEL_CHARS,
    _MAX_SIZE,
    _MIN_SIZE,
    _SCORES,
    DEPARTED_COLOR,
    KEY_LABELS,
    LABEL_FONT_SIZE,
    MAX_KEY_LABELS,
    OTHER_SHAPE,
    ROLE_SHAPES,
    _diverging,
    _flag,
    _fmt,
    _mood,
    _number,
    _plain,
    _shorten,
    _text,
)

# --------------------------------------------------------------------------- graph -> vis


def _node_ids(G) -> dict:
    ids = {}
    seen = {}
    for n in G.nodes:
        key = _text(n)
        if key is None:
            raise GraphError(f"G has a node with an empty id ({n!r}); expected non-empty ids. "
                             "Drop or rename that node.")
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
    rows.append(["Influence", "not computed" if influence is None
                 else f"{influence:.3f} ({influence:.0%} of the account)"])
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


def _node_values(nodes, ids, size, color):
    """Influence (checked >= 0) and sentiment (checked in [-1, 1]) per node; None where not computed or not heard."""
    sizes = []
    for n, a in nodes:
        s = _number(a.get(size))
        if s is not None and s < 0:
            raise GraphError(f"node {ids[n]!r} has {size}={s}; expected influence >= 0 (or None when not computed).")
        sizes.append(s)
    sents = []
    for n, a in nodes:
        s = _number(a.get(color))
        if s is not None and not -1.0 - 1e-9 <= s <= 1.0 + 1e-9:
            raise GraphError(
                f"node {ids[n]!r} has {color}={s}; expected a sentiment on the common [-1, 1] scale "
                "(or None when not heard). Rescale with cxinfluence.village.scale.to_common_scale."
            )
        sents.append(s)
    return sizes, sents


def _chart_positions(G, nodes, ids, actives, size):
    """Org-chart ``(level, column)`` per node id and the row height: people who left on a row of their own below."""
    live = G.subgraph([n for (n, _), act in zip(nodes, actives) if act])
    chart = _org_chart(live, ids, size) if live.number_of_nodes() else {}
    gone = sorted((n for (n, _), act in zip(nodes, actives) if not act), key=lambda n: ids[n])
    bottom = max((lv for lv, _ in chart.values()), default=-1) + 1
    chart.update({ids[n]: (bottom, float(i)) for i, n in enumerate(gone)})
    width_units = max(c for _, c in chart.values()) + 1
    rows = max(lv for lv, _ in chart.values()) + 1
    # taller rows for wide charts, so the drawing fills a landscape frame
    return chart, max(150.0, 0.5 * 150.0 * width_units / max(rows - 1, 1))


def _key_people(nodes, ids, sizes, actives) -> set:
    """Positions of the people named at the first view: veto holders and the most influential still there."""
    ranked = sorted((i for i, act in enumerate(actives) if act), key=lambda i: (-(sizes[i] or 0.0), ids[nodes[i][0]]))
    keyed = {i for i in ranked[:KEY_LABELS]}
    keyed |= {i for i in ranked if _flag(nodes[i][1].get("veto"), False)}
    return set(sorted(keyed, key=ranked.index)[:MAX_KEY_LABELS])


def _add_nodes(net, nodes, ids, values, actives, layout, *, hierarchical, label):
    """One vis node per person: size, fill, border, shape, label, tooltip rows and the page's ``cx`` data."""
    sizes, sents = values
    chart, row_step, keyed = layout
    top = max((s for s in sizes if s is not None), default=0.0)
    fills = _diverging([np.nan if s is None else s for s in sents])
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


def _add_edges(net, G, nodes, ids, actives, *, hierarchical, weight):
    """One vis edge per tie: style by kind, width by weight, grey and dotted when one of the two has left."""
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


def _layouts() -> dict:
    """The page's two layouts: the org chart (fixed, no physics) and the force-directed network."""
    return {
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


def _vis_network(G, *, seed, hierarchical, height, width, size, color, weight, label):
    """Build the pyvis Network (nodes, edges, options) for ``G``."""
    from pyvis.network import Network

    ids = _node_ids(G)
    nodes = list(G.nodes(data=True))
    sizes, sents = _node_values(nodes, ids, size, color)
    actives = [_flag(a.get("active"), True) for _, a in nodes]
    chart, row_step = _chart_positions(G, nodes, ids, actives, size)
    keyed = _key_people(nodes, ids, sizes, actives)
    net = Network(height=height, width=width, directed=True, cdn_resources="in_line")
    _add_nodes(net, nodes, ids, (sizes, sents), actives, (chart, row_step, keyed), hierarchical=hierarchical,
               label=label)
    _add_edges(net, G, nodes, ids, actives, hierarchical=hierarchical, weight=weight)
    layouts = _layouts()
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
