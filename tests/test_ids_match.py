"""ids.match_rows, the one id -> row lookup validation uses, against a plain-Python reference; and the
rows load_village primes the id cache with, against pandas' own lookup."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from cxinfluence.village.ids import match_rows, positions
from cxinfluence.village.io import write_village
from cxinfluence.village.core import load_village
from cxinfluence.village.synth import make_village


def _reference(defining, refs):
    first = {}
    for i, v in enumerate(defining):
        if isinstance(v, str):
            first.setdefault(v, i)
    return [first.get(v, -1) if isinstance(v, str) else -1 for v in refs]


def test_match_rows_equals_a_dictionary_lookup_with_blanks_repeats_and_unknown_ids():
    rng = np.random.default_rng(4)
    pool = np.array([f"id{i:03d}" for i in range(60)], dtype=object)
    defining = pd.Series(rng.choice(pool[:40], 50), dtype="str")  # repeats
    defining[[3, 17]] = None  # blanks
    refs = [pd.Series(rng.choice(pool, n), dtype="str") for n in (80, 5, 0)]  # unknown ids 40..59
    refs[0][[1, 2]] = None
    own, found = match_rows(defining, *refs)
    assert own.tolist() == _reference(list(defining.astype(object).where(defining.notna())),
                                      list(defining.astype(object).where(defining.notna())))
    for ref, rows in zip(refs, found):
        assert rows.tolist() == _reference(list(defining.astype(object).where(defining.notna())),
                                           list(ref.astype(object).where(ref.notna())))


def test_positions_reads_chunked_arrow_columns_and_other_dtypes():
    chunked = pd.Series(pd.array(pa.chunked_array([["b", "a"], [None, "c", "b"]]), dtype="str"))
    assert positions(chunked, pd.Series(["a", "b"])).tolist() == [1, 0, -1, -1, 1]
    assert positions(pd.Series([2, 7]), pd.Series(["7", "2"])).tolist() == [1, 0]
    assert positions(pd.Series(["x", None], dtype=object), pd.Series(["x"])).tolist() == [0, -1]


def test_load_village_primes_the_rows_pandas_finds(tmp_path):
    v, _ = make_village(25, seed=2)
    path = write_village(v, tmp_path / "v", format="parquet")
    loaded = load_village(path, warn=False)
    cache = loaded.__dict__["_id_rows"]
    index = {"accounts": pd.Index(loaded.accounts["account_id"]),
             "stakeholders": pd.Index(loaded.stakeholders["stakeholder_id"])}
    expected = {("stakeholders", "account_id"): "accounts", ("outcomes", "account_id"): "accounts",
                ("relationships", "source_id"): "stakeholders", ("relationships", "target_id"): "stakeholders",
                ("responses", "stakeholder_id"): "stakeholders"}
    assert {k for k in cache if k[0] != "remembered"} == set(expected)
    assert ("remembered", "unique stakeholders.stakeholder_id") in cache  # validation found no id twice
    for (table, column), defining in expected.items():
        want = index[defining].get_indexer(getattr(loaded, table)[column])
        assert np.array_equal(cache[(table, column)][1], want), (table, column)
