"""A partitioned village opened without loading it: the portfolio-wide facts, and partitions read one at a time.

:func:`cxinfluence.pipeline.runner.run` on a partitioned folder
(:mod:`cxinfluence.village.partitions`) never holds the whole village: it
opens it as a :class:`PartitionedVillage`, which reads every partition once
(validated, one at a time) and keeps only what the whole run needs at once:

* the ``accounts`` and ``outcomes`` tables of every partition (one row per
  account and per account-period: the models' scale, not the people's);
* the facts the report's overview gives (:func:`village_facts`, summed);
* what the default as-of date needs (the latest response date, and the
  responses dated in the future, which it names);
* the problems found (every partition's errors together, as
  :func:`cxinfluence.load_village` gives them for the loaded folder).

Their rows are in partition order, the order ``load_village(path)`` gives
the loaded folder, so every output of the streamed run is the loaded run's.
The people, ties and responses stay on disk; a stage reads a partition with
:meth:`PartitionedVillage.read`, or the accounts it needs with
:meth:`PartitionedVillage.subset`.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import Problem, VillageError
from ..village.subset import subset_village
from ..present.summary import merge_facts, village_facts
from ..village.core import Village
from ..village.partitions import partition_of, read_manifest, read_partition, read_validated, write_validated
from .stages import TRIM_FROM_BYTES, _resident_bytes, hand_back


def _date_rows(village, today) -> pd.DataFrame:
    """The responses the default as-of date looks at: the latest up to ``today`` and every one after it."""
    r = village.responses
    if "date" not in r or not len(r):
        return pd.DataFrame({"stakeholder_id": pd.Series([], dtype=object), "date": pd.Series([], dtype="M8[ns]")})
    dates = r["date"]
    future = (dates >= today + pd.Timedelta(days=1)).to_numpy()
    rows = r.loc[future, ["stakeholder_id", "date"]] if "stakeholder_id" in r else r.loc[future, ["date"]]
    past = dates[~future].dropna()
    if len(past):
        latest = r.loc[[past.idxmax()], rows.columns]
        rows = pd.concat([latest, rows], ignore_index=True)
    return rows.reset_index(drop=True)


def _in_folder(problem, folder):
    """The problem with its file named inside its partition's folder (``part-00002/responses.parquet``)."""
    return replace(problem, file=f"{folder}/{problem.file}") if problem.file and "/" not in str(problem.file) \
        else problem


def _id_keys(ids: pd.Series) -> np.ndarray:
    """A 64-bit key of each stakeholder id (BLAKE2b of its text) to find ids used in two partitions."""
    return np.fromiter((int.from_bytes(hashlib.blake2b(str(s).encode("utf-8"), digest_size=8).digest(), "big")
                        for s in ids), dtype=np.uint64, count=len(ids))


class PartitionedVillage:
    """A partitioned village folder, opened one partition at a time (see the module docstring).

    Parameters
    ----------
    path : str or Path
        A partitioned village folder (``cxinfluence partition``, ``cxinfluence synth --partitions K``).
    role_rules : optional
        As in :func:`cxinfluence.load_village`.
    today : date, optional
        The day the default as-of date treats as today (default: today).
    progress : callable, optional
        Called with a line after each partition is read.
    cache : str or Path, optional
        A scratch folder where each partition is kept validated once it has been read
        (:func:`~cxinfluence.village.partitions.write_validated`), so that reading it again
        costs a fraction of validating it again.

    Raises
    ------
    VillageError
        Every problem of every partition at once, and the stakeholder ids used
        in two partitions, as ``load_village(path)`` raises them.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from cxinfluence.village.synth import make_village
    >>> from cxinfluence.village.partitions import write_partitioned
    >>> v, _ = make_village(12, seed=0)
    >>> path = write_partitioned(v, pathlib.Path(tempfile.mkdtemp()) / "v", partitions=4)
    >>> pv = PartitionedVillage(path)
    >>> pv.partitions, len(pv.accounts), len(pv.subset(["A003"]).accounts)
    (4, 12, 1)
    """

    def __init__(self, path, *, role_rules=None, today=None, progress=None, cache=None):
        self.path = Path(path)
        self.cache = None if cache is None else Path(cache)
        self.manifest = read_manifest(self.path)
        self.partitions = int(self.manifest["partitions"])
        self.role_rules = role_rules
        self.source = str(path)
        self.today = pd.Timestamp.today().normalize() if today is None else pd.Timestamp(today).normalize()
        self._scan(progress)

    def _scan(self, progress):
        accounts, outcomes, facts, dates, keys, errors, problems = [], [], [], [], [], [], []
        for k in range(self.partitions):
            folder = self.manifest["parts"][k]["folder"]
            try:
                v = self.read(k)
            except VillageError as exc:  # every partition's problems together, each naming its partition's file
                errors += [_in_folder(p, folder) for p in exc.problems]
                continue
            accounts.append(v.accounts)
            outcomes.append(v.outcomes)
            facts.append(village_facts(v))
            dates.append(_date_rows(v, self.today))
            keys.append(_id_keys(v.stakeholders["stakeholder_id"]))
            problems += [_in_folder(p, folder) for p in v.problems]
            if self.cache is not None:  # later reads of this run load the validated tables (village/partitions.py)
                write_validated(v, self.cached(k))
            if progress is not None:
                progress(f"read {self._label(k)}")
            del v
            if (_resident_bytes() or 0) >= TRIM_FROM_BYTES:  # one partition's freed memory not left to the next
                hand_back()
        if not errors:
            errors += self._ids_used_twice(keys)
        if errors:
            raise VillageError(errors, source=self.source)
        self.accounts = pd.concat(accounts, ignore_index=True)
        self.outcomes = pd.concat(outcomes, ignore_index=True)
        self.problems = problems
        self.facts = merge_facts(facts)
        self.latest_responses = pd.concat(dates, ignore_index=True)

    def _ids_used_twice(self, keys) -> list:
        """A problem naming a stakeholder id in two partitions (checked by text where two keys agree)."""
        owner = np.concatenate([np.full(len(k), i) for i, k in enumerate(keys)]) if keys else np.zeros(0, int)
        allkeys = np.concatenate(keys) if keys else np.zeros(0, np.uint64)
        order = np.argsort(allkeys, kind="stable")
        same = np.flatnonzero(allkeys[order][1:] == allkeys[order][:-1])
        suspects = {int(k) for k in allkeys[order][same]}
        if not suspects:
            return []
        seen, twice = {}, []
        for k in sorted({int(p) for p in owner[np.isin(allkeys, list(suspects))]}):
            for sid in self.read(k).stakeholders["stakeholder_id"].astype(str):
                if seen.setdefault(sid, k) != k and sid not in twice:
                    twice.append(sid)
        if not twice:
            return []
        return [Problem("stakeholders", str(self.path), None, "stakeholder_id",
                        f"{len(twice):,} stakeholder id(s) appear in two partitions ({twice[0]!r}, ...); "
                        "a stakeholder id must be unique in the whole village")]

    def _label(self, k) -> str:
        part = self.manifest["parts"][k]["accounts"]
        return f"partition {k} of {self.partitions} ({part['accounts']:,} accounts)"

    def cached(self, k) -> Path | None:
        """Where this run keeps partition ``k`` validated (None without a cache folder)."""
        return None if self.cache is None else self.cache / self.manifest["parts"][k]["folder"]

    def read(self, k) -> Village:
        """Partition ``k``: its validated copy when this run kept one, else read from its files and validated."""
        kept = self.cached(k)
        if kept is not None and kept.is_dir():
            return read_validated(kept, source=f"{self.source} [partition {k} of {self.partitions}]")
        return read_partition(self.path, k, role_rules=self.role_rules, warn=False)

    def drop_copies(self) -> None:
        """Remove this run's validated copies (after their last use: a million accounts' copies take gigabytes)."""
        if self.cache is not None:
            shutil.rmtree(self.cache, ignore_errors=True)

    def response_dates(self) -> Village:
        """A village holding only the responses the default as-of date looks at (see :func:`default_as_of`)."""
        empty = pd.DataFrame()
        return Village(empty, empty, empty, self.latest_responses, empty)

    def subset(self, account_ids) -> Village:
        """The village of these accounts only, read from the partitions that hold them.

        Tables in the loaded folder's order (partition order, then each
        partition's), as ``subset_village(load_village(path), account_ids)``
        gives them.
        """
        ids = pd.Series(list(account_ids), dtype=object).astype(str)
        where = partition_of(ids, self.partitions) if len(ids) else np.zeros(0, int)
        pieces = [subset_village(self.read(int(k)), ids[where == k]) for k in np.unique(where)]
        if not pieces:
            return subset_village(self.read(0), ids)
        if len(pieces) == 1:
            return pieces[0]
        return Village(**{name: pd.concat([getattr(p, name) for p in pieces], ignore_index=True)
                          for name in ("accounts", "stakeholders", "relationships", "responses", "outcomes")},
                       source=self.source)

    def __repr__(self):
        return (f"PartitionedVillage({self.source!r}: {self.partitions} partitions, {len(self.accounts):,} accounts, "
                f"{self.facts['responses']:,} responses)")
