"""Buying-center maps: encoding, offline page, escaping, boundary conversions.

The browser-side checks (the graph draws, no request, no dialog) are in
tests/test_browser.py; these tests read the generated HTML.
"""

import base64
import copy
import hashlib
import html
import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

import pyvis
from cxinfluence.exceptions import GraphError, PlotDataError
from cxinfluence.present.maps import (
    DEPARTED_COLOR,
    NOT_HEARD_COLOR,
    network_map,
    portfolio_map,
    save_map,
    sentiment_color,
    show_html,
    show_map,
)

HOSTILE_NAME = "<img src=x onerror=alert(1)>"
HOSTILE_TITLE = 'Head of <a href="javascript:alert(2)">href</a> ops'
HOSTILE_COMMENT = "<script>alert(3)</script> they never answer; see href=x"
VIS_JS = Path(pyvis.__file__).parent / "templates" / "lib" / "vis-9.1.2" / "vis-network.min.js"


def person(name, *, role="user", veto=False, active=True, influence=0.25, sentiment=0.0, **extra):
    """Node attributes exactly as docs/architecture.md lists them."""
    attrs = dict(name=name, title=extra.pop("title", "Operator"), role=role, department="operations", veto=veto,
                 active=active, active_to=None if active else "2025-06-30", influence=influence,
                 sentiment=sentiment, n_responses=2 if sentiment is not None else 0,
                 last_heard="2025-05-01" if sentiment is not None else None, nps=9.0, csat=4.0, ces=None,
                 neteasy=2.0, latest_comment=None)
    attrs.update(extra)
    return attrs


def village_graph():
    """Plant manager (veto) <- purchasing <- operator; EHS gatekeeper influences the manager."""
    G = nx.DiGraph()
    G.add_node("pm", **person("Pat Plant", role="decider", veto=True, influence=0.4, sentiment=-1.0,
                              title="Plant Manager", latest_comment="Late deliveries again."))
    G.add_node("pa", **person("Paula Buy", role="buyer", influence=0.1, sentiment=1.0))
    G.add_node("op", **person("Otto Op", influence=0.1, sentiment=None))
    G.add_node("ehs", **person("Eve Safety", role="gatekeeper", veto=True, influence=0.4, sentiment=0.5))
    G.add_node("old", **person("Olaf Left", influence=0.0, sentiment=0.8, active=False))
    G.add_edge("pa", "pm", kind="reports_to", weight=1.0)
    G.add_edge("op", "pa", kind="reports_to", weight=1.0)
    G.add_edge("ehs", "pm", kind="influences", weight=3.0)
    return G


def hostile_graph():
    G = nx.DiGraph()
    G.add_node("x1", **person(HOSTILE_NAME, role="decider", veto=True, influence=0.5, sentiment=-0.6,
                              title=HOSTILE_TITLE, latest_comment=HOSTILE_COMMENT))
    G.add_node("x2", **person("Bob <b>href</b>", influence=0.5, sentiment=None, latest_comment="href"))
    G.add_edge("x2", "x1", kind="reports_to", weight=1.0)
    return G


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.scripts, self.styles, self._in = [], [], [], None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in = (tag, dict(attrs)) if tag in ("script", "style") else None

    def handle_data(self, data):
        if self._in and self._in[0] == "script":
            self.scripts.append((self._in[1], data))
        elif self._in and self._in[0] == "style":
            self.styles.append(data)

    def handle_endtag(self, tag):
        self._in = None


def parse(page):
    p = _Collect()
    p.feed(page)
    return p


def map_data(page):
    """The JSON the page hands to vis-network."""
    (data,) = [text for attrs, text in parse(page).scripts if attrs.get("id") == "cx-data"]
    return json.loads(data)


def node(data, node_id):
    return next(n for n in data["nodes"] if n["id"] == node_id)


# --------------------------------------------------------------------------- offline


def test_page_loads_nothing_from_outside():
    page = network_map(village_graph(), title="Acme")
    p = parse(page)
    url_attrs = ("src", "href", "xlink:href", "action", "poster", "srcset", "data", "formaction", "background")
    loaded = [(t, k, v) for t, a in p.tags for k, v in a.items() if k in url_attrs and v and not v.startswith("data:")]
    assert loaded == []
    assert not any(t in ("link", "iframe", "object", "embed", "img") for t, _ in p.tags)
    assert not any("src" in a for a, _ in p.scripts)
    for css in p.styles:
        assert "@import" not in css
        assert re.findall(r"url\(\s*(?!['\"]?data:)", css) == []
    # pyvis' default template would reference these; ours must not
    assert "cdnjs" not in page and "jsdelivr" not in page and "bootstrap" not in page


def test_vis_network_is_inlined_and_allowed_by_the_csp():
    page = network_map(village_graph())
    p = parse(page)
    code = [text for attrs, text in p.scripts if attrs.get("type") != "application/json"]
    assert VIS_JS.read_text(encoding="utf-8") in code
    (csp,) = [a["content"] for t, a in p.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    for text in code:  # every script runs only because its hash is listed
        digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()
        assert f"'sha256-{digest}'" in csp


# --------------------------------------------------------------------------- safety


def test_customer_text_never_reaches_the_html_as_markup():
    page = network_map(hostile_graph(), title="<script>alert(4)</script> & href")
    for raw in (HOSTILE_NAME, "<script>alert(3)", "<script>alert(4)", '<a href="javascript', "<b>href</b>"):
        assert raw not in page
    assert "&lt;script&gt;alert(4)&lt;/script&gt; &amp; href" in page
    # exactly our three scripts: the data block, vis-network, the map code
    assert [t for t, _ in parse(page).tags if t == "script"] == ["script"] * 3
    # the text survives intact inside the JSON, to be shown with textContent
    data = map_data(page)
    tip = dict((k, v) for k, v in node(data, "x1")["tip"])
    assert tip[""] == HOSTILE_NAME and tip["Title"] == HOSTILE_TITLE
    assert tip["Latest comment"] == "\u201c" + HOSTILE_COMMENT + "\u201d"
    assert node(data, "x1")["label"] == HOSTILE_NAME  # drawn on the canvas, as text
    assert "title" not in node(data, "x1")  # no pyvis/vis HTML tooltip string at all


def test_layout_values_cannot_break_out_of_css():
    with pytest.raises(GraphError, match="height is '1px;} body {display:none'"):
        network_map(village_graph(), height="1px;} body {display:none")
    assert "height: 512px" in network_map(village_graph(), height=512)


# --------------------------------------------------------------------------- encoding


def test_size_is_area_proportional_to_influence():
    data = map_data(network_map(village_graph()))
    big, small, none = node(data, "pm")["size"], node(data, "pa")["size"], node(data, "old")["size"]
    assert big == 45.0 and none == 12.0  # largest influence -> max radius; zero -> min radius
    # radius - min grows with sqrt(influence / max): sqrt(0.1 / 0.4) = 0.5
    assert (small - 12.0) / (big - 12.0) == pytest.approx(0.5, abs=1e-3)


def test_colour_shape_and_border_encode_sentiment_veto_and_departure():
    data = map_data(network_map(village_graph()))
    pm, pa, op, ehs, old = (node(data, k) for k in ("pm", "pa", "op", "ehs", "old"))
    assert pm["color"]["background"] == "#b2182b" and pa["color"]["background"] == "#2166ac"
    assert ehs["color"]["background"] == sentiment_color(0.5) == "#92c5de"
    assert op["color"]["background"] == NOT_HEARD_COLOR and op["shapeProperties"]["borderDashes"]
    assert old["color"]["background"] == DEPARTED_COLOR and old["label"].endswith("(left)")
    # shape = role (readable without hovering, and in black and white); veto = heavy black border
    assert [pm["shape"], ehs["shape"], pa["shape"], op["shape"]] == ["star", "hexagon", "square", "dot"]
    assert pm["borderWidth"] > pa["borderWidth"] and ehs["borderWidth"] == pm["borderWidth"]
    assert pm["color"]["border"] == "#111111" and pa["color"]["border"] != "#111111"


def test_sentiment_colour_interpolates_the_diverging_scale():
    # halfway between RdBu anchors #f7f7f7 (0) and #d1e5f0 (0.25)
    assert sentiment_color(0.125) == "#%02x%02x%02x" % (round((0xF7 + 0xD1) / 2), round((0xF7 + 0xE5) / 2),
                                                         round((0xF7 + 0xF0) / 2))
    assert sentiment_color(float("nan")) == NOT_HEARD_COLOR
    assert sentiment_color(5) == sentiment_color(1)


def test_edges_keep_direction_and_style_by_kind():
    data = map_data(network_map(village_graph()))
    edges = {(e["from"], e["to"]): e for e in data["edges"]}
    assert set(edges) == {("pa", "pm"), ("op", "pa"), ("ehs", "pm")}
    assert edges[("pa", "pm")]["dashes"] is False and edges[("ehs", "pm")]["dashes"]
    assert all(e["arrows"] == "to" for e in edges.values())
    assert edges[("ehs", "pm")]["width"] == 4.0 and edges[("pa", "pm")]["width"] == 2.0  # 1 + 3 w / max w
    assert edges[("ehs", "pm")]["tip"][0][1] == "Eve Safety influences Pat Plant"


def test_a_pair_tied_both_ways_is_a_reporting_line():
    G = village_graph()
    G.edges["pa", "pm"]["kind"] = "reports_to+influences"  # how graph.py merges the two kinds
    data = map_data(network_map(G, hierarchical=True))
    e = next(e for e in data["edges"] if (e["from"], e["to"]) == ("pa", "pm"))
    assert e["dashes"] is False and e["tip"][0][1] == "Paula Buy reports to and influences Pat Plant"
    assert node(data, "pa")["level"] == 1  # still counts in the org chart


def test_tooltip_lists_scores_last_heard_and_comment():
    tip = dict((k, v) for k, v in node(map_data(network_map(village_graph())), "pm")["tip"])
    assert tip[""] == "Pat Plant" and tip["Title"] == "Plant Manager" and tip["Role"] == "decider"
    assert tip["Latest scores"] == "NPS 9/10, CSAT 4/5, NetEasy 2/7"
    assert tip["Sentiment"].startswith("-1.00") and tip["Influence"].startswith("0.400 (40%")
    assert tip["Last heard"] == "2025-05-01" and tip["Latest comment"] == "\u201cLate deliveries again.\u201d"
    op = dict((k, v) for k, v in node(map_data(network_map(village_graph())), "op")["tip"])
    assert op["Sentiment"] == "not heard in the window" and op["Last heard"] == "never"


def test_org_chart_levels_follow_reporting_lines():
    G = village_graph()
    G.add_node("ceo", **person("Cee"))
    G.add_edge("pm", "ceo", kind="reports_to")
    data = map_data(network_map(G, hierarchical=True))
    levels = {n["id"]: n["level"] for n in data["nodes"]}
    # ceo top; pm, pa, op one step down each; no reporting line -> bottom row; people who left below that
    assert levels == {"ceo": 0, "pm": 1, "pa": 2, "op": 3, "ehs": 4, "old": 5}
    assert {n["id"]: n["y"] for n in data["nodes"]} == {k: 150.0 * v for k, v in levels.items()}
    # a single chain stacks vertically; the people without a line sit side by side, most influential first
    xs = {n["id"]: n["x"] for n in data["nodes"]}
    assert xs["ceo"] == xs["pm"] == xs["pa"] == xs["op"] == 0.0 and (xs["ehs"], xs["old"]) == (0.0, 0.0)
    assert data["options"]["physics"]["enabled"] is False


def test_org_chart_centres_managers_over_their_reports():
    G = nx.DiGraph()
    for k, infl in [("boss", 0.3), ("a", 0.2), ("b", 0.1), ("a1", 0.05), ("a2", 0.15), ("b1", 0.2)]:
        G.add_node(k, **person(k, influence=infl))
    G.add_edges_from([("a", "boss"), ("b", "boss"), ("a1", "a"), ("a2", "a"), ("b1", "b")], kind="reports_to")
    G.add_edge("b1", "a", kind="influences")  # not a reporting line: ignored by the layout
    nodes = map_data(network_map(G, hierarchical=True))["nodes"]
    col = {n["id"]: n["x"] / 150.0 for n in nodes}
    # leaves left to right: a's reports (a2 more influential than a1), then b's
    assert (col["a2"], col["a1"], col["b1"]) == (0.0, 1.0, 2.0)
    assert col["a"] == 0.5 and col["b"] == 2.0 and col["boss"] == 1.25


def test_reporting_cycle_shares_one_row():
    G = nx.DiGraph()
    for k in "abc":
        G.add_node(k, **person(k))
    G.add_edge("a", "b", kind="reports_to")
    G.add_edge("b", "a", kind="reports_to")
    G.add_edge("c", "a", kind="reports_to")
    levels = {n["id"]: n["level"] for n in map_data(network_map(G, hierarchical=True))["nodes"]}
    assert levels == {"a": 0, "b": 0, "c": 1}


def test_seed_is_the_vis_random_seed_and_output_is_deterministic():
    G = village_graph()
    assert map_data(network_map(G, seed=7))["options"]["layout"]["randomSeed"] == 7
    assert network_map(G, seed=7) == network_map(G, seed=7)
    with pytest.raises(GraphError, match="seed is 1.5"):
        network_map(G, seed=1.5)


# --------------------------------------------------------------------------- boundary


def test_numpy_ids_float32_timestamps_and_nan_are_converted():
    G = nx.DiGraph()
    G.add_node(np.int64(7), **person("Ann", influence=np.float32(0.75), sentiment=np.float64(0.5),
                                     last_heard=pd.Timestamp("2025-03-01 13:45"), nps=np.float32(10),
                                     n_responses=np.int64(3), veto=np.bool_(True)))
    G.add_node(np.int64(8), **person("Ben", influence=float("nan"), sentiment=float("nan"),
                                     last_heard=pd.NaT, latest_comment=np.nan))
    G.add_edge(np.int64(8), np.int64(7), kind="reports_to", weight=np.float32(2.0))
    data = map_data(network_map(G))
    a, b = node(data, "7"), node(data, "8")
    assert a["size"] == 45.0 and b["size"] == 12.0
    assert a["borderWidth"] == 4.0 and b["color"]["background"] == NOT_HEARD_COLOR
    tip = dict((k, v) for k, v in a["tip"])
    assert tip["Last heard"] == "2025-03-01" and tip["Responses"] == "3" and "NPS 10/10" in tip["Latest scores"]
    assert dict((k, v) for k, v in b["tip"])["Influence"] == "not computed"
    assert data["edges"][0]["from"] == "8" and data["edges"][0]["to"] == "7"


def test_yes_no_attributes_read_from_text():
    G = nx.DiGraph()
    G.add_node("a", **person("A", veto="False", active="0"))
    G.add_node("b", **person("B", veto="yes", active=None))
    data = map_data(network_map(G))
    assert node(data, "a")["borderWidth"] == 1.5 and node(data, "a")["color"]["background"] == DEPARTED_COLOR
    assert node(data, "b")["borderWidth"] == 4.0 and node(data, "b")["color"]["background"] != DEPARTED_COLOR


def test_input_graph_is_not_modified():
    G = hostile_graph()
    before = copy.deepcopy((dict(G.nodes(data=True)), list(G.edges(data=True))))
    network_map(G, hierarchical=True)
    assert (dict(G.nodes(data=True)), list(G.edges(data=True))) == before


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda G: G.remove_nodes_from(list(G)), "G has no nodes"),
        (lambda G: G.nodes["pm"].update(sentiment=1.5), "node 'pm' has sentiment=1.5"),
        (lambda G: G.nodes["pm"].update(influence=-0.1), "node 'pm' has influence=-0.1"),
        (lambda G: G.add_node(1) or G.add_node("1"), "two nodes, 1 and '1'"),
    ],
)
def test_bad_graphs_raise_graph_error_naming_the_problem(change, message):
    G = village_graph()
    change(G)
    with pytest.raises(GraphError, match=re.escape(message)):
        network_map(G)


def test_not_a_graph():
    with pytest.raises(GraphError, match="G is DataFrame; expected a networkx graph"):
        network_map(pd.DataFrame())


# --------------------------------------------------------------------------- save / show


def test_save_map_writes_the_page(tmp_path):
    G = village_graph()
    path = save_map(G, tmp_path / "networks" / "A1.html", seed=3)
    assert path.read_text(encoding="utf-8") == network_map(G, seed=3)
    assert not list(tmp_path.rglob("*.tmp"))


def test_show_map_embeds_the_page_in_a_sandboxed_srcdoc_iframe():
    G = hostile_graph()
    out = show_map(G, height="500px").data
    m = re.fullmatch(r'<div class="cx-frame"><iframe srcdoc="([^"]*)" sandbox="allow-scripts" '
                     r'style="width:100%;height:670px;border:0" loading="eager">\[Interactive map not shown: '
                     r'this notebook is not trusted\. [^<]*\]</iframe></div>', out)
    assert m, out[:200]
    assert html.unescape(m.group(1)) == network_map(G, height="500px")
    assert "<" not in m.group(1) and HOSTILE_NAME not in out


def test_show_html_refuses_a_height_that_is_not_css():
    with pytest.raises(GraphError, match="height is"):
        show_html("<p>x</p>", height='1px" onload="alert(1)')


# --------------------------------------------------------------------------- portfolio


def portfolio():
    return pd.DataFrame({
        "account_id": ["A1", "A2", "A3", "A4", "A5"],
        "name": ["Acme", HOSTILE_NAME, "Coyote", "Dyna", "Ebb"],
        "influence_weighted": [-0.6, -0.2, 0.5, np.nan, 0.9],
        "annual_revenue": [5e6, 1e6, 3e6, 2e6, np.nan],
        "segment": ["ent", "mid", "ent", "mid", "ent"],
    })


def test_portfolio_map_places_every_account_with_revenue():
    fig = portfolio_map(portfolio(), label="name", tooltip=["account_id"], hue="segment", n_labels=2)
    circles = re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)" r="[\d.]+" fill="(#[0-9a-f]{6})"', fig)
    assert len(circles) == 4  # A5 has no revenue
    tips = re.findall(r"<title>(.*?)</title>", fig, re.S)
    assert html.escape(HOSTILE_NAME) + "\ninfluence_weighted: -0.20" in tips[0] + tips[1] + tips[2] + tips[3]
    assert HOSTILE_NAME not in fig and "<script" not in fig and "http" not in fig
    # the two largest at-risk accounts (negative or not heard) are labelled: Acme 5M, Dyna 2M
    labels = re.findall(r'<text x="[\d.]+" y="[\d.]+" style="font-size:11px">(.*?)</text>', fig)
    assert labels == ["Acme", "Dyna"]
    # 3 of 4 at risk: 5M + 1M + 2M of 11M
    assert "3 of 4 accounts" in fig and "together they hold 8M of annual_revenue (73% of the total)" in fig


def test_portfolio_positions_follow_the_values():
    fig = portfolio_map(portfolio(), title=None)
    pts = sorted((float(x), float(y)) for x, y in re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)"', fig))
    # left to right: A4 (not heard, in the strip), A1 -0.6, A2 -0.2, A3 +0.5
    (x4, y4), (x1, y1), (x2, y2), (x3, y3) = pts
    assert (x2 - x1) / (x3 - x2) == pytest.approx(0.4 / 0.7, abs=0.01)  # linear in sentiment
    assert y1 < y3 < y4 < y2  # revenue 5M > 3M > 2M > 1M, screen y falls as revenue rises
    assert (y2 - y1) / (y4 - y1) == pytest.approx(4 / 3, abs=0.01)  # linear in revenue


def test_portfolio_colours_by_sentiment_without_hue():
    fig = portfolio_map(portfolio())
    fills = re.findall(r'fill="(#[0-9a-f]{6})" fill-opacity', fig)
    assert set(fills) == {sentiment_color(-0.6), sentiment_color(-0.2), sentiment_color(0.5), NOT_HEARD_COLOR}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(x="nope"), "data has no column(s) ['nope']"),
        (dict(x="annual_revenue"), "x='annual_revenue' has 4 value(s) outside [-1, 1]"),
        (dict(hue="account_id"), None),
    ],
)
def test_portfolio_errors(kwargs, message):
    df = portfolio()
    if message is None:  # 5 levels is fine; 9 is not
        portfolio_map(df, **kwargs)
        df = pd.concat([df, df.assign(account_id=df.account_id + "b")]).reset_index(drop=True)
        with pytest.raises(PlotDataError, match="hue='account_id' has 10 levels; expected at most 8"):
            portfolio_map(df.fillna({"annual_revenue": 1.0}), **kwargs)
        return
    with pytest.raises(PlotDataError, match=re.escape(message)):
        portfolio_map(df, **kwargs)


def test_portfolio_does_not_modify_input():
    df = portfolio()
    before = df.copy()
    portfolio_map(df, size="annual_revenue")
    pd.testing.assert_frame_equal(df, before)
    assert math.isnan(df.loc[4, "annual_revenue"])


def test_only_the_tooltip_style_of_vis_is_inlined():
    page = network_map(village_graph())
    css = "".join(parse(page).styles)
    assert "div.vis-tooltip{" in css and "vis-navigation" not in css and "data:image" not in css
    assert len(page.encode()) < len(VIS_JS.read_bytes()) + 30_000  # vis JS + a few kB of page


# --------------------------------------------------------------------------- with graph.py


def test_maps_of_the_sample_village_accounts(sample_village):
    from cxinfluence.network.graph import account_graph

    sizes = sample_village.stakeholders["account_id"].value_counts()
    for account_id in (sizes.index[0], sizes.index[-1]):  # the largest and the smallest village
        G = account_graph(sample_village, account_id, departed="mark")
        data = map_data(network_map(G, hierarchical=True, title=f"Account {account_id}"))
        assert {n["id"] for n in data["nodes"]} == set(G.nodes)
        assert {(e["from"], e["to"]) for e in data["edges"]} == set(G.edges)
        for n in data["nodes"]:
            a = G.nodes[n["id"]]
            if not a["active"]:
                assert n["color"]["background"] == DEPARTED_COLOR
            elif a["sentiment"] is None:
                assert n["color"]["background"] == NOT_HEARD_COLOR
            else:
                assert n["color"]["background"] == sentiment_color(a["sentiment"])
            assert (n["borderWidth"] == 4.0) == a["veto"] == n["cx"]["veto"]
            assert n["shape"] == {"decider": "star", "buyer": "square", "influencer": "triangle",
                                  "gatekeeper": "hexagon", "user": "dot"}[a["role"]]
            assert n["cx"]["active"] == a["active"]
            assert dict(n["tip"])[""] == (a["name"] or n["id"])


# --------------------------------------------------------------------------- readable maps (issue 16)


def crowd(n=40):
    """``n`` people reporting to one veto-holding manager; influence falls with the number; one has left."""
    G = nx.DiGraph()
    G.add_node("boss", **person("Boss", role="decider", veto=True, influence=0.01, sentiment=0.2))
    for i in range(n):
        G.add_node(f"p{i}", **person(f"P{i}", influence=1.0 / (i + 2), sentiment=-0.5 if i % 2 else 0.5,
                                     department="ops" if i % 3 else "finance"))
        G.add_edge(f"p{i}", "boss", kind="reports_to", weight=1.0)
    G.add_node("gone", **person("Gone Director", role="decider", veto=True, influence=0.9, active=False))
    G.add_edge("boss", "gone", kind="reports_to", weight=1.0)
    G.add_edge("gone", "p0", kind="influences", weight=5.0)
    return G


def test_named_at_first_view_are_veto_holders_and_the_most_influential():
    data = map_data(network_map(crowd()))
    key = {n["id"] for n in data["nodes"] if n["cx"]["key"]}
    # the 10 most influential still there (p0..p8 and... the boss is a veto holder) - never someone who left
    assert key == {f"p{i}" for i in range(10)} | {"boss"}
    assert data["labelPx"] == 14 and all(n["font"]["size"] == 14 for n in data["nodes"])


def test_people_who_left_and_their_ties_are_never_drawn_as_live():
    data = map_data(network_map(crowd()))
    gone = node(data, "gone")
    assert gone["cx"]["active"] is False and gone["color"]["background"] == DEPARTED_COLOR
    edges = {(e["from"], e["to"]): e for e in data["edges"]}
    for pair in (("boss", "gone"), ("gone", "p0")):
        e = edges[pair]
        assert e["cx"]["past"] and e["color"]["color"] == DEPARTED_COLOR and e["dashes"] == [2, 5]
        assert e["width"] == 1.0 and ["Status", "past tie: one of the two has left"] in e["tip"]
    assert not edges[("p1", "boss")]["cx"]["past"]
    page = network_map(crowd())
    assert "41 people, 1 veto holder" in page and "1 who left are hidden" in page
    assert 'id="cx-departed" type="checkbox">' in page  # unticked: hidden by default


def test_filters_search_layout_and_export_controls_are_in_the_page():
    page = network_map(crowd(), file_stem="../A 1<x>")
    for control in ("cx-search", "cx-role", "cx-dept", "cx-mood", "cx-influence", "cx-departed", "cx-layout",
                    "cx-png", "cx-svg"):
        assert f'id="{control}"' in page
    data = map_data(page)
    assert data["fileStem"] == "A_1_x" and set(data["layouts"]) == {"org", "network"}
    assert data["layouts"]["org"]["physics"]["enabled"] is False
    moods = {n["id"]: n["cx"]["mood"] for n in data["nodes"]}
    assert moods["p0"] == "positive" and moods["p1"] == "negative" and moods["boss"] == "positive"
    # org-chart positions are there for the in-page switch even in the network layout
    assert all("ox" in n["cx"] and "oy" in n["cx"] and "x" not in n for n in data["nodes"])
    # the legend shows the role shapes present
    assert "decider</span>" in page and "user</span>" in page and "gatekeeper</span>" not in page


def test_bidi_controls_in_customer_text_are_removed():
    G = nx.DiGraph()
    G.add_node("a\u202e", **person("Ann \u202eevil", title="\u2066VP\u2069", department="ops\u200f",
                                   latest_comment="late \u202dagain"))
    page = network_map(G, title="Acme \u202eoc")
    data = map_data(page)
    n = data["nodes"][0]
    assert n["label"] == "Ann evil" and n["cx"]["name"] == "Ann evil" and n["cx"]["title"] == "VP"
    assert n["cx"]["department"] == "ops"
    for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f":
        assert ch not in page and json.dumps(ch)[1:-1] not in page.replace("\\\\", "")
    assert "Acme oc" in page


def test_portfolio_map_removes_bidi_controls():
    df = pd.DataFrame({"account_id": ["A1\u202e"], "name": ["Acme \u2066oc\u2069"], "influence_weighted": [-0.5],
                       "annual_revenue": [1e6]})
    fig = portfolio_map(df, tooltip=["name"])
    assert "\u202e" not in fig and "\u2066" not in fig and "Acme oc" in fig
