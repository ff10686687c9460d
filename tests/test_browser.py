"""Generated maps in a real browser: they draw, make no request, run no injected code.

Needs Debian's ``chromium`` + ``chromedriver`` and selenium. Without them the
tests skip with a message; with ``$CI`` set they fail instead (see
tests/browser.py). The first tests check the checks: a page that does make a
request, raise a dialog or log an error is caught.
"""

import html
import time

import networkx as nx
import pandas as pd
import pytest

from browser import Visit, headless_chromium, require_chromium
from cxinfluence.present.maps import NOT_HEARD_COLOR, portfolio_map, save_map, sentiment_color, show_map

pytestmark = pytest.mark.slow  # end-to-end: `make test-fast` skips it, `make test` and CI run it

HOSTILE = {
    "name": "<img src=x onerror=alert(1)>",
    "title": '<script>alert(2)</script> VP <a href="javascript:alert(3)">href</a>',
    "comment": "<svg onload=alert(4)> <img src=y onerror=\"window.__pwned=1\"> see href=",
}
DRAWN = "document.getElementById('cx-map') && document.getElementById('cx-map').getAttribute('data-drawn')"


@pytest.fixture(scope="module")
def browser():
    require_chromium()
    with headless_chromium() as b:
        yield b


def hostile_graph():
    G = nx.DiGraph()
    base = dict(department="operations", active=True, active_to=None, n_responses=1, last_heard="2025-04-01",
                nps=2.0, csat=2.0, ces=4.0, neteasy=6.0)
    G.add_node("x1", name=HOSTILE["name"], title=HOSTILE["title"], role="decider", veto=True, influence=0.5,
               sentiment=-0.75, latest_comment=HOSTILE["comment"], **base)
    G.add_node("x2", name="Bea href", title="href", role="user", veto=False, influence=0.3, sentiment=None,
               latest_comment=None, **{**base, "last_heard": None, "n_responses": 0})
    G.add_node("x3", name="Cal", title="EHS lead", role="gatekeeper", veto=True, influence=0.2, sentiment=0.75,
               latest_comment="fine", **base)
    G.add_edge("x2", "x1", kind="reports_to", weight=1.0)
    G.add_edge("x3", "x1", kind="influences", weight=2.0)
    return G


def canvas_pixels(driver, frame=False):
    """Count of painted pixels and of exact-colour pixels per requested colour."""
    return driver.execute_script("""
        var c = document.querySelector('#cx-map canvas');
        var d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        var painted = 0, hits = {};
        arguments[0].forEach(function (h) { hits[h] = 0; });
        for (var i = 0; i < d.length; i += 4) {
            if (d[i + 3] === 0) continue;
            painted++;
            var hex = '#' + [d[i], d[i + 1], d[i + 2]].map(function (v) {
                return ('0' + v.toString(16)).slice(-2); }).join('');
            if (hex in hits) hits[hex]++;
        }
        return {painted: painted, hits: hits};
    """, [NOT_HEARD_COLOR, sentiment_color(-0.75), sentiment_color(0.75)])


def wait_for(driver, expr, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not driver.execute_script(f"return !!({expr});"):
        if time.monotonic() > deadline:
            raise TimeoutError(expr)
        time.sleep(0.1)


def hover(driver, node_id):
    """Move the mouse over a node and return the tooltip's text and child tags."""
    from selenium.webdriver.common.action_chains import ActionChains

    canvas = driver.find_element("css selector", "#cx-map canvas")
    x, y, w, h = driver.execute_script("""
        var n = window.cxNetwork, p = n.canvasToDOM(n.getPositions([arguments[0]])[arguments[0]]);
        var c = document.querySelector('#cx-map canvas');
        return [p.x, p.y, c.clientWidth, c.clientHeight];""", node_id)
    ActionChains(driver).move_to_element_with_offset(canvas, int(x - w / 2), int(y - h / 2)).perform()
    ActionChains(driver).move_by_offset(1, 1).perform()  # vis shows the popup on a hover move
    wait_for(driver, "document.querySelector('.vis-tooltip') && "
                     "document.querySelector('.vis-tooltip').style.visibility === 'visible'")
    return driver.execute_script("""
        var t = document.querySelector('.vis-tooltip');
        return [t.textContent, Array.from(t.querySelectorAll('*')).map(function (e) { return e.tagName; })];""")


# --------------------------------------------------------------------------- the checks can fail


def test_detects_a_network_request(browser, tmp_path):
    page = tmp_path / "leaky.html"
    page.write_text('<html><body><img src="http://127.0.0.1:9/pixel.png"></body></html>')
    visit = browser.open(page)
    assert visit.network_requests == ["http://127.0.0.1:9/pixel.png"]


def test_detects_a_dialog_and_a_console_error(browser, tmp_path):
    page = tmp_path / "noisy.html"
    page.write_text("<html><body><script>console.error('boom'); alert('hi');</script></body></html>")
    visit = browser.open(page)
    assert visit.dialogs == ["hi"]
    assert any("boom" in m for m in visit.console_errors)


def test_pyvis_default_page_would_reach_the_cdn(browser, tmp_path):
    """Why maps.py renders its own page: pyvis' template fetches vis and bootstrap."""
    from pyvis.network import Network

    net = Network(cdn_resources="in_line")
    net.add_node(1, label="a")
    page = tmp_path / "pyvis.html"
    page.write_text(net.generate_html())
    visit = browser.open(page)
    assert any("cdn.jsdelivr.net" in u and "bootstrap" in u for u in visit.network_requests)


# --------------------------------------------------------------------------- our maps


@pytest.mark.parametrize("hierarchical", [False, True], ids=["physics", "org-chart"])
def test_map_draws_offline_without_errors_or_dialogs(browser, tmp_path, hierarchical):
    path = save_map(hostile_graph(), tmp_path / "map.html", hierarchical=hierarchical, title=HOSTILE["name"])
    visit = browser.open(path, ready_js=DRAWN)
    assert visit.network_requests == []
    assert visit.console_errors == []
    assert visit.dialogs == []
    px = canvas_pixels(browser.driver)
    assert px["painted"] > 3000, px
    # each sentiment class is on the canvas in its own colour
    assert all(n > 50 for n in px["hits"].values()), px
    # the heading shows the hostile name as text, and no element was injected
    d = browser.driver
    assert d.find_element("css selector", "h2.cx-title").text == HOSTILE["name"]
    assert d.execute_script("return document.querySelectorAll('img, svg script, a').length") == 0
    assert d.execute_script("return window.__pwned === undefined")


def test_tooltips_show_hostile_text_as_text(browser, tmp_path):
    path = save_map(hostile_graph(), tmp_path / "map.html")
    browser.open(path, ready_js=DRAWN)
    d = browser.driver
    wait_for(d, "document.getElementById('cx-map').getAttribute('data-stable')")
    text, tags = hover(d, "x1")
    for s in HOSTILE.values():
        assert s in text
    assert set(tags) <= {"DIV", "SPAN"}  # only the elements our tooltip builds
    text2, _ = hover(d, "x2")
    assert "Bea href" in text2 and "not heard in the window" in text2
    visit = browser.collect(Visit(url=path.resolve().as_uri()))
    assert visit.dialogs == [] and visit.console_errors == []
    assert d.execute_script("return window.__pwned === undefined")


def test_map_inside_the_notebook_iframe_draws(browser, tmp_path):
    wrapper = tmp_path / "notebook_output.html"
    wrapper.write_text("<html><body>" + show_map(hostile_graph(), height="400px").data + "</body></html>")
    visit = browser.open(wrapper)
    d = browser.driver
    d.switch_to.frame(d.find_element("tag name", "iframe"))
    try:
        wait_for(d, DRAWN)
        assert canvas_pixels(d)["painted"] > 3000
    finally:
        d.switch_to.default_content()
    browser.collect(visit)
    assert visit.network_requests == [] and visit.console_errors == [] and visit.dialogs == []


def test_portfolio_map_renders_offline(browser, tmp_path):
    df = pd.DataFrame({"account_id": ["A1", HOSTILE["name"], "A3"], "influence_weighted": [-0.5, 0.2, None],
                       "annual_revenue": [3e6, 1e6, 2e6]})
    page = tmp_path / "portfolio.html"
    page.write_text('<html><head><meta charset="utf-8"></head><body>' + portfolio_map(df) + "</body></html>")
    visit = browser.open(page)
    assert visit.network_requests == [] and visit.console_errors == [] and visit.dialogs == []
    d = browser.driver
    sizes = d.execute_script("return Array.from(document.querySelectorAll('circle')).map("
                             "function (c) { var r = c.getBoundingClientRect(); return r.width * r.height; });")
    assert len(sizes) == 3 and min(sizes) > 0
    titles = d.execute_script("return Array.from(document.querySelectorAll('circle title')).map("
                              "function (t) { return t.textContent; });")
    assert any(t.startswith(HOSTILE["name"] + "\n") for t in titles)
    assert d.execute_script("return document.querySelectorAll('img').length") == 0
    assert html.escape(HOSTILE["name"]) in d.page_source


# --------------------------------------------------------------------------- skip locally, fail in CI


def test_missing_browser_skips_locally_but_fails_in_ci(monkeypatch):
    import browser as helper

    monkeypatch.setattr(helper, "find_chromium", lambda: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium"):
        helper.require_chromium()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set but the browser is missing"):
        helper.require_chromium()


@pytest.mark.parametrize("hierarchical", [False, True], ids=["physics", "org-chart"])
def test_largest_sample_account_draws(browser, tmp_path, sample_village, hierarchical):
    from cxinfluence.network.graph import account_graph

    account_id = sample_village.stakeholders["account_id"].value_counts().index[0]
    G = account_graph(sample_village, account_id, departed="mark")
    path = save_map(G, tmp_path / f"{account_id}.html", hierarchical=hierarchical)
    visit = browser.open(path, ready_js=DRAWN)
    assert visit.network_requests == [] and visit.console_errors == [] and visit.dialogs == []
    assert canvas_pixels(browser.driver)["painted"] > 3000
    drawn = browser.driver.execute_script("return window.cxNetwork.body.nodeIndices.length")
    # people who left are hidden until asked for
    assert drawn == sum(1 for _, a in G.nodes(data=True) if a["active"])
