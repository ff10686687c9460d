"""What people see: seaborn figures, interactive maps and the leadership report."""

from .._api import lazy_exports

_EXPORTS = {
    "risk_sentences": ".content", "coverage_sentences": ".content", "action_sentences": ".content",
    "methods": ".content", "caveats": ".content", "build_report": ".content", "PRIMARY": ".content",
    "PORTFOLIO_MAX": ".content", "sentiment_color": ".maps", "network_map": ".maps", "save_map": ".maps",
    "show_html": ".maps", "show_map": ".maps", "portfolio_map": ".maps", "NOT_HEARD_COLOR": ".maps",
    "DEPARTED_COLOR": ".maps", "sentiment_scatter": ".plots", "role_stage_heatmap": ".plots",
    "forest_plot": ".plots", "renewal_curve": ".plots", "scheme_comparison": ".plots",
    "calibration_table": ".plots", "calibration_plot": ".plots", "coverage_chart": ".plots",
    "revenue_at_risk_pareto": ".plots", "figure_to_data_uri": ".plots", "FIGSIZE": ".plots",
    "ReportContent": ".report", "esc": ".report", "html_table": ".report", "render_report": ".report",
    "CSS": ".report", "RISK_COLUMNS": ".report", "LISTENING_COLUMNS": ".report", "ACTION_COLUMNS": ".report",
    "village_overview": ".summary", "village_summary": ".summary",
}

lazy_exports(__name__, _EXPORTS)
