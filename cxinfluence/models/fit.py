"""Models linking account sentiment to rebuying and bookings, with honest
diagnostics.

Every fitting function takes the model frame (:func:`cxinfluence.models.frame.model_frame`,
or any DataFrame with the named columns) and returns a :class:`Fit`: the
statsmodels result itself (``.result``), a tidy table (``.tidy()``), the
reasons the estimate may be unreliable (``.warnings``, ``.reliable``) and a
text summary (``.summary()``).

=====================  ==========================================================
function               model
=====================  ==========================================================
:func:`fit_rebuy`      logistic regression of ``renewed`` on a sentiment scheme
                       plus controls (``statsmodels`` GLM, Binomial, logit link)
:func:`fit_bookings`   bookings: Tweedie GLM with log link (zeros allowed),
                       Gamma GLM with log link (positive bookings: the second
                       part of a two-part model), or OLS on ``log1p(bookings)``
:func:`fit_mixed`      random intercepts for a grouping (segment, account):
                       ``MixedLM`` (REML) for a continuous outcome,
                       ``BinomialBayesMixedGLM`` (variational Bayes) for renewal
:func:`decision_equation` role-decomposed logit ("the buying decision
                       equation") with unheard indicators and the predicted
                       renewal when a role moves from detractor to promoter
:func:`fit_formula`    any GLM from a formula string (researchers)
=====================  ==========================================================

Standard errors are cluster-robust by account (Liang & Zeger 1986; the
``statsmodels`` ``cov_type="cluster"`` sandwich with its small-sample
correction) whenever an account appears in more than one row, since the
periods of one account are not independent; otherwise HC1 for the Tweedie
and Gamma bookings models (White 1980; MacKinnon & White 1985) and
model-based for the rest (as R's ``glm``). ``Fit.se_type`` says which. The
Gaussian family uses t statistics with ``n - k`` degrees of freedom (as R's
``lm``).

Degenerate data
---------------
statsmodels (0.15) fits almost anything without raising, so every fit is
checked by :func:`cxinfluence.diagnostics.diagnose` (one function for every
path) and each problem is reported four ways: a
:class:`~cxinfluence.exceptions.DegenerateFitWarning`, a reason in
``Fit.warnings`` tagged with a flag (``Fit.flags``; so ``Fit.reliable`` is
False), the ``warning`` column of ``Fit.tidy()`` and a ``flag_<name>``
column of :func:`models_table`:

* **constant or collinear terms**: the design matrix is rank-deficient
  (QR with column pivoting); like R's ``glm`` the aliased columns are dropped,
  reported with a NaN estimate and named. Near-collinearity: variance
  inflation factor above 10 (Belsley, Kuh & Welsch 1980; the common VIF rule).
* **separation** (logistic models): a linear programme finds a direction
  ``b != 0`` with ``(2y - 1) x'b >= 0`` for every row, i.e. complete or
  quasi-complete separation (Albert & Anderson 1984; Konis 2007, the method
  of R's ``detectseparation``). Above ``SEPARATION_LP_MAX_ROWS`` rows the LP is
  replaced by two cheap exact checks: a 0/1 column whose rows all have the
  same outcome, and fitted probabilities within 1e-8 of 0 or 1.
* **too few events per term**: fewer than 10 of the rarer outcome per
  estimated coefficient (Peduzzi et al. 1996, *J Clin Epidemiol* 49:1373);
  for continuous outcomes fewer than 10 rows per coefficient (Harrell 2015,
  *Regression Modeling Strategies*, 4.4).
* **few clusters**: cluster-robust errors with fewer than 30 accounts are
  biased downward (Cameron & Miller 2015, *J Human Resources* 50:317).
* **periods without sentiment**: an outcome period in which the scheme is
  missing for every account is excluded, which changes the population.
* **non-convergence** of the optimiser, a Hessian that is not positive
  definite, non-finite estimates, SEs or log-likelihood.
* **separation with a log link** (Tweedie with zeros): a direction along
  which the zero rows' means go to 0 (Santos Silva & Tenreyro 2010).
* **boundary** (mixed models): a random-effect variance at 0 or a
  correlation at +/-1.

Impossible inputs (no rows, unknown columns, a non-binary ``renewed``) raise
:class:`~cxinfluence.exceptions.ModelError` naming the argument and the fix.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .diagnostics import (  # noqa: F401 - MAX_VIF, MIN_CLUSTERS, MIN_EPV: thresholds, re-exported
    FLAGS,
    MAX_VIF,
    MIN_CLUSTERS,
    MIN_EPV,
    Flag,
    aliased_flags,
    diagnose,
    flag_table,
    se_description,
)
from ..exceptions import DegenerateFitError, DegenerateFitWarning, ModelError
from .irls import irls_fit
from ..sentiment.schemes import PRIMARY_SCHEME

#: Controls used when ``controls=None`` (those present in the frame are used).
DEFAULT_CONTROLS = ("log_revenue", "segment")

#: Rows up to which the exact linear-programming separation check runs.
SEPARATION_LP_MAX_ROWS = 50_000

# MIN_EPV, MAX_VIF, MIN_CLUSTERS: the thresholds of cxinfluence.diagnostics (imported above).


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
        ``summary()``, ``predict()``...).
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

    @property
    def reliable(self) -> bool:
        """False when any degeneracy was found (see ``warnings`` and ``flags``)."""
        return not self.warnings

    @property
    def flags(self) -> dict:
        """``{flag: bool}`` for each flag of :data:`cxinfluence.diagnostics.FLAGS`."""
        return flag_table(self.warnings)

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
        if self.kind in ("logit", "glm"):
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
        """Fixed effects (Wald z, as statsmodels), then the variance components on
        their own scale with no standard error, interval or Wald p-value; the
        p-value of the tested component is the boundary-aware LRT's."""
        from scipy import stats

        from .mixed import component_label

        r = self.result
        est, se = pd.Series(r.fe_params), pd.Series(r.bse_fe)
        z = stats.norm.ppf(0.5 + conf_level / 2)
        p = pd.Series(r.pvalues).reindex(est.index)
        fixed = pd.DataFrame({"model": self.name, "term": est.index.astype(str), "estimate": est.to_numpy(),
                              "std_error": se.to_numpy(), "ci_low": (est - z * se).to_numpy(),
                              "ci_high": (est + z * se).to_numpy(), "p_value": p.to_numpy(), "test": "Wald z"})
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
            from .mixed import component_label

            lines += [f"  {component_label(row)} = {row['estimate']:.6g}" for _, row in vc.iterrows()]
            t = self.variance_test
            lines.append(f"  {t['test']}: var of {t['term']}: LR = {t['statistic']:.3f}, p = {t['p_value']:.3g}"
                         if t else "  no likelihood-ratio test of the random effect was given")
        smry = self.result.summary()
        if self.kind == "mixedlm":  # statsmodels' variance rows are ratios with Wald SEs: shown above instead
            fe = smry.tables[1]
            smry.tables[1] = fe.loc[[t for t in fe.index if t in set(self.result.fe_params.index)]]
        return "\n".join(lines) + "\n\n" + str(smry)

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
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


def formula_columns(formula: str, data: pd.DataFrame) -> list[str]:
    """Column names of ``data`` that a formula refers to (in formula order).

    >>> formula_columns("renewed ~ mean + np.log(x) + C(segment)",
    ...                 pd.DataFrame(columns=["renewed", "mean", "x", "segment"]))
    ['renewed', 'mean', 'x', 'segment']
    """
    cols = set(map(str, data.columns))
    seen = []
    for tok in _NAME.findall(formula):
        if tok in cols and tok not in seen:
            seen.append(tok)
    return seen


def _check_frame(frame, name="frame"):
    if not isinstance(frame, pd.DataFrame):
        raise ModelError(f"{name} is a {type(frame).__name__}; expected a pandas DataFrame "
                         "(e.g. cxinfluence.model_frame(village))")
    if len(frame) == 0:
        raise ModelError(f"{name} has no rows; a model needs data (check the village has outcomes "
                         "and responses before period_end)")


def _require(frame, columns, arg):
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ModelError(f"{arg}={missing if len(missing) > 1 else missing[0]!r} is not a column of the frame; "
                         f"available columns: {sorted(map(str, frame.columns))}")


def _resolve_controls(frame, controls, notes):
    if controls is None:
        used = [c for c in DEFAULT_CONTROLS if c in frame.columns and frame[c].nunique(dropna=True) > 1]
        notes.append(f"controls: {', '.join(used) if used else 'none'} (default)")
        return used
    controls = [controls] if isinstance(controls, str) else list(controls)
    _require(frame, [c for c in controls if _NAME.fullmatch(c)], "controls")
    return controls


# --------------------------------------------------------------------------
# Diagnostics
# --------------------------------------------------------------------------
def design_rank(X: np.ndarray, tol=1e-6):
    """Rank of a design matrix and the columns aliased with earlier ones.

    Columns are normalised to unit length and taken left to right; column
    ``j`` is aliased when the part of it not spanned by the columns kept
    before it is shorter than ``tol`` (the ``|R_jj|`` of a QR decomposition,
    computed here from the small Gram matrix so that 300k rows cost
    milliseconds). This is R's ``glm`` rule of reporting ``NA`` for the later of
    collinear columns, so an intercept survives and a constant column after it
    is the one aliased. Returns ``(rank, aliased_indices)``.

    >>> X = np.c_[np.ones(4), [1., 2, 3, 4], [2., 4, 6, 8], [5., 5, 5, 5]]
    >>> design_rank(X)
    (2, [2, 3])
    """
    X = np.asarray(X, dtype=float)
    if X.shape[1] == 0:
        return 0, []
    G = X.T @ X  # normalised below: no scaled copy of a tall X
    norm = np.sqrt(np.diag(G))
    zero = norm == 0
    unit = np.where(zero, 1.0, norm)
    G = G / np.outer(unit, unit)
    keep, aliased = [], []
    for j in range(X.shape[1]):
        if zero[j]:
            aliased.append(j)
            continue
        if keep:
            g = G[np.ix_(keep, [j])]
            resid = G[j, j] - (g.T @ np.linalg.solve(G[np.ix_(keep, keep)], g)).item()
        else:
            resid = G[j, j]
        (keep if resid > tol ** 2 else aliased).append(j)
    return len(keep), aliased


def vif(X: np.ndarray, names) -> pd.Series:
    """Variance inflation factors of the non-constant columns of ``X``
    (diagonal of the inverse correlation matrix).

    >>> rng = np.random.default_rng(0); a = rng.normal(size=200)
    >>> X = np.c_[np.ones(200), a, a + 0.05 * rng.normal(size=200), rng.normal(size=200)]
    >>> (vif(X, ["Intercept", "a", "b", "c"]) > 10).tolist()
    [True, True, False]
    """
    X = np.asarray(X, dtype=float)
    n = len(X)
    idx = np.flatnonzero(~(X == X[:1]).all(0)) if n else np.arange(0)
    if idx.size < 2:
        return pd.Series(np.ones(idx.size), index=[names[i] for i in idx])
    # correlations from the cross-products (one pass over a tall X, no centred copy)
    total = X.sum(0)[idx]
    C = (X.T @ X)[np.ix_(idx, idx)] - np.outer(total, total) / n
    sd = np.sqrt(np.diag(C))
    R = C / np.outer(sd, sd)
    try:
        v = np.diag(np.linalg.inv(R))
    except np.linalg.LinAlgError:
        v = np.full(idx.size, np.inf)
    return pd.Series(v, index=[names[i] for i in idx])


def separation(X: np.ndarray, y: np.ndarray, names=None, tol=1e-6):
    """Detect complete or quasi-complete separation in a logistic model.

    Solves the linear programme of Konis (2007, DPhil thesis, Oxford; R package
    ``detectseparation``): maximise ``sum_i z_i x_i'b`` subject to
    ``z_i x_i'b >= 0`` for all rows and ``-1 <= b <= 1``, with ``z = 2y - 1``.
    The maximum is 0 exactly when the classes overlap (the MLE exists, Albert &
    Anderson 1984); otherwise ``b`` is a direction along which the likelihood
    keeps increasing, so the estimates along it diverge.

    Returns
    -------
    dict or None
        ``None`` when there is no separation; otherwise
        ``{"terms": [...], "n_separated": int}``: the terms with a non-zero
        component of the separating direction and the number of rows whose
        outcome it predicts perfectly.

    Examples
    --------
    >>> x = np.array([1., 2, 3, 4, 5, 6]); X = np.c_[np.ones(6), x]
    >>> separation(X, np.array([0, 0, 0, 1, 1, 1]), ["Intercept", "x"])["terms"]
    ['Intercept', 'x']
    >>> separation(X, np.array([0, 1, 0, 1, 0, 1]), ["Intercept", "x"]) is None
    True
    """
    from scipy.optimize import linprog

    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    names = list(names) if names is not None else [f"x{j}" for j in range(X.shape[1])]
    z = 2.0 * y - 1.0
    A = z[:, None] * X
    scale = np.abs(A).max(0)
    scale[scale == 0] = 1.0
    A = A / scale
    res = linprog(-A.sum(0), A_ub=-A, b_ub=np.zeros(len(A)), bounds=[(-1, 1)] * A.shape[1], method="highs")
    if res.status != 0 or -res.fun <= tol:
        return None
    b = res.x
    margin = A @ b
    if margin.min() < -1e-7:  # numerical noise, not a separating direction
        return None
    return {"terms": [n for n, bj in zip(names, b) if abs(bj) > 1e-6],
            "n_separated": int((margin > 1e-7).sum())}


def _binary_columns(X, head=1000):
    """Indices of the columns of ``X`` that take both values 0 and 1 and no other.

    The first ``head`` rows rule out continuous columns, so that only
    candidate 0/1 columns are scanned in full.
    """
    X = np.asarray(X)
    top = X[:head]
    candidates = np.flatnonzero(((top == 0) | (top == 1)).all(0))
    out = []
    for j in candidates:
        col = X[:, j]
        if ((col == 0) | (col == 1)).all() and col.min() != col.max():
            out.append(int(j))
    return out


def _cheap_separation(X, y, mu, names):
    """Large-sample separation checks that need no LP (see module docstring)."""
    reasons = []
    for j in _binary_columns(X):
        on = X[:, j] == 1
        if on.sum() and (np.all(y[on] == 1) or np.all(y[on] == 0)):
            reasons.append(names[j])
    extreme = int(((mu < 1e-8) | (mu > 1 - 1e-8)).sum())
    return reasons, extreme


def _diagnose_binary(X, y, mu, names, fit_warnings, term_warnings, lp=None):
    n = len(y)
    lp = n <= SEPARATION_LP_MAX_ROWS if lp is None else lp
    if lp:
        sep = separation(X, y, names)
        if sep is not None:
            fit_warnings.append(
                f"separation: {sep['n_separated']} of {n} rows are predicted perfectly by "
                f"{', '.join(sep['terms'])}; their coefficients diverge (complete or quasi-complete separation)")
            for t in sep["terms"]:
                if t != "Intercept":
                    term_warnings.setdefault(t, "involved in separation: estimate not finite in truth")
            return
    cols, extreme = _cheap_separation(X, y, mu, names)
    if cols:
        fit_warnings.append(f"separation: every row with {', '.join(cols)} = 1 has the same outcome "
                            "(quasi-complete separation)")
        for t in cols:
            term_warnings.setdefault(t, "involved in separation: estimate not finite in truth")
    elif extreme:
        fit_warnings.append(f"separation suspected: {extreme} fitted probabilities are within 1e-8 of 0 or 1")


def _degenerate(fit_warnings, name):
    for w in fit_warnings:
        warnings.warn(f"{name}: {w}", DegenerateFitWarning, stacklevel=4)


# --------------------------------------------------------------------------
# The common fitting engine
# --------------------------------------------------------------------------
_FAMILIES = ("binomial", "gaussian", "poisson", "gamma", "tweedie")


def _family(family, var_power=1.5):
    import statsmodels.api as sm

    if not isinstance(family, str):
        return family
    fam = family.lower()
    links = sm.families.links
    if fam in ("binomial", "logit", "logistic"):
        return sm.families.Binomial()
    if fam in ("gaussian", "ols", "normal"):
        return sm.families.Gaussian()
    if fam == "poisson":
        return sm.families.Poisson()
    if fam == "gamma":
        return sm.families.Gamma(link=links.Log())
    if fam == "tweedie":
        return sm.families.Tweedie(var_power=var_power, link=links.Log())
    raise ModelError(f"family={family!r} is not supported; expected one of {list(_FAMILIES)} "
                     "or a statsmodels family instance")


def _prepare_rows(frame, columns, scheme_cols, notes, fit_warnings):
    """Complete cases of ``columns``; report what was dropped and periods
    where the sentiment columns are missing for every account."""
    data = frame[list(dict.fromkeys(columns))]
    numeric = data.select_dtypes(include="number")
    bad = (~np.isfinite(numeric.to_numpy(dtype=float, na_value=np.nan)).all(1) if numeric.shape[1]
           else np.zeros(len(data), bool))
    keep = ~(data.isna().any(axis=1).to_numpy() | bad)
    if scheme_cols and "period_end" in frame.columns:
        present = frame[scheme_cols].notna().all(axis=1)
        by_period = present.groupby(frame["period_end"]).any()
        empty = by_period.index[~by_period.to_numpy()]
        if len(empty) and len(empty) < len(by_period):
            dates = ", ".join(str(pd.Timestamp(d).date()) for d in empty)
            fit_warnings.append(f"no sentiment ({', '.join(scheme_cols)}) in outcome period(s) {dates}: "
                                "those periods are excluded, so the estimate describes the other periods only "
                                "(widen window_days or check the responses)")
    dropped = int((~keep).sum())
    if dropped:
        notes.append(f"{dropped} of {len(frame)} rows dropped for missing values "
                     f"(complete cases of {', '.join(dict.fromkeys(columns))})")
    # only the columns the fit uses (and the account id): each Fit keeps its rows,
    # and a dozen copies of a 50-column, 400k-row frame cost gigabytes
    out = frame.loc[keep, list(dict.fromkeys([*columns, *(c for c in ("account_id",) if c in frame.columns)]))]
    if len(out) == 0:
        # name the columns that are blank in every row: the real cause (e.g. blank bookings), not a guess
        blank = [c for c in dict.fromkeys(columns) if frame[c].isna().all()]
        if not blank:
            raise ModelError(f"no complete rows to fit: every row misses one of {', '.join(dict.fromkeys(columns))} "
                             "(never all in one row); choose another scheme or drop a control")
        hint = ("no responses in the look-back window before period_end? widen window_days or choose another scheme"
                if any(c in scheme_cols for c in blank) else "fill the column or leave it out of the model")
        raise ModelError(f"no complete rows to fit: {', '.join(blank)} missing in every row ({hint})")
    return out


def _groups(data, cluster):
    if cluster is None or cluster not in data.columns:
        return None
    codes, _ = pd.factorize(data[cluster])
    return codes


def _fit_glm(data, formula, family, *, name, focus, cluster, notes, fit_warnings, outcome, kind="glm",
             log_link=None, var_power=1.5, lp=None, start_params=None, term_warnings=None, robust="auto"):
    """Fit a GLM from a formula on prepared rows, with every diagnostic."""
    import statsmodels.api as sm
    import statsmodels.formula.api as smf
    from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

    fam = _family(family, var_power)
    is_binary = isinstance(fam, sm.families.Binomial)
    term_warnings = {} if term_warnings is None else term_warnings
    model = _formula_model(smf.glm, formula, data, family=fam)
    X, y, names = model.exog, model.endog, list(model.exog_names)
    if is_binary and not np.isin(y, (0.0, 1.0)).all():
        raise ModelError(f"outcome {outcome!r} has values other than 0 and 1 "
                         f"(e.g. {sorted(set(np.unique(y)) - {0.0, 1.0})[:3]}); a logistic model needs 0/1")

    # Constant / collinear terms: drop aliased columns like R, and say so.
    flags, aliased = aliased_flags(X, names, term_warnings)
    fit_warnings += flags
    if aliased:
        keep = [j for j in range(X.shape[1]) if j not in aliased]
        exog = pd.DataFrame(X[:, keep], columns=[names[j] for j in keep], index=data.index)
        model = sm.GLM(pd.Series(y, index=data.index, name=outcome), exog, family=fam)
        X, names = model.exog, list(model.exog_names)

    n = len(y)
    events = None
    if is_binary:
        events = int(y.sum())
        if min(events, n - events) == 0:
            raise ModelError(f"outcome {outcome!r} is {int(y[0])} in every one of the {n} rows; "
                             "there is nothing to explain (need both renewals and non-renewals)")

    groups = _groups(data, cluster)
    n_cl = None if groups is None else _n_groups(groups)
    cov_type, cov_kwds, label = "nonrobust", None, "nonrobust"
    # robust: "auto" (cluster when accounts repeat, else model-based), "auto_hc1" (cluster when
    # accounts repeat, else HC1), "HC1" or "nonrobust" (forced)
    if groups is not None and n_cl < len(groups) and robust in ("auto", "auto_hc1"):
        cov_type, cov_kwds, label = "cluster", {"groups": groups}, "cluster"
    elif robust in ("HC1", "auto_hc1"):
        # HC1 = White's sandwich times n / (n - k) (MacKinnon & White 1985). statsmodels' GLM
        # "HC1" applies no n / (n - k) (it is HC0); its cluster sandwich with one row per
        # cluster has the factor G/(G-1) (N-1)/(N-K) = n / (n - k): exactly HC1.
        cov_type, cov_kwds, label = "cluster", {"groups": np.arange(n)}, "HC1"
    # tol 1e-10: IRLS to full convergence (the default 1e-8 leaves SEs off in the 5th digit)
    settings = {"tol": 1e-10}
    if isinstance(fam, sm.families.Gaussian):
        settings["use_t"] = True  # t with n - k df, as R's lm / glm(gaussian)
    start = None
    if len(y) >= WARM_START_MIN_ROWS:
        given = None if start_params is None or len(start_params) != X.shape[1] else start_params
        start = warm_start(X, y, fam, start=given)
        if start is not None:
            # Started at the optimum, the deviance only moves by rounding: stop once the change
            # is at that level instead of iterating until two values happen to agree to 1e-10.
            settings["rtol"] = WARM_RTOL
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = model.fit(cov_type=cov_type, cov_kwds=cov_kwds, start_params=start, **settings)
    loglink_zeros = (isinstance(fam, (sm.families.Tweedie, sm.families.Poisson))
                     and isinstance(fam.link, sm.families.links.Log) and bool((y == 0).any()))
    found = diagnose(X, y, names, "binary" if is_binary else "loglink_zeros" if loglink_zeros else "continuous",
                     result=result, caught=caught, clusters=groups if label == "cluster" else None,
                     cluster_name=cluster, lp=lp, term_warnings=term_warnings,
                     mu=np.asarray(result.fittedvalues), outcome=outcome)
    if is_binary and any(issubclass(w.category, PerfectSeparationWarning) for w in caught) and not any(
            f.flag == "separation" for f in found):
        found.append(Flag("separation", "separation: statsmodels reports perfect prediction"))
    fit_warnings += found
    cov_type = label
    if log_link is None:
        log_link = isinstance(fam.link, sm.families.links.Log)
    fit = Fit(name=name, result=result, formula=formula, outcome=outcome, kind="logit" if is_binary else kind,
              focus=list(focus), warnings=fit_warnings, notes=notes, term_warnings=term_warnings, n=n,
              n_accounts=n_cl if cluster == "account_id" and n_cl is not None else _n_accounts(data),
              events=events, cov_type=cov_type, log_link=log_link, data=data)
    _degenerate(fit_warnings, name)
    return fit


def _formula_model(build, formula, data, **kwargs):
    """A statsmodels formula model on ``data``, patsy reading only the formula's columns.

    Handing patsy the whole frame makes statsmodels copy every text column
    (e.g. 400k account ids) before patsy ignores them; the design matrices
    are the same either way, and ``model.data.frame`` is still the whole
    frame, as :meth:`from_formula` leaves it. A formula naming a column in a
    way :func:`formula_columns` does not see (``Q("a b")``) gets the whole
    frame.
    """
    full = _categorical_text(data, formula)
    cols = formula_columns(formula, full)
    try:
        try:
            model = build(formula, full[cols], **kwargs)
        except Exception:
            model = build(formula, full, **kwargs)
    except Exception as exc:  # patsy/formula errors: say which formula
        raise ModelError(f"formula={formula!r} could not be built on the frame: {exc}") from exc
    model.data.frame = full
    return model


def _n_groups(codes):
    """Distinct values of factorised codes (``pd.factorize``: 0..G-1, -1 for missing)."""
    if len(codes) == 0:
        return 0
    return int(codes.max()) + 1 if codes.min() >= 0 else len(np.unique(codes))


#: Rows from which a GLM is warm-started (:func:`warm_start`). Smaller fits
#: cost milliseconds and take statsmodels' path from scratch unchanged.
WARM_START_MIN_ROWS = 50_000

#: Relative deviance change at which a warm-started statsmodels IRLS stops
#: (a few hundred units of rounding of a deviance summed over many rows).
WARM_RTOL = 1e-13


def warm_start(X, y, family, start=None, maxiter=100, tol=1e-13):
    """Maximum-likelihood GLM coefficients by IRLS on the normal equations,
    as a starting point for statsmodels; None when they are not reliable.

    statsmodels' IRLS solves an ``n x k`` least-squares problem (an SVD)
    per iteration; the ``k x k`` normal equations ``X'WX b = X'Wz`` reach the
    same fixed point for a fraction of the cost. Started there, statsmodels
    converges in one iteration and still computes everything it returns
    (estimates, covariance, likelihood) itself. Estimates equal a fit from
    scratch up to rounding; standard errors too at portfolio scale, where
    :func:`_fit_glm` uses it (``WARM_START_MIN_ROWS``). (On a few hundred rows
    statsmodels' own path leaves the covariance evaluated at the
    next-to-last iterate, some 1e-8 away from the one at the optimum that a
    warm start gives.)

    The iteration starts at ``start`` (e.g. the estimate on nearly the same
    rows), else at a fit on an evenly spaced subsample of about 50,000 rows
    when ``X`` is much larger (fewer full-size iterations), else where
    statsmodels starts. It stops when no linear predictor moves by more than
    ``tol`` (relative to the largest; ``sqrt(tol)`` for the logit, where IRLS
    is Newton's method and converges quadratically): the one stopping rule of
    :mod:`cxinfluence.models.irls`, whose loop this is. It returns None
    (statsmodels then starts from scratch, as without a warm start) when that
    loop gives up (no convergence within ``maxiter``, non-finite values, or a
    binary model driving fitted probabilities within 1e-6 of 0 or 1: possible
    separation, where the path taken matters) or meets a singular design.

    Examples
    --------
    >>> import statsmodels.api as sm
    >>> d = sm.datasets.spector.load_pandas().data
    >>> X, y = sm.add_constant(d[["GPA", "TUCE", "PSI"]]).to_numpy(), d["GRADE"].to_numpy()
    >>> b = warm_start(X, y, sm.families.Binomial())
    >>> bool(np.allclose(b, sm.GLM(y, X, family=sm.families.Binomial()).fit(tol=1e-12).params, rtol=1e-8))
    True
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if start is None and len(y) >= 4 * WARM_START_MIN_ROWS:
        step = len(y) // WARM_START_MIN_ROWS
        start = _normal_irls(X[::step], y[::step], family, None, maxiter, 1e-6)
    return _normal_irls(X, y, family, start, maxiter, tol)


def _normal_irls(X, y, family, start, maxiter, tol):
    """:func:`cxinfluence.models.irls.irls_fit` as a warm start: its estimate when it
    converged on a nonsingular design, else None (statsmodels then starts from scratch)."""
    r = irls_fit(X, y, family, start, tol=tol, maxiter=maxiter)
    return r.params if r.converged and not r.singular else None


def _categorical_text(data, formula):
    """``data`` with the formula's text columns as pandas Categoricals.

    patsy inspects a text column value by value (seconds on a portfolio's
    frame) but reads a Categorical at once; the levels (sorted), the terms and
    the design matrix are the same, and predictions on plain text still work.
    """
    text = [c for c in formula_columns(formula, data) if c in data.columns
            and (data[c].dtype == object or pd.api.types.is_string_dtype(data[c]))]
    return data.assign(**{c: pd.Categorical(data[c]) for c in text}) if text else data


def _n_accounts(data):
    return int(data["account_id"].nunique()) if "account_id" in data.columns else len(data)


def _rhs(terms):
    return " + ".join(terms) if terms else "1"


# --------------------------------------------------------------------------
# Public fitting functions
# --------------------------------------------------------------------------
def fit_rebuy(frame, scheme=PRIMARY_SCHEME, controls=None, formula=None, cluster="account_id",
              outcome="renewed", name=None, start_params=None) -> Fit:
    """Logistic regression of renewal on a sentiment scheme plus controls.

    ``logit P(renewed) = b0 + b1 scheme + controls``, fitted by maximum
    likelihood (statsmodels ``GLM``, ``Binomial`` family, IRLS; identical to
    R's ``glm(..., family = binomial)``). Standard errors are cluster-robust by
    ``cluster`` when an account appears in several periods.

    Parameters
    ----------
    frame : DataFrame
        The model frame (one row per account and period).
    scheme : str
        Sentiment column (``mean``, ``influence_weighted``, ``nps``...).
    controls : list of str, optional
        Control terms (column names or formula terms such as
        ``"C(region)"``). Default: those of :data:`DEFAULT_CONTROLS` present
        and not constant.
    formula : str, optional
        Full formula; overrides ``scheme`` and ``controls``.
    cluster : str or None
        Column identifying repeated units.
    outcome : str
    name : str, optional
        Model name (default ``"rebuy:<scheme>"``).
    start_params : array, optional
        Where the iterations of a large fit (``WARM_START_MIN_ROWS`` rows or
        more) start, e.g. the estimate on nearly the same rows; the result
        does not depend on it beyond rounding. Ignored on smaller fits.

    Returns
    -------
    Fit

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"account_id": [f"a{i}" for i in range(400)], "mean": rng.uniform(-1, 1, 400)})
    >>> df["renewed"] = (rng.uniform(size=400) < 1 / (1 + np.exp(-(0.5 + 2 * df["mean"])))).astype(float)
    >>> f = fit_rebuy(df, scheme="mean")
    >>> f.reliable, round(float(f.result.params["mean"]), 1)
    (True, 2.2)
    """
    _check_frame(frame)
    notes, fit_warnings = [], []
    if formula is None:
        _require(frame, [outcome], "outcome")
        _require(frame, [scheme], "scheme")
        controls = _resolve_controls(frame, controls, notes)
        formula = f"{outcome} ~ {_rhs([scheme] + controls)}"
        focus = [scheme]
    else:
        focus = [scheme] if scheme in formula_columns(formula, frame) else []
    cols = formula_columns(formula, frame)
    extra = [c for c in (cluster, "period_end") if c and c in frame.columns]
    data = _prepare_rows(frame, cols + extra, [c for c in focus if c in frame.columns], notes, fit_warnings)
    return _fit_glm(data, formula, "binomial", name=name or f"rebuy:{scheme}", focus=focus, cluster=cluster,
                    notes=notes, fit_warnings=fit_warnings, outcome=outcome, start_params=start_params)


def fit_bookings(frame, scheme=PRIMARY_SCHEME, controls=None, family="tweedie", formula=None,
                 cluster="account_id", outcome="bookings", var_power=1.5, name=None, robust="auto") -> Fit:
    """Bookings on a sentiment scheme plus controls.

    ``family``:

    ``"tweedie"`` (default)
        GLM with log link and Tweedie variance ``V(mu) = mu^p`` (``p =
        var_power``, 1 < p < 2: a compound Poisson-gamma distribution with a
        point mass at zero, Jorgensen 1987), so accounts with zero bookings
        are modelled, not dropped. The scale is the Pearson estimate.
    ``"gamma"``
        GLM with log link and Gamma variance on the **positive** bookings only:
        the amount part of a two-part (hurdle) model; the zero part is a logit
        of ``bookings > 0`` (fit it with :func:`fit_formula`). The rows with
        zero bookings are dropped and counted in ``notes``.
    ``"ols_log"``
        OLS on ``log1p(bookings)``.

    With a log link (all three), ``exp(b) - 1`` is the proportional change in
    expected bookings (``1 + bookings`` for ``ols_log``) per unit of the term;
    :meth:`Fit.tidy` adds it as ``pct_effect`` with its interval.

    Standard errors (``robust``): ``"auto"`` (default) is cluster-robust by
    ``cluster`` when an account appears in several rows, else, for
    ``tweedie`` and ``gamma``, the HC1 sandwich (White 1980; MacKinnon &
    White 1985): the fixed variance power (or the Gamma's quadratic variance)
    is a working assumption, and when the real variance grows faster with
    the mean, model-based intervals are too narrow (in the seeded simulation
    of the tests, 200 worlds of 300 accounts with variance equal to the mean
    squared, a Tweedie p = 1.5 fit's 95% intervals for the two slopes cover
    0.905 and 0.885 with model-based errors, 0.94 and 0.94 with HC1).
    ``ols_log`` keeps model-based errors with t intervals (as R's ``lm``)
    unless accounts repeat. ``"HC1"`` forces the sandwich (also when accounts
    repeat), ``"nonrobust"`` model-based errors. :attr:`Fit.se_type` says
    which.

    Bookings that are 0 in every row, or equal in every row, cannot be
    modelled: :class:`~cxinfluence.exceptions.DegenerateFitError` (a
    ``ModelError``) names the outcome and the fix. A term that is 1 only where
    bookings are 0 makes the estimate diverge (separation): the fit is
    flagged and not ``reliable``.

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> df = pd.DataFrame({"account_id": [f"a{i}" for i in range(300)], "mean": rng.uniform(-1, 1, 300)})
    >>> df["bookings"] = rng.gamma(2.0, np.exp(3 + 0.5 * df["mean"]) / 2.0) * (rng.uniform(size=300) < 0.9)
    >>> f = fit_bookings(df, scheme="mean")
    >>> t = f.tidy().set_index("term")
    >>> bool(t.loc["mean", "pct_ci_low"] < 100 * np.expm1(0.5) < t.loc["mean", "pct_ci_high"])
    True
    """
    _check_frame(frame)
    fam = family.lower() if isinstance(family, str) else family
    if fam not in ("tweedie", "gamma", "ols_log"):
        raise ModelError(f"family={family!r} is not supported for bookings; expected 'tweedie', 'gamma' or 'ols_log'")
    notes, fit_warnings = [], []
    _require(frame, [outcome], "outcome")
    if formula is None:
        _require(frame, [scheme], "scheme")
        controls = _resolve_controls(frame, controls, notes)
        rhs, focus = _rhs([scheme] + controls), [scheme]
    else:
        if "~" not in formula:
            raise ModelError(f"formula={formula!r} has no '~'; expected e.g. 'bookings ~ mean + log_revenue'")
        rhs = formula.split("~", 1)[1].strip()
        focus = [scheme] if scheme in formula_columns(rhs, frame) else []
    y = pd.to_numeric(frame[outcome], errors="coerce")
    if (y < 0).any():
        raise ModelError(f"outcome {outcome!r} has negative values (min {y.min()}); bookings must be >= 0")
    cols = formula_columns(rhs, frame)
    extra = [c for c in (cluster, "period_end") if c and c in frame.columns]
    data = _prepare_rows(frame, [outcome] + cols + extra, [c for c in focus if c in frame.columns], notes, fit_warnings)
    label = name or f"bookings_{fam}:{scheme}"
    if robust not in ("auto", "HC1", "nonrobust"):
        raise ModelError(f"robust={robust!r}; expected 'auto' (cluster-robust when accounts repeat, else HC1), "
                         "'HC1' or 'nonrobust'")
    _check_bookings_vary(data[outcome], outcome, fam)
    if robust == "auto" and fam in ("tweedie", "gamma"):
        robust = "auto_hc1"
    if fam == "gamma":
        zero = int((data[outcome] == 0).sum())
        if zero:
            notes.append(f"gamma: {zero} rows with zero {outcome} dropped (amount part of a two-part model; "
                         f"model P({outcome} > 0) separately)")
        data = data[data[outcome] > 0]
        if len(data) == 0:
            raise ModelError(f"family='gamma' needs positive {outcome}, but every row is 0; use family='tweedie'")
        return _fit_glm(data, f"{outcome} ~ {rhs}", "gamma", name=label, focus=focus, cluster=cluster,
                        notes=notes, fit_warnings=fit_warnings, outcome=outcome, robust=robust)
    if fam == "tweedie":
        if not 1 < var_power < 2:
            raise ModelError(f"var_power={var_power!r}; expected 1 < var_power < 2 (compound Poisson-gamma)")
        return _fit_glm(data, f"{outcome} ~ {rhs}", "tweedie", name=label, focus=focus, cluster=cluster,
                        notes=notes, fit_warnings=fit_warnings, outcome=outcome, var_power=var_power,
                        robust=robust)
    # OLS on log1p: Gaussian GLM is numerically OLS; keep the OLS result object for R2.
    ycol = f"log1p_{outcome}"
    data = data.assign(**{ycol: np.log1p(data[outcome].astype(float))})
    fit = _fit_glm(data, f"{ycol} ~ {rhs}", "gaussian", name=label, focus=focus, cluster=cluster,
                   notes=notes, fit_warnings=fit_warnings, outcome=ycol, log_link=True, robust=robust)
    return _as_ols(fit, data, cluster)


def _check_bookings_vary(y, outcome, family):
    """DegenerateFitError for bookings that are all 0 or all equal (before statsmodels sees them)."""
    y = pd.to_numeric(y, errors="coerce").to_numpy(dtype=float)
    if len(y) and np.all(y == 0):
        raise DegenerateFitError(f"{outcome} is 0 in every one of the {len(y)} rows used; there is nothing to "
                                 f"model (check the bookings table and the outcome periods, or skip the bookings "
                                 "model)")
    if family != "gamma" and len(y) and np.ptp(y) == 0:
        raise DegenerateFitError(f"{outcome} is {y[0]:g} in every one of the {len(y)} rows used; a constant "
                                 "outcome has no variation to explain (skip the bookings model)")
    if family == "gamma":
        pos = y[y > 0]
        if len(pos) and np.ptp(pos) == 0:
            raise DegenerateFitError(f"family='gamma': the positive {outcome} are all {pos[0]:g}; a constant "
                                     "amount has no variation to explain (use the zero/positive logit only)")


def _as_ols(fit, data, cluster):
    """Refit a Gaussian GLM as statsmodels OLS (same estimates; R2, F; t-based inference)."""
    import statsmodels.api as sm

    m = fit.result.model
    ols = sm.OLS(m.endog, pd.DataFrame(m.exog, columns=m.exog_names, index=data.index))
    groups = _groups(data, cluster)
    if fit.cov_type == "cluster":
        res = ols.fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    elif fit.cov_type == "HC1":
        res = ols.fit(cov_type="HC1", use_t=True)
    else:
        res = ols.fit()
    fit.result, fit.kind = res, "ols"
    fit.notes.append(f"OLS on log1p({fit.outcome.removeprefix('log1p_')}): 100 (exp(b) - 1) is the % change in "
                     "1 + bookings per unit of the term")
    return fit


def fit_formula(frame, formula, family="binomial", cluster="account_id", name=None, var_power=1.5) -> Fit:
    """Any GLM from a formula string on the model frame (researchers' interface).

    Parameters
    ----------
    frame : DataFrame
    formula : str
        patsy formula, e.g. ``"renewed ~ influence_weighted * C(segment)"``.
    family : str or statsmodels family
        ``"binomial"`` (logit), ``"gaussian"``, ``"poisson"``, ``"gamma"``
        (log link), ``"tweedie"`` (log link) or a ``statsmodels`` family.
    cluster : str or None
        Column for cluster-robust errors when units repeat.

    A formula with an lme4 random-effect term, e.g.
    ``"Reaction ~ Days + (Days | Subject)"``, is a mixed model
    (:func:`fit_mixed` with ``transform=None``; ``family`` "gaussian", or
    "binomial" with a random intercept). The Gaussian family reports t-based
    p-values and intervals with ``n - k`` degrees of freedom (as R's ``lm``).

    Returns
    -------
    Fit
        With every diagnostic of :func:`fit_rebuy`.

    Examples
    --------
    >>> import statsmodels.api as sm
    >>> d = sm.datasets.spector.load_pandas().data
    >>> f = fit_formula(d, "GRADE ~ GPA + TUCE + PSI", cluster=None)
    >>> f.warnings
    ['too few events: 11 rows with GRADE = 1 for 3 terms (3.7 per term < 10, Peduzzi et al. 1996)']
    """
    _check_frame(frame)
    if not isinstance(formula, str) or "~" not in formula:
        raise ModelError(f"formula={formula!r}; expected a string like 'renewed ~ mean + log_revenue'")
    notes, fit_warnings = [], []
    cols = formula_columns(formula, frame)
    lhs = formula.split("~", 1)[0].strip()
    if lhs not in frame.columns and not formula_columns(lhs, frame):
        raise ModelError(f"formula={formula!r}: outcome {lhs!r} is not a column; "
                         f"available columns: {sorted(map(str, frame.columns))}")
    if "|" in formula:  # lme4 random-effect term: a mixed model
        fam = family.lower() if isinstance(family, str) else family
        if fam not in ("gaussian", "ols", "normal", "binomial", "logit", "logistic"):
            raise ModelError(f"formula={formula!r} has a random-effect term; family={family!r} is not available for "
                             "mixed models (use 'gaussian' or 'binomial')")
        return fit_mixed(frame, formula=formula, transform=None, name=name or formula, scheme=None)
    extra = [c for c in (cluster, "period_end") if c and c in frame.columns]
    data = _prepare_rows(frame, cols + extra, [], notes, fit_warnings)
    return _fit_glm(data, formula, family, name=name or formula, focus=cols[1:], cluster=cluster, notes=notes,
                    fit_warnings=fit_warnings, outcome=lhs, var_power=var_power)


def fit_mixed(frame, scheme=PRIMARY_SCHEME, controls=None, outcome="bookings", groups="segment",
              formula=None, transform="log1p", reml=True, name=None, re_formula=None, lrt=True) -> Fit:
    """Mixed model: observations nested in ``groups``, random intercepts and slopes.

    Continuous outcome (default ``bookings``, modelled as ``log1p`` unless
    ``transform=None``): linear mixed model ``y_ij = x_ij'b + z_ij'u_j + e_ij``,
    ``u_j ~ N(0, G)``, fitted by REML with statsmodels ``MixedLM`` (the model
    of R's ``lme4::lmer``; it reproduces lme4's sleepstudy and Dyestuff fits).
    The random part is a random intercept (``(1 | group)``) unless
    ``re_formula`` (statsmodels syntax, ``"~Days"``) or the ``formula``
    (lme4 syntax, ``"Reaction ~ Days + (Days | Subject)"``, see
    :func:`cxinfluence.mixed.parse_random`) adds random slopes; a bar term
    in ``formula`` names the grouping column and overrides ``groups``.

    Variance components are reported on their own scale and as SDs
    (``Fit.variance_components`` and ``var(...)``/``sd(...)``/``corr(...)``
    rows of :meth:`Fit.tidy`), without Wald standard errors or p-values.
    With ``lrt=True`` the last random effect is tested by a boundary-aware
    likelihood-ratio test (:func:`cxinfluence.mixed.boundary_lrt`; its p-value
    is on that component's ``var`` row and in ``Fit.variance_test``). Fixed
    effects carry Wald z statistics, as statsmodels gives them (lme4 prints
    none; with few groups they are optimistic).

    Binary outcome (``renewed``): a logistic GLMM with a random intercept,
    ``BinomialBayesMixedGLM`` fitted by variational Bayes (``fit_vb``). This is
    what statsmodels offers for a binary GLMM; the fixed effects are posterior
    means with posterior SDs (reported as ``std_error``; intervals are mean
    +/- z SD; no p-values). For frequentist inference on renewal with repeated
    accounts prefer :func:`fit_rebuy`, whose cluster-robust errors do not
    depend on the random-effect distribution.

    Every fit goes through :func:`cxinfluence.diagnostics.diagnose`:
    separation (binary), non-convergence, a non-positive-definite Hessian, a
    variance at the boundary (0) or a correlation at +/-1, fewer than 5
    groups, too few rows or events per term, collinearity and non-finite
    numbers are flagged, and a flagged fit is never ``reliable``.

    ``groups`` may be ``"segment"``, ``"region"``, ``"account_id"`` (periods
    nested in accounts), or any column.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> seg = np.repeat(list("abcdefgh"), 50)
    >>> u = dict(zip("abcdefgh", rng.normal(0, 0.5, 8)))
    >>> df = pd.DataFrame({"account_id": [f"x{i}" for i in range(400)], "segment": seg,
    ...                    "mean": rng.uniform(-1, 1, 400)})
    >>> df["bookings"] = np.expm1(3 + 0.4 * df["mean"] + df["segment"].map(u) + rng.normal(0, 0.3, 400))
    >>> f = fit_mixed(df, scheme="mean", controls=[])
    >>> f.kind, round(float(f.result.fe_params["mean"]), 1), f.reliable
    ('mixedlm', 0.4, True)
    >>> f.variance_components.query("component == 'sd'")["estimate"].round(2).tolist()
    [0.71, 0.3]
    """
    _check_frame(frame)
    notes, fit_warnings, term_warnings = [], [], {}
    outcome, groups, re_formula, rhs, focus, slopes, intercept = _mixed_terms(
        frame, scheme, controls, outcome, groups, formula, re_formula, notes)
    cols = formula_columns(" + ".join([rhs, *slopes]), frame)
    extra = [c for c in ("account_id", "period_end") if c in frame.columns]
    data = _prepare_rows(frame, [outcome, groups] + cols + extra, [c for c in focus if c in frame.columns],
                         notes, fit_warnings)
    y = pd.to_numeric(data[outcome], errors="coerce")
    label = name or f"mixed_{outcome}:{scheme}|{groups}"
    re_text = " + ".join((["1"] if intercept else ["0"]) + list(slopes))
    common = dict(focus=focus, label=label, notes=notes, fit_warnings=fit_warnings, term_warnings=term_warnings)
    if bool(np.isin(y, (0, 1)).all()):
        if slopes:
            raise ModelError(f"random slopes ({re_text} | {groups}) are not available for a binary outcome "
                             "(variational Bayes GLMM has random intercepts only); use (1 | group)")
        fit = _binary_mixed(data, y, outcome, rhs, groups, **common)
    else:
        fit = _linear_mixed(data, y, outcome, rhs, groups, re_formula, re_text, slopes, intercept, transform=transform,
                            reml=reml, lrt=lrt, **common)
    _degenerate(fit_warnings, label)
    return fit


def _mixed_terms(frame, scheme, controls, outcome, groups, formula, re_formula, notes):
    """The terms of :func:`fit_mixed` from its arguments or its lme4-style formula:
    ``(outcome, groups, re_formula, fixed rhs, focus terms, random slopes, random intercept?)``."""
    from .mixed import parse_random

    slopes, intercept = [], True
    if formula is not None:
        if not isinstance(formula, str) or "~" not in formula:
            raise ModelError(f"formula={formula!r}; expected e.g. 'y ~ x + (x | group)'")
        fixed, re_from_formula, bar_group, slopes, intercept = parse_random(formula)
        if bar_group is not None:
            groups, re_formula = bar_group, re_from_formula
        lhs = fixed.split("~", 1)[0].strip()
        if lhs in frame.columns:
            outcome = lhs
    elif re_formula is not None:
        _, _, _, slopes, intercept = parse_random(f"y ~ 1 + ({re_formula.lstrip('~')} | g)")
    _require(frame, [outcome], "outcome")
    _require(frame, [groups], "groups")
    if formula is None:
        _require(frame, [scheme], "scheme")
        ctrl = [c for c in _resolve_controls(frame, controls, notes) if c != groups]
        rhs, focus = _rhs([scheme] + ctrl), [scheme]
    else:
        rhs = fixed.split("~", 1)[1].strip()
        focus = [scheme] if scheme in formula_columns(rhs, frame) else []
    return outcome, groups, re_formula, rhs, focus, slopes, intercept


def _binary_mixed(data, y, outcome, rhs, groups, *, focus, label, notes, fit_warnings, term_warnings):
    """A 0/1 outcome: random-intercept logit by variational Bayes (``BinomialBayesMixedGLM``)."""
    from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM

    data = data.assign(_group=data[groups].astype(str))
    model = BinomialBayesMixedGLM.from_formula(f"{outcome} ~ {rhs}", {"group": "0 + C(_group)"}, data)
    X, names = np.asarray(model.exog, dtype=float), list(model.exog_names)
    flags, _ = aliased_flags(X, names, term_warnings)
    fit_warnings += flags
    events = int(y.sum())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = model.fit_vb()
    sd_re = float(np.exp(np.asarray(result.vcp_mean, dtype=float)[0]))
    fit_warnings += diagnose(X, np.asarray(y, dtype=float), names, "binary", result=result, caught=caught,
                             groups=data[groups].to_numpy(), group_name=groups, term_warnings=term_warnings,
                             variances={"sd": {groups: sd_re}}, bse=result.fe_sd,
                             converged=bool(result.optim_retvals.success), mu=result.predict(), outcome=outcome)
    fit = Fit(name=label, result=result, formula=f"{outcome} ~ {rhs} + (1 | {groups})", outcome=outcome,
              kind="bayes_mixed_glm", focus=focus, warnings=fit_warnings, notes=notes,
              term_warnings=term_warnings, n=len(data), n_accounts=_n_accounts(data), events=events,
              cov_type="posterior", data=data)
    notes.append("variational Bayes posterior (BinomialBayesMixedGLM.fit_vb): std_error is a posterior SD; "
                 f"random-intercept SD (posterior mean of its log, exponentiated) {sd_re:.3g} on the logit scale")
    return fit


def _linear_mixed(data, y, outcome, rhs, groups, re_formula, re_text, slopes, intercept, *, transform, reml, lrt,
                  focus, label, notes, fit_warnings, term_warnings):
    """A continuous outcome (``log1p`` by default): linear mixed model (``MixedLM``), REML or ML, with the
    boundary likelihood-ratio test of the random effect."""
    import statsmodels.formula.api as smf

    from .mixed import boundary_lrt, variance_components

    ycol = outcome
    if transform == "log1p":
        if (y < 0).any():
            raise ModelError(f"transform='log1p' needs {outcome} >= 0; got min {y.min()}; use transform=None")
        ycol = f"log1p_{outcome}"
        data = data.assign(**{ycol: np.log1p(y.astype(float))})
    elif transform is not None:
        raise ModelError(f"transform={transform!r}; expected 'log1p' or None")
    if np.ptp(data[ycol].to_numpy(dtype=float)) == 0:
        raise DegenerateFitError(f"{outcome} is {y.iloc[0]:g} in every one of the {len(y)} rows; a constant outcome "
                                 "has no variation to explain")
    fixed_formula = f"{ycol} ~ {rhs}"
    model = smf.mixedlm(fixed_formula, data, groups=data[groups], re_formula=re_formula)
    X, names = np.asarray(model.exog, dtype=float), list(model.exog_names)
    flags, aliased = aliased_flags(X, names, term_warnings)
    if aliased:
        raise ModelError(f"the fixed-effect design of {ycol} ~ {rhs} is rank-deficient "
                         f"({'; '.join(f'{t}: {w}' for t, w in term_warnings.items())}); remove those terms")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = model.fit(reml=reml)
    vc = variance_components(result, groups)
    var_rows = vc[(vc["component"] == "var") & (vc["group"] != "Residual")]
    corr_rows = vc[vc["component"] == "corr"]
    variances = {"var": {f"var({groups}: {t})": (e, m) for t, e, m in
                         var_rows[["term", "estimate", "mean_square"]].itertuples(index=False)},
                 "corr": {f"corr({groups}: {t})": e
                          for t, e in corr_rows[["term", "estimate"]].itertuples(index=False)},
                 "scale": float(result.scale)}
    fit_warnings += diagnose(X, data[ycol].to_numpy(dtype=float), names, "continuous", result=result, caught=caught,
                             groups=data[groups].to_numpy(), group_name=groups, term_warnings=term_warnings,
                             variances=variances, converged=bool(result.converged), outcome=ycol)
    test = None
    if lrt:
        test = boundary_lrt(data, fixed_formula, groups, slopes, intercept)
        if test is None:
            notes.append("no likelihood-ratio test of the random effect: a maximum-likelihood refit failed")
    else:
        notes.append("no likelihood-ratio test of the random effect was asked for (lrt=False)")
    if not reml:
        notes.append("fitted by maximum likelihood (reml=False): variance components are biased downward")
    return Fit(name=label, result=result, formula=f"{ycol} ~ {rhs} + ({re_text} | {groups})", outcome=ycol,
               kind="mixedlm", focus=focus, warnings=fit_warnings, notes=notes, term_warnings=term_warnings,
               n=len(data), n_accounts=_n_accounts(data), cov_type="reml" if reml else "ml",
               log_link=transform == "log1p", data=data, variance_components=vc, variance_test=test)


# --------------------------------------------------------------------------
# Counterfactual (scenario) effects and the buying decision equation
# --------------------------------------------------------------------------
def _anchor(nps_value):
    from ..village.scale import to_common_scale

    return float(to_common_scale(pd.DataFrame({"nps": [nps_value]}))["nps"].iloc[0])


#: Common-scale sentiment of a typical detractor (NPS 3, the middle of 0-6)
#: and a typical promoter (NPS 9.5, the middle of 9-10).
DETRACTOR = _anchor(3.0)
PROMOTER = _anchor(9.5)


def scenario_effect(fit, set_low, set_high, conf_level=0.95) -> dict:
    """Average predicted outcome under two scenarios, and their difference.

    Every row of the fitted data is kept as it is except the columns in
    ``set_low`` / ``set_high`` (design-matrix column name -> value), and the
    model's predictions are averaged (g-computation / "average predictive
    comparison", Gelman & Pardoe 2007). The interval of the difference uses the
    delta method with the fit's covariance (cluster-robust when the fit is):
    ``grad = mean(h'(eta) x_high) - mean(h'(eta) x_low)``, ``var = grad' V grad``,
    where ``h`` is the inverse link.

    Returns
    -------
    dict
        ``low, high, difference, std_error, ci_low, ci_high`` (probabilities
        for a logit).
    """
    from scipy import stats

    res = fit.result
    names = list(res.model.exog_names)
    for col in list(set_low) + list(set_high):
        if col not in names:
            raise ModelError(f"scenario column {col!r} is not a term of model {fit.name!r}; terms: {names}")
    X = np.asarray(res.model.exog, dtype=float)
    b = np.asarray(res.params, dtype=float)
    V = np.asarray(res.cov_params(), dtype=float)
    link = res.model.family.link

    eta0 = X @ b

    def avg(setting):
        # Only the set columns change: shift the linear predictor rather than copy X.
        eta = eta0.copy()
        for col, val in setting.items():
            j = names.index(col)
            eta += (val - X[:, j]) * b[j]
        mu = link.inverse(eta)
        d = link.inverse_deriv(eta)
        grad = (d @ X) / len(d)
        for col, val in setting.items():
            grad[names.index(col)] = val * d.mean()
        return float(mu.mean()), grad

    lo, g_lo = avg(set_low)
    hi, g_hi = avg(set_high)
    g = g_hi - g_lo
    se = float(np.sqrt(max(g @ V @ g, 0.0)))
    z = stats.norm.ppf(0.5 + conf_level / 2)
    d = hi - lo
    return {"low": lo, "high": hi, "difference": d, "std_error": se, "ci_low": d - z * se, "ci_high": d + z * se}


def decision_equation(frame, roles=None, controls=None, outcome="renewed", cluster="account_id",
                      low=None, high=None, conf_level=0.95, name="decision_equation") -> Fit:
    """The buying decision equation: each role's sentiment enters separately.

    ``logit P(renewed) = b0 + sum_r (b_r s_r + c_r unheard_r) + controls``

    where ``s_r`` is the sentiment of role (or group) ``r`` (frame column
    ``sent_<r>``, set to 0, the scale midpoint, when the role was not heard) and
    ``unheard_r = 1`` when it was not heard (``heard_<r> == 0``). The missing-
    indicator coding keeps accounts where some roles were silent and lets
    silence carry its own effect ``c_r`` (Cohen & Cohen 1975, ch. 7): ``b_r``
    is the value of a role's sentiment where it is heard.

    ``roles`` are group names with ``sent_<r>``/``heard_<r>`` columns in the
    frame: the buying-center roles (default: every role of
    :data:`cxinfluence.village.schema.ROLES` present), or e.g. ``["veto", "nonveto"]``.
    A role heard in every row needs no indicator (dropped, noted); a role never
    heard cannot be estimated (left out, with a warning).

    The result's ``effects`` table answers "what happens to the chance of
    renewal when role r moves from detractor to promoter": for each role the
    average predicted renewal with that role heard at ``low`` (default
    :data:`DETRACTOR`, NPS 3 on the common scale) and at ``high`` (default
    :data:`PROMOTER`, NPS 9.5), everyone else as observed, the difference in
    probability and its delta-method interval (:func:`scenario_effect`).

    Examples
    --------
    >>> rng = np.random.default_rng(4); n = 1500
    >>> df = pd.DataFrame({"account_id": [f"a{i}" for i in range(n)],
    ...                    "sent_decider": rng.uniform(-1, 1, n),
    ...                    "heard_decider": (rng.uniform(size=n) < 0.7).astype(float),
    ...                    "sent_user": rng.uniform(-1, 1, n), "heard_user": np.ones(n)})
    >>> df.loc[df["heard_decider"] == 0, "sent_decider"] = np.nan
    >>> eta = 0.3 + 2.0 * df["sent_decider"].fillna(0) + 0.2 * df["sent_user"]
    >>> df["renewed"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(float)
    >>> f = decision_equation(df, controls=[])
    >>> e = f.effects.set_index("role")
    >>> bool(e.loc["decider", "difference"] > 0.3 and e.loc["decider", "ci_low"] > 0)
    True
    """
    from ..village.schema import ROLES

    _check_frame(frame)
    low = DETRACTOR if low is None else float(low)
    high = PROMOTER if high is None else float(high)
    if roles is None:
        roles = [r for r in ROLES if f"sent_{r}" in frame.columns]
        if not roles:
            raise ModelError("frame has no sent_<role> columns; expected e.g. 'sent_decider' and 'heard_decider' "
                             "(build the frame with cxinfluence.model_frame) or pass roles=[...]")
    roles = [roles] if isinstance(roles, str) else list(roles)
    need = [f"sent_{r}" for r in roles]
    _require(frame, need + [outcome], "roles")
    notes, fit_warnings, term_warnings = [], [], {}
    controls = _resolve_controls(frame, controls, notes)
    data = frame.copy()
    terms, used = [], []
    for r in roles:
        s = pd.to_numeric(data[f"sent_{r}"], errors="coerce")
        heard = ((pd.to_numeric(data[f"heard_{r}"], errors="coerce").fillna(0) > 0) if f"heard_{r}" in data
                 else s.notna())
        heard &= s.notna()
        if not heard.any():
            fit_warnings.append(f"role {r!r} is never heard: its effect cannot be estimated (left out)")
            term_warnings[f"sent_{r}"] = "never heard"
            continue
        data[f"sent_{r}"] = s.where(heard, 0.0)
        data[f"unheard_{r}"] = (~heard).astype(float)
        terms.append(f"sent_{r}")
        if heard.all():
            notes.append(f"role {r!r} is heard in every row: no unheard indicator")
        else:
            terms.append(f"unheard_{r}")
        used.append(r)
    if not used:
        raise ModelError(f"none of roles={roles} is ever heard in the frame; nothing to estimate")
    formula = f"{outcome} ~ {_rhs(terms + controls)}"
    cols = formula_columns(formula, data)
    extra = [c for c in (cluster, "period_end") if c and c in data.columns]
    data = _prepare_rows(data, cols + extra, [], notes, fit_warnings)
    fit = _fit_glm(data, formula, "binomial", name=name, focus=[f"sent_{r}" for r in used], cluster=cluster,
                   notes=notes, fit_warnings=fit_warnings, outcome=outcome, term_warnings=term_warnings)
    names = list(fit.result.model.exog_names)
    rows = []
    for r in roles:
        row = {"role": r, "term": f"sent_{r}", "sentiment_low": low, "sentiment_high": high}
        if f"sent_{r}" in names:
            heard_at = {f"unheard_{r}": 0.0} if f"unheard_{r}" in names else {}
            eff = scenario_effect(fit, {f"sent_{r}": low, **heard_at}, {f"sent_{r}": high, **heard_at}, conf_level)
            row.update(p_low=eff["low"], p_high=eff["high"], difference=eff["difference"],
                       std_error=eff["std_error"], ci_low=eff["ci_low"], ci_high=eff["ci_high"])
        row["warning"] = "; ".join(x for x in (fit.term_warnings.get(f"sent_{r}", ""), "; ".join(fit.warnings)) if x)
        row["reliable"] = fit.reliable and not fit.term_warnings.get(f"sent_{r}")
        rows.append(row)
    fit.effects = pd.DataFrame(rows, columns=["role", "term", "sentiment_low", "sentiment_high", "p_low", "p_high",
                                              "difference", "std_error", "ci_low", "ci_high", "reliable", "warning"])
    return fit
