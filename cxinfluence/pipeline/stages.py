"""The run's stage bookkeeping: one stage timed and guarded, skipped or failed stages recorded in its
:class:`RunResult`.

A stage that the data cannot support is recorded as skipped with its reason; an unexpected error
inside a stage is caught, recorded as that stage's failure and the run goes on
(:func:`cxinfluence.pipeline.runner.run`); ``warnings.csv`` lists both.
"""

from __future__ import annotations

import ctypes
import gc
import os
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..present.workers import note_cpu


@dataclass
class RunResult:
    """What :func:`cxinfluence.pipeline.runner.run` computed (all tables also written to ``out``)."""

    out: Path
    as_of: pd.Timestamp
    tables: dict = field(default_factory=dict)
    fits: dict = field(default_factory=dict)
    timings: list = field(default_factory=list)
    #: what was skipped or failed: dicts with ``stage``, ``severity`` ("skipped", "failed", "note"), ``reason``
    skipped: list = field(default_factory=list)
    #: (stage, warning) for every warning raised while a stage ran
    caught: list = field(default_factory=list, repr=False)
    #: the portfolio prior the sentiment was scored against (given, or computed from the village's accounts)
    prior: object = field(default=None, repr=False)
    #: while the run writes: its tables written as soon as their stage is done (pipeline/outputs.EarlyTables)
    early: object = field(default=None, repr=False)

    @property
    def exit_code(self) -> int:
        """0 everything written, 3 written with skipped stages, 4 written but a stage failed unexpectedly."""
        severities = {r["severity"] for r in self.skipped}
        return 4 if "failed" in severities else 3 if "skipped" in severities else 0

    def skip_lines(self) -> list:
        """One line per skipped or failed stage (and per note), as printed."""
        return [_skip_line(r) for r in self.skipped]


def _skip_line(record) -> str:
    if record["severity"] == "failed":
        return f"Stage '{record['stage']}' failed: {record['reason']}"
    return f"{record['stage']}: {record['severity']} \u2014 {record['reason']}"


def _record(result, stage, severity, reason):
    result.skipped.append({"stage": stage, "severity": severity, "reason": reason})


@contextmanager
def _guard(result, stage):
    """Run one stage; an unexpected error is recorded as the stage's failure and the run goes on.

    Outputs of a stage that fails are simply missing; every later stage that
    needs them checks and says so.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - one stage's bug must not cost the user every other output
            _record(result, stage, "failed", f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    result.caught += [(stage, w) for w in caught]


def _skip_table(skipped, caught) -> pd.DataFrame:
    """``warnings.csv``: skipped/failed stages and notes first, then each distinct warning raised (counted)."""
    rows = [dict(r, category="", count=1) for r in skipped]
    seen = {}
    for stage, w in caught:
        key = (stage, w.category.__name__, str(w.message))
        seen[key] = seen.get(key, 0) + 1
    rows += [{"stage": stage, "severity": "warning", "reason": m, "category": c, "count": n}
             for (stage, c, m), n in seen.items()]
    return pd.DataFrame(rows, columns=["stage", "severity", "reason", "category", "count"])


#: below this resident size a stage's end hands nothing back: a full ``gc.collect`` walks every object of the imported
#: libraries (0.1-0.2 s a stage, a tenth of the demo's time over its 13 stages) to free a few MiB of a small run
TRIM_FROM_BYTES = 1 << 30


def _resident_bytes() -> int | None:
    """This process's resident memory now (Linux ``/proc/self/statm``); None where it cannot be read."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


_runs = []  # the runs under way in this process (_run_scope): whether the outermost may freeze objects


@contextmanager
def _run_scope():
    """One run: objects its small stages froze for the collector (:func:`_stage`) are unfrozen when it ends.

    Nothing is frozen when the caller had frozen objects already (``gc.freeze``): theirs stay as they were.
    """
    _runs.append(not _runs and gc.get_freeze_count() == 0)
    try:
        yield
    finally:
        ours = _runs.pop()
        if ours:
            gc.unfreeze()


@contextmanager
def _stage(progress, name, *, keep_freed=False):
    """A progress stage that hands freed memory back to the system when it ends, in a large run.

    glibc's malloc and Arrow's mimalloc pool both keep freed blocks for reuse;
    a stage that frees arrays of one kind and the next that allocates the
    other would otherwise add up in the run's peak memory. A run holding less
    than :data:`TRIM_FROM_BYTES` (the demo, a few thousand accounts) skips it:
    there the peak is small and the collection costs more than it frees; inside
    :func:`_run_scope` the objects alive then are frozen for the collector instead.
    ``keep_freed=True``: a stage keeps what it frees for the next stages when they reuse it without raising the
    run's peak (an in-memory run's stages from the influence to the sentiment, and its last stages: the
    collection and the pages faulted in again cost 1-2 s of the 100k run, and its peak, in the sentiment stage or
    the comments, is not raised; benchmarks/README.md, nineteenth and twenty-second sessions).
    """
    with progress.stage(name):
        yield
    note_cpu()  # for the picture stages' choice of a second process (present/workers.py)
    resident = _resident_bytes()
    if resident is not None and resident < TRIM_FROM_BYTES:
        if _runs and _runs[0]:
            # what a small run's stages leave (modules, the village, tables) mostly lives to its end: the collector's
            # full passes stop walking it again (1.4 -> 0.3 s of the demo); the run's end hands it back (_run_scope)
            gc.freeze()
        return
    if not keep_freed:
        hand_back(collect=True)


def hand_back(*, collect=False) -> None:
    """Freed memory handed back to the system: Arrow's pool released and ``malloc_trim`` (glibc keeps freed
    blocks for reuse, in one heap per thread that allocated them); ``collect`` runs the garbage collector first.

    Each stage's end in a large run (:func:`_stage`), and a streamed run after each partition (what one
    partition freed is not left to grow the next one's heaps: :mod:`cxinfluence.pipeline.engines`).
    """
    if collect:
        gc.collect()
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except Exception:  # pragma: no cover - older pyarrow: nothing to release
        pass
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl): nothing to trim
        pass
