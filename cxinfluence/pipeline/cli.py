"""The ``cxinfluence`` command line.

Commands: ``validate`` a village, ``synth`` a synthetic one, ``partition`` one into
K Parquet partitions, ``run`` the whole
analysis on a village, ``demo`` it on the bundled sample village, ``import`` a
village from CRM and survey exports, ``team-template`` for the account team.
Bad data gives one clear message, never a traceback.

Exit codes: 0 everything written; 1 invalid village or options, nothing written
(including an output folder that cannot be used safely); 2 command-line usage;
3 (``run``/``demo``) written, but stages the data cannot support were skipped
(reasons in the console, warnings.csv and the report); 4 written, but a stage
failed unexpectedly (named the same way); 5 the machine refused (disk full,
read-only file system, permission denied, ...; the previous output is intact);
130 interrupted (Ctrl-C); 143 terminated (SIGTERM). An unexpected error outside
a stage is one line (exit 1), never a traceback; set CXINFLUENCE_TRACEBACK=1 to
see it.
"""

from __future__ import annotations

import contextlib
import sys

from ..exceptions import CxInfluenceError, OutputError
from ..village.files import committed, os_cause
from .cliargs import EPILOG, RUN_EPILOG, build_parser  # noqa: F401 - the parser, importable from here as before

EXIT_OS, EXIT_INTERRUPTED, EXIT_TERMINATED = 5, 130, 143


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that writers clean up and the message is truthful."""


def _on_sigterm(signum, frame):
    raise _Terminated()


def _interrupted_message(args, what="interrupted") -> str:
    """What an interrupted command did to its output, from :func:`cxinfluence.village.files.committed`."""
    out = getattr(args, "out", None)
    if out is None:
        return f"{what}: nothing was written"
    if committed(out):
        return f"{what}: the new output was already complete in {out} (only clean-up was cut short)"
    return f"{what}: {out} was left as it was (nothing was written to it)"


def _interrupt_again(unraisable):
    """Deliver again a Ctrl-C or SIGTERM that landed inside a garbage-collection callback.

    Python cannot raise an exception there: it would print "Exception ignored in ... Traceback"
    and carry on as if nothing was pressed. The signal is sent again from a helper thread, so it is
    handled at the next step of the main program, where it stops the command as usual.
    """
    import signal
    import threading

    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        sig = signal.SIGTERM if isinstance(unraisable.exc_value, _Terminated) else signal.SIGINT
        threading.Timer(0.01, signal.raise_signal, (sig,)).start()
        return
    sys.__unraisablehook__(unraisable)


#: glibc's ``mallopt`` parameter for the number of malloc arenas (``M_ARENA_MAX`` in malloc.h)
_M_ARENA_MAX = -8


def one_malloc_arena() -> bool:
    """Let every thread of this process allocate from glibc's one main malloc arena; whether it was set.

    glibc gives each thread that allocates its own arena (up to 8 per core), and memory a thread frees stays in
    that arena for it: the run's helper threads (the influence a date ahead, coverage's departures, the models'
    folds) each kept a few tens of MiB of freed numpy arrays that no other thread could reuse. With one arena the
    100k run peaked ~50 MiB lower in the same time (4,013-4,066 -> 3,964-4,028 MiB over four runs each;
    benchmarks/README.md, twenty-second session). Only the command line sets it: the process is its own, whereas
    a library call in a notebook must not change how the user's process allocates. A ``MALLOC_ARENA_MAX`` the
    user set is left as it is; elsewhere than glibc (macOS, Windows, musl) nothing is done.
    """
    import ctypes
    import os

    if "MALLOC_ARENA_MAX" in os.environ or not sys.platform.startswith("linux"):
        return False
    try:
        return bool(ctypes.CDLL("libc.so.6").mallopt(_M_ARENA_MAX, 1))
    except (OSError, AttributeError):  # not glibc
        return False


def main(argv=None) -> int:
    import signal

    args = build_parser().parse_args(argv)
    one_malloc_arena()  # before the analysis's imports start threads (numpy's, Arrow's)
    with contextlib.suppress(ValueError):  # not the main thread (main() called from a thread): keep the default
        signal.signal(signal.SIGTERM, _on_sigterm)
        sys.unraisablehook = _interrupt_again
    try:
        from .commands import COMMANDS  # lazy: --help and usage errors answer before the analysis loads

        return COMMANDS[args.command](args)
    except OutputError as exc:  # before CxInfluenceError: the machine's fault has its own exit code
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_OS
    except CxInfluenceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # e.g. `cxinfluence validate X | head`: the reader left; say nothing more
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except TimeoutError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_OS
    except OSError as exc:
        where = exc.filename if getattr(exc, "filename", None) is not None else "a file"
        print(f"error: cannot use {where}: {os_cause(exc)}", file=sys.stderr)
        return EXIT_OS
    except KeyboardInterrupt as exc:
        print(
            _interrupted_message(args, "terminated" if isinstance(exc, _Terminated) else "interrupted"), file=sys.stderr
        )
        return EXIT_TERMINATED if isinstance(exc, _Terminated) else EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - no traceback reaches a user; CXINFLUENCE_TRACEBACK=1 shows it
        import os

        if os.environ.get("CXINFLUENCE_TRACEBACK"):
            raise
        print(
            f"error: unexpected {type(exc).__name__}: {exc}. Nothing was written to the output folder. This is "
            "a bug: please report it with the command you ran (CXINFLUENCE_TRACEBACK=1 shows the details).",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
