"""The ``cxinfluence`` command line's arguments: one function per command (:func:`build_parser`).

Kept apart from :mod:`cxinfluence.pipeline.cli`, which runs the commands, so each stays short.
"""

from __future__ import annotations

import argparse

from .. import __version__

#: the first line of the ``cxinfluence --help`` text
DESCRIPTION = "The ``cxinfluence`` command line."

EPILOG = (
    "Exit codes: 0 ok, 1 invalid data or options, 2 usage, 5 disk full/read-only/permission denied, "
    "130 interrupted, 143 terminated. Docs: README.md and data/README.md (the data contract)."
)
RUN_EPILOG = (
    "Exit codes: 0 every output written; 3 written, but stages the data cannot support were skipped "
    "(each with a one-line reason, also in warnings.csv and the report); 4 written, but a stage failed "
    "unexpectedly (named the same way); 1 invalid input, nothing written; 2 usage error; 5 disk full, "
    "read-only or permission denied (previous output intact); 130 interrupted; 143 terminated. "
    "Docs: README.md and data/README.md (the data contract)."
)


def _version():
    return f"cxinfluence {__version__}"


_IMPORT_HELP = {
    "salesforce": (
        "folder of Salesforce exports (Account.csv, Contact.csv, AccountContactRole.csv, "
        "OpportunityContactRole.csv, Opportunity.csv)"
    ),
    "hubspot": "folder of HubSpot exports (companies, contacts, associations, deals, feedback submissions)",
    "gainsight": "folder of Gainsight exports (Company, Person/Company Person, People Maps, survey answers)",
    "qualtrics": "Qualtrics response export (CSV, three header rows)",
    "surveymonkey": "SurveyMonkey response export (CSV, two header rows)",
    "customergauge": "CustomerGauge NPS export (CSV)",
    "generic": "any survey CSV, wide or long, described in the mapping file's [generic] section",
    "team": "filled account-team workbook (cxinfluence team-template)",
}


def add_run_options(p):
    """Options shared by ``run`` and ``demo``."""
    _output_options(p)
    _window_options(p)
    _analysis_options(p)
    _privacy_options(p)
    _partition_options(p)


def _output_options(p):
    """Run options: where the outputs go."""
    p.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="folder for the outputs (created; existing outputs are replaced only once the run succeeds)",
    )


def _window_options(p):
    """Run options: the as-of date and the look-back window."""
    p.add_argument(
        "--as-of",
        metavar="DATE",
        default=None,
        help=("as-of date of the snapshot (default: the day after the latest response not dated in the future)"),
    )
    p.add_argument(
        "--window-days", type=int, default=365, metavar="N", help="look-back window for feedback, in days (default 365)"
    )
    p.add_argument(
        "--lead-days",
        type=int,
        default=0,
        metavar="N",
        help="gap between the last feedback used and an outcome's period end, in days (default 0)",
    )
    p.add_argument(
        "--half-life-days",
        type=float,
        default=None,
        metavar="N",
        help=("optional recency decay of feedback weights (half-life in days; default none)"),
    )


def _analysis_options(p):
    """Run options: what is modelled and mapped, and how the report reads."""
    p.add_argument(
        "--schemes",
        default=None,
        metavar="A,B",
        help="comma-separated sentiment schemes to model and compare (default: all)",
    )
    p.add_argument(
        "--maps",
        type=int,
        default=25,
        metavar="N",
        help=("write network maps for the N accounts with most revenue at risk (default 25; 0 for none; -1 for all)"),
    )
    p.add_argument(
        "--map-accounts",
        default=None,
        metavar="ID,ID",
        help="write maps for exactly these account ids (overrides --maps)",
    )


def _privacy_options(p):
    """Run options: anonymisation."""
    p.add_argument(
        "--anonymize",
        action="store_true",
        help=(
            "replace names with keyed pseudonyms and remove names, "
            "e-mail addresses and phone numbers from every "
            "free-text field of every output (README: what it "
            "guarantees)"
        ),
    )
    p.add_argument(
        "--anonymize-key",
        default=None,
        metavar="FILE",
        help=(
            "secret key file for the pseudonyms "
            "(created if missing; implies "
            "--anonymize); default: "
            "~/.config/cxinfluence/anonymize.key, "
            "created on first use"
        ),
    )
    p.add_argument(
        "--role-rules", default=None, metavar="CSV", help="extra title->role rules (columns: pattern, role, department)"
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="random seed for cross-validation folds, bootstrap and map layout (default 0)",
    )
    p.add_argument(
        "--currency",
        default=None,
        metavar="CUR",
        help="currency of revenue in the report, a symbol or code such as $, EUR (default: none shown)",
    )
    p.add_argument(
        "--compare-to",
        default=None,
        metavar="DATE",
        help=(
            "also report what changed between DATE and "
            "the as-of date: who joined or left, "
            "influence and sentiment shifts, veto holders "
            "who went quiet, accounts whose risk changed "
            "(what_changed.csv; default: no comparison)"
        ),
    )
    p.add_argument(
        "--prior",
        default=None,
        metavar="FILE",
        help=(
            "score sentiment against this portfolio prior (the portfolio_prior.json of a whole-portfolio run), so "
            "a subset's scores equal its rows of that run; --as-of defaults to that run's (default: the prior of "
            "the accounts loaded)"
        ),
    )


def _partition_options(p):
    """Run options: partitions, engine, progress."""
    p.add_argument("--partitions", type=int, default=1, metavar="K",
                   help="split the accounts into K partitions (a hash of account_id) and compute the per-account "
                        "stages one partition at a time; the outputs are the same for every K (default 1). A "
                        "partitioned folder (cxinfluence partition) is read one partition at a time in its own K")
    p.add_argument("--engine", default="local", choices=["local", "dask"],
                   help="run the partitions in this process (local, default) or as Dask tasks (dask: "
                        "pip install 'cxinfluence[dask]'; a LocalCluster unless --scheduler is given)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="with --engine dask: the address of a running Dask scheduler (tcp://host:8786)")
    p.add_argument("-q", "--quiet", action="store_true", help="do not print progress")


def build_parser() -> argparse.ArgumentParser:
    """The ``cxinfluence`` argument parser: one function per command below."""
    parser = argparse.ArgumentParser(prog="cxinfluence", description=DESCRIPTION, epilog=EPILOG)
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    _validate_command(sub)
    _synth_command(sub)
    _partition_command(sub)
    _run_command(sub)
    _import_command(sub)
    _team_template_command(sub)
    _demo_command(sub)
    return parser


def _validate_command(sub):
    """The ``validate`` command's arguments."""
    p = sub.add_parser(
        "validate",
        help="check a village and list every problem",
        description=(
            "Check a village (folder of CSV/Parquet "
            "files or one .xlsx workbook) and list "
            "every problem found. Exit 0 when valid, "
            "1 when not."
        ),
        epilog=EPILOG,
    )
    p.add_argument("village", metavar="VILLAGE", help="folder of CSV/Parquet files, or an .xlsx workbook")
    p.add_argument(
        "--role-rules", default=None, metavar="CSV", help="extra title->role rules (columns: pattern, role, department)"
    )


def _synth_command(sub):
    """The ``synth`` command's arguments."""
    p = sub.add_parser(
        "synth",
        help="write a synthetic village with a known truth",
        description=("Write a synthetic village and its ground truth (in DIR/truth/)."),
        epilog=EPILOG,
    )
    p.add_argument("--accounts", type=int, default=300, metavar="N", help="number of accounts (default 300)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--world",
        default="influence",
        choices=["influence", "mean", "roles"],
        help="ground-truth world: who drives rebuying (default influence)",
    )
    p.add_argument("--waves-per-year", type=int, default=None, metavar="N",
                   help="survey waves per year (default: the world's, 2); the benchmark village of the README is "
                        "--accounts 100000 --seed 1 --waves-per-year 3")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write")
    p.add_argument("--format", default=None, choices=["csv", "parquet", "xlsx"],
                   help="file format (default csv; parquet with --partitions)")
    p.add_argument("--partitions", type=int, default=None, metavar="K",
                   help="write K partitions of Parquet files (cxinfluence partition's layout), generated in chunks "
                        "of --chunk-accounts accounts in bounded memory (for villages larger than memory)")
    p.add_argument("--chunk-accounts", type=int, default=None, metavar="N",
                   help="with --partitions: accounts generated at a time (default 20000); a village larger than one "
                        "chunk is made of independent chunks with prefixed ids and no truth/")
    p.add_argument("--force", action="store_true", help="replace DIR if it exists")


def _partition_command(sub):
    """The ``partition`` command's arguments."""
    p = sub.add_parser(
        "partition",
        help="write a village as K partitions of Parquet files (by a hash of account_id)",
        description=("Read and validate a village, then write it to OUT as K partitions of Parquet files: every "
                     "table split by the account its rows belong to (a SHA-256 hash of account_id), with a "
                     "manifest (partitions.json). `cxinfluence run OUT --partitions K` reads it one partition "
                     "at a time."),
        epilog=EPILOG,
    )
    p.add_argument("village", metavar="VILLAGE", help="folder of CSV/Parquet files, or an .xlsx workbook")
    p.add_argument("out", metavar="OUT", help="folder to write the partitioned village to")
    p.add_argument("--partitions", type=int, required=True, metavar="K", help="number of partitions")
    p.add_argument("--role-rules", default=None, metavar="CSV", help="extra title->role rules")
    p.add_argument("--force", action="store_true", help="replace OUT if it holds a partitioned village")


def _run_command(sub):
    """The ``run`` command's arguments."""
    p = sub.add_parser(
        "run",
        help="run the whole analysis on a village",
        description=(
            "Validate a village, then write "
            "influence.csv, coverage.csv, "
            "account_sentiment.csv, models.csv, "
            "report.html and networks/ to DIR."
        ),
        epilog=RUN_EPILOG,
    )
    p.add_argument("village", metavar="VILLAGE", help="folder of CSV/Parquet files, or an .xlsx workbook")
    add_run_options(p)


def _import_command(sub):
    """The ``import`` command's arguments."""
    p = sub.add_parser(
        "import",
        help="build a village from CRM and survey exports",
        description=(
            "Build a village from exports of the "
            "tools you use (Salesforce, HubSpot, "
            "Gainsight, Qualtrics, SurveyMonkey, "
            "CustomerGauge, a generic CSV) and write "
            "it with import_report.md and "
            "import_log.csv. Each source flag can be "
            "repeated. Exit 0 when the village was "
            "written, 1 when the exports cannot make "
            "a valid village (every problem is listed "
            "with its file and row), 2 for bad "
            "command-line usage, 130 when "
            "interrupted; nothing is written unless "
            "the import succeeds."
        ),
        epilog=EPILOG,
    )
    for flag, what in (
        ("salesforce", "DIR"),
        ("hubspot", "DIR"),
        ("gainsight", "DIR"),
        ("qualtrics", "FILE"),
        ("surveymonkey", "FILE"),
        ("customergauge", "FILE"),
        ("generic", "FILE"),
        ("team", "FILE"),
    ):
        p.add_argument(f"--{flag}", action="append", default=[], metavar=what, help=_IMPORT_HELP[flag])
    p.add_argument(
        "--map",
        default=None,
        metavar="MAPPING",
        help=(
            "mapping file (.toml or .yaml): roles picklist, "
            "join keys, date formats, renewal types, survey "
            "columns (see data/exports/mapping_example.toml)"
        ),
    )
    p.add_argument(
        "--role-rules", default=None, metavar="CSV", help="extra title->role rules (columns: pattern, role, department)"
    )
    p.add_argument("--out", required=True, metavar="VILLAGE", help="folder to write the village to")
    p.add_argument("--force", action="store_true", help="replace VILLAGE if it exists")


def _team_template_command(sub):
    """The ``team-template`` command's arguments."""
    p = sub.add_parser(
        "team-template",
        help="write the account-team workbook for a village",
        description=(
            "Write an .xlsx workbook in which an "
            "account team records influence ties, "
            "veto power, influence ratings and "
            "departures for the people of a village; "
            "merge it back with `cxinfluence import "
            "... --team FILE`."
        ),
        epilog=EPILOG,
    )
    p.add_argument("village", metavar="VILLAGE", help="folder of CSV/Parquet files, or an .xlsx workbook")
    p.add_argument("--out", required=True, metavar="FILE.xlsx", help="workbook to write")


def _demo_command(sub):
    """The ``demo`` command's arguments."""
    p = sub.add_parser(
        "demo",
        help="run the whole analysis on the bundled sample village",
        description=("Run the whole analysis on the bundled sample village (data/sample_village)."),
        epilog=RUN_EPILOG,
    )
    add_run_options(p)
