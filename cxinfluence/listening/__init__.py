"""Who the listening reaches: coverage of each account's influence, account-manager books, the listening plan and turnover what-ifs."""

from .._api import lazy_exports

_EXPORTS = {
    "coverage": ".coverage", "manager_books": ".coverage", "listening_plan": ".coverage",
    "TurnoverWhatIf": ".coverage", "turnover_what_if": ".coverage", "DUNBAR_NUMBER": ".coverage",
}

lazy_exports(__name__, _EXPORTS)
