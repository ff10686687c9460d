"""The staging shape every importer returns, before sources are combined into a village.

Each reader (one per vendor export) returns a :class:`Staged`: the tables it could read, in
village column names but with the source system's own ids, plus what it assumed and dropped.
:mod:`cxinfluence.village.importers` combines several ``Staged`` into one village (people joined across
sources by id, survey answers joined to people by contact id then e-mail).
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: the columns each staged table may carry; every column is optional except those in KEYS
COLUMNS = {
    "accounts": ["account_id", "name", "segment", "region", "owner", "annual_revenue"],
    "people": ["stakeholder_id", "account_id", "name", "email", "title", "department", "role",
               "veto", "influence_rating", "active_from", "active_to", "manager_id"],
    "ties": ["source_id", "target_id", "kind", "weight"],
    "answers": ["response_id", "contact_id", "email", "date", "nps", "csat", "ces", "neteasy",
                "trust", "cared_for", "channel", "journey_stage", "touchpoint", "comment",
                "source_row"],
    "outcomes": ["account_id", "period_end", "renewed", "bookings"],
}

#: columns a staged table must have when it is present
KEYS = {
    "accounts": ["account_id"],
    "people": ["stakeholder_id"],
    "ties": ["source_id", "target_id", "kind"],
    "answers": ["date"],
    "outcomes": ["account_id", "period_end"],
}


@dataclass
class Staged:
    """What one reader got out of one export.

    ``tables`` maps a name of :data:`COLUMNS` to a DataFrame with (a subset of) those columns,
    extra columns allowed. ``answers`` carry ``contact_id`` (the CRM contact id the survey carried,
    e.g. Qualtrics ``ExternalReference``) and/or ``email``; they are joined to ``people`` later.
    ``rows_read`` counts data rows per file read; ``notes`` lists every assumption made and
    everything that could not be mapped; ``dropped`` has one dict per row left out, with keys
    ``file``, ``row`` (1-based data row as a spreadsheet shows it), ``reason``.
    """

    source: str
    path: str
    tables: dict = field(default_factory=dict)
    rows_read: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    dropped: list = field(default_factory=list)
