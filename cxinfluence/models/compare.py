"""Which sentiment scheme predicts best, on held-out accounts.

:func:`compare_schemes` fits the same model (:func:`cxinfluence.models.fit.fit_rebuy`
or :func:`~cxinfluence.models.fit.fit_bookings`) once per scheme and compares them:

* **Grouped K-fold cross-validation by account**: accounts (not rows) are
  assigned to folds at random, so no account is in both the training and the
  test part, and an account's later periods cannot leak its own outcome into
  its prediction. The out-of-fold predictions of all folds are pooled and
  scored once.
* **Scores**. Renewal: AUC (area under the ROC curve; the Mann-Whitney
  probability that a renewing row gets a higher predicted probability than a
  non-renewing one, ties counted 1/2; Hanley & McNeil 1982), Brier score (mean
  squared error of the probability; Brier 1950) and log loss (mean negative
  log-likelihood). Bookings: mean unit deviance of the model's family and RMSE
  (on the bookings scale; on ``log1p`` for ``ols_log``). Lower is better except
  AUC.
* **AIC / BIC** of the fit on all rows, as statsmodels reports them (for
  Tweedie its likelihood is a series approximation: compare Tweedie AICs only
  with each other).
* **Uncertainty of the differences** against a baseline scheme (default the
  plain ``mean``): a bootstrap over accounts (Efron & Tibshirani 1993, ch. 6;
  resampling whole accounts keeps their periods together) of the pooled
  out-of-fold scores, with percentile intervals. The folds and fits are not
  redone per replicate, so the interval reflects which accounts were sampled,
  not the variability of the fold split.

All schemes are compared on the same rows: those where every scheme, the
outcome and the controls are present.

**How the winner is chosen among the schemes** (``Comparison.winner``, the
``selected`` column). AUC ranks predictions but is not a proper scoring rule
(it ignores calibration), so the winner is chosen by the held-out **log
loss** (renewal; a strictly proper score, Gneiting & Raftery 2007) or
**deviance** (bookings) with the **one-standard-error rule** (Breiman et al.
1984; Hastie, Tibshirani & Friedman 2009, sec. 7.10): take the scheme with
the lowest score; every scheme whose score exceeds it by no more than the
bootstrap SE (over accounts) of its difference from that scheme is "as good";
among those, choose the simplest in the order of :data:`SIMPLICITY` (fewest
judgement calls: the plain mean first, the veto floor last). With seven
schemes the lowest score alone would often be a winner by chance; the rule
prefers the simpler construct unless the data clearly favour a richer one.
The table keeps AUC and Brier beside it, with ``<score>_vs_best`` and
``<score>_vs_best_se`` for the selection score. Without bootstrap
(``n_boot=0``) the winner is the lowest score.

The same machinery answers the "one number" debate (Reichheld 2003 against
Keiningham et al. 2007, *Journal of Marketing* 71(3); Morgan & Rego 2006,
*Marketing Science* 25(5)): :func:`compare_metrics` compares NPS with mean
satisfaction and a multi-metric index.
"""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..exceptions import ModelError
from ..sentiment.schemes import COMPARED_SCHEMES
from .design import group_codes
from .diagnostics import FLAGS
from .fit import _resolve_controls, _rhs, fit_bookings, fit_rebuy, formula_columns
from .irls import irls, irls_folds  # noqa: F401 - the one IRLS loop; cxinfluence.models.compare.irls kept importable
from .release import release_fit
from .scores import (  # noqa: F401 - auc, bootstrap_auc and the kernels' names stay importable from here
    REPLICATE_CHUNK,
    _bootstrap_auc,
    _class_weights,
    _exact_in_float32,
    _row_losses,
    _scores,
    auc,
    bootstrap_auc,
    replicate_dot,
)
from .threads import blas_threads

#: Schemes compared by default: :data:`cxinfluence.sentiment.schemes.COMPARED_SCHEMES` (every scheme but
#: ``disagreement``, a spread, not a level), under its old name.
DEFAULT_SCHEMES = COMPARED_SCHEMES

#: Schemes from simplest (fewest judgement calls) to richest, for the one-SE rule (the compared schemes,
#: in another order; tests/test_compare.py checks they are the same set).
SIMPLICITY = ("mean", "nps", "role_weighted", "nested", "influence_weighted", "shrunk", "veto_floor")

_HIGHER_BETTER = {"auc": True, "brier": False, "log_loss": False, "deviance": False, "rmse": False}


@dataclass
class Comparison:
    """Result of :func:`compare_schemes`.

    Attributes
    ----------
    table : DataFrame
        One row per scheme: ``scheme, n, n_accounts``, the pooled out-of-fold
        scores, ``aic, bic``, for each score ``<s>_diff, <s>_diff_low,
        <s>_diff_high`` (scheme minus baseline, bootstrap percentile CI),
        ``reliable, warning`` and one ``flag_<name>`` column per degeneracy
        flag (:data:`cxinfluence.models.diagnostics.FLAGS`), from the full-data fit; then the selection:
        ``<score>_vs_best``, ``<score>_vs_best_se`` and ``selected``.
    winner : str
        The scheme chosen by the one-SE rule on the held-out log loss
        (deviance for bookings); ``selection_rule`` says how, in words.
    folds : DataFrame
        Scores per scheme and fold (``fold, scheme, n_test`` + scores).
    fits : dict
        scheme -> :class:`~cxinfluence.models.fit.Fit` on all rows.
    predictions : DataFrame
        ``account_id, period_end`` (when present), outcome, ``fold`` and one
        out-of-fold prediction column per scheme.
    baseline, outcome, metrics : str, str, list
    """

    table: pd.DataFrame
    folds: pd.DataFrame
    fits: dict
    predictions: pd.DataFrame
    baseline: str
    outcome: str
    metrics: list = field(default_factory=list)
    conf_level: float = 0.95
    winner: str | None = None
    selection_rule: str = ""

    def best(self, metric=None) -> str:
        """The scheme with the best pooled out-of-fold score (AUC for renewal,
        deviance for bookings by default)."""
        metric = metric or self.metrics[0]
        t = self.table.set_index("scheme")[metric]
        return str(t.idxmax() if _HIGHER_BETTER[metric] else t.idxmin())


# --------------------------------------------------------------------------
# Folds
# --------------------------------------------------------------------------
def grouped_folds(groups, folds=5, seed=0) -> np.ndarray:
    """Fold number (0..folds-1) per row; every group (account) in one fold.

    Groups are shuffled with ``seed`` and dealt round-robin, so fold sizes in
    accounts differ by at most one.

    >>> f = grouped_folds(["a", "a", "b", "c", "c", "d"], folds=2, seed=1)
    >>> bool(f[0] == f[1] and f[3] == f[4])
    True
    """
    codes, uniques = pd.factorize(pd.Series(groups), sort=True)
    n = len(uniques)
    if folds < 2:
        raise ModelError(f"folds={folds!r}; expected at least 2")
    if n < folds:
        raise ModelError(f"folds={folds} but only {n} accounts; use folds <= {n}")
    rng = np.random.default_rng(seed)
    fold_of_group = np.empty(n, dtype=np.int64)
    fold_of_group[rng.permutation(n)] = np.arange(n) % folds
    return fold_of_group[codes]


# --------------------------------------------------------------------------
# The comparison
# --------------------------------------------------------------------------
def compare_schemes(frame, schemes=None, outcome="renewed", folds=5, seed=0, n_boot=200, controls=None,
                    baseline="mean", family="tweedie", cluster="account_id", conf_level=0.95, fits=None,
                    release=False, draws=None) -> Comparison:
    """Fit the same model per scheme and compare them on held-out accounts.

    Parameters
    ----------
    frame : DataFrame
        Model frame (:func:`cxinfluence.models.frame.model_frame`).
    schemes : list of str, optional
        Columns to compare (default those of :data:`DEFAULT_SCHEMES` present).
    outcome : {"renewed", "bookings"} or column name
        A 0/1 outcome is modelled by logistic regression; otherwise by
        :func:`~cxinfluence.models.fit.fit_bookings` with ``family``.
    folds : int, default 5
    seed : int, default 0
        Seeds the fold assignment and the bootstrap.
    n_boot : int, default 200
        Bootstrap replicates over accounts (0: no intervals).
    controls : list of str, optional
        As in :func:`~cxinfluence.models.fit.fit_rebuy` (same for every scheme).
    baseline : str, default "mean"
        Scheme the others are compared with (the first scheme if absent).
    family : {"tweedie", "gamma", "ols_log"}
        Bookings model.
    conf_level : float
    fits : dict, optional
        scheme -> :class:`~cxinfluence.models.fit.Fit` already fitted on the
        frame (e.g. by :func:`~cxinfluence.models.fit.fit_rebuy`). A fit is reused
        as the full-data fit only when it has the comparison's formula and
        exactly its rows; otherwise the scheme is refitted.
    release : bool, default False
        Release each scheme's fitted rows (:func:`~cxinfluence.models.release.release_fit`) once its held-out
        predictions are made, so that one or two schemes' designs are held at a time (:func:`cxinfluence.run`
        does; the returned fits then keep estimates and statistics, not rows).
    draws : BootstrapDraws, optional
        The bootstrap's account weights already being drawn (:func:`draw_ahead`, on a thread of their own while
        the caller fits the models): used when drawn for this ``seed``, ``n_boot`` and number of accounts,
        else drawn here. The same numbers either way.

    Returns
    -------
    Comparison

    Examples
    --------
    >>> rng = np.random.default_rng(0); n = 1200
    >>> truth = rng.uniform(-1, 1, n)
    >>> df = pd.DataFrame({"account_id": np.arange(n).astype(str), "mean": truth + rng.normal(0, 1.0, n),
    ...                    "influence_weighted": truth + rng.normal(0, 0.2, n)})
    >>> df["renewed"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-2 * truth))).astype(float)
    >>> c = compare_schemes(df, ["mean", "influence_weighted"], controls=[], n_boot=100)
    >>> c.best(), bool(c.table.set_index("scheme").loc["influence_weighted", "auc_diff_low"] > 0)
    ('influence_weighted', True)
    """
    with blas_threads():  # tall-narrow products and small solves: one BLAS thread (:mod:`.threads`)
        return _compare_schemes(frame, schemes, outcome, folds, seed, n_boot, controls, baseline, family, cluster,
                                conf_level, fits, release, draws)


def _compare_schemes(frame, schemes, outcome, folds, seed, n_boot, controls, baseline, family, cluster, conf_level,
                     fits, release=False, draws=None):
    schemes, baseline, kind, fam_name = _check_comparison(frame, schemes, outcome, baseline, family, conf_level)
    data, ctrl = _common_rows(frame, schemes, outcome, controls, cluster, kind, fam_name)
    fold = grouped_folds(data[cluster], folds, seed)
    acc_codes = group_codes(data[cluster])
    given, fits, preds, fold_rows = fits or {}, {}, {}, []
    y = None
    # Work for the other core (numpy releases the GIL), the same numbers as in sequence: the bootstrap's account
    # weights (they depend only on the seed and the number of accounts) and, on large data, each scheme's folds'
    # refits (one task) while this thread fits the next scheme on all rows
    large = len(data) >= PARALLEL_FOLD_ROWS
    pool = ThreadPoolExecutor(2 if large else 1) if (n_boot or large) else None
    n_acc = int(acc_codes.max()) + 1
    # both replicate sets drawn ahead on the other core (one byte a count: 200 MB each at a million accounts),
    # unless they are larger: then the selection rule's set is drawn when the score table has let go of the first
    if n_boot and draws is not None and draws.key == (seed, n_acc, n_boot):
        weights = draws.futures  # drawn while the caller fitted its models
    else:
        weights = [pool.submit(_boot_weights, seed, k, n_acc, n_boot) for k in _streams_ahead(n_acc, n_boot)] \
            if n_boot else None
    refits, aucs, class_weights = {}, {}, None

    def held_out(s):
        """Scheme ``s``'s out-of-fold predictions from its folds' refits; then its rows may go. On large data its
        bootstrap AUCs are scored on the other core while this thread fits the next scheme."""
        nonlocal y, class_weights
        estimates = refits.pop(s).result() if large else refits.pop(s)
        y, preds[s], rows = _out_of_fold(fits[s], estimates, fold, kind, fam_name)
        fold_rows.extend({"fold": k, "scheme": s, **r} for k, r in enumerate(rows))
        if release:
            release_fit(fits[s])
        if large and n_boot and kind == "rebuy":  # tasks run in order: the weights before the tasks waiting on them
            if class_weights is None:  # the same rows for every scheme: once
                class_weights = pool.submit(lambda y=y: _class_weights(y, acc_codes, weights[0].result()))
            aucs[s] = pool.submit(lambda y=y, p=preds[s]: _bootstrap_auc(y, p, acc_codes, weights[0].result(),
                                                                         class_weights.result()))

    try:
        for i, s in enumerate(schemes):
            fits[s] = _full_fit(data, s, given.get(s), ctrl, kind, fam_name, cluster, outcome)
            task = _fold_refits(fits[s], fold)
            refits[s] = pool.submit(task) if large else _quietly(task)
            if i:  # the previous scheme's refits ran beside this fit: at most two schemes' designs are held
                held_out(schemes[i - 1])
        held_out(schemes[-1])
        W1 = weights[0].result() if weights else None
        W2 = weights[1].result() if weights and len(weights) > 1 else None  # None: drawn by _select
        loss_family = None if (kind == "rebuy" or fam_name == "ols_log") else fits[schemes[0]].result.model.family
        metrics = ["auc", "brier", "log_loss"] if kind == "rebuy" else ["deviance", "rmse"]
        table = _score_table(fits, y, preds, schemes, baseline, acc_codes, kind, loss_family, metrics, n_boot, seed,
                             conf_level, W=W1, aucs=aucs or None)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    W1 = weights = None  # the score differences' replicates are done with
    # the refits' degeneracy flags (cxinfluence.diagnostics), as in models.csv
    table = table.assign(**{f"flag_{k}": [bool(fits[s].flags[k]) for s in table["scheme"]] for k in FLAGS})
    sel_metric = "log_loss" if kind == "rebuy" else "deviance"
    table, winner, rule = _select(table, y, preds, schemes, acc_codes, kind, loss_family, sel_metric, n_boot, seed,
                                  W=W2)
    pred = data[[c for c in (cluster, "period_end") if c in data.columns]].reset_index(drop=True)
    pred[outcome] = y
    pred["fold"] = fold
    for s in schemes:
        pred[s] = preds[s]
    return Comparison(table=table, folds=pd.DataFrame(fold_rows), fits=fits, predictions=pred, baseline=baseline,
                      outcome=outcome, metrics=metrics, conf_level=conf_level, winner=winner, selection_rule=rule)


def _check_comparison(frame, schemes, outcome, baseline, family, conf_level):
    """The checked arguments of :func:`compare_schemes`: ``(schemes, baseline, kind, family name)``."""
    if not isinstance(frame, pd.DataFrame) or len(frame) == 0:
        raise ModelError("frame must be a non-empty DataFrame (e.g. cxinfluence.model_frame(village))")
    if schemes is None:
        schemes = [s for s in DEFAULT_SCHEMES if s in frame.columns]
    schemes = [schemes] if isinstance(schemes, str) else list(dict.fromkeys(schemes))
    missing = [s for s in schemes + [outcome] if s not in frame.columns]
    if missing:
        raise ModelError(f"schemes/outcome {missing} are not columns of the frame; "
                         f"available: {sorted(map(str, frame.columns))}")
    if len(schemes) < 1:
        raise ModelError("schemes is empty; name at least one sentiment column")
    if not 0 < conf_level < 1:
        raise ModelError(f"conf_level={conf_level!r}; expected a number between 0 and 1")
    baseline = baseline if baseline in schemes else schemes[0]
    y_all = pd.to_numeric(frame[outcome], errors="coerce")
    kind = "rebuy" if y_all.dropna().isin([0, 1]).all() else "bookings"
    fam_name = family.lower() if isinstance(family, str) else family
    if kind == "bookings" and fam_name not in ("tweedie", "gamma", "ols_log"):
        raise ModelError(f"family={family!r}; expected 'tweedie', 'gamma' or 'ols_log' for bookings")
    return schemes, baseline, kind, fam_name


def _common_rows(frame, schemes, outcome, controls, cluster, kind, fam_name):
    """Common rows: every scheme (and the outcome) present, so scores are comparable; ``(rows, controls)``."""
    notes = []
    ctrl = _resolve_controls(frame, controls, notes)
    need = schemes + [outcome] + [c for t in ctrl for c in formula_columns(t, frame)]
    if cluster and cluster not in frame.columns:
        raise ModelError(f"cluster={cluster!r} is not a column; accounts are needed for grouped folds")
    ok = frame[list(dict.fromkeys(need))].notna().all(axis=1)
    if kind == "bookings" and fam_name == "gamma":
        ok &= pd.to_numeric(frame[outcome], errors="coerce") > 0
    # only the columns the fits read (a portfolio frame has some 50): the rows are copied once more per comparison
    used = [c for c in dict.fromkeys(need + [cluster, "period_end", "account_id"]) if c and c in frame.columns]
    data = frame.loc[ok, used]
    if len(data) == 0:
        raise ModelError(f"no row has all of {schemes} and {outcome}; compare fewer schemes or widen window_days")
    return data, ctrl


def _full_fit(data, s, old, ctrl, kind, fam_name, cluster, outcome):
    """The full-data fit of scheme ``s``: ``old`` (a given fit) when it has the same formula and rows."""
    if kind != "rebuy":
        return fit_bookings(data, scheme=s, controls=ctrl, family=fam_name, cluster=cluster, outcome=outcome)
    same_model = old is not None and old.formula == f"{outcome} ~ {_rhs([s] + ctrl)}"
    if same_model and old.data is not None and old.data.index.equals(data.index):
        return old
    # nearly the same rows: its estimate is a good start for the refit
    start = np.asarray(old.result.params, dtype=float) if same_model else None
    return fit_rebuy(data, scheme=s, controls=ctrl, cluster=cluster, outcome=outcome, start_params=start)


def _quietly(task):
    """``task()`` run here, warnings ignored (on small data, where the folds' refits run in this thread; in a
    worker thread numpy's per-thread error state keeps them quiet instead)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return task()


def _fold_family(fit):
    from statsmodels.genmod import families

    model = fit.result.model
    return model.family if hasattr(model, "family") else families.Gaussian()


def _fold_refits(fit, fold):
    """A callable giving every fold's IRLS estimate on the other folds' rows of ``fit``'s design, started at the
    full-data estimate (IRLS then needs 2-3 iterations): :func:`~cxinfluence.models.irls.irls_folds` (the rows
    read in fold order, the sums at the start shared by the folds). It spends its time in numpy, which releases
    the GIL, so it may run in a thread (:func:`_compare_schemes`); numpy's error state is per thread.
    """
    model = fit.result.model
    X, y = np.asarray(model.exog), np.asarray(model.endog)
    fam = _fold_family(fit)
    start = np.asarray(fit.result.params)

    def refit():
        with np.errstate(all="ignore"):
            return irls_folds(X, y, fold, fam, start)

    return refit


def _out_of_fold(fit, estimates, fold, kind, fam_name):
    """The out-of-fold predictions of the folds' ``estimates`` and each fold's scores: ``(y, predictions, rows)``."""
    model = fit.result.model
    X, y = np.asarray(model.exog), np.asarray(model.endog)
    fam = _fold_family(fit)
    p = np.empty(len(y))
    rows = []
    for k, b in enumerate(estimates):
        test = fold == k
        p[test] = fam.link.inverse(X[test] @ b)
        loss_family = None if fam_name == "ols_log" else fam
        rows.append({"n_test": int(test.sum()), **_scores(y[test], p[test], kind, loss_family)})
    return y, p, rows


#: Rows from which the cross-validation refits run two at a time (threads).
PARALLEL_FOLD_ROWS = 50_000


#: bootstrap weights drawn ahead (both sets at once) only while one set is at most this large
BOOT_AHEAD_BYTES = 256 * 2**20
#: replicates drawn at a time, as many as are scored at a time: the counts come as int64 and are held as one byte
#: each, so the int64 copy is a chunk
BOOT_CHUNK = REPLICATE_CHUNK


def _streams_ahead(n_acc, n_boot):
    """The replicate sets drawn ahead: both (1: the score differences, 2: the selection rule) while one is at most
    :data:`BOOT_AHEAD_BYTES`, else the first (the second is drawn when the score table has let go of it)."""
    return (1, 2) if n_boot * n_acc <= BOOT_AHEAD_BYTES else (1,)


class BootstrapDraws:
    """:func:`compare_schemes`' bootstrap account weights for ``(seed, n_acc, n_boot)``, drawn on a thread of
    their own from the moment this is made (:func:`draw_ahead`); ``futures`` give them."""

    def __init__(self, seed, n_acc, n_boot):
        self.key = (seed, n_acc, n_boot)
        pool = ThreadPoolExecutor(1, thread_name_prefix="bootstrap-draws")
        self.futures = [pool.submit(_boot_weights, seed, k, n_acc, n_boot) for k in _streams_ahead(n_acc, n_boot)]
        pool.shutdown(wait=False)  # its thread ends when the draws are done


def draw_ahead(frame, schemes, outcome="renewed", seed=0, n_boot=200, controls=None, cluster="account_id"):
    """Start drawing the bootstrap weights that ``compare_schemes(frame, schemes, ...)`` with these arguments will
    use, on a thread of their own: pass the result as its ``draws``. ``None`` when there is nothing to draw.

    The draws depend only on the seed, the replicates and the number of accounts on the comparison's common rows,
    so they can be made while the models are fitted (:func:`cxinfluence.run` does: 2 x 200 replicates of
    100,000 accounts are 1.9 s of CPU, on the core the fits leave idle). A comparison whose rows turn out other
    (a scheme's fit failed and it is left out) draws its own.

    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"account_id": np.arange(300) % 100, "mean": rng.normal(size=300)})
    >>> df["renewed"] = (rng.uniform(size=300) < 0.5).astype(float)
    >>> ahead = draw_ahead(df, ["mean"], controls=[], n_boot=50)
    >>> ahead.key
    (0, 100, 50)
    >>> a = compare_schemes(df, ["mean"], controls=[], n_boot=50, draws=ahead).table
    >>> a.equals(compare_schemes(df, ["mean"], controls=[], n_boot=50).table)
    True
    """
    if not n_boot:
        return None
    schemes, _, kind, fam_name = _check_comparison(frame, schemes, outcome, "mean", "tweedie", 0.95)
    data, _ = _common_rows(frame, schemes, outcome, controls, cluster, kind, fam_name)
    return BootstrapDraws(seed, int(group_codes(data[cluster]).max()) + 1, n_boot)


def _boot_weights(seed, stream, n_acc, n_boot):
    """Replicate x account bootstrap weights: multinomial counts of ``n_acc`` accounts drawn with replacement,
    from the random stream ``[seed, stream]`` (1: the score differences, 2: the selection rule).

    Drawn :data:`BOOT_CHUNK` replicates at a time (the generator draws replicate after replicate, so the counts
    are those of one call with ``size=n_boot``; tested) and held as compact integers, one byte a count while
    every count fits (an account drawn 256 times or more widens them): the scores read them a few replicates at
    a time (:func:`~cxinfluence.models.scores.replicate_dot`). At a million accounts the counts as float64
    would be 1.6 GB a set, their int64 copies as much again; as bytes they are 200 MB.
    """
    rng = np.random.default_rng([seed, stream])
    p = np.full(n_acc, 1.0 / n_acc)
    W = np.empty((n_boot, n_acc), dtype=np.uint8)
    for start in range(0, n_boot, BOOT_CHUNK):
        stop = min(start + BOOT_CHUNK, n_boot)
        counts = rng.multinomial(n_acc, p, size=stop - start)
        if counts.max(initial=0) > np.iinfo(W.dtype).max:
            W = W.astype(np.int64)
        W[start:stop] = counts
    return W


def _score_table(fits, y, preds, schemes, baseline, acc_codes, kind, loss_family, metrics, n_boot, seed, conf_level,
                 W=None, aucs=None):
    """Pooled out-of-fold scores per scheme, their differences from the baseline with bootstrap intervals."""
    rows = []
    for s in schemes:
        st = fits[s].stats()
        rows.append({"scheme": s, "n": len(y), "n_accounts": int(acc_codes.max() + 1),
                     **_scores(y, preds[s], kind, loss_family), "aic": st["aic"], "bic": st["bic"],
                     "reliable": st["reliable"], "warning": st["warning"]})
    table = pd.DataFrame(rows)
    base = table.set_index("scheme").loc[baseline]
    for m in metrics:
        table[f"{m}_diff"] = table[m] - base[m]
    if n_boot:
        diffs = _bootstrap_differences(y, preds, schemes, baseline, acc_codes, kind, loss_family, n_boot,
                                       seed, conf_level, W=W, aucs=aucs)
        table = table.merge(diffs, on="scheme", how="left")
    order = ["scheme", "n", "n_accounts"]
    for m in metrics:
        order += [c for c in (m, f"{m}_diff", f"{m}_diff_low", f"{m}_diff_high") if c in table.columns]
    return table[order + ["aic", "bic", "reliable", "warning"]]


def _select(table, y, preds, schemes, acc, kind, family, metric, n_boot, seed, W=None):
    """The one-SE rule on ``metric`` (lower is better); see the module docstring."""
    score = table.set_index("scheme")[metric]
    best = str(score.idxmin())
    table = table.assign(**{f"{metric}_vs_best": (score - score[best]).to_numpy()})
    name = "log loss" if metric == "log_loss" else metric
    if not n_boot:
        table[f"{metric}_vs_best_se"] = np.nan
        table["selected"] = table["scheme"] == best
        return table, best, f"lowest held-out {name} ({best}); no bootstrap, so no one-SE rule"
    n_acc = int(acc.max() + 1)
    W = _boot_weights(seed, 2, n_acc, n_boot) if W is None else W
    denom = replicate_dot(W, np.bincount(acc, minlength=n_acc))
    boot = {}
    for s in schemes:
        v = _row_losses(y, preds[s], kind, family)[metric]
        boot[s] = replicate_dot(W, np.bincount(acc, v, n_acc)) / denom
    se = np.array([np.std(boot[s] - boot[best], ddof=1) for s in table["scheme"]])
    table[f"{metric}_vs_best_se"] = se
    ok = (table[f"{metric}_vs_best"].to_numpy() <= se) | (table["scheme"] == best).to_numpy()
    eligible = list(table.loc[ok, "scheme"])
    rank = {s: i for i, s in enumerate(SIMPLICITY)}
    winner = min(eligible, key=lambda s: (rank.get(s, len(rank)), schemes.index(s)))
    table["selected"] = table["scheme"] == winner
    rule = (f"one-standard-error rule on the held-out {name}: lowest {best} ({score[best]:.4f}); "
            f"within one bootstrap SE of it: {', '.join(eligible)}; the simplest of those, {winner}, is chosen")
    return table, winner, rule


def _bootstrap_differences(y, preds, schemes, baseline, acc, kind, family, n_boot, seed, conf_level, W=None,
                           aucs=None):
    """Percentile CIs of (scheme - baseline) scores, resampling accounts (``aucs``: each scheme's bootstrap AUCs
    being scored already, futures)."""
    n_acc = int(acc.max() + 1)
    W = _boot_weights(seed, 1, n_acc, n_boot) if W is None else W  # replicate x account
    denom = replicate_dot(W, np.bincount(acc, minlength=n_acc))
    a = (1 - conf_level) / 2
    cw = _class_weights(y, acc, W) if kind == "rebuy" and aucs is None else None
    boot = {}
    for s in schemes:
        res = {}
        for k, v in _row_losses(y, preds[s], kind, family).items():
            m = replicate_dot(W, np.bincount(acc, v, n_acc)) / denom
            res[k] = np.sqrt(m) if k == "rmse" else m
        boot[s] = res
    if kind == "rebuy":
        # the schemes' bootstrap AUCs are independent and spend their time in numpy and scipy.sparse, which
        # release the GIL: two at a time on large data (the same numbers as in sequence)
        def one(s):
            return _bootstrap_auc(y, preds[s], acc, W, cw)

        if aucs is not None:
            aucs = [aucs[s].result() for s in schemes]
        elif len(y) >= PARALLEL_FOLD_ROWS and len(schemes) > 1:
            with ThreadPoolExecutor(2) as pool:
                aucs = list(pool.map(one, schemes))
        else:
            aucs = [one(s) for s in schemes]
        for s, v in zip(schemes, aucs):
            boot[s]["auc"] = v
    rows = []
    for s in schemes:
        row = {"scheme": s}
        for k in boot[s]:
            d = boot[s][k] - boot[baseline][k]
            row[f"{k}_diff_low"], row[f"{k}_diff_high"] = np.nanquantile(d, [a, 1 - a]) if s != baseline else (0.0, 0.0)
        rows.append(row)
    out = pd.DataFrame(rows)
    return out


def compare_metrics(frame, metrics=("nps", "csat_mean", "mean", "multi_index"), baseline="nps", **kwargs) -> Comparison:
    """NPS versus mean satisfaction versus a multi-metric index, on held-out accounts.

    A thin wrapper of :func:`compare_schemes` whose "schemes" are plain
    account metrics of the model frame: ``nps`` (Reichheld's "one number"),
    ``csat_mean`` (mean satisfaction), ``mean`` (mean common-scale sentiment
    of all items) and ``multi_index`` (z-score average of NPS, CSAT, CES and
    NetEasy). Keiningham et al. (2007) and Morgan & Rego (2006) found that
    NPS is not a better predictor than satisfaction or multi-item measures;
    this lets the data at hand say the same or otherwise. The baseline is NPS.
    """
    return compare_schemes(frame, schemes=[m for m in metrics], baseline=baseline, **kwargs)
