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
from pathlib import Path

from .cliargs import EPILOG, RUN_EPILOG, build_parser  # noqa: F401 - the parser, importable from here as before

EXIT_OS, EXIT_INTERRUPTED, EXIT_TERMINATED = 5, 130, 143


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that writers clean up and the message is truthful."""


def _on_sigterm(signum, frame):
    raise _Terminated()


def _interrupted_message(args, what="interrupted") -> str:
    """What an interrupted command did to its output, from :func:`cxinfluence.village.files.committed`."""
    from ..village.files import committed

    out = getattr(args, "out", None)
    if out is None:
        return f"{what}: nothing was written"
    if committed(out):
        return f"{what}: the new output was already complete in {out} (only clean-up was cut short)"
    return f"{what}: {out} was left as it was (nothing was written to it)"


def _print_problems(problems, stream):
    for p in problems:
        print(f"  {p.severity.upper():7} {p}", file=stream)


def cmd_validate(args) -> int:
    from ..present.summary import village_summary
    from ..village.validate import check_village
    from ..village.core import Village

    from ..village.partitions import is_partitioned

    if is_partitioned(args.village):  # every partition checked, then what only the whole shows (ids used twice)
        from ..exceptions import VillageError
        from ..village.core import load_village

        try:
            whole = load_village(args.village, role_rules=args.role_rules, warn=False)
            tables, problems = whole.tables(), list(whole.problems)
        except VillageError as exc:
            tables, problems = None, exc.problems
    else:
        tables, problems = check_village(args.village, role_rules=args.role_rules)
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity != "error"]
    if errors:
        print(f"{args.village}: NOT valid: {len(errors)} error(s), {len(warnings)} warning(s)", file=sys.stderr)
        _print_problems(errors + warnings, sys.stderr)
        return 1
    print(f"{args.village}: valid ({len(warnings)} warning(s))")
    _print_problems(warnings, sys.stdout)
    print(village_summary(Village(**tables, source=str(args.village), problems=warnings)))
    from ..village.roles import title_coverage, title_coverage_sentence

    print(title_coverage_sentence(title_coverage(tables["stakeholders"], rules=args.role_rules)))
    return 0


def cmd_synth(args) -> int:
    from ..village.synth import CHUNK_ACCOUNTS, make_village, write_synthetic, write_synthetic_partitioned

    out = Path(args.out)
    if out.exists() and not args.force:
        print(f"error: {out} exists; pass --force to replace it", file=sys.stderr)
        return 1
    params = {} if args.waves_per_year is None else {"waves_per_year": args.waves_per_year}
    if args.waves_per_year is not None and args.waves_per_year < 1:
        print(f"error: --waves-per-year {args.waves_per_year}: expected a whole number >= 1", file=sys.stderr)
        return 1
    if args.partitions is not None:
        if args.format not in (None, "parquet"):
            print(f"error: --partitions writes Parquet; --format {args.format} cannot be partitioned", file=sys.stderr)
            return 1
        write_synthetic_partitioned(args.accounts, out, args.partitions, seed=args.seed, truth=args.world,
                                    chunk_accounts=args.chunk_accounts or CHUNK_ACCOUNTS, overwrite=args.force,
                                    **params)
        from ..village.partitions import read_manifest

        rows = read_manifest(out)["rows"]
        print(f"wrote a synthetic village ({args.world} world, seed {args.seed}) in {args.partitions} partitions to "
              f"{out}: {rows['accounts']:,} accounts, {rows['stakeholders']:,} stakeholders, "
              f"{rows['responses']:,} responses")
        return 0
    if args.chunk_accounts is not None:
        print("error: --chunk-accounts needs --partitions K (a whole village is generated at once)", file=sys.stderr)
        return 1
    village, truth = make_village(args.accounts, seed=args.seed, truth=args.world, **params)
    write_synthetic(village, truth, out, format=args.format or "csv", overwrite=args.force)
    print(f"wrote a synthetic village ({args.world} world, seed {args.seed}) to {out}")
    from ..present.summary import village_summary

    print(village_summary(village))
    return 0


def cmd_partition(args) -> int:
    from ..village.core import load_village
    from ..village.partitions import read_manifest, write_partitioned

    village = load_village(args.village, role_rules=args.role_rules, warn=False)
    write_partitioned(village, args.out, partitions=args.partitions, overwrite=args.force)
    manifest = read_manifest(args.out)
    sizes = [p["accounts"]["accounts"] for p in manifest["parts"]]
    print(f"wrote {len(village.accounts):,} accounts in {args.partitions} partitions ({min(sizes):,} to "
          f"{max(sizes):,} accounts each) to {args.out}")
    return 0


def _run_kwargs(args):
    split = lambda s: [x.strip() for x in s.split(",") if x.strip()] if s else None  # noqa: E731
    return dict(
        as_of=args.as_of,
        window_days=args.window_days,
        lead_days=args.lead_days,
        half_life_days=args.half_life_days,
        schemes=split(args.schemes),
        maps=args.maps,
        map_accounts=split(args.map_accounts),
        anonymize=args.anonymize,
        anonymize_key=args.anonymize_key,
        role_rules=args.role_rules,
        seed=args.seed,
        quiet=args.quiet,
        currency=args.currency,
        compare_to=getattr(args, "compare_to", None),
        prior=getattr(args, "prior", None),
        partitions=args.partitions,
        engine=args.engine,
        scheduler=args.scheduler,
    )


def _finish_run(result, args) -> int:
    """Exit code of a run; with --quiet the skipped stages are still named (progress lines name them otherwise)."""
    if args.quiet:
        for line in result.skip_lines():
            print(line, file=sys.stderr)
    return result.exit_code


def cmd_run(args) -> int:
    from .runner import run

    return _finish_run(run(args.village, args.out, **_run_kwargs(args)), args)


def cmd_demo(args) -> int:
    from .runner import run, sample_village_path

    return _finish_run(run(sample_village_path(), args.out, **_run_kwargs(args)), args)


def cmd_import(args) -> int:
    from ..exceptions import CxInfluenceError

    out = Path(args.out)
    if out.exists() and not args.force:
        print(f"error: {out} exists; pass --force to replace it", file=sys.stderr)
        return 1
    try:
        from ..village.importers import import_village, write_import

        village, report = import_village(
            salesforce=args.salesforce,
            hubspot=args.hubspot,
            gainsight=args.gainsight,
            qualtrics=args.qualtrics,
            surveymonkey=args.surveymonkey,
            customergauge=args.customergauge,
            generic=args.generic,
            team=args.team,
            mapping=args.map,
            role_rules=args.role_rules,
        )
        write_import(village, report, out, overwrite=args.force)
    except (CxInfluenceError, KeyboardInterrupt):
        raise
    except OSError as exc:  # e.g. --out is a non-empty folder that holds no village
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ImportError as exc:
        print(f"error: this source is not available in this installation ({exc})", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - no traceback reaches the user; name the failure instead
        print(
            f"error: the import failed unexpectedly ({type(exc).__name__}: {exc}); nothing was written. "
            "Please report this with the import command you ran.",
            file=sys.stderr,
        )
        return 1
    print(report.summary())
    print(
        (
            f"wrote the village to {out} (with import_report.md and import_log.csv); check it with: cxinfluence "
            f"validate {out}"
        )
    )
    return 0


def cmd_team_template(args) -> int:
    from ..village.core import load_village

    try:
        from ..village.importers import write_team_template
    except ImportError as exc:  # pragma: no cover - the team module ships with the importers
        print(f"error: the account-team template is not available in this installation ({exc})", file=sys.stderr)
        return 1
    village = load_village(args.village, warn=False)
    try:
        path = write_team_template(village, args.out)
    except ImportError as exc:
        print(f"error: the account-team template is not available in this installation ({exc})", file=sys.stderr)
        return 1
    print(
        (
            f"wrote the account-team workbook to {path}; fill it in and merge it with: cxinfluence import ... --team "
            f"{path}"
        )
    )
    return 0


COMMANDS = {
    "validate": cmd_validate,
    "synth": cmd_synth,
    "run": cmd_run,
    "partition": cmd_partition,
    "demo": cmd_demo,
    "import": cmd_import,
    "team-template": cmd_team_template,
}


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


def main(argv=None) -> int:
    import signal

    from ..exceptions import CxInfluenceError, OutputError
    from ..village.files import os_cause

    args = build_parser().parse_args(argv)
    with contextlib.suppress(ValueError):  # not the main thread (main() called from a thread): keep the default
        signal.signal(signal.SIGTERM, _on_sigterm)
        sys.unraisablehook = _interrupt_again
    try:
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
