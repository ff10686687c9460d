"""Every exception and warning cxinfluence raises, in one place.

Users can catch or filter the whole family::

    import warnings
    from cxinfluence.exceptions import CxInfluenceWarning
    warnings.simplefilter("ignore", CxInfluenceWarning)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem found in a village, located as the user sees it.

    Attributes
    ----------
    table : str
        Table name (``accounts``, ``stakeholders``, ...).
    file : str
        File (or ``workbook.xlsx[sheet]``) the table was read from.
    row : int or None
        Row number as the user sees it in the file: for CSV the line number
        (header is line 1, so the first data row is 2); for xlsx the sheet row.
        ``None`` when the problem concerns the whole table or column.
    column : str or None
        Column concerned, ``None`` for whole-row or whole-file problems.
    message : str
        What is wrong and what was expected.
    severity : {"error", "warning"}
    """

    table: str
    file: str
    row: int | None
    column: str | None
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column '{self.column}'"
        return f"{where}: {self.message}"


class CxInfluenceError(Exception):
    """Base class of every cxinfluence error."""


class VillageError(CxInfluenceError, ValueError):
    """A village failed validation. ``problems`` lists every problem found."""

    def __init__(self, problems, source=None):
        self.problems = list(problems)
        self.source = source
        head = f"{len(self.problems)} problem(s) in village"
        if source is not None:
            head += f" {source}"
        lines = [head + ":"] + [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class OutputPathError(CxInfluenceError, ValueError):
    """The output folder asked for cannot be used safely: it is (or holds, or
    lies inside) the input, it is a file, or it is a non-empty folder that is
    not an earlier output (it is replaced as a whole)."""


class OutputError(CxInfluenceError, OSError):
    """Writing an output failed because of the machine: disk full, read-only
    file system, permission denied, ... ``str()`` is one line naming the path
    and the cause (``[ENOSPC]``, ``[EROFS]``, ...) and whether the previous
    output was left as it was; ``errno`` and ``path`` are set. The CLI exits 3."""

    def __init__(self, message, errno_=None, path=None):
        super().__init__(message)
        self.errno = errno_
        self.message = message
        self.path = path

    def __str__(self):
        return self.message


class GraphError(CxInfluenceError, ValueError):
    """A graph cannot support the requested measure (e.g. it is empty)."""


class ModelError(CxInfluenceError, ValueError):
    """A model cannot be fitted at all (e.g. no rows, unknown column)."""


class CxInfluenceWarning(UserWarning):
    """Base class of every cxinfluence warning; filter this to silence all."""


class VillageWarning(CxInfluenceWarning):
    """Suspicious but valid data (an account with no stakeholders, ...)."""


class DegenerateFitWarning(CxInfluenceWarning):
    """A model estimate is unreliable: separation, too few events, collinearity,
    a constant predictor, ... The result also records the reason."""


class UnclassifiedTitleWarning(CxInfluenceWarning):
    """Some job titles matched no rule in the role table."""


class RoleRuleError(CxInfluenceError, ValueError):
    """A title -> role rule table is malformed (bad pattern, unknown role, ...)."""


class ConvergenceError(CxInfluenceError, ValueError):
    """An iterative computation (e.g. PageRank power iteration) did not converge
    within ``max_iter``; the message names the accounts concerned."""


class MetricError(CxInfluenceError, ValueError):
    """A metric, sentiment scheme or breakdown was asked for something the
    data or options cannot give (unknown metric, missing column, bad option)."""


class PriorError(CxInfluenceError, ValueError):
    """A portfolio prior (:class:`cxinfluence.sentiment.prior.PortfolioPrior`) cannot be read, or
    does not fit the call: computed with other options, missing an as-of date or a segment."""


class CommentError(VillageError):
    """Informal comments failed validation (a filled capture template, or rows
    to append to a village). ``problems`` lists every problem found."""

    def __init__(self, problems, source=None):
        super().__init__(problems, source)
        head = f"{len(self.problems)} problem(s) in comments" + (f" {source}" if source is not None else "")
        self.args = ("\n".join([head + ":"] + [f"  - {p}" for p in self.problems]),)


class TeamWorkbookError(VillageError):
    """The account team's workbook (``cxinfluence.importers.team``) cannot be read:
    ``problems`` lists every problem, located by sheet, row and column."""

    def __init__(self, problems, source=None):
        super().__init__(problems, source)
        head = f"{len(self.problems)} problem(s) in the account team's workbook" + (f" {source}" if source is not None else "")
        self.args = ("\n".join([head + ":"] + [f"  - {p}" for p in self.problems]),)


class PlotDataError(CxInfluenceError, ValueError):
    """The data given to a figure or map cannot be drawn: a missing column, or
    values off the expected scale (e.g. sentiment outside [-1, 1])."""


class CoverageError(CxInfluenceError, ValueError):
    """Coverage, an account-manager book, a listening plan or a turnover
    what-if was asked for something the village or the options cannot give
    (unknown stakeholder to remove, influence table missing people, bad option)."""


class ParameterError(CxInfluenceError, ValueError):
    """An argument shared by every stage (``as_of``, ``window_days``, ``lead_days``,
    ``half_life_days``) is invalid, or a precomputed table was made with other options."""


class DegenerateFitError(ModelError):
    """The data cannot support the model at all (e.g. bookings that are zero
    or equal in every row): raised before the fitting library is called, so
    the message says what is wrong with the data instead of a numerical crash."""


class AnonymizeKeyError(CxInfluenceError, ValueError):
    """The anonymisation key is missing, too short, unreadable or kept inside the output folder."""


class AnonymizeKeyWarning(CxInfluenceWarning):
    """The anonymisation key file can be read by other users."""


class MappingError(CxInfluenceError, ValueError):
    """An import mapping file (TOML/YAML) is malformed: ``problems`` lists each
    one with the file and the key concerned (``roles.BLOCKER``)."""

    def __init__(self, problems, source=None):
        self.problems = list(problems)
        self.source = source
        head = f"{len(self.problems)} problem(s) in mapping file" + (f" {source}" if source is not None else "")
        super().__init__("\n".join([head + ":"] + [f"  - {p}" for p in self.problems]))


class ImportDataError(VillageError):
    """Exports given to ``cxinfluence import`` cannot make a valid village: ``problems``
    lists every problem, located by the export file, row and column."""

    def __init__(self, problems, source=None):
        super().__init__(problems, source)
        head = f"{len(self.problems)} problem(s) importing" + (f" {source}" if source is not None else "")
        self.args = ("\n".join([head + ":"] + [f"  - {p}" for p in self.problems]),)


class PartitionError(CxInfluenceError, ValueError):
    """A partitioned village cannot be written or read as asked: a bad number of
    partitions, a partition that does not exist, a folder that is not partitioned,
    or a manifest that does not match the files."""


class PartitionFailedError(CxInfluenceError, RuntimeError):
    """A partition of a partitioned run still failed after the engine's retries.

    ``partition`` is its number, ``accounts`` the ``(first, last, count)`` of its
    account ids (sorted as text) and ``stage`` the step that failed."""

    def __init__(self, message, *, partition=None, accounts=None, stage=None):
        super().__init__(message)
        self.partition = partition
        self.accounts = accounts
        self.stage = stage


class EngineError(CxInfluenceError, ValueError):
    """The engine asked for cannot be used: an unknown name, Dask not installed, a scheduler that cannot be reached."""
