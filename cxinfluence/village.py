"""The :class:`Village`: the five tables of the data contract, typed.

Dtypes once a village is built: ids are strings; dates are ``datetime64[ns]``
(naive); ``veto`` is ``bool`` (blank filled by role); scores and numbers are
``float64`` with NaN for blank; ``role``, ``department`` and categorical
columns are strings (NaN for blank). Unknown extra columns are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .schema import TABLES


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
