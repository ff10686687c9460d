"""Average marginal effects of a logit in closed form: statsmodels' ``get_margeff(at="overall", method="dydx")``
without its rows x coefficients x coefficients Jacobian.

statsmodels computes the delta-method covariance of the average marginal
effects by differentiating every row's effects numerically (complex step):
an ``n x k x k`` complex array, 3.75 GiB for a 2M-row renewal model, most of
the models stage's peak at portfolio scale. For a logit the derivative is
known: with ``d1 = F'(x'b)`` and ``d2 = F''(x'b)`` (the logistic function's
first and second derivatives, statsmodels' ``link.inverse_deriv`` and
``inverse_deriv2``), the average effect of column ``j`` is ``mean(d1) b_j``
and its Jacobian ``J[j, l] = mean(d1) [j == l] + b_j mean(d2 x_l)``: two
passes over the design. The covariance is ``J V J'`` (``V`` the fit's
covariance, cluster-robust where the fit is), as statsmodels has it.
:func:`logit_margins` returns statsmodels' own ``DiscreteMargins`` object with
those numbers (``margeff``, ``margeff_se``, ``margeff_cov``, ``conf_int``,
``pvalues``, ``tvalues``); the test suite checks it against ``get_margeff`` to
1e-10 relative.
"""

from __future__ import annotations

import numpy as np


def is_logit_glm(result) -> bool:
    """Whether ``result`` (statsmodels' or a lean GLM result) is a binomial GLM with the logit link."""
    from statsmodels.genmod import families

    family = getattr(getattr(result, "model", None), "family", None)
    return isinstance(family, families.Binomial) and isinstance(family.link, families.links.Logit)


def logit_margins(X, params, cov):
    """statsmodels' ``DiscreteMargins`` of ``get_margeff(at="overall", method="dydx")`` for a logit, in closed form.

    Parameters
    ----------
    X : ndarray (n, k)
        The design the logit was fitted on.
    params : array (k,)
        The estimates.
    cov : array (k, k)
        Their covariance (the fit's ``cov_params()``).

    Returns
    -------
    statsmodels.discrete.discrete_margins.DiscreteMargins
        With ``margeff``, ``margeff_se``, ``margeff_cov`` of the non-constant columns, and ``conf_int(alpha)``;
        not linked to a results object (``results`` is None).

    Examples
    --------
    >>> import statsmodels.api as sm
    >>> d = sm.datasets.spector.load_pandas().data
    >>> X = sm.add_constant(d[["GPA", "TUCE", "PSI"]]).to_numpy()
    >>> res = sm.GLM(d["GRADE"].to_numpy(), X, family=sm.families.Binomial()).fit()
    >>> m = logit_margins(X, res.params, res.cov_params())
    >>> ref = res.get_margeff(at="overall", method="dydx")
    >>> bool(np.allclose(m.margeff, ref.margeff, rtol=1e-10) and np.allclose(m.margeff_se, ref.margeff_se, rtol=1e-8))
    True
    """
    from statsmodels.discrete.discrete_margins import DiscreteMargins
    from statsmodels.genmod.families import links

    X = np.asarray(X, dtype=float)
    b = np.asarray(params, dtype=float)
    n, k = X.shape
    eta = X @ b
    link = links.Logit()
    mean_d1 = float(np.mean(link.inverse_deriv(eta)))
    J = np.diag(np.full(k, mean_d1)) + np.outer(b, (link.inverse_deriv2(eta) @ X) / n)
    cov_me = J @ np.asarray(cov, dtype=float) @ J.T
    # statsmodels leaves out the constant columns (zero variance: the intercept)
    effects = np.array([X[:, j].var() != 0 for j in range(k)])
    if not effects.any():
        effects[:] = True
    m = DiscreteMargins.__new__(DiscreteMargins)
    m._cache, m.results = {}, None
    m.margeff_options = {"method": "dydx", "at": "overall"}
    m.dummy_idx = m.count_idx = None
    m.margeff_cov = cov_me[effects][:, effects]
    m.margeff_se = np.sqrt(np.diag(cov_me))[effects]
    m.margeff = (mean_d1 * b)[effects]
    return m


def result_margins(result):
    """The average marginal effects of a fitted logit ``result`` (statsmodels' or lean) from its design;
    statsmodels' ``get_margeff`` for any other model."""
    if not is_logit_glm(result):
        return result.get_margeff(at="overall", method="dydx")
    return logit_margins(result.model.exog, result.params, result.cov_params())
