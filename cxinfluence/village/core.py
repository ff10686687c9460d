"""The :class:`Village`: the five tables of the data contract, typed.

Dtypes once a village is built: ids are strings; dates are ``datetime64[ns]``
(naive); ``veto`` is ``bool`` (blank filled by role); scores and numbers are
``float64`` with NaN for blank; ``role``, ``department`` and categorical
columns are strings (NaN for blank). Unknown extra columns are kept.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import pandas as pd

from ..exceptions import VillageError
from .ids import mark_unique, prime
from .schema import TABLES
from .validate import _check_village


@dataclass
class Village:
    """A buying-center village: five typed pandas DataFrames.

    Build one with :func:`cxinfluence.load_village` (from files, validated) or
    :func:`cxinfluence.make_village` (synthetic). ``problems`` holds the
    warnings found while loading (errors raise :class:`VillageError`).
    """

    accounts: pd.DataFrame
    stakeholders: pd.DataFrame
    relationships: pd.DataFrame
    responses: pd.DataFrame
    outcomes: pd.DataFrame
    source: str | None = None
    problems: list = field(default_factory=list)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The five tables by name, in contract order."""
        return {name: getattr(self, name) for name in TABLES}

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={len(v)}" for k, v in self.tables().items())
        return f"Village({sizes}, source={self.source!r})"


def read_folder(path, *, role_rules=None, warn=True) -> Village:
    """Read and validate one folder of table files (or one workbook) into a :class:`Village`.

    The reader behind :func:`cxinfluence.load_village`, which also reads
    partitioned villages (each partition folder is read with this); see it for
    the parameters, what is returned and what is raised.
    """
    matched = {}
    tables, problems, categories = _check_village(path, role_rules=role_rules, matched=matched)
    if tables is None:
        raise VillageError([p for p in problems if p.severity == "error"], source=str(path))
    if warn:
        for p in problems:  # unclassified titles keep their own UnclassifiedTitleWarning class
            warnings.warn(str(p), categories[p], stacklevel=3)  # the caller of load_village
    village = Village(**tables, source=str(path), problems=problems)
    prime(village, matched)  # validation matched every id already: later stages reuse it
    mark_unique(village)  # and found no stakeholder id twice
    return village


def __getattr__(name):
    # old import path: load_village lived here before partitioned villages (it now
    # dispatches to them, so it sits above both in village/load.py)
    if name == "load_village":
        from .load import load_village  # lazy: load.py imports this module

        return load_village
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
