"""Integer row positions for a village's string ids, hashed once and shared.

Every stage joins tables on text ids: ties and responses refer to
stakeholders, stakeholders and outcomes to accounts. At portfolio scale
(millions of ids) hashing those strings is the costly step, and each stage
used to hash the same columns again. :func:`rows_of` hashes a referencing
column once per village and caches the answer on the
:class:`~cxinfluence.village.Village`; :func:`~cxinfluence.village.load_village`
primes the cache from validation, which has already matched every reference.

The cache is keyed on the identity of the immutable Arrow arrays behind the
two columns (pandas' ``str`` dtype), so replacing a table or editing a
column (pandas swaps in a new Arrow array) simply misses the cache. Columns
not backed by Arrow are hashed on every call (nothing to key on safely).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Referencing column -> the (table, column) whose rows it points to.
DEFINED_BY = {
    ("stakeholders", "account_id"): ("accounts", "account_id"),
    ("outcomes", "account_id"): ("accounts", "account_id"),
    ("relationships", "source_id"): ("stakeholders", "stakeholder_id"),
    ("relationships", "target_id"): ("stakeholders", "stakeholder_id"),
    ("responses", "stakeholder_id"): ("stakeholders", "stakeholder_id"),
}


def arrow_strings(values):
    """A pyarrow ``large_string`` Array of ids (zero-copy for pandas' Arrow-backed ``str``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = values.array if isinstance(values, (pd.Series, pd.Index)) else values
    arr = arr._pa_array if hasattr(arr, "_pa_array") else pa.array(np.asarray(arr, dtype=object), from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = pc.cast(arr, pa.string())
    return arr.cast(pa.large_string()) if not pa.types.is_large_string(arr.type) else arr


def positions(keys, values, *more_keys, threads=2):
    """Position of each key among ``values`` (unique ids), -1 when absent.

    One pyarrow ``index_in`` call hashes the id table once even when several
    key columns are given (they are concatenated); with ``threads=2`` two
    halves of a long key column are looked up side by side (pyarrow releases
    the GIL). Returns int32 arrays, one per key column.

    >>> positions(pd.Series(["b", "x", "a"]), pd.Series(["a", "b"])).tolist()
    [1, -1, 0]
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    arrays = [arrow_strings(c) for c in (keys, *more_keys)]
    lengths = [len(a) for a in arrays]
    if sum(lengths) == 0:
        found = np.zeros(0, dtype=np.int32)
    else:
        value_set = arrow_strings(values)
        keys_all = pa.concat_arrays(arrays)

        def look(part):
            hit = pc.index_in(part, value_set=value_set)
            return (hit if hit.null_count == 0 else pc.fill_null(hit, -1)).to_numpy(zero_copy_only=False)

        half = len(keys_all) // 2
        if threads > 1 and half > 1_000_000:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(2) as pool:
                found = np.concatenate(list(pool.map(look, [keys_all.slice(0, half), keys_all.slice(half)])))
        else:
            found = look(keys_all)
    parts = np.split(found, np.cumsum(lengths)[:-1])
    return parts[0] if not more_keys else parts


def _identity(column):
    """The immutable Arrow array behind a pandas column, or None."""
    arr = getattr(column, "array", None)
    return getattr(arr, "_pa_array", None)


def _cache(village) -> dict:
    cache = village.__dict__.get("_id_rows")
    if cache is None:
        cache = village.__dict__["_id_rows"] = {}
    return cache


def rows_of(village, table, column) -> np.ndarray:
    """Row of the defining table that each id in ``table[column]`` refers to (-1: none).

    ``("stakeholders", "account_id")`` and ``("outcomes", "account_id")`` point
    into ``village.accounts``; ``("relationships", "source_id" | "target_id")``
    and ``("responses", "stakeholder_id")`` into ``village.stakeholders``. The
    first row wins if an id is repeated (a validated village has none). The
    result is cached on the village (see the module docstring); do not modify it.

    Examples
    --------
    >>> from cxinfluence.village import Village
    >>> v = Village(pd.DataFrame({"account_id": ["A", "B"]}),
    ...             pd.DataFrame({"stakeholder_id": ["s", "t"], "account_id": ["B", "Z"]}),
    ...             pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
    >>> rows_of(v, "stakeholders", "account_id").tolist()
    [1, -1]
    """
    def_table, def_column = DEFINED_BY[(table, column)]
    ref = getattr(village, table)[column]
    defining = getattr(village, def_table)[def_column]
    key = (_identity(ref), _identity(defining))
    cache = _cache(village)
    hit = cache.get((table, column))
    # the cache holds the arrays themselves, so their ids cannot be reused while cached
    if hit is not None and key[0] is not None and hit[0][0] is key[0] and hit[0][1] is key[1]:
        return hit[1]
    found = positions(ref, defining)
    found.flags.writeable = False
    if key[0] is not None and key[1] is not None:
        cache[(table, column)] = (key, found)
    return found


def prime(village, found: dict) -> None:
    """Seed the cache with rows already matched (by validation): ``(table, column) -> rows``."""
    cache = _cache(village)
    for (table, column), rows in found.items():
        def_table, def_column = DEFINED_BY[(table, column)]
        key = (_identity(getattr(village, table)[column]), _identity(getattr(village, def_table)[def_column]))
        if key[0] is not None and key[1] is not None:
            rows = np.asarray(rows)
            rows.flags.writeable = False
            cache[(table, column)] = (key, rows)


def carry(source, village):
    """Let ``village`` (e.g. ``dataclasses.replace(source, outcomes=...)``) reuse
    ``source``'s cached rows; entries whose columns changed simply miss. Returns ``village``."""
    cache = source.__dict__.get("_id_rows")
    if cache:
        village.__dict__["_id_rows"] = dict(cache)
    return village
