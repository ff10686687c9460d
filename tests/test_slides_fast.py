"""The fast slide figures draw the same picture as matplotlib's own path (present/slides.py).

``write_map_figures`` wraps the caption once and encodes the PNG itself (RGB,
zlib level 3); the reference here is the figure drawn the way it was before:
the caption left to matplotlib's ``wrap=True`` and saved with ``savefig``.
"""

import io
import xml.etree.ElementTree as ET

import matplotlib
import numpy as np
import pytest
from PIL import Image

from cxinfluence.network.graph import account_graphs
from cxinfluence.present.slides import _wrap_caption, map_figure, write_map_figures


def _reference(G, figsize, **kwargs):
    """PNG (as an RGB array) and SVG bytes drawn with matplotlib's wrapping and savefig."""
    fig = map_figure(G, figsize=figsize, **kwargs)
    caption = fig.texts[-1]
    caption.set_text(caption.get_text().replace("\n", " "))
    caption.set_wrap(True)
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=150, facecolor="white")
    svg = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "cxinfluence"}):
        fig.savefig(svg, format="svg", facecolor="white", metadata={"Date": None})
    return np.asarray(Image.open(png).convert("RGB"), dtype=float), svg.getvalue()


@pytest.fixture(scope="module")
def graphs(sample_village):
    gs = account_graphs(sample_village, None, None, departed="mark")
    return sorted(gs.values(), key=lambda g: -g.number_of_nodes())


@pytest.mark.parametrize("figsize", [(13.33, 7.5), (7.0, 5.0)])
def test_png_and_svg_show_the_same_picture_as_savefig(graphs, tmp_path, figsize):
    G = graphs[0]  # the largest account: many names, a long caption
    png, svg = write_map_figures(G, tmp_path, "m", seed=4, title="Buying center: <Acme & Co>", figsize=figsize)
    ref_png, ref_svg = _reference(G, figsize, seed=4, title="Buying center: <Acme & Co>")
    new = np.asarray(Image.open(png), dtype=float)
    assert Image.open(png).mode == "RGB" and new.shape == ref_png.shape
    assert new.shape[:2] == (int(figsize[1] * 150), int(figsize[0] * 150))
    assert np.abs(new - ref_png).mean() / 255 < 0.01  # same picture (in practice equal pixel for pixel)
    assert (np.abs(new - ref_png).max(axis=2) > 0).mean() < 0.001
    # the SVG parses, and as XML it is the reference's document
    a, b = ET.fromstring(svg.read_bytes()), ET.fromstring(ref_svg)
    assert [(e.tag, e.attrib, (e.text or "").strip()) for e in a.iter()] == \
        [(e.tag, e.attrib, (e.text or "").strip()) for e in b.iter()]
    assert "&lt;Acme &amp; Co&gt;" in svg.read_text()  # customer text escaped


def test_caption_wraps_like_matplotlib():
    words = "26 people, 6 veto holders, 7 not heard; size = share of the account's influence.".split(" ")
    text = " ".join(words * 3)
    wide = _wrap_caption(text, 11, 100.0)
    assert wide == text
    lines = _wrap_caption(text, 11, 3.0).split("\n")
    assert len(lines) > 3 and " ".join(lines) == text  # nothing lost, only spaces turned into breaks
    # every line fits and is the longest that fits (greedy, as matplotlib's Text(wrap=True))
    from matplotlib.backends.backend_agg import RendererAgg

    r = RendererAgg(1, 1, 150)
    prop = matplotlib.font_manager.FontProperties(size=11)
    width = lambda s: np.ceil(r.get_text_width_height_descent(s, prop, ismath=False)[0])  # noqa: E731
    for i, line in enumerate(lines):
        assert width(line) <= 3.0 * 150 or " " not in line
        if i + 1 < len(lines):
            assert width(line + " " + lines[i + 1].split(" ")[0]) > 3.0 * 150
    assert _wrap_caption("averyveryverylongword b", 11, 0.2) == "averyveryverylongword\nb"
