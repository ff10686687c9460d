"""The result of a fit: :class:`Fit` (estimates, intervals, diagnostics, predictions) and ``models.csv``'s
table (:func:`models_table`). Part of the model fitting split out of :mod:`cxinfluence.models.fit`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..exceptions import ModelError
from .diagnostics import (
    FLAGS,
    flag_table,
    se_description,
)
from .margins import result_margins
from .mixed import component_label
from .release import column_summary, release_fit


# --------------------------------------------------------------------------
# The result object
# --------------------------------------------------------------------------
@dataclass
class Fit:
    """A fitted model with its diagnostics.

    Attributes
    ----------
    name : str
        Model name used in tables (e.g. ``"rebuy:influence_weighted"``).
    result : statsmodels results object
        The statsmodels result itself (``params``, ``bse``, ``conf_int()``,
        ``summary()``, ``predict()``...); for a logit, Tweedie, Gamma or
        Poisson GLM on 50,000 rows or more a
        :class:`~cxinfluence.models.lean.LeanGLMResults` with the same
        numbers, whose ``statsmodels()`` returns statsmodels' own results.
    formula : str
    outcome : str
    kind : str
        ``"logit"``, ``"glm"``, ``"ols"``, ``"mixedlm"`` or ``"bayes_mixed_glm"``.
    focus : list of str
        The terms the model is about (the sentiment scheme, role terms).
    warnings : list of str
        Why the estimate may be unreliable; empty when none.
    notes : list of str
        Facts worth knowing that do not make the estimate unreliable
        (rows dropped for missing values, defaults used, ...).
    term_warnings : dict
        term -> reason, for terms that are not estimable or collinear.
    n, n_accounts, events : int
        Rows used, distinct accounts, and (binary outcomes) renewals.
    cov_type : str
    log_link : bool
        True when coefficients act multiplicatively (``exp(b) - 1`` is a
        percentage effect).
    effects : DataFrame or None
        Scenario effects (:func:`decision_equation`).
    variance_components : DataFrame or None
        Mixed models: random-effect variances, SDs, covariances and
        correlations and the residual variance on their own scale
        (:func:`cxinfluence.mixed.variance_components`).
    variance_test : dict or None
        Mixed models: the boundary-aware likelihood-ratio test of the last
        random effect (:func:`cxinfluence.mixed.boundary_lrt`), or None when
        none is given.
    summaries : dict or None
        Set once the fitted rows are released (:func:`cxinfluence.models.release.release_fits`,
        as :func:`cxinfluence.run` does after fitting): formula column -> what is read from
        its values (:func:`~cxinfluence.models.release.column_summary`); ``data`` is then None.
    margins : statsmodels marginal effects or None
        Kept by a release for a logit named to keep its statsmodels results
        (see :meth:`marginal_effects`).
    design_info : patsy DesignInfo or None
        Kept by such a release for a model refitted on a reduced design (terms
        dropped as aliased), to build the design of new rows.
    statistics : dict or None
        ``aic, bic, pseudo_r2`` of :meth:`stats`, computed by a release while the rows were there.
    fe_df : Series or None
        Linear mixed models: the degrees of freedom of each fixed effect's t interval and test
        (between-within, :func:`cxinfluence.models.mixed.between_within_df`); None: Wald z.
    """

    name: str
    result: object
    formula: str
    outcome: str
    kind: str
    focus: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    term_warnings: dict = field(default_factory=dict)
    n: int = 0
    n_accounts: int = 0
    events: int | None = None
    cov_type: str = "nonrobust"
    log_link: bool = False
    effects: pd.DataFrame | None = None
    data: pd.DataFrame | None = field(default=None, repr=False)
    variance_components: pd.DataFrame | None = field(default=None, repr=False)
    variance_test: dict | None = None
    summaries: dict | None = field(default=None, repr=False)
    margins: object = field(default=None, repr=False)
    design_info: object = field(default=None, repr=False)
    statistics: dict | None = field(default=None, repr=False)
    fe_df: pd.Series | None = field(default=None, repr=False)

    @property
    def reliable(self) -> bool:
        """False when any degeneracy was found (see ``warnings`` and ``flags``)."""
        return not self.warnings

    @property
    def flags(self) -> dict:
        """``{flag: bool}`` for each flag of :data:`cxinfluence.diagnostics.FLAGS`."""
        return flag_table(self.warnings)

    @property
    def released(self) -> bool:
        """True once the fitted rows were released (:func:`cxinfluence.models.release.release_fits`)."""
        return self.summaries is not None

    def column_summary(self, column):
        """What is read from a fitted column (:func:`~cxinfluence.models.release.column_summary`), or None
        when ``column`` is not one of the fit's (formula) columns."""
        if self.summaries is not None:
            return self.summaries.get(column)
        if self.data is None or column not in self.data:
            return None
        return column_summary(self.data[column])

    @property
    def data_columns(self) -> list:
        """The columns of the fitted rows (the formula's columns once they were released)."""
        return list(self.summaries) if self.summaries is not None else [] if self.data is None else list(self.data)

    def marginal_effects(self):
        """The average marginal effects, statsmodels' ``get_margeff(at="overall", method="dydx")``
        (``margeff``, ``margeff_se``, ``conf_int(alpha)``; a logit's in closed form,
        :func:`cxinfluence.models.margins.logit_margins`); kept by a release that kept the
        statsmodels results, else computed from the fitted rows."""
        if self.margins is not None:
            return self.margins
        if self.released:
            raise ModelError(f"the fitted rows of {self.name!r} were released after the run (only its estimates "
                             "and statistics are kept); refit it on the run's model_frame for marginal effects")
        return result_margins(self.result)

    def release_data(self, statsmodels=False, predict=False):
        """Drop the fitted rows, keeping what tables, sentences and predictions read
        (:func:`cxinfluence.models.release.release_fit`); returns the fit."""
        return release_fit(self, statsmodels=statsmodels, predict=predict)

    @property
    def se_type(self) -> str:
        """The standard errors used, in words (e.g. ``"cluster-robust by account (300 accounts)"``)."""
        return se_description(self)

    # -- statistics -------------------------------------------------------
    def stats(self) -> dict:
        """Fit statistics: n, n_accounts, events, aic, bic, pseudo_r2,
        reliable, warning (reasons joined by ``"; "``)."""
        r = self.result
        aic = bic = r2 = np.nan
        if self.statistics is not None:  # computed before the rows were released
            aic, bic, r2 = (self.statistics[k] for k in ("aic", "bic", "pseudo_r2"))
        elif self.kind in ("logit", "glm"):
            aic, bic = _finite(getattr(r, "aic", np.nan)), _finite(getattr(r, "bic_llf", np.nan))
            # 1 - D/D0: McFadden's R2 for a binary outcome, deviance explained otherwise.
            with np.errstate(divide="ignore", invalid="ignore"):
                r2 = 1.0 - r.deviance / r.null_deviance if r.null_deviance > 0 else np.nan
        elif self.kind == "ols":
            aic, bic, r2 = r.aic, r.bic, r.rsquared
        elif self.kind == "mixedlm":
            aic, bic = _finite(r.aic), _finite(r.bic)
        return {"n": self.n, "n_accounts": self.n_accounts, "events": self.events,
                "aic": aic, "bic": bic, "pseudo_r2": r2, "reliable": self.reliable,
                "warning": "; ".join(self.warnings)}

    def tidy(self, conf_level=0.95) -> pd.DataFrame:
        """One row per term: ``model, term, estimate, std_error, ci_low,
        ci_high, p_value, reliable, warning``; log-link models add
        ``pct_effect, pct_ci_low, pct_ci_high`` (``100 (exp(b) - 1)``).

        Terms dropped as not estimable appear with NaN estimates and their
        reason in ``warning``; fit-level reasons are appended to every row.
        """
        from scipy import stats

        r = self.result
        if self.kind == "mixedlm":
            return self._tidy_mixed(conf_level)
        if self.kind == "bayes_mixed_glm":
            names = list(r.model.exog_names)
            est = pd.Series(r.fe_mean, index=names)
            se = pd.Series(r.fe_sd, index=names)
            z = stats.norm.ppf(0.5 + conf_level / 2)
            lo, hi, p = est - z * se, est + z * se, pd.Series(np.nan, index=names)
        else:
            est, se = pd.Series(r.params), pd.Series(r.bse)
            ci = pd.DataFrame(r.conf_int(alpha=1 - conf_level))
            lo, hi, p = ci.iloc[:, 0], ci.iloc[:, 1], pd.Series(r.pvalues)
        out = pd.DataFrame({"model": self.name, "term": est.index.astype(str), "estimate": est.to_numpy(),
                            "std_error": se.reindex(est.index).to_numpy(),
                            "ci_low": lo.reindex(est.index).to_numpy(), "ci_high": hi.reindex(est.index).to_numpy(),
                            "p_value": p.reindex(est.index).to_numpy()})
        dropped = [t for t in self.term_warnings if t not in set(out["term"])]
        if dropped:
            out = pd.concat([out, pd.DataFrame({"model": self.name, "term": dropped})], ignore_index=True)
        fit_level = "; ".join(self.warnings)
        term_level = [self.term_warnings.get(t, "") for t in out["term"]]
        out["reliable"] = self.reliable
        out["warning"] = [("; ".join(x for x in (t, fit_level) if x)) for t in term_level]
        if self.log_link:
            # % effects of slopes only: not of the intercept or variance components
            slope = ~out["term"].isin(["Intercept"]) & ~out["term"].str.endswith(" Var")
            for a, b in (("pct_effect", "estimate"), ("pct_ci_low", "ci_low"), ("pct_ci_high", "ci_high")):
                out[a] = np.where(slope, 100 * np.expm1(out[b].astype(float)), np.nan)
        return out

    def _tidy_mixed(self, conf_level):
        """Fixed effects (Wald t with between-within degrees of freedom, or Wald z as statsmodels gives them
        when ``fe_df`` is None), then the variance components on their own scale with no standard error,
        interval or Wald p-value; the p-value of the tested component is the boundary-aware LRT's."""
        from scipy import stats

        r = self.result
        est, se = pd.Series(r.fe_params), pd.Series(r.bse_fe)
        if self.fe_df is None:
            q = stats.norm.ppf(0.5 + conf_level / 2)
            p, test = pd.Series(r.pvalues).reindex(est.index), "Wald z"
        else:
            df = self.fe_df.reindex(est.index).to_numpy(dtype=float)
            q = stats.t.ppf(0.5 + conf_level / 2, df)
            with np.errstate(invalid="ignore", divide="ignore"):
                p = pd.Series(2 * stats.t.sf(np.abs(est.to_numpy() / se.to_numpy()), df), index=est.index)
            test = [f"Wald t ({d:.0f} df, between-within)" for d in df]
        fixed = pd.DataFrame({"model": self.name, "term": est.index.astype(str), "estimate": est.to_numpy(),
                              "std_error": se.to_numpy(), "ci_low": (est - q * se).to_numpy(),
                              "ci_high": (est + q * se).to_numpy(), "p_value": p.to_numpy(), "test": test})
        parts = [fixed]
        if self.variance_components is not None:
            vc = self.variance_components
            rows = pd.DataFrame({"model": self.name, "term": [component_label(row) for _, row in vc.iterrows()],
                                 "estimate": vc["estimate"].to_numpy(), "test": ""})
            t = self.variance_test
            if t is not None:
                tested = rows["term"] == f"var({vc['group'].iloc[0]}: {t['term']})"
                rows.loc[tested, "p_value"] = t["p_value"]
                rows.loc[tested, "test"] = t["test"] + f": LR = {t['statistic']:.3f}"
            parts.append(rows)
        out = pd.concat(parts, ignore_index=True)
        fit_level = "; ".join(self.warnings)
        out["reliable"] = self.reliable
        out["warning"] = [("; ".join(x for x in (self.term_warnings.get(t, ""), fit_level) if x)) for t in out["term"]]
        if self.log_link:
            slope = out["term"].isin(list(est.index)) & (out["term"] != "Intercept")
            for a, b in (("pct_effect", "estimate"), ("pct_ci_low", "ci_low"), ("pct_ci_high", "ci_high")):
                out[a] = np.where(slope, 100 * np.expm1(out[b].astype(float)), np.nan)
        cols = ["model", "term", "estimate", "std_error", "ci_low", "ci_high", "p_value", "reliable", "warning"]
        return out[cols + [c for c in out.columns if c not in cols]]

    def summary(self) -> str:
        """The statsmodels summary followed by the diagnostics."""
        lines = [f"Model {self.name}: {self.formula}  [{self.kind}, standard errors: {self.se_type}]",
                 f"n={self.n}, accounts={self.n_accounts}" + ("" if self.events is None else f", events={self.events}")]
        lines.append("Reliable: yes" if self.reliable else "Reliable: NO")
        lines += [f"  WARNING: {w}" for w in self.warnings]
        lines += [f"  note: {n}" for n in self.notes]
        if self.variance_components is not None:
            vc = self.variance_components
            lines.append("Variance components (own scale; no Wald test on a variance):")

            lines += [f"  {component_label(row)} = {row['estimate']:.6g}" for _, row in vc.iterrows()]
            t = self.variance_test
            lines.append(f"  {t['test']}: var of {t['term']}: LR = {t['statistic']:.3f}, p = {t['p_value']:.3g}"
                         if t else "  no likelihood-ratio test of the random effect was given")
        smry = self.result.summary()
        if self.kind == "mixedlm":  # statsmodels' variance rows are ratios with Wald SEs: shown above instead
            fe = smry.tables[1]
            smry.tables[1] = fe.loc[[t for t in fe.index if t in set(self.result.fe_params.index)]]
        return "\n".join(lines) + "\n\n" + str(smry)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["design_info"] = None  # patsy cannot pickle it: an unpickled released reduced model cannot predict
        return state

    def __repr__(self) -> str:
        flag = "reliable" if self.reliable else f"UNRELIABLE: {'; '.join(self.warnings)}"
        return f"Fit({self.name!r}, {self.kind}, n={self.n}, {flag})"


def _finite(x):
    try:
        x = float(x)
    except (TypeError, ValueError):
        return np.nan
    return x if np.isfinite(x) else np.nan


def models_table(fits) -> pd.DataFrame:
    """The ``models.csv`` layout: one row per model and term.

    Columns ``model, term, estimate, std_error, ci_low, ci_high, p_value``
    followed by the fit statistics of the model (``n, n_accounts, events,
    aic, bic, pseudo_r2, reliable, warning``); a term's own warning (e.g. not
    estimable) is part of ``warning``. Then ``se_type`` (the standard errors
    used, in words) and one boolean ``flag_<name>`` column per flag of
    :data:`cxinfluence.diagnostics.FLAGS` (``reliable`` is False whenever
    one is True).

    Parameters
    ----------
    fits : Fit, list of Fit or dict of name -> Fit

    Examples
    --------
    >>> import statsmodels.api as sm
    >>> from cxinfluence.models.glm import fit_formula
    >>> d = sm.datasets.spector.load_pandas().data
    >>> f = fit_formula(d, "GRADE ~ GPA + TUCE + PSI", family="binomial", cluster=None, name="spector")
    >>> models_table(f)[["term", "estimate", "std_error"]].round(3)
            term  estimate  std_error
    0  Intercept   -13.021      4.931
    1        GPA     2.826      1.263
    2       TUCE     0.095      0.142
    3        PSI     2.379      1.065
    """
    if isinstance(fits, Fit):
        fits = [fits]
    elif isinstance(fits, dict):
        fits = list(fits.values())
    rows = []
    for f in fits:
        if not isinstance(f, Fit):
            raise ModelError(f"fits contains {type(f).__name__}; expected Fit objects from cxinfluence.models.fit")
        t = f.tidy()
        st = f.stats()
        for k in ("n", "n_accounts", "events", "aic", "bic", "pseudo_r2"):
            t[k] = st[k]
        t["se_type"] = f.se_type
        for flag, on in f.flags.items():
            t[f"flag_{flag}"] = on
        rows.append(t)
    cols = ["model", "term", "estimate", "std_error", "ci_low", "ci_high", "p_value",
            "n", "n_accounts", "events", "aic", "bic", "pseudo_r2", "reliable", "warning", "se_type",
            *(f"flag_{f}" for f in FLAGS)]
    if not rows:
        return pd.DataFrame(columns=cols)
    out = pd.concat(rows, ignore_index=True)
    extra = [c for c in out.columns if c not in cols]
    return out[cols + extra]


# --------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------
