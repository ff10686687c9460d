"""cxinfluence: B2B customer-experience analysis of the buying-center "village".

Build each account's buying-center graph, turn it into influence weights,
combine stakeholders' NPS, CSAT, CES and NetEasy into weighted and nested
account sentiment, and link it to rebuying and bookings.

The package is laid out in the order the data flows, one folder per stage:
:mod:`~cxinfluence.village` (the data) -> :mod:`~cxinfluence.network` (graphs
and influence) -> :mod:`~cxinfluence.listening` (coverage) ->
:mod:`~cxinfluence.sentiment` -> :mod:`~cxinfluence.comments` ->
:mod:`~cxinfluence.models` -> :mod:`~cxinfluence.present` (figures, maps,
report) -> :mod:`~cxinfluence.pipeline` (``run`` and the command line). The
names below are the everyday API; every stage's full API is its folder's
namespace (``cx.sentiment.role_stage``, ``cx.present.forest_plot``).

Everything is imported lazily, so ``import cxinfluence`` stays fast
(statsmodels, pyvis and seaborn load only when a function needs them).

>>> import cxinfluence as cx
>>> callable(cx.load_village), callable(cx.sentiment.role_stage)
(True, True)
"""

from __future__ import annotations

from ._api import install_moved_finder, lazy_exports

__version__ = "0.2.0"

#: public name -> the module defining it
_EXPORTS = {
    # the village
    "Village": "village.core", "load_village": "village.load", "validate_village": "village.validate",
    "problems_table": "village.validate", "write_village": "village.io", "make_village": "village.synth",
    "read_truth": "village.synth", "complete_roles": "village.roles", "unclassified_titles": "village.roles",
    "village_overview": "present.summary",
    # the network and who the listening reaches
    "account_graph": "network.graph", "influence_weights": "network.influence",
    "stakeholder_structure": "network.structure", "account_structure": "network.structure",
    "coverage": "listening.coverage", "listening_plan": "listening.plan",
    "manager_books": "listening.books", "turnover_what_if": "listening.turnover",
    # sentiment
    "metric_table": "sentiment.metrics", "account_sentiment": "sentiment.schemes",
    "stakeholder_sentiment": "sentiment.schemes", "PortfolioPrior": "sentiment.prior",
    "portfolio_prior": "sentiment.prior",
    # models
    "model_frame": "models.frame", "fit_rebuy": "models.fit", "fit_bookings": "models.fit",
    "fit_mixed": "models.fit", "fit_formula": "models.fit", "decision_equation": "models.fit",
    "models_table": "models.fit", "compare_schemes": "models.compare", "findings": "models.findings",
    # what people see, and the whole run
    "network_map": "present.maps", "show_map": "present.maps", "portfolio_map": "present.maps",
    "run": "pipeline.runner", "title_coverage": "village.roles",
    "read_output_csv": "village.csvsafe", "import_village": "village.importers",
}

lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS) + ["__version__"]
install_moved_finder()
