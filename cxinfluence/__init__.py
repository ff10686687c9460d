"""cxinfluence: B2B customer-experience analysis of the buying-center "village".

Build each account's buying-center graph, turn it into influence weights,
combine stakeholders' NPS, CSAT, CES and NetEasy into weighted and nested
account sentiment, and link it to rebuying and bookings.

The public functions are imported lazily, so ``import cxinfluence`` stays fast
(statsmodels, pyvis and seaborn load only when a function needs them).

>>> import cxinfluence
>>> callable(cxinfluence.load_village)
True
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "Village": "village",
    "load_village": "village",
    "validate_village": "validate",
    "problems_table": "validate",
    "write_village": "io",
    "read_output_csv": "csvsafe",
    "make_village": "synth",
    "complete_roles": "roles",
    "account_graph": "graph",
    "influence_weights": "influence",
    "coverage": "coverage",
    "listening_plan": "coverage",
    "metric_table": "metrics",
    "account_sentiment": "sentiment",
    "model_frame": "modelframe",
    "network_map": "maps",
    "run": "pipeline",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name):
    if name in _EXPORTS:
        module = importlib.import_module(f".{_EXPORTS[name]}", __name__)
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cxinfluence' has no attribute {name!r}")


def __dir__():
    return __all__
