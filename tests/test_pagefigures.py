"""The account pages' pictures drawn with less repeated work (issue 18) are the bytes of the plain way:
a trend chart reused with its data swapped equals a new chart per account, whatever the accounts before it;
the interest digraph's box measured without matplotlib's layout pass equals ``bbox_inches="tight"``."""

import numpy as np
import pandas as pd
import pytest

from cxinfluence.present.interests import interest_digraph, interest_edges
from cxinfluence.present.pagefigures import TrendCharts, interest_png, trend_figure, trend_rows
from cxinfluence.present.plotbase import figure_to_data_uri


def _history(seed=0):
    rng = np.random.default_rng(seed)
    dates = ["2024-01-01", "2025-01-01", "2026-01-01"]
    rows = []
    for a in range(8):
        for d in dates[: 2 + a % 2]:  # two layouts: two dates or three
            s = rng.uniform(-1, 1)
            rows.append({"account_id": f"A{a}", "as_of": d, "influence_weighted": s, "mean": s * 0.8,
                         "influence_weighted_ci_low": s - 0.3, "influence_weighted_ci_high": s + 0.2})
    h = pd.DataFrame(rows)
    h.loc[3, ["mean", "influence_weighted_ci_low", "influence_weighted_ci_high"]] = np.nan  # gaps drawn as gaps
    h.loc[len(h)] = {"account_id": "one-date", "as_of": "2026-01-01", "influence_weighted": 0.1}
    return h


def _plain(h, account_id):
    rows = trend_rows(h, account_id)
    return None if rows is None else figure_to_data_uri(trend_figure(rows))


def test_reused_trend_charts_are_the_bytes_of_new_ones():
    h = _history()
    charts = TrendCharts()
    ids = [*h["account_id"].unique(), "A0", "no-such-account"]  # A0 again after the others: nothing left over
    got = [charts.png(h, a) for a in ids]
    assert got == [_plain(h, a) for a in ids]
    assert sum(g is not None for g in got) == 9 and len(charts._figures) == 2  # one figure per layout


def test_trend_chart_of_a_history_without_intervals_or_mean():
    h = _history().drop(columns=["mean", "influence_weighted_ci_low", "influence_weighted_ci_high"])
    charts = TrendCharts()
    assert [charts.png(h, a) for a in ("A1", "A3", "A1")] == [_plain(h, a) for a in ("A1", "A3", "A1")]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_interest_png_box_without_the_layout_pass_is_the_tight_box(seed):
    rng = np.random.default_rng(seed)
    roles, themes = ["decider", "buyer", "user", "gatekeeper"], ["price", "delivery", "support", "a long topic name"]
    c = pd.DataFrame({"role": rng.choice(roles, 30),
                      "themes": [";".join(rng.choice(themes, rng.integers(1, 3), replace=False)) for _ in range(30)],
                      "comment_sentiment": rng.uniform(-1, 1, 30)})
    fig = interest_digraph(interest_edges(c))
    assert interest_png(c) == figure_to_data_uri(fig, dpi=110)
    assert interest_png(c.iloc[:0]) is None


def test_interest_arrows_added_without_patch_limits_draw_the_same(monkeypatch):
    """The arrows go in with ``add_artist`` (no data-limit update: the limits are set after): the PNG of the
    figure built with matplotlib's ``add_patch`` is the same."""
    from matplotlib.axes import Axes
    from matplotlib.patches import FancyArrowPatch

    rng = np.random.default_rng(7)
    c = pd.DataFrame({"role": rng.choice(["decider", "user", "buyer"], 25),
                      "themes": rng.choice(["price", "delivery;price", "support", "onboarding;support"], 25),
                      "comment_sentiment": rng.uniform(-1, 1, 25)})
    fast = interest_png(c)
    calls, add_artist = [], Axes.add_artist

    def via_add_patch(self, artist):
        if isinstance(artist, FancyArrowPatch):
            calls.append(artist)
            return self.add_patch(artist)
        return add_artist(self, artist)

    monkeypatch.setattr(Axes, "add_artist", via_add_patch)
    slow = figure_to_data_uri(interest_digraph(interest_edges(c)), dpi=110)
    assert calls and slow == fast


def test_reused_interest_figures_are_the_bytes_of_new_ones():
    """One figure per number of rows, redrawn: accounts with different and repeated row counts, in any order."""
    from cxinfluence.present.pagefigures import InterestCharts

    rng = np.random.default_rng(3)
    roles, themes = ["decider", "buyer", "user", "gatekeeper", "influencer"], ["price", "delivery", "support", "it"]
    accounts = []
    for k in range(6):
        n = 3 + 4 * k
        accounts.append(pd.DataFrame({"role": rng.choice(roles[: 2 + k % 4], n),
                                      "themes": rng.choice(themes[: 1 + k % 4], n),
                                      "comment_sentiment": rng.uniform(-1, 1, n)}))
    accounts += [accounts[1], accounts[0].iloc[:0], accounts[4]]
    charts = InterestCharts()
    got = [charts.png(c) for c in accounts]
    assert got == [interest_png(c) for c in accounts]
    assert got[-2] is None and 1 < len(charts._figures) < 6  # some figures reused
