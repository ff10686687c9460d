"""Stage lines with timings for long runs; silent when asked."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager


class Progress:
    """Print ``[ 1.2s] stage ... done`` lines to stderr unless ``quiet``.

    >>> p = Progress(quiet=True)
    >>> with p.stage("loading"):
    ...     pass
    >>> [name for name, _ in p.timings]
    ['loading']
    """

    def __init__(self, quiet=False, stream=None):
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.start = time.perf_counter()
        self.timings = []

    def say(self, message):
        if not self.quiet:
            print(f"[{time.perf_counter() - self.start:6.1f}s] {message}", file=self.stream, flush=True)

    @contextmanager
    def stage(self, name):
        t0 = time.perf_counter()
        self.say(f"{name} ...")
        yield
        elapsed = time.perf_counter() - t0
        self.timings.append((name, elapsed))
        self.say(f"{name}: done in {elapsed:.1f}s")
