"""Synthetic villages with a known truth.

:func:`make_village` builds a realistic B2B customer base (accounts, buying
centers, org charts and informal ties, several years of feedback, turnover and
yearly outcomes) from a documented ground-truth model, and returns the truth
(:class:`Truth`) beside the :class:`~cxinfluence.village.core.Village`, so tests and
researchers can check that an analysis recovers it. Everything is vectorised
numpy: 100k accounts (about 2.2 million stakeholders, 4.3 million ties and 7.7
million responses) take about 20 s of CPU and 3.5 GB of memory
(``benchmarks/bench_synth.py``).

The committed sample village is regenerated with::

    cxinfluence synth --accounts 300 --seed 20261122 --out data/sample_village --force

The generative model
--------------------
Notation: account ``a``, position ``p`` (a seat in the buying center), person
``i`` (the occupant of a seat for a while), quarter ``q`` (quarters counted
from ``start``), year ``k = 1..years`` with ``period_end`` ``T_k = start + k
years - 1 day``.

1. **Accounts.** ``annual_revenue ~ LogNormal(log(revenue_median),
   revenue_sigma)`` (rounded to 10, at least 10); with ``revenue_sigma=1.7`` the top 20% of accounts hold
   about 80% of revenue (for a lognormal the top-``p`` share is
   ``1 - Phi(Phi^-1(1 - p) - sigma)``). ``size_z = (log revenue -
   log(revenue_median)) / revenue_sigma`` is the standardised size used below.
   Segments and regions are drawn from fixed shares; each region has
   ``ceil(n_region / accounts_per_manager)`` account managers whose books are
   uneven (lognormal weights).
2. **Buying centers.** ``n_positions = clip(round(exp(log(center_median) +
   center_size_slope * size_z + N(0, center_sigma))), 3, 40)``: right-skewed
   and larger for larger accounts. Seat 0 is the top decider (Plant Manager,
   Site Director, General Manager, ...); seats 1-4 are a buyer, a user, an
   influencer and a gatekeeper; further seats are drawn from the title catalog
   (:data:`TITLE_CATALOG`, users most common). Each seat has a true
   **power** ``role_power[role] * level_power[level] * LogNormal(0,
   power_sigma)`` and a true **veto** (Bernoulli with ``veto_prob[role]``; the
   top decider always has ``top_veto_prob``).
3. **True influence** of a person is the power of their seat divided by the
   account's total power. Every seat has exactly one occupant at any date
   (a leaver is replaced the same day), so ``true_influence`` sums to 1 over the
   people active at any date, for every account.
4. **Org chart.** Within an account and department, seats are ordered by level;
   a seat reports to a random seat of the next higher level present in its
   department; the highest seats of a department report to the top decider
   (acyclic by construction). **Informal ties** ``source influences target``:
   ``round(influence_ties_per_person * n_positions)`` ties per account, source
   drawn with probability proportional to ``power ** source_power_exponent``,
   target proportional to ``power ** target_power_exponent`` (no self-ties,
   duplicates dropped), so the graph carries signal about true influence.
   Replacements inherit their seat's ties: a seat-level tie becomes a
   stakeholder-level tie between every two occupants whose tenures overlap.
5. **Turnover.** Each occupant leaves after an exponential time with annual
   hazard ``turnover_rate`` and is replaced by a new person in the same seat
   (same role, title, department, manager and ties).
6. **Latent sentiment** of person ``i`` in quarter ``q`` is
   ``s_iq = tanh(m_a + role_shift[role] + A_aq + u_iq)`` in ``(-1, 1)``,
   the common scale of :mod:`cxinfluence.village.scale`: ``m_a ~ N(sentiment_mean,
   account_sd)``; ``A_aq`` an account-level AR(1) shock (coefficient
   ``account_ar``, innovation sd ``account_shock_sd``, starting at 0); ``u_iq``
   a person-level AR(1) (coefficient ``person_ar``, stationary sd
   ``person_sd``), started at ``N(0, person_sd)`` for the first occupants and
   at ``N(newcomer_shift, person_sd)`` in the quarter a replacement joins.
7. **Outcomes.** For each account and ``T_k``, take the people active at
   ``T_k``; person ``i``'s year sentiment ``x_i`` is the mean of ``s_iq`` over
   the quarters of year ``k`` during their tenure. The world's account
   sentiment ``S`` is

   * ``influence``: ``S = sum_i true_influence_i * x_i``;
   * ``mean``: ``S = mean_i x_i``;
   * ``roles``: ``S = sum_r rho_r * S_r`` with ``S_r`` the mean ``x_i`` of role
     ``r`` and ``rho_r = role_effects[r] / sum of role_effects over the roles
     present`` (so with all roles present the logit coefficient of ``S_r`` is
     ``sentiment_effect * rho_r``).

   ``V = 1`` if some true veto holder active at ``T_k`` has ``x_i <
   veto_threshold``. Then

   * ``logit P(renewed = 1) = intercept + sentiment_effect * S + veto_effect * V
     + size_effect * size_z``;
   * ``bookings = 0`` if not renewed, else ``annual_revenue * exp(
     bookings_intercept + bookings_sentiment * S + N(0, bookings_sigma))``, so
     ``E[bookings | renewed] = annual_revenue * exp(bookings_intercept +
     bookings_sentiment * S + bookings_sigma**2 / 2)``.

   Periods are independent draws given ``S`` (a year without rebuying does not
   end the account). Worlds: ``influence`` (``veto_effect=-1.5``,
   ``intercept=0``), ``mean`` and ``roles`` (``veto_effect=0``: influence and
   veto power do not matter; ``intercept=-0.4``). About 80% of account-years
   renew in every world.
8. **Feedback.** Survey waves (``waves_per_year``, opening ``(w + 0.25) *
   365.25 / waves_per_year`` days after ``start``) invite every active person;
   each answers with probability ``min(survey_rate[role] * propensity_i, 0.95)``
   (``propensity_i = 2 * Beta(2, 2)``, mean 1), within 3 weeks. Informal
   comments and interviews arrive as Poisson processes over each tenure with
   yearly rates ``informal_rate[role]`` and ``interview_rate[role]``. Each item
   (NPS, CSAT, CES, NetEasy, trust, cared-for) is answered with a probability
   depending on the channel (``item_prob``). An answered item is
   ``y = s + d * (0.6 * Zc + 0.4 * Zj)`` with ``Zc`` (per response) and ``Zj``
   (per item) iid triangular on [-1, 1] (``U1 + U2 - 1``) and ``d = min(1 - |s|,
   response_noise)``, then stochastically rounded onto the item's grid of the
   common scale (CES and NetEasy reversed); a survey answer with no item
   drawn gets the NPS item. So every item, and
   :func:`cxinfluence.village.scale.response_sentiment` of every response, has
   expectation exactly ``s`` (the latent sentiment of the person in the quarter
   of the response): an unbiased noisy measure. Comments come from templates
   (``comment_prob`` by channel) whose theme depends on the role and whose tone
   follows the response's sentiment (positive from 0.45, negative below 0.05,
   mixed between; the latent sentiment plus noise when no item was answered);
   within 180 days after a key person (one of the two most powerful seats)
   leaves, half of colleagues' mixed or negative comments say so ("our champion
   left"). Touchpoint: the comment's theme (e.g. delivery, invoicing,
   technical support), else "relationship survey" or "business review".
   Journey stage: ``renewal`` in the 60 days before a ``period_end``
   (``decision`` for interviews of deciders and buyers), ``awareness`` /
   ``consideration`` in a replacement's first 90 / 180 days, ``advocacy`` for
   30% of positive promoters, else ``retention``; 5% blank.

What the village shows of the truth: ``role`` is blank for ``role_blank``
(30%) of people (inferred from the title when loading), ``veto`` blank for
``veto_blank`` (40%, defaulted by role), ``influence_rating`` is the account
team's noisy view (``round(1 + 4 * power percentile in the account +
N(0, rating_noise))`` clipped to 1-5), blank for ``rating_blank``.

References
----------
Webster, F. E. & Wind, Y. (1972). A general model for understanding
organizational buying behavior. *Journal of Marketing* 36(2), 12-19.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from .schema import ROLES, SCORE_RANGES, VETO_BY_ROLE
from .core import Village

WORLDS = ("influence", "mean", "roles")
THEMES = ("delivery", "quality", "billing", "support", "pricing", "safety", "documentation", "people")
ITEMS = ("nps", "csat", "ces", "neteasy", "trust", "cared_for")
_CHANNELS = ("survey", "informal", "interview")
_REVERSED = {"ces", "neteasy"}


def _ro(d):
    return MappingProxyType(dict(d))


def _rolemap(decider, buyer, user, influencer, gatekeeper):
    return _ro(dict(decider=decider, buyer=buyer, user=user, influencer=influencer, gatekeeper=gatekeeper))


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class TruthParams:
    """Every parameter of the generative model (see the module docstring).

    Build one for a named world with :meth:`for_world`, change fields with
    :func:`dataclasses.replace` (or keyword overrides to :func:`make_village`).

    Examples
    --------
    >>> p = TruthParams.for_world("mean")
    >>> p.world, p.veto_effect
    ('mean', 0.0)
    >>> round(p.role_coefficients()["decider"], 3)  # 4.0 * 0.35 / 1.0
    1.4
    """

    world: str = "influence"
    # renewal model
    intercept: float = 0.0
    sentiment_effect: float = 4.0
    veto_effect: float = -1.5
    veto_threshold: float = 0.0  # the scale midpoint: a clear detractor (expected NPS 5)
    size_effect: float = 0.3
    role_effects: MappingProxyType = field(default_factory=lambda: _rolemap(0.35, 0.2, 0.1, 0.15, 0.2))
    # bookings model
    bookings_intercept: float = -0.3
    bookings_sentiment: float = 0.8
    bookings_sigma: float = 0.35
    # accounts
    revenue_median: float = 150_000.0
    revenue_sigma: float = 1.7
    accounts_per_manager: int = 30
    # buying centers
    center_median: float = 12.0
    center_size_slope: float = 0.45
    center_sigma: float = 0.35
    role_power: MappingProxyType = field(default_factory=lambda: _rolemap(3.0, 1.5, 0.5, 1.2, 1.5))
    level_power: tuple = (2.0, 1.4, 1.0, 0.6)
    power_sigma: float = 0.6
    top_veto_prob: float = 0.95
    veto_prob: MappingProxyType = field(default_factory=lambda: _rolemap(0.5, 0.1, 0.02, 0.05, 0.6))
    influence_ties_per_person: float = 0.6
    source_power_exponent: float = 1.5
    target_power_exponent: float = 0.5
    turnover_rate: float = 0.15
    # latent sentiment (z scale, before tanh)
    sentiment_mean: float = 0.8
    account_sd: float = 0.2
    account_ar: float = 0.8
    account_shock_sd: float = 0.1
    person_sd: float = 0.6
    person_ar: float = 0.7
    role_shift: MappingProxyType = field(default_factory=lambda: _rolemap(0.05, -0.1, 0.05, 0.0, -0.1))
    newcomer_shift: float = -0.2
    # feedback
    waves_per_year: int = 2
    survey_rate: MappingProxyType = field(default_factory=lambda: _rolemap(0.25, 0.5, 0.4, 0.5, 0.45))
    informal_rate: MappingProxyType = field(default_factory=lambda: _rolemap(0.2, 0.5, 0.6, 0.4, 0.35))
    interview_rate: MappingProxyType = field(default_factory=lambda: _rolemap(0.3, 0.15, 0.02, 0.08, 0.08))
    item_prob: MappingProxyType = field(default_factory=lambda: _ro({
        "survey": (0.97, 0.92, 0.6, 0.45, 0.8, 0.8),
        "informal": (0.05, 0.35, 0.1, 0.05, 0.1, 0.1),
        "interview": (0.9, 0.7, 0.3, 0.2, 0.95, 0.95),
    }))
    comment_prob: MappingProxyType = field(default_factory=lambda: _ro({"survey": 0.35, "informal": 1.0, "interview": 0.9}))
    response_noise: float = 0.5
    # what the village shows of the truth
    role_blank: float = 0.3
    veto_blank: float = 0.4
    rating_blank: float = 0.25
    rating_noise: float = 0.7

    @classmethod
    def for_world(cls, name: str, **overrides) -> "TruthParams":
        """Parameters of a named world (``influence``, ``mean`` or ``roles``) plus overrides."""
        if name not in WORLDS:
            raise ValueError(f"truth={name!r} is not a known world; expected one of {list(WORLDS)} "
                             "or a TruthParams/Truth instance")
        # without the veto effect, a lower intercept keeps the renewal rate about the same (~80%)
        base = {"influence": {}, "mean": {"veto_effect": 0.0, "intercept": -0.4},
                "roles": {"veto_effect": 0.0, "intercept": -0.4}}[name]
        return cls(world=name, **{**base, **overrides})

    def role_coefficients(self) -> dict:
        """Logit coefficient of each role's sentiment in the ``roles`` world (all roles present)."""
        total = sum(self.role_effects.values())
        return {r: self.sentiment_effect * self.role_effects[r] / total for r in ROLES}

    def to_dict(self) -> dict:
        """JSON-ready dict (mappings as plain dicts, tuples as lists)."""
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, MappingProxyType):
                v = {k: (list(x) if isinstance(x, tuple) else x) for k, x in v.items()}
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out

    @classmethod
    def from_dict(cls, d: dict) -> "TruthParams":
        """Inverse of :meth:`to_dict`."""
        kw = {}
        for f in dataclasses.fields(cls):
            if f.name not in d:
                continue
            v = d[f.name]
            if isinstance(v, dict):
                v = _ro({k: (tuple(x) if isinstance(x, list) else x) for k, x in v.items()})
            elif isinstance(v, list):
                v = tuple(v)
            kw[f.name] = v
        return cls(**kw)

    def __post_init__(self):
        if self.world not in WORLDS:
            raise ValueError(f"world={self.world!r} is not a known world; expected one of {list(WORLDS)}")
        for name in ("role_effects", "role_power", "veto_prob", "role_shift", "survey_rate", "informal_rate", "interview_rate"):
            v = getattr(self, name)
            if not isinstance(v, MappingProxyType):
                object.__setattr__(self, name, _ro(v))
            missing = set(ROLES) - set(getattr(self, name))
            if missing:
                raise ValueError(f"{name} is missing role(s) {sorted(missing)}; expected a value for each of {list(ROLES)}")
        for name in ("item_prob", "comment_prob"):
            v = getattr(self, name)
            if not isinstance(v, MappingProxyType):
                object.__setattr__(self, name, _ro(v))
        if len(self.level_power) != 4:
            raise ValueError(f"level_power={self.level_power!r}; expected 4 values (levels 0-3)")
        if not 0 <= self.turnover_rate < 5:
            raise ValueError(f"turnover_rate={self.turnover_rate!r}; expected an annual hazard in [0, 5)")


@dataclass
class Truth:
    """The ground truth behind a synthetic village.

    Attributes
    ----------
    params : TruthParams
    stakeholders : DataFrame
        One row per person: ``stakeholder_id, account_id, position_id, role,
        department, level, veto`` (true veto power), ``power`` (of the seat),
        ``true_influence`` (= power / account's total power; since every seat
        has exactly one occupant at any date, it sums to 1 within an account over
        the people active at any date), ``generation`` (0 = first occupant),
        ``active_from``, ``active_to``.
    accounts : DataFrame
        One row per account and ``period_end``: ``sentiment`` (the world's
        ``S``), ``mean_sentiment``, ``influence_sentiment``, ``sent_<role>``
        (NaN when the role is absent), ``veto_min`` (lowest year sentiment of an
        active true veto holder, NaN if none), ``veto_triggered``, ``size_z``,
        ``linear_predictor``, ``renewal_probability``,
        ``expected_bookings_if_renewed``, ``expected_bookings``
        (= probability * expected bookings if renewed).
    responses : DataFrame
        ``response_id, stakeholder_id, date, latent_sentiment`` (the person's
        latent sentiment in the quarter of the response).
    meta : dict
        ``n_accounts, seed, start, years``.
    """

    params: TruthParams
    stakeholders: pd.DataFrame
    accounts: pd.DataFrame
    responses: pd.DataFrame
    meta: dict = field(default_factory=dict)

    def write(self, path) -> Path:
        """Write ``path/truth/``: ``parameters.json``, ``stakeholders.csv``,
        ``accounts.csv``, ``responses.csv``. Returns the truth folder."""
        from .csvsafe import neutralise_frame

        folder = Path(path) / "truth"
        folder.mkdir(parents=True, exist_ok=True)
        doc = {"meta": self.meta, "params": self.params.to_dict(),
               "model": "see cxinfluence.village.synth module docstring"}
        (folder / "parameters.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        for name in ("stakeholders", "accounts", "responses"):
            df = getattr(self, name).copy()
            for c in df.columns:
                if pd.api.types.is_datetime64_any_dtype(df[c]):
                    df[c] = df[c].dt.strftime("%Y-%m-%d")
            # neutralised like every CSV cxinfluence writes (csvsafe); read_truth restores the raw text
            neutralise_frame(df).to_csv(folder / f"{name}.csv", index=False, encoding="utf-8", lineterminator="\n",
                                        float_format="%.6g")
        return folder


_TRUTH_DATES = {"stakeholders": ["active_from", "active_to"], "accounts": ["period_end"], "responses": ["date"]}
_TRUTH_IDS = ["stakeholder_id", "account_id", "response_id"]


def read_truth(path) -> Truth:
    """Read a truth written by :meth:`Truth.write` (``path`` is the village folder or its ``truth/``).

    Examples
    --------
    >>> import tempfile
    >>> v, t = make_village(5, seed=1)
    >>> back = read_truth(t.write(tempfile.mkdtemp()))
    >>> back.params == t.params, len(back.stakeholders) == len(t.stakeholders)
    (True, True)
    """
    from .csvsafe import restore_frame

    folder = Path(path)
    if not (folder / "parameters.json").exists():
        folder = folder / "truth"
    if not (folder / "parameters.json").exists():
        raise FileNotFoundError(f"path={str(path)!r} holds no truth/parameters.json; expected a folder written by write_synthetic or Truth.write")
    doc = json.loads((folder / "parameters.json").read_text(encoding="utf-8"))
    tables = {}
    for name, dates in _TRUTH_DATES.items():
        df = restore_frame(pd.read_csv(folder / f"{name}.csv", dtype={c: "str" for c in _TRUTH_IDS + ["position_id"]}))
        for c in dates:
            df[c] = pd.to_datetime(df[c]).astype("datetime64[ns]")
        tables[name] = df
    return Truth(params=TruthParams.from_dict(doc["params"]), meta=doc.get("meta", {}), **tables)


# --------------------------------------------------------------------------- catalogs

#: title, role, department, level (0 executive .. 3 staff), group, weight for extra seats.
#: group 0 = top decider (seat 0), 1 buyer, 2 user, 3 influencer, 4 gatekeeper, 5 other decider.
#: Every (title -> role, department) agrees with the built-in rule table (tested).
TITLE_CATALOG = (
    ("Plant Manager", "decider", "operations", 0, 0, 0.0),
    ("Site Director", "decider", "operations", 0, 0, 0.0),
    ("Plant Director", "decider", "operations", 0, 0, 0.0),
    ("General Manager", "decider", "executive", 0, 0, 0.0),
    ("Managing Director", "decider", "executive", 0, 0, 0.0),
    ("VP Operations", "decider", "operations", 0, 5, 1.0),
    ("Vice President of Manufacturing", "decider", "operations", 0, 5, 0.6),
    ("CFO", "decider", "finance", 0, 5, 0.6),
    ("Chief Financial Officer", "decider", "finance", 0, 5, 0.4),
    ("COO", "decider", "operations", 0, 5, 0.4),
    ("Director of Purchasing", "decider", "procurement", 1, 5, 0.8),
    ("Procurement Director", "decider", "procurement", 1, 5, 0.6),
    ("Director of Engineering", "decider", "engineering", 1, 5, 0.8),
    ("Purchasing Manager", "buyer", "procurement", 1, 1, 1.0),
    ("Strategic Sourcing Manager", "buyer", "procurement", 1, 1, 0.5),
    ("Supply Chain Manager", "buyer", "procurement", 1, 1, 0.6),
    ("Category Manager", "buyer", "procurement", 2, 1, 0.6),
    ("Sr. Purchasing Agent", "buyer", "procurement", 2, 1, 1.0),
    ("Purchasing Agent", "buyer", "procurement", 2, 1, 1.5),
    ("Procurement Specialist", "buyer", "procurement", 2, 1, 1.0),
    ("Senior Buyer", "buyer", "procurement", 2, 1, 0.8),
    ("Buyer", "buyer", "procurement", 3, 1, 1.5),
    ("MRO Buyer", "buyer", "procurement", 3, 1, 0.8),
    ("Operations Manager", "user", "operations", 1, 2, 0.8),
    ("Production Manager", "user", "operations", 1, 2, 0.8),
    ("Production Supervisor", "user", "operations", 2, 2, 1.5),
    ("Shift Supervisor", "user", "operations", 2, 2, 1.5),
    ("Maintenance Supervisor", "user", "maintenance", 2, 2, 1.2),
    ("Maintenance Planner", "user", "maintenance", 3, 2, 0.8),
    ("Machine Operator", "user", "operations", 3, 2, 4.0),
    ("Line Operator", "user", "operations", 3, 2, 2.5),
    ("Forklift Operator", "user", "operations", 3, 2, 0.8),
    ("Process Technician", "user", "operations", 3, 2, 1.5),
    ("Instrument Technician", "user", "operations", 3, 2, 1.0),
    ("Maintenance Technician", "user", "maintenance", 3, 2, 3.0),
    ("Millwright", "user", "maintenance", 3, 2, 0.8),
    ("Electrician", "user", "maintenance", 3, 2, 1.0),
    ("Engineering Manager", "influencer", "engineering", 1, 3, 0.8),
    ("Project Manager", "influencer", "engineering", 2, 3, 0.8),
    ("Senior Process Engineer", "influencer", "engineering", 2, 3, 0.8),
    ("Process Engineer", "influencer", "engineering", 2, 3, 1.5),
    ("Mechanical Engineer", "influencer", "engineering", 2, 3, 1.0),
    ("Controls Engineer", "influencer", "engineering", 2, 3, 1.0),
    ("Electrical Engineer", "influencer", "engineering", 2, 3, 0.8),
    ("Project Engineer", "influencer", "engineering", 2, 3, 1.0),
    ("Reliability Engineer", "influencer", "maintenance", 2, 3, 0.8),
    ("Maintenance Engineer", "influencer", "maintenance", 2, 3, 0.8),
    ("Controller", "influencer", "finance", 1, 3, 0.6),
    ("Plant Controller", "influencer", "finance", 1, 3, 0.6),
    ("Cost Analyst", "influencer", "finance", 2, 3, 0.5),
    ("EHS Manager", "gatekeeper", "safety", 1, 4, 1.2),
    ("Safety Coordinator", "gatekeeper", "safety", 2, 4, 1.0),
    ("HSE Specialist", "gatekeeper", "safety", 2, 4, 0.6),
    ("IT Manager", "gatekeeper", "it", 1, 4, 0.8),
    ("IT Security Lead", "gatekeeper", "it", 2, 4, 0.8),
    ("OT Network Engineer", "gatekeeper", "it", 2, 4, 0.5),
    ("Systems Administrator", "gatekeeper", "it", 3, 4, 0.5),
    ("Quality Assurance Manager", "gatekeeper", "quality", 1, 4, 1.2),
    ("Quality Engineer", "gatekeeper", "quality", 2, 4, 1.0),
    ("Supplier Quality Engineer", "gatekeeper", "quality", 2, 4, 0.5),
    ("QC Supervisor", "gatekeeper", "quality", 2, 4, 0.6),
    ("Facilities Manager", "gatekeeper", "facilities", 1, 4, 0.8),
    ("Facilities Supervisor", "gatekeeper", "facilities", 2, 4, 0.8),
)
#: share of extra seats (beyond the first five) by group: mostly users.
_GROUP_SHARE = np.array([0.0, 0.12, 0.45, 0.18, 0.17, 0.08])

SEGMENTS = {"Food & Beverage": 0.2, "Chemicals": 0.15, "Automotive": 0.12, "Metals & Mining": 0.1,
            "Pulp & Paper": 0.08, "Pharmaceuticals": 0.1, "Utilities": 0.08, "Water & Wastewater": 0.07,
            "Building Materials": 0.1}
_SEGMENT_WORD = {"Food & Beverage": ("Foods", "Beverages", "Dairy", "Bakeries"), "Chemicals": ("Chemicals", "Polymers", "Coatings"),
                 "Automotive": ("Automotive", "Components", "Castings"), "Metals & Mining": ("Steel", "Metals", "Mining"),
                 "Pulp & Paper": ("Paper", "Packaging", "Pulp"), "Pharmaceuticals": ("Pharma", "Biologics", "Labs"),
                 "Utilities": ("Energy", "Power", "Utilities"), "Water & Wastewater": ("Water", "Water Authority", "Aqua"),
                 "Building Materials": ("Cement", "Glass", "Building Products")}
REGIONS = {"North America": 0.4, "EMEA": 0.32, "APAC": 0.18, "LATAM": 0.1}
_PREFIX = ("Northfield", "Riverside", "Apex", "Summit", "Keystone", "Great Lakes", "Bluewater", "Ironwood", "Cedar Ridge",
           "Pinnacle", "Harbor", "Redstone", "Silver Creek", "Evergreen", "Granite", "Westbrook", "Lakeshore", "Oakmont",
           "Meridian", "Sterling", "Falcon", "Horizon", "Prairie", "Coastal", "Highland", "Valley", "Atlas", "Vanguard",
           "Copperfield", "Brightwater", "Stonebridge", "Eastgate", "Nordic", "Alpine", "Delta", "Sunrise", "Crescent",
           "Liberty", "Heritage", "Trident")
_SUFFIX = ("Inc.", "LLC", "Corp.", "Ltd", "GmbH", "AG", "S.A.", "Co.", "plc", "B.V.")
_FIRST = ("James", "Maria", "Robert", "Linda", "Michael", "Patricia", "David", "Jennifer", "Carlos", "Ana", "Wei", "Mei",
          "Rajesh", "Priya", "Thomas", "Sabine", "Lukas", "Anna", "Pierre", "Claire", "Hiroshi", "Yuki", "Ahmed", "Fatima",
          "John", "Sarah", "Daniel", "Laura", "Kevin", "Emily", "Jorge", "Lucia", "Sven", "Ingrid", "Tomasz", "Katarzyna",
          "Mark", "Susan", "Paul", "Karen", "Brian", "Nancy", "Olusegun", "Ngozi", "Diego", "Camila", "Arjun", "Kavya",
          "Stefan", "Elena", "Marco", "Giulia", "Chris", "Jessica", "Eric", "Rachel", "Hans", "Greta", "Kenji", "Sofia")
_LAST = ("Smith", "Johnson", "Garcia", "Miller", "Brown", "Davis", "Martinez", "Wilson", "Anderson", "Taylor", "Thomas",
         "Moore", "Martin", "Lee", "Thompson", "White", "Lopez", "Clark", "Lewis", "Walker", "Schmidt", "Müller", "Schneider",
         "Fischer", "Weber", "Dubois", "Moreau", "Rossi", "Bianchi", "Kowalski", "Nowak", "Andersson", "Johansson",
         "Tanaka", "Suzuki", "Sato", "Wang", "Li", "Zhang", "Chen", "Kumar", "Sharma", "Patel", "Singh", "Okafor",
         "Adeyemi", "Silva", "Santos", "Oliveira", "Hernandez", "Nguyen", "Kim", "Park", "O'Brien", "Murphy", "Kelly",
         "Novak", "Horvat", "Jensen", "Hansen")

_TOUCHPOINT = {"delivery": "delivery", "quality": "product quality", "billing": "invoicing", "support": "technical support",
               "pricing": "quotation", "safety": "site visit", "documentation": "technical documentation",
               "people": "account management"}
#: theme probabilities by role (rows in ROLES order, columns in THEMES order)
_THEME_BY_ROLE = np.array([
    [0.15, 0.15, 0.05, 0.10, 0.25, 0.05, 0.00, 0.25],  # decider
    [0.25, 0.10, 0.25, 0.05, 0.30, 0.00, 0.00, 0.05],  # buyer
    [0.25, 0.20, 0.00, 0.30, 0.00, 0.10, 0.10, 0.05],  # user
    [0.10, 0.30, 0.00, 0.20, 0.05, 0.05, 0.25, 0.05],  # influencer
    [0.05, 0.30, 0.00, 0.05, 0.00, 0.35, 0.20, 0.05],  # gatekeeper
])

#: comment templates by theme and tone (positive, mixed, negative)
COMMENT_TEMPLATES = {
    "delivery": (
        ("Great service: deliveries arrive on time and complete, which keeps our line running.",
         "Lead times have improved a lot this year; shipments show up when promised.",
         "Great job on the rush delivery last month, it saved us a shutdown."),
        ("Deliveries are mostly on time, but tracking information is often missing.",
         "Lead times are acceptable, though the carrier sometimes leaves pallets at the wrong dock."),
        ("Another late delivery this week; we had to stop the line waiting for parts.",
         "Frustrating: shipments keep arriving short-shipped and we only find out at receiving.",
         "Lead times keep slipping and nobody warns us about the delays."),
    ),
    "quality": (
        ("Product quality is consistent; we have had no rejects since the last change.",
         "Excellent, very reliable parts; our scrap rate went down after switching to you."),
        ("Quality is generally fine, but the last batch needed extra inspection.",
         "Mostly good quality, one non-conformance this quarter was handled slowly."),
        ("We had another defective batch and had to scrap material.",
         "Quality problems again: parts out of spec and rework on our side.",
         "Too many rejects lately; our quality team is questioning you as a supplier."),
    ),
    "billing": (
        ("Invoices are accurate and match our purchase orders, which we appreciate.",
         "Billing is easy to work with; credit notes come through quickly."),
        ("Invoices are usually right, but PO numbers are sometimes missing.",
         "Billing works, though the invoice format does not fit our system."),
        ("Invoices don't match the purchase order again and payment gets blocked.",
         "We were overcharged twice this quarter and the credit note took weeks; unacceptable."),
    ),
    "support": (
        ("Technical support answered within the hour and fixed the issue remotely.",
         "Your field service technician was excellent and very knowledgeable."),
        ("Support is helpful once you reach the right person, but tickets sit in the queue.",
         "The service visit solved the problem, although it took a few days to schedule."),
        ("Support tickets stay open for weeks and nobody calls back; very frustrating.",
         "We waited four days for a service technician while the machine was down, a costly failure.",
         "Escalations go nowhere; the help desk keeps asking for the same information."),
    ),
    "pricing": (
        ("Pricing is fair for the value we get, and quotes come back quickly.",
         "Good value for money; the volume discount was appreciated."),
        ("Prices are acceptable but quotes take too long to come back.",
         "The price increase was explained, but it still hurts our budget."),
        ("Another price increase with no notice; we are unhappy and looking at cheaper alternatives.",
         "Your quotes are well above competitors and the surcharges keep growing; we are not happy."),
    ),
    "safety": (
        ("Your crew follows our safety rules on site; no concerns from EHS.",
         "Safety data sheets were complete and provided before the first delivery."),
        ("Safety practices are fine, but SDS updates arrive late.",
         "Mostly safe work on site, one near miss was reported and handled."),
        ("A contractor of yours ignored our lockout procedure; a dangerous and unacceptable safety issue.",
         "Safety data sheets are missing for the new product; EHS refuses to approve it, which is a problem."),
    ),
    "documentation": (
        ("Documentation is clear and the certificates of analysis come with every shipment.",
         "Manuals and drawings are complete and easy to follow."),
        ("Documentation is usable, though some manuals are outdated.",
         "Certificates arrive, but often a few days after the shipment."),
        ("Certificates of conformance are missing again and we cannot release the material.",
         "The manuals don't match the equipment we received and labels are wrong."),
    ),
    "people": (
        ("Our account manager is responsive and really understands our plant.",
         "Great relationship with your team; they treat us as a partner."),
        ("The account team is friendly, but we rarely see them on site.",
         "Good people, though our main contact changes too often."),
        ("Our account manager never gets back to us; disappointing.",
         "We feel neglected, just another number; nobody from your side visits anymore."),
    ),
}
#: "our champion left" comments; the departed colleague's title is inserted after the prefix.
_CHAMPION = (
    ("Sadly our champion left: since our ", " moved on, nobody at your side has re-engaged with us and we feel ignored."),
    ("Since our ", " left, we have lost our main sponsor for your products and the relationship has gone quiet."),
    ("With our ", " gone, the people who chose you are no longer here; you need to rebuild the relationship."),
)


# --------------------------------------------------------------------------- helpers


def _str(values) -> pd.Series:
    """A pandas ``str`` Series from a list/array of Python strings."""
    return pd.Series(np.asarray(values, dtype=object), dtype="str")


def _take_str(categories, codes) -> pd.Series:
    """Strings ``categories[codes]`` (code -1 = blank), built with pyarrow (fast for 10M rows)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    codes = np.asarray(codes, dtype=np.int64)
    cats = pa.array(list(categories), pa.large_string())
    arr = pc.take(cats, pa.array(codes, mask=codes < 0))
    return _arrow_strings(arr)


def _arrow_strings(arr) -> pd.Series:
    """A pyarrow string array as a pandas ``str`` Series without a round trip through Python objects."""
    try:
        dtype = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas >= 2.3: the default ``str`` dtype
    except TypeError:  # older pandas: object strings
        return pd.Series(arr.to_pandas(), dtype=object)
    return pd.Series(arr.to_pandas(types_mapper=lambda t: dtype))


def _ids(prefix: str, n: int) -> pd.Series:
    """``prefix`` + zero-padded running number, as a pandas ``str`` Series."""
    import pyarrow as pa
    import pyarrow.compute as pc

    width = max(len(str(max(n, 1))), 3)
    num = pc.utf8_lpad(pc.cast(pa.array(np.arange(1, n + 1, dtype=np.int64)), pa.large_string()), width, "0")
    arr = pc.binary_join_element_wise(pa.scalar(prefix, pa.large_string()), num, pa.scalar("", pa.large_string()))
    return _arrow_strings(arr)


def _days(values) -> pd.Series:
    """int days since 1970-01-01 (``_NODATE`` = blank) -> datetime64[ns] Series."""
    v = np.asarray(values, dtype=np.int64)
    out = v.astype("datetime64[D]").astype("datetime64[ns]")
    out[(v <= _NODATE_LOW) | (v >= _NODATE_HIGH)] = np.datetime64("NaT")
    return pd.Series(out)


_NODATE_LOW = np.iinfo(np.int64).min // 4
_NODATE_HIGH = np.iinfo(np.int64).max // 4


def _by_role(mapping, role_code):
    return np.array([mapping[r] for r in ROLES], dtype=float)[role_code]


def _group_sample(rng, group_start, group_size, weights):
    """One index per draw, inside [group_start, group_start + group_size), with probability ∝ weights."""
    cw = np.cumsum(weights)
    base = np.concatenate([[0.0], cw])
    lo = base[group_start]
    hi = base[group_start + group_size]
    x = lo + rng.random(len(group_start)) * (hi - lo)
    idx = np.searchsorted(cw, x, side="right")
    return np.minimum(idx, group_start + group_size - 1)


def _tri_noise(rng, n):
    """Symmetric triangular noise on [-1, 1] with mean 0: U1 + U2 - 1 (sd 0.408)."""
    return rng.random(n, dtype=np.float32) + rng.random(n, dtype=np.float32) - np.float32(1.0)


# --------------------------------------------------------------------------- generator


def make_village(n_accounts: int = 300, seed: int = 0, *, truth="influence", start="2022-01-01", years: int = 4,
                 **params) -> tuple[Village, Truth]:
    """A synthetic village generated from a documented ground-truth model.

    See the module docstring for the model, formula by formula.

    Parameters
    ----------
    n_accounts : int, default 300
        Number of customer accounts (>= 1).
    seed : int, default 0
        Random seed; the same seed and parameters give the same village.
    truth : {"influence", "mean", "roles"} or TruthParams or Truth, default "influence"
        The world: what drives rebuying. ``"influence"``: the influence-weighted
        sentiment of the people who hold influence, plus a veto effect;
        ``"mean"``: the plain mean of stakeholders' sentiment (influence and veto
        don't matter); ``"roles"``: each role's sentiment has its own effect.
        A :class:`TruthParams` (or a :class:`Truth`, whose params are used) sets
        every parameter.
    start : str or date, default "2022-01-01"
        First day of the data; outcomes fall on the last day of each year after it.
    years : int, default 4
        Years of feedback (one outcome period per year).
    **params
        Overrides of :class:`TruthParams` fields, e.g. ``turnover_rate=0.3``,
        ``waves_per_year=1``.

    Returns
    -------
    village : Village
        The five tables, typed as :func:`cxinfluence.load_village` returns them:
        blank roles already inferred from titles (``role_source`` = ``"title"``)
        and blank veto defaulted by role (``veto_source`` = ``"role"``);
        :func:`write_synthetic` writes those cells blank again.
    truth : Truth
        Parameters, each stakeholder's true influence and veto, each account's
        true sentiment and renewal probability per period.

    Examples
    --------
    >>> village, truth = make_village(20, seed=1)
    >>> len(village.accounts), village.outcomes["period_end"].dt.year.unique().tolist()
    (20, [2022, 2023, 2024, 2025])
    >>> now = truth.stakeholders[truth.stakeholders["active_to"].isna()]  # active at the end
    >>> bool(now.groupby("account_id")["true_influence"].sum().round(9).eq(1).all())
    True
    >>> make_village(20, seed=1)[0].responses.equals(village.responses)
    True
    """
    if isinstance(truth, Truth):
        truth = truth.params
    if isinstance(truth, TruthParams):
        p = dataclasses.replace(truth, **params) if params else truth
    elif isinstance(truth, str):
        p = TruthParams.for_world(truth, **params)
    else:
        raise TypeError(f"truth={truth!r}; expected a world name {list(WORLDS)}, a TruthParams or a Truth")
    if not isinstance(n_accounts, (int, np.integer)) or n_accounts < 1:
        raise ValueError(f"n_accounts={n_accounts!r}; expected a positive integer")
    if not isinstance(years, (int, np.integer)) or years < 1:
        raise ValueError(f"years={years!r}; expected a positive integer")
    start_ts = pd.Timestamp(start).normalize()
    return _Generator(int(n_accounts), int(seed), p, start_ts, int(years)).run()


class _Generator:
    """One generation run; each step fills arrays on ``self`` (vectorised over all accounts)."""

    def __init__(self, n, seed, p, start, years):
        self.n, self.seed, self.p, self.years = n, seed, p, years
        self.rng = np.random.default_rng(seed)
        bounds = pd.date_range(start, periods=4 * years + 1, freq=pd.DateOffset(months=3))
        self.qbounds = bounds.values.astype("datetime64[D]").astype(np.int64)  # quarter starts + end
        self.start, self.end = self.qbounds[0], self.qbounds[-1]
        self.period_end = self.qbounds[4 * np.arange(1, years + 1)] - 1
        self.start_ts = start

    def run(self):
        self._accounts()
        self._positions()
        self._occupants()
        self._ties()
        self._latent()
        self._responses()
        self._outcomes()
        return self._assemble()

    # ---- accounts
    def _accounts(self):
        rng, p, n = self.rng, self.p, self.n
        z = rng.standard_normal(n)
        self.revenue = np.maximum(np.round(p.revenue_median * np.exp(p.revenue_sigma * z), -1), 10.0)
        # standardised size from the revenue as written, so it can be recomputed from the village exactly
        self.size_z = np.log(self.revenue / p.revenue_median) / p.revenue_sigma
        self.segment = rng.choice(len(SEGMENTS), size=n, p=np.array(list(SEGMENTS.values())))
        region = rng.choice(len(REGIONS), size=n, p=np.array(list(REGIONS.values())))
        self.region = region
        # account managers: ceil(n_region / book) per region, uneven books
        owner = np.empty(n, dtype=np.int64)
        next_id = 0
        for r in range(len(REGIONS)):  # a handful of regions
            idx = np.flatnonzero(region == r)
            if len(idx) == 0:
                continue
            k = int(np.ceil(len(idx) / p.accounts_per_manager))
            w = rng.lognormal(0.0, 0.5, k)
            owner[idx] = next_id + rng.choice(k, size=len(idx), p=w / w.sum())
            next_id += k
        self.owner = owner
        self.n_managers = next_id

    # ---- seats
    def _positions(self):
        rng, p, n = self.rng, self.p, self.n
        size = np.exp(np.log(p.center_median) + p.center_size_slope * self.size_z + rng.normal(0, p.center_sigma, n))
        npos = np.clip(np.round(size), 3, 40).astype(np.int64)
        P = int(npos.sum())
        acc = np.repeat(np.arange(n), npos)
        first = np.concatenate([[0], np.cumsum(npos)[:-1]])
        slot = np.arange(P) - np.repeat(first, npos)
        cat = TITLE_CATALOG
        cat_group = np.array([c[4] for c in cat])
        cat_weight = np.array([c[5] for c in cat], dtype=float)
        group = np.where(slot < 5, slot, rng.choice(6, size=P, p=_GROUP_SHARE / _GROUP_SHARE.sum()))
        title = np.empty(P, dtype=np.int64)
        for g in range(6):
            members = np.flatnonzero(cat_group == g)
            w = np.ones(len(members)) if g == 0 else cat_weight[members]
            m = group == g
            title[m] = rng.choice(members, size=int(m.sum()), p=w / w.sum())
        role_code = np.array([ROLES.index(c[1]) for c in cat])[title]
        depts = sorted({c[2] for c in cat})
        dept_code = np.array([depts.index(c[2]) for c in cat])[title]
        level = np.array([c[3] for c in cat])[title]
        power = (_by_role(p.role_power, role_code) * np.asarray(p.level_power)[level]
                 * rng.lognormal(0.0, p.power_sigma, P))
        total = np.bincount(acc, power, minlength=n)
        vprob = np.where(slot == 0, p.top_veto_prob, _by_role(p.veto_prob, role_code))
        self.npos, self.pfirst, self.P = npos, first, P
        self.pacc, self.pslot, self.ptitle, self.prole, self.pdept, self.plevel = acc, slot, title, role_code, dept_code, level
        self.depts = depts
        self.ppower = power
        self.pinfluence = power / total[acc]
        self.pveto = rng.random(P) < vprob
        # org chart: within (account, department) order by level; report to the next higher level
        order = np.lexsort((slot, level, dept_code, acc))
        a_s, d_s, l_s = acc[order], dept_code[order], level[order]
        new_group = np.ones(P, dtype=bool)
        new_group[1:] = (a_s[1:] != a_s[:-1]) | (d_s[1:] != d_s[:-1])
        new_level = new_group.copy()
        new_level[1:] |= l_s[1:] != l_s[:-1]
        group_start = np.maximum.accumulate(np.where(new_group, np.arange(P), 0))
        level_start = np.maximum.accumulate(np.where(new_level, np.arange(P), 0))
        prev_level_start = np.zeros(P, dtype=np.int64)
        has_prev = level_start > group_start
        prev_level_start[has_prev] = level_start[level_start[has_prev] - 1]
        span = level_start - prev_level_start
        pick = prev_level_start + np.floor(rng.random(P) * np.maximum(span, 1)).astype(np.int64)
        root = first[a_s]
        manager_sorted = np.where(has_prev, order[np.minimum(pick, P - 1)], root)
        manager = np.empty(P, dtype=np.int64)
        manager[order] = manager_sorted
        manager[first] = -1  # the top decider reports to nobody here
        self.pmanager = manager
        # influence_rating: the account team's noisy view of power (percentile within account)
        rank_order = np.lexsort((power, acc))
        rank = np.empty(P, dtype=np.int64)
        rank[rank_order] = np.arange(P)
        pct = (rank - first[acc]) / np.maximum(npos[acc] - 1, 1)
        rating = np.clip(np.round(1 + 4 * pct + rng.normal(0, p.rating_noise, P)), 1, 5)
        self.prating = np.where(rng.random(P) < p.rating_blank, np.nan, rating)

    # ---- people in seats over time
    def _occupants(self):
        rng, p = self.rng, self.p
        P, start, end = self.P, self.start, self.end
        rate = p.turnover_rate / 365.25
        pos_list, join_list, leave_list, gen_list = [], [], [], []
        seats = np.arange(P)
        tenure_before = np.round(rng.exponential(6 * 365.25, P)).astype(np.int64) + 1
        join = np.where(rng.random(P) < 0.2, _NODATE_LOW, start - tenure_before)
        t0 = np.full(P, start, dtype=np.int64)
        gen = 0
        while len(seats):
            dur = np.ceil(rng.exponential(1 / rate, len(seats))).astype(np.int64) if rate > 0 else np.full(len(seats), _NODATE_HIGH)
            leave = np.where(rate > 0, t0 + np.maximum(dur, 1), _NODATE_HIGH)
            leave = np.where(leave >= end, _NODATE_HIGH, leave)
            pos_list.append(seats)
            join_list.append(join)
            leave_list.append(leave)
            gen_list.append(np.full(len(seats), gen))
            more = leave < end
            seats, join, t0 = seats[more], leave[more], leave[more]
            gen += 1
        pos = np.concatenate(pos_list)
        order = np.lexsort((np.concatenate(gen_list), pos))  # by seat (hence account), then generation
        self.spos = pos[order]
        self.sjoin = np.concatenate(join_list)[order]
        self.sleave = np.concatenate(leave_list)[order]
        self.sgen = np.concatenate(gen_list)[order]
        self.S = len(self.spos)
        self.sacc = self.pacc[self.spos]
        self.srole = self.prole[self.spos]
        self.occ_count = np.bincount(self.spos, minlength=P)
        self.occ_first = np.concatenate([[0], np.cumsum(self.occ_count)[:-1]])
        # quarter in which each person joined (first occupants: 0)
        self.sjq = np.clip(np.searchsorted(self.qbounds, self.sjoin, side="right") - 1, 0, 4 * self.years - 1)

    # ---- ties between people
    def _ties(self):
        rng, p = self.rng, self.p
        # seat-level reports_to
        child = np.flatnonzero(self.pmanager >= 0)
        src = [child]
        dst = [self.pmanager[child]]
        kind = [np.zeros(len(child), dtype=np.int8)]
        wgt = [np.ones(len(child))]
        # seat-level influences: sources and targets weighted by power
        m = np.round(p.influence_ties_per_person * self.npos).astype(np.int64)
        tie_acc = np.repeat(np.arange(self.n), m)
        gs, gn = self.pfirst[tie_acc], self.npos[tie_acc]
        s = _group_sample(rng, gs, gn, self.ppower ** p.source_power_exponent)
        t = _group_sample(rng, gs, gn, self.ppower ** p.target_power_exponent)
        keep = s != t
        pair = np.unique(s[keep] * self.P + t[keep])
        s, t = pair // self.P, pair % self.P
        src.append(s)
        dst.append(t)
        kind.append(np.ones(len(s), dtype=np.int8))
        wgt.append(rng.choice([1.0, 2.0, 3.0], size=len(s), p=[0.5, 0.3, 0.2]))
        es, et = np.concatenate(src), np.concatenate(dst)
        ek, ew = np.concatenate(kind), np.concatenate(wgt)
        # expand to people whose tenures overlap
        cs, ct = self.occ_count[es], self.occ_count[et]
        c = cs * ct
        rep = np.repeat(np.arange(len(es)), c)
        k = np.arange(int(c.sum())) - np.repeat(np.cumsum(c) - c, c)
        i = self.occ_first[es][rep] + k // ct[rep]
        j = self.occ_first[et][rep] + k % ct[rep]
        ok = (self.sjoin[i] < self.sleave[j]) & (self.sjoin[j] < self.sleave[i])
        self.tie_src, self.tie_dst = i[ok], j[ok]
        self.tie_kind, self.tie_weight = ek[rep][ok], ew[rep][ok]

    # ---- latent sentiment by person and quarter
    def _latent(self):
        rng, p = self.rng, self.p
        Q, S, n = 4 * self.years, self.S, self.n
        m = rng.normal(p.sentiment_mean, p.account_sd, n)
        A = np.zeros((n, Q))
        for q in range(1, Q):
            A[:, q] = p.account_ar * A[:, q - 1] + rng.normal(0, p.account_shock_sd, n)
        base = (m[self.sacc] + _by_role(p.role_shift, self.srole)).astype(np.float32)
        latent = np.empty((S, Q), dtype=np.float32)
        innov = np.float32(np.sqrt(1 - p.person_ar ** 2) * p.person_sd)
        u = rng.standard_normal(S, dtype=np.float32) * np.float32(p.person_sd)
        fresh_start = (self.sgen > 0)
        for q in range(Q):
            if q:
                u = np.float32(p.person_ar) * u + innov * rng.standard_normal(S, dtype=np.float32)
            new = fresh_start & (self.sjq == q)
            u[new] = np.float32(p.newcomer_shift) + np.float32(p.person_sd) * rng.standard_normal(int(new.sum()), dtype=np.float32)
            latent[:, q] = np.tanh(base + A[self.sacc, q].astype(np.float32) + u)
        self.latent = latent

    # ---- feedback
    def _responses(self):
        """Every response: who and when (survey waves, informal comments, interviews), the items answered,
        the comment and its touchpoint, the journey stage. The steps draw from ``self.rng`` in a fixed order."""
        sid, day, chan = self._response_times()
        s, items, tone = self._response_items(sid, day, chan)
        theme, has_comment, comment = self._response_comments(sid, day, chan, tone)
        # touchpoint: the comment's theme; otherwise the channel's default
        tp_names = [_TOUCHPOINT[t] for t in THEMES] + ["relationship survey", "business review"]
        tp = np.where(has_comment | (chan == 1), theme, np.where(chan == 0, len(THEMES), len(THEMES) + 1))
        stages, stage = self._journey_stages(sid, day, chan, tone, items)
        self.r = dict(sid=sid, day=day, chan=chan, items=items, latent=s, comment=comment, tp=tp, tp_names=tp_names,
                      stage=stage, stages=stages)

    def _response_times(self):
        """Who answered when, by channel (0 survey, 1 informal, 2 interview), sorted by date then person."""
        rng, p = self.rng, self.p
        sid, day, chan = [], [], []
        # survey waves: everyone active at the wave opening is invited
        propensity = 2.0 * rng.beta(2.0, 2.0, self.S)
        rate = np.minimum(_by_role(p.survey_rate, self.srole) * propensity, 0.95)
        n_waves = self.years * p.waves_per_year
        wave_open = pd.Timestamp(self.start_ts) + pd.to_timedelta(
            (np.arange(n_waves) + 0.25) * 365.25 / p.waves_per_year, unit="D")
        for w in wave_open.values.astype("datetime64[D]").astype(np.int64):  # a handful of waves
            active = (self.sjoin <= w) & (self.sleave > w)
            who = np.flatnonzero(active & (rng.random(self.S) < rate))
            d = w + rng.integers(0, 21, len(who))
            ok = (d < self.sleave[who]) & (d < self.end)
            sid.append(who[ok])
            day.append(d[ok])
            chan.append(np.zeros(int(ok.sum()), dtype=np.int8))
        # informal comments and interviews: Poisson over each tenure inside the data window
        t0 = np.maximum(self.sjoin, self.start)
        t1 = np.minimum(self.sleave, self.end)
        tenure_years = np.maximum(t1 - t0, 0) / 365.25
        for code, rates in ((1, p.informal_rate), (2, p.interview_rate)):
            k = rng.poisson(_by_role(rates, self.srole) * tenure_years)
            who = np.repeat(np.arange(self.S), k)
            d = t0[who] + np.floor(rng.random(len(who)) * (t1[who] - t0[who])).astype(np.int64)
            sid.append(who)
            day.append(d)
            chan.append(np.full(len(who), code, dtype=np.int8))
        sid, day, chan = np.concatenate(sid), np.concatenate(day), np.concatenate(chan)
        order = np.argsort(day * np.int64(self.S) + sid)  # by date, then person
        return sid[order], day[order], chan[order]

    def _response_items(self, sid, day, chan):
        """The latent sentiment behind each response, the items answered (noisy measures of it on each item's
        grid) and the response's tone (0 positive, 1 mixed, 2 negative)."""
        rng, p = self.rng, self.p
        R = len(sid)
        q = np.clip(np.searchsorted(self.qbounds, day, side="right") - 1, 0, 4 * self.years - 1)
        s = self.latent[sid, q]
        # which items each response answered; a survey answer has at least the NPS question
        probs = np.array([p.item_prob[c] for c in _CHANNELS])  # channel x item
        asked = [rng.random(R, dtype=np.float32) < probs[chan, j] for j in range(len(ITEMS))]
        asked[0] |= (chan == 0) & ~np.logical_or.reduce(asked)
        # items: unbiased noisy measures of s on each item's grid
        d = np.minimum(np.float32(1.0) - np.abs(s), np.float32(p.response_noise))
        zc = _tri_noise(rng, R)
        items = {}
        scaled = np.zeros(R, dtype=np.float32)  # sum of answered items on the common scale
        count = np.zeros(R, dtype=np.float32)
        for j, item in enumerate(ITEMS):
            low, high = SCORE_RANGES[item]
            steps = high - low
            y = s + d * (np.float32(0.6) * zc + np.float32(0.4) * _tri_noise(rng, R))
            g = (y + np.float32(1.0)) * np.float32(steps / 2.0)
            lower = np.floor(g)
            level = np.clip(lower + (rng.random(R, dtype=np.float32) < (g - lower)), 0, steps)
            score = (low + steps) - level if item in _REVERSED else low + level
            items[item] = np.where(asked[j], score.astype(np.float64), np.nan)
            # on the common scale both directions give 2 * level / steps - 1
            scaled += np.where(asked[j], np.float32(2.0 / steps) * level - np.float32(1.0), np.float32(0.0))
            count += asked[j]
        del asked, y, g, lower, level, score
        # observed sentiment of the response, or a noisy latent when no item was answered
        tone_value = np.where(count > 0, scaled / np.maximum(count, 1), s + d * zc)
        tone = np.where(tone_value >= 0.45, 0, np.where(tone_value < 0.05, 2, 1)).astype(np.int8)
        return s, items, tone

    def _response_comments(self, sid, day, chan, tone):
        """The theme of each response, whether it has a comment, and the comment text."""
        rng, p = self.rng, self.p
        R = len(sid)
        role = self.srole[sid]
        # inverse-CDF draw of the theme from the role's row: rows stacked on [0, 5) and searched at once
        cum = np.cumsum(_THEME_BY_ROLE / _THEME_BY_ROLE.sum(1, keepdims=True), axis=1)
        cum[:, -1] = 1.0
        stacked = (cum + np.arange(len(ROLES))[:, None]).ravel()
        theme = np.searchsorted(stacked, role + rng.random(R), side="right") - role * len(THEMES)
        theme = np.clip(theme, 0, len(THEMES) - 1)
        has_comment = rng.random(R) < np.array([p.comment_prob[c] for c in _CHANNELS])[chan]
        texts, code_of = [], {}
        for ti, th in enumerate(THEMES):
            for to in range(3):
                for vi, txt in enumerate(COMMENT_TEMPLATES[th][to]):
                    code_of[(ti, to, vi)] = len(texts)
                    texts.append(txt)
        n_var = np.array([[len(COMMENT_TEMPLATES[th][to]) for to in range(3)] for th in THEMES])
        variant = np.floor(rng.random(R) * n_var[theme, tone]).astype(np.int64)
        lookup = np.full((len(THEMES), 3, n_var.max()), -1, dtype=np.int64)
        for (ti, to, vi), c in code_of.items():
            lookup[ti, to, vi] = c
        comment_code = np.where(has_comment, lookup[theme, tone, variant], -1)
        champ_title = self._champion_left(sid, day, tone, has_comment, theme)
        champ = champ_title >= 0
        # champion comments are extra categories: one per (template, departed title)
        n_titles = len(TITLE_CATALOG)
        champ_texts = [pre + t[0] + post for pre, post in _CHAMPION for t in TITLE_CATALOG]
        champ_code = len(texts) + np.floor(rng.random(R) * len(_CHAMPION)).astype(np.int64) * n_titles + champ_title
        comment = _take_str(texts + champ_texts, np.where(champ, champ_code, comment_code))
        return theme, has_comment, comment

    def _champion_left(self, sid, day, tone, has_comment, theme):
        """"Our champion left": for half the non-positive comments of colleagues of a key person who left 1-180
        days before, the departed person's title (-1 elsewhere); those comments' ``theme`` becomes people."""
        R = len(sid)
        key_rank = self._key_seats()
        left = np.flatnonzero((self.sleave < self.end) & key_rank[self.spos])
        champ_title = np.full(R, -1, dtype=np.int64)
        if len(left):
            # latest key departure in the same account, 1-180 days before the response
            dep_key = self.sacc[left] * np.int64(1 << 32) + self.sleave[left]
            dorder = np.argsort(dep_key)
            dep_key, dep_title = dep_key[dorder], self.ptitle[self.spos[left]][dorder]
            cand = np.flatnonzero(has_comment & (tone > 0))
            ckey = self.sacc[sid[cand]] * np.int64(1 << 32) + day[cand]
            j = np.searchsorted(dep_key, ckey, side="left") - 1  # strictly before the response day
            jj = np.maximum(j, 0)
            gap = ckey - dep_key[jj]
            hit = (j >= 0) & (gap >= 1) & (gap <= 180) & (self.rng.random(len(cand)) < 0.5)
            rows = cand[hit]
            champ_title[rows] = dep_title[jj[hit]]
            theme[rows] = THEMES.index("people")
        return champ_title

    def _journey_stages(self, sid, day, chan, tone, items):
        """The journey stage of each response (renewal near a period end, consideration/awareness for newcomers,
        advocacy for some happy promoters, 5% blank): ``(stage names, stage codes)``."""
        rng = self.rng
        R = len(sid)
        role = self.srole[sid]
        stages = ("awareness", "consideration", "decision", "retention", "advocacy", "renewal")
        since_join = day - self.sjoin[sid]
        nxt = np.searchsorted(self.period_end, day, side="left")
        to_end = np.where(nxt < len(self.period_end),
                          self.period_end[np.minimum(nxt, len(self.period_end) - 1)] - day, 10**6)
        stage = np.full(R, stages.index("retention"))
        stage[(tone == 0) & (items["nps"] >= 9) & (rng.random(R) < 0.3)] = stages.index("advocacy")
        in_renewal = to_end < 60
        stage[in_renewal] = stages.index("renewal")
        stage[in_renewal & (chan == 2) & np.isin(role, [0, 1])] = stages.index("decision")
        newcomer = self.sgen[sid] > 0
        stage[newcomer & (since_join < 180)] = stages.index("consideration")
        stage[newcomer & (since_join < 90)] = stages.index("awareness")
        stage[rng.random(R) < 0.05] = -1
        return stages, stage

    def _key_seats(self):
        """The two most powerful seats of each account (whose departure colleagues notice)."""
        order = np.lexsort((-self.ppower, self.pacc))
        rank = np.empty(self.P, dtype=np.int64)
        rank[order] = np.arange(self.P) - self.pfirst[self.pacc[order]]
        return rank < 2

    # ---- outcomes
    def _outcomes(self):
        rng, p, n = self.rng, self.p, self.n
        rows = []
        for k, T in enumerate(self.period_end):  # one pass per year
            active = np.flatnonzero((self.sjoin <= T) & (self.sleave > T))  # one person per seat
            q0, q1 = 4 * k, 4 * k + 4
            lo = np.maximum(self.sjq[active], q0)
            sub = self.latent[active, q0:q1].astype(np.float64)
            use = np.arange(q0, q1)[None, :] >= lo[:, None]
            x = (sub * use).sum(1) / use.sum(1)
            acc = self.sacc[active]
            pos = self.spos[active]
            w = self.pinfluence[pos]
            cnt = np.bincount(acc, minlength=n)
            mean = np.bincount(acc, x, minlength=n) / cnt
            infl = np.bincount(acc, w * x, minlength=n)
            role = self.srole[active]
            sent_r = np.full((n, len(ROLES)), np.nan)
            for r in range(len(ROLES)):
                m = role == r
                c = np.bincount(acc[m], minlength=n)
                with np.errstate(invalid="ignore", divide="ignore"):
                    sent_r[:, r] = np.where(c > 0, np.bincount(acc[m], x[m], minlength=n) / np.maximum(c, 1), np.nan)
            eff = np.array([p.role_effects[r] for r in ROLES])
            present = ~np.isnan(sent_r)
            rho = np.where(present, eff, 0.0)
            rho = rho / rho.sum(1, keepdims=True)
            roles_s = np.nansum(rho * np.nan_to_num(sent_r), axis=1)
            S = {"influence": infl, "mean": mean, "roles": roles_s}[p.world]
            vmin = np.full(n, np.inf)
            vm = self.pveto[pos]
            np.minimum.at(vmin, acc[vm], x[vm])
            vmin[np.isinf(vmin)] = np.nan
            V = np.nan_to_num(vmin, nan=np.inf) < p.veto_threshold
            lin = p.intercept + p.sentiment_effect * S + p.veto_effect * V + p.size_effect * self.size_z
            prob = 1.0 / (1.0 + np.exp(-lin))
            renewed = rng.random(n) < prob
            eb = self.revenue * np.exp(p.bookings_intercept + p.bookings_sentiment * S + p.bookings_sigma ** 2 / 2)
            bookings = np.where(renewed, np.round(self.revenue * np.exp(p.bookings_intercept + p.bookings_sentiment * S
                                                                        + rng.normal(0, p.bookings_sigma, n)), 2), 0.0)
            rows.append(dict(k=k, S=S, mean=mean, infl=infl, sent_r=sent_r, vmin=vmin, V=V, lin=lin, prob=prob,
                             renewed=renewed, bookings=bookings, eb=eb))
        self.out = rows
        del self.latent  # the largest array; not needed any more

    # ---- tables
    def _assemble(self):
        """The village's tables and the truth behind them (the account and stakeholder tables draw names from
        ``self.rng``, in this order)."""
        p, n = self.p, self.n
        acc_ids = _ids("A", n)
        accounts = self._accounts_table(acc_ids)
        stakeholders, sids, true_veto = self._stakeholders_table(acc_ids)
        relationships = pd.DataFrame({
            "source_id": sids.take(self.tie_src).reset_index(drop=True),
            "target_id": sids.take(self.tie_dst).reset_index(drop=True),
            "kind": _take_str(["reports_to", "influences"], self.tie_kind),
            "weight": self.tie_weight.astype(np.float64),
        })
        del self.tie_src, self.tie_dst, self.tie_kind, self.tie_weight  # keep the peak memory down
        r, self.r = self.r, None
        responses = self._responses_table(r, sids)
        K = len(self.out)
        outcomes = pd.DataFrame({
            "account_id": acc_ids.take(np.tile(np.arange(n), K)).reset_index(drop=True),
            "period_end": _days(np.repeat(self.period_end, n)),
            "renewed": np.concatenate([o["renewed"] for o in self.out]).astype(np.float64),
            "bookings": np.concatenate([o["bookings"] for o in self.out]),
        })
        village = Village(accounts=accounts, stakeholders=stakeholders, relationships=relationships,
                          responses=responses, outcomes=outcomes,
                          source=f"make_village(n_accounts={n}, seed={self.seed}, truth={p.world!r})")
        t_resp = pd.DataFrame({"response_id": responses["response_id"], "stakeholder_id": responses["stakeholder_id"],
                               "date": responses["date"], "latent_sentiment": r["latent"].astype(np.float64)})
        meta = {"n_accounts": n, "seed": self.seed, "start": str(self.start_ts.date()), "years": self.years}
        return village, Truth(params=p, stakeholders=self._true_stakeholders(stakeholders, sids, true_veto),
                              accounts=self._true_accounts(outcomes), responses=t_resp, meta=meta)

    def _accounts_table(self, acc_ids):
        """``accounts``: ids, invented names (a prefix, a segment word, a suffix), segment, region, owner, revenue."""
        n, rng = self.n, self.rng
        seg_names = list(SEGMENTS)
        table = np.array([[_SEGMENT_WORD[s][i % len(_SEGMENT_WORD[s])] for i in range(3)] for s in seg_names],
                         dtype=object)
        words = table[self.segment, rng.integers(0, 3, n)]
        names = (np.array(_PREFIX, dtype=object)[rng.integers(0, len(_PREFIX), n)] + " " + words + " "
                 + np.array(_SUFFIX, dtype=object)[rng.integers(0, len(_SUFFIX), n)])
        mgr_names = (np.array(_FIRST, dtype=object)[rng.integers(0, len(_FIRST), self.n_managers)] + " "
                     + np.array(_LAST, dtype=object)[rng.integers(0, len(_LAST), self.n_managers)])
        return pd.DataFrame({
            "account_id": acc_ids,
            "name": _str(names),
            "segment": _take_str(seg_names, self.segment),
            "region": _take_str(list(REGIONS), self.region),
            "owner": _take_str(list(mgr_names), self.owner),
            "annual_revenue": self.revenue.astype(np.float64),
        })

    def _stakeholders_table(self, acc_ids):
        """``stakeholders`` (roles and veto flags as the data has them: some blank and filled from the title or
        the role); returns ``(table, stakeholder ids, true veto flags)``."""
        p, rng, S = self.p, self.rng, self.S
        sids = _ids("S", S)
        titles = [c[0] for c in TITLE_CATALOG]
        stitle = self.ptitle[self.spos]
        cat_role = np.array([ROLES.index(c[1]) for c in TITLE_CATALOG])
        cat_dept = np.array([self.depts.index(c[2]) for c in TITLE_CATALOG])
        role_blank = rng.random(S) < p.role_blank
        veto_blank = rng.random(S) < p.veto_blank
        true_veto = self.pveto[self.spos]
        default_veto = np.array([VETO_BY_ROLE[r] for r in ROLES])[self.srole]
        first = rng.integers(0, len(_FIRST), S)
        last = rng.integers(0, len(_LAST), S)
        name_codes = first * len(_LAST) + last
        all_names = [f"{a} {b}" for a in _FIRST for b in _LAST]
        stakeholders = pd.DataFrame({
            "stakeholder_id": sids,
            "account_id": acc_ids.take(self.sacc).reset_index(drop=True),
            "name": _take_str(all_names, name_codes),
            "title": _take_str(titles, stitle),
            "department": _take_str(self.depts, cat_dept[stitle]),
            "role": _take_str(list(ROLES), cat_role[stitle]),
            "veto": np.where(veto_blank, default_veto, true_veto),
            "influence_rating": self.prating[self.spos],
            "active_from": _days(self.sjoin),
            "active_to": _days(self.sleave),
            "role_source": _take_str(["data", "title"], role_blank.astype(np.int64)),
            "veto_source": _take_str(["data", "role"], veto_blank.astype(np.int64)),
        })
        return stakeholders, sids, true_veto

    def _responses_table(self, r, sids):
        """``responses`` from the arrays of :meth:`_responses` (emptied as they are copied, to save memory)."""
        R = len(r["sid"])
        responses = pd.DataFrame({"response_id": _ids("R", R),
                                  "stakeholder_id": sids.take(r["sid"]).reset_index(drop=True),
                                  "date": _days(r["day"])})
        for item in ITEMS:
            responses[item] = r["items"].pop(item)
        responses["channel"] = _take_str(_CHANNELS, r["chan"])
        responses["journey_stage"] = _take_str(r["stages"], r["stage"])
        responses["touchpoint"] = _take_str(r["tp_names"], r["tp"])
        responses["comment"] = r.pop("comment")
        return responses

    def _true_stakeholders(self, stakeholders, sids, true_veto):
        """The truth per stakeholder: position, true role, level, veto, power, influence, generation."""
        return pd.DataFrame({
            "stakeholder_id": sids,
            "account_id": stakeholders["account_id"],
            "position_id": _ids("P", self.P).take(self.spos).reset_index(drop=True),
            "role": _take_str(list(ROLES), self.srole),
            "department": stakeholders["department"],
            "level": self.plevel[self.spos],
            "veto": true_veto,
            "power": self.ppower[self.spos],
            "true_influence": self.pinfluence[self.spos],
            "generation": self.sgen,
            "active_from": stakeholders["active_from"],
            "active_to": stakeholders["active_to"],
        })

    def _true_accounts(self, outcomes):
        """The truth per account and period: the sentiments, the veto, the renewal probability and bookings."""
        K = len(self.out)
        t_acc = pd.DataFrame({
            "account_id": outcomes["account_id"],
            "period_end": outcomes["period_end"],
            "sentiment": np.concatenate([o["S"] for o in self.out]),
            "mean_sentiment": np.concatenate([o["mean"] for o in self.out]),
            "influence_sentiment": np.concatenate([o["infl"] for o in self.out]),
            **{f"sent_{role}": np.concatenate([o["sent_r"][:, j] for o in self.out]) for j, role in enumerate(ROLES)},
            "veto_min": np.concatenate([o["vmin"] for o in self.out]),
            "veto_triggered": np.concatenate([o["V"] for o in self.out]),
            "size_z": np.tile(self.size_z, K),
            "linear_predictor": np.concatenate([o["lin"] for o in self.out]),
            "renewal_probability": np.concatenate([o["prob"] for o in self.out]),
            "expected_bookings_if_renewed": np.concatenate([o["eb"] for o in self.out]),
        })
        t_acc["expected_bookings"] = t_acc["renewal_probability"] * t_acc["expected_bookings_if_renewed"]
        return t_acc


# --------------------------------------------------------------------------- writing


def raw_stakeholders(stakeholders: pd.DataFrame) -> pd.DataFrame:
    """The stakeholders table as a user would have supplied it: role, department
    and veto blank where they were filled while loading (``role_source ==
    "title"``, ``veto_source == "role"``). Returns a new DataFrame.

    >>> v, _ = make_village(5, seed=2)
    >>> raw = raw_stakeholders(v.stakeholders)
    >>> bool(raw["role"].isna().eq(v.stakeholders["role_source"].eq("title")).all())
    True
    """
    out = stakeholders.copy()
    if "role_source" in out:
        blank = out["role_source"].eq("title").to_numpy()
        out.loc[blank, ["role", "department"]] = np.nan
    if "veto_source" in out:
        blank = out["veto_source"].eq("role").to_numpy()
        out["veto"] = out["veto"].astype("boolean").mask(blank)  # nullable: blank where defaulted by role
    return out.drop(columns=[c for c in ("role_source", "veto_source") if c in out])


def write_synthetic(village: Village, truth: Truth, path, format: str = "csv", overwrite: bool = False) -> Path:
    """Write a synthetic village and its truth to the folder ``path``, atomically.

    ``path/`` gets the five tables (``format`` ``csv`` or ``parquet``; with
    ``xlsx`` one workbook ``path/village.xlsx``) written by
    :func:`cxinfluence.village.io.write_village` rules, with the cells that loading
    fills (roles from titles, veto by role) blank as a user would supply them,
    and ``path/truth/`` (see :meth:`Truth.write`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> v, t = make_village(5, seed=3)
    >>> out = write_synthetic(v, t, pathlib.Path(tempfile.mkdtemp()) / "village")
    >>> sorted(p.name for p in out.iterdir())  # doctest: +NORMALIZE_WHITESPACE
    ['accounts.csv', 'outcomes.csv', 'relationships.csv', 'responses.csv', 'stakeholders.csv', 'truth']
    """
    from .io import FORMATS, atomic_output, write_tables, write_village

    if format not in FORMATS:
        raise ValueError(f"format={format!r} is not supported; expected one of {list(FORMATS)}")
    tables = dict(village.tables())
    tables["stakeholders"] = raw_stakeholders(tables["stakeholders"])
    path = Path(path)
    with atomic_output(path, overwrite=overwrite, is_dir=True) as tmp:
        if format == "xlsx":
            write_village(tables, Path(tmp) / "village.xlsx", format="xlsx")
        else:
            write_tables(tables, tmp, format=format)
        truth.write(tmp)
    return path
