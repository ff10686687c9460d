"""Stakeholder and account sentiment: metrics exactly as defined, every weighting scheme side by side,
breakdowns and the journey view."""

from .._api import lazy_exports

_EXPORTS = {
    "breakdown": ".breakdowns", "role_stage": ".breakdowns", "by_touchpoint": ".breakdowns",
    "by_channel": ".breakdowns", "emotions": ".breakdowns", "who_moved": ".breakdowns",
    "DEFAULT_BREAKDOWN_METRICS": ".breakdowns", "EMOTION_METRICS": ".breakdowns", "journey_view": ".journey",
    "pain_points": ".journey", "net_score_ci": ".metrics", "share_ci": ".metrics", "mean_ci": ".metrics",
    "metric_arrays": ".metrics", "response_frame": ".metrics", "metric_table": ".metrics", "METRICS": ".metrics",
    "DEFAULT_METRICS": ".metrics", "weighted_group_mean": ".schemes", "weighted_sd": ".schemes",
    "nested_mean": ".schemes", "veto_floor": ".schemes", "eb_shrink": ".schemes", "impute_unheard": ".schemes",
    "item_sentiment": ".schemes", "schemes_from_codes": ".schemes", "account_sentiment": ".schemes",
    "sentiment_tables": ".schemes",
    "schemes_reference": ".schemes_reference", "stakeholder_sentiment": ".schemes", "role_sentiment": ".schemes",
    "SCHEMES": ".schemes", "PRIMARY_SCHEME": ".schemes", "COMPARED_SCHEMES": ".schemes", "SE_SCHEMES": ".schemes",
    "DEFAULT_ROLE_WEIGHTS": ".schemes", "comment_sentiment": ".tone",
    "DOMAIN_LEXICON": ".tone", "PHRASE_RULES": ".tone", "bounded_mean_ci": ".intervals",
    "group_bounded_ci": ".intervals", "MIN_COVERAGE": ".intervalcheck", "N_VALUES": ".intervalcheck",
    "metric_coverage": ".intervalcheck", "scheme_coverage": ".intervalcheck", "coverage_table": ".intervalcheck",
    "scale_bounds": ".metrics", "VETO_THRESHOLD": ".schemes", "veto_floor_interval": ".schemes",
    "PortfolioPrior": ".prior", "portfolio_prior": ".prior", "eb_parameters": ".estimators",
    "portfolio_parameters": ".kernel",
}

lazy_exports(__name__, _EXPORTS)
