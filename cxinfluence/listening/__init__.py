"""Who the listening reaches: coverage of each account's influence, account-manager books,
the listening plan and turnover what-ifs."""

from .._api import lazy_exports

_EXPORTS = {
    "coverage": ".coverage", "coverage_and_plan": ".coverage", "manager_books": ".books", "listening_plan": ".plan",
    "TurnoverWhatIf": ".turnover", "turnover_what_if": ".turnover", "DUNBAR_NUMBER": ".books",
    "heard_table": "village.heard",
}

lazy_exports(__name__, _EXPORTS)
