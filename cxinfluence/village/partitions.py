"""Partitioned villages on disk: the village split by a stable hash of ``account_id``.

A partitioned village is a folder::

    VILLAGE/
      partitions.json          the manifest: K, the hash rule, row counts and account ranges per partition
      part-00000/accounts.parquet, stakeholders.parquet, relationships.parquet, responses.parquet, outcomes.parquet
      part-00001/...

Partition of an account: the first 8 bytes of the SHA-256 digest of its id
(UTF-8 text), read as a big-endian unsigned integer, modulo K. The rule is the
same on every machine and Python version (Python's ``hash`` of a string is
salted per process). Every table is split by the account its rows belong to:
``stakeholders`` and ``outcomes`` by their ``account_id``, ``relationships``
through the account of their ``source_id`` (a validated village has no tie
across accounts, so no tie crosses partitions) and ``responses`` through the
account of their stakeholder. Each partition folder is a village of its own
(:func:`cxinfluence.load_village` reads it); ``load_village(path)`` on the
partitioned folder reads every partition and gives the whole village, and
``load_village(path, partition=k)`` (or :func:`read_partition`) reads only
partition ``k``'s files.

:class:`PartitionedWriter` writes a village chunk by chunk (each chunk a
village of whole accounts) in bounded memory: one Parquet row group per chunk
and table, appended to the partition's files.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import PartitionError, Problem, VillageError
from .core import Village, read_folder
from .files import atomic_folder
from .ids import cached_rows, prime, rows_of
from .io import _parquet_column
from .schema import DERIVED_COLUMNS, TABLE_ORDER

#: file name of the manifest of a partitioned village
MANIFEST = "partitions.json"
#: the hash rule, as written in the manifest
HASH_RULE = "sha256(utf-8 account_id)[:8] as big-endian uint64, modulo partitions"
FORMAT = "cxinfluence-partitioned-village"
MAX_PARTITIONS = 100_000


def check_partitions(partitions) -> int:
    """``partitions`` as an int, or :class:`~cxinfluence.exceptions.PartitionError` naming the value."""
    if isinstance(partitions, bool) or not isinstance(partitions, (int, np.integer)) or not (
            1 <= partitions <= MAX_PARTITIONS):
        raise PartitionError(f"partitions={partitions!r} is not a whole number from 1 to {MAX_PARTITIONS:,}; "
                             "give the number of partitions, e.g. partitions=8 (--partitions 8)")
    return int(partitions)


def partition_of(account_ids, partitions) -> np.ndarray:
    """The partition (0 .. K-1) of each account id: SHA-256 of the id's UTF-8 text, first 8 bytes, modulo K.

    Parameters
    ----------
    account_ids : sequence of str
        Account ids (converted to text, so ``7`` and ``"7"`` agree).
    partitions : int
        K, the number of partitions.

    Returns
    -------
    numpy.ndarray of int64, one per id.

    Examples
    --------
    >>> partition_of(["A-1", "A-2", "A-1"], 8).tolist()
    [4, 0, 4]
    >>> int.from_bytes(hashlib.sha256(b"A-1").digest()[:8], "big") % 8
    4
    """
    k = check_partitions(partitions)
    codes, uniques = pd.factorize(pd.Series(account_ids, dtype=object).astype(str), use_na_sentinel=False)
    parts = np.fromiter((int.from_bytes(hashlib.sha256(s.encode("utf-8")).digest()[:8], "big") % k
                         for s in uniques), dtype=np.int64, count=len(uniques))
    return parts[codes] if len(codes) else np.zeros(0, np.int64)


def _tables(village) -> dict:
    tables = village.tables() if hasattr(village, "tables") else dict(village)
    missing = [t for t in TABLE_ORDER if t not in tables]
    if missing:
        raise PartitionError(f"village is missing table(s) {missing}; expected all of {list(TABLE_ORDER)}")
    return {t: tables[t] for t in TABLE_ORDER}


def row_partitions(village, partitions) -> dict:
    """The partition of every row of every table (table name -> int64 array), by the row's account.

    Raises :class:`~cxinfluence.exceptions.PartitionError` naming the rows whose
    account cannot be found (a response of an unknown stakeholder, a tie
    between people of two accounts): validate the village first.

    Examples
    --------
    >>> from cxinfluence.village.synth import make_village
    >>> v, _ = make_village(6, seed=0)
    >>> parts = row_partitions(v, 3)
    >>> bool((parts["responses"] == parts["stakeholders"][
    ...     pd.Index(v.stakeholders["stakeholder_id"]).get_indexer(v.responses["stakeholder_id"])]).all())
    True
    """
    k = check_partitions(partitions)

    t = _tables(village)
    out = {"accounts": partition_of(t["accounts"]["account_id"], k),
           "stakeholders": partition_of(t["stakeholders"]["account_id"], k),
           "outcomes": partition_of(t["outcomes"]["account_id"], k)}
    people = pd.Index(t["stakeholders"]["stakeholder_id"].astype(str))
    problems = []
    for name, column in (("relationships", "source_id"), ("relationships", "target_id"),
                         ("responses", "stakeholder_id")):
        if isinstance(village, Village):  # the id lookups validation made (cached on the village)
            rows = np.asarray(rows_of(village, name, column), dtype=np.int64)
        else:
            rows = people.get_indexer(t[name][column].astype(str))
        unknown = np.flatnonzero(rows < 0)
        if len(unknown):
            shown = ", ".join(repr(str(x)) for x in t[name][column].iloc[unknown[:5]])
            problems.append(f"{name}.{column}: {len(unknown):,} row(s) name a stakeholder the village does not have "
                            f"({shown}{', ...' if len(unknown) > 5 else ''})")
            rows = np.where(rows < 0, 0, rows)
        part = out["stakeholders"][rows] if len(people) else np.zeros(len(rows), np.int64)
        if column == "target_id":
            crossing = np.flatnonzero(part != out["relationships"])
            if len(crossing) and not problems:
                problems.append(f"relationships: {len(crossing):,} tie(s) join people of two accounts "
                                f"(first at row {crossing[0]}); a tie must stay inside one account")
        else:
            out[name] = part
    if problems:
        raise PartitionError("cannot split the village by account: " + "; ".join(problems)
                             + ". Validate it first (cxinfluence validate VILLAGE).")
    return out


def split_village(village, partitions) -> list:
    """The village as K villages, one per partition (rows keep their order); inputs are not modified.

    Examples
    --------
    >>> from cxinfluence.village.synth import make_village
    >>> v, _ = make_village(10, seed=0)
    >>> parts = split_village(v, 4)
    >>> sum(len(p.responses) for p in parts) == len(v.responses)
    True
    """
    k = check_partitions(partitions)
    tables = _tables(village)
    rows = row_partitions(tables, k)
    out = []
    for p in range(k):
        own = {name: df[rows[name] == p].reset_index(drop=True) for name, df in tables.items()}
        out.append(Village(**own, source=f"{getattr(village, 'source', None)} [partition {p} of {k}]"))
    return out


def account_range(accounts: pd.DataFrame) -> dict:
    """First and last account id (as text, sorted) and the number of accounts of a table."""
    ids = accounts["account_id"].astype(str)
    return {"first": ids.min() if len(ids) else None, "last": ids.max() if len(ids) else None, "accounts": len(ids)}


def _arrow_schema(df: pd.DataFrame):
    import pyarrow as pa

    table = pa.Table.from_pandas(pd.DataFrame({c: _parquet_column(df[c]) for c in df.columns}), preserve_index=False)
    fields = [pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f for f in table.schema]
    return pa.schema(fields)


def _part_name(k) -> str:
    return f"part-{k:05d}"


class PartitionedWriter:
    """Write a partitioned village chunk by chunk, atomically (a context manager).

    Each :meth:`add` takes a village (or dict of tables) of whole accounts and
    appends every partition's rows to its Parquet files; memory is bounded by
    the chunk. The manifest is written when the block ends without error; on
    an error nothing is left at ``path``.

    Parameters
    ----------
    path : str or Path
        The folder to write.
    partitions : int
        K.
    overwrite : bool, default False
        Replace ``path`` if it is a partitioned village (or empty).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from cxinfluence.village.synth import make_village
    >>> v, _ = make_village(8, seed=0)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "v"
    >>> with PartitionedWriter(path, 3) as w:
    ...     w.add(v)
    >>> read_manifest(path)["partitions"], sorted(p.name for p in (path / "part-00000").iterdir())[:2]
    (3, ['accounts.parquet', 'outcomes.parquet'])
    """

    def __init__(self, path, partitions, *, overwrite=False):
        self.path = Path(path)
        self.partitions = check_partitions(partitions)
        self.overwrite = overwrite
        self._writers = {}
        self._schemas = {}
        self._rows = {}
        self._ranges = [[None, None, 0] for _ in range(self.partitions)]
        self._ids = set()
        self._ctx = None
        self.tmp = None

    def __enter__(self):
        if self.path.exists():
            if not self.overwrite:
                raise FileExistsError(f"{self.path} already exists; pass overwrite=True (CLI: --force) to replace it")
            if self.path.is_dir() and any(self.path.iterdir()) and not is_partitioned(self.path):
                raise FileExistsError(f"{self.path} is a non-empty folder that holds no partitioned village; refusing "
                                      "to replace it. Choose a new or empty folder.")
        self._ctx = atomic_folder(self.path, replace=self.overwrite)
        self.tmp = Path(self._ctx.__enter__())
        for k in range(self.partitions):
            (self.tmp / _part_name(k)).mkdir()
        return self

    def add(self, village) -> None:
        """Append one chunk (whole accounts; an account must not reappear in a later chunk)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        tables = _tables(village)
        ids = tables["accounts"]["account_id"].astype(str)
        seen = [a for a in ids if a in self._ids] if self._ids else []
        if seen:
            raise PartitionError(f"account(s) {seen[:5]} were already written by an earlier chunk; each chunk "
                                 "must hold whole accounts that no other chunk has")
        self._ids.update(ids)
        rows = row_partitions(tables, self.partitions)
        for name, df in tables.items():
            df = df.drop(columns=[c for c in DERIVED_COLUMNS.get(name, ()) if c in df.columns])
            if name not in self._schemas:
                self._schemas[name] = _arrow_schema(df)
            schema = self._schemas[name]
            extra = [c for c in df.columns if c not in schema.names]
            if extra:
                raise PartitionError(f"table {name!r} of a later chunk has column(s) {extra} the first chunk did not "
                                     "have; every chunk must have the same columns")
            df = df.reindex(columns=schema.names)
            for k in np.unique(rows[name]):
                piece = df[rows[name] == k].reset_index(drop=True)

                piece = pd.DataFrame({c: _parquet_column(piece[c]) for c in piece.columns})
                table = pa.Table.from_pandas(piece, schema=schema, preserve_index=False)
                key = (int(k), name)
                if key not in self._writers:
                    self._writers[key] = pq.ParquetWriter(self.tmp / _part_name(int(k)) / f"{name}.parquet", schema)
                self._writers[key].write_table(table)
                self._rows[key] = self._rows.get(key, 0) + len(piece)
        for k in np.unique(rows["accounts"]):
            r = account_range(tables["accounts"][rows["accounts"] == k])
            cur = self._ranges[int(k)]
            cur[0] = r["first"] if cur[0] is None else min(cur[0], r["first"])
            cur[1] = r["last"] if cur[1] is None else max(cur[1], r["last"])
            cur[2] += r["accounts"]

    def __exit__(self, exc_type, exc, tb):
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            for w in self._writers.values():
                w.close()
            if exc_type is None:
                if not self._schemas:
                    raise PartitionError("no chunk was added: nothing to write")
                for k in range(self.partitions):
                    for name in TABLE_ORDER:
                        if (k, name) not in self._writers:  # every partition has every table, maybe empty
                            schema = self._schemas[name]
                            pq.write_table(schema.empty_table() if hasattr(schema, "empty_table")
                                           else pa.Table.from_pylist([], schema=schema),
                                           self.tmp / _part_name(k) / f"{name}.parquet")
                manifest = {
                    "format": FORMAT, "version": 1, "partitions": self.partitions, "hash": HASH_RULE,
                    "tables": list(TABLE_ORDER),
                    "rows": {name: sum(self._rows.get((k, name), 0) for k in range(self.partitions))
                             for name in TABLE_ORDER},
                    "parts": [{"partition": k, "folder": _part_name(k),
                               "rows": {name: self._rows.get((k, name), 0) for name in TABLE_ORDER},
                               "accounts": {"first": self._ranges[k][0], "last": self._ranges[k][1],
                                            "accounts": self._ranges[k][2]}}
                              for k in range(self.partitions)],
                }
                (self.tmp / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
        except BaseException:
            self._ctx.__exit__(*__import__("sys").exc_info())
            raise
        return self._ctx.__exit__(exc_type, exc, tb)


def write_partitioned(village, path, partitions, *, overwrite=False) -> Path:
    """Write a village as K partitions of Parquet files (see the module docstring), atomically.

    Parameters
    ----------
    village : Village or dict of DataFrame
        A validated village (no tie across accounts, no response of an unknown person).
    path : str or Path
        The folder to write.
    partitions : int
        K, the number of partitions (1 to 100,000).
    overwrite : bool, default False
        Replace ``path`` if it already holds a partitioned village (or is empty).

    Returns
    -------
    Path
        ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from cxinfluence.village.load import load_village
    >>> from cxinfluence.village.synth import make_village
    >>> v, _ = make_village(12, seed=0)
    >>> path = write_partitioned(v, pathlib.Path(tempfile.mkdtemp()) / "v", partitions=4)
    >>> m = read_manifest(path)
    >>> m["partitions"], m["rows"]["accounts"], sum(p["accounts"]["accounts"] for p in m["parts"])
    (4, 12, 12)
    >>> whole = load_village(path, warn=False)
    >>> len(whole.responses) == len(v.responses), len(load_village(path, partition=1, warn=False).accounts)
    (True, 6)
    """
    with PartitionedWriter(path, partitions, overwrite=overwrite) as w:
        w.add(village)
    return Path(path)


# --------------------------------------------------------------------------- reading


def is_partitioned(path) -> bool:
    """True when ``path`` is a folder holding a partition manifest (``partitions.json``)."""
    try:
        return (Path(path) / MANIFEST).is_file()
    except (TypeError, OSError):
        return False


def read_manifest(path) -> dict:
    """The manifest of the partitioned village at ``path`` (checked against the folders present)."""
    path = Path(path)
    file = path / MANIFEST
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PartitionError(f"{path} is not a partitioned village (no {MANIFEST}); write one with "
                             "cxinfluence partition VILLAGE OUT --partitions K") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise PartitionError(f"{file} cannot be read as a partition manifest ({exc}); write the village "
                             "again with cxinfluence partition") from None
    if manifest.get("format") != FORMAT or manifest.get("hash") != HASH_RULE or not isinstance(
            manifest.get("parts"), list) or len(manifest["parts"]) != manifest.get("partitions"):
        raise PartitionError(f"{file} is not a manifest this version understands (format {manifest.get('format')!r}, "
                             f"hash {manifest.get('hash')!r}); write the village again with cxinfluence partition")
    missing = [p["folder"] for p in manifest["parts"] if not (path / p["folder"]).is_dir()]
    if missing:
        raise PartitionError(f"{path}: partition folder(s) {missing[:5]} listed in {MANIFEST} are missing; copy the "
                             "whole partitioned folder, or write it again")
    return manifest


def partition_path(path, partition) -> Path:
    """The folder of partition ``partition`` of the partitioned village at ``path``."""
    manifest = read_manifest(path)
    k = manifest["partitions"]
    if isinstance(partition, bool) or not isinstance(partition, (int, np.integer)) or not 0 <= partition < k:
        raise PartitionError(f"partition={partition!r} is not a partition of {path}; it has {k} (0 to {k - 1})")
    return Path(path) / manifest["parts"][int(partition)]["folder"]


def read_partition(path, partition, *, role_rules=None, warn=True):
    """Read and validate one partition of a partitioned village: only that partition's files are read.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from cxinfluence.village.synth import make_village
    >>> v, _ = make_village(12, seed=0)
    >>> path = write_partitioned(v, pathlib.Path(tempfile.mkdtemp()) / "v", partitions=4)
    >>> sorted(read_partition(path, 2, warn=False).accounts["account_id"])
    ['A002', 'A007']
    """
    return read_folder(partition_path(path, partition), role_rules=role_rules, warn=warn)


def load_partitioned(path, *, partition=None, role_rules=None, warn=True):
    """The partitioned village at ``path``: one partition, or (``partition=None``) all of them joined.

    Joining checks what no single partition can: a stakeholder id used in two
    partitions, and that every partition holds the accounts the hash rule puts
    there.
    """
    if partition is not None:
        return read_partition(path, partition, role_rules=role_rules, warn=warn)
    manifest = read_manifest(path)
    parts, problems, errors = [], [], []
    for p in manifest["parts"]:
        try:
            v = read_folder(Path(path) / p["folder"], role_rules=role_rules, warn=warn)
        except VillageError as exc:
            errors += exc.problems
            continue
        wrong = np.flatnonzero(partition_of(v.accounts["account_id"], manifest["partitions"]) != p["partition"])
        if len(wrong):
            errors.append(Problem("accounts", f"{p['folder']}/accounts", None, "account_id",
                                  f"{len(wrong):,} account(s) ({v.accounts['account_id'].iloc[wrong[0]]!r}, ...) "
                                  "belong to another partition by the hash rule; write the village again with "
                                  "cxinfluence partition"))
        parts.append(v)
        problems += v.problems
    if not errors and parts:
        people = pd.concat([v.stakeholders["stakeholder_id"].astype(str) for v in parts], ignore_index=True)
        twice = people[people.duplicated()].unique()
        if len(twice):
            errors.append(Problem("stakeholders", str(path), None, "stakeholder_id",
                                  f"{len(twice):,} stakeholder id(s) appear in two partitions ({twice[0]!r}, ...); "
                                  "a stakeholder id must be unique in the whole village"))
    if errors:
        raise VillageError(errors, source=str(path))
    tables = {name: pd.concat([getattr(v, name) for v in parts], ignore_index=True) for name in TABLE_ORDER}
    return Village(**tables, source=str(path), problems=problems)


# --------------------------------------------------------------------------- a run's validated copies


def write_validated(village, folder) -> Path:
    """Keep a validated partition for the rest of a run: its tables as Arrow IPC files (LZ4) and its id matches.

    :func:`read_validated` gives the same tables back (exactly: the Arrow round trip keeps every
    dtype of a validated village) with the id matches validation found, in a fraction of the time
    of reading and validating the partition again. A streamed run (pipeline/stream.py) reads each
    partition three times; only the first validates.
    """
    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    for name in TABLE_ORDER:
        getattr(village, name).to_feather(tmp / f"{name}.arrow", compression="lz4")
    np.savez(tmp / "ids.npz", **{f"{t}.{c}": rows for (t, c), rows in cached_rows(village).items()})
    tmp.replace(folder)  # complete or absent: a reader never sees half a partition
    return folder


def read_validated(folder, *, source=None):
    """The partition :func:`write_validated` kept (a Village with its id matches primed)."""
    folder = Path(folder)
    village = Village(**{name: pd.read_feather(folder / f"{name}.arrow") for name in TABLE_ORDER},
                      source=source or str(folder))
    with np.load(folder / "ids.npz") as found:
        prime(village, {tuple(key.split(".", 1)): found[key] for key in found.files})
    return village
