"""Where Arrow memory comes from while a village is loaded or a run works: :func:`arrow_pool`.

pandas keeps the village's text (ids, names, comments) in Arrow arrays, allocated
from pyarrow's default memory pool. pyarrow's wheels default to mimalloc; on the
100k-account benchmark village (about 2.9 GiB of tables) the process holds about
350 MiB more after loading with mimalloc than with jemalloc (3.76 GiB against 3.41
GiB of RSS, and a peak of about 4.0 GiB against 3.7 GiB while loading), because
mimalloc keeps more freed blocks in reserve. :func:`arrow_pool` makes jemalloc the
default pool for the work inside it and puts the previous pool back afterwards
(arrays allocated inside keep their pool and are freed into it).

jemalloc is also told to hand freed pages back to the system at once
(``jemalloc_set_decay_ms(0)``, for the rest of the process): by default it keeps
them for a while, and what it gives back lazily (``MADV_FREE``) still counts as
the process's memory until the system reclaims it. Measured on the 100k-account
village streamed in 8 partitions, with memory handed back at every stage's end:
0.87 GiB held after pass 2 with the default, 0.44 GiB with this. (Arrow on the
system allocator also gave 0.44 GiB at 100k accounts, but at a million glibc's
per-thread heaps grew inside each pass: 7 GiB against 4.) The trade on the 100k in-memory run
(benchmarks/README.md, nineteenth session): Arrow's default (pages kept a second) saved ~6 s of its
~100 s CPU in page faults, but raised loading's peak by ~0.5 GiB, to 4.0-4.2 GiB; jemalloc fixes an
arena's decay when it creates the arena, so it cannot be relaxed once loading is done.

It changes nothing when pyarrow has no jemalloc (some platforms' builds) or when
the user chose a pool with the ``ARROW_DEFAULT_MEMORY_POOL`` environment
variable; values are never affected, only where their bytes live.
"""

from __future__ import annotations

import functools
import os
from contextlib import contextmanager

#: the pool used inside :func:`arrow_pool` (see the module's docstring for why)
PREFERRED = "jemalloc"


def _preferred_pool():
    """pyarrow's jemalloc pool, or None (not built in, or the user chose a pool through the environment)."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return None
    import pyarrow as pa

    try:
        pool = pa.jemalloc_memory_pool()
        pa.jemalloc_set_decay_ms(0)  # freed pages back at once (see the module's docstring)
        return pool
    except (NotImplementedError, AttributeError, OSError):  # a build without jemalloc
        return None


@contextmanager
def arrow_pool():
    """Within: pyarrow's default memory pool is jemalloc (when available and the user chose none).

    Nests: an inner use inside an outer one changes nothing.

    Examples
    --------
    >>> import pyarrow as pa
    >>> before = pa.default_memory_pool().backend_name
    >>> with arrow_pool():
    ...     inside = pa.default_memory_pool().backend_name
    >>> pa.default_memory_pool().backend_name == before
    True
    >>> inside in (PREFERRED, before)
    True
    """
    with using_pool(_preferred_pool()):
        yield


@contextmanager
def using_pool(pool):
    """Within: ``pool`` is pyarrow's default memory pool (None: unchanged); the previous pool is put back.

    Arrays allocated inside keep their pool and are freed into it after the switch back.

    Examples
    --------
    >>> import pyarrow as pa
    >>> before = pa.default_memory_pool().backend_name
    >>> with using_pool(pa.system_memory_pool()):
    ...     pa.default_memory_pool().backend_name
    'system'
    >>> pa.default_memory_pool().backend_name == before
    True
    """
    if pool is None:
        yield
        return
    import pyarrow as pa

    previous = pa.default_memory_pool()
    if previous.backend_name == pool.backend_name:
        yield
        return
    pa.set_memory_pool(pool)
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


def in_arrow_pool(func):
    """Decorator: ``func`` runs inside :func:`arrow_pool`."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with arrow_pool():
            return func(*args, **kwargs)

    return wrapper
