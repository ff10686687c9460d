"""The exclusive lock every writer of an output takes (:func:`lock`), on every platform.

POSIX uses ``flock``; Windows ``msvcrt.locking``. Neither module is imported at module level
(``fcntl`` does not exist on Windows): the lock imports the one its platform has when taken.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path


def _try_lock(fd) -> bool:
    if sys.platform == "win32":
        import msvcrt

        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _unlock(fd) -> None:
    if sys.platform == "win32":
        import msvcrt

        with contextlib.suppress(OSError):
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)


@contextmanager
def lock(path, timeout=60.0, *, what=None):
    """Hold an exclusive lock on the lock file ``path`` (created; removed on release).

    POSIX: ``flock`` (released by the kernel if the process dies, so a killed
    holder never blocks the next one). Windows: ``msvcrt.locking`` on the
    file's first byte (also released when the process ends). The file is
    removed when released; a waiter that then holds a lock on the removed file
    notices (its inode is no longer the path's) and locks the new one, so the
    removal is safe. On Windows an open file cannot be removed, so the file
    may stay (it is harmless and hidden).

    Parameters
    ----------
    path : str or Path
        The lock file, e.g. ``.out.lock`` beside the folder it protects.
    timeout : float or None, default 60
        Seconds to wait for another holder; ``None`` waits for ever.
    what : str, optional
        What is being locked, for the timeout message.

    Raises
    ------
    TimeoutError
        Another process held the lock for longer than ``timeout``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / ".x.lock"
    >>> with lock(p):
    ...     p.exists()
    True
    >>> p.exists()
    False
    """
    path = Path(path)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o666)
        while not _try_lock(fd):
            if deadline is not None and time.monotonic() > deadline:
                os.close(fd)
                raise TimeoutError(
                    f"could not lock {what or path} within timeout={timeout}s; another cxinfluence process is "
                    f"still writing it (or hung): wait and retry, or raise timeout (lock file {path})")
            time.sleep(0.02)
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same or sys.platform == "win32":
            break
        _unlock(fd)  # the previous holder removed the file we waited on: lock the new one
        os.close(fd)
    try:
        yield path
    finally:
        if sys.platform != "win32":
            with contextlib.suppress(OSError):
                path.unlink()
        _unlock(fd)
        os.close(fd)
        if sys.platform == "win32":
            with contextlib.suppress(OSError):
                path.unlink()
