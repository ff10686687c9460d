"""Plain-language findings computed from fitted models, for a leadership audience.

Every number in a sentence comes from a result object: average marginal
effects (statsmodels ``get_margeff``, delta-method intervals), predicted
renewal under two scenarios (:func:`cxinfluence.models.fit.scenario_effect`),
percentage effects ``exp(b) - 1`` of log-link bookings models, and the
held-out comparison of :func:`cxinfluence.models.compare.compare_schemes`. Nothing is
typed in by hand. A sentence built on an unreliable fit starts with
"Unreliable estimate (reason):", and an interval that includes zero is said
in words ("not distinguishable from no difference").

Each function returns a DataFrame with one row per finding: ``topic, model,
term, sentence, estimate, ci_low, ci_high, reliable``, so the report can
show the sentence and a table can keep the numbers.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..exceptions import ModelError
from .fit import Fit, scenario_effect

#: How a column is called in a sentence.
LABELS = {
    "mean": "plain mean sentiment",
    "nps": "NPS",
    "role_weighted": "role-weighted sentiment",
    "influence_weighted": "influence-weighted sentiment",
    "veto_floor": "veto-floor sentiment",
    "nested": "nested (person-role-account) sentiment",
    "shrunk": "shrunk influence-weighted sentiment",
    "csat_mean": "mean satisfaction (CSAT)",
    "multi_index": "multi-metric index",
    "veto_min": "the unhappiest veto holder's sentiment",
}

#: How a 0/1 column is called after "Accounts with ...".
BINARY_LABELS = {"veto_detractor": "a detractor among their heard veto holders"}

#: Plural names of the decision-equation groups.
GROUPS = {"decider": "deciders", "buyer": "buyers", "user": "users", "influencer": "influencers",
          "gatekeeper": "gatekeepers", "veto": "veto holders", "nonveto": "people without veto power"}

COLUMNS = ["topic", "model", "term", "sentence", "estimate", "ci_low", "ci_high", "reliable"]


def _label(term):
    return LABELS.get(term, term.replace("_", " "))


def _num(x, digits=None):
    """Round for reading: whole numbers from 10 up, one decimal below."""
    x = float(x)
    if digits is None:
        digits = 0 if abs(x) >= 10 else 1
    return f"{x:.{digits}f}"


def _ci(lo, hi, conf_level, unit=""):
    lo, hi = sorted((lo, hi))
    return f"{int(round(conf_level * 100))}% CI {_num(lo)}{unit} to {_num(hi)}{unit}"


def _prefix(fit_reliable, reasons):
    if fit_reliable:
        return ""
    return f"Unreliable estimate ({reasons}): "


def _null(lo, hi):
    return lo <= 0 <= hi


def _along(d, lo, hi):
    """The interval of ``d`` in the direction the sentence states it ("N points
    less"): flipped with the sign, never made absolute, so an interval that
    crosses zero still shows a negative end."""
    return (lo, hi) if d >= 0 else (-hi, -lo)


def _step(fit, term):
    """A sensible step for "each ... higher": 0.1 on the [-1, 1] scale,
    10 points for NPS-like scores, one SD for an index, one unit otherwise."""
    x = fit.column_summary(term)  # the fitted rows' values, summarised (kept when the rows are released)
    if x is None or x["empty"]:
        return 1.0, ("1 unit", "")
    if x["binary"]:
        return None, None  # binary: a scenario 0 vs 1
    if term == "multi_index":  # a mean of z-scores: its own SD is below 1
        return x["std"], ("1 standard deviation", "")
    lo, hi = x["min"], x["max"]
    if lo >= -1 and hi <= 1:
        return 0.1, ("0.1", " (on its -1 to 1 scale)")
    if hi - lo > 20:
        return 10.0, ("10 points", "")
    return 1.0, ("1 point", "")


def _check(fit):
    if not isinstance(fit, Fit):
        raise ModelError(f"fit is a {type(fit).__name__}; expected a Fit from cxinfluence.models.fit")


def rebuy_findings(fit, terms=None, conf_level=0.95) -> pd.DataFrame:
    """Sentences for a renewal (logit) model: average marginal effects.

    For a continuous term, the average marginal effect (statsmodels
    ``get_margeff(at="overall")``: the mean over accounts of the derivative of
    the renewal probability, delta-method interval) times a readable step
    (see :func:`_step`) in percentage points. For a 0/1 term, the difference
    in average predicted renewal between 1 and 0 for every account
    (:func:`cxinfluence.models.fit.scenario_effect`).

    Examples
    --------
    >>> import statsmodels.api as sm
    >>> from cxinfluence.models.fit import fit_formula
    >>> d = sm.datasets.spector.load_pandas().data.assign(account_id=lambda x: x.index.astype(str))
    >>> f = fit_formula(d, "GRADE ~ GPA + PSI", cluster=None)
    >>> print(rebuy_findings(f, terms=["PSI"])["sentence"].iloc[0])  # doctest: +ELLIPSIS
    Unreliable estimate (too few events: ...): Accounts with PSI renew 36 points more often than those without (95% CI 7.8 to 65).
    """
    _check(fit)
    if fit.kind != "logit":
        raise ModelError(f"fit {fit.name!r} is a {fit.kind} model; rebuy_findings needs a logistic model")
    names = list(fit.result.model.exog_names)
    terms = [t for t in (terms or fit.focus) if t in names]
    rows = []
    cont = [t for t in terms if _step(fit, t)[0] is not None]
    me = None
    if cont:
        m = fit.marginal_effects()  # get_margeff(at="overall", method="dydx"), a logit's in closed form
        ci = np.asarray(m.conf_int(alpha=1 - conf_level))
        me = {n: (m.margeff[i], ci[i, 0], ci[i, 1]) for i, n in enumerate(names[1:] if names[0] == "Intercept" else names)}
    for t in terms:
        step, unit = _step(fit, t)
        reason = "; ".join(fit.warnings + ([fit.term_warnings[t]] if t in fit.term_warnings else []))
        ok = fit.reliable and t not in fit.term_warnings
        if step is None:
            e = scenario_effect(fit, {t: 0.0}, {t: 1.0}, conf_level)
            d, lo, hi = 100 * e["difference"], 100 * e["ci_low"], 100 * e["ci_high"]
            word = "more" if d >= 0 else "less"
            s = (f"Accounts with {BINARY_LABELS.get(t, _label(t))} renew {_num(abs(d))} points {word} often than those without "
                 f"({_ci(*_along(d, lo, hi), conf_level)}).")
        else:
            b, lo, hi = (100 * step * v for v in me[t])
            d = b
            word = "higher" if b >= 0 else "lower"
            s = (f"Each {unit[0]} higher {_label(t)}{unit[1]} goes with a {_num(abs(b))}-point {word} chance of renewal "
                 f"on average ({_ci(lo, hi, conf_level)} points).")
        if _null(lo, hi):
            s = s[:-1] + ": not distinguishable from no difference."
        rows.append({"topic": "renewal", "model": fit.name, "term": t, "sentence": _prefix(ok, reason) + s,
                     "estimate": d, "ci_low": lo, "ci_high": hi, "reliable": ok})
    return pd.DataFrame(rows, columns=COLUMNS)


def decision_findings(fit, conf_level=None) -> pd.DataFrame:
    """Sentences from :func:`cxinfluence.models.fit.decision_equation`'s effects:
    "accounts whose deciders are detractors renew N points less often than
    those whose deciders are promoters (95% CI a to b): x% against y%".

    Examples
    --------
    >>> rng = np.random.default_rng(4); n = 1500
    >>> df = pd.DataFrame({"account_id": np.arange(n).astype(str), "sent_veto": rng.uniform(-1, 1, n),
    ...                    "heard_veto": 1.0})
    >>> df["renewed"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-(0.5 + 2 * df["sent_veto"])))).astype(float)
    >>> from cxinfluence.models.fit import decision_equation
    >>> print(decision_findings(decision_equation(df, roles=["veto"], controls=[]))["sentence"].iloc[0])
    Accounts whose veto holders are detractors renew 50 points less often than those whose veto holders are promoters (95% CI 46 to 54): 41% against 91%.
    """
    _check(fit)
    if fit.effects is None:
        raise ModelError(f"fit {fit.name!r} has no scenario effects; use cxinfluence.models.fit.decision_equation")
    level = conf_level or 0.95
    rows = []
    for _, e in fit.effects.iterrows():
        who = GROUPS.get(e["role"], f"{e['role']} stakeholders")
        if pd.isna(e["difference"]):
            rows.append({"topic": "decision equation", "model": fit.name, "term": e["term"],
                         "sentence": f"The effect of {who}' sentiment cannot be estimated: {e['warning']}.",
                         "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan, "reliable": False})
            continue
        d, lo, hi = 100 * e["difference"], 100 * e["ci_low"], 100 * e["ci_high"]
        word = "less" if d >= 0 else "more"
        s = (f"Accounts whose {who} are detractors renew {_num(abs(d))} points {word} often than those whose "
             f"{who} are promoters ({_ci(*_along(d, lo, hi), level)}): "
             f"{_num(100 * e['p_low'], 0)}% against {_num(100 * e['p_high'], 0)}%.")
        if _null(lo, hi):
            s = s[:-1] + "; not distinguishable from no difference."
        ok = bool(e["reliable"])
        rows.append({"topic": "decision equation", "model": fit.name, "term": e["term"],
                     "sentence": _prefix(ok, e["warning"]) + s, "estimate": d, "ci_low": lo, "ci_high": hi,
                     "reliable": ok})
    return pd.DataFrame(rows, columns=COLUMNS)


def bookings_findings(fit, terms=None, conf_level=0.95) -> pd.DataFrame:
    """Sentences for a log-link bookings model: ``exp(step * b) - 1`` as a
    percentage change in expected bookings (in ``1 + bookings`` for OLS on
    ``log1p``), with the interval transformed the same way.
    """
    _check(fit)
    if not fit.log_link:
        raise ModelError(f"fit {fit.name!r} has no log link; bookings_findings needs fit_bookings or a log-link GLM")
    t = fit.tidy(conf_level=conf_level).set_index("term")
    rows = []
    what = "1 + bookings" if fit.kind in ("ols", "mixedlm") else "expected bookings"
    for term in (terms or fit.focus):
        if term not in t.index or pd.isna(t.loc[term, "estimate"]):
            continue
        step, unit = _step(fit, term)
        if step is None:
            step, unit = 1.0, None
        pct = [100 * np.expm1(step * t.loc[term, c]) for c in ("estimate", "ci_low", "ci_high")]
        ok = fit.reliable and term not in fit.term_warnings
        word = "higher" if pct[0] >= 0 else "lower"
        lead = (f"Accounts with {BINARY_LABELS.get(term, _label(term))}" if unit is None
                else f"Each {unit[0]} higher {_label(term)}{unit[1]}")
        verb = "have" if unit is None else "goes with"
        s = (f"{lead} {verb} {_num(abs(pct[0]))}% {word} {what} ({_ci(pct[1], pct[2], conf_level, '%')}).")
        if _null(pct[1], pct[2]):
            s = s[:-1] + ": not distinguishable from no difference."
        rows.append({"topic": "bookings", "model": fit.name, "term": term,
                     "sentence": _prefix(ok, "; ".join(fit.warnings)) + s,
                     "estimate": pct[0], "ci_low": pct[1], "ci_high": pct[2], "reliable": ok})
    return pd.DataFrame(rows, columns=COLUMNS)


def comparison_findings(comparison, metric=None) -> pd.DataFrame:
    """Which scheme predicts best on held-out accounts, against the baseline,
    with the bootstrap interval of the difference.

    Says "no scheme predicts clearly better than <baseline>" when every
    interval of an improvement includes zero.
    """
    metric = metric or comparison.metrics[0]
    t = comparison.table.set_index("scheme")
    base = comparison.baseline
    higher = metric == "auc"
    what = "renewal" if comparison.metrics[0] == "auc" else comparison.outcome
    name = {"auc": "AUC", "brier": "Brier score", "log_loss": "log loss", "deviance": "deviance",
            "rmse": "RMSE"}[metric]
    has_ci = f"{metric}_diff_low" in t.columns
    others = t.drop(index=base)
    rows = []
    if others.empty:
        return pd.DataFrame(columns=COLUMNS)
    best = others[metric].idxmax() if higher else others[metric].idxmin()
    b = t.loc[best]
    gain = b[f"{metric}_diff"] if higher else -b[f"{metric}_diff"]
    level = int(round(comparison.conf_level * 100))
    digits = 3
    if has_ci:
        lo, hi = b[f"{metric}_diff_low"], b[f"{metric}_diff_high"]
        if not higher:
            lo, hi = -hi, -lo
        ci = f"{level}% CI {lo:.{digits}f} to {hi:.{digits}f}"
    else:
        lo = hi = np.nan
        ci = "no interval computed"
    if has_ci and lo > 0:
        s = (f"On held-out accounts, {_label(best)} predicts {what} best: {name} {b[metric]:.3f} against "
             f"{t.loc[base, metric]:.3f} for {_label(base)} (improvement {gain:.{digits}f}, {ci}).")
    elif gain > 0:
        s = (f"On held-out accounts, no scheme predicts {what} clearly better than {_label(base)}: the best, "
             f"{_label(best)}, improves the {name} by {gain:.{digits}f} ({ci}).")
    else:
        s = f"On held-out accounts, no scheme predicts {what} better than {_label(base)} ({name})."
    ok = bool(t["reliable"].all())
    if not ok:
        bad = ", ".join(_label(x) for x in t.index[~t["reliable"].astype(bool)])
        s = f"Unreliable comparison (degenerate fits for {bad}): " + s
    rows.append({"topic": "which scheme predicts best", "model": "compare_schemes", "term": best, "sentence": s,
                 "estimate": gain, "ci_low": lo, "ci_high": hi, "reliable": ok})
    if getattr(comparison, "winner", None):
        rows.append({"topic": "how the winner was chosen", "model": "compare_schemes", "term": comparison.winner,
                     "sentence": f"Chosen among {len(t)} schemes by the {_in_words(comparison.selection_rule, t.index)}; "
                                 "AUC and Brier "
                                 "score are reported beside it (scheme_comparison.csv).",
                     "estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan, "reliable": ok})
    return pd.DataFrame(rows, columns=COLUMNS)


def _in_words(text: str, schemes) -> str:
    """``text`` with every scheme's column name (``veto_floor``) replaced by its label for people."""
    names = sorted(map(str, schemes), key=len, reverse=True)
    return re.sub(r"\b(" + "|".join(map(re.escape, names)) + r")\b", lambda m: _label(m[1]), text) if names else text


def findings(fits=(), comparison=None) -> pd.DataFrame:
    """All sentences for a list of fits (and optionally a comparison).

    Logit fits with scenario effects give decision-equation sentences, other
    logit fits marginal-effect sentences, log-link fits percentage sentences.
    """
    fits = [fits] if isinstance(fits, Fit) else list(fits.values() if isinstance(fits, dict) else fits)
    parts = []
    for f in fits:
        if f.effects is not None:
            parts.append(decision_findings(f))
        elif f.kind == "logit":
            parts.append(rebuy_findings(f))
        elif f.log_link:
            parts.append(bookings_findings(f))
    if comparison is not None:
        parts.append(comparison_findings(comparison))
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)
