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

from .decision import DETRACTOR, PROMOTER, _anchor, decision_equation, scenario_effect  # noqa: F401

# The fitting code lives in modules of one job each; every name stays importable from here.
from .design import (  # noqa: F401
    DEFAULT_CONTROLS,
    SEPARATION_LP_MAX_ROWS,
    _binary_columns,
    _categorical_text,
    _cheap_separation,
    _check_frame,
    _degenerate,
    _diagnose_binary,
    _family,
    _formula_model,
    _groups,
    _n_accounts,
    _n_groups,
    _prepare_rows,
    _require,
    _resolve_controls,
    _rhs,
    design_rank,
    formula_columns,
    separation,
    vif,
)
from .diagnostics import MAX_VIF, MIN_CLUSTERS, MIN_EPV  # noqa: F401 - thresholds, re-exported
from .glm import (  # noqa: F401
    WARM_RTOL,
    WARM_START_MIN_ROWS,
    _as_ols,
    _check_bookings_vary,
    _fit_glm,
    _normal_irls,
    fit_bookings,
    fit_formula,
    fit_rebuy,
    warm_start,
)
from .mixed_fit import _binary_mixed, _linear_mixed, _mixed_terms, fit_mixed  # noqa: F401
from .results import Fit, _finite, models_table  # noqa: F401
