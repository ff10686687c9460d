"""The report's shortcuts at portfolio scale give the plain computations' answers (present/summary.py, content.py)."""

import dataclasses

import numpy as np
import pandas as pd

from cxinfluence.present.content import routed_counts
from cxinfluence.present.summary import responding_people, village_overview


def test_responding_people_counted_on_matched_rows_equal_nunique(small_synthetic):
    _, v, _ = small_synthetic
    assert responding_people(v) == v.responses["stakeholder_id"].nunique() > 0
    r = v.responses.copy()
    r.loc[r.index[:3], "stakeholder_id"] = ["nobody", None, "nobody"]  # unknown and blank ids: pandas' count
    odd = dataclasses.replace(v, responses=r)
    assert responding_people(odd) == r["stakeholder_id"].nunique()
    assert village_overview(odd).set_index("item").loc["responding stakeholders", "value"] == \
        str(r["stakeholder_id"].nunique())


def test_routed_counts_equal_splitting_every_row():
    rng = np.random.default_rng(0)
    for values in (["sales;service", "service", "", None, "product;;sales", "service;sales"], ["x"], [None, ""]):
        groups = pd.Series(rng.choice(np.array(values, dtype=object), 2000), name="owner_group")
        rows = groups.fillna("").astype(str).str.split(";").explode()
        expected = rows[rows != ""].value_counts()
        got = routed_counts(groups)
        assert list(got.items()) == list(expected.items())
