"""Static figures for notebooks and the leadership report (seaborn / matplotlib).

Every function takes ``data=`` plus column names, draws on ``ax`` (a new
figure when ``ax`` is None) and returns the Axes: no ``plt.show()``, no file
written, inputs never modified. Defaults are sized for slides: 9 x 5.5 inch
figures, 16 pt titles, 13 pt axis labels, labelled axes with units. Colours
are colour-blind safe (seaborn's ``colorblind`` palette; ColorBrewer RdBu for
sentiment, the maps' scale). :func:`figure_to_data_uri` turns a figure into a
PNG ``data:`` URI for the self-contained report.

matplotlib and seaborn are imported inside the functions, so importing this
module is cheap.
"""

from __future__ import annotations

import base64
import io
import warnings

import numpy as np
import pandas as pd

from ..exceptions import PlotDataError
from ..village.schema import JOURNEY_STAGES, ROLES

__all__ = [
    "sentiment_scatter",
    "role_stage_heatmap",
    "forest_plot",
    "renewal_curve",
    "scheme_comparison",
    "calibration_table",
    "calibration_plot",
    "coverage_chart",
    "revenue_at_risk_pareto",
    "figure_to_data_uri",
]

FIGSIZE = (9.0, 5.5)
TITLE_SIZE, LABEL_SIZE, TICK_SIZE = 16, 13, 11
#: colour-blind safe (Okabe & Ito 2008), also seaborn's "colorblind" first colours
BLUE, ORANGE, GREEN, RED, GREY = "#0072b2", "#e69f00", "#009e73", "#d55e00", "#bbbbbb"


def _need(data, columns, func):
    """The columns as a new DataFrame; PlotDataError naming any that are missing."""
    if not isinstance(data, pd.DataFrame):
        raise PlotDataError(f"{func}: data is {type(data).__name__}; expected a pandas DataFrame.")
    cols = list(dict.fromkeys(c for c in columns if c is not None))
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise PlotDataError(
            f"{func}: data has no column(s) {missing}; expected {cols}. Available columns: {list(data.columns)}. "
            "Pass the right names, e.g. x='...'.")
    return data.loc[:, cols].copy()


def _numeric(df, cols, func):
    for c in cols:
        if c is None:
            continue
        converted = pd.to_numeric(df[c], errors="coerce")
        bad = converted.isna() & df[c].notna()
        if bad.any():
            raise PlotDataError(f"{func}: column {c!r} has non-numeric value {df[c][bad].iloc[0]!r}; expected numbers.")
        df[c] = converted.astype("float64")
    return df


def _axes(ax, figsize=FIGSIZE):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _finish(ax, title, xlabel, ylabel):
    if title:
        ax.set_title(title, fontsize=TITLE_SIZE, loc="left", fontweight="bold")
    ax.set_xlabel(xlabel, fontsize=LABEL_SIZE)
    ax.set_ylabel(ylabel, fontsize=LABEL_SIZE)
    ax.tick_params(labelsize=TICK_SIZE)
    return ax


def _outcome_labels(series):
    """0/1 outcomes read as words in a legend; other values kept as text."""
    values = set(series.dropna().unique())
    if values <= {0, 1, True, False}:
        # via float: a dict keyed by both 0 and False collapses, and a bool column then maps to NaN
        # (the blank chart of notebook 03)
        return series.astype("float64").map({0.0: "no", 1.0: "yes"})
    return series.astype("string")


# --------------------------------------------------------------------------- sentiment


def sentiment_scatter(data, *, x="mean", y="influence_weighted", hue="renewed", ax=None,
                      title="Who matters changes the score", xlabel=None, ylabel=None, max_points=5000, seed=0,
                      unit="accounts", hue_title=None):
    """Naive mean against influence-weighted sentiment, one point per account.

    Points off the dashed diagonal are accounts whose score moves once
    influence is taken into account; colour shows the outcome (e.g. renewed).

    Parameters
    ----------
    data : DataFrame
        One row per account (e.g. :func:`cxinfluence.account_sentiment`).
    x, y : str
        Sentiment columns on [-1, 1]: the naive mean and the weighted score.
    hue : str or None
        Outcome column; 0/1 values are labelled "no"/"yes".
    ax : matplotlib Axes, optional
    max_points : int or None, default 5000
        Draw a random sample of this many rows when there are more (a
        portfolio's hundreds of thousands of points only hide each other and
        take minutes to render); the note in the corner says so.
    seed : int
        Seed of that sample.
    unit : str
        What one point is, for the count in the corner ("accounts", "account-periods").
    hue_title : str, optional
        Legend title (default ``hue``).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> df = pd.DataFrame({"mean": [0.2, -0.1, 0.5], "influence_weighted": [-0.3, 0.0, 0.6],
    ...                    "renewed": [0, 1, 1]})
    >>> ax = sentiment_scatter(data=df)
    >>> len(ax.collections[0].get_offsets()), tuple(map(float, ax.get_xlim()))
    (3, (-1.05, 1.05))
    """
    import seaborn as sns

    func = "sentiment_scatter"
    df = _numeric(_need(data, [x, y, hue], func), [x, y], func).dropna(subset=[x, y])
    n_all = len(df)
    if max_points is not None and n_all > max_points:
        df = df.sample(max_points, random_state=seed)
    if hue is not None:
        df[hue] = _outcome_labels(df[hue])
    ax = _axes(ax, figsize=(7.5, 6.5))
    ax.plot([-1, 1], [-1, 1], ls="--", color="#888888", lw=1, zorder=0, label="_diagonal", gid=REFERENCE)
    ax.axhline(0, color="#dddddd", lw=0.8, zorder=0)
    ax.axvline(0, color="#dddddd", lw=0.8, zorder=0)
    order = sorted(df[hue].dropna().unique()) if hue is not None else None
    palette = dict(zip(order, [RED, BLUE] if order == ["no", "yes"] else sns.color_palette("colorblind", len(order)))) \
        if order else None
    # a marker per outcome too, so the chart reads in black and white
    markers = {"no": "X", "yes": "o"} if order == ["no", "yes"] else None
    sns.scatterplot(data=df, x=x, y=y, hue=hue, hue_order=order, palette=palette, s=60, alpha=0.8,
                    style=hue if markers else None, style_order=order if markers else None, markers=markers or True,
                    edgecolor="white", linewidth=0.5, ax=ax)
    ax.set_xlim(-1.05, 1.05)
    ax.set_ylim(-1.05, 1.05)
    ax.set_aspect("equal")
    if hue is not None and ax.get_legend() is not None:
        ax.legend(title=hue_title or hue, fontsize=TICK_SIZE, title_fontsize=TICK_SIZE, loc="upper left")
    shown = f"n = {n_all:,} {unit}" if len(df) == n_all else f"random {len(df):,} of {n_all:,} {unit} shown"
    ax.text(0.98, 0.02, shown, transform=ax.transAxes, ha="right", va="bottom",
            fontsize=TICK_SIZE, color="#555555")
    return _finish(ax, title, xlabel or f"{x} (naive, -1 to +1)", ylabel or f"{y} (-1 to +1)")


def role_stage_heatmap(data, *, row="role", col="journey_stage", value="sentiment", ax=None, min_count=1,
                       annot=True, title="Sentiment by role and journey stage"):
    """Mean sentiment in each role x journey-stage cell, with the number of responses.

    Parameters
    ----------
    data : DataFrame
        Long table, one row per response (or per pre-aggregated cell).
    row, col : str
        Grouping columns. Buying-center roles and journey stages are shown in
        the contract's order; other values alphabetically.
    value : str
        Sentiment on [-1, 1].
    min_count : int, default 1
        Cells with fewer responses are left blank (too few to read).
    annot : bool
        Write "mean (n)" in each cell.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> df = pd.DataFrame({"role": ["user", "user", "decider"], "journey_stage": ["decision"] * 3,
    ...                    "sentiment": [0.2, 0.4, -0.5]})
    >>> ax = role_stage_heatmap(data=df)
    >>> [t.get_text() for t in ax.texts]
    ['-0.50\\n(n=1)', '0.30\\n(n=2)']
    """
    import seaborn as sns

    func = "role_stage_heatmap"
    df = _numeric(_need(data, [row, col, value], func), [value], func).dropna(subset=[row, col, value])
    if df.empty:
        raise PlotDataError(f"{func}: no rows with {row!r}, {col!r} and {value!r} all present; nothing to draw.")
    stats = df.groupby([row, col], observed=True)[value].agg(["mean", "count"])
    means, counts = stats["mean"].unstack(col), stats["count"].unstack(col)

    def order(present, canonical):
        present = list(present)
        known = [v for v in canonical if v in present]
        return known + sorted(v for v in present if v not in known)

    rows, cols = order(means.index, ROLES), order(means.columns, JOURNEY_STAGES)
    means, counts = means.reindex(index=rows, columns=cols), counts.reindex(index=rows, columns=cols)
    means = means.where(counts >= min_count)
    labels = means.map(lambda m: "" if pd.isna(m) else f"{m:.2f}") + counts.map(
        lambda n: "" if pd.isna(n) else f"\n(n={int(n)})").where(means.notna(), "")
    ax = _axes(ax, figsize=(1.6 * len(cols) + 3, 0.9 * len(rows) + 2))
    with warnings.catch_warnings():  # seaborn 0.13 calls a method matplotlib 3.11 plans to deprecate
        warnings.filterwarnings("ignore", "The set_bad function", PendingDeprecationWarning)
        sns.heatmap(means, vmin=-1, vmax=1, center=0, cmap="RdBu", annot=labels if annot else False, fmt="",
                    annot_kws={"fontsize": TICK_SIZE}, linewidths=0.5, linecolor="white",
                    cbar_kws={"label": f"{value} (-1 to +1)"}, ax=ax)
    ax.set_facecolor("#f0f0f0")  # blank (too few) cells read as grey, not as neutral white
    ax.tick_params(axis="y", rotation=0)
    return _finish(ax, title, col.replace("_", " "), row.replace("_", " "))


# --------------------------------------------------------------------------- models


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


def _percent():
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(xmax=1.0, decimals=0)


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
    err = np.vstack([est - df[ci_low].to_numpy(), df[ci_high].to_numpy() - est])
    colours = [BLUE] + [GREY] * (len(df) - 1)
    for i in pos:
        ax.errorbar(est[i], i, xerr=np.nan_to_num(err[:, [i]]), fmt="o", ms=8, capsize=4, lw=2, color=colours[i])
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


# --------------------------------------------------------------------------- portfolio


def coverage_chart(data, *, account="account_id", heard="heard_influence", unheard_veto="unheard_veto",
                   top=25, target=0.5, ax=None, title="How much of each village we actually hear"):
    """Share of each account's influence heard recently, least-covered accounts first.

    Each bar is one account: the dark part is the share of influence whose
    holders gave feedback in the window, the light part the share not heard.
    Accounts with an unheard veto holder are drawn in orange and annotated.

    Parameters
    ----------
    data : DataFrame
        One row per account (e.g. from :func:`cxinfluence.listening.coverage`).
    heard : str
        Heard share of influence, in [0, 1].
    unheard_veto : str or None
        Number of veto holders not heard.
    top : int
        Show the ``top`` least-covered accounts (lowest heard share; ties:
        more unheard veto holders first).
    target : float or None
        Dotted line at the coverage target.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> cov = pd.DataFrame({"account_id": ["A", "B", "C"], "heard_influence": [0.9, 0.2, 0.5],
    ...                     "unheard_veto": [0, 2, 0]})
    >>> ax = coverage_chart(data=cov)
    >>> [t.get_text() for t in ax.get_yticklabels()], [round(float(p.get_width()), 2) for p in ax.patches[:3]]
    (['B', 'C', 'A'], [0.2, 0.5, 0.9])
    """
    func = "coverage_chart"
    df = _numeric(_need(data, [account, heard, unheard_veto], func), [heard, unheard_veto], func)
    df = df.dropna(subset=[heard])
    if ((df[heard] < -1e-9) | (df[heard] > 1 + 1e-9)).any():
        raise PlotDataError(f"{func}: {heard!r} has values outside [0, 1]; expected a share of influence.")
    veto = df[unheard_veto].fillna(0) if unheard_veto else pd.Series(0.0, index=df.index)
    df = df.assign(_veto=veto).sort_values([heard, "_veto"], ascending=[True, False], kind="stable").head(top)
    ax = _axes(ax, figsize=(9.0, 0.32 * len(df) + 1.8))
    pos = np.arange(len(df))
    h = df[heard].to_numpy()
    colours = np.where(df["_veto"].to_numpy() > 0, ORANGE, BLUE)
    ax.barh(pos, h, color=colours, height=0.7, label="heard")
    ax.barh(pos, 1 - h, left=h, color="#e8e8e8", height=0.7, label="not heard")
    for i, v in zip(pos, df["_veto"].to_numpy()):
        if v > 0:
            ax.text(1.01, i, f"{int(v)} veto unheard", va="center", fontsize=TICK_SIZE - 1, color="#a0522d",
                    clip_on=False)
    if target is not None:
        ax.axvline(target, color="#333333", ls=":", lw=1.2)
    ax.set_yticks(pos, df[account].astype(str).tolist())
    ax.set_ylim(len(df) - 0.5, -0.5)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(_percent())
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=BLUE, label="heard"), Patch(color=ORANGE, label="heard (veto holder unheard)"),
                       Patch(color="#e8e8e8", label="not heard")], fontsize=TICK_SIZE - 1,
              loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3, frameon=False)
    return _finish(ax, title, "Share of the account's influence heard", "")


def revenue_at_risk_pareto(data, *, account="account_id", value="revenue_at_risk", ci_low=None, ci_high=None,
                           top=20, ax=None, title="Revenue at risk, largest first", ylabel="Revenue at risk"):
    """Pareto chart: revenue at risk per account (bars) and cumulative share (line).

    Bars show the ``top`` accounts by ``value``; the line (right axis, also
    ``ax.cumulative_ax``) is the running share of the **whole portfolio's**
    revenue at risk, so "the first 5 accounts hold 60 %" reads directly.

    Parameters
    ----------
    data : DataFrame
        One row per account (e.g. from :mod:`cxinfluence.models.risk`).
    value : str
        Revenue at risk (>= 0).
    ci_low, ci_high : str, optional
        Interval columns, drawn as error bars.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> risk = pd.DataFrame({"account_id": ["A", "B", "C"], "revenue_at_risk": [100.0, 300.0, 100.0]})
    >>> ax = revenue_at_risk_pareto(data=risk)
    >>> [float(p.get_height()) for p in ax.patches], ax.cumulative_ax.lines[0].get_ydata().tolist()
    ([300.0, 100.0, 100.0], [0.6, 0.8, 1.0])
    """
    func = "revenue_at_risk_pareto"
    df = _numeric(_need(data, [account, value, ci_low, ci_high], func), [value, ci_low, ci_high], func)
    df = df.dropna(subset=[value])
    if (df[value] < 0).any():
        raise PlotDataError(f"{func}: {value!r} has negative values (e.g. {df.loc[df[value] < 0, value].iloc[0]}); "
                            "expected revenue at risk >= 0.")
    total = df[value].sum()
    if df.empty or total <= 0:
        raise PlotDataError(f"{func}: total {value!r} is {total}; nothing at risk to chart.")
    df = df.sort_values(value, ascending=False, kind="stable").head(top)
    ax = _axes(ax, figsize=(10.0, 5.5))
    pos = np.arange(len(df))
    vals = df[value].to_numpy()
    yerr = None
    if ci_low and ci_high:
        yerr = np.nan_to_num(np.vstack([vals - df[ci_low].to_numpy(), df[ci_high].to_numpy() - vals]).clip(min=0))
    ax.bar(pos, vals, color=RED, width=0.75, yerr=yerr, capsize=3 if yerr is not None else 0,
           error_kw={"ecolor": "#555555", "lw": 1})
    ax.set_xticks(pos, df[account].astype(str).tolist(), rotation=45 if len(df) > 8 else 0, ha="right"
                  if len(df) > 8 else "center")
    ax.yaxis.set_major_formatter(_money())
    twin = ax.twinx()
    twin.plot(pos, np.cumsum(vals) / total, color="#333333", marker="o", ms=4, lw=1.8)
    twin.set_ylim(0, 1.02)
    twin.yaxis.set_major_formatter(_percent())
    twin.set_ylabel("Cumulative share of all revenue at risk", fontsize=LABEL_SIZE)
    twin.tick_params(labelsize=TICK_SIZE)
    ax.cumulative_ax = twin
    ax.grid(axis="y", color="#eeeeee")
    return _finish(ax, title, "", ylabel)


def _money():
    from matplotlib.ticker import FuncFormatter

    def fmt(v, _pos):
        for div, suf in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
            if abs(v) >= div:
                return f"{v / div:g}{suf}"
        return f"{v:g}"

    return FuncFormatter(fmt)


# --------------------------------------------------------------------------- export


def figure_to_data_uri(fig, *, dpi=150, close=False) -> str:
    """PNG ``data:`` URI of a matplotlib Figure (or the figure of an Axes).

    For embedding in the self-contained report: ``<img src="{uri}">`` needs
    no file and no network. ``close=True`` closes the figure afterwards.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots(figsize=(2, 1)); _ = ax.plot([0, 1])
    >>> figure_to_data_uri(ax, dpi=50, close=True)[:30]
    'data:image/png;base64,iVBORw0K'
    """
    figure = getattr(fig, "figure", None) if not hasattr(fig, "savefig") else fig
    if figure is None or not hasattr(figure, "savefig"):
        raise PlotDataError(f"fig is {type(fig).__name__}; expected a matplotlib Figure or Axes.")
    buf = io.BytesIO()
    figure.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", facecolor="white",
                   metadata={"Software": None})
    if close:
        import matplotlib.pyplot as plt

        plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


#: ``gid`` of guide lines drawn in data coordinates (a diagonal): not data, so not counted by :func:`drawn_marks`.
REFERENCE = "cx-reference"


def drawn_marks(fig) -> int:
    """How many data marks a figure draws: points, bars, line vertices and cells, on any of its axes.

    Reference lines (``axhline``/``axvline``, lines with ``gid=REFERENCE``), text, legends and empty
    collections do not count, so a chart whose data were all dropped (NaN
    labels, an empty filter) counts 0 however many decorations it has. The
    report refuses such a chart, and the notebook tests fail on one.

    Examples
    --------
    >>> import matplotlib; matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots(); _ = ax.scatter([np.nan], [1.0]); _ = ax.axvline(0); _ = ax.set_title("n = 300")
    >>> drawn_marks(fig)
    0
    >>> _ = ax.bar(["a", "b"], [1.0, 2.0]); drawn_marks(fig)
    2
    >>> plt.close(fig)
    """
    figure = fig if hasattr(fig, "axes") and not hasattr(fig, "transData") else fig.figure
    count = 0
    for ax in figure.axes:
        for line in ax.lines:
            if line.get_transform() != ax.transData or line.get_gid() == REFERENCE:  # axhline/axvline, guides
                continue
            x, y = (np.asarray(v, dtype=float) for v in line.get_data())
            count += int(np.sum(np.isfinite(x) & np.isfinite(y)))
        for coll in ax.collections:
            if hasattr(coll, "get_array") and coll.get_array() is not None and not len(coll.get_offsets()) > 1:
                count += int(np.sum(np.isfinite(np.ma.filled(np.asarray(coll.get_array(), dtype=float), np.nan))))
                continue
            offsets = np.asarray(coll.get_offsets(), dtype=float).reshape(-1, 2)
            if len(offsets) and coll.get_paths():
                count += int(np.sum(np.isfinite(offsets).all(axis=1)))
            elif coll.get_paths():
                count += sum(1 for p in coll.get_paths() if len(p.vertices) and np.isfinite(p.vertices).all())
        for patch in ax.patches:
            if type(patch).__name__ == "Rectangle" and patch.get_width() and patch.get_height() and np.isfinite(
                    [patch.get_width(), patch.get_height()]).all():
                count += 1
        count += sum(1 for im in ax.images if np.size(im.get_array()))
    return count
