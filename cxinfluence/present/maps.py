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
import functools
import hashlib
import html
import numbers
import re
import string
from importlib import resources
from pathlib import Path

from ..exceptions import GraphError
from .mapstyle import (  # noqa: F401 - the maps' vocabulary, importable from here as before
    _EDGE_STYLE,
    _LABEL_CHARS,
    _RDBU,
    _VIS_DIR,
    DEPARTED_COLOR,
    KEY_LABELS,
    LABEL_FONT_SIZE,
    MAX_KEY_LABELS,
    NOT_HEARD_COLOR,
    OTHER_SHAPE,
    ROLE_SHAPES,
    _diverging,
    _flag,
    _fmt,
    _json_for_html,
    _mood,
    _number,
    _plain,
    _shorten,
    _text,
    sentiment_color,
)
from .portfoliomap import portfolio_map  # noqa: F401
from .visdata import _kinds, _node_ids, _node_tooltip, _org_chart, _vis_network  # noqa: F401

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

# --------------------------------------------------------------------------- page


@functools.lru_cache(maxsize=None)  # read once per process, not once per map (vis-network.min.js is 0.5 MB)
def _vis_asset(name: str) -> str:
    import pyvis

    return Path(pyvis.__file__).parent.joinpath(*_VIS_DIR, name).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=None)
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


@functools.lru_cache(maxsize=None)
def _static(name: str) -> str:
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


@functools.lru_cache(maxsize=8)  # the same two scripts on every map: hashed once
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


