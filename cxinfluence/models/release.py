"""What a fitted model keeps once the fitting is done: :func:`release_fits` drops the fitted rows.

A :class:`~cxinfluence.models.results.Fit` holds its rows (``data``), its
design matrix, outcome and fitted means, and, once statsmodels' results are
built, their copies of all three: some 400 bytes per model-frame row per fit,
over a gigabyte for the dozen fits of a 100,000-account run, held until the
run ends. What the run's later steps read from a fit is small:

* the estimates, standard errors, intervals and fit statistics
  (``tidy()``, ``stats()``, ``models.csv``): kept (the statistics are
  computed before the rows go);
* what the report's sentences read from the fitted rows (the step of "each
  0.1 higher", whether a term is 0/1, the typical account of the renewal
  curve): one :func:`column_summary` per formula column, ``Fit.summaries``;
* the average marginal effects of a logit (``Fit.marginal_effects()``, in
  closed form: :mod:`.margins`) and predictions for new rows
  (``get_prediction``): for the fits named in ``predict``, a lean fit keeps
  a few of its rows (every category level) to build the design of new rows
  and predicts from its own estimates (:meth:`~cxinfluence.models.lean.LeanGLMResults.get_prediction`);
  for those named in ``statsmodels`` (and statsmodels fits named in
  ``predict``), statsmodels' results are built, then stripped of their
  data (statsmodels' ``remove_data``; predictions for new rows need only
  the estimates and the formula).

After release, whatever needs the fitted rows themselves (``Fit.data``,
``result.model.exog``, ``fittedvalues``, statsmodels' results (and so ``summary()``) of a lean fit
not named in ``statsmodels``, :func:`~cxinfluence.models.decision.scenario_effect`)
is gone: refit on the run's ``model_frame`` for those. A fit you make yourself
(``cx.fit_rebuy`` ...) keeps everything; only :func:`cxinfluence.run` releases.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .design import _categorical_text, formula_columns
from .lean import HEAD_ROWS, LeanGLMResults, build_design
from .margins import result_margins

#: the result kinds whose statsmodels results can be stripped of their data (GLM and OLS)
RELEASABLE_KINDS = ("logit", "glm", "ols")


def column_summary(values) -> dict:
    """What the report reads from one fitted column, computed once.

    ``empty`` (no number), ``binary`` (only 0 and 1), ``std``, ``min``,
    ``max`` of the values as numbers, and ``typical``: the median of a
    numeric column, else its most frequent value.

    >>> s = column_summary(pd.Series([0.5, -1.0, 2.0]))
    >>> s["binary"], float(s["max"]), float(s["typical"])
    (False, 2.0, 0.5)
    >>> column_summary(pd.Series(["b", "a", "b"]))["typical"]
    'b'
    """
    values = pd.Series(values) if not isinstance(values, pd.Series) else values
    if values.dtype == np.float64 and isinstance(values.dtype, np.dtype):
        return _float_summary(values.to_numpy())
    numeric = pd.api.types.is_numeric_dtype(values.dtype)
    if not numeric and pd.to_numeric(pd.Series(values.unique()), errors="coerce").isna().all():
        x = pd.Series(np.nan, index=values.index[:0], dtype=float)  # text: no number, as converting each value gives
    else:
        x = pd.to_numeric(values, errors="coerce")
    present = x.dropna()
    empty = present.empty
    # every value 0 or 1 (the set of distinct values within {0, 1}, without building it)
    out = {"empty": empty, "binary": (not empty) and bool(((present == 0) | (present == 1)).all())}
    out.update(std=float(x.std()), min=x.min(), max=x.max())
    out["typical"] = values.median() if numeric else values.mode().iloc[0]
    return out


def _float_summary(x) -> dict:
    """:func:`column_summary` of a float64 column in numpy: the same values as pandas' (its ``std`` is pandas'
    two-pass variance with the gaps as zeros; tested equal bit for bit), without pandas' copies of the index
    (a 400,000-row column: 2-4 ms against 12-23 ms)."""
    gaps = np.isnan(x)
    count = x.size - int(np.count_nonzero(gaps))
    present = x[~gaps] if count < x.size else x
    if count == 0:
        nan = np.float64(np.nan) if x.size else float("nan")  # pandas' types
        return {"empty": True, "binary": False, "std": float("nan"), "min": nan, "max": nan, "typical": nan}
    binary = bool(np.all((present == 0) | (present == 1)))
    filled = np.where(gaps, 0.0, x) if count < x.size else x
    with np.errstate(invalid="ignore", over="ignore"):  # infinite or huge values: NaN or inf, as pandas gives
        mean = filled.sum(dtype=np.float64) / count
        sq = (mean - filled) ** 2
    if count < x.size:
        sq[gaps] = 0.0
    std = float(np.sqrt(sq.sum(dtype=np.float64) / (count - 1))) if count > 1 else float("nan")
    return {"empty": False, "binary": binary, "std": std, "min": present.min(), "max": present.max(),
            "typical": np.median(present)}


def release_fits(fits, comparison=None, *, statsmodels=(), predict=()) -> None:
    """Release the fitted rows of every fit of ``fits`` (and of ``comparison.fits``) in place.

    Parameters
    ----------
    fits : dict of name -> Fit, or list of Fit
    comparison : Comparison, optional
        :func:`~cxinfluence.models.compare.compare_schemes`' result: its own
        fits on the schemes' common rows are released too.
    statsmodels : iterable of str
        Names of the fits whose statsmodels results are kept, without data
        (``summary()``, predictions, marginal effects).
    predict : iterable of str
        Names of the fits to predict from later (and whose marginal effects
        the report states): a lean fit keeps its estimates and a few rows to
        build the design of new rows (no statsmodels results: a refit on
        every row), a statsmodels fit its results without data
        (:func:`release_fit`'s ``predict``).

    See the module's docstring for what is kept.
    """
    named = list(fits.items() if isinstance(fits, dict) else ((getattr(f, "name", None), f) for f in fits))
    keep, predicting = set(statsmodels), set(predict)
    kept = [(fit, bool({key, fit.name} & keep)) for key, fit in named if {key, fit.name} & (keep | predicting)]
    kept_ids = {id(fit) for fit, _ in kept}
    # the others first: the kept ones build statsmodels' results (a transient copy of their rows) with less held
    for fit in [fit for _, fit in named] + list(comparison.fits.values() if comparison is not None else ()):
        if id(fit) not in kept_ids:
            release_fit(fit)
    for fit, with_statsmodels in kept:
        release_fit(fit, statsmodels=with_statsmodels, predict=True)


def release_fit(fit, *, statsmodels=False, predict=False):
    """Release one fit's rows in place (see :func:`release_fits`); a released fit is left as it is.

    ``predict=True`` keeps what predictions for new rows and a logit's marginal effects need, and no more:
    a lean fit (:mod:`.lean`) predicts from its own estimates and a few of its rows (every category level),
    without statsmodels' results (building them refits the model on all its rows); a statsmodels fit keeps
    its results, as with ``statsmodels=True``."""
    if fit.summaries is not None:
        return fit
    data = fit.data
    summaries = {} if data is None else {c: column_summary(data[c]) for c in formula_columns(fit.formula, data)}
    if fit.kind in RELEASABLE_KINDS:
        # the fit statistics (deviance, likelihood) while the outcome and fitted means are there
        fit.statistics = {k: v for k, v in fit.stats().items() if k in ("aic", "bic", "pseudo_r2")}
        res = fit.result
        lean = isinstance(res, LeanGLMResults)
        if statsmodels or predict:
            if fit.kind == "logit":  # from the fit itself, before statsmodels' results add their copy of the rows
                fit.margins = _detached(result_margins(res))
            if lean and res.model.formula is not None and data is not None:
                # the formula's rows to rebuild the design of new rows from (pickles, unlike patsy's design): a lean
                # fit predicts from its own estimates, before and after its release or a pickle
                res.model.design_rows = _representative_rows(_categorical_text(data, fit.formula), fit.formula)
            if statsmodels or not lean or res.model.formula is None:  # statsmodels' results, kept without data
                if lean:  # its design goes before statsmodels builds its own from the rows
                    res.release(builder=True)
                sm = res.statsmodels() if lean else res
                if getattr(sm.model, "formula", None) is None and data is not None:
                    fit.design_info = _design_info(fit.formula, data)
                strip_statsmodels(sm)
        elif not lean:
            strip_statsmodels(res)
        if lean:
            res.release()
    fit.summaries = summaries
    fit.data = None
    return fit


def _detached(margins):
    """statsmodels' marginal effects without their link to the results (and so to the design)."""
    margins.results = None
    return margins


def _design_info(formula, data):
    """patsy's design of the right-hand side on the fitted rows (predictions of a reduced model build on it)."""
    import patsy

    return patsy.dmatrix(formula.split("~", 1)[1], data, return_type="dataframe").design_info


def _representative_rows(frame, formula):
    """``frame`` cut to its first row and the first row of each value of its text columns: the same formula
    terms, columns and levels (patsy learns nothing else from a plain column); the whole frame when a term
    learns from every row (``center(x)``, splines: :func:`cxinfluence.models.lean.build_design` says).

    >>> df = pd.DataFrame({"y": [0., 1, 1, 0], "x": [1., 2, 3, 4], "g": ["b", "a", "b", "c"]})
    >>> _representative_rows(df, "y ~ x + g").index.tolist()
    [0, 1, 3]
    >>> len(_representative_rows(df, "y ~ center(x) + g"))
    4
    """
    if build_design(formula, _categorical_text(frame.iloc[:HEAD_ROWS], formula)) is None:
        return frame
    first = np.zeros(len(frame), dtype=bool)
    first[:1] = True
    for c in formula_columns(formula, frame):
        if not pd.api.types.is_numeric_dtype(frame[c].dtype) or pd.api.types.is_bool_dtype(frame[c].dtype):
            first |= ~frame[c].duplicated().to_numpy()
    return frame.iloc[np.flatnonzero(first)]


def strip_statsmodels(results) -> None:
    """statsmodels' ``remove_data()``, after memoising what ``summary()`` shows, and the formula's data frame
    cut to the rows statsmodels needs to rebuild the model when unpickled.

    Estimates, covariance, statistics, ``summary()``, predictions for new rows
    (``get_prediction(new)``, ``predict(new)``) and pickling keep working.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            results.summary()  # memoises the statistics the summary shows (statsmodels' advice before remove_data)
        except Exception:  # noqa: BLE001 - a summary that cannot be built now cannot be built later either
            pass
        results.remove_data()
    data = getattr(results.model, "data", None)
    for name in ("orig_endog", "orig_exog", "endog", "exog"):
        if data is not None and getattr(data, name, None) is not None:
            setattr(data, name, None)
    formula = getattr(results.model, "formula", None)
    if data is not None and getattr(data, "frame", None) is not None:
        # statsmodels rebuilds a formula model from this frame when the results are unpickled
        data.frame = _representative_rows(data.frame, formula) if formula else None
    if data is not None:
        getattr(data, "_cache", {}).pop("row_labels", None)  # the fitted rows' index
    groups = (getattr(results, "cov_kwds", None) or {}).get("groups")
    if groups is not None and np.ndim(groups):
        results.cov_kwds["groups"] = None  # the clusters of the rows: the covariance is computed
