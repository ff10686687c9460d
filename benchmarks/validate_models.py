"""Validate the models on synthetic villages with a known truth.

For each replicate r = 0..R-1 three villages are drawn with
:func:`cxinfluence.village.synth.make_village` (``influence``, ``mean`` and ``roles``
worlds, seed depending on r) and the estimators are checked against the
parameters that generated them:

1. **Parameter recovery on the latent truth** (validates the estimator itself):
   * influence world: ``fit_formula("renewed ~ sentiment + veto + size_z")``
     with the true account sentiment ``S``, veto trigger ``V`` and size; the
     truth is ``intercept, sentiment_effect, veto_effect, size_effect``;
   * influence world, bookings: Gamma GLM (log link, cluster-robust) of the
     positive bookings on ``S`` and ``log(annual_revenue)``; the truth is
     ``bookings_sentiment`` (the lognormal noise only shifts the intercept);
   * mean world: ``renewed ~ sentiment + size_z`` on the true plain-mean ``S``;
   * roles world: :func:`cxinfluence.models.fit.decision_equation` on the true
     role sentiments of the accounts where every role is present; the truth
     for role r is ``sentiment_effect * rho_r``.
   Reported: mean estimate, bias, relative bias, empirical SD of the
   estimates, mean standard error, and coverage of the 95% intervals (Monte
   Carlo SE of a coverage near 95% over 200 replicates: 1.5 points).
2. **Attenuation with measured sentiment**: the same renewal model with the
   measured ``influence_weighted`` scheme of :func:`cxinfluence.model_frame`
   instead of the latent ``S`` (and ``log_revenue`` for size), against the
   latent-``S`` fit of the same specification; the ratio of the two slopes is
   the attenuation from measurement error (few respondents, noisy items), and
   the decision equation on measured role sentiment in the roles world.
3. **Scheme selection**: :func:`cxinfluence.models.compare.compare_schemes` (5-fold
   grouped CV, 100 bootstrap replicates for the one-SE rule) per village in
   the influence world and in the mean world; reported: the average difference
   of each scheme's held-out log loss and AUC from the plain ``mean`` (with its
   SE across villages), how often the scheme beats ``mean``, and how often the
   one-SE rule on held-out log loss selects it (``selected``).
4. **Raw and corrected slopes per scheme and world**: ``renewed ~ scheme +
   veto + size_z`` (influence world; latent veto trigger and size, so the only
   error is in the measured sentiment and the truth is ``sentiment_effect``)
   and ``renewed ~ scheme + size_z`` (mean world), raw and corrected by
   :func:`cxinfluence.models.measurement.corrected_fit` (``calibration`` and
   ``simex``); bias and coverage against the true effect of the world's
   latent sentiment. Only the scheme that measures the world's construct
   (``influence_weighted`` in the influence world, ``mean`` in the mean world)
   has that truth as its target; the others show how a wrong construct reads.
5. **Account-level interval coverage**: how often each scheme's 95 % interval
   (:mod:`cxinfluence.sentiment.intervals`) contains the account's latent sentiment in
   each world (again meaningful for the construct-matched scheme).
6. **Missing roles in the decision equation**: the missing-indicator method
   (:func:`cxinfluence.models.fit.decision_equation`) against inverse-probability
   weighting (:func:`cxinfluence.models.missingroles.decision_equation_ipw`) on the
   *latent* role sentiments of the roles world, hidden where the measured
   frame did not hear the role (so missingness is the real pattern and there
   is no measurement error): bias and coverage per role.

Run: ``python benchmarks/validate_models.py [--replicates 200] [--accounts 200]
[--years 3] [--workers 2] [--simex-draws 20] [--out results.csv]``.
"""

from __future__ import annotations

import argparse
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

SCHEMES = ["mean", "influence_weighted", "veto_floor", "role_weighted", "shrunk"]
#: Schemes whose slopes are corrected for measurement error (shrunk is EB: raw only).
CORRECTED = ["mean", "influence_heard", "influence_weighted", "role_weighted", "veto_floor", "shrunk"]


def _truth_frame(village, truth):
    t = truth.accounts.copy()
    t["account_id"] = t["account_id"].astype(str)
    o = village.outcomes.assign(account_id=village.outcomes["account_id"].astype(str))
    t = t.merge(o[["account_id", "period_end", "renewed", "bookings"]], on=["account_id", "period_end"])
    rev = village.accounts.assign(account_id=village.accounts["account_id"].astype(str))[["account_id", "annual_revenue"]]
    t = t.merge(rev, on="account_id")
    t["veto"] = t["veto_triggered"].astype(float)
    t["log_rev"] = np.log(t["annual_revenue"])
    return t


def _rows(fit, terms, truth_values, label, extra=None):
    out = []
    tidy = fit.tidy().set_index("term")
    for term, true in zip(terms, truth_values):
        r = tidy.loc[term]
        out.append({"check": label, "term": term, "truth": true, "estimate": r["estimate"], "se": r["std_error"],
                    "covered": float(r["ci_low"] <= true <= r["ci_high"]), "reliable": fit.reliable, **(extra or {})})
    return out


def _corrected_rows(frame, scheme, controls, truth, label, n_sim, seed):
    """Raw, calibrated and SIMEX slopes of one scheme, as recovery rows."""
    from cxinfluence.models.measurement import corrected_fit

    out = []
    raw = None
    if scheme == "shrunk":  # already E[X | W]: raw only
        from cxinfluence.models.fit import fit_rebuy

        f = fit_rebuy(frame, scheme=scheme, controls=controls)
        tidy = f.tidy().set_index("term").loc[scheme]
        return [{"check": label, "term": f"{scheme} (raw)", "truth": truth, "estimate": tidy["estimate"],
                 "se": tidy["std_error"], "covered": float(tidy["ci_low"] <= truth <= tidy["ci_high"]),
                 "reliable": f.reliable}]
    for method in ("calibration", "simex"):
        try:
            c = corrected_fit(frame, scheme, method=method, controls=controls, n_sim=n_sim, seed=seed)
        except Exception as exc:  # noqa: BLE001 - a failed correction is a result to count, not a crash
            out.append({"check": label, "term": f"{scheme} ({method})", "truth": truth, "estimate": np.nan,
                        "se": np.nan, "covered": np.nan, "reliable": False, "error": str(exc)})
            continue
        t = c.table.iloc[0]
        if raw is None:
            tidy = c.naive.tidy().set_index("term").loc[scheme]
            raw = {"check": label, "term": f"{scheme} (raw)", "truth": truth, "estimate": tidy["estimate"],
                   "se": tidy["std_error"], "covered": float(tidy["ci_low"] <= truth <= tidy["ci_high"]),
                   "reliable": c.naive.reliable}
            out.append(raw)
        out.append({"check": label, "term": f"{scheme} ({method})", "truth": truth, "estimate": t["estimate"],
                    "se": t["std_error"], "covered": float(t["ci_low"] <= truth <= t["ci_high"]),
                    "reliable": bool(t["reliable"]), "reliability": t["reliability"]})
    return out


def _interval_rows(ci, t, world, schemes):
    """Share of account-periods whose scheme interval contains the latent sentiment."""
    m = ci.merge(t[["account_id", "period_end", "sentiment"]].rename(columns={"sentiment": "latent"}),
                 on=["account_id", "period_end"])
    rows = []
    for s in schemes:
        lo, hi = m.get(f"{s}_ci_low"), m.get(f"{s}_ci_high")
        if lo is None:
            continue
        ok = lo.notna() & hi.notna() & m["latent"].notna()
        rows.append({"world": world, "scheme": s, "accounts": int(ok.sum()),
                     "covered": float(((lo <= m["latent"]) & (m["latent"] <= hi))[ok].mean()),
                     "width": float((hi - lo)[ok].mean())})
    return rows


def _with_intervals(village, schemes):
    """The model frame plus each scheme's interval columns at the outcome periods."""
    from cxinfluence.models.frame import model_frame, outcome_periods
    from cxinfluence.sentiment.schemes import account_sentiment

    acc = account_sentiment(village, outcome_periods(village))
    mf = model_frame(village, metrics=False, schemes=schemes, sentiment=acc)
    ci = acc[["account_id", "as_of"] + [f"{s}_ci_{e}" for s in schemes for e in ("low", "high")
                                        if f"{s}_ci_{e}" in acc.columns]].rename(columns={"as_of": "period_end"})
    ci["account_id"] = ci["account_id"].astype(str)
    return mf, ci


def _missing_role_rows(mf, t, roles, truths):
    """Missing indicators vs IPW on latent role sentiment hidden where the role was not heard."""
    from cxinfluence.models.missingroles import decision_equation_ipw
    from cxinfluence.models.fit import decision_equation

    d = mf[["account_id", "period_end", "renewed", "log_revenue", "n_stakeholders"]
           + [f"heard_{r}" for r in roles]].merge(
        t[["account_id", "period_end", "size_z"] + [f"sent_{r}" for r in roles]], on=["account_id", "period_end"])
    for r in roles:
        d.loc[~(d[f"heard_{r}"] > 0) | d[f"sent_{r}"].isna(), f"sent_{r}"] = np.nan
        d[f"heard_{r}"] = d[f"sent_{r}"].notna().astype(float)
    rows = []
    for label, fitter in (("missing indicators", decision_equation), ("IPW of every role heard", decision_equation_ipw)):
        try:
            f = fitter(d, roles=list(roles), controls=["size_z"])
        except Exception as exc:  # noqa: BLE001 - counted, not fatal
            rows += [{"check": f"missing roles: {label}", "term": f"sent_{r}", "truth": truths[r],
                      "estimate": np.nan, "error": str(exc)} for r in roles]
            continue
        tidy = f.tidy().set_index("term")
        for r in roles:
            x = tidy.loc[f"sent_{r}"]
            rows.append({"check": f"missing roles: {label} (latent roles world)", "term": f"sent_{r}",
                         "truth": truths[r], "estimate": x["estimate"], "se": x["std_error"],
                         "covered": float(x["ci_low"] <= truths[r] <= x["ci_high"]), "reliable": f.reliable})
    return rows


def replicate(r, n_accounts, years, n_sim=20):
    from cxinfluence.models.compare import compare_schemes
    from cxinfluence.models.frame import model_frame
    from cxinfluence.models.fit import decision_equation, fit_bookings, fit_formula, fit_rebuy
    from cxinfluence.village.schema import ROLES
    from cxinfluence.village.synth import make_village

    warnings.simplefilter("ignore")
    rec, sel, ivl = [], [], []

    # ---- influence world -------------------------------------------------
    v, tr = make_village(n_accounts, seed=10_000 + r, truth="influence", years=years)
    p = tr.params
    t = _truth_frame(v, tr)
    f = fit_formula(t, "renewed ~ sentiment + veto + size_z", family="binomial", name="latent")
    rec += _rows(f, ["Intercept", "sentiment", "veto", "size_z"],
                 [p.intercept, p.sentiment_effect, p.veto_effect, p.size_effect], "renewal, latent S (influence world)")
    fb = fit_bookings(t, scheme="sentiment", controls=["log_rev"], family="gamma")
    rec += _rows(fb, ["sentiment"], [p.bookings_sentiment], "bookings (gamma), latent S")
    # attenuation: same specification, latent vs measured
    mf, ci = _with_intervals(v, SCHEMES)
    ivl += _interval_rows(ci, t, "influence", SCHEMES)
    both = mf.merge(t[["account_id", "period_end", "sentiment", "veto", "size_z"]], on=["account_id", "period_end"])
    for sch in CORRECTED:
        rec += _corrected_rows(both, sch, ["veto", "size_z"], p.sentiment_effect,
                               "slope on measured scheme, raw and corrected (influence world)", n_sim, r)
    fl = fit_rebuy(both, scheme="sentiment", controls=["log_revenue"], name="latent_same_spec")
    fm = fit_rebuy(both, scheme="influence_weighted", controls=["log_revenue"], name="measured")
    rec.append({"check": "attenuation (influence world)", "term": "slope latent S (no veto term)",
                "estimate": fl.result.params["sentiment"], "se": fl.result.bse["sentiment"], "reliable": fl.reliable})
    rec.append({"check": "attenuation (influence world)", "term": "slope measured influence_weighted",
                "estimate": fm.result.params["influence_weighted"], "se": fm.result.bse["influence_weighted"],
                "reliable": fm.reliable})
    c = compare_schemes(mf, schemes=SCHEMES, controls=["log_revenue"], n_boot=100, seed=r)
    sel += [{"world": "influence", **row} for row in c.table[["scheme", "auc_diff", "log_loss_diff", "brier_diff",
                                                              "selected"]].to_dict("records")]
    co = compare_schemes(both, schemes=["mean", "sentiment"], controls=["log_revenue"], n_boot=0, seed=r)
    sel.append({"world": "influence", "scheme": "latent S (oracle)",
                **co.table.set_index("scheme").loc["sentiment", ["auc_diff", "log_loss_diff", "brier_diff"]].to_dict()})

    # ---- mean world ------------------------------------------------------
    v, tr = make_village(n_accounts, seed=20_000 + r, truth="mean", years=years)
    p = tr.params
    t = _truth_frame(v, tr)
    f = fit_formula(t, "renewed ~ sentiment + size_z", family="binomial", name="latent mean world")
    rec += _rows(f, ["Intercept", "sentiment", "size_z"], [p.intercept, p.sentiment_effect, p.size_effect],
                 "renewal, latent S (mean world)")
    mf, ci = _with_intervals(v, SCHEMES)
    ivl += _interval_rows(ci, t, "mean", SCHEMES)
    both = mf.merge(t[["account_id", "period_end", "size_z"]], on=["account_id", "period_end"])
    for sch in CORRECTED:
        rec += _corrected_rows(both, sch, ["size_z"], p.sentiment_effect,
                               "slope on measured scheme, raw and corrected (mean world)", n_sim, r)
    c = compare_schemes(mf, schemes=SCHEMES, controls=["log_revenue"], n_boot=100, seed=r)
    sel += [{"world": "mean", **row} for row in c.table[["scheme", "auc_diff", "log_loss_diff", "brier_diff",
                                                         "selected"]].to_dict("records")]

    # ---- roles world: the decision equation ------------------------------
    v, tr = make_village(n_accounts, seed=30_000 + r, truth="roles", years=years)
    p = tr.params
    t = _truth_frame(v, tr)
    # Accounts where every role is present: there S is exactly linear in the S_r
    # (with a role absent the generator renormalises rho over the roles present).
    t = t.dropna(subset=[f"sent_{x}" for x in ROLES])
    for role in ROLES:
        t[f"heard_{role}"] = 1.0
    eff = dict(p.role_effects)
    total = sum(eff.values())
    f = decision_equation(t, roles=list(ROLES), controls=["size_z"], name="latent roles")
    rec += _rows(f, [f"sent_{x}" for x in ROLES], [p.sentiment_effect * eff[x] / total for x in ROLES],
                 "decision equation, latent role sentiment (roles world)")
    mf = model_frame(v, metrics=False, schemes=["mean"])
    t_all = _truth_frame(v, tr)
    rec += _missing_role_rows(mf, t_all, ROLES, {x: p.sentiment_effect * eff[x] / total for x in ROLES})
    fm = decision_equation(mf, roles=list(ROLES), controls=["log_revenue"], name="measured roles")
    for x in ROLES:
        rec.append({"check": "decision equation, measured role sentiment (roles world)", "term": f"sent_{x}",
                    "truth": p.sentiment_effect * eff[x] / total, "estimate": fm.result.params[f"sent_{x}"],
                    "se": fm.result.bse[f"sent_{x}"],
                    "covered": float(fm.tidy().set_index("term").loc[f"sent_{x}", "ci_low"]
                                     <= p.sentiment_effect * eff[x] / total
                                     <= fm.tidy().set_index("term").loc[f"sent_{x}", "ci_high"]),
                    "reliable": fm.reliable})
    for row in rec:
        row["replicate"] = r
    for row in sel + ivl:
        row["replicate"] = r
    return rec, sel, ivl


def summarise(rec, sel):
    rec = pd.DataFrame(rec)
    g = rec.groupby(["check", "term"], sort=False)
    out = g.agg(truth=("truth", "first"), mean_estimate=("estimate", "mean"), sd_estimate=("estimate", "std"),
                mean_se=("se", "mean"), coverage=("covered", "mean"), reliable=("reliable", "mean"),
                replicates=("estimate", "size")).reset_index()
    out["bias"] = out["mean_estimate"] - out["truth"]
    out["relative_bias"] = out["bias"] / out["truth"]
    sel = pd.DataFrame(sel)
    s = sel.groupby(["world", "scheme"], sort=False).agg(
        log_loss_diff=("log_loss_diff", "mean"), log_loss_diff_se=("log_loss_diff", lambda x: x.std() / np.sqrt(len(x))),
        auc_diff=("auc_diff", "mean"), auc_diff_se=("auc_diff", lambda x: x.std() / np.sqrt(len(x))),
        beats_mean_log_loss=("log_loss_diff", lambda x: (x < 0).mean()),
        selected=("selected", "mean"),
        villages=("log_loss_diff", "size")).reset_index()
    return out, s


def summarise_intervals(ivl):
    d = pd.DataFrame(ivl)
    return d.groupby(["world", "scheme"], sort=False).apply(
        lambda g: pd.Series({"coverage": np.average(g["covered"], weights=g["accounts"]),
                             "mean_width": np.average(g["width"], weights=g["accounts"]),
                             "account_periods": int(g["accounts"].sum())}), include_groups=False).reset_index()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=200)
    ap.add_argument("--accounts", type=int, default=200)
    ap.add_argument("--years", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--simex-draws", type=int, default=20)
    ap.add_argument("--out", default=None, help="CSV prefix for the per-replicate results")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    rec, sel, ivl = [], [], []
    with ProcessPoolExecutor(max_workers=a.workers) as ex:
        for rr, ss, ii in ex.map(replicate, range(a.replicates), [a.accounts] * a.replicates,
                                 [a.years] * a.replicates, [a.simex_draws] * a.replicates, chunksize=2):
            rec += rr
            sel += ss
            ivl += ii
    rec_s, sel_s = summarise(rec, sel)
    ivl_s = summarise_intervals(ivl)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    print(f"{a.replicates} replicates x 3 worlds, {a.accounts} accounts x {a.years} periods each, "
          f"{time.perf_counter() - t0:.0f} s\n")
    print("Parameter recovery (95% intervals):")
    print(rec_s.round(3).to_string(index=False))
    ratio = rec_s.set_index("term").loc[["slope measured influence_weighted", "slope latent S (no veto term)"],
                                        "mean_estimate"]
    print(f"\nAttenuation: measured / latent slope = {ratio.iloc[0] / ratio.iloc[1]:.2f}")
    print("\nScheme selection (held-out, 5-fold grouped CV; difference from the plain mean, negative log loss"
          " difference = better):")
    print(sel_s.round(4).to_string(index=False))
    print("\nAccount-level 95% intervals against the latent account sentiment:")
    print(ivl_s.round(3).to_string(index=False))
    if a.out:
        pd.DataFrame(rec).to_csv(f"{a.out}_recovery.csv", index=False)
        pd.DataFrame(sel).to_csv(f"{a.out}_selection.csv", index=False)
        pd.DataFrame(ivl).to_csv(f"{a.out}_intervals.csv", index=False)


if __name__ == "__main__":
    main()
