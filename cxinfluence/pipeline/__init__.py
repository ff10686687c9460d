"""The whole analysis in one call (`run`) and the command line."""

from .._api import lazy_exports

_EXPORTS = {
    "main": ".cli", "Progress": ".progress", "sample_village_path": ".runner", "RunResult": ".stages",
    "run": ".runner", "PRIMARY_SCHEME": ".runner", "EMBEDDED_MAPS": ".outputs",
    "MIN_MODEL_ACCOUNTS": ".preconditions", "MIN_MODEL_ROWS": ".preconditions",
    "MIN_COMPARISON_ACCOUNTS": ".preconditions", "model_frame_reason": ".preconditions",
    "rebuy_reason": ".preconditions", "decision_reason": ".preconditions", "bookings_reason": ".preconditions",
    "comparison_reason": ".preconditions", "comparison_folds": ".preconditions", "sentiment_note": ".preconditions",
    "renewal_models_reason": ".preconditions", "ACTION_WINDOW_DAYS": ".runner", "OUTPUT_ENTRIES": ".runner",
}

lazy_exports(__name__, _EXPORTS)
