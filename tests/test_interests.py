"""Who cares about what: role -> theme digraph on the account page (present/interests.py)."""

import numpy as np
import pandas as pd
import pytest

from cxinfluence.present.account_page import account_page
from cxinfluence.present.interests import interest_digraph, interest_edges


def comments():
    return pd.DataFrame({"role": ["user", "decider", "decider", "user", None, "buyer"],
                         "themes": ["delivery", "price;delivery", "price", "", "price", "support"],
                         "comment_sentiment": [-0.5, -0.6, 0.4, 0.0, 0.2, np.nan]})


def test_edges_counted_by_hand():
    e = interest_edges(comments()).set_index(["role", "theme"])
    assert e.loc[("decider", "price"), "comments"] == 2 and e.loc[("decider", "price"), "negative"] == 1
    assert e.loc[("decider", "price"), "sentiment"] == pytest.approx((-0.6 + 0.4) / 2)
    assert e.loc[("role unknown", "price"), "comments"] == 1  # a comment without a role is still counted
    assert e["comments"].sum() == 6  # six (role, theme) mentions; the blank-themed comment adds none
    assert np.isnan(e.loc[("buyer", "support"), "sentiment"])
    assert interest_edges(comments(), max_themes=1)["theme"].unique().tolist() == ["price"]
    assert interest_edges(pd.DataFrame()).empty


def test_digraph_draws_one_arrow_per_edge_and_dashes_mostly_negative():
    e = interest_edges(comments())
    fig = interest_digraph(e)
    arrows = [p for p in fig.axes[0].patches if p.get_gid() == "cx-interest"]
    assert len(arrows) == len(e)
    dashed = sum(1 for p in arrows if p.get_linestyle() not in ("-", "solid"))
    assert dashed == int((e["negative"] * 2 > e["comments"]).sum()) == 2  # user->delivery, decider->delivery
    labels = {t.get_text() for t in fig.axes[0].texts}
    assert {"decider", "user", "buyer", "price", "delivery", "support"} <= labels
    assert interest_digraph(e.iloc[:0]) is None


def test_account_page_shows_the_digraph():
    from cxinfluence.present.plots import figure_to_data_uri

    uri = figure_to_data_uri(interest_digraph(interest_edges(comments())))
    page = account_page("A1", interest_map=uri)
    assert "What each party cares about" in page and uri in page and "Which topics each role raised" in page
