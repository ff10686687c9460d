"""Buying-center maps as PNG/SVG for slides (present/slides.py)."""

import xml.etree.ElementTree as ET

import networkx as nx
import pytest

from cxinfluence.exceptions import GraphError
from cxinfluence.network.graph import account_graphs
from cxinfluence.present.maps import KEY_LABELS, MAX_KEY_LABELS
from cxinfluence.present.slides import SLIDE_FONT_PT, SLIDE_SIZE, map_figure, write_map_figures


def _nodes(fig):
    return [c for c in fig.axes[0].collections if c.get_gid() == "cx-nodes"]


def _names(fig):
    return [t for t in fig.axes[0].texts if t.get_gid() == "cx-name"]


@pytest.fixture(scope="module")
def big(sample_village):
    """The sample village's largest account (76 people, 36 of whom have left)."""
    graphs = account_graphs(sample_village, None, None, departed="mark")
    account = max(graphs, key=lambda a: graphs[a].number_of_nodes())
    return graphs[account]


def _small():
    G = nx.DiGraph()
    G.add_node("a", name="Ann", role="decider", veto=True, influence=0.5, sentiment=-0.5, active=True)
    G.add_node("b", name="Bo", role="buyer", influence=0.3, sentiment=0.4, active=True)
    G.add_node("c", name="Cy", role="nonsense", influence=0.2, sentiment=None, active=True)
    G.add_node("d", name="Dee (left)", role="user", influence=0.0, active=False)
    G.add_edge("b", "a", kind="reports_to", weight=1.0)
    G.add_edge("c", "a", kind="influences", weight=2.0)
    G.add_edge("d", "a", kind="reports_to", weight=1.0)
    return G


def test_files_are_valid_png_and_svg_with_one_marker_per_person(tmp_path):
    png, svg = write_map_figures(_small(), tmp_path, "acme", seed=3, title="Buying center: Acme")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    root = ET.parse(svg).getroot()  # well-formed XML
    assert root.tag.endswith("svg")
    text = svg.read_text()
    # three live people: one <use> of the role's marker per person (a hatched marker is drawn as a <path>)
    ns = "{http://www.w3.org/2000/svg}"
    marks = 0
    for g in root.iter(f"{ns}g"):
        if g.get("id") == "cx-nodes":
            marks += sum(1 for el in g.iter() if el.tag in (f"{ns}use", f"{ns}path")
                         and el not in [x for d in g.iter(f"{ns}defs") for x in d.iter()])
    assert marks == 3
    assert "Ann" in text and "Bo" in text  # names stay text in the SVG
    assert "Dee" not in text  # the person who left is not drawn
    assert not list(tmp_path.glob("*.tmp"))


def test_departed_left_out_roles_and_veto_drawn():
    fig = map_figure(_small())
    colls = _nodes(fig)
    assert sum(len(c.get_offsets()) for c in colls) == 3
    assert fig.cx_departed == 1
    widths = sorted(float(c.get_linewidths()[0]) for c in colls)
    assert widths[-1] == 3.0 and widths[0] == 1.0  # the veto holder has the heavy border
    assert any(c.get_hatch() for c in colls)  # Cy not heard: hatched (readable in black and white)
    labels = {t.get_text() for t in fig.legends[0].get_texts()}
    assert {"decider", "buyer", "role unknown", "veto holder", "not heard in the window", "reports to",
            "influences"} <= labels
    assert "user" not in labels  # only roles of people drawn
    assert "1 who left are not drawn" in fig.texts[-1].get_text()


def test_seventy_six_person_account_stays_legible(big):
    live = [n for n, a in big.nodes(data=True) if a.get("active")]
    assert big.number_of_nodes() == 76 and len(live) < 76
    fig = map_figure(big, seed=0)
    assert tuple(fig.get_size_inches()) == pytest.approx(SLIDE_SIZE)
    assert sum(len(c.get_offsets()) for c in _nodes(fig)) == len(live)
    names = _names(fig)
    vetoes = sum(1 for n in live if big.nodes[n].get("veto"))
    assert min(KEY_LABELS, len(live)) <= len(names) <= MAX_KEY_LABELS
    assert len(names) >= min(vetoes, MAX_KEY_LABELS)
    # at least 10 pt on a 13.33 in slide: legible projected or printed
    assert min(t.get_fontsize() for t in names) >= SLIDE_FONT_PT >= 10
    # every name and every marker inside the drawing area
    fig.canvas.draw()
    box = fig.axes[0].get_window_extent()
    for t in names:
        e = t.get_window_extent()
        assert box.x0 - 40 <= e.x0 and e.x1 <= box.x1 + 40 and e.y0 >= 0, t.get_text()


def test_layouts_are_seeded_and_org_chart_has_managers_on_top():
    G = _small()
    a = map_figure(G, seed=1)
    b = map_figure(G, seed=1)
    assert [c.get_offsets().tolist() for c in _nodes(a)] == [c.get_offsets().tolist() for c in _nodes(b)]
    org = map_figure(G, hierarchical=True)
    ys = {t.get_text(): t.xy[1] for t in _names(org)}
    assert ys["Ann"] > ys["Bo"]  # Ann is Bo's manager: drawn above


def test_bad_graph_is_refused():
    with pytest.raises(GraphError, match="no nodes"):
        map_figure(nx.DiGraph())
    G = nx.DiGraph()
    G.add_node("a", sentiment=3.0)
    with pytest.raises(GraphError, match="sentiment"):
        map_figure(G)


def test_the_same_graph_gives_the_same_files(tmp_path):
    a = [p.read_bytes() for p in write_map_figures(_small(), tmp_path, "a", seed=2)]
    b = [p.read_bytes() for p in write_map_figures(_small(), tmp_path, "b", seed=2)]
    assert a == b
