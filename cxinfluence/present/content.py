"""Assemble the leadership report's content from a run's results.

Every sentence here is built from computed numbers (models, comparison,
coverage, risk); :mod:`cxinfluence.present.report` only renders.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .report import ReportContent, render_report

PRIMARY = "influence_weighted"
#: Accounts drawn on the report's portfolio view (the largest by revenue): an
#: inline SVG of every account of a 100k portfolio would weigh tens of MB.
PORTFOLIO_MAX = 2000


def _pct(x):
    return f"{100 * x:.0f}%"


def _money(x):
    return f"{x:,.0f}"


def risk_sentences(risk: pd.DataFrame, top=10) -> list:
    """Where the revenue at risk sits, in words."""
    r = risk.dropna(subset=["revenue_at_risk"])
    if r.empty:
        return ["Revenue at risk could not be computed: the renewal model gave no predictions."]
    total = r["revenue_at_risk"].sum()
    head = r.head(top)
    out = [f"{_money(total)} of annual revenue is at risk across {len(r)} accounts (revenue times the model's "
           f"chance of not renewing); the {len(head)} riskiest accounts carry "
           f"{_pct(head['revenue_at_risk'].sum() / total)} of it."]
    flagged = head[head["reasons"] != ""]
    if len(flagged):
        counts = pd.Series([x for rs in flagged["reasons"] for x in rs.split("; ")]).value_counts()
        out.append(f"Among the {len(head)} riskiest accounts, the most common warning signs are: "
                   + ", ".join(f"{k} ({v})" for k, v in counts.head(3).items()) + ".")
    return out


def coverage_sentences(coverage: pd.DataFrame, window_days) -> list:
    """Coverage gaps in words."""
    c = coverage
    heard = c["heard_influence"].dropna()
    out = [f"In the last {window_days} days we heard from people holding a median {_pct(heard.median())} of their "
           f"account's influence; {int((heard < 0.5).sum())} of {len(heard)} accounts are below half."]
    n_veto = int((c["unheard_veto"] > 0).sum())
    out.append(f"{n_veto} accounts have at least one veto holder we have not heard from recently.")
    if "single_threaded" in c:
        out.append(f"{int(c['single_threaded'].fillna(False).astype(bool).sum())} accounts are single-threaded: "
                   "one contact carries the relationship.")
    if "key_influencer_departed" in c:
        out.append(f"In {int(c['key_influencer_departed'].fillna(False).astype(bool).sum())} accounts a key "
                   "influencer has left.")
    return out


def action_sentences(actions: pd.DataFrame) -> list:
    """What customers say, and who should act, in words."""
    if actions is None or actions.empty:
        return ["No informal comments were captured in the recent window."]
    group = "owner_group" if "owner_group" in actions else "owning_group"
    counts = actions[group].value_counts()
    return [f"{len(actions)} recent informal comments were routed to the groups that can act: "
            + ", ".join(f"{k} ({v})" for k, v in counts.head(5).items()) + "."]


def _se_used(fits, prefix) -> str:
    """The standard errors the fits named ``prefix...`` used, in words (from the fits, not assumed)."""
    from ..models.diagnostics import se_description

    used = list(dict.fromkeys(se_description(f) for name, f in fits.items() if name.startswith(prefix)))
    return " / ".join(used) if used else "not computed (no such model was fitted)"


def methods(result, window_days, lead_days) -> list:
    frame = result.tables.get("model_frame")
    fitted = (f"{len(frame)} account-periods, {frame['account_id'].nunique()} accounts" if frame is not None
              else "no model frame on this data")
    return [
        ("Data and as-of date",
         f"Snapshot as of {result.as_of:%Y-%m-%d}. Feedback counts only if dated in the {window_days} days before "
         f"the as-of date (or before each outcome's period end{'' if not lead_days else f' minus {lead_days} days'}), "
         "and only from people still in the account then: nothing measured after an outcome explains it."),
        ("Influence",
         "Each person's influence blends PageRank on the account's reports-to and influence ties (influence flows "
         "toward managers and toward people who influence others; Brin & Page 1998; Ronchetto, Hutt & Reingen "
         "1989), a prior by buying-center role (Webster & Wind 1972) and the account team's rating; it sums to 1 "
         "within each account."),
        ("Sentiment",
         "NPS, CSAT, CES, NetEasy, trust and feeling cared-for are put on one -1 to +1 scale (percent of maximum "
         "possible; CES and NetEasy reversed). Account schemes side by side: plain mean (the 'averages and bar "
         "charts' baseline), role-weighted, influence-weighted (unheard influence imputed, not dropped), veto "
         "floor (an unhappy veto holder caps the score), nested person-role-account, and empirical-Bayes shrinkage "
         "for accounts with few respondents. Intervals use the between-stakeholder variance."),
        ("Models",
         f"Logistic regression of renewal on each scheme plus account size and segment "
         f"({fitted}; standard errors "
         f"{_se_used(result.fits, 'rebuy:')}). Bookings: Tweedie GLM with log link (zeros allowed; standard errors "
         f"{_se_used(result.fits, 'bookings')}). The buying decision equation enters each role's sentiment separately "
         "with indicators for roles not heard. Schemes are compared on held-out accounts (grouped 5-fold "
         "cross-validation, bootstrap intervals over accounts)."),
    ]


def caveats(result) -> list:
    out = []
    for name, fit in result.fits.items():
        if not fit.reliable:
            out.append(f"Model {name} is flagged unreliable: {'; '.join(fit.warnings)}.")
    out.append("Associations, not proof of cause: sentiment and renewal may share causes the data do not record.")
    return out


def _figures(result, comparison):
    import matplotlib

    matplotlib.use("Agg")
    from . import plots
    from .plots import figure_to_data_uri

    t, fits = result.tables, result.fits
    figs = {}

    def add(name, ax, caption):
        figs[name] = (figure_to_data_uri(ax.figure, close=True), caption)

    risk = t["accounts_at_risk"].dropna(subset=["revenue_at_risk"])
    if len(risk):
        add("pareto", plots.revenue_at_risk_pareto(risk, ci_low="revenue_at_risk_low", ci_high="revenue_at_risk_high"),
            "Revenue at risk by account, with the cumulative share.")
    eq = fits.get("decision_equation")
    if eq is not None:
        tidy = eq.tidy()
        roles = tidy[tidy["term"].str.startswith(("sent_", "unheard_"))]  # the equation, not its controls
        add("forest", plots.forest_plot(roles, title="What each role's sentiment is worth (log-odds of renewal)"),
            "Buying decision equation: effect of each role's sentiment on the log-odds of renewal, 95% intervals.")
    fit = fits.get(f"rebuy:{PRIMARY}")
    if fit is not None:
        from ..models.predict import renewal_curve_table

        add("renewal_curve", plots.renewal_curve(renewal_curve_table(fit, PRIMARY)),
            "Predicted renewal of a typical account by influence-weighted sentiment, 95% band.")
    if comparison is not None:
        table = comparison.table.assign(score=comparison.table["auc"])
        if "auc_diff_low" in table:
            table = table.assign(ci_low=table["auc"] - table["auc_diff"] + table["auc_diff_low"],
                                 ci_high=table["auc"] - table["auc_diff"] + table["auc_diff_high"])
        else:
            table = table.assign(ci_low=np.nan, ci_high=np.nan)
        add("schemes", plots.scheme_comparison(table, xlabel="Held-out AUC (interval: bootstrap vs the mean's)"),
            "Held-out AUC of each scheme; intervals from the bootstrap of the difference to the plain mean.")
    frame = t.get("model_frame")
    if frame is not None and frame[["mean", PRIMARY]].notna().all(axis=1).any():
        add("scatter", plots.sentiment_scatter(frame.dropna(subset=["mean", PRIMARY])),
            "Each point an account-period: plain mean against influence-weighted sentiment, coloured by renewal.")
    if t.get("coverage") is not None and t["coverage"]["heard_influence"].notna().any():
        add("coverage", plots.coverage_chart(t["coverage"]),
            "Share of each account's influence heard recently, least covered first.")
    return figs


def _sensitivity_text(table):
    from ..models.sensitivity import sensitivity_sentence

    return sensitivity_sentence(table) if table is not None else ""


def build_report(village, result, map_entries, *, anonymized=False, window_days=365, lead_days=0) -> str:
    """The report HTML for a :class:`cxinfluence.pipeline.runner.RunResult`."""
    from ..models.findings import comparison_findings, decision_findings, rebuy_findings, bookings_findings
    from .maps import portfolio_map
    from .summary import village_overview

    t, fits = result.tables, result.fits
    comparison = t.get("comparison_object")
    headlines = risk_sentences(t["accounts_at_risk"])
    if f"rebuy:{PRIMARY}" in fits:
        headlines += rebuy_findings(fits[f"rebuy:{PRIMARY}"])["sentence"].tolist()
    if t.get("measurement_correction") is not None:
        from ..models.measurement import correction_sentence

        headlines += [s for s in [correction_sentence(t["measurement_correction"])] if s]
    if "veto_equation" in fits:
        headlines += decision_findings(fits["veto_equation"])["sentence"].tolist()[:1]
    if "bookings:tweedie" in fits:
        headlines += bookings_findings(fits["bookings:tweedie"])["sentence"].tolist()[:1]
    comparison_text = comparison_findings(comparison)["sentence"].tolist() if comparison is not None else []
    equation = decision_findings(fits["decision_equation"])["sentence"].tolist() if "decision_equation" in fits else []
    risk = t["accounts_at_risk"]
    placed = risk.dropna(subset=["annual_revenue"])
    title = "Where the money at risk sits"
    if len(placed) > PORTFOLIO_MAX:
        title += f" (the {PORTFOLIO_MAX:,} largest of {len(placed):,} accounts by revenue)"
        placed = placed.nlargest(PORTFOLIO_MAX, "annual_revenue")
    portfolio = portfolio_map(placed, x="sentiment", y="annual_revenue", title=title,
                              size="revenue_at_risk" if risk["revenue_at_risk"].notna().any() else None,
                              label="account_id", tooltip=[c for c in ("name", "reasons") if c in risk]
                              ) if len(placed) else None  # no account has a revenue to place it by
    listening = t["listening_plan"]
    content = ReportContent(
        title="Who decides whether our accounts rebuy",
        as_of=result.as_of,
        overview=village_overview(village),
        headlines=headlines + comparison_text[:1],
        risk=risk,
        equation_sentences=equation,
        comparison_sentences=comparison_text,
        sensitivity=_sensitivity_text(t.get("influence_sensitivity")),
        coverage_sentences=coverage_sentences(t["coverage"], window_days),
        listening=listening.merge(risk[["account_id", "revenue_at_risk"]], on="account_id", how="left")
        .sort_values(["revenue_at_risk", "rank"], ascending=[False, True]) if len(listening) else listening,
        actions=t.get("actions"),
        action_sentences=action_sentences(t.get("actions")),
        figures=_figures(result, comparison),
        portfolio_svg=portfolio,
        maps=map_entries,
        methods=methods(result, window_days, lead_days),
        caveats=caveats(result),
        anonymized=anonymized,
        skipped=result.skip_lines() if hasattr(result, "skip_lines") else [],
    )
    return render_report(content)
