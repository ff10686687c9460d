"""Engines of the partitioned run: map a function over the partitions of a village.

Two engines with one interface (:class:`Engine`):

* :class:`LocalEngine` (``engine="local"``, the default): the partitions one after the
  other in this process. ``partitions=1`` is the ordinary run.
* :class:`DaskEngine` (``engine="dask"``): each partition a task on ``dask.distributed``,
  on a ``LocalCluster`` started for the run or on the scheduler at ``scheduler=ADDRESS``
  (``tcp://host:8786``). Its dashboard link is printed; in JupyterLab open it in a tab,
  or with ``jupyter-server-proxy`` set ``distributed.dashboard.link`` to
  ``"/proxy/{port}/status"``. Dask is an optional extra (``pip install cxinfluence[dask]``):
  it is imported only when this engine starts.

The mapped function takes the partition's tables (a dict of pandas DataFrames, the
five village tables) plus keyword arguments and returns a dict of pandas
DataFrames, so the same function serves any engine that moves DataFrames
(Spark's ``applyInPandas`` included). A partition whose function raises is
tried again (``retries``); if it still fails, :class:`~cxinfluence.exceptions.PartitionFailedError`
names the partition, its account-id range and the stage. Progress is reported
per stage and per partition.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..exceptions import EngineError, PartitionError, PartitionFailedError
from .stages import TRIM_FROM_BYTES, _resident_bytes, hand_back
from ..village.core import Village
from ..village.partitions import (
    account_range,
    check_partitions,
    is_partitioned,
    read_manifest,
    read_partition,
    read_validated,
    row_partitions,
)

ENGINES = ("local", "dask")


@dataclass
class Partition:
    """One partition of a village: its number, the number of partitions and where its rows are.

    Either ``tables`` (the five DataFrames, in memory), ``source`` and ``rows`` (a
    village in memory and this partition's row numbers of each table: the
    partition's tables are taken when needed, so only one partition at a time is
    copied) or ``path`` (a partitioned village folder, read where the task runs:
    only this partition's files).
    ``accounts`` is ``(first, last, count)`` of its account ids, sorted as text.
    """

    number: int
    of: int
    accounts: tuple
    tables: object = field(default=None, repr=False)
    path: str | None = None
    role_rules: object = field(default=None, repr=False)
    source: object = field(default=None, repr=False)
    rows: dict | None = field(default=None, repr=False)
    #: with ``path``: this run's validated copy of the partition (village/partitions.py write_validated), if kept
    cached: str | None = None

    def label(self) -> str:
        first, last, n = self.accounts
        span = "no accounts" if not n else f"accounts {first!r} .. {last!r}, {n:,} account{'s' * (n != 1)}"
        return f"partition {self.number} of {self.of} ({span})"

    def load(self):
        """The partition's five tables (a Village or dict; read from disk, validated, when it has a ``path``)."""
        if self.tables is not None:
            return self.tables
        if self.rows is not None:
            return Village(**{name: getattr(self.source, name).iloc[idx].reset_index(drop=True)
                              for name, idx in self.rows.items()},
                           source=f"{self.source.source} [partition {self.number} of {self.of}]")

        if self.cached is not None and Path(self.cached).is_dir():  # a worker on another machine reads the files
            return read_validated(self.cached, source=f"{self.path} [partition {self.number} of {self.of}]")
        return read_partition(self.path, self.number, role_rules=self.role_rules, warn=False)


def whole_partition(village) -> Partition:
    """The whole village as the one partition of a one-partition run (not copied)."""
    r = account_range(village.accounts)
    return Partition(0, 1, (r["first"], r["last"], r["accounts"]), tables=village)


def partitions_of(village, partitions) -> list:
    """The village's partitions: split in memory (a Village) or read lazily (a partitioned folder).

    Examples
    --------
    >>> from cxinfluence.village.synth import make_village
    >>> v, _ = make_village(10, seed=0)
    >>> parts = partitions_of(v, 3)
    >>> [p.accounts[2] for p in parts], parts[0].label()
    ([1, 5, 4], "partition 0 of 3 (accounts 'A005' .. 'A005', 1 account)")
    """
    if isinstance(village, (str, Path)) and is_partitioned(village):
        manifest = read_manifest(village)
        if partitions not in (None, manifest["partitions"]):
            raise PartitionError(f"partitions={partitions!r} but {village} is written in {manifest['partitions']} "
                                 f"partitions; pass partitions={manifest['partitions']} or write it again with "
                                 f"cxinfluence partition VILLAGE OUT --partitions {partitions}")
        return [Partition(p["partition"], manifest["partitions"],
                          (p["accounts"]["first"], p["accounts"]["last"], p["accounts"]["accounts"]), path=str(village))
                for p in manifest["parts"]]
    if check_partitions(partitions) == 1:
        return [whole_partition(village)]
    rows = row_partitions(village, partitions)
    out = []
    for k in range(partitions):
        own = {name: np.flatnonzero(r == k) for name, r in rows.items()}
        r = account_range(village.accounts.iloc[own["accounts"]])
        out.append(Partition(k, partitions, (r["first"], r["last"], r["accounts"]), source=village, rows=own))
    return out


def _own(inputs, i):
    """Partition ``i``'s own keyword arguments (a callable gives them when the partition runs)."""
    if inputs is None:
        return None
    own = inputs[i]
    return own() if callable(own) else own


def _call(func, partition, kwargs, own=None):
    """Run ``func`` on one partition's tables (module level: shipped to Dask workers as is)."""
    return func(partition.load(), **(own or {}), **kwargs)


def _call_on(func, data, kwargs, own=None):
    """Run ``func`` on tables already on a Dask worker."""
    return func(data, **(own or {}), **kwargs)


class Engine:
    """Maps a function over partitions; a context manager (``with get_engine(...) as engine:``)."""

    name = "engine"

    def __init__(self, *, retries=1, progress=None):
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise EngineError(f"retries={retries!r} is not a whole number >= 0; pass e.g. retries=1")
        self.retries = retries
        self.progress = progress

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self) -> None:
        """Release what the engine started."""

    def _say(self, message):
        if self.progress is not None:
            self.progress.say(message)

    def _failed(self, partition, stage, exc, tries):
        raise PartitionFailedError(
            f"{partition.label()} failed in stage '{stage}' after {tries} attempt{'s' * (tries != 1)}: "
            f"{type(exc).__name__}: {exc}. Run `cxinfluence run` on that partition alone "
            f"(load_village(path, partition={partition.number})) to see why.",
            partition=partition.number, accounts=partition.accounts, stage=stage) from exc

    def map(self, func, partitions, *, stage, inputs=None, consume=None, **kwargs) -> list:
        """``[func(p.load(), **inputs[i], **kwargs) for i, p in enumerate(partitions)]``, in partition order.

        ``inputs`` (optional) holds each partition's own keyword arguments (e.g. its rows
        of an earlier stage's table, or a callable giving them when the partition runs);
        ``kwargs`` are the same for every partition. ``consume(i, result)`` (optional) is
        called with each partition's result as soon as it is back, and what it returns is
        kept instead (a streamed run puts the large tables on disk there, so the results
        of all partitions are never in memory together).
        """
        raise NotImplementedError


class LocalEngine(Engine):
    """The partitions one after the other in this process (the default engine).

    With a single partition (the ordinary run) the function is simply called:
    no retry, and its exception is the stage's own.

    Examples
    --------
    >>> from cxinfluence.village.synth import make_village
    >>> v, _ = make_village(10, seed=0)
    >>> with LocalEngine() as engine:
    ...     sizes = engine.map(lambda t: {"n": len(t.accounts)}, partitions_of(v, 3), stage="count")
    >>> sizes
    [{'n': 1}, {'n': 5}, {'n': 4}]
    """

    name = "local"

    def map(self, func, partitions, *, stage, inputs=None, consume=None, **kwargs) -> list:
        keep = consume or (lambda i, result: result)
        if len(partitions) == 1 and partitions[0].of == 1:  # the ordinary run: a failure is the stage's own, as is
            return [keep(0, _call(func, partitions[0], kwargs, _own(inputs, 0)))]
        out = []
        for i, p in enumerate(partitions):
            t0 = time.perf_counter()
            for attempt in range(self.retries + 1):
                try:
                    result = _call(func, p, kwargs, _own(inputs, i))
                    break
                except (KeyboardInterrupt, SystemExit, MemoryError):
                    raise
                except Exception as exc:  # noqa: BLE001 - retried, then named with its partition
                    if attempt == self.retries:
                        self._failed(p, stage, exc, attempt + 1)
                    self._say(f"{stage}: {p.label()} failed ({type(exc).__name__}: {exc}); trying again")
            out.append(keep(i, result))
            result = None
            if p.path is not None and (_resident_bytes() or 0) >= TRIM_FROM_BYTES:  # a large streamed run
                hand_back()
            if len(partitions) > 1:
                self._say(f"{stage}: {p.label()} done in {time.perf_counter() - t0:.1f}s")
        return out


class DaskEngine(Engine):
    """Each partition a ``dask.distributed`` task, on a LocalCluster or an existing scheduler.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``). Default: a
        ``LocalCluster`` of processes started now and closed with the engine.
    n_workers, threads_per_worker : int, optional
        Size of the LocalCluster (default: Dask's choice of workers, one thread each:
        the numerical work of a partition is not shared between threads).
    retries : int, default 2
        Times Dask runs a failed partition again before the run stops.
    progress : Progress, optional
        Where to report the dashboard link and per-partition progress.
    """

    name = "dask"

    def __init__(self, scheduler=None, *, n_workers=None, threads_per_worker=1, retries=2, progress=None,
                 processes=True):
        super().__init__(retries=retries, progress=progress)
        self.scheduler = scheduler
        self.n_workers = n_workers
        self.threads_per_worker = threads_per_worker
        self.processes = processes
        self.client = self.cluster = None
        self.dashboard_link = None
        self._data = {}  # id(partition) -> (partition, future of its tables on the cluster)

    def __enter__(self):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError as exc:
            raise EngineError(f"engine='dask' needs dask.distributed, which cannot be imported ({exc}); install it "
                              "with pip install 'cxinfluence[dask]', or use engine='local'") from None
        if self.scheduler:
            try:
                self.client = Client(self.scheduler, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise EngineError(f"scheduler={self.scheduler!r} cannot be reached ({exc}); start one with "
                                  "`dask scheduler` (and workers), check the address, or leave --scheduler out for "
                                  "a LocalCluster") from None
        else:
            self.cluster = LocalCluster(n_workers=self.n_workers, threads_per_worker=self.threads_per_worker,
                                        processes=self.processes, dashboard_address=":0")
            self.client = Client(self.cluster)
        self.dashboard_link = self.client.dashboard_link
        where = self.scheduler or f"a LocalCluster of {len(self.client.scheduler_info()['workers'])} workers"
        self._say(f"dask: {where}; dashboard {self.dashboard_link}")
        return self

    def close(self) -> None:
        import logging

        self._data = {}
        # a worker slow to stop on a busy machine is killed: that is the end of the run, not news for the user
        nanny = logging.getLogger("distributed.nanny")
        level = nanny.level
        nanny.setLevel(logging.ERROR)
        try:
            if self.client is not None:
                self.client.close()
            if self.cluster is not None:
                self.cluster.close()
        finally:
            nanny.setLevel(level)
            self.client = self.cluster = None

    def _on_cluster(self, p):
        """The future of in-memory partition ``p``'s tables on the cluster: sent once per run."""
        if id(p) not in self._data:
            self._data[id(p)] = (p, self.client.scatter(p.load(), hash=False))
        return self._data[id(p)][1]

    def map(self, func, partitions, *, stage, inputs=None, consume=None, **kwargs) -> list:
        from dask.distributed import as_completed

        if self.client is None:
            raise EngineError("the Dask engine is not started; use it as `with DaskEngine(...) as engine:`")
        token = f"{stage}-{time.time_ns()}".replace(" ", "_")
        n = len(partitions)
        own = [_own(inputs, i) for i in range(n)] if inputs is not None else [None] * n
        # a partition on disk is read by the task that uses it (a streamed run: the cluster never holds every
        # partition); one in memory is sent once and kept on the cluster for the run's later stages
        futures = [self.client.submit(_call, func, p, kwargs, own[i], key=f"{token}-partition-{p.number}",
                                      retries=self.retries, pure=False) if p.path is not None else
                   self.client.submit(_call_on, func, self._on_cluster(p), kwargs, own[i],
                                      key=f"{token}-partition-{p.number}", retries=self.retries, pure=False)
                   for i, p in enumerate(partitions)]
        index = {f.key: i for i, f in enumerate(futures)}
        out = [None] * n
        try:
            for done in as_completed(futures):
                i = index[done.key]
                p = partitions[i]
                if done.status == "error":
                    exc = done.exception()
                    self._failed(p, stage, exc, self.retries + 1)
                result = done.result()
                done.release()  # its result leaves the cluster as soon as it is here
                out[i] = consume(i, result) if consume is not None else result
                if len(partitions) > 1:
                    self._say(f"{stage}: {p.label()} done")
            return out
        finally:
            for f in futures:
                f.release()


def get_engine(engine="local", *, scheduler=None, retries=None, progress=None, **options) -> Engine:
    """The engine called ``engine`` (``"local"`` or ``"dask"``), or ``engine`` itself if it is an Engine.

    Examples
    --------
    >>> get_engine("local").name
    'local'
    >>> get_engine("spark")
    Traceback (most recent call last):
    ...
    cxinfluence.exceptions.EngineError: engine='spark' is not an engine; expected one of ['local', 'dask']
    """
    if isinstance(engine, Engine):
        return engine
    if engine == "local" or engine is None:
        if scheduler:
            raise EngineError(f"scheduler={scheduler!r} is for engine='dask'; pass engine='dask' (--engine dask) "
                              "or leave the scheduler out")
        return LocalEngine(retries=1 if retries is None else retries, progress=progress)
    if engine == "dask":
        return DaskEngine(scheduler, retries=2 if retries is None else retries, progress=progress, **options)
    raise EngineError(f"engine={engine!r} is not an engine; expected one of {list(ENGINES)}")
