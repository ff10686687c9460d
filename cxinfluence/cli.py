"""The ``cxinfluence`` command line.

Commands: ``validate`` a village, ``synth`` a synthetic one, ``run`` the whole
analysis on a village, ``demo`` it on the bundled sample village. Bad data
gives one clear message and exit code 1, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EPILOG = "Docs: README.md and data/README.md (the data contract)."


def _add_run_options(p):
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the outputs (created; existing outputs are replaced only once the run succeeds)")
    p.add_argument("--as-of", metavar="DATE", default=None, help="as-of date of the snapshot (default: the day after the latest response)")
    p.add_argument("--window-days", type=int, default=365, metavar="N", help="look-back window for feedback, in days (default 365)")
    p.add_argument("--lead-days", type=int, default=0, metavar="N", help="gap between the last feedback used and an outcome's period end, in days (default 0)")
    p.add_argument("--half-life-days", type=float, default=None, metavar="N", help="optional recency decay of feedback weights (half-life in days; default none)")
    p.add_argument("--schemes", default=None, metavar="A,B", help="comma-separated sentiment schemes to model and compare (default: all)")
    p.add_argument("--maps", type=int, default=25, metavar="N", help="write network maps for the N accounts with most revenue at risk (default 25; 0 for none; -1 for all)")
    p.add_argument("--map-accounts", default=None, metavar="ID,ID", help="write maps for exactly these account ids (overrides --maps)")
    p.add_argument("--anonymize", action="store_true", help="replace people's names and identifying comment text with stable pseudonyms in every output")
    p.add_argument("--role-rules", default=None, metavar="CSV", help="extra title->role rules (columns: pattern, role, department)")
    p.add_argument("--seed", type=int, default=0, help="random seed for cross-validation folds, bootstrap and map layout (default 0)")
    p.add_argument("--currency", default=None, metavar="CUR", help="currency of revenue in the report, a symbol or code such as $, EUR (default: none shown)")
    p.add_argument("-q", "--quiet", action="store_true", help="do not print progress")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cxinfluence", description=__doc__.splitlines()[0], epilog=EPILOG)
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check a village and list every problem", description="Check a village (folder of CSV/Parquet files or one .xlsx workbook) and list every problem found. Exit 0 when valid, 1 when not.", epilog=EPILOG)
    p.add_argument("village", metavar="VILLAGE", help="folder of CSV/Parquet files, or an .xlsx workbook")
    p.add_argument("--role-rules", default=None, metavar="CSV", help="extra title->role rules (columns: pattern, role, department)")

    p = sub.add_parser("synth", help="write a synthetic village with a known truth", description="Write a synthetic village and its ground truth (in DIR/truth/).", epilog=EPILOG)
    p.add_argument("--accounts", type=int, default=300, metavar="N", help="number of accounts (default 300)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--world", default="influence", choices=["influence", "mean", "roles"], help="ground-truth world: who drives rebuying (default influence)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write")
    p.add_argument("--format", default="csv", choices=["csv", "parquet", "xlsx"], help="file format (default csv)")
    p.add_argument("--force", action="store_true", help="replace DIR if it exists")

    p = sub.add_parser("run", help="run the whole analysis on a village", description="Validate a village, then write influence.csv, coverage.csv, account_sentiment.csv, models.csv, report.html and networks/ to DIR.", epilog=EPILOG)
    p.add_argument("village", metavar="VILLAGE", help="folder of CSV/Parquet files, or an .xlsx workbook")
    _add_run_options(p)

    p = sub.add_parser("demo", help="run the whole analysis on the bundled sample village", description="Run the whole analysis on the bundled sample village (data/sample_village).", epilog=EPILOG)
    _add_run_options(p)
    return parser


def _version():
    from . import __version__

    return f"cxinfluence {__version__}"


def _print_problems(problems, stream):
    for p in problems:
        print(f"  {p.severity.upper():7} {p}", file=stream)


def cmd_validate(args) -> int:
    from .summary import village_summary
    from .validate import check_village
    from .village import Village

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
    return 0


def cmd_synth(args) -> int:
    from .synth import make_village, write_synthetic

    out = Path(args.out)
    if out.exists() and not args.force:
        print(f"error: {out} exists; pass --force to replace it", file=sys.stderr)
        return 1
    village, truth = make_village(args.accounts, seed=args.seed, truth=args.world)
    write_synthetic(village, truth, out, format=args.format, overwrite=args.force)
    print(f"wrote a synthetic village ({args.world} world, seed {args.seed}) to {out}")
    from .summary import village_summary

    print(village_summary(village))
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
        role_rules=args.role_rules,
        seed=args.seed,
        quiet=args.quiet,
        currency=args.currency,
    )


def cmd_run(args) -> int:
    from .pipeline import run

    run(args.village, args.out, **_run_kwargs(args))
    return 0


def cmd_demo(args) -> int:
    from .pipeline import run, sample_village_path

    run(sample_village_path(), args.out, **_run_kwargs(args))
    return 0


COMMANDS = {"validate": cmd_validate, "synth": cmd_synth, "run": cmd_run, "demo": cmd_demo}


def main(argv=None) -> int:
    from .exceptions import CxInfluenceError

    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except CxInfluenceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (FileNotFoundError, NotADirectoryError, PermissionError, IsADirectoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # e.g. `cxinfluence validate X | head`: the reader left; say nothing more
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print("interrupted: nothing was written to the output folder", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
