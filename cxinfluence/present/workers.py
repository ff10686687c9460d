"""A second process for the picture stages (maps, account pages), when a core is idle.

Drawing with matplotlib is most of a run's picture stages and the pictures of a
run are independent, so a stage may hand the second half of its list to one
worker process while this process draws the first half. The worker is started
with ``spawn`` (no copy of a large parent, safe beside the thread pools of Arrow
and BLAS) with one BLAS thread; if it cannot start or breaks, its half is done
here instead. A worker pays for itself only when a core is idle: on a busy
machine it competes with this process and the stage takes longer.

Whether a core is idle is read from the machine's CPU time (``/proc/stat``)
less this process's own (and its finished workers'), over the last few seconds
noted: :func:`spare_cores`. The load average said too little: it is a minute's
decaying average that counts this process too (after the two-thread models
stage it said 1.3 on an otherwise idle two-core machine, and the 100k run's
maps stayed in one process in two runs of three) and processes that have
ended since.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
import warnings

__all__ = ["MIN_SPARE_CORES", "deferred_worker", "finish_worker", "has_kept_worker", "in_two", "kept_worker",
           "note_cpu", "others_busy", "shared_with_kept_worker", "spare_cores", "start_deferred_worker", "start_worker",
           "use_worker"]

#: the busy time of other processes is read over at least this many seconds (else since the first sample)
MIN_WINDOW_S = 3.0

#: a worker only where this much of a core is idle beside this process (:func:`spare_cores`)
MIN_SPARE_CORES = 0.8


def _machine_busy() -> float | None:
    """Seconds the machine's cores have been busy since boot (``/proc/stat``: all but idle and I/O wait; time the
    hypervisor gave to others counts as busy); None where there is no such file (macOS, Windows)."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            ticks = [int(x) for x in fh.readline().split()[1:9]]
        return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _own_cpu() -> float:
    """CPU seconds of this process's threads, of its finished (reaped) child processes, e.g. earlier workers, and
    of its live ones (the kept worker, :func:`kept_worker`, warming up or drawing)."""
    try:
        import resource

        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + children.ru_utime + children.ru_stime + _live_children_cpu()
    except ImportError:  # Windows: no resource module
        return time.process_time()


def _live_children_cpu() -> float:
    """CPU seconds of this process's live worker processes (``/proc/<pid>/stat``; 0 for one that cannot be read)."""
    import multiprocessing

    total = 0.0
    for child in multiprocessing.active_children():
        try:
            with open(f"/proc/{child.pid}/stat", encoding="ascii") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()  # after the command name: state, ppid, ...
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
        except (OSError, ValueError, IndexError, AttributeError):
            continue
    return total


def _sample():
    return time.monotonic(), _own_cpu(), _machine_busy()


#: (monotonic time, own CPU seconds, machine busy seconds), at import and at each stage's end (:func:`note_cpu`)
_SAMPLES = [_sample()]


def note_cpu() -> None:
    """Note the CPU times now (the run calls it at each stage's end), for :func:`others_busy`."""
    _SAMPLES.append(_sample())
    del _SAMPLES[1:-16]  # the first (the start) and the last few are all that are read


def others_busy(samples=None) -> float | None:
    """Cores other processes kept busy lately: the machine's busy CPU time less this process's, per second.

    Read between now and the latest sample at least :data:`MIN_WINDOW_S` old (else the first).

    Parameters
    ----------
    samples : list of (time, own CPU seconds, machine busy seconds), optional
        In time order, the last one "now"; default: those noted by :func:`note_cpu`, and now.

    Returns
    -------
    float or None
        None where the machine's CPU time cannot be read.

    Examples
    --------
    Over 10 s the machine was busy 14 CPU seconds, 9.5 of them this process's:

    >>> others_busy([(0.0, 0.0, 100.0), (10.0, 9.5, 114.0)])
    0.45
    """
    if samples is None:
        samples = [*_SAMPLES, _sample()]
    now = samples[-1]
    if now[2] is None:
        return None
    old = next((s for s in reversed(samples[:-1]) if now[0] - s[0] >= MIN_WINDOW_S), samples[0])
    if old is now or old[2] is None or now[0] <= old[0]:
        return None
    return max((now[2] - old[2]) - (now[1] - old[1]), 0.0) / (now[0] - old[0])


def spare_cores() -> float:
    """Cores idle beside this process: the core count, less one (this process, drawing), less what other
    processes kept busy lately (:func:`others_busy`; where that cannot be read, the 1-minute load average less
    one for this process; 0 where neither can: Windows)."""
    others = others_busy()
    if others is None:
        try:
            others = max(os.getloadavg()[0] - 1, 0.0)
        except (AttributeError, OSError):
            return 0.0
    return (os.cpu_count() or 1) - 1 - others


def use_worker(n_jobs: int, min_jobs: int) -> bool:
    """Whether a stage with ``n_jobs`` pictures hands half of them to a worker: from ``min_jobs`` on (a worker's
    start costs about as much as a few pictures) and when :data:`MIN_SPARE_CORES` of a core is idle."""
    return n_jobs >= min_jobs and spare_cores() >= MIN_SPARE_CORES


def _watch_parent(parent: int) -> None:
    """In a worker: end it as soon as the process that started it is gone. A run killed outright (SIGKILL, the
    out-of-memory killer) cannot tell its pool to stop, and its worker would wait for work forever, holding the
    run's terminal and pipes open (a caller waiting for the run's output would wait with it)."""
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(0)


def _one_thread():
    """Worker start: one BLAS thread (idle BLAS threads spinning beside small layouts tripled the worker's CPU),
    and a watch on the parent (:func:`_watch_parent`)."""
    import threading

    threading.Thread(target=_watch_parent, args=(os.getppid(),), name="watch-parent", daemon=True).start()
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"  # numpy is not imported yet in a fresh worker: this is enough
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - the environment variables above do it
        return
    threadpool_limits(1)


@contextlib.contextmanager
def _main_script_hidden():
    """Start workers without importing the ``__main__`` script in them.

    ``spawn`` runs the parent's main script again in the worker (as
    ``__mp_main__``) so that functions defined there can be unpickled. The
    worker here needs only this package; a user's script without an
    ``if __name__ == "__main__":`` guard would otherwise load its data and
    start its whole run a second time inside the worker.
    """
    main = sys.modules.get("__main__")
    hide = main is not None and getattr(main, "__spec__", None) is None and "__file__" in vars(main)
    saved = vars(main).pop("__file__") if hide else None
    try:
        yield
    finally:
        if hide:
            main.__file__ = saved


def _recording(func, *args):
    """In the worker: ``func(*args)`` and the warnings it raised, as (message, category, file, line)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = func(*args)
    return result, [(str(w.message), w.category, w.filename, w.lineno) for w in caught]


def _spawn(func, *args):
    """``func(*args)`` submitted to a fresh pool of one spawned worker process with one BLAS thread (started at
    that submit): ``(pool, future)``, or ``(None, None)`` where no process can be started (a sandbox, a frozen
    app)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    try:
        with _main_script_hidden():  # the worker starts (at submit) without re-running the user's script
            pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=_one_thread)
            return pool, pool.submit(func, *args)
    except (OSError, RuntimeError, ValueError):
        return None, None


def start_worker(func, *args):
    """``func(*args)`` started in one spawned worker process: ``(pool, future)``, or ``(None, None)`` where no
    process can be started (a sandbox, a frozen app): the caller then does that work itself. Inside
    :func:`kept_worker` the kept worker does it (``pool.shutdown`` then leaves that worker running)."""
    if _KEPT is not None:
        try:
            return _Borrowed(), _KEPT.submit(_recording, func, *args)
        except (OSError, RuntimeError, ValueError):  # broken (BrokenProcessPool is a RuntimeError): a fresh one
            pass
    return _spawn(_recording, func, *args)


#: the worker the picture stages share while :func:`kept_worker` holds it, or None
_KEPT = None

#: inside ``kept_worker(defer=True)`` until :func:`start_deferred_worker` starts it
_DEFERRED = False


def has_kept_worker() -> bool:
    """Whether a kept worker (:func:`kept_worker`) is there to take work without a process start."""
    return _KEPT is not None


def deferred_worker() -> bool:
    """Whether a kept worker is to come (``kept_worker(defer=True)``, not started yet): work that would have gone
    to it before then takes a worker of its own (:func:`start_worker`), which ends with that work."""
    return _DEFERRED


def start_deferred_worker() -> bool:
    """Start the kept worker of a ``kept_worker(defer=True)`` block now (warming up as :func:`kept_worker`'s);
    whether there is one now. Outside such a block, or once started, nothing more is started."""
    global _KEPT, _DEFERRED
    if _DEFERRED:
        _DEFERRED = False
        _KEPT = _spawn(_warm_up)[0]  # None where no process can be started: the stages draw alone
    return _KEPT is not None


class _Borrowed:
    """The kept worker as :func:`start_worker` hands it out: shutting it down leaves it running for the next stage."""

    def shutdown(self, wait=True, *, cancel_futures=False):
        pass


def _warm_up() -> None:
    """In the kept worker, as soon as it starts: what drawing maps and pages imports, and the fonts a first
    picture loads, so that its first picture of a stage does not wait for them (about a second of CPU)."""
    import io

    from matplotlib.figure import Figure

    from . import account_page, mapfiles  # noqa: F401  # lazy: the warm-up imports what the pictures will need

    fig = Figure(figsize=(1, 1))
    fig.text(0.5, 0.5, "warm", weight="bold")
    fig.savefig(io.BytesIO(), format="rgba", dpi=72)


@contextlib.contextmanager
def kept_worker(start=True, *, defer=False):
    """Keep one worker process for every picture stage inside the block: started now and warmed up
    (:func:`_warm_up`) while the stages before the pictures run, instead of one started by each stage.

    A spawned worker pays its start (Python, numpy, pandas, matplotlib: about a second of CPU) before its first
    picture, and the maps and the account pages each waited for one. Kept, its start is paid once, on the
    core the analysis stages leave idle. Each stage still asks :func:`use_worker` whether to use it; the
    worker's own CPU counts as this process's (:func:`_own_cpu`), not as another's. ``start=False``: no worker
    is kept (each stage starts its own, as outside the block).

    ``defer=True`` (with ``start``): the worker is started by :func:`start_deferred_worker`, once the caller's
    memory has peaked, not now. A warm worker holds 150-350 MiB (the modules of the pictures, and of the work sent
    to it ahead); beside a 100,000-account run at its peak it took the machine from 3.9 to 4.1-4.3 GiB.
    """
    global _KEPT, _DEFERRED
    pool = _spawn(_warm_up)[0] if start and not defer else None  # None where no process can be started
    saved = _KEPT, _DEFERRED
    _KEPT, _DEFERRED = pool, bool(start and defer)
    try:
        yield pool
    finally:
        worker = _KEPT  # the block's: started now, or later by start_deferred_worker
        _KEPT, _DEFERRED = saved
        if worker is not None:
            worker.shutdown(wait=True, cancel_futures=True)


def in_two(jobs, workers, here, there):
    """Share ``jobs`` between this process and a spawned worker.

    With ``workers`` 2, the worker runs ``func(*args)`` of ``there(second half)`` while this process returns
    ``here(first half)``, then waits for the worker (:func:`finish_worker`: if it broke, its call is made here).
    With one process, or where none can be started, this process returns ``here(jobs)``.

    Examples
    --------
    >>> in_two([1, 2, 3], 1, lambda part: sum(part), lambda part: (sum, part))
    6
    """
    # a kept worker is warm: it takes the larger half (this process also writes what the stage adds, e.g. exports)
    theirs = jobs[(len(jobs) + (_KEPT is None)) // 2:] if workers > 1 else []
    call = there(theirs) if theirs else None
    pool, future = start_worker(*call) if call else (None, None)
    if pool is None:  # one process, or none could be started here: every job done here
        return here(jobs)
    try:
        done = here(jobs[:len(jobs) - len(theirs)])
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)  # an error here: the worker is not waited for
        raise
    finish_worker(pool, future, lambda: call[0](*call[1:]))
    return done


def shared_with_kept_worker(jobs, here, there, *, chunk: int, alongside=None) -> list:
    """Share ``jobs`` with the kept worker (:func:`kept_worker`) as the work goes, not in two fixed halves.

    The worker is fed ``chunk`` jobs at a time from the front, the next chunk sent as its last one ends; this
    process runs ``alongside()`` first (when given), then ``here(part)`` for chunks from the back until the two
    meet, then waits for the worker's (:func:`finish_worker`: a broken worker's chunk is done here). Two processes
    whose jobs cost differently (larger accounts, this process's own extra work) so end together. Without a kept
    worker, this process does everything.

    Parameters
    ----------
    jobs : list
    here : callable
        ``here(part)`` does the jobs ``part`` in this process.
    there : callable
        ``there(part)`` -> ``(func, *args)``, the call that does them in the worker.
    chunk : int
        Jobs a chunk.
    alongside : callable, optional
        This process's own work, done while the worker starts on the jobs.

    Returns
    -------
    list
        One ``(part, result)`` per chunk, in order: ``here``'s result or the worker's.

    Examples
    --------
    >>> [r for _, r in shared_with_kept_worker([1, 2, 3], sum, lambda part: (sum, part), chunk=2)]
    [3, 3]
    """
    parts = [jobs[i:i + chunk] for i in range(0, len(jobs), chunk)]
    results = {}
    if _KEPT is None:
        if alongside is not None:
            alongside()
        for i, part in enumerate(parts):
            results[i] = here(part)
        return [(part, results[i]) for i, part in enumerate(parts)]
    lock, ends, theirs = threading.Lock(), [0, len(parts)], {}  # parts[ends[0]:ends[1]] are not handed out yet

    def feed(_done=None):  # the worker's next chunk (also called by the pool's thread when a chunk ends)
        with lock:
            if ends[0] >= ends[1]:
                return
            i, ends[0] = ends[0], ends[0] + 1
            try:
                theirs[i] = start_worker(*there(parts[i]))
            except Exception:  # noqa: BLE001 - not sent: done here with the rest
                theirs[i] = None
                return
        theirs[i][1].add_done_callback(feed)

    feed()
    try:
        if alongside is not None:
            alongside()
        while True:
            with lock:
                if ends[0] >= ends[1]:
                    break
                ends[1] -= 1
                i = ends[1]
            results[i] = here(parts[i])
        with lock:
            sent = dict(theirs)  # every chunk is handed out: nothing is added now
        for i, got in sorted(sent.items()):
            results[i] = here(parts[i]) if got is None else finish_worker(*got, lambda i=i: here(parts[i]))
    finally:
        with lock:
            ends[1] = ends[0]  # on an error: nothing more is handed out
    return [(part, results[i]) for i, part in enumerate(parts)]


def finish_worker(pool, future, fallback):
    """Wait for the worker of :func:`start_worker`; if it broke, ``fallback()`` does its work here (its error,
    if real, raised again). Returns the worker's result, or the fallback's.

    The warnings the worker's work raised are raised again here, so that a run records them for its stage
    (warnings.csv) as it would had this process done the work.
    """
    try:
        try:
            result, caught = future.result()
        except Exception:  # noqa: BLE001 - a broken worker: its half done here, the error (if real) again
            return fallback()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    for message, category, filename, lineno in caught:
        warnings.warn_explicit(message, category, filename, lineno)
    return result
