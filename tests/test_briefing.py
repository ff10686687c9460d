"""The report's first screen: distinguishing reasons, action accounts, money, empty charts (issue 16)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from cxinfluence.present.briefing import DISTINCT_SHARE, action_accounts, money, money_at_risk_chart, reason_table
from cxinfluence.exceptions import PlotDataError
from cxinfluence.present.plots import drawn_marks


def portfolio(n=300, seed=5):
    rng = np.random.default_rng(seed)
    risk = pd.DataFrame({"account_id": [f"A{i:03d}" for i in range(n)],
                         "annual_revenue": rng.lognormal(14, 1, n),
                         "risk_unheard_veto": rng.uniform(size=n) < 0.67,  # 201 of 300 in the sample village
                         "risk_unhappy_veto": rng.uniform(size=n) < 0.15})
    p = 0.9 - 0.25 * risk["risk_unhappy_veto"] + 0.02 * risk["risk_unheard_veto"] + rng.normal(0, 0.03, n)
    risk["p_renew"] = p.clip(0.01, 0.99)
    risk["revenue_at_risk"] = risk["annual_revenue"] * (1 - risk["p_renew"])
    return risk


def test_reason_table_matches_a_groupby_by_hand():
    risk = portfolio()
    t = reason_table(risk).set_index("reason")
    for reason in ("unheard_veto", "unhappy_veto"):
        flag = risk[f"risk_{reason}"]
        means = risk.groupby(flag)["p_renew"].mean()
        assert t.loc[reason, "gap_points"] == pytest.approx(100 * (means[False] - means[True]))
        assert t.loc[reason, "accounts"] == flag.sum() and t.loc[reason, "share"] == pytest.approx(flag.mean())
        assert t.loc[reason, "revenue_explained"] == pytest.approx(
            (means[False] - means[True]) * risk.loc[flag, "annual_revenue"].sum())
    assert t.loc["unheard_veto", "share"] > DISTINCT_SHARE and not t.loc["unheard_veto", "distinguishing"]
    assert t.loc["unhappy_veto", "distinguishing"]


def test_a_reason_most_accounts_share_is_never_an_accounts_reason():
    risk = portfolio()
    now = action_accounts(risk, 10, currency="$")
    assert len(now) == 10 and now["account_id"].tolist() == risk.nlargest(10, "revenue_at_risk")["account_id"].tolist()
    assert "unheard_veto" not in set(now["reason"])
    assert set(now["reason"]) <= {"unhappy_veto", "low_renewal", "large_account"}
    flagged = now[now["reason"] == "unhappy_veto"]
    assert risk.set_index("account_id").loc[flagged["account_id"], "risk_unhappy_veto"].all()
    assert all(";" not in w for w in now["why"])  # one reason each
    assert action_accounts(risk.assign(revenue_at_risk=np.nan)).empty


def test_money_formats_with_and_without_a_currency():
    assert money(1609806.7636627592) == "1.61M" and money(1609806.76, "€") == "€1.61M"
    assert money(21_331_033, "EUR") == "EUR 21.3M" and money(None) == "n/a" and money(12.4, "$") == "$12"


def test_a_chart_that_draws_nothing_is_an_error():
    # notebook 03's blank chart: every hue label NaN, so no point drawn, while the title said n = 300
    fig, ax = plt.subplots()
    ax.scatter(np.full(300, np.nan), np.zeros(300))
    ax.axvline(0)
    ax.set_title("n = 300")
    assert drawn_marks(fig) == 0
    plt.close(fig)
    with pytest.raises(PlotDataError, match="no account has both"):
        money_at_risk_chart(portfolio().assign(p_renew=np.nan), [])
    ax = money_at_risk_chart(portfolio(), ["A001", "A002"], currency="$")
    assert drawn_marks(ax.figure) == 300 and ax.get_title(loc="left").endswith("?")
    assert ax.get_ylabel() == "Annual revenue ($)"
    plt.close(ax.figure)
