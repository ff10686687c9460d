"""Model figures: coefficients (forest plot), the renewal curve, the scheme comparison and calibration."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..exceptions import PlotDataError
from .plotbase import (
    BLUE,
    GREEN,
    GREY,
    ORANGE,
    RED,
    TICK_SIZE,
    _axes,
    _finish,
    _need,
    _numeric,
    _percent,
)

__all__ = ["forest_plot", "renewal_curve", "scheme_comparison", "calibration_table", "calibration_plot"]


def forest_plot(data, *, term="term", estimate="estimate", ci_low="ci_low", ci_high="ci_high", model=None,
                ax=None, reference=None, drop=("Intercept", "const"), exponentiate=False,
                title="What moves the decision", xlabel=None):
    """Coefficient (forest) plot: one row per term, estimate and confidence interval.

    Parameters
    ----------
    data : DataFrame
        Tidy coefficient table, e.g. ``Fit.tidy()`` (``term, estimate, ci_low,
        ci_high``; ``model`` when several fits are compared).
    model : str, optional
        Column naming the model; each model gets its own colour, dodged rows.
    reference : float, optional
        Line of no effect: 0 (or 1 when ``exponentiate``).
    drop : sequence of str
        Terms not shown (the intercept by default).
    exponentiate : bool
        Show ``exp(estimate)`` on a log axis, e.g. odds ratios of a logit.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    PlotDataError
        If a confidence interval does not contain its estimate.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> tidy = pd.DataFrame({"term": ["Intercept", "sent_decider", "sent_user"],
    ...                      "estimate": [0.1, 1.2, 0.3], "ci_low": [-0.2, 0.5, -0.4],
    ...                      "ci_high": [0.4, 1.9, 1.0]})
    >>> ax = forest_plot(data=tidy)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['sent_decider', 'sent_user']
    """
    func = "forest_plot"
    df = _numeric(_need(data, [term, estimate, ci_low, ci_high, model], func), [estimate, ci_low, ci_high], func)
    df = df[~df[term].isin(list(drop))].dropna(subset=[estimate])
    if df.empty:
        raise PlotDataError(f"{func}: no terms left to plot after dropping {list(drop)}.")
    bad = df[(df[ci_low] > df[estimate] + 1e-12) | (df[ci_high] < df[estimate] - 1e-12)]
    if len(bad):
        r = bad.iloc[0]
        raise PlotDataError(f"{func}: term {r[term]!r} has {estimate}={r[estimate]:.4g} outside its interval "
                            f"[{r[ci_low]:.4g}, {r[ci_high]:.4g}]; expected ci_low <= estimate <= ci_high. "
                            "Check the column names.")
    if exponentiate:
        df[[estimate, ci_low, ci_high]] = np.exp(df[[estimate, ci_low, ci_high]])
    reference = (1.0 if exponentiate else 0.0) if reference is None else reference
    terms = list(dict.fromkeys(df[term]))
    models = list(dict.fromkeys(df[model])) if model else [None]
    ax = _axes(ax, figsize=(9.0, max(3.0, 0.55 * len(terms) * max(1, len(models) * 0.7) + 1.5)))
    colours = [BLUE, ORANGE, GREEN, RED, "#cc79a7", "#56b4e9"]
    step = 0.7 / max(len(models), 1)
    for k, m in enumerate(models):
        part = df if m is None else df[df[model] == m]
        pos = np.array([terms.index(t) for t in part[term]], dtype=float)
        pos += (k - (len(models) - 1) / 2) * step if len(models) > 1 else 0.0
        est = part[estimate].to_numpy()
        err = np.vstack([est - part[ci_low].to_numpy(), part[ci_high].to_numpy() - est])
        ax.errorbar(est, pos, xerr=np.nan_to_num(err), fmt="o", ms=7, capsize=4, lw=1.8,
                    color=colours[k % len(colours)], label=None if m is None else str(m))
    ax.axvline(reference, color="#555555", ls="--", lw=1)
    ax.set_yticks(range(len(terms)), terms)
    ax.set_ylim(len(terms) - 0.5, -0.5)  # first term on top
    if exponentiate:
        ax.set_xscale("log")
    if model:
        ax.legend(title=model, fontsize=TICK_SIZE, title_fontsize=TICK_SIZE)
    ax.grid(axis="x", color="#eeeeee")
    default = "Odds ratio (95% CI, log scale)" if exponentiate else "Estimate (95% CI)"
    return _finish(ax, title, xlabel or default, "")


def renewal_curve(data, *, x="sentiment", y="p_renew", ci_low="p_renew_low", ci_high="p_renew_high", hue=None,
                  observed=None, observed_x=None, observed_y="renewed", ax=None,
                  title="Predicted renewal probability", xlabel="Account sentiment (-1 to +1)"):
    """Predicted renewal probability against sentiment, with its interval as a band.

    Parameters
    ----------
    data : DataFrame
        A prediction grid: one row per sentiment value (per ``hue`` level),
        with the probability and its interval (e.g. from the rebuy model).
    hue : str, optional
        One curve per level (e.g. scheme or role).
    observed : DataFrame, optional
        Actual outcomes to show as rugs at 0 and 1 (``observed_x`` defaults to
        ``x``; ``observed_y`` is 0/1).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> grid = pd.DataFrame({"sentiment": [-1, 0, 1], "p_renew": [0.2, 0.5, 0.8],
    ...                      "p_renew_low": [0.1, 0.4, 0.7], "p_renew_high": [0.3, 0.6, 0.9]})
    >>> ax = renewal_curve(data=grid)
    >>> ax.lines[0].get_ydata().tolist(), tuple(map(float, ax.get_ylim()))
    ([0.2, 0.5, 0.8], (0.0, 1.0))
    """
    func = "renewal_curve"
    df = _numeric(_need(data, [x, y, ci_low, ci_high, hue], func), [x, y, ci_low, ci_high], func)
    df = df.dropna(subset=[x, y]).sort_values(x, kind="stable")
    if ((df[[y, ci_low, ci_high]] < 0) | (df[[y, ci_low, ci_high]] > 1)).any().any():
        raise PlotDataError(f"{func}: {y}/{ci_low}/{ci_high} have values outside [0, 1]; expected probabilities.")
    ax = _axes(ax)
    colours = [BLUE, ORANGE, GREEN, RED, "#cc79a7", "#56b4e9"]
    groups = [(None, df)] if hue is None else list(df.groupby(hue, sort=False))
    for k, (level, part) in enumerate(groups):
        c = colours[k % len(colours)]
        ax.plot(part[x].to_numpy(), part[y].to_numpy(), color=c, lw=2.2,
                label="predicted" if level is None else str(level))
        ax.fill_between(part[x].to_numpy(), part[ci_low].to_numpy(), part[ci_high].to_numpy(), color=c,
                        alpha=0.2, lw=0, label="_band")
    if observed is not None:
        ox = observed_x or x
        obs = _numeric(_need(observed, [ox, observed_y], func), [ox, observed_y], func).dropna()
        ax.plot(obs[ox].to_numpy(), obs[observed_y].to_numpy(), "|", color="#333333", ms=12, alpha=0.5,
                label=f"observed {observed_y}")
    ax.set_ylim(0.0, 1.0)
    ax.yaxis.set_major_formatter(_percent())
    ax.grid(color="#eeeeee")
    ax.legend(fontsize=TICK_SIZE, loc="upper left")
    return _finish(ax, title, xlabel, "Probability of renewal")


def scheme_comparison(data, *, scheme="scheme", score="score", ci_low="ci_low", ci_high="ci_high",
                      higher_is_better=True, ax=None, title="Which score predicts renewal best",
                      xlabel="Cross-validated score (95% interval)"):
    """Cross-validated score of each sentiment scheme with its interval, best on top.

    Parameters
    ----------
    data : DataFrame
        One row per scheme (e.g. from :mod:`cxinfluence.models.compare`).
    higher_is_better : bool
        True for AUC / log-likelihood, False for log-loss or Brier score.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> cv = pd.DataFrame({"scheme": ["mean", "influence_weighted"], "score": [0.61, 0.70],
    ...                    "ci_low": [0.55, 0.64], "ci_high": [0.67, 0.76]})
    >>> ax = scheme_comparison(data=cv)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['influence_weighted', 'mean']
    """
    func = "scheme_comparison"
    df = _numeric(_need(data, [scheme, score, ci_low, ci_high], func), [score, ci_low, ci_high], func)
    df = df.dropna(subset=[score]).sort_values(score, ascending=not higher_is_better, kind="stable")
    if df.empty:
        raise PlotDataError(f"{func}: no scheme has a {score!r} value.")
    ax = _axes(ax, figsize=(9.0, 0.6 * len(df) + 2))
    pos = np.arange(len(df))
    est = df[score].to_numpy()
    colours = [BLUE] + [GREY] * (len(df) - 1)
    for i in pos:
        _intervals(ax, est[[i]], pos[[i]], df[ci_low].iloc[[i]], df[ci_high].iloc[[i]], ms=8, lw=2, color=colours[i])
    ax.axvline(est[0], color=BLUE, ls=":", lw=1)
    ax.set_yticks(pos, df[scheme].astype(str).tolist())
    ax.set_ylim(len(df) - 0.5, -0.5)
    ax.grid(axis="x", color="#eeeeee")
    return _finish(ax, title, xlabel, "")


def calibration_table(data, *, y_true="renewed", y_prob="p_renew", n_bins=10, strategy="quantile", alpha=0.05):
    """Binned predicted probability against observed frequency, with Wilson intervals.

    Parameters
    ----------
    data : DataFrame
    y_true : str
        Observed outcome, 0/1.
    y_prob : str
        Predicted probability in [0, 1].
    n_bins : int
    strategy : {"quantile", "uniform"}
        Equal-count bins (``pd.qcut``; tied edges merged) or equal-width bins
        on [0, 1].
    alpha : float
        1 - confidence level of the Wilson score interval (Wilson 1927, via
        ``statsmodels.stats.proportion.proportion_confint``), which stays
        inside [0, 1] and behaves with the small bins accounts give.

    Returns
    -------
    DataFrame
        One row per non-empty bin: ``bin, n, events, mean_predicted,
        observed, ci_low, ci_high``.

    Examples
    --------
    >>> df = pd.DataFrame({"renewed": [0, 0, 1, 1, 1, 0], "p_renew": [0.1, 0.2, 0.3, 0.7, 0.8, 0.9]})
    >>> calibration_table(df, n_bins=2)[["n", "events", "mean_predicted", "observed"]]
       n  events  mean_predicted  observed
    0  3       1             0.2  0.333333
    1  3       2             0.8  0.666667
    """
    from statsmodels.stats.proportion import proportion_confint

    func = "calibration_table"
    df = _numeric(_need(data, [y_true, y_prob], func), [y_true, y_prob], func).dropna()
    if df.empty:
        raise PlotDataError(f"{func}: no rows with both {y_true!r} and {y_prob!r}.")
    if not df[y_true].isin([0.0, 1.0]).all():
        raise PlotDataError(f"{func}: {y_true!r} has values other than 0/1 (e.g. "
                            f"{df.loc[~df[y_true].isin([0.0, 1.0]), y_true].iloc[0]!r}); expected a 0/1 outcome.")
    if ((df[y_prob] < 0) | (df[y_prob] > 1)).any():
        raise PlotDataError(f"{func}: {y_prob!r} has values outside [0, 1]; expected probabilities.")
    if strategy == "quantile":
        bins = pd.qcut(df[y_prob], q=n_bins, duplicates="drop")
    elif strategy == "uniform":
        bins = pd.cut(df[y_prob], bins=np.linspace(0.0, 1.0, n_bins + 1), include_lowest=True)
    else:
        raise PlotDataError(f"{func}: strategy is {strategy!r}; expected 'quantile' or 'uniform'.")
    g = df.groupby(bins, observed=True)
    out = pd.DataFrame({"n": g[y_true].size(), "events": g[y_true].sum().astype(int),
                        "mean_predicted": g[y_prob].mean()})
    out["observed"] = out["events"] / out["n"]
    low, high = proportion_confint(out["events"].to_numpy(), out["n"].to_numpy(), alpha=alpha, method="wilson")
    out["ci_low"], out["ci_high"] = low, high
    out = out.reset_index(names="bin")
    out["bin"] = out["bin"].astype(str)
    return out


def calibration_plot(data, *, y_true="renewed", y_prob="p_renew", n_bins=10, strategy="quantile", alpha=0.05,
                     ax=None, title="Are the predicted probabilities right?"):
    """Calibration plot: observed renewal rate per bin of predicted probability.

    Points on the diagonal mean "when the model says 70 %, 70 % renew".
    Vertical bars are Wilson intervals (see :func:`calibration_table`);
    marker area grows with the number of accounts in the bin. The Brier score
    (mean squared error of the probabilities; Brier 1950) is printed.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> df = pd.DataFrame({"renewed": [0, 0, 1, 1, 1, 0], "p_renew": [0.1, 0.2, 0.3, 0.7, 0.8, 0.9]})
    >>> ax = calibration_plot(data=df, n_bins=2)
    >>> ax.texts[0].get_text()
    'Brier score 0.247 (n = 6)'
    """
    table = calibration_table(data, y_true=y_true, y_prob=y_prob, n_bins=n_bins, strategy=strategy, alpha=alpha)
    df = _numeric(_need(data, [y_true, y_prob], "calibration_plot"), [y_true, y_prob], "calibration_plot").dropna()
    brier = float(np.mean((df[y_prob] - df[y_true]) ** 2))
    ax = _axes(ax, figsize=(7.0, 6.5))
    ax.plot([0, 1], [0, 1], ls="--", color="#888888", lw=1, label="perfectly calibrated")
    obs = table["observed"].to_numpy()
    # clip: rounding can put a Wilson bound 1e-17 on the wrong side of 0 or 1 events
    err = np.vstack([obs - table["ci_low"].to_numpy(), table["ci_high"].to_numpy() - obs]).clip(min=0)
    ax.errorbar(table["mean_predicted"], obs, yerr=err, fmt="none", ecolor=BLUE, capsize=3, lw=1.5)
    n = table["n"].to_numpy()
    ax.scatter(table["mean_predicted"], obs, s=30 + 170 * n / n.max(), color=BLUE, zorder=3,
               label=f"observed ({1 - alpha:.0%} Wilson interval)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.xaxis.set_major_formatter(_percent())
    ax.yaxis.set_major_formatter(_percent())
    ax.grid(color="#eeeeee")
    ax.legend(fontsize=TICK_SIZE, loc="upper left")
    ax.text(0.98, 0.03, f"Brier score {brier:.3f} (n = {len(df)})", transform=ax.transAxes, ha="right",
            fontsize=TICK_SIZE, color="#333333")
    return _finish(ax, title, "Predicted probability of renewal", "Observed renewal rate")


def _intervals(ax, est, pos, lo, hi, *, ms, lw, color, label=None):
    """Estimates as points with their intervals from ``lo`` to ``hi``, drawn as they are.

    Usually an error bar around each estimate. An interval need not contain its estimate (a
    percentile bootstrap, a bias-corrected fit), and matplotlib refuses a negative error, so then the
    bar is drawn from ``lo`` to ``hi`` and the point on it separately; a missing bound draws no bar.
    """
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    err = np.nan_to_num(np.vstack([est - lo, hi - est]))
    if (err >= 0).all():
        ax.errorbar(est, pos, xerr=err, fmt="o", ms=ms, capsize=4, lw=lw, color=color, label=label)
        return
    ok = np.isfinite(lo) & np.isfinite(hi)
    mid = np.where(ok, (lo + hi) / 2, est)
    half = np.where(ok, np.abs(hi - lo) / 2, 0.0)
    ax.errorbar(mid, pos, xerr=half, fmt="none", capsize=4, lw=lw, color=color)
    ax.plot(est, pos, "o", ms=ms, color=color, label=label)
