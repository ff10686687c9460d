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
    "village_overview": ".summary", "village_summary": ".summary", "PAGE_CSS": ".account_page",
    "interests": ".account_page", "account_page": ".account_page", "write_account_pages": ".account_page",
    "MAX_HEADLINES": ".briefing", "DISTINCT_SHARE": ".briefing", "MIN_GAP_POINTS": ".briefing",
    "money": ".briefing", "model_label": ".briefing", "in_words": ".briefing", "reason_table": ".briefing",
    "action_accounts": ".briefing", "headline_findings": ".briefing", "money_at_risk_chart": ".briefing",
    "role_effects_chart": ".briefing", "reason_sentences": ".content", "portfolio_graph": ".exports",
    "write_gexf": ".exports", "kumu_tables": ".exports", "write_kumu": ".exports", "ROLE_SHAPES": ".maps",
    "OTHER_SHAPE": ".maps", "LABEL_FONT_SIZE": ".maps", "REFERENCE": ".plots", "drawn_marks": ".plots",
    "portfolio_tables": ".portfolio", "write_portfolio_gexf": ".portfolio", "write_portfolio_graph": ".portfolio",
    "write_portfolio_kumu": ".portfolio",
    "interest_edges": ".interests", "interest_digraph": ".interests", "map_figure": ".slides",
    "write_map_figures": ".slides", "SLIDE_SIZE": ".slides", "SLIDE_FONT_PT": ".slides",
    "ACTION_ACCOUNT_COLUMNS": ".report", "WORKING_COLUMNS": ".report", "LISTENING_MAIN_COLUMNS": ".report",
    "CHANGE_TABLE_COLUMNS": ".changes", "change_sentences": ".changes", "change_highlights": ".changes",
    "NODE_COLUMNS": ".portfolio", "EDGE_COLUMNS": ".portfolio", "EXCEL_MAX_ROWS": ".portfolio",
    "stable_xlsx": ".portfolio",
    "MapJob": ".mapfiles", "write_maps": ".mapfiles", "write_map_files": ".mapfiles",
    "PARALLEL_MIN_MAPS": ".mapfiles", "quote_values": ".xmlcolumns", "quote_numbers": ".xmlcolumns",
}

lazy_exports(__name__, _EXPORTS)
