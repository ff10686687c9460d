"""The report's first screen: what a leadership team reads in five minutes.

* :func:`headline_findings`: at most five findings in plain words, effects in
  renewal points and money (never log-odds, never a column name);
* :func:`reason_table` and :func:`action_accounts`: the accounts that need
  action this quarter, each with ONE reason that sets it apart from the
  portfolio. A warning sign carried by a third of the accounts or more, or
  whose accounts are not predicted to renew less often than the rest, tells
  no account apart and is never given as the reason;
* :func:`money` formats amounts (``currency`` configurable, default none);
* :func:`money_at_risk_chart` and :func:`role_effects_chart`: the two
  evidence charts a leader asks about, each titled with its question.

Every number is computed from the run's tables and fits; nothing is typed in.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..exceptions import PlotDataError
from ..models.findings import GROUPS, LABELS, bookings_findings, decision_findings, rebuy_findings
from ..models.risk import REASON_TEXT
from ..village.safetext import money  # noqa: F401 - part of the briefing API
from .plots import FIGSIZE, drawn_marks, forest_plot

_MODELS = {"decision_equation": "buying decision equation", "veto_equation": "veto-holder decision equation",
           "bookings:tweedie": "bookings model"}

__all__ = [
    "DISTINCT_SHARE",
    "MAX_HEADLINES",
    "MIN_GAP_POINTS",
    "action_accounts",
    "headline_findings",
    "money",
    "money_at_risk_chart",
    "reason_table",
    "role_effects_chart",
]

MAX_HEADLINES = 5
#: A warning sign carried by more than this share of accounts does not tell an account apart.
DISTINCT_SHARE = 1 / 3
#: ... nor one whose accounts are predicted to renew less than this many points less often than the rest.
MIN_GAP_POINTS = 2.0


def model_label(name: str) -> str:
    """A fitted model's name in words.

    Examples
    --------
    >>> model_label("rebuy:role_weighted"), model_label("veto_equation")
    ('renewal model on role-weighted sentiment', 'veto-holder decision equation')
    """
    name = str(name)
    if name in _MODELS:
        return _MODELS[name]
    if name.startswith("rebuy:"):
        scheme = name.split(":", 1)[1]
        return f"renewal model on {LABELS.get(scheme, scheme.replace('_', ' '))}"
    if name.startswith("bookings:"):
        return "bookings model"
    return name.replace("_", " ")


def in_words(text: str, names) -> str:
    """``text`` with each model name in ``names`` replaced by :func:`model_label`, longest first.

    Examples
    --------
    >>> in_words("rebuy:nested: too few events", ["rebuy:nested"])
    'renewal model on nested (person-role-account) sentiment: too few events'
    """
    for n in sorted(map(str, names), key=len, reverse=True):
        text = text.replace(n, model_label(n))
    return text


def reason_table(risk: pd.DataFrame) -> pd.DataFrame:
    """How much each warning sign separates accounts, and whether it tells an account apart.

    Parameters
    ----------
    risk : DataFrame
        From :func:`cxinfluence.models.risk.accounts_at_risk`: ``risk_<reason>``
        booleans, ``p_renew`` and ``annual_revenue``.

    Returns
    -------
    DataFrame
        One row per reason, most telling first: ``reason, text, accounts,
        share, renew_flagged, renew_other, gap_points`` (how many points less
        often flagged accounts are predicted to renew), ``revenue_explained``
        (gap times the flagged accounts' revenue: the revenue at risk the sign
        accounts for) and ``distinguishing`` (carried by at most
        ``DISTINCT_SHARE`` of the accounts and a gap of at least
        ``MIN_GAP_POINTS``). Ranked by ``revenue_explained``.

    Examples
    --------
    >>> risk = pd.DataFrame({"risk_unhappy_veto": [True, False, False, False],
    ...                      "risk_unheard_veto": [True, True, True, False],
    ...                      "p_renew": [0.5, 0.9, 0.9, 0.8], "annual_revenue": [100.0, 100.0, 50.0, 10.0]})
    >>> t = reason_table(risk)
    >>> t[["reason", "share", "gap_points", "revenue_explained", "distinguishing"]].round(2).values.tolist()
    [['unhappy_veto', 0.25, 36.67, 36.67, True], ['unheard_veto', 0.75, 3.33, 8.33, False]]
    """
    cols = [c for c in risk.columns if c.startswith("risk_")]
    p = pd.to_numeric(risk.get("p_renew"), errors="coerce") if "p_renew" in risk else pd.Series(np.nan, risk.index)
    revenue = pd.to_numeric(risk.get("annual_revenue", pd.Series(np.nan, risk.index)), errors="coerce")
    rows = []
    for c in cols:
        flag = risk[c].fillna(False).astype(bool)
        reason = c[len("risk_"):]
        inside, outside = p[flag].mean(), p[~flag].mean()
        gap = 100 * (outside - inside) if flag.any() and (~flag).any() else np.nan
        rows.append({"reason": reason, "text": REASON_TEXT.get(reason, reason.replace("_", " ")),
                     "accounts": int(flag.sum()), "share": float(flag.mean()) if len(flag) else np.nan,
                     "renew_flagged": inside, "renew_other": outside, "gap_points": gap,
                     "revenue_explained": gap / 100 * revenue[flag].sum() if np.isfinite(gap) else np.nan})
    out = pd.DataFrame(rows, columns=["reason", "text", "accounts", "share", "renew_flagged", "renew_other",
                                      "gap_points", "revenue_explained"])
    out["distinguishing"] = (out["share"] <= DISTINCT_SHARE) & (out["gap_points"] >= MIN_GAP_POINTS)
    return out.sort_values("revenue_explained", ascending=False, na_position="last", kind="stable") \
        .reset_index(drop=True)


def _percentile(series: pd.Series, value) -> float:
    s = pd.to_numeric(series, errors="coerce").dropna()
    return float((s <= value).mean()) if len(s) and pd.notna(value) else np.nan


def action_accounts(risk: pd.DataFrame, n: int = 10, *, currency: str | None = None, accounts=None) -> pd.DataFrame:
    """The ``n`` accounts with most revenue at risk, each with one reason that sets it apart.

    ``accounts`` (a list of ids) gives the reason of exactly those accounts instead.

    The reason is the account's distinguishing warning sign (see
    :func:`reason_table`) that explains most renewal chance; an account with
    none is set apart by what makes its revenue at risk large: a renewal
    chance in the portfolio's lowest quarter, or else its size.

    Returns
    -------
    DataFrame
        ``account_id, name, annual_revenue, p_renew, revenue_at_risk, reason,
        why`` (``why`` in words), riskiest first. The input is not modified.

    Examples
    --------
    >>> risk = pd.DataFrame({"account_id": ["A", "B", "C", "D"],
    ...     "risk_unhappy_veto": [True, False, False, False], "risk_unheard_veto": [True, True, True, False],
    ...     "p_renew": [0.5, 0.9, 0.45, 0.95], "annual_revenue": [100.0, 1000.0, 50.0, 10.0]})
    >>> risk["revenue_at_risk"] = risk["annual_revenue"] * (1 - risk["p_renew"])
    >>> for r in action_accounts(risk, 3, currency="$").itertuples(): print(r.account_id, "|", r.why)
    B | the largest account by revenue ($1k a year)
    A | unhappy veto holder (accounts with one are predicted to renew 27 points less often)
    C | renewal chance 45%, in the lowest quarter of the portfolio
    """
    if "revenue_at_risk" not in risk or risk["revenue_at_risk"].notna().sum() == 0:
        return pd.DataFrame(columns=["account_id", "name", "annual_revenue", "p_renew", "revenue_at_risk", "reason",
                                     "why"])
    reasons = reason_table(risk)
    useful = reasons[reasons["distinguishing"]]
    top = risk.dropna(subset=["revenue_at_risk"])
    if accounts is not None:
        top = top[top["account_id"].astype(str).isin([str(a) for a in accounts])]
    else:
        top = top.nlargest(n, "revenue_at_risk", keep="first")
    out = []
    for _, row in top.iterrows():
        reason, why = None, None
        for r in useful.sort_values("gap_points", ascending=False).itertuples():
            if bool(row.get(f"risk_{r.reason}", False)):
                reason = r.reason
                why = (f"{r.text} (accounts with one are predicted to renew {r.gap_points:.0f} points less often)"
                       if r.reason != "negative_sentiment" else
                       f"{r.text} (such accounts are predicted to renew {r.gap_points:.0f} points less often)")
                break
        if reason is None:
            p_rank = _percentile(risk["p_renew"], row.get("p_renew"))
            if p_rank <= 0.25:
                reason, why = "low_renewal", (f"renewal chance {row['p_renew']:.0%}, in the lowest quarter of the "
                                              "portfolio")
            else:
                revenue = pd.to_numeric(risk.get("annual_revenue", pd.Series(dtype=float)), errors="coerce").dropna()
                amount = money(row.get("annual_revenue"), currency)
                place = int((revenue > row.get("annual_revenue")).sum()) + 1
                if place <= 10:
                    nth = "" if place == 1 else {2: "2nd ", 3: "3rd "}.get(place, f"{place}th ")
                    why = f"the {nth}largest account by revenue ({amount} a year)"
                else:
                    share = int(np.floor(100 * float((revenue < row.get("annual_revenue")).mean())))
                    why = f"large account: {amount} a year, more revenue than {share}% of accounts"
                reason = "large_account"
        out.append({"account_id": row["account_id"], "name": row.get("name"),
                    "annual_revenue": row.get("annual_revenue"), "p_renew": row.get("p_renew"),
                    "revenue_at_risk": row["revenue_at_risk"], "reason": reason, "why": why})
    return pd.DataFrame(out)


def headline_findings(result, *, window_days: int = 365, currency: str | None = None,
                      n_actions: int = 10) -> list:
    """At most five findings in plain words, from a :class:`cxinfluence.pipeline.runner.RunResult`.

    In order: the money at risk and how concentrated it is; what sentiment is
    worth in renewal points; what an unhappy veto holder costs; what
    sentiment is worth in bookings; the veto holders nobody has heard from.
    A finding whose model was not fitted is left out, never invented.
    """
    t, fits = result.tables, result.fits
    out = []
    risk = t.get("accounts_at_risk")
    if risk is not None and risk["revenue_at_risk"].notna().any():
        r = risk.dropna(subset=["revenue_at_risk"])
        total = r["revenue_at_risk"].sum()
        top = r.nlargest(n_actions, "revenue_at_risk")
        out.append(f"{money(total, currency)} of annual revenue is at risk: revenue times each account's predicted "
                   f"chance of not renewing. The {len(top)} accounts listed below hold "
                   f"{top['revenue_at_risk'].sum() / total:.0%} of it.")
    if "rebuy:influence_weighted" in fits:
        out += rebuy_findings(fits["rebuy:influence_weighted"])["sentence"].tolist()[:1]
    if "veto_equation" in fits:
        out += decision_findings(fits["veto_equation"])["sentence"].tolist()[:1]
    if "bookings:tweedie" in fits:
        out += bookings_findings(fits["bookings:tweedie"])["sentence"].tolist()[:1]
    out = [_plain_caution(s) for s in out]
    cov = t.get("coverage")
    if cov is not None and "unheard_veto" in cov and len(cov):
        n = int((cov["unheard_veto"].fillna(0) > 0).sum())
        if n:
            out.append(f"In {n} of {len(cov)} accounts at least one veto holder has not been heard from in the "
                       f"last {window_days} days: the listening plan below says whom to ask first.")
    return out[:MAX_HEADLINES]


def _plain_caution(sentence: str) -> str:
    """A finding's "Unreliable estimate (<statistical reasons>): " prefix in plain words (reasons in the appendix).

    Examples
    --------
    >>> _plain_caution("Unreliable estimate (too few events (3 < 10); separation): Each 0.1 higher ...")
    'Treat with caution, the data are thin (see the appendix): each 0.1 higher ...'
    >>> _plain_caution("Each 0.1 higher ...")
    'Each 0.1 higher ...'
    """
    head = "Unreliable estimate ("
    if not sentence.startswith(head):
        return sentence
    depth, i = 1, len(head)
    while i < len(sentence) and depth:
        depth += {"(": 1, ")": -1}.get(sentence[i], 0)
        i += 1
    rest = sentence[i:].removeprefix(": ")
    return "Treat with caution, the data are thin (see the appendix): " + rest[:1].lower() + rest[1:]


def _assert_drawn(ax, what):
    if drawn_marks(ax.figure) == 0:
        raise PlotDataError(f"{what}: the chart draws no data; refusing to show an empty picture.")
    return ax


def money_at_risk_chart(risk: pd.DataFrame, highlight, *, currency: str | None = None, label: str = "account_id"):
    """Scatter of every account: renewal chance against annual revenue, the accounts needing action set apart.

    Accounts needing action (``highlight``: their ids) are solid black
    squares with their names; the rest hollow grey circles, so the two read
    apart in black and white. Revenue at risk grows up and to the left.

    Raises
    ------
    PlotDataError
        When no account has both a renewal chance and a revenue.
    """
    import matplotlib.pyplot as plt

    df = risk.assign(_p=pd.to_numeric(risk["p_renew"], errors="coerce"),
                     _r=pd.to_numeric(risk["annual_revenue"], errors="coerce")).dropna(subset=["_p", "_r"])
    if df.empty:
        raise PlotDataError("money_at_risk_chart: no account has both a predicted renewal chance and a revenue.")
    hot = df[label].astype(str).isin([str(h) for h in highlight])
    _fig, ax = plt.subplots(figsize=FIGSIZE)
    rest = df[~hot]
    ax.scatter(100 * rest["_p"], rest["_r"], s=28, facecolors="none", edgecolors="#888888", linewidths=0.9,
               label=f"other accounts ({len(rest)})")
    act = df[hot]
    ax.scatter(100 * act["_p"], act["_r"], s=46, marker="s", color="#111111",
               label=f"needing action this quarter ({len(act)})")
    for _, r in act.iterrows():
        ax.annotate(str(r[label]), (100 * r["_p"], r["_r"]), xytext=(5, 3), textcoords="offset points", fontsize=9)
    ax.set_xlabel("Predicted chance of renewing (%)")
    unit = f" ({currency})" if currency else ""
    ax.set_ylabel(f"Annual revenue{unit}")
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _p: money(v, None)))
    ax.set_title("Which accounts hold the money at risk?", fontsize=13, loc="left")
    ax.grid(color="#eeeeee")
    ax.legend(loc="upper left", fontsize=9, frameon=False)
    return _assert_drawn(ax, "money_at_risk_chart")


def role_effects_chart(fit):
    """Forest plot of the decision equation in renewal points: detractors against promoters, per role."""
    f = decision_findings(fit).dropna(subset=["estimate"])
    if f.empty:
        raise PlotDataError("role_effects_chart: the decision equation estimated no role's effect.")
    roles = fit.effects.set_index("term")["role"] if "role" in fit.effects else pd.Series(dtype=object)
    f = f.assign(term=[GROUPS.get(roles.get(t), str(roles.get(t, t))).capitalize() for t in f["term"]])
    ax = forest_plot(f, title="How much does each role's mood move renewal?",
                     xlabel="Renewal chance, promoters minus detractors (percentage points, 95% interval)")
    return _assert_drawn(ax, "role_effects_chart")
