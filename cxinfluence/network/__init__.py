"""Each account's buying-center graph and the influence weights built from it."""

from .._api import lazy_exports

_EXPORTS = {
    "account_graphs": ".graph", "account_graph": ".graph", "endorsement_graph": ".graph",
    "NODE_ATTRIBUTES": ".graph",
    "pagerank_arrays": ".influence", "portfolio_pagerank": ".influence", "active_stakeholders": ".influence",
    "endorsement_edges": ".influence", "influence_weights": ".influence", "ROLE_PRIORS": ".influence",
    "UNKNOWN_ROLE_PRIOR": ".influence",
    "portfolio_betweenness": ".structure", "stakeholder_structure": ".structure", "account_structure": ".structure",
    "DENSE_MAX": ".structure",
}

lazy_exports(__name__, _EXPORTS)
