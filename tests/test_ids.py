"""Shared id rows (cxinfluence.village.ids): same answer as a fresh lookup, cache never stale."""

import numpy as np
import pandas as pd
import pytest

from cxinfluence import load_village
from cxinfluence.village.ids import DEFINED_BY, positions, rows_of
from cxinfluence.village.synth import make_village
from cxinfluence.village.core import Village


def fresh(v, table, column):
    dt, dc = DEFINED_BY[(table, column)]
    return pd.Index(getattr(v, dt)[dc].astype(str)).get_indexer(getattr(v, table)[column].astype(str))


@pytest.mark.parametrize("ref", sorted(DEFINED_BY))
def test_loaded_village_reuses_validation_and_agrees_with_a_fresh_lookup(ref, sample_path):
    v = load_village(sample_path, warn=False)
    assert ref in v.__dict__["_id_rows"]  # primed by validation, not hashed again
    np.testing.assert_array_equal(rows_of(v, *ref), fresh(v, *ref))


@pytest.mark.parametrize("ref", sorted(DEFINED_BY))
def test_long_reference_columns_are_held_as_int32_primed_or_hashed(ref, sample_path):
    # ids.NARROW: the responses' and ties' rows are int32 (half the memory), from validation or a fresh hash
    from cxinfluence.village.ids import NARROW

    v = load_village(sample_path, warn=False)
    primed = rows_of(v, *ref)
    v.__dict__["_id_rows"].clear()
    hashed = rows_of(v, *ref)
    for rows in (primed, hashed):
        assert rows.dtype == np.int32 if ref in NARROW else rows.dtype.kind == "i", (ref, rows.dtype)
        assert not rows.flags.writeable
        np.testing.assert_array_equal(rows, fresh(v, *ref))


def test_cache_misses_after_a_column_or_table_changes():
    v, _ = make_village(5, seed=3)
    first = rows_of(v, "responses", "stakeholder_id")
    assert rows_of(v, "responses", "stakeholder_id") is first  # cached
    v.responses.loc[0, "stakeholder_id"] = "nobody"  # pandas swaps in a new Arrow array
    again = rows_of(v, "responses", "stakeholder_id")
    assert again[0] == -1 and np.array_equal(again[1:], first[1:])
    v.stakeholders = v.stakeholders.iloc[::-1].reset_index(drop=True)
    np.testing.assert_array_equal(rows_of(v, "responses", "stakeholder_id"), fresh(v, "responses", "stakeholder_id"))


def test_unknown_and_blank_ids_are_minus_one():
    v = Village(pd.DataFrame({"account_id": ["A", "B"]}),
                pd.DataFrame({"stakeholder_id": ["s", "t", "u"], "account_id": ["B", None, "Q"]}),
                pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
    assert rows_of(v, "stakeholders", "account_id").tolist() == [1, -1, -1]
    assert positions(pd.Series([1, 2]), pd.Series(["2", "1"])).tolist() == [1, 0]  # ids compare as text


def test_blank_mask_is_not_strip_for_every_whitespace_character():
    # ids.blank_mask matches in Arrow; ids.PY_SPACE must be exactly what str.strip() removes
    import sys

    from cxinfluence.village.ids import PY_SPACE, blank_mask

    assert PY_SPACE == tuple(c for c in range(sys.maxunicode + 1) if chr(c).isspace())
    spaces = [chr(c) for c in PY_SPACE]
    values = spaces + ["".join(spaces), "", None, "x", f" x{spaces[-1]}", "\u200b", "\ufeff", "日本", "a\nb"]
    s = pd.Series(values, dtype="str")
    want = [v is None or not v.strip() for v in values]
    assert blank_mask(s).tolist() == want
    assert blank_mask(s.iloc[3:]).tolist() == want[3:]  # a slice of the Arrow column
    assert blank_mask(pd.Series(values, dtype=object)) is None  # not Arrow text: the caller's own path


def test_the_runs_influence_table_is_looked_up_without_hashing_its_ids(sample_path, monkeypatch):
    # influence_weights seeds its ids' rows; the run joins the structure columns on without new Arrow arrays,
    # so the stages given that table (coverage, sentiment, comments) find the rows instead of hashing millions of ids
    import cxinfluence.village.ids as ids
    from cxinfluence.pipeline.mapreduce import influence_part

    v = load_village(sample_path, warn=False)
    table = influence_part(v, as_of=pd.Timestamp("2025-06-30"))["influence"]
    expected = pd.Index(v.stakeholders["stakeholder_id"].astype(str)).get_indexer(table["stakeholder_id"].astype(str))

    def no_hashing(*args, **kwargs):
        raise AssertionError("the influence table's ids were hashed again")

    monkeypatch.setattr(ids, "positions", no_hashing)
    np.testing.assert_array_equal(ids.rows_for(v, table["stakeholder_id"]), expected)
