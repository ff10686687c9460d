"""The slide figure kept and redrawn map after map (issue 18) draws map_figure's picture of each graph:
the same SVG document and the same PNG bytes, whatever was drawn before it (other roles, titles, sizes)."""

import io

import matplotlib
import pytest

from cxinfluence.network.graph import account_graphs
from PIL import Image, PngImagePlugin

from cxinfluence.present.slides import KEPT_FIGURES, map_figure, write_map_figures


def _fresh(G, **kwargs):
    """PNG and SVG bytes of a new map_figure, saved the way write_map_figures saved it before the figure was kept:
    savefig's RGBA at 150 dpi, as RGB, zlib level 3, matplotlib's Software tag."""
    fig = map_figure(G, **kwargs)
    rgba = io.BytesIO()
    fig.savefig(rgba, format="rgba", dpi=150, facecolor="white")
    size = (int(fig.get_figwidth() * 150), int(fig.get_figheight() * 150))
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", f"Matplotlib version{matplotlib.__version__}, https://matplotlib.org/")
    png = io.BytesIO()
    Image.frombuffer("RGBA", size, rgba.getbuffer(), "raw", "RGBA", 0, 1).convert("RGB").save(
        png, format="png", pnginfo=info, dpi=(150, 150), compress_level=3)
    svg = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "cxinfluence"}):
        fig.savefig(svg, format="svg", facecolor="white", metadata={"Date": None})
    return png.getvalue(), svg.getvalue()


@pytest.fixture(scope="module")
def graphs(sample_village):
    gs = account_graphs(sample_village, None, None, departed="mark")
    ranked = sorted(gs.values(), key=lambda g: -g.number_of_nodes())
    return ranked[:3] + ranked[-2:]  # large and small accounts: different roles, legends and captions


def test_redrawn_figure_gives_the_bytes_of_a_new_one(graphs, tmp_path):
    KEPT_FIGURES.__dict__.clear()
    runs = [dict(seed=i, title=f"Buying center: <A{i}>") for i in range(len(graphs))]
    runs[1] = dict(seed=1)  # no title: a figure of its own
    runs[2] = dict(seed=2, title="Buying center: A2", figsize=(7.0, 5.0), hierarchical=True)
    order = [*range(len(graphs)), 0]  # the first map again after the others: nothing of theirs left over
    for k, i in enumerate(order):
        png, svg = write_map_figures(graphs[i], tmp_path, f"m{k}", **runs[i])
        ref_png, ref_svg = _fresh(graphs[i], **runs[i])
        assert svg.read_bytes() == ref_svg, f"map {k}"
        assert png.read_bytes() == ref_png, f"map {k}"
    figures = KEPT_FIGURES.figures
    assert len(figures) == 3 and any(len(f.legends) > 1 for f in figures.values())  # figures kept, legends swapped
    assert sum(f.pasted for f in figures.values()) >= 1  # a legend and colour bar put back, not drawn again


def test_legend_under_a_long_name_is_drawn_not_pasted(tmp_path):
    """A name running under the legend: the box is not plain white, so the legend and colour bar are drawn over
    the bare figure (as the first time), not pasted."""
    import networkx as nx

    KEPT_FIGURES.__dict__.clear()

    def graph(far_name):
        G = nx.DiGraph()
        G.add_node("a", name="Ann", role="decider", veto=True, influence=0.6, sentiment=-0.4, active=True)
        G.add_node("b", name=far_name, role="user", influence=0.4, sentiment=0.2, active=True)
        G.add_edge("b", "a", kind="reports_to", weight=1.0)
        return G

    runs = [graph("Bo"), graph("Bo"), graph("W" * 40), graph("Bo")]
    for k, G in enumerate(runs):
        png, svg = write_map_figures(G, tmp_path, f"m{k}", seed=0, title="T")
        ref_png, ref_svg = _fresh(G, seed=0, title="T")
        assert png.read_bytes() == ref_png and svg.read_bytes() == ref_svg, f"map {k}"
    kept = next(iter(KEPT_FIGURES.figures.values()))
    assert kept.pasted == 2  # maps 1 and 3
    assert kept.overlaid == 2  # maps 0 and 2: the legend and colour bar drawn over the bare figure, not all again


def test_a_style_applied_between_maps_is_used_as_by_a_new_figure(graphs, tmp_path):
    KEPT_FIGURES.__dict__.clear()
    write_map_figures(graphs[-1], tmp_path, "before", seed=0, title="T")
    with matplotlib.rc_context({"font.family": "serif", "axes.edgecolor": "#ff0000"}):
        png, svg = write_map_figures(graphs[-1], tmp_path, "styled", seed=0, title="T")
        ref_png, ref_svg = _fresh(graphs[-1], seed=0, title="T")
    assert svg.read_bytes() == ref_svg and png.read_bytes() == ref_png
    assert b"serif" in ref_svg
