"""Assemble the leadership report's content from a run's results.

Every sentence here is built from computed numbers (models, comparison,
coverage, risk); :mod:`cxinfluence.present.report` only renders.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..exceptions import PlotDataError
from ..models.diagnostics import se_description
from ..models.findings import LABELS, comparison_findings, decision_findings
from ..models.measurement import correction_sentence
from ..models.predict import renewal_curve_table
from ..models.sensitivity import sensitivity_sentence
from ..sentiment.schemes import PRIMARY_SCHEME as PRIMARY
from . import plots
from .briefing import (
    action_accounts,
    headline_findings,
    in_words,
    model_label,
    money,
    money_at_risk_chart,
    reason_table,
    role_effects_chart,
)
from .changes import change_highlights, change_sentences
from .plots import drawn_marks, figure_to_data_uri
from .report import RISK_SHOWN, ReportContent, render_report
from .shownrows import gathered, shown_actions, top_rows
from .summary import village_overview
from .workers import MIN_SPARE_CORES, finish_worker, has_kept_worker, spare_cores, start_worker

#: Accounts drawn on the report's portfolio view (the largest by revenue): an
#: inline SVG of every account of a 100k portfolio would weigh tens of MB.
PORTFOLIO_MAX = 2000
#: the listening plan's conversations the report lists (the full plan is listening_plan.csv)
LISTENING_SHOWN = 6


def _pct(x):
    return f"{100 * x:.0f}%"


def _shown_risk(risk, currency):
    """The accounts at risk the report lists (:data:`RISK_SHOWN`), their amounts as text: formatting every
    account's (200,000 amounts at 100,000 accounts) cost a third of a second for fifteen rows."""
    shown = risk.head(RISK_SHOWN)
    return shown.assign(revenue_at_risk_text=shown["revenue_at_risk"].map(lambda x: money(x, currency)),
                        annual_revenue_text=shown["annual_revenue"].map(lambda x: money(x, currency))
                        if "annual_revenue" in shown else "")


def _money(x):
    return f"{x:,.0f}"


def risk_sentences(risk: pd.DataFrame, top=10, currency=None) -> list:
    """Where the revenue at risk sits, in words."""
    r = risk.dropna(subset=["revenue_at_risk"])
    if r.empty:
        return ["Revenue at risk could not be computed: the renewal model gave no predictions."]
    total = r["revenue_at_risk"].sum()
    head = r.head(top)
    return [f"{money(total, currency)} of annual revenue is at risk across {len(r)} accounts (revenue times the "
            f"model's chance of not renewing); the {len(head)} riskiest accounts carry "
            f"{_pct(head['revenue_at_risk'].sum() / total)} of it."]


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


def routed_counts(groups: pd.Series) -> pd.Series:
    """How many comments went to each group, most first.

    Each distinct ``;``-joined list is split once and counted as often as it
    occurs, the groups in the order they first appear, so the counts and
    their order are those of splitting every row:
    ``groups.fillna("").astype(str).str.split(";").explode()``, blanks
    dropped, ``.value_counts()``.

    Examples
    --------
    >>> routed_counts(pd.Series(["sales;service", "service", None])).to_dict()
    {'service': 2, 'sales': 1}
    """
    codes, lists = pd.factorize(groups.fillna("").astype(str))
    per_list = np.bincount(codes[codes >= 0], minlength=len(lists))
    names, times = [], []
    for text, n in zip(lists, per_list):
        for name in str(text).split(";"):
            if name != "":
                names.append(name)
                times.append(n)
    return pd.Series(np.repeat(np.array(names, dtype=object), times), dtype=groups.dtype if len(names) else object,
                     name=groups.name).value_counts()


def action_sentences(actions: pd.DataFrame) -> list:
    """What customers say, and who should act, in words."""
    if actions is None or actions.empty:
        return ["No informal comments were captured in the recent window."]
    group = "owner_group" if "owner_group" in actions else "owning_group"
    counts = routed_counts(actions[group])
    out = [f"{len(actions)} recent informal comments were routed to the groups that can act: "
           + ", ".join(f"{k} ({v})" for k, v in counts.head(5).items()) + "."]
    if "kind" in actions:
        kinds = actions["kind"].value_counts()
        out.append(f"{kinds.get('problem', 0)} report a problem, {kinds.get('request', 0)} are neutral or requests "
                   f"and {kinds.get('praise', 0)} are praise. Problems are listed first, most urgent first: how "
                   "negative, how often the account raised the topic this year, how much influence the speaker "
                   "holds and how much revenue the account brings.")
    return out


def _se_used(fits, prefix) -> str:
    """The standard errors the fits named ``prefix...`` used, in words (from the fits, not assumed)."""
    used = list(dict.fromkeys(se_description(f) for name, f in fits.items() if name.startswith(prefix)))
    return " / ".join(used) if used else "not computed (no such model was fitted)"


def methods(result, window_days, lead_days) -> list:
    frame = result.tables.get("model_frame")  # whole, or a streamed run's on disk
    fitted = (f"{len(frame)} account-periods, {gathered(frame, ['account_id'])['account_id'].nunique()} accounts"
              if frame is not None else "no model frame on this data")
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
         "for accounts with few respondents. Intervals use the between-stakeholder variance."
         + (f" Portfolio prior (shrinkage targets, pooled variances): {p.describe()}."
            if (p := getattr(result, "prior", None)) else "")),
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
            out.append(f"The {model_label(name)} is flagged unreliable: {'; '.join(fit.warnings)}.")
    out.append("Associations, not proof of cause: sentiment and renewal may share causes the data do not record.")
    return out


def _figures(result, comparison, *, currency=None, highlight=()):
    """The report's figures as ``{name: (data URI, caption)}``; the charts of every account (``HEAVY_FIGURES``)
    drawn in the run's kept picture worker while this process draws the others, when there is one and a core is
    idle (:func:`cxinfluence.present.workers.kept_worker`; the same bytes either way)."""
    specs = _figure_specs(result, comparison, currency=currency, highlight=highlight)
    heavy = [spec for spec in specs if spec[0] in HEAVY_FIGURES]
    if heavy and len(heavy) < len(specs) and has_kept_worker() and spare_cores() >= MIN_SPARE_CORES:
        pool, future = start_worker(draw_figures, heavy)  # (None, None): no process could take them
        drawn = draw_figures([spec for spec in specs if spec[0] not in HEAVY_FIGURES])
        drawn += draw_figures(heavy) if pool is None else finish_worker(pool, future, lambda: draw_figures(heavy))
    else:
        drawn = draw_figures(specs)
    figs = {name: (uri, caption) for name, uri, caption in drawn}
    return {name: figs[name] for name, *_ in specs}  # in the report's order


#: the report's charts of every account (100,000 marks at 100,000 accounts): the slow ones
HEAVY_FIGURES = ("money", "scatter")


def draw_figures(specs) -> list:
    """``[(name, data URI, caption)]`` of figure specs ``(name, draw, args, kwargs, caption)``: ``draw(*args,
    **kwargs)`` gives the chart's Axes. Module-level, so that a worker process can draw a share of them.

    Raises
    ------
    PlotDataError
        When a chart draws nothing (a failure, not a picture).
    """
    import matplotlib

    matplotlib.use("Agg")

    out = []
    for name, draw, args, kwargs, caption in specs:
        ax = draw(*args, **kwargs)
        if drawn_marks(ax.figure) == 0:  # a chart that draws nothing is a failure, not a picture
            raise PlotDataError(f"report figure {name!r} draws no data ({caption})")
        out.append((name, figure_to_data_uri(ax.figure, close=True), caption))
    return out


def _figure_specs(result, comparison, *, currency=None, highlight=()) -> list:
    """What :func:`draw_figures` draws for the report, in the report's order (the data cut to what each chart
    reads, so that a worker is sent little)."""
    t, fits = result.tables, result.fits
    specs = []
    risk = t["accounts_at_risk"]
    if risk["revenue_at_risk"].notna().any() and "annual_revenue" in risk:
        specs.append(("money", money_at_risk_chart, (risk[["account_id", "p_renew", "annual_revenue"]], list(highlight)),
                      {"currency": currency},
                      "Each mark is an account. Solid squares: the accounts needing action this quarter; hollow "
                      "circles: the rest. Revenue at risk grows towards the top left (high revenue, low chance of "
                      "renewing)."))
    eq = fits.get("decision_equation")
    if eq is not None and eq.effects is not None:
        specs.append(("forest", role_effects_chart, (eq,), {},
                      "Difference in predicted renewal between accounts whose people in each role are promoters and "
                      "those whose people are detractors, other roles held equal; bars are 95% intervals, a bar "
                      "crossing the dashed line is not distinguishable from no difference."))
    fit = fits.get(f"rebuy:{PRIMARY}")
    if fit is not None:
        specs.append(("renewal_curve", plots.renewal_curve, (renewal_curve_table(fit, PRIMARY),),
                      {"title": "How does the chance of renewal change with sentiment?",
                       "xlabel": "Influence-weighted account sentiment (-1 to +1)"},
                      "Predicted chance of renewal of a typical account, with its 95% band."))
    if comparison is not None:
        table = comparison.table.assign(score=comparison.table["auc"])
        if "auc_diff_low" in table:
            table = table.assign(ci_low=table["auc"] - table["auc_diff"] + table["auc_diff_low"],
                                 ci_high=table["auc"] - table["auc_diff"] + table["auc_diff_high"])
        else:
            table = table.assign(ci_low=np.nan, ci_high=np.nan)

        table = table.assign(scheme=table["scheme"].map(lambda s: LABELS.get(s, str(s).replace("_", " "))))
        specs.append(("schemes", plots.scheme_comparison, (table,),
                      {"title": "Which sentiment score predicts renewal best?",
                       "xlabel": "Held-out AUC: chance the score ranks a renewing account above a lost one"},
                      "AUC on accounts the model did not see (0.5 = a coin toss, 1 = perfect); intervals from the "
                      "bootstrap of the difference to the plain mean."))
    # the plotted columns only: the frame has some 50 (a million accounts: 4M rows, 1.6 GiB for two)
    plotted = None if t.get("model_frame") is None else gathered(t["model_frame"], ["mean", PRIMARY, "renewed"])
    if plotted is not None and plotted[["mean", PRIMARY]].notna().all(axis=1).any():
        specs.append(("scatter", plots.sentiment_scatter, (plotted.dropna(subset=["mean", PRIMARY]),),
                      {"unit": "account-periods", "hue_title": "Renewed",
                       "title": "Does weighting by influence change the score?",
                       "xlabel": "Plain mean sentiment (-1 to +1)",
                       "ylabel": "Influence-weighted sentiment (-1 to +1)"},
                      "Each point an account-period: plain mean against influence-weighted sentiment; crosses did "
                      "not renew."))
    if t.get("coverage") is not None and t["coverage"]["heard_influence"].notna().any():
        specs.append(("coverage", plots.coverage_chart, (t["coverage"],),
                      {"title": "How much of each account's influence have we heard?"},
                      "Share of each account's influence heard recently, least covered first."))
    return specs


def _warnings_list(result) -> list:
    """The warnings raised during the run, in words (skipped stages are listed on their own)."""
    w = result.tables.get("warnings")
    if w is None or not len(w):
        return []

    if "severity" in w:
        w = w[w["severity"] == "warning"]
    text = w["reason"] if "reason" in w else w["message"]
    return [f"{in_words(m, result.fits)} ({n} time{'s' if n != 1 else ''})" for m, n in zip(text, w["count"])]


def _sensitivity_text(table):
    return sensitivity_sentence(table) if table is not None else ""


def reason_sentences(risk: pd.DataFrame) -> list:
    """Which warning signs tell accounts apart, and which do not, in words."""
    table = reason_table(risk)
    if table.empty or risk["p_renew"].isna().all():
        return []
    out = []
    tell = table[table["distinguishing"]]
    if len(tell):
        out.append("Warning signs that set accounts apart: " + "; ".join(
            f"{r.text} ({r.accounts} accounts, predicted to renew {r.gap_points:.0f} points less often than the rest)"
            for r in tell.itertuples()) + ".")
    common = table[~table["distinguishing"] & (table["accounts"] > 0)]
    if len(common):
        out.append("Too common or too weak to single an account out, so never given as its reason: " + "; ".join(
            f"{r.text} ({r.accounts} of {len(risk)} accounts)" for r in common.itertuples()) + ".")
    return out


def _headlines(result, window_days, currency, n_actions) -> list:
    """At most five plain-language findings; the measurement-corrected effect joins when there is room."""
    lines = headline_findings(result, window_days=window_days, currency=currency, n_actions=n_actions)
    correction = result.tables.get("measurement_correction")
    if correction is not None and len(lines) < 5:
        lines += [x for x in [correction_sentence(correction)] if x]
    return lines[:5]


def build_report(village, result, map_entries, *, anonymized=False, window_days=365, lead_days=0, currency=None,
                 account_pages=None) -> str:
    """The report HTML for a :class:`cxinfluence.pipeline.RunResult`.

    ``currency`` labels revenue (``"$"``, ``"EUR"``; default none);
    ``account_pages`` maps account ids to the relative paths of their pages.
    """
    t, fits = result.tables, result.fits
    comparison = t.get("comparison_object")
    risk = t.get("accounts_at_risk")
    risk = pd.DataFrame({"account_id": []}) if risk is None else risk
    # without a renewal model (too few accounts, one outcome class) there is no chance to renew nor money at risk
    risk = risk.assign(**{c: np.nan for c in ("p_renew", "revenue_at_risk") if c not in risk})
    now = action_accounts(risk, 10, currency=currency)
    comparison_text = comparison_findings(comparison)["sentence"].tolist() if comparison is not None else []
    equation = decision_findings(fits["decision_equation"])["sentence"].tolist() if "decision_equation" in fits else []
    listening = t.get("listening_plan")
    listening = pd.DataFrame({"account_id": [], "rank": []}) if listening is None else listening
    actions = t.get("actions")
    content = ReportContent(
        title="Who decides whether our accounts rebuy",
        as_of=result.as_of,
        overview=village_overview(village),
        headlines=_headlines(result, window_days, currency, len(now) or 10),
        risk=_shown_risk(risk, currency),
        action_accounts=now.assign(revenue_at_risk_text=now["revenue_at_risk"].map(lambda x: money(x, currency)))
        if len(now) else now,
        risk_sentences=risk_sentences(risk, currency=currency) + reason_sentences(risk),
        equation_sentences=equation,
        comparison_sentences=comparison_text,
        sensitivity=_sensitivity_text(t.get("influence_sensitivity")),
        coverage_sentences=coverage_sentences(t["coverage"], window_days) if t.get("coverage") is not None else [],
        listening=top_rows(listening, LISTENING_SHOWN, by=["revenue_at_risk", "rank"], ascending=[False, True],
                           prepare=lambda f: f.merge(risk[["account_id", "revenue_at_risk"]], on="account_id",
                                                     how="left")) if len(listening) else listening,
        actions=None if actions is None else shown_actions(actions),
        action_sentences=action_sentences(None if actions is None else
                                          gathered(actions, ["account_id", "owner_group", "owning_group", "kind"])),
        figures=_figures(result, comparison, currency=currency, highlight=now["account_id"].tolist()),
        maps=map_entries,
        account_pages=dict(account_pages or {}),
        methods=methods(result, window_days, lead_days),
        caveats=caveats(result),
        warnings=_warnings_list(result),
        anonymized=anonymized,
        skipped=result.skip_lines() if hasattr(result, "skip_lines") else [],
    )
    changes = t.get("what_changed")
    if changes is not None:  # run(compare_to=...): the "What changed" section
        content.changes = change_sentences(changes, changes.attrs.get("compare_to"), result.as_of)
        content.changes_table = change_highlights(changes)
    return render_report(content)
