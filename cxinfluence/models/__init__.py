"""Models linking sentiment to renewals and bookings: the model frame, fits, scheme comparison, predictions,
risk and findings."""

from .._api import lazy_exports

_EXPORTS = {
    "irls": ".irls", "irls_fit": ".irls", "irls_rows": ".irls", "IrlsResult": ".irls", "IRLS_TOL": ".irls", "IRLS_MAXITER": ".irls",
    "Comparison": ".compare", "auc": ".compare", "bootstrap_auc": ".compare", "grouped_folds": ".compare",
    "compare_schemes": ".compare", "compare_metrics": ".compare", "DEFAULT_SCHEMES": ".compare",
    "rebuy_findings": ".findings", "decision_findings": ".findings", "bookings_findings": ".findings",
    "comparison_findings": ".findings", "findings": ".findings", "LABELS": ".findings",
    "BINARY_LABELS": ".findings", "GROUPS": ".findings", "COLUMNS": ".findings", "Fit": ".fit",
    "models_table": ".fit", "formula_columns": ".fit", "design_rank": ".fit", "vif": ".fit", "separation": ".fit",
    "warm_start": ".fit", "fit_rebuy": ".fit", "fit_bookings": ".fit", "fit_formula": ".fit", "fit_mixed": ".fit",
    "scenario_effect": ".fit", "decision_equation": ".fit", "DEFAULT_CONTROLS": ".fit",
    "SEPARATION_LP_MAX_ROWS": ".fit", "MIN_EPV": ".fit", "MAX_VIF": ".fit", "MIN_CLUSTERS": ".fit",
    "WARM_START_MIN_ROWS": ".fit", "WARM_RTOL": ".fit", "DETRACTOR": ".fit", "PROMOTER": ".fit",
    "outcome_periods": ".frame", "model_frame": ".frame", "VETO_GROUPS": ".frame", "snapshot_frame": ".predict",
    "predict_renewal": ".predict", "renewal_curve_table": ".predict", "risk_flags": ".risk",
    "accounts_at_risk": ".risk", "REASON_TEXT": ".risk", "FLAGS": ".diagnostics", "MIN_GROUPS": ".diagnostics",
    "BOUNDARY_RTOL": ".diagnostics", "BOUNDARY_CORR": ".diagnostics", "LOGLINK_SCREEN_ROWS": ".diagnostics",
    "LOGLINK_SCREEN_RTOL": ".diagnostics", "Flag": ".diagnostics", "flag_of": ".diagnostics",
    "flag_table": ".diagnostics", "loglink_separation": ".diagnostics", "diagnose": ".diagnostics",
    "aliased_flags": ".diagnostics", "se_description": ".diagnostics", "parse_random": ".mixed",
    "variance_components": ".mixed", "component_label": ".mixed", "lrt_mixture_pvalue": ".mixed",
    "boundary_lrt": ".mixed", "METHODS": ".measurement", "SIMEX_ZETAS": ".measurement", "Corrected": ".measurement",
    "error_variance": ".measurement", "corrected_fit": ".measurement", "correction_sentence": ".measurement",
    "decision_equation_ipw": ".missingroles", "BASE_SHARES": ".sensitivity", "VARIANTS": ".sensitivity",
    "reblend": ".sensitivity", "subset_village": ".sensitivity", "influence_sensitivity": ".sensitivity",
    "sensitivity_sentence": ".sensitivity", "SIMPLICITY": ".compare", "SEPARATION_EPS": ".irls",
    "LeanGLMResults": ".lean", "build_design": ".lean", "fit_lean": ".lean", "blas_threads": ".threads",
    "group_codes": ".design",
    "CHANGE_KINDS": ".changes", "CHANGE_COLUMNS": ".changes", "risk_at": ".changes", "what_changed": ".changes",
}

lazy_exports(__name__, _EXPORTS)
