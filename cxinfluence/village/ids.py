"""Integer row positions for a village's string ids, hashed once and shared.

Every stage joins tables on text ids: ties and responses refer to
stakeholders, stakeholders and outcomes to accounts. At portfolio scale
(millions of ids) hashing those strings is the costly step, and each stage
used to hash the same columns again. :func:`rows_of` hashes a referencing
column once per village and caches the answer on the
:class:`~cxinfluence.village.core.Village`; :func:`~cxinfluence.village.core.load_village`
primes the cache from validation, which has already matched every reference.

The cache is keyed on the identity of the immutable Arrow arrays behind the
two columns (pandas' ``str`` dtype), so replacing a table or editing a
column (pandas swaps in a new Arrow array) simply misses the cache. Columns
not backed by Arrow are hashed on every call (nothing to key on safely).
Other id plumbing derived from the same columns (coverage's resolved rows)
is kept in the same cache, with :func:`remember` and :func:`remembered`.
"""

from __future__ import annotations

import os

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


def one_array(arr):
    """A pyarrow ChunkedArray as one Array: its only chunk as it is (``combine_chunks`` copies even a single
    chunk: 0.46 GB for 10M comments), else the chunks concatenated. Anything else is returned as it is."""
    import pyarrow as pa

    if isinstance(arr, pa.ChunkedArray):
        return arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()
    return arr


def arrow_strings(values):
    """A pyarrow ``large_string`` Array of ids (zero-copy for pandas' Arrow-backed ``str``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = values.array if isinstance(values, (pd.Series, pd.Index)) else values
    arr = arr._pa_array if hasattr(arr, "_pa_array") else pa.array(np.asarray(arr, dtype=object), from_pandas=True)
    arr = one_array(arr)
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = pc.cast(arr, pa.string())
    return arr.cast(pa.large_string()) if not pa.types.is_large_string(arr.type) else arr


#: Threads for long array work split in two (the target machine has 2 cores): the one figure every stage uses;
#: a module that splits work binds it as ``_THREADS`` (which tests set)
THREADS = min(2, os.cpu_count() or 1)
_THREADS = THREADS


def _string_chunks(values) -> list:
    """The chunks of a column of ids as pyarrow ``large_string`` arrays, without copying Arrow-backed text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = values.array if isinstance(values, (pd.Series, pd.Index)) else values
    if not hasattr(arr, "_pa_array"):
        return [arrow_strings(values)]
    chunks = arr._pa_array.chunks if isinstance(arr._pa_array, pa.ChunkedArray) else [arr._pa_array]
    out = []
    for c in chunks:
        if not (pa.types.is_string(c.type) or pa.types.is_large_string(c.type)):
            c = pc.cast(c, pa.string())
        out.append(c if pa.types.is_large_string(c.type) else c.cast(pa.large_string()))
    return out


def positions(keys, values, *more_keys):
    """Position of each key among ``values`` (unique ids), -1 when absent or blank.

    One pyarrow ``index_in`` call hashes the id table once even when several
    key columns are given (their Arrow chunks are looked up together, not
    copied); a long key column is looked up in two halves side by side when
    the machine has two cores (pyarrow releases the GIL). Returns int32
    arrays, one per key column.

    >>> positions(pd.Series(["b", "x", "a"]), pd.Series(["a", "b"])).tolist()
    [1, -1, 0]
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = (keys, *more_keys)
    chunks = [c for col in columns for c in _string_chunks(col)]
    lengths = [len(col) for col in columns]
    if sum(lengths) == 0:
        found = np.zeros(0, dtype=np.int32)
    else:
        value_set = arrow_strings(values)
        keys_all = pa.chunked_array(chunks, type=pa.large_string())

        def look(part):
            hit = pc.index_in(part, value_set=value_set, skip_nulls=True)
            return (hit if hit.null_count == 0 else pc.fill_null(hit, -1)).to_numpy().astype(np.int32, copy=False)

        half = len(keys_all) // 2
        if _THREADS > 1 and half > 1_000_000:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(2) as pool:
                found = np.concatenate(list(pool.map(look, [keys_all.slice(0, half), keys_all.slice(half)])))
        else:
            found = look(keys_all)
    parts = np.split(found, np.cumsum(lengths)[:-1])
    return parts[0] if not more_keys else parts


def match_rows(defining, *references) -> tuple[np.ndarray, list[np.ndarray]]:
    """Row of ``defining`` where each id first appears, for the ids of ``defining`` itself and of
    each column in ``references``; -1 where an id is blank or not in ``defining``.

    The one id -> row lookup of validation (:mod:`cxinfluence.village.references`) and of
    :func:`rows_of`: the defining ids are hashed once (:func:`positions`). A row of ``defining``
    whose own entry is not itself repeats an earlier id.

    >>> own, (refs,) = match_rows(pd.Series(["a", "b", "a"]), pd.Series(["b", "z", None]))
    >>> own.tolist(), refs.tolist()
    ([0, 1, 0], [1, -1, -1])
    """
    found = positions(defining, defining, *references)
    return (found[0], list(found[1:])) if references else (found, [])


def arrow_identity(column):
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
    The long columns (:data:`NARROW`) are held as int32: widen before arithmetic
    that could pass 2**31 (indexing with them needs nothing).

    Examples
    --------
    >>> from cxinfluence.village.core import Village
    >>> v = Village(pd.DataFrame({"account_id": ["A", "B"]}),
    ...             pd.DataFrame({"stakeholder_id": ["s", "t"], "account_id": ["B", "Z"]}),
    ...             pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
    >>> rows_of(v, "stakeholders", "account_id").tolist()
    [1, -1]
    """
    def_table, def_column = DEFINED_BY[(table, column)]
    ref = getattr(village, table)[column]
    defining = getattr(village, def_table)[def_column]
    key = (arrow_identity(ref), arrow_identity(defining))
    cache = _cache(village)
    hit = cache.get((table, column))
    # the cache holds the arrays themselves, so their ids cannot be reused while cached
    if hit is not None and key[0] is not None and hit[0][0] is key[0] and hit[0][1] is key[1]:
        return hit[1]
    found = _narrow(table, column, positions(ref, defining), len(defining))
    found.flags.writeable = False
    if key[0] is not None and key[1] is not None:
        cache[(table, column)] = (key, found)
    return found


#: The long referencing columns whose cached rows are held as int32 when the defining table allows it (at 10M
#: responses and 1.9M ties: 77 + 2 x 15 MB fewer for the whole run); their readers index with them or widen first.
NARROW = {("responses", "stakeholder_id"), ("relationships", "source_id"), ("relationships", "target_id")}


def _narrow(table, column, rows, n_defining: int) -> np.ndarray:
    """``rows`` as int32 for a :data:`NARROW` column (-1 and every row of the defining table fit), else as given."""
    rows = np.asarray(rows)
    if (table, column) in NARROW and n_defining < 2**31 - 1 and rows.dtype != np.int32:
        return rows.astype(np.int32)
    return rows


#: How many key columns :func:`rows_for` remembers per village (the run looks up one influence table
#: from several stages; a few entries suffice).
_ROWS_FOR_KEEP = 4


def rows_for(village, keys, table="stakeholders", column="stakeholder_id") -> np.ndarray:
    """Row of ``village.<table>[column]`` holding each of ``keys`` (-1: none; the first row wins).

    For id columns outside the village's own tables, e.g. the ``stakeholder_id``
    of an influence table that several stages join: the answer is cached on the
    village like :func:`rows_of`'s, keyed on the Arrow arrays behind ``keys``
    and the defining column, so the same table is hashed once however many
    stages look it up. Do not modify the result.

    Examples
    --------
    >>> from cxinfluence.village.core import Village
    >>> v = Village(pd.DataFrame({"account_id": ["A"]}),
    ...             pd.DataFrame({"stakeholder_id": ["s", "t"], "account_id": ["A", "A"]}),
    ...             pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
    >>> rows_for(v, pd.Series(["t", "x", "s"])).tolist()
    [1, -1, 0]
    """
    defining = getattr(village, table)[column]
    key = (arrow_identity(keys), arrow_identity(defining))
    cache = _cache(village)
    kept = cache.setdefault(("for", table, column), [])
    for k, found in kept:
        if key[0] is not None and k[0] is key[0] and k[1] is key[1]:
            return found
    found = positions(keys, defining)
    found.flags.writeable = False
    if key[0] is not None and key[1] is not None:
        _keep_rows_for(kept, key, found)
    return found


def _keep_rows_for(kept, key, found) -> None:
    """Put ``found`` first in :func:`rows_for`'s list for one defining column, read-only; keep the newest few.
    The key's arrays themselves are held, so their ids cannot be reused while cached."""
    found.flags.writeable = False
    kept.insert(0, (key, found))
    del kept[_ROWS_FOR_KEEP:]


def mark_unique(village, table="stakeholders", column="stakeholder_id") -> None:
    """Record that ``village.<table>[column]`` holds no id twice (validation checked it), keyed on its Arrow
    array like every entry here: an edited column misses. Lets :func:`seed_rows_for` skip a hash pass."""
    remember(village, f"unique {table}.{column}", (arrow_identity(getattr(village, table)[column]),), True)


def seed_rows_for(village, keys, rows, table="stakeholders", column="stakeholder_id") -> None:
    """Tell :func:`rows_for` that ``keys`` are the ids of rows ``rows`` of ``village.<table>[column]``.

    For a stage that builds a table from village rows it already holds (e.g.
    :func:`~cxinfluence.network.influence.influence_weights`): a later lookup of that
    table's ids (an analyst passing it to ``account_sentiment``) is then free. Kept only
    when the defining column is known to be unique (:func:`mark_unique`), where "the first
    row holding the id" is the row itself, and when ``keys`` is backed by Arrow.
    """
    defining = arrow_identity(getattr(village, table)[column])
    key = (arrow_identity(keys), defining)
    if key[0] is None or remembered(village, f"unique {table}.{column}", (defining,)) is None:
        return
    found = np.asarray(rows, dtype=np.int32)
    if len(found) != len(keys):
        raise ValueError(f"seed_rows_for: {len(keys)} keys but {len(found)} rows; give one row per key")
    _keep_rows_for(_cache(village).setdefault(("for", table, column), []), key, found)


def prime(village, found: dict) -> None:
    """Seed the cache with rows already matched (by validation): ``(table, column) -> rows``."""
    cache = _cache(village)
    for (table, column), rows in found.items():
        def_table, def_column = DEFINED_BY[(table, column)]
        key = (arrow_identity(getattr(village, table)[column]), arrow_identity(getattr(village, def_table)[def_column]))
        if key[0] is not None and key[1] is not None:
            rows = _narrow(table, column, rows, len(getattr(village, def_table)))
            rows.flags.writeable = False
            cache[(table, column)] = (key, rows)


def cached_rows(village) -> dict:
    """The id matches cached on ``village`` for its own tables: ``(table, column) -> rows`` (what :func:`prime` takes)."""
    return {key: hit[1] for key, hit in _cache(village).items() if key in DEFINED_BY}


def remembered(village, name, arrays):
    """What :func:`remember` kept on ``village`` under ``name`` for these very ``arrays``, else None.

    ``arrays`` are the immutable Arrow arrays the value was derived from (e.g. from
    :func:`arrow_identity`); a replaced or edited column gives new arrays and so misses.

    Examples
    --------
    >>> from cxinfluence.village.core import Village
    >>> v = Village(pd.DataFrame({"account_id": pd.array(["A"], dtype="str")}), pd.DataFrame(), pd.DataFrame(),
    ...             pd.DataFrame(), pd.DataFrame())
    >>> key = (arrow_identity(v.accounts["account_id"]),)
    >>> remember(v, "n accounts", key, 1)
    >>> remembered(v, "n accounts", key), remembered(v, "n accounts", (None,))
    (1, None)
    """
    if arrays is None or any(a is None for a in arrays):
        return None
    hit = _cache(village).get(("remembered", name))
    if hit is not None and len(hit[0]) == len(arrays) and all(a is b for a, b in zip(hit[0], arrays)):
        return hit[1]
    return None


def remember(village, name, arrays, value) -> None:
    """Keep ``value`` (derived from the Arrow ``arrays``) in the village's one id cache under ``name``.

    Nothing is kept when an array is None (a column not backed by Arrow: nothing immutable to key on).
    The arrays themselves are held, so their ids cannot be reused while cached.
    """
    if arrays is not None and all(a is not None for a in arrays):
        _cache(village)[("remembered", name)] = (tuple(arrays), value)


def factorized(village, column: pd.Series, name: str):
    """``pd.factorize(column, use_na_sentinel=True)`` (codes, distinct values; blank: -1), kept on ``village``
    under ``name`` for the Arrow array behind ``column``: stages that code the same millions of labels (the
    stakeholders' roles: the influence blend and the sentiment schemes) hash them once. Codes are read-only.

    >>> from cxinfluence.village.core import Village
    >>> people = pd.DataFrame({"role": pd.array(["user", None, "user"], dtype="str")})
    >>> v = Village(pd.DataFrame(), people, pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
    >>> codes, names = factorized(v, v.stakeholders["role"], "roles")
    >>> codes.tolist(), list(names), factorized(v, v.stakeholders["role"], "roles")[0] is codes
    ([0, -1, 0], ['user'], True)
    """
    key = (arrow_identity(column),)
    found = remembered(village, name, key)
    if found is None:
        found = pd.factorize(column, use_na_sentinel=True)
        found[0].flags.writeable = False
        remember(village, name, key, found)
    return found


def forget(village, array) -> None:
    """Drop from the village's id cache what :func:`remember` kept derived from ``array`` (an Arrow array, e.g.
    from :func:`arrow_identity`), which the entry holds alive as its key: for a column the village lets go of."""
    cache = village.__dict__.get("_id_rows", {})
    for key in [k for k, entry in cache.items() if k[0] == "remembered" and any(a is array for a in entry[0])]:
        del cache[key]


def carry(source, village):
    """Let ``village`` (e.g. ``dataclasses.replace(source, outcomes=...)``) reuse
    ``source``'s cached rows; entries whose columns changed simply miss. Returns ``village``."""
    cache = source.__dict__.get("_id_rows")
    if cache:
        village.__dict__["_id_rows"] = dict(cache)
    return village


# --------------------------------------------------------------------------
# Lookups by value (for ids outside the village's own tables), and text-column plumbing
# --------------------------------------------------------------------------

def id_strings(values) -> np.ndarray:
    """Ids as a numpy object array of str, whatever the column dtype (ids are text by contract)."""
    return np.asarray(pd.Series(values).astype(str), dtype=object)


#: The dtype pandas gives a column of Python strings (Arrow-backed ``str`` on pandas 3, object before).
TEXT_DTYPE = pd.Series(["x"]).dtype


def native_text(values: pd.Series, convert):
    """``convert(values)`` (ids or text as Python objects), or ``values`` as they are
    when already in the dtype pandas would turn those objects back into."""
    if TEXT_DTYPE != np.dtype("O") and values.dtype == TEXT_DTYPE:
        return values.array
    return convert(values)


def key_series(values) -> pd.Series:
    s = values.reset_index(drop=True) if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
    return s if s.dtype.kind in "iu" else s.astype("str")


def lookup(keys, queries) -> np.ndarray:
    """Position of each query in ``keys``: -1 where absent (or missing); the last
    position when a key repeats.

    One hash pass over both (:func:`pandas.factorize` of the concatenation),
    several times faster than ``Index.get_indexer`` on millions of string ids."""
    k, q = key_series(keys), key_series(queries)
    if len(k) == 0 or len(q) == 0:
        return np.full(len(q), -1, dtype=np.intp)
    codes, uniques = pd.factorize(pd.concat([k, q], ignore_index=True))
    k_codes, q_codes = codes[:len(k)], codes[len(k):]
    where = np.full(len(uniques), -1, dtype=np.intp)
    ok = k_codes >= 0
    where[k_codes[ok]] = np.arange(len(k), dtype=np.intp)[ok]
    return np.where(q_codes >= 0, where[q_codes], -1)


def int_lookup(keys: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """:func:`lookup` for unique integer keys, by binary search (no hashing)."""
    if len(keys) == 0:
        return np.full(len(queries), -1, dtype=np.intp)
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    i = np.minimum(np.searchsorted(ordered, queries), len(keys) - 1)
    return np.where(ordered[i] == queries, order[i], -1)


def arrow_text(values):
    """The pyarrow ``large_string`` array behind pandas' Arrow-backed ``str`` ids
    (zero-copy), or of an object array holding only text and blanks; None for
    anything else (numbers, mixed objects), which takes the pandas path."""
    import pyarrow as pa

    dtype = getattr(values, "dtype", None)
    try:
        if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
            arr = one_array(pa.chunked_array(values.array.__arrow_array__()))
        elif dtype is not None and dtype == np.dtype("O") and len(values) <= 1_000_000:
            arr = pa.array(np.asarray(values, dtype=object), from_pandas=True)
        else:
            return None
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if pa.types.is_null(arr.type) or pa.types.is_string(arr.type):
        arr = arr.cast(pa.large_string())
    return arr if pa.types.is_large_string(arr.type) else None


def run_heads(arr) -> np.ndarray:
    """Positions where a pyarrow array's value differs from the previous one (the
    first row, and either side of a blank, always count)."""
    import pyarrow.compute as pc

    if len(arr) < 2:
        return np.arange(len(arr))
    change = pc.fill_null(pc.not_equal(arr.slice(1), arr.slice(0, len(arr) - 1)), True)
    return np.flatnonzero(np.r_[True, change.to_numpy(zero_copy_only=False)])


def find(keys, queries) -> np.ndarray:
    """:func:`lookup` for *unique* keys: position of each query, -1 where absent
    or missing.

    Arrow-backed text ids are hashed by pyarrow (``index_in``) without making a
    Python string per row, and a query repeated in a run (stakeholders rows
    grouped by account) is looked up once per run; other dtypes go through
    :func:`lookup`."""
    import pyarrow.compute as pc

    q = arrow_text(queries)
    k = arrow_text(keys) if q is not None else None
    if q is None or k is None:
        return lookup(keys, queries)
    if len(q) == 0 or len(k) == 0:
        return np.full(len(q), -1, dtype=np.intp)
    heads = run_heads(q)
    short = len(heads) < len(q) // 2
    found = pc.index_in(q.take(heads) if short else q, value_set=k, skip_nulls=True)
    found = pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.intp)
    return np.repeat(found, np.diff(np.r_[heads, len(q)])) if short else found


def unique_text(arr) -> bool:
    """No id repeats in a pyarrow array (blanks ignored).

    Ids listed in increasing order (a common export layout) are unique without
    hashing; otherwise the distinct ids are counted."""
    import pyarrow.compute as pc

    if arr.null_count == 0 and len(arr) > 1 and pc.all(pc.greater(arr.slice(1), arr.slice(0, len(arr) - 1))).as_py():
        return True
    distinct = len(pc.unique(arr)) - (arr.null_count > 0)
    return distinct == len(arr) - arr.null_count


def ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(start, start + count)`` for each pair."""
    counts = np.asarray(counts, dtype=np.intp)
    return np.repeat(np.asarray(starts, dtype=np.intp) - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())


def distinct_text(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """:func:`pandas.factorize` of a text column (hashed in C, no Python string per
    row), the distinct values as Python strings; missing values get code -1."""
    codes, uniq = pd.factorize(s)
    return codes, np.asarray(uniq, dtype=object)


#: What Python's ``str.strip()`` removes (the characters whose ``str.isspace()`` is True), as code points.
PY_SPACE = (0x9, 0xA, 0xB, 0xC, 0xD, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B),
            0x2028, 0x2029, 0x202F, 0x205F, 0x3000)
_BLANK_RE2 = "^[" + "".join(f"\\x{{{c:x}}}" for c in PY_SPACE) + "]*$"


def blank_mask(values) -> np.ndarray | None:
    """Per row of an Arrow-backed text column, whether it is missing, empty or whitespace (as
    ``not v.strip()``): Arrow's regex over the column's bytes, no Python string made. None when
    ``values`` is not Arrow text.

    Examples
    --------
    >>> blank_mask(pd.Series(["a", " ", None, "\u3000", " b "], dtype="str")).tolist()
    [False, True, True, True, False]
    """
    import pyarrow.compute as pc

    dtype = getattr(values, "dtype", None)
    if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        return None
    arr = arrow_text(values)
    return pc.fill_null(pc.match_substring_regex(arr, _BLANK_RE2), True).to_numpy(zero_copy_only=False)


def blank_texts(uniq: np.ndarray) -> np.ndarray:
    """Per distinct text, whether it is empty or whitespace; one more True at the
    end, which code -1 (missing) picks."""
    return np.r_[np.fromiter((not v.strip() for v in uniq), dtype=bool, count=len(uniq)), True]


def rows_at(frame: pd.DataFrame, pos: np.ndarray, columns=None) -> pd.DataFrame:
    """``frame``'s rows at positions ``pos`` (only ``columns``, when given), a blank row where ``pos`` is -1 (as
    a left merge leaves an unmatched key: a bool or integer column with a blank becomes object or float), indexed
    0..n-1. With ids already matched to rows (:func:`rows_of`), a join that hashes nothing.

    >>> t = pd.DataFrame({"role": ["user", "buyer"], "veto": [False, True]})
    >>> rows_at(t, np.array([1, -1, 0])).to_dict("list")
    {'role': ['buyer', nan, 'user'], 'veto': [True, nan, False]}
    """
    frame = (frame if columns is None else frame[list(columns)]).reset_index(drop=True)
    pos = np.asarray(pos)
    picked = frame.reindex(pos) if (pos < 0).any() else frame.iloc[pos]  # reindex blanks the -1s
    return picked.reset_index(drop=True)


def join_ids(codes: np.ndarray, ids: np.ndarray, k: int) -> np.ndarray:
    """``;``-joined sorted ids per account code (``""`` where none): ``k`` strings, the ``ids`` of code ``c``
    sorted (text by code point, as Python sorts it) and joined in slot ``c``.

    What ``groupby(code).agg(lambda s: ";".join(sorted(s)))`` gives, without a Python call per group: one
    sort by (code, id) and one join per code (by Arrow for text ids, else over the sorted rows).

    >>> join_ids(np.array([2, 0, 2]), np.array(["q", "p", "b"], dtype=object), 3).tolist()
    ['p', '', 'b;q']
    """
    out = np.full(k, "", dtype=object)
    if len(codes) == 0:
        return out
    joined = _arrow_join(codes, ids)
    if joined is not None:
        out[joined[0]] = joined[1]
        return out
    frame = pd.DataFrame({"c": codes, "i": ids}).sort_values(["c", "i"], kind="stable")
    c = frame["c"].to_numpy()
    i = frame["i"].tolist()
    starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
    ends = np.r_[starts[1:], len(c)]
    out[c[starts]] = [";".join(i[a:b]) for a, b in zip(starts.tolist(), ends.tolist())]
    return out


def _arrow_join(codes: np.ndarray, ids) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`join_ids` by Arrow for text ids: one sort by (code, id) (Arrow orders text by code
    point, as Python does) and one join per code over list offsets; (codes, joined) or None when
    the ids are not all text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        text = pa.array(ids, type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if text.null_count:
        return None
    order = pc.sort_indices(pa.table({"c": np.asarray(codes), "i": text}),
                            sort_keys=[("c", "ascending"), ("i", "ascending")]).to_numpy()
    c = np.asarray(codes)[order]
    starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
    lists = pa.LargeListArray.from_arrays(pa.array(np.r_[starts, len(c)], type=pa.int64()), text.take(order))
    return c[starts], pc.binary_join(lists, ";").to_numpy(zero_copy_only=False)
