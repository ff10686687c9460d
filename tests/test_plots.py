"""Static figures: the artists drawn match the data, computed independently."""

import base64
import math
import struct

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from scipy.stats import norm  # noqa: E402

from cxinfluence.present import plots  # noqa: E402
from cxinfluence.exceptions import PlotDataError  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures(monkeypatch):
    # a plot function must never pop a window or block
    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("plt.show() called"))
    yield
    plt.close("all")


def accounts():
    return pd.DataFrame({
        "account_id": ["A", "B", "C", "D", "E"],
        "mean": [0.5, -0.2, 0.1, np.nan, 0.9],
        "influence_weighted": [-0.4, -0.1, 0.3, 0.2, 0.8],
        "renewed": [0, 0, 1, 1, 1],
    })


def responses():
    return pd.DataFrame({
        "role": ["user", "user", "decider", "decider", "gatekeeper", "buyer", "user"],
        "journey_stage": ["decision", "decision", "decision", "renewal", "renewal", "awareness", "renewal"],
        "sentiment": [0.2, 0.6, -0.5, -0.1, 0.9, 0.0, -0.3],
    })


def tidy():
    return pd.DataFrame({
        "model": ["logit"] * 3 + ["mixed"] * 3,
        "term": ["Intercept", "sent_decider", "sent_user"] * 2,
        "estimate": [0.1, 1.2, 0.3, 0.0, 0.9, 0.5],
        "ci_low": [-0.2, 0.5, -0.4, -0.3, 0.2, -0.1],
        "ci_high": [0.4, 1.9, 1.0, 0.3, 1.6, 1.1],
    })


def grid():
    x = np.linspace(-1, 1, 5)
    p = 1 / (1 + np.exp(-2 * x))
    return pd.DataFrame({"sentiment": x[::-1], "p_renew": p[::-1], "p_renew_low": p[::-1] * 0.8,
                         "p_renew_high": np.minimum(p[::-1] * 1.1, 1)})


def predictions():
    return pd.DataFrame({"renewed": [0, 0, 1, 0, 1, 1, 1, 0], "p_renew": [0.05, 0.1, 0.2, 0.4, 0.55, 0.7, 0.9, 0.95]})


def coverage():
    return pd.DataFrame({"account_id": ["A", "B", "C", "D"], "heard_influence": [0.9, 0.2, 0.2, 0.6],
                         "unheard_veto": [0, 0, 2, 1]})


def risk():
    return pd.DataFrame({"account_id": ["A", "B", "C", "D"], "revenue_at_risk": [100.0, 400.0, 250.0, 250.0],
                         "low": [50.0, 300.0, 200.0, 100.0], "high": [150.0, 500.0, 300.0, 400.0]})


# --------------------------------------------------------------------------- common behaviour

CALLS = [
    (plots.sentiment_scatter, accounts, {}),
    (plots.role_stage_heatmap, responses, {}),
    (plots.forest_plot, tidy, {"model": "model"}),
    (plots.renewal_curve, grid, {}),
    (plots.scheme_comparison,
     lambda: pd.DataFrame({"scheme": ["a", "b"], "score": [0.6, 0.7], "ci_low": [0.5, 0.6], "ci_high": [0.7, 0.8]}), {}),
    (plots.calibration_plot, predictions, {"n_bins": 2}),
    (plots.coverage_chart, coverage, {}),
    (plots.revenue_at_risk_pareto, risk, {"ci_low": "low", "ci_high": "high"}),
]


@pytest.mark.parametrize("func, make, kw", CALLS, ids=[c[0].__name__ for c in CALLS])
def test_draws_on_the_given_axes_labels_it_and_leaves_data_alone(func, make, kw):
    data = make()
    before = data.copy()
    fig, ax = plt.subplots()
    out = func(data=data, ax=ax, **kw)
    assert out is ax
    pd.testing.assert_frame_equal(data, before)
    assert ax.get_title(loc="left")  # a title for the slide
    assert ax.get_xlabel() or ax.get_yticklabels()
    assert ax._left_title.get_fontsize() == plots.TITLE_SIZE  # titles are left-aligned
    assert ax.xaxis.label.get_fontsize() == plots.LABEL_SIZE


@pytest.mark.parametrize("func, make, kw", CALLS, ids=[c[0].__name__ for c in CALLS])
def test_missing_column_is_named(func, make, kw):
    data = make().rename(columns=lambda c: c + "_x")
    with pytest.raises(PlotDataError, match=r"data has no column\(s\) \[.+\]; expected .* Available columns"):
        func(data=data, **kw)


def test_new_figure_when_no_axes():
    ax = plots.sentiment_scatter(data=accounts())
    assert len(ax.figure.axes) == 1 and ax.figure.get_size_inches().tolist() == [7.5, 6.5]


# --------------------------------------------------------------------------- sentiment


def test_sentiment_scatter_points_colours_and_limits():
    ax = plots.sentiment_scatter(data=accounts())
    pts = ax.collections[0].get_offsets()
    expected = accounts().dropna(subset=["mean"])
    np.testing.assert_allclose(pts, expected[["mean", "influence_weighted"]].to_numpy())
    colours = [to_hex(c) for c in ax.collections[0].get_facecolors()]
    assert colours == [plots.RED if r == 0 else plots.BLUE for r in expected["renewed"]]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["no", "yes"]
    assert ax.get_xlim() == (-1.05, 1.05) and ax.get_ylim() == (-1.05, 1.05)
    assert ax.get_xlabel().startswith("mean") and ax.get_ylabel().startswith("influence_weighted")
    assert "n = 4 accounts" in [t.get_text() for t in ax.texts]
    diag = [line for line in ax.lines if line.get_label() == "_diagonal"][0]
    assert diag.get_xydata().tolist() == [[-1, -1], [1, 1]]


def test_sentiment_scatter_samples_large_portfolios_and_says_so():
    rng = np.random.default_rng(0)
    big = pd.DataFrame({"mean": rng.uniform(-1, 1, 900), "influence_weighted": rng.uniform(-1, 1, 900),
                        "renewed": rng.integers(0, 2, 900)})
    ax = plots.sentiment_scatter(data=big, max_points=100, seed=3)
    pts = ax.collections[0].get_offsets()
    assert len(pts) == 100
    assert {tuple(p) for p in np.asarray(pts)} <= set(map(tuple, big[["mean", "influence_weighted"]].to_numpy()))
    assert "random 100 of 900 accounts shown" in [t.get_text() for t in ax.texts]


def test_role_stage_heatmap_cells_are_group_means():
    data = responses()
    ax = plots.role_stage_heatmap(data=data)
    expected = data.pivot_table(index="role", columns="journey_stage", values="sentiment", aggfunc="mean")
    # rows in buying-center order, columns in journey order
    expected = expected.reindex(index=["decider", "buyer", "user", "gatekeeper"],
                                columns=["awareness", "decision", "renewal"])
    mesh = ax.collections[0].get_array().reshape(expected.shape)
    np.testing.assert_allclose(np.ma.filled(mesh, np.nan), expected.to_numpy(), equal_nan=True)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(expected.index)
    assert [t.get_text() for t in ax.get_xticklabels()] == list(expected.columns)
    assert "0.40\n(n=2)" in [t.get_text() for t in ax.texts]  # user x decision: (0.2 + 0.6) / 2
    assert ax.collections[0].get_clim() == (-1, 1)


def test_role_stage_heatmap_blanks_thin_cells():
    ax = plots.role_stage_heatmap(data=responses(), min_count=2)
    mesh = ax.collections[0].get_array()
    assert int((~np.ma.getmaskarray(mesh)).sum()) == 1  # only user x decision has 2 responses
    assert [t.get_text() for t in ax.texts if t.get_text()] == ["0.40\n(n=2)"]


# --------------------------------------------------------------------------- models


def _errorbar_segments(container):
    """(x_low, x_high) per point from an errorbar container's horizontal bars."""
    segs = container.lines[2][0].get_segments()
    return [(s[0][0], s[1][0]) for s in segs]


def test_forest_plot_estimates_intervals_and_dodged_models():
    ax = plots.forest_plot(data=tidy(), model="model")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["sent_decider", "sent_user"]
    logit, mixed = ax.containers
    x, y = logit.lines[0].get_data()
    assert x.tolist() == [1.2, 0.3]
    np.testing.assert_allclose(_errorbar_segments(logit), [(0.5, 1.9), (-0.4, 1.0)])
    np.testing.assert_allclose(_errorbar_segments(mixed), [(0.2, 1.6), (-0.1, 1.1)])
    assert (y < mixed.lines[0].get_data()[1]).all()  # dodged: logit above mixed on each row
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["logit", "mixed"]
    ref = [ln for ln in ax.lines if ln.get_linestyle() == "--"][0]
    assert ref.get_xdata()[0] == 0.0


def test_forest_plot_odds_ratios_on_log_axis():
    ax = plots.forest_plot(data=tidy().query("model == 'logit'"), exponentiate=True)
    (c,) = ax.containers
    np.testing.assert_allclose(c.lines[0].get_data()[0], np.exp([1.2, 0.3]))
    np.testing.assert_allclose(_errorbar_segments(c), np.exp([(0.5, 1.9), (-0.4, 1.0)]))
    assert ax.get_xscale() == "log" and "Odds ratio" in ax.get_xlabel()
    assert [ln for ln in ax.lines if ln.get_linestyle() == "--"][0].get_xdata()[0] == 1.0


def test_forest_plot_refuses_an_interval_without_its_estimate():
    bad = tidy().assign(ci_high=lambda d: d["ci_low"])  # ci_high < estimate
    with pytest.raises(PlotDataError, match="term 'sent_decider' has estimate=1.2 outside its interval"):
        plots.forest_plot(data=bad)


def test_renewal_curve_line_band_and_observed_rug():
    g = grid()
    obs = pd.DataFrame({"sentiment": [-0.5, 0.5, 0.7], "renewed": [0, 1, 1]})
    ax = plots.renewal_curve(data=g, observed=obs)
    line, rug = ax.lines
    srt = g.sort_values("sentiment")
    np.testing.assert_allclose(line.get_xdata(), srt["sentiment"])
    np.testing.assert_allclose(line.get_ydata(), srt["p_renew"])
    band = ax.collections[0].get_paths()[0].vertices
    # the band's outline passes through every interval bound
    for xv, lo, hi in srt[["sentiment", "p_renew_low", "p_renew_high"]].itertuples(index=False):
        assert np.isclose(band, [xv, lo]).all(axis=1).any() and np.isclose(band, [xv, hi]).all(axis=1).any()
    assert rug.get_ydata().tolist() == [0, 1, 1]
    assert ax.get_ylim() == (0.0, 1.0) and ax.get_ylabel() == "Probability of renewal"


def test_renewal_curve_one_line_per_hue_level():
    g = pd.concat([grid().assign(scheme="mean"), grid().assign(scheme="weighted", p_renew=lambda d: d.p_renew * 0.9)])
    ax = plots.renewal_curve(data=g, hue="scheme")
    assert [ln.get_label() for ln in ax.lines] == ["mean", "weighted"] and len(ax.collections) == 2


def test_renewal_curve_refuses_non_probabilities():
    with pytest.raises(PlotDataError, match="outside \\[0, 1\\]"):
        plots.renewal_curve(data=grid().assign(p_renew=2.0))


def test_scheme_comparison_best_on_top():
    cv = pd.DataFrame({"scheme": ["mean", "weighted", "nested"], "score": [0.30, 0.20, 0.25],
                       "ci_low": [0.25, 0.15, 0.2], "ci_high": [0.35, 0.25, 0.3]})
    ax = plots.scheme_comparison(data=cv, higher_is_better=False)  # e.g. Brier: lower is better
    assert [t.get_text() for t in ax.get_yticklabels()] == ["weighted", "nested", "mean"]
    xs = [c.lines[0].get_data()[0][0] for c in ax.containers]
    assert xs == [0.20, 0.25, 0.30]
    assert to_hex(ax.containers[0].lines[0].get_color()) == plots.BLUE
    ax2 = plots.scheme_comparison(data=cv)
    assert [t.get_text() for t in ax2.get_yticklabels()] == ["mean", "nested", "weighted"]


def test_scheme_comparison_draws_an_interval_that_excludes_its_score_as_it_is():
    # a percentile-bootstrap interval need not contain the cross-validated score (with few accounts and
    # few replicates it did, and the whole report fell back to the plain page: matplotlib refuses a
    # negative error bar); the bar spans the interval itself and the point stays at the score
    cv = pd.DataFrame({"scheme": ["mean", "weighted"], "score": [0.70, 0.60],
                       "ci_low": [0.72, 0.55], "ci_high": [0.80, 0.65]})
    ax = plots.scheme_comparison(data=cv)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["mean", "weighted"]
    np.testing.assert_allclose(_errorbar_segments(ax.containers[0]), [(0.72, 0.80)])
    np.testing.assert_allclose(_errorbar_segments(ax.containers[1]), [(0.55, 0.65)])
    points = [ln for ln in ax.lines if ln.get_marker() == "o"]
    assert points[0].get_xdata().tolist() == [0.70]


# --------------------------------------------------------------------------- calibration


def wilson(k, n, alpha=0.05):
    """Wilson (1927) score interval written out by hand."""
    z = norm.ppf(1 - alpha / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_calibration_table_by_hand():
    t = plots.calibration_table(predictions(), n_bins=2)
    # quantile bins split the 8 predictions 4 / 4
    assert t["n"].tolist() == [4, 4] and t["events"].tolist() == [1, 3]
    np.testing.assert_allclose(t["mean_predicted"], [(0.05 + 0.1 + 0.2 + 0.4) / 4, (0.55 + 0.7 + 0.9 + 0.95) / 4])
    np.testing.assert_allclose(t["observed"], [0.25, 0.75])
    np.testing.assert_allclose(t[["ci_low", "ci_high"]].to_numpy(), [wilson(1, 4), wilson(3, 4)])


def test_calibration_table_uniform_bins_skip_empty_ones():
    t = plots.calibration_table(predictions(), n_bins=4, strategy="uniform")
    # [0, .25]: 3 (1 event); (.25, .5]: 1 (0); (.5, .75]: 2 (2); (.75, 1]: 2 (1)
    assert t["n"].tolist() == [3, 1, 2, 2] and t["events"].tolist() == [1, 0, 2, 1]
    np.testing.assert_allclose(t[["ci_low", "ci_high"]].to_numpy()[1], wilson(0, 1))


@pytest.mark.parametrize("change, message", [
    (dict(renewed=[0, 0, 1, 0, 1, 1, 2, 0]), "'renewed' has values other than 0/1"),
    (dict(p_renew=[0.1] * 7 + [1.5]), "'p_renew' has values outside \\[0, 1\\]"),
])
def test_calibration_table_checks_inputs(change, message):
    with pytest.raises(PlotDataError, match=message):
        plots.calibration_table(predictions().assign(**change))


def test_calibration_plot_points_intervals_and_brier():
    d = predictions()
    ax = plots.calibration_plot(data=d, n_bins=2)
    t = plots.calibration_table(d, n_bins=2)
    np.testing.assert_allclose(ax.collections[-1].get_offsets(), t[["mean_predicted", "observed"]].to_numpy())
    segs = ax.containers[0].lines[2][0].get_segments()
    np.testing.assert_allclose([(s[0][1], s[1][1]) for s in segs], t[["ci_low", "ci_high"]].to_numpy())
    brier = np.mean((d.p_renew - d.renewed) ** 2)
    assert ax.texts[0].get_text() == f"Brier score {brier:.3f} (n = 8)"
    assert ax.get_xlim() == (0, 1) and ax.get_ylim() == (0, 1)


# --------------------------------------------------------------------------- portfolio


def test_coverage_chart_least_covered_first_with_veto_flags():
    ax = plots.coverage_chart(data=coverage(), top=3)
    # heard 0.2 tie: C (2 unheard veto) before B; then D 0.6; A (0.9) cut by top=3
    assert [t.get_text() for t in ax.get_yticklabels()] == ["C", "B", "D"]
    heard, rest = ax.patches[:3], ax.patches[3:]
    assert [round(p.get_width(), 6) for p in heard] == [0.2, 0.2, 0.6]
    assert [round(p.get_width(), 6) for p in rest] == [0.8, 0.8, 0.4]
    assert [to_hex(p.get_facecolor()) for p in heard] == [plots.ORANGE, plots.BLUE, plots.ORANGE]
    assert [t.get_text() for t in ax.texts] == ["2 veto unheard", "1 veto unheard"]
    assert ax.get_xlim() == (0, 1)


def test_coverage_chart_refuses_shares_above_one():
    with pytest.raises(PlotDataError, match="'heard_influence' has values outside \\[0, 1\\]"):
        plots.coverage_chart(data=coverage().assign(heard_influence=[0.5, 1.5, 0.2, 0.1]))


def test_pareto_bars_sorted_and_cumulative_share_of_the_whole_portfolio():
    ax = plots.revenue_at_risk_pareto(data=risk(), top=3, ci_low="low", ci_high="high")
    assert [p.get_height() for p in ax.patches] == [400.0, 250.0, 250.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["B", "C", "D"]  # stable order on the tie
    # the line is the running share of all 1000 at risk, including A beyond the top 3
    np.testing.assert_allclose(ax.cumulative_ax.lines[0].get_ydata(), [0.4, 0.65, 0.9])
    (bars,) = [c for c in ax.containers if hasattr(c, "errorbar")]
    segs = bars.errorbar.lines[2][0].get_segments()
    np.testing.assert_allclose([(s[0][1], s[1][1]) for s in segs], [(300, 500), (200, 300), (100, 400)])


def test_pareto_refuses_negative_or_empty():
    with pytest.raises(PlotDataError, match="negative values"):
        plots.revenue_at_risk_pareto(data=risk().assign(revenue_at_risk=[-1.0, 1, 1, 1]))
    with pytest.raises(PlotDataError, match="nothing at risk"):
        plots.revenue_at_risk_pareto(data=risk().assign(revenue_at_risk=0.0))


# --------------------------------------------------------------------------- export


def test_figure_to_data_uri_is_a_png_of_the_figure():
    fig, ax = plt.subplots(figsize=(4, 2))
    ax.plot([0, 1], [0, 1])
    uri = plots.figure_to_data_uri(ax, dpi=50)
    png = base64.b64decode(uri.split(",", 1)[1])
    assert uri.startswith("data:image/png;base64,") and png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert 150 <= width <= 200 and 75 <= height <= 100  # about 4 x 2 inches at 50 dpi, bbox tight
    assert plt.fignum_exists(fig.number)
    plots.figure_to_data_uri(fig, dpi=20, close=True)
    assert not plt.fignum_exists(fig.number)
    with pytest.raises(PlotDataError, match="fig is str"):
        plots.figure_to_data_uri("not a figure")


def test_importing_maps_and_plots_is_light():
    import subprocess
    import sys

    code = ("import sys, cxinfluence.present.maps, cxinfluence.present.plots;"
            "print(','.join(m for m in ('pyvis', 'seaborn', 'matplotlib', 'networkx', 'statsmodels', 'IPython')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_boolean_hue_is_drawn_not_dropped():
    """Notebook 03's blank chart: a bool hue became NaN labels and no point was drawn."""
    df = pd.DataFrame({"mean": [0.2, -0.1, 0.5, 0.1], "influence_weighted": [-0.3, 0.0, 0.6, 0.2],
                       "veto_binding": [True, False, True, False]})
    ax = plots.sentiment_scatter(data=df, hue="veto_binding", hue_title="Veto floor binding")
    assert plots.drawn_marks(ax.figure) == 4
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["no", "yes"]
    assert ax.get_legend().get_title().get_text() == "Veto floor binding"
    nullable = df.assign(veto_binding=pd.array([True, None, False, True], dtype="boolean"))
    assert plots.drawn_marks(plots.sentiment_scatter(data=nullable, hue="veto_binding").figure) >= 3
