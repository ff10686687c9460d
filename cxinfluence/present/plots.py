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

The figures live in one module per family (every name importable from here):
:mod:`~cxinfluence.present.plots_sentiment` (sentiment),
:mod:`~cxinfluence.present.plots_models` (models),
:mod:`~cxinfluence.present.plots_accounts` (coverage and revenue at risk) and
:mod:`~cxinfluence.present.plotbase` (shared sizes, checks and the PNG export).
"""

from .plotbase import (  # noqa: F401 - the shared names, importable from here as before
    BLUE,
    FIGSIZE,
    GREEN,
    GREY,
    LABEL_SIZE,
    ORANGE,
    RED,
    REFERENCE,
    TICK_SIZE,
    TITLE_SIZE,
    _axes,
    _finish,
    _need,
    _numeric,
    _outcome_labels,
    _percent,
    drawn_marks,
    figure_to_data_uri,
)
from .plots_accounts import _money, coverage_chart, revenue_at_risk_pareto  # noqa: F401
from .plots_models import calibration_plot, calibration_table, forest_plot, renewal_curve, scheme_comparison
from .plots_sentiment import role_stage_heatmap, sentiment_scatter

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
