"""A binary file written by a background thread while the caller makes the next block: :func:`write_behind`.

Writing a large file is mostly the kernel's work (the page cache's new pages: at 100k accounts the 1 GB
``portfolio.gexf`` spent as much system time being written as user time being quoted), and ``write`` releases the
GIL; handed to one thread, a bounded number of blocks behind, it overlaps the next block's quoting instead of
following it. The bytes and their order are those the plain file gets.
"""

from __future__ import annotations

import queue
import threading
from contextlib import contextmanager

__all__ = ["WriteBehind", "write_behind"]


class WriteBehind:
    """``f``'s writes done by one background thread, at most ``depth`` blocks behind the caller.

    A block is written after :meth:`write` returns, so it must not change afterwards (``bytes``, or a
    ``memoryview`` of an immutable Arrow buffer, as :func:`cxinfluence.present.xmlcolumns.write_lines` passes).
    An error writing is raised by the next :meth:`write` or by :meth:`close`.

    Examples
    --------
    >>> import io
    >>> raw = io.BytesIO()
    >>> f = WriteBehind(raw)
    >>> f.write(b"<a>"); f.write(memoryview(b"<b/>")); f.write(b"</a>")
    >>> f.close(); raw.getvalue()
    b'<a><b/></a>'
    """

    def __init__(self, f, depth: int = 1):
        self._f, self._blocks, self._error = f, queue.Queue(depth), None
        self._thread = threading.Thread(target=self._drain, name="cxinfluence-write-behind", daemon=True)
        self._thread.start()

    def write(self, data) -> None:
        """Queue ``data`` (waits while ``depth`` blocks are still to be written)."""
        if self._error is not None:
            raise self._error
        self._blocks.put(data)

    def close(self, *, drop: bool = False) -> None:
        """Wait until every block is written (``drop``: stop after the one under way) and raise a write's error."""
        if drop:
            self._error = self._error or _Dropped()
        self._blocks.put(None)
        self._thread.join()
        if self._error is not None and not isinstance(self._error, _Dropped):
            raise self._error

    def _drain(self) -> None:
        while (data := self._blocks.get()) is not None:
            if self._error is None:  # after an error the rest is taken off the queue, not written
                try:
                    self._f.write(data)
                except BaseException as exc:  # noqa: BLE001 - handed to the writing thread (write/close)
                    self._error = exc


class _Dropped(Exception):
    """The caller gave up on the file (an error of its own): the blocks left are not written."""


@contextmanager
def write_behind(f, depth: int = 1):
    """``f`` as a :class:`WriteBehind` for the block: every block written when it ends; if the block raises,
    the blocks left are dropped and its error propagates.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "a.txt")
    >>> with open(path, "wb") as raw, write_behind(raw) as f:
    ...     f.write(b"one "); f.write(b"two")
    >>> open(path, "rb").read()
    b'one two'
    """
    behind = WriteBehind(f, depth)
    try:
        yield behind
    except BaseException:
        behind.close(drop=True)
        raise
    behind.close()
