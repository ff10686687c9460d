"""Each account's buying-center graph and the influence weights built from it."""

from .._api import lazy_exports

_EXPORTS = {
    "account_graphs": ".graph", "account_graph": ".graph", "endorsement_graph": ".edges",
    "NODE_ATTRIBUTES": ".graph", "pagerank_arrays": ".pagerank", "portfolio_pagerank": ".pagerank",
    "active_stakeholders": ".influence", "endorsement_edges": ".edges", "influence_weights": ".influence",
    "ROLE_PRIORS": ".influence", "UNKNOWN_ROLE_PRIOR": ".influence", "portfolio_betweenness": ".structure",
    "stakeholder_structure": ".structure", "account_structure": ".structure", "DENSE_MAX": ".structure",
    "tie_kinds": ".edges", "tie_weights": ".edges", "endorse": ".edges", "KINDS": ".edges",
    "influence_with_rows": ".influence", "influence_of_rows": ".influence", "influence_at_dates": ".influence",
    "pagerank_reference": ".pagerank", "pagerank_blocks": ".pagerank",
    "EXACT_DENSE_MAX": ".pagerank",
}

lazy_exports(__name__, _EXPORTS)
