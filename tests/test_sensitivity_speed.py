"""The sensitivity stage's shared work gives the same tables as the plain definitions."""

import warnings

import numpy as np
import pandas as pd
import pytest

from cxinfluence.village.subset import subset_village, subset_village_reference
from cxinfluence.village.ids import rows_of


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """A synthetic village written and loaded back (ids matched by validation, as in a run)."""
    from cxinfluence.village.core import load_village
    from cxinfluence.village.io import write_village
    from cxinfluence.village.synth import make_village

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v, _ = make_village(60, seed=4, years=2)
        path = tmp_path_factory.mktemp("village") / "v"
        write_village(v, path, format="parquet")
        return load_village(path, warn=False)


def test_subset_by_cached_rows_equals_matching_ids_as_text(loaded):
    ids = loaded.accounts["account_id"]
    pick = ids.iloc[np.sort(np.random.default_rng(1).choice(len(ids), 17, replace=False))]
    fast, ref = subset_village(loaded, pick), subset_village_reference(loaded, pick)
    for name in ("accounts", "stakeholders", "relationships", "responses", "outcomes"):
        pd.testing.assert_frame_equal(getattr(fast, name), getattr(ref, name))
    assert len(fast.accounts) == 17 and len(fast.responses) > 0 and len(fast.relationships) > 0
    # the ids matches carried over to the subset are those a fresh match finds
    for key in [("stakeholders", "account_id"), ("relationships", "source_id"), ("relationships", "target_id"),
                ("responses", "stakeholder_id"), ("outcomes", "account_id")]:
        carried = rows_of(fast, *key)
        fast.__dict__["_id_rows"].pop(key)
        np.testing.assert_array_equal(carried, rows_of(fast, *key))


def test_subset_falls_back_to_text_matching_for_unlisted_accounts_and_repeated_ids(loaded):
    from dataclasses import replace

    st = loaded.stakeholders.copy()
    st.loc[st.index[0], "account_id"] = "NOT-LISTED"
    odd = replace(loaded, stakeholders=st)
    pick = pd.Series(["NOT-LISTED", loaded.accounts["account_id"].iloc[1]])
    fast, ref = subset_village(odd, pick), subset_village_reference(odd, pick)
    for name in ("accounts", "stakeholders", "relationships", "responses", "outcomes"):
        pd.testing.assert_frame_equal(getattr(fast, name), getattr(ref, name))
    assert (fast.stakeholders["account_id"] == "NOT-LISTED").sum() == 1


@pytest.mark.parametrize("seed", range(4))
def test_vectorised_spearman_equals_the_groupby_definition(seed):
    from cxinfluence.models.sensitivity import _spearman_by_account, _spearman_by_account_reference

    rng = np.random.default_rng(seed)
    acc = rng.choice([f"A{i}" for i in range(40)], 400)  # accounts of 1..20 people, unsorted
    a = rng.integers(0, 6, 400).astype(float)  # many ties
    b = np.where(rng.random(400) < 0.5, a, rng.normal(size=400))
    a[rng.random(400) < 0.05] = np.nan
    b[:20] = a[:20]
    got, ref = _spearman_by_account(acc, a, b), _spearman_by_account_reference(acc, a, b)
    assert got[0] == pytest.approx(ref[0], rel=1e-12) and got[1] == ref[1]
    same = _spearman_by_account(acc, a, a)
    assert same == pytest.approx(_spearman_by_account_reference(acc, a, a), rel=1e-12)
