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
from pathlib import Path

import numpy as np
import pandas as pd

from .core import Village
from .io import FORMATS, atomic_output, write_tables, write_village
from .partitions import PartitionedWriter
from .synth_catalog import (  # noqa: F401
    _CHAMPION,
    _FIRST,
    _GROUP_SHARE,
    _LAST,
    _NODATE_HIGH,
    _NODATE_LOW,
    _PREFIX,
    _SEGMENT_WORD,
    _SUFFIX,
    _THEME_BY_ROLE,
    _TOUCHPOINT,
    COMMENT_TEMPLATES,
    REGIONS,
    SEGMENTS,
    TITLE_CATALOG,
    _arrow_strings,
    _by_role,
    _days,
    _group_sample,
    _ids,
    _str,
    _take_str,
    _tri_noise,
)
from .synth_params import (  # noqa: F401
    _CHANNELS,
    _REVERSED,
    _TRUTH_DATES,
    _TRUTH_IDS,
    ITEMS,
    THEMES,
    WORLDS,
    Truth,
    TruthParams,
    _ro,
    _rolemap,
    read_truth,
)
from .synth_world import _Generator

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


#: accounts generated at a time by :func:`write_synthetic_partitioned` (about 1.5 GiB of peak memory at 3 waves)
CHUNK_ACCOUNTS = 20_000


def _chunk_seed(seed, chunk) -> int:
    return int(np.random.SeedSequence([int(seed), int(chunk)]).generate_state(1)[0])


def _prefixed(village: Village, prefix: str) -> dict:
    """The village's tables with every id given ``prefix`` (unique across chunks)."""
    tables = dict(village.tables())
    tables["stakeholders"] = raw_stakeholders(tables["stakeholders"])
    for name, cols in (("accounts", ("account_id",)), ("stakeholders", ("stakeholder_id", "account_id")),
                       ("relationships", ("source_id", "target_id")), ("responses", ("stakeholder_id", "response_id")),
                       ("outcomes", ("account_id",))):
        df = tables[name].copy()
        for c in cols:
            if c in df.columns:
                df[c] = df[c].map(lambda x: x if pd.isna(x) else f"{prefix}{x}")
        tables[name] = df
    return tables


def write_synthetic_partitioned(n_accounts: int, path, partitions: int, *, seed: int = 0, truth="influence",
                                chunk_accounts: int = CHUNK_ACCOUNTS, overwrite: bool = False, **params) -> Path:
    """Write a synthetic village as K Parquet partitions, generated chunk by chunk in bounded memory.

    With ``n_accounts <= chunk_accounts`` the village is exactly
    ``make_village(n_accounts, seed=seed, truth=truth, **params)`` (ground truth in
    ``path/truth/``). A larger village is made of independent chunks of
    ``chunk_accounts`` accounts, chunk ``i`` being ``make_village(size, seed=s_i, ...)``
    with ``s_i`` drawn from ``numpy.random.SeedSequence([seed, i])`` and every id
    prefixed ``c{i:05d}-`` (so ids stay unique); memory is bounded by one chunk and
    no ``truth/`` is written (a million accounts' truth would not be read).

    Parameters
    ----------
    n_accounts : int
        Number of accounts.
    path : str or Path
        The folder to write (see :mod:`cxinfluence.village.partitions`).
    partitions : int
        K, the number of partitions.
    seed, truth, **params
        As in :func:`make_village` (e.g. ``waves_per_year=3``).
    chunk_accounts : int
        Accounts generated at a time.
    overwrite : bool
        Replace ``path`` if it holds a partitioned village.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from cxinfluence.village.partitions import read_manifest
    >>> out = write_synthetic_partitioned(30, pathlib.Path(tempfile.mkdtemp()) / "v", 4, seed=1, chunk_accounts=12)
    >>> m = read_manifest(out)
    >>> m["rows"]["accounts"], sorted({a.split("-")[0] for p in m["parts"] for a in (p["accounts"]["first"],)})[:1]
    (30, ['c00000'])
    """
    if not isinstance(chunk_accounts, (int, np.integer)) or chunk_accounts < 1:
        raise ValueError(f"chunk_accounts={chunk_accounts!r}; expected a positive integer")
    if not isinstance(n_accounts, (int, np.integer)) or n_accounts < 1:
        raise ValueError(f"n_accounts={n_accounts!r}; expected a positive integer")
    sizes = [min(chunk_accounts, n_accounts - start) for start in range(0, n_accounts, chunk_accounts)]
    with PartitionedWriter(path, partitions, overwrite=overwrite) as writer:
        if len(sizes) == 1:
            village, known = make_village(n_accounts, seed=seed, truth=truth, **params)
            tables = dict(village.tables())
            tables["stakeholders"] = raw_stakeholders(tables["stakeholders"])
            writer.add(tables)
            known.write(writer.tmp)
        else:
            for i, size in enumerate(sizes):
                village, _ = make_village(size, seed=_chunk_seed(seed, i), truth=truth, **params)
                writer.add(_prefixed(village, f"c{i:05d}-"))
                del village
    return Path(path)
