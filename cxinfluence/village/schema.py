"""The data contract of a village: tables, columns, types and allowed values.

This module is the single source of truth used by validation
(:mod:`cxinfluence.village.core`), the synthetic generator and the data dictionary
(``data/README.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

ROLES = ("decider", "buyer", "user", "influencer", "gatekeeper")
RELATIONSHIP_KINDS = ("reports_to", "influences")
CHANNELS = ("survey", "informal", "interview")
JOURNEY_STAGES = ("awareness", "consideration", "decision", "retention", "advocacy", "renewal")

#: Score columns of ``responses``: (low, high). All are integers on their scale.
SCORE_RANGES = {
    "nps": (0, 10),
    "csat": (1, 5),
    "ces": (1, 5),
    "neteasy": (1, 7),
    "trust": (1, 5),
    "cared_for": (1, 5),
}

#: Roles that can kill a decision when ``veto`` is blank (Webster & Wind 1972:
#: deciders sign; gatekeepers for IT, safety, quality... can block).
VETO_BY_ROLE = {"decider": True, "gatekeeper": True, "buyer": False, "user": False, "influencer": False}

#: How much each role counts, relative to a user: the one table used both as the role prior of
#: influence (:func:`cxinfluence.network.influence.influence_weights`) and as the weights of the
#: ``role_weighted`` and ``nested`` sentiment schemes (Webster & Wind 1972: deciders sign;
#: gatekeepers can block; buyers run the process; influencers and users shape it). A documented
#: judgement, not an estimate: pass ``role_weights=`` (e.g. from the decision equation) to change it.
ROLE_WEIGHTS = {"decider": 3.0, "gatekeeper": 2.5, "buyer": 2.0, "influencer": 1.5, "user": 1.0}
#: Weight of a stakeholder whose role is blank or not listed in ``role_weights``.
UNKNOWN_ROLE_WEIGHT = 1.0


@dataclass(frozen=True)
class Column:
    """One column of the contract.

    kind is one of ``id``, ``str``, ``date``, ``bool``, ``int``, ``float``,
    ``category``. ``low``/``high`` bound numbers (inclusive); ``low_open`` makes
    the lower bound strict (``weight > 0``). ``values`` lists allowed categories.
    """

    name: str
    kind: str
    required: bool = False
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    integer: bool = False
    values: tuple[str, ...] | None = None
    description: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    description: str = ""
    unique_key: bool = True

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        return {c.name: c for c in self.columns}[name]


def _score(name, desc):
    lo, hi = SCORE_RANGES[name]
    return Column(name, "float", low=lo, high=hi, integer=True, description=desc)


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "accounts",
            key=("account_id",),
            description="One row per customer account.",
            columns=(
                Column("account_id", "id", required=True, description="Unique account id."),
                Column("name", "str", description="Account (company) name."),
                Column("segment", "str", description="Market segment."),
                Column("region", "str", description="Sales region."),
                Column("owner", "str", description="Account manager who owns the relationship."),
                Column("annual_revenue", "float", low=0, description="Annual revenue from the account, >= 0."),
            ),
        ),
        Table(
            "stakeholders",
            key=("stakeholder_id",),
            description="One row per person in a customer account (the village).",
            columns=(
                Column("stakeholder_id", "id", required=True, description="Unique person id."),
                Column("account_id", "id", required=True, description="Account the person belongs to."),
                Column("name", "str", description="Person's name (customer-supplied text)."),
                Column("title", "str", description="Job title; used to infer role and department when blank."),
                Column("department", "str", description="Function: operations, procurement, it, safety, quality, facilities, finance, engineering, ..."),
                Column("role", "category", values=ROLES, description="Buying-center role (Webster & Wind 1972)."),
                Column("veto", "bool", description="Can kill the buying decision; blank defaults by role (deciders and gatekeepers)."),
                Column("influence_rating", "float", low=1, high=5, description="Account team's view of the person's influence, 1-5."),
                Column("active_from", "date", description="Date the person joined the buying center."),
                Column("active_to", "date", description="Date the person left; blank = still there."),
            ),
        ),
        Table(
            "relationships",
            key=("source_id", "target_id", "kind"),
            description="Directed ties inside one account.",
            columns=(
                Column("source_id", "id", required=True, description="Stakeholder the tie starts from."),
                Column("target_id", "id", required=True, description="Stakeholder the tie points to (the manager, or the person influenced)."),
                Column("kind", "category", required=True, values=RELATIONSHIP_KINDS,
                       description="reports_to: target is the source's manager; "
                                   "influences: the source's view carries weight with the target."),
                Column("weight", "float", low=0, low_open=True, description="Tie strength, > 0, default 1."),
            ),
        ),
        Table(
            "responses",
            key=(),
            unique_key=False,
            description="One row per piece of feedback from a stakeholder.",
            columns=(
                Column("response_id", "id", description="Optional id of the response."),
                Column("stakeholder_id", "id", required=True, description="Who gave the feedback."),
                Column("date", "date", required=True, description="When it was given."),
                _score("nps", "Likelihood to recommend, 0-10 (9-10 promoter, 0-6 detractor)."),
                _score("csat", "Satisfaction, 1-5 (4-5 satisfied)."),
                _score("ces", "Customer effort, 1-5, 1 = very low effort (good)."),
                _score("neteasy", "Ease, 1-7, 1 = extremely easy (good)."),
                _score("trust", "Trust in the supplier, 1-5."),
                _score("cared_for", "Feels cared for, 1-5."),
                Column("channel", "category", values=CHANNELS, description="survey, informal or interview."),
                Column("journey_stage", "category", values=JOURNEY_STAGES, description="Customer journey stage."),
                Column("touchpoint", "str", description="Touchpoint (delivery, support, billing, ...)."),
                Column("comment", "str", description="Free text (customer-supplied)."),
            ),
        ),
        Table(
            "outcomes",
            key=("account_id", "period_end"),
            description="One row per account and period: did the account rebuy, and how much.",
            columns=(
                Column("account_id", "id", required=True, description="Account."),
                Column("period_end", "date", required=True, description="End of the outcome period."),
                Column("renewed", "float", required=True, low=0, high=1, integer=True, description="1 if the account rebought in the period, else 0."),
                Column("bookings", "float", low=0, description="Bookings in the period, >= 0."),
            ),
        ),
    )
}

TABLE_ORDER = tuple(TABLES)

#: Columns added while loading (not part of the files): where each stakeholder's
#: role and veto came from. Never written back by :func:`cxinfluence.village.io.write_village`.
DERIVED_COLUMNS = {"stakeholders": ("role_source", "veto_source")}
