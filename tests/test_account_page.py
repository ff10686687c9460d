"""Account pages (issue 16): sections, numbers against the tables they come from, escaping."""

import numpy as np
import pandas as pd

from cxinfluence.present.account_page import account_page

HOSTILE = "<img src=x onerror=alert(1)> \u202eevil"


def inputs():
    snapshot = pd.DataFrame({"account_id": ["A1", "A2", "A3"], "mean": [0.1, 0.5, 0.3],
                             "mean_ci_low": [-0.1, 0.3, 0.1], "mean_ci_high": [0.3, 0.7, 0.5],
                             "influence_weighted": [-0.2, 0.4, 0.6], "influence_weighted_ci_low": [-0.5, 0.2, 0.4],
                             "influence_weighted_ci_high": [0.1, 0.6, 0.8]})
    people = pd.DataFrame({"account_id": "A1", "stakeholder_id": ["p1", "p2", "p3"],
                           "role": ["decider", "user", "user"], "sentiment": [-0.5, 0.2, np.nan],
                           "influence": [0.6, 0.3, 0.1]})
    actions = pd.DataFrame({"account_id": ["A1", "A2"], "date": pd.to_datetime(["2025-06-01", "2025-06-02"]),
                            "level": ["high", "low"], "role": ["decider", "user"], "themes": ["delivery;quality", "x"],
                            "owning_group": ["logistics;quality", "y"], "comment": [HOSTILE, "other account"]})
    moved = pd.DataFrame({"stakeholder_id": ["p1", "p4", "p5"], "from_date": pd.Timestamp("2024-06-30"),
                          "account_id": "A1", "role": ["decider", "gatekeeper", "user"], "veto": [True, True, False],
                          "sentiment_from": [0.4, 0.1, np.nan], "sentiment_to": [-0.5, np.nan, 0.2],
                          "change": [-0.9, np.nan, np.nan], "status": ["moved", "gone quiet", "joined"],
                          "influence": [0.6, 0.1, 0.1]})
    return dict(snapshot=snapshot, people=people, actions=actions, moved=moved,
                names={"p1": "Pat Plant", "p4": "Gia Gate", "p5": HOSTILE})


def test_sections_numbers_and_escaping():
    d = inputs()
    page = account_page("A1", account=pd.Series({"name": HOSTILE, "annual_revenue": 2e6, "owner": "Olga"}),
                        why="unhappy veto holder (accounts with one are predicted to renew 13 points less often)",
                        currency="€", **d)
    for heading in ("Why it needs attention", "How the account feels, by scoring scheme", "By role",
                    "What changed since 2024-06-30", "Latest comments and who acts on them"):
        assert heading in page
    # the account's score and interval, beside the portfolio median computed independently
    med = float(np.median([-0.2, 0.4, 0.6]))
    assert "<td>Influence-weighted</td><td>-0.20</td><td>-0.50 to +0.10</td><td>+0.40</td>" in page
    assert med == 0.4
    # by role: two users, one heard, 40% of the influence, mean sentiment of those heard
    assert "<td>user</td><td class=\"num\">2</td><td class=\"num\">1</td><td class=\"num\">40%</td><td>+0.20</td>" in page
    assert "Veto holders who went quiet" in page and "Gia Gate (gatekeeper)" in page
    assert "€2M" in page and "other account" not in page and "delivery, quality" in page
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt; evil" in page and "\u202e" not in page
    assert "script-src 'none'" in page  # no map: no script may run


def test_an_account_nobody_was_heard_in_says_so():
    page = account_page("A9", snapshot=inputs()["snapshot"], window_days=180)
    assert "Nobody in this account was heard in the 180 days" in page


def test_who_moved_per_stakeholder_with_computed_influence():
    """The account page's "what changed" runs who_moved without an influence table (fixed: it crashed)."""
    from cxinfluence.sentiment.breakdowns import who_moved
    from cxinfluence.network.influence import influence_weights
    from cxinfluence.village.synth import make_village

    village, _ = make_village(8, seed=2)
    end = village.responses["date"].max().normalize()
    m = who_moved(village, end - pd.Timedelta(days=365), end, level="stakeholder", window_days=365)
    w = influence_weights(village, end).set_index("stakeholder_id")["influence"]
    live = m[m["status"] != "left"].set_index("stakeholder_id")["influence"]
    assert len(live) and np.allclose(live, w.reindex(live.index))


def test_what_each_party_cares_about_by_hand():
    from cxinfluence.present.account_page import interests

    r = pd.DataFrame({"role": ["user", "user", "user", "decider"], "journey_stage": ["renewal"] * 3 + ["decision"],
                      "sentiment": [0.5, -0.1, np.nan, -0.4]})
    c = pd.DataFrame({"role": ["user", "decider", "decider", "user"], "themes": ["delivery", "price;delivery", "",
                                                                                   "<b>x</b>"],
                      "comment_sentiment": [-0.5, -0.6, 0.4, 0.0]})
    stages, themes = interests(r, c)
    assert stages.set_index("role").loc["user", "renewal"] == "+0.20 (n=2)"  # mean of 0.5 and -0.1; NaN not heard
    assert themes.set_index("role").loc["decider", "delivery"] == "1 (1 negative)"
    page = account_page("A1", interest=(stages, themes))
    assert "What each party cares about" in page and "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
