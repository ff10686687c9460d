"""What each ``cxinfluence`` command does, once its arguments are parsed: ``validate``, ``synth``,
``partition``, ``run``, ``demo``, ``import``, ``team-template`` (:data:`COMMANDS`).

:func:`cxinfluence.pipeline.cli.main` parses the command line first and imports this module only
then, so ``--help`` and usage errors answer before the analysis is loaded.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..exceptions import CxInfluenceError, VillageError
from ..present.summary import village_summary
from ..village.core import Village
from ..village.importers import import_village, write_import, write_team_template
from ..village.load import load_village
from ..village.partitions import is_partitioned, read_manifest, write_partitioned
from ..village.roles import title_coverage, title_coverage_sentence
from ..village.synth import CHUNK_ACCOUNTS, make_village, write_synthetic, write_synthetic_partitioned
from ..village.validate import check_village
from .runner import run, sample_village_path


def _print_problems(problems, stream):
    for p in problems:
        print(f"  {p.severity.upper():7} {p}", file=stream)


def cmd_validate(args) -> int:
    if is_partitioned(args.village):  # every partition checked, then what only the whole shows (ids used twice)
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

    print(title_coverage_sentence(title_coverage(tables["stakeholders"], rules=args.role_rules)))
    return 0


def cmd_synth(args) -> int:
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

    print(village_summary(village))
    return 0


def cmd_partition(args) -> int:
    village = load_village(args.village, role_rules=args.role_rules, warn=False)
    write_partitioned(village, args.out, partitions=args.partitions, overwrite=args.force)
    manifest = read_manifest(args.out)
    sizes = [p["accounts"]["accounts"] for p in manifest["parts"]]
    print(f"wrote {len(village.accounts):,} accounts in {args.partitions} partitions ({min(sizes):,} to "
          f"{max(sizes):,} accounts each) to {args.out}")
    return 0


def run_options(args):
    """The keyword arguments of :func:`cxinfluence.pipeline.runner.run` that ``cxinfluence run``'s options give."""
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
    return _finish_run(run(args.village, args.out, **run_options(args)), args)


def cmd_demo(args) -> int:
    return _finish_run(run(sample_village_path(), args.out, **run_options(args)), args)


def cmd_import(args) -> int:
    out = Path(args.out)
    if out.exists() and not args.force:
        print(f"error: {out} exists; pass --force to replace it", file=sys.stderr)
        return 1
    try:
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
