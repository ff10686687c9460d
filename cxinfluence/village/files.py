"""Atomic writes in one place: a folder, a file, and the lock both use.

* :func:`atomic_folder` -- a run's output folder (``cxinfluence run``, ``synth``,
  :func:`cxinfluence.io.write_village`) is built in a hidden sibling
  ``.<name>.staging-*`` and put in place with ONE atomic operation, so the
  folder is wholly old or wholly new at every moment and under every signal.
* :func:`atomic_file` -- one file (a workbook, ``responses.csv`` after an
  append) written to a hidden temporary file beside it, fsync'ed and renamed
  over it.
* :func:`lock` -- the exclusive lock both take (``.<name>.lock`` beside the
  target), so concurrent writers queue instead of interleaving, and so the
  leftovers of a killed writer are *provably* stale: whoever holds the lock is
  the only one who may have a staging folder, hence every other one found
  while holding it belongs to a dead process and is removed.

How the folder is swapped (see ``docs/architecture.md``, "Atomic outputs"):

* Linux: ``renameat2(RENAME_EXCHANGE)`` swaps the staging folder and the old
  output in one system call; the old output (now under the staging name) is
  then deleted.
* macOS: ``renamex_np(RENAME_SWAP)``, the same operation.
* elsewhere (Windows, file systems without the exchange): a journal
  ``.<name>.swap-journal`` is written first, then the old folder is renamed
  aside and the new one into place. A reader can see *no* folder for that
  instant, never a mixed one; a run killed between the two renames leaves the
  journal, and the next writer (under the lock) completes the swap.

SIGINT and SIGTERM are blocked for the few system calls of the swap, so the
Python-level state (:func:`committed`) always says truthfully whether the new
output was put in place. Nothing here imports ``fcntl`` at module level: the
lock imports it (or ``msvcrt`` on Windows) when taken.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from ..exceptions import OutputError, OutputPathError
from .filelock import lock  # the lock both writers take (importable from here as before)

#: Hidden file in every output folder listing the entries the run wrote; on a
#: re-run, entries NOT listed there (the user's own notes) are carried over.
MANIFEST = ".cxinfluence-output.json"
#: Test hook: seconds to sleep between the steps of a folder swap (kill tests).
PAUSE_ENV = "CXINFLUENCE_TEST_SWAP_PAUSE"

_committed: set[str] = set()


_CAUSES = {
    errno.ENOSPC: "no space left on the device (disk full)",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EDQUOT: "disk quota exceeded",
    errno.EIO: "input/output error (failing disk or network share)",
    errno.ENOENT: "no such file or folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "is a folder, not a file",
    errno.ENAMETOOLONG: "file name too long",
    errno.EMFILE: "too many open files",
    errno.EFBIG: "file too large for the file system",
    errno.ELOOP: "too many levels of symbolic links",
}


def os_cause(exc: BaseException) -> str:
    """A short, plain cause for an ``OSError`` (also pyarrow's, which hide the errno in the text).

    Examples
    --------
    >>> os_cause(OSError(28, "No space left on device"))
    'no space left on the device (disk full) [ENOSPC]'
    >>> os_cause(PermissionError(13, "Permission denied", "/x"))
    'permission denied [EACCES]'
    """
    code = getattr(exc, "errno", None)
    if code is None:
        text = str(exc)
        for c, name in ((errno.ENOSPC, "No space left"), (errno.EROFS, "Read-only file system"),
                        (errno.EACCES, "Permission denied"), (errno.EDQUOT, "quota exceeded")):
            if name in text:
                code = c
                break
    if code in _CAUSES:
        return f"{_CAUSES[code]} [{errno.errorcode.get(code, code)}]"
    if code is not None:
        return f"{os.strerror(code).lower()} [{errno.errorcode.get(code, code)}]"
    text = " ".join(str(exc).split())
    return text[:200] or type(exc).__name__


def committed(path) -> bool:
    """Whether this process has put a new output in place at ``path`` (for truthful messages)."""
    return str(Path(path).absolute()) in _committed


def current_umask() -> int:
    """The process umask, read without changing it where the system allows (Linux)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _pause(step: str) -> None:
    delay = os.environ.get(PAUSE_ENV)
    if delay:
        print(f"[atomic] {step}", file=sys.stderr, flush=True)
        time.sleep(float(delay))


# --------------------------------------------------------------------------- helpers


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError, IsADirectoryError, PermissionError):
            p.unlink()


def _fsync_dir(folder: Path) -> None:
    if sys.platform == "win32":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextmanager
def _signals_blocked():
    """Hold SIGINT/SIGTERM back for a few system calls (main thread, POSIX)."""
    if sys.platform == "win32" or threading.current_thread() is not threading.main_thread():
        yield
        return
    sigs = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _exchange(a: Path, b: Path) -> None:
    """Swap two existing paths atomically; ``OSError(ENOTSUP)`` where the system cannot."""
    import ctypes
    import ctypes.util

    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        fn = getattr(libc, "renameat2", None)
        if fn is None:
            raise OSError(errno.ENOTSUP, "renameat2 not available")
        at_fdcwd, rename_exchange = -100, 2
        if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) != 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e), str(a), None, str(b))
        return
    if sys.platform == "darwin":
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        fn = getattr(libc, "renamex_np", None)
        if fn is None:
            raise OSError(errno.ENOTSUP, "renamex_np not available")
        if fn(os.fsencode(a), os.fsencode(b), 0x2) != 0:  # RENAME_SWAP
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e), str(a), None, str(b))
        return
    raise OSError(errno.ENOTSUP, "no atomic exchange on this system")


def _journal(out: Path) -> Path:
    return out.parent / f".{out.name}.swap-journal"


def recover(out) -> list[str]:
    """Finish what a killed writer of ``out`` left: complete (or roll back) a journalled
    swap, then remove its staging folders, old folders and temporary files.

    Call only while holding ``lock`` on ``out``'s lock file (then no live writer
    can own them). Returns the names removed.
    """
    out = Path(out)
    parent, name = out.parent, out.name
    journal = _journal(out)
    if journal.exists():
        try:
            step = json.loads(journal.read_text(encoding="utf-8"))
            new, old = parent / step["new"], parent / step["old"]
            if not os.path.lexists(out):
                if new.is_dir():
                    os.rename(new, out)  # the swap was under way: complete it
                elif old.is_dir():
                    os.rename(old, out)  # nothing to complete: roll back
        except (ValueError, KeyError, TypeError):
            pass  # unreadable journal: the leftovers below are removed, ``out`` is as it is
        journal.unlink()
    removed = []
    prefixes = (f".{name}.staging-", f".{name}.old-", f".{name}.tmp-")
    with contextlib.suppress(FileNotFoundError):
        for p in parent.iterdir():
            if p.name.startswith(prefixes):
                _remove(p)
                removed.append(p.name)
    return removed


def _manifest_entries(folder: Path) -> set[str] | None:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        return set(data["entries"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _carry(src: Path, dst: Path) -> None:
    """Put a user's entry ``src`` at ``dst`` in the new folder: hard links (no copy), else a copy."""
    if src.is_symlink():
        os.symlink(os.readlink(src), dst)
    elif src.is_dir():
        shutil.copytree(src, dst, symlinks=True, copy_function=_link_or_copy)
    else:
        _link_or_copy(src, dst)


def _link_or_copy(src, dst):
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    return dst


# --------------------------------------------------------------------------- the folder


@contextmanager
def atomic_folder(out, *, replace=True, keep_foreign=False, owned=(), manifest=False, lock_timeout=600.0):
    """Build a folder in a hidden sibling and put it in place at ``out`` in one atomic step.

    Yields the staging folder (on the same file system as ``out``). If the
    block raises (bad data, disk full, Ctrl-C, SIGTERM turned into an
    exception), the staging folder is removed and ``out`` is exactly as it
    was. On success the staging folder replaces ``out`` with one atomic
    exchange (module notes), so a reader -- or a run killed at any moment --
    sees the old folder or the new one, never a mix.

    Parameters
    ----------
    out : str or Path
        The folder to write. Created with the permissions of any folder the
        user makes (umask), not 0700. A symlink to a folder is followed.
    replace : bool, default True
        Whether an existing ``out`` may be replaced (else :class:`FileExistsError`).
    keep_foreign : bool, default False
        Carry the entries of the old ``out`` that the writer does not own
        (not in its manifest, not in ``owned``) into the new folder: a user's
        notes survive a re-run. Hard links, so nothing is copied.
    owned : iterable of str
        Entry names of old outputs written before manifests existed.
    manifest : bool, default False
        Write :data:`MANIFEST` listing the entries written.
    lock_timeout : float, default 600
        Seconds to wait for another process writing the same ``out``.

    Raises
    ------
    OutputError
        The machine refused (disk full, read-only, permission denied, ...):
        one line naming the path and cause.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_folder(root / "out") as tmp:
    ...     _ = (tmp / "a.csv").write_text("old")
    >>> with atomic_folder(root / "out") as tmp:
    ...     _ = (tmp / "b.csv").write_text("new")
    >>> sorted(p.name for p in root.iterdir()), sorted(p.name for p in (root / "out").iterdir())
    (['out'], ['b.csv'])
    """
    out = Path(out).absolute()
    if out.is_symlink() and out.is_dir():
        out = out.resolve()
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the folder {parent}: {os_cause(exc)}", exc.errno, parent) from None
    if os.path.lexists(out) and not out.is_dir():
        raise OutputError(f"{out} exists and is not a folder; choose a folder path for the output",
                          errno.ENOTDIR, out)
    state = {"step": "lock"}
    try:
        with lock(parent / f".{out.name}.lock", lock_timeout, what=f"the output folder {out}"):
            recover(out)
            if out.exists() and not replace:
                raise FileExistsError(f"{out} already exists; pass overwrite=True (CLI: --force) to replace it")
            state["step"] = "stage"
            staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-", dir=parent))
            os.chmod(staging, 0o777 & ~current_umask())
            try:
                state["step"] = "write"
                yield staging
                state["step"] = "swap"
                _pause("built")
                _finish(staging, out, keep_foreign, set(owned), manifest, state)
            except BaseException:
                if not state.get("committed"):
                    _remove(staging)
                raise
    except (OutputError, TimeoutError):
        raise
    except OSError as exc:
        if isinstance(exc, FileExistsError) and state["step"] == "lock":
            raise
        raise _output_error(exc, out, staging if state["step"] in ("write", "swap") else None,
                            bool(state.get("committed"))) from None


def _output_error(exc: OSError, out: Path, staging: Path | None, done: bool) -> OutputError:
    where = exc.filename
    shown = out
    if where is not None:
        try:
            rel = Path(os.fsdecode(where)).relative_to(staging) if staging is not None else None
        except ValueError:
            rel = None
        shown = out / rel if rel is not None else Path(os.fsdecode(where))
        if shown.name.startswith(f".{out.name}."):  # our lock, staging or temporary name: name the output
            shown = out
    tail = ("the new output is in place" if done else
            f"{out} was left as it was" if out.exists() else f"nothing was written to {out}")
    return OutputError(f"cannot write {shown}: {os_cause(exc)}; {tail}", getattr(exc, "errno", None), shown)


def _finish(staging: Path, out: Path, keep_foreign: bool, owned: set, manifest: bool, state: dict) -> None:
    written = sorted(p.name for p in staging.iterdir())
    exists = out.is_dir()
    if exists and keep_foreign:
        ours = _manifest_entries(out)
        ours = (ours or set()) | owned | {MANIFEST}
        for entry in sorted(out.iterdir()):
            if entry.name not in ours and entry.name not in written:
                _carry(entry, staging / entry.name)
    if manifest:
        (staging / MANIFEST).write_text(json.dumps({"written_by": "cxinfluence", "entries": written}, indent=1) + "\n",
                                        encoding="utf-8")
    key = str(out)
    if not exists:
        with _signals_blocked():
            os.rename(staging, out)
            _committed.add(key)
            state["committed"] = True
        _fsync_dir(out.parent)
        return
    try:
        with _signals_blocked():
            _pause("before exchange")
            _exchange(staging, out)
            _committed.add(key)
            state["committed"] = True
        _fsync_dir(out.parent)
        _pause("exchanged")
        _remove(staging)  # now holds the old output
        return
    except OSError as exc:
        if exc.errno not in (errno.ENOTSUP, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            raise
    _journalled_swap(staging, out, state)


def _journalled_swap(staging: Path, out: Path, state: dict) -> None:
    """Two renames, made recoverable by a journal (systems without an atomic exchange)."""
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    os.rmdir(old)
    journal = _journal(out)
    with open(journal, "w", encoding="utf-8") as fh:
        json.dump({"new": staging.name, "old": old.name}, fh)
        fh.flush()
        os.fsync(fh.fileno())
    _fsync_dir(out.parent)
    with _signals_blocked():
        os.rename(out, old)
        _pause("moved old aside")
        os.rename(staging, out)
        _committed.add(str(out))
        state["committed"] = True
    _fsync_dir(out.parent)
    journal.unlink()
    _remove(old)


# --------------------------------------------------------------------------- one file


@contextmanager
def atomic_file(target, *, replace=True, lock_timeout=60.0, fsync=True):
    """Write one file atomically: yield a temporary path beside ``target``, rename it over on success.

    The temporary file (``.<name>.tmp-*``, same folder) gets ``target``'s
    permissions if it exists, else those of any file the user creates
    (umask). On success it is fsync'ed and renamed over ``target``
    (``os.replace``: readers see the old file or the new one); on any
    exception it is removed and ``target`` is untouched. Writers of the same
    file take :func:`lock` on ``.<name>.lock``, and leftovers of killed
    writers are removed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> t = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_file(t) as tmp:
    ...     _ = tmp.write_text("hello")
    >>> t.read_text(), sorted(p.name for p in t.parent.iterdir())
    ('hello', ['a.txt'])
    """
    target = Path(target).absolute()
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        with lock(parent / f".{target.name}.lock", lock_timeout, what=str(target)):
            recover(target)
            if target.exists() and not replace:
                raise FileExistsError(f"{target} already exists; pass overwrite=True (CLI: --force) to replace it")
            fd, name = tempfile.mkstemp(prefix=f".{target.name}.tmp-", suffix=target.suffix, dir=parent)
            os.close(fd)
            tmp = Path(name)
            done = False
            try:
                mode = target.stat().st_mode & 0o7777 if target.exists() else 0o666 & ~current_umask()
                os.chmod(tmp, mode)
                yield tmp
                if fsync:
                    with open(tmp, "rb+") as fh:
                        os.fsync(fh.fileno())
                with _signals_blocked():
                    os.replace(tmp, target)
                    _committed.add(str(target))
                    done = True
                _fsync_dir(parent)
            except BaseException:
                if not done:
                    with contextlib.suppress(FileNotFoundError):
                        tmp.unlink()
                raise
    except (OutputError, FileExistsError, TimeoutError):
        raise
    except OSError as exc:
        raise _output_error(exc, target, None, False) from None


def write_file_atomically(target, write, **kw) -> None:
    """Call ``write(tmp_path)`` inside :func:`atomic_file` (the form comments use)."""
    with atomic_file(target, **kw) as tmp:
        write(tmp)


def check_output_folder(out, *, inputs=(), marker=None) -> None:
    """Refuse an output folder that replacing could harm, before any work is done.

    Raises :class:`~cxinfluence.exceptions.OutputPathError` when ``out`` is
    one of ``inputs`` or holds one of them (replacing it would delete the
    input), is a file, or is a non-empty folder that is not an earlier output
    (it has neither :data:`MANIFEST` nor ``marker``): the folder is replaced as
    a whole, so it must be new, empty or ours. A new folder *inside* an input
    folder (``village/out``) is fine: the input's files are never touched, and
    a village is read from its table files only.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> village = pathlib.Path(tempfile.mkdtemp())
    >>> check_output_folder(village, inputs=[village])
    Traceback (most recent call last):
    ...
    cxinfluence.exceptions.OutputPathError: the output folder ... is (or holds) the input ...; replacing it would delete the input: choose another --out folder
    >>> check_output_folder(village / "out", inputs=[village])  # a new folder inside the village: fine
    """

    out = Path(out).absolute()
    real = out.resolve()
    for given in inputs:
        if given is None:
            continue
        src = Path(given).absolute().resolve()
        if real == src or src.is_relative_to(real):
            raise OutputPathError(f"the output folder {out} is (or holds) the input {given}; replacing it would delete "
                                  "the input: choose another --out folder")
    if os.path.lexists(out) and not out.is_dir():
        raise OutputPathError(f"the output path {out} exists and is not a folder; choose a folder path for --out")
    if out.is_dir():
        try:
            entries = [p.name for p in out.iterdir()]
        except OSError as exc:
            raise OutputError(f"cannot read the output folder {out}: {os_cause(exc)}", exc.errno, out) from None
        ours = MANIFEST in entries or (marker is not None and marker in entries)
        visible = [e for e in entries if not e.startswith(".")]  # .DS_Store and the like do not count
        if visible and not ours:
            shown = ", ".join(sorted(visible)[:5]) + (", ..." if len(visible) > 5 else "")
            raise OutputPathError(f"the output folder {out} is not empty and holds no earlier cxinfluence output "
                                  f"({shown}); it is replaced as a whole, so choose a new or empty folder")
