"""The whole analysis in one call (`run`) and the command line."""

from .._api import lazy_exports

_EXPORTS = {
    "main": ".cli", "Progress": ".progress", "sample_village_path": ".runner", "RunResult": ".runner",
    "run": ".runner", "PRIMARY_SCHEME": ".runner", "EMBEDDED_MAPS": ".runner",
}

lazy_exports(__name__, _EXPORTS)
