"""The truth of a synthetic village: its parameters (:class:`TruthParams`, per world), the :class:`Truth`
tables and :func:`read_truth`. Part of :mod:`cxinfluence.village.synth`."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from .csvsafe import neutralise_frame, restore_frame
from .schema import ROLES

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
    item_prob: MappingProxyType = field(
        default_factory=lambda: _ro(
            {
                "survey": (0.97, 0.92, 0.6, 0.45, 0.8, 0.8),
                "informal": (0.05, 0.35, 0.1, 0.05, 0.1, 0.1),
                "interview": (0.9, 0.7, 0.3, 0.2, 0.95, 0.95),
            }
        )
    )
    comment_prob: MappingProxyType = field(
        default_factory=lambda: _ro({"survey": 0.35, "informal": 1.0, "interview": 0.9})
    )
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
            raise ValueError(
                f"truth={name!r} is not a known world; expected one of {list(WORLDS)} or a TruthParams/Truth instance"
            )
        # without the veto effect, a lower intercept keeps the renewal rate about the same (~80%)
        base = {
            "influence": {},
            "mean": {"veto_effect": 0.0, "intercept": -0.4},
            "roles": {"veto_effect": 0.0, "intercept": -0.4},
        }[name]
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
        for name in (
            "role_effects",
            "role_power",
            "veto_prob",
            "role_shift",
            "survey_rate",
            "informal_rate",
            "interview_rate",
        ):
            v = getattr(self, name)
            if not isinstance(v, MappingProxyType):
                object.__setattr__(self, name, _ro(v))
            missing = set(ROLES) - set(getattr(self, name))
            if missing:
                raise ValueError(
                    f"{name} is missing role(s) {sorted(missing)}; expected a value for each of {list(ROLES)}"
                )
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
        folder = Path(path) / "truth"
        folder.mkdir(parents=True, exist_ok=True)
        doc = {
            "meta": self.meta,
            "params": self.params.to_dict(),
            "model": "see cxinfluence.village.synth module docstring",
        }
        (folder / "parameters.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        for name in ("stakeholders", "accounts", "responses"):
            df = getattr(self, name).copy()
            for c in df.columns:
                if pd.api.types.is_datetime64_any_dtype(df[c]):
                    df[c] = df[c].dt.strftime("%Y-%m-%d")
            # neutralised like every CSV cxinfluence writes (csvsafe); read_truth restores the raw text
            neutralise_frame(df).to_csv(
                folder / f"{name}.csv", index=False, encoding="utf-8", lineterminator="\n", float_format="%.6g"
            )
        return folder


_TRUTH_DATES = {"stakeholders": ["active_from", "active_to"], "accounts": ["period_end"], "responses": ["date"]}
_TRUTH_IDS = ["stakeholder_id", "account_id", "response_id"]


def read_truth(path) -> Truth:
    """Read a truth written by :meth:`Truth.write` (``path`` is the village folder or its ``truth/``).

    Examples
    --------
    >>> import tempfile
    >>> from cxinfluence.village.synth import make_village
    >>> v, t = make_village(5, seed=1)
    >>> back = read_truth(t.write(tempfile.mkdtemp()))
    >>> back.params == t.params, len(back.stakeholders) == len(t.stakeholders)
    (True, True)
    """
    folder = Path(path)
    if not (folder / "parameters.json").exists():
        folder = folder / "truth"
    if not (folder / "parameters.json").exists():
        raise FileNotFoundError(
            f"path={str(path)!r} holds no truth/parameters.json; "
            "expected a folder written by write_synthetic or Truth.write"
        )
    doc = json.loads((folder / "parameters.json").read_text(encoding="utf-8"))
    tables = {}
    for name, dates in _TRUTH_DATES.items():
        df = restore_frame(pd.read_csv(folder / f"{name}.csv", dtype={c: "str" for c in _TRUTH_IDS + ["position_id"]}))
        for c in dates:
            df[c] = pd.to_datetime(df[c]).astype("datetime64[ns]")
        tables[name] = df
    return Truth(params=TruthParams.from_dict(doc["params"]), meta=doc.get("meta", {}), **tables)
