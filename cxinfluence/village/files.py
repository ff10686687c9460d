"""Atomic output folders: a run's files appear in DIR all at once, or not at all."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def staged_output(out, names=None):
    """Yield a temporary folder beside ``out``; on success move its entries into ``out``.

    Everything is written into a hidden sibling folder on the same file system.
    If the block raises (bad data, Ctrl-C, a bug), the staging folder is removed
    and ``out`` is left exactly as it was. On success each entry replaces its
    namesake in ``out`` with ``os.replace`` (atomic per entry); other files in
    ``out`` are left alone, so re-running into the same folder is safe.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with staged_output(root / "out") as tmp:
    ...     _ = (tmp / "a.csv").write_text("x")
    >>> sorted(p.name for p in (root / "out").iterdir())
    ['a.csv']
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=out.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:
        if not out.exists():
            os.replace(tmp, out)
            return
        trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        for entry in sorted(tmp.iterdir()):
            target = out / entry.name
            if target.is_dir() and not target.is_symlink():
                # a folder cannot be replaced in one step: move the old one aside first
                os.replace(target, trash / entry.name)
            os.replace(entry, target)
        shutil.rmtree(trash, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
