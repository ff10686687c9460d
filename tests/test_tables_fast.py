"""The tables-fast round (#18): cached endorsement ends give the same influence, and follow edits."""

import numpy as np
import pandas as pd

from cxinfluence.network.influence import influence_weights
from cxinfluence.village.ids import arrow_identity, remembered
from cxinfluence.village.synth import make_village


def test_endorsement_ends_cached_and_refreshed_when_ties_change():
    v, _ = make_village(30, seed=3)
    as_of = "2025-01-01"
    first = influence_weights(v, as_of)
    rel = v.relationships
    key_cols = (rel["source_id"], rel["target_id"], rel["kind"], v.stakeholders["stakeholder_id"])
    key = tuple(arrow_identity(c) for c in key_cols)
    if all(k is not None for k in key):  # Arrow text columns: the ends are kept for the next call
        assert remembered(v, "endorsement ends", key) is not None
    again = influence_weights(v, as_of)
    pd.testing.assert_frame_equal(first, again)
    # flip every tie's kind: a new column, so the cache must miss and the graph follow the data
    flipped = rel["kind"].map({"reports_to": "influences", "influences": "reports_to"}).astype(rel["kind"].dtype)
    v.relationships = rel.assign(kind=flipped)
    after = influence_weights(v, as_of)
    fresh, _ = make_village(30, seed=3)
    fresh.relationships = fresh.relationships.assign(kind=flipped.to_numpy())
    want = influence_weights(fresh, as_of)
    np.testing.assert_array_equal(after["pagerank"].to_numpy(), want["pagerank"].to_numpy())
    assert not np.array_equal(after["pagerank"].to_numpy(), first["pagerank"].to_numpy())
