"""Account sentiment as of a date: every weighting scheme side by side.

Pipeline (all vectorised over the portfolio with integer codes and
``np.bincount``; no Python loop over accounts):

1. **Responses** usable at ``t`` are those dated in ``[t - lead - window,
   t - lead)`` (:func:`cxinfluence.village.asof.window_mask`) from stakeholders
   **active** at ``t`` (:func:`cxinfluence.village.asof.active_mask`); a departed
   person's feedback no longer describes the village.
2. **Response sentiment** is the common ``[-1, 1]`` scale of
   :mod:`cxinfluence.village.scale` (mean of the items answered).
3. **Stakeholder sentiment** ``s_i`` is the mean of the person's usable
   responses, optionally recency-weighted with ``w = 0.5 ** (age_days /
   half_life_days)``. A person with a usable response is *heard*.
4. **Account schemes** combine the heard stakeholders ``i`` of account ``a``
   (formulas in the kernel functions below, each with a worked example):

   ==================== ======================================================
   ``mean``             plain mean of ``s_i`` over respondents: the NOT-THAT
                        baseline ("average and bar chart")
   ``nps``              the account's plain NPS in points, each respondent's
                        latest NPS answer (:mod:`cxinfluence.sentiment.metrics`)
   ``role_weighted``    ``sum r_i s_i / sum r_i``, ``r_i`` = weight of i's role
   ``influence_weighted`` influence ``pi_i`` from the buying-center graph; the
                        unheard share ``1 - H`` (``H = heard_influence``) is
                        imputed at the account's shrunk estimate (see
                        :func:`impute_unheard`), never silently dropped
   ``veto_floor``       ``min(influence_weighted, s_v + margin)`` for the
                        unhappiest heard veto holder ``v`` when ``s_v`` is
                        below ``veto_threshold`` (:func:`veto_floor`)
   ``nested``           person -> role (or department) -> account: role means
                        combined with role weights (:func:`nested_mean`)
   ``shrunk``           empirical-Bayes shrinkage of the heard influence-weighted
                        mean toward the segment mean; factor in ``shrinkage``
                        (:func:`eb_shrink`)
   ``disagreement``     influence-weighted SD of ``s_i`` (:func:`weighted_sd`)
   ==================== ======================================================

Uncertainty: each scheme ``x`` has ``x_se``, ``x_ci_low``, ``x_ci_high``
(``disagreement`` is descriptive and has none; ``nps`` has the Agresti-Min
interval of :func:`cxinfluence.sentiment.metrics.net_score_ci`). Sampling error is
*between stakeholders*: the people heard are treated as a sample of the
account's village.

* weighted means (``mean``, ``role_weighted``, ``nested``, the heard part of
  ``influence_weighted``): ``x_se`` is the linearisation (sandwich) SE of a
  ratio estimator (:func:`weighted_group_mean`); the interval is the
  bounded-scale Agresti-Coull-type interval of
  :func:`cxinfluence.intervals.bounded_mean_ci` on ``[-1, 1]`` with Kish's
  effective ``n`` (``z^2 / 2`` pseudo-people at each end of the scale), so it
  does not collapse when the respondents agree and is defined for one person;
* ``influence_weighted`` with imputation: the heard mean's interval mapped
  through the imputation, whose slope in the heard mean is
  ``H + (1 - H)(1 - B)`` (``B`` and the segment mean held fixed); the SE is
  scaled the same way;
* ``shrunk``: the empirical-Bayes posterior SD, normal interval;
* ``veto_floor``: where a veto holder was heard, a parametric bootstrap that
  redraws every heard veto holder's sentiment (noise: the pooled
  within-person SD over the portfolio over sqrt(their number of answers)) and
  the base, and reapplies the threshold and the minimum, its distribution
  computed exactly (no Monte Carlo error); basic bootstrap interval, which
  removes the first-order downward bias of a minimum of noisy means
  (:func:`veto_floor_interval`); otherwise the ``influence_weighted``
  interval.

Coverage of every interval at n = 2..30 is measured by
:mod:`cxinfluence.intervalcheck` (table in ``docs/methods.md``).

CIs are clipped to ``[-1, 1]``. An account with no heard stakeholder gets NaN
in every scheme (and ``n_respondents = 0``): the absence of evidence is
reported, not filled; a single respondent has a value and a (wide) interval
but no between-respondent SE (``shrunk_se`` stays finite: it is the posterior
SE, and ``veto_floor_se`` is finite when a veto holder was heard).

References
----------
Cochran, W. G. (1977). *Sampling Techniques*, 3rd ed., ch. 6 (ratio estimators).
Efron, B. & Morris, C. (1975). Data analysis using Stein's estimator and its
generalizations. *JASA* 70, 311-319.
Kish, L. (1965). *Survey Sampling*. Wiley (effective sample size).
Morris, C. N. (1983). Parametric empirical Bayes inference: theory and
applications. *JASA* 78, 47-55.
Van Bruggen, G. H., Lilien, G. L. & Kacker, M. (2002). Informants in
organizational marketing research: why use multiple informants and how to
aggregate responses. *J. Marketing Research* 39(4), 469-478.
Webster, F. E. & Wind, Y. (1972). A general model for understanding
organizational buying behavior. *J. Marketing* 36(2), 12-19.
"""

from __future__ import annotations

import contextlib
import functools

import numpy as np
import pandas as pd

from ..exceptions import MetricError
from ..village import asof as _asof
from ..village.ids import positions
from .estimators import (  # noqa: F401 - the scheme names and estimators, importable from here as before
    COMPARED_SCHEMES,
    DEFAULT_ROLE_WEIGHTS,
    PRIMARY_SCHEME,
    SCHEMES,
    SE_SCHEMES,
    VETO_THRESHOLD,
    eb_shrink,
    impute_unheard,
    item_sentiment,
    nested_mean,
    veto_floor,
    veto_floor_interval,
    weighted_group_mean,
    weighted_sd,
)
from .base import (_AHEAD_PEOPLE, _THREADS, _active, _Ahead, _as_of_table, _at, _base, _check_opts,
                   _last_heard_by_date, _padded, _people_influence, _score, _stakeholder_frame, _stakeholder_rows,
                   _usable)
from .kernel import schemes_from_codes
from .prior_stats import PortfolioPrior, _entry_from_stats


def account_sentiment(village, as_of, *, window_days=_asof.DEFAULT_WINDOW_DAYS, lead_days=0, half_life_days=None,
                      influence=None, role_weights=None, veto_threshold=VETO_THRESHOLD, veto_margin=0.25,
                      unheard="impute", nest_by="role", conf_level=0.95, prior=None) -> pd.DataFrame:
    """Account sentiment as of a date: every scheme side by side.

    Parameters
    ----------
    village : Village
    as_of : date, list of dates, or DataFrame
        One date, several (every account at each), or a DataFrame with
        columns ``account_id, as_of`` (one row per account and date;
        influence is computed once per unique date).
    window_days : int or None
        Look-back window in days (``None``: unlimited).
    lead_days : int
        Gap before ``as_of``: responses must be dated before ``as_of - lead``.
    half_life_days : float, optional
        Recency decay of a response ``h`` days old: ``0.5 ** (h / half_life_days)``.
    influence : DataFrame, optional
        ``stakeholder_id, influence`` (optionally ``as_of``); default
        :func:`cxinfluence.network.influence.influence_weights` at each date.
        Renormalised over each account's active stakeholders.
    role_weights : dict, optional
        Role -> weight for ``role_weighted`` and ``nested`` (default
        :data:`cxinfluence.village.schema.ROLE_WEIGHTS`, the table influence uses too;
        unlisted or blank roles weigh 1).
    veto_threshold, veto_margin : float
        See :func:`veto_floor`.
    unheard : {"impute", "renormalise"}
        Rule for unheard influence, see :func:`impute_unheard`.
    nest_by : {"role", "department"}
        Middle level of ``nested``; departments weigh equally.
    conf_level : float
    prior : PortfolioPrior, optional
        The portfolio-wide quantities (pooled variances, the shrinkage
        target and spread per segment, hence the imputation of unheard
        influence and the veto floor) from this prior
        (:class:`cxinfluence.sentiment.prior.PortfolioPrior`, e.g. the
        whole portfolio's), so a subset's rows equal its rows of the whole.
        Default: computed from the accounts of ``village`` themselves (every
        account at each date, also those ``as_of`` does not ask for). The
        prior used is ``PortfolioPrior.of(result)`` (kept in
        ``attrs["portfolio_prior"]`` as JSON).

    Returns
    -------
    DataFrame
        One row per account (and as_of): ``account_id, as_of,
        n_stakeholders, n_respondents, n_responses, heard_influence``, the
        :data:`SCHEMES` columns, ``shrinkage``, ``veto_binding``, ``nps_n``,
        and ``<scheme>_se``, ``<scheme>_ci_low``, ``<scheme>_ci_high``
        (``nps`` has a CI in points, see :func:`cxinfluence.sentiment.metrics.net_score_ci`),
        and ``influence_heard``, ``influence_heard_se``: the influence-weighted
        mean of the people heard before the unheard share is imputed (the
        input of :func:`cxinfluence.models.measurement.corrected_fit`).

    Examples
    --------
    >>> from cxinfluence.village.core import Village
    >>> v = Village(
    ...     accounts=pd.DataFrame({"account_id": ["A"]}),
    ...     stakeholders=pd.DataFrame({"stakeholder_id": ["p", "u"], "account_id": ["A", "A"],
    ...         "role": ["decider", "user"], "veto": [True, False]}),
    ...     relationships=pd.DataFrame(columns=["source_id", "target_id", "kind"]),
    ...     responses=pd.DataFrame({"stakeholder_id": ["p", "u"],
    ...         "date": pd.to_datetime(["2024-03-01", "2024-04-01"]), "nps": [2.0, 10.0]}),
    ...     outcomes=pd.DataFrame(columns=["account_id", "period_end", "renewed"]))
    >>> infl = pd.DataFrame({"stakeholder_id": ["p", "u"], "influence": [0.75, 0.25]})
    >>> t = account_sentiment(v, "2024-06-30", influence=infl)
    >>> t[["mean", "nps", "role_weighted", "influence_weighted", "veto_floor"]]
       mean  nps  role_weighted  influence_weighted  veto_floor
    0   0.2  0.0           -0.2                -0.2       -0.35

    The unhappy plant manager (NPS 2, sentiment -0.6, a veto holder) caps the
    account at -0.6 + 0.25 although the plain mean looks neutral.
    """
    return _tables(village, as_of, stakeholders=False, window_days=window_days, lead_days=lead_days,
                   half_life_days=half_life_days, influence=influence, role_weights=role_weights,
                   veto_threshold=veto_threshold, veto_margin=veto_margin, unheard=unheard, nest_by=nest_by,
                   conf_level=conf_level, prior=prior)[0]


def sentiment_tables(village, as_of, *, people_columns=None, people_categoricals=False,
                     **options) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`account_sentiment` and :func:`stakeholder_sentiment` from one pass.

    Same parameters as :func:`account_sentiment`, ``prior`` included (the
    stakeholder table uses ``window_days``, ``lead_days`` and
    ``half_life_days``; it pools nothing across accounts); ids are matched,
    items scored and responses windowed once for both tables. With several
    dates the per-village work is shared too: the items are scored once (for
    the responses some date can use) and ``last_heard`` comes from one pass
    over the responses; an ``influence`` table's ids are matched once per
    table and village (:func:`cxinfluence.village.ids.rows_for`).

    ``people_columns`` (default: all) names the stakeholder table's columns to
    build, for a caller that reads only some: the model frame reads
    ``account_id, as_of, role, veto, sentiment, nps``, and at portfolio scale
    the others (ids and departments of every person at every date, the
    ``last_heard`` pass) are several hundred MiB. ``people_categoricals=True``
    gives its ``account_id`` and ``role`` as pandas Categoricals (a code per
    row, not a text: 159 -> 27 MiB at 5.6M rows), when the village's account
    ids are unique (else as text).

    Examples
    --------
    >>> from cxinfluence.village.synth import make_village
    >>> v, _ = make_village(5, seed=1)
    >>> acc, people = sentiment_tables(v, "2025-01-01")
    >>> acc.equals(account_sentiment(v, "2025-01-01")), people.equals(stakeholder_sentiment(v, "2025-01-01"))
    (True, True)
    >>> lean = sentiment_tables(v, "2025-01-01", people_columns=("account_id", "sentiment"))[1]
    >>> lean.equals(people[["account_id", "sentiment"]])
    True
    >>> coded = sentiment_tables(v, "2025-01-01", people_columns=("account_id", "role"), people_categoricals=True)[1]
    >>> coded["role"].dtype.name, coded.astype(str).equals(people[["account_id", "role"]].astype(str))
    ('category', True)
    """
    return _tables(village, as_of, accounts=True, stakeholders=tuple(people_columns or ()) or True,
                   categoricals=people_categoricals, **options)


def _requested(pairs, ts, accounts):
    """Accounts (by position) that ``pairs`` asks for at ``ts``; None: all."""
    if pairs is None:
        return None
    asked = positions(pairs.loc[pairs["as_of"] == ts, "account_id"], accounts)
    mask = np.zeros(len(accounts), dtype=bool)
    mask[asked[asked >= 0]] = True
    return mask


def _tables(village, as_of, *, accounts=True, stakeholders=True, window_days=_asof.DEFAULT_WINDOW_DAYS,
            lead_days=0, half_life_days=None, influence=None, role_weights=None, veto_threshold=VETO_THRESHOLD,
            veto_margin=0.25, unheard="impute", nest_by="role", conf_level=0.95, prior=None, categoricals=False):
    """The account and/or stakeholder tables, one date at a time from one shared base."""
    _check_opts(unheard, nest_by, conf_level, veto_margin)
    window_days = _asof.check_window(window_days, error=MetricError)
    lead_days = _asof.check_lead(lead_days, error=MetricError)
    half_life_days = _asof.check_half_life(half_life_days, error=MetricError)
    if prior is not None and not isinstance(prior, PortfolioPrior):
        raise MetricError(f"prior is a {type(prior).__name__}; expected a PortfolioPrior "
                          "(cxinfluence.portfolio_prior(...) or PortfolioPrior.read(path)) or None")
    options = dict(window_days=window_days, lead_days=lead_days, half_life_days=half_life_days)
    dates, pairs = _as_of_table(village, as_of)
    if prior is not None and accounts:  # every date checked before any work
        for ts in dates:
            prior.entry(ts, **options)
    base = _base(village, role_weights=role_weights, nest_by=nest_by)
    dates = [pd.Timestamp(ts) for ts in dates]
    # stakeholders: True (every column), False, or the names of the columns wanted
    want = None if stakeholders is True or not stakeholders else set(stakeholders)
    # a large village's influence, date by date, on the second core while this thread scores (the same arrays)
    big = accounts and influence is None and _THREADS > 1 and len(village.stakeholders) >= _AHEAD_PEOPLE
    actives = [_active(base, ts) for ts in dates]  # who is active at each date
    then = functools.partial(_people_influence, base, actives)  # renormalised over them on the thread too
    with _Ahead(village, dates, then) if big else contextlib.nullcontext() as ahead:
        # the dates' arrays go when _dated returns (at 10M responses: 80 MB of scores and a mask per date)
        acc_frames, st_parts, entries = _dated(
            base, dates, actives, pairs, ahead, accounts=accounts, stakeholders=stakeholders, want=want,
            options=options, influence=influence, prior=prior, veto_threshold=veto_threshold,
            veto_margin=veto_margin, unheard=unheard, conf_level=conf_level)
    actives = then = None  # the dates' masks go too
    base.pop("x", None)
    out = None
    if accounts:
        out = pd.concat(acc_frames, ignore_index=True)
        acc_frames = None  # concatenated: not held twice while the people table is built
        lead = ["account_id", "as_of", "n_stakeholders", "n_respondents", "n_responses", "heard_influence"]
        cols = lead + list(SCHEMES) + ["shrinkage", "veto_binding", "nps_n"]
        out = out[cols + [c for c in out.columns if c not in cols]]
    people = _stakeholder_frame(base, dates, st_parts, want, categoricals) if stakeholders else None
    for table in (out, people):
        if table is not None:
            _asof.record_options(table, window_days=window_days, lead_days=lead_days, half_life_days=half_life_days)
    if out is not None:  # the prior these scores used: the one given, or the one of these accounts
        # as plain JSON (PortfolioPrior.of reads it back): DataFrame.to_parquet writes attrs as JSON
        out.attrs["portfolio_prior"] = (prior if prior is not None else PortfolioPrior(tuple(entries))).to_attrs()
    return out, people


def _dated(base, dates, actives, pairs, ahead, *, accounts, stakeholders, want, options, influence, prior,
           veto_threshold, veto_margin, unheard, conf_level):
    """Each date's account rows (``acc_frames``), stakeholder arrays (``st_parts``) and prior entry: which responses
    count (``actives``: who is active at each date), the items scored once where needed, then the schemes date by
    date (``ahead``: the dates' influence computed on another thread, :class:`~cxinfluence.sentiment.base._Ahead`)."""
    window_days, lead_days, half_life_days = options["window_days"], options["lead_days"], options["half_life_days"]
    acc_frames, st_parts, entries, people = [], [], [], None
    usables = [_usable(base, ts, window_days=window_days, lead_days=lead_days, active=a)
               for ts, a in zip(dates, actives)]
    if len(usables) > 1:  # one date scores its own responses (_scored)
        _score(base, np.logical_or.reduce([u for u, _ in usables]))
    last_wanted = stakeholders and (want is None or "last_heard" in want)
    lasts = _last_heard_by_date(base, [end for _, end in usables]) if last_wanted else [None] * len(dates)
    for j, (ts, active, usable, last) in enumerate(zip(dates, actives, usables, lasts)):
        p = _at(base, ts, window_days=window_days, lead_days=lead_days, half_life_days=half_life_days,
                influence=influence, need_influence=accounts, active=active, usable=usable,
                computed=None if ahead is None else functools.partial(ahead.take, j))
        p["last_heard"] = last
        wanted = _requested(pairs, ts, p["accounts"])
        if accounts:
            params = None if prior is None else prior.parameters(ts, base["seg_labels"], **options)
            stats = {}
            acc, people = schemes_from_codes(
                p["r_sh"], p["x"], p["s_acc"], p["role_codes"], p["veto"], p["inf"], len(p["accounts"]),
                resp_weight=p["weight"], resp_nps=p["nps"], resp_time=p["r_time"], account_segment=p["seg"],
                role_weights=p["role_w"],
                nest_codes=p["nest_codes"], nest_weights=p["nest_w"], veto_threshold=veto_threshold,
                veto_margin=veto_margin, unheard=unheard, conf_level=conf_level, portfolio=params,
                portfolio_stats=stats)
            entries.append(_entry_from_stats(ts, options, stats, _padded(base["seg_labels"], stats)))
            df = pd.DataFrame({"account_id": p["accounts"], "as_of": ts, **acc})
            acc_frames.append(df if wanted is None else df[wanted].reset_index(drop=True))
        if stakeholders:
            st_parts.append(_stakeholder_rows(base, p, None if wanted is None else wanted[p["s_acc"]], want,
                                              people=people))  # None without the account schemes
    return acc_frames, st_parts, entries


def stakeholder_sentiment(village, as_of, *, window_days=_asof.DEFAULT_WINDOW_DAYS, lead_days=0,
                          half_life_days=None) -> pd.DataFrame:
    """One row per stakeholder active at ``as_of``, with their sentiment.

    ``sentiment`` is the (recency-weighted) mean common-scale sentiment of the
    person's responses in the window, NaN when not heard; ``nps`` is their
    latest NPS answer; ``n_responses`` and ``last_heard`` follow :mod:`cxinfluence.village.heard`
    (every response in the window; the latest response before ``as_of``, however old).
    Parameters as in :func:`account_sentiment`.

    Examples
    --------
    >>> from cxinfluence.village.core import Village
    >>> v = Village(pd.DataFrame({"account_id": ["A"]}),
    ...     pd.DataFrame({"stakeholder_id": ["p", "q"], "account_id": ["A", "A"]}),
    ...     pd.DataFrame(), pd.DataFrame({"stakeholder_id": ["p", "p"],
    ...         "date": pd.to_datetime(["2024-01-01", "2024-05-01"]), "csat": [5.0, 3.0]}),
    ...     pd.DataFrame())
    >>> stakeholder_sentiment(v, "2024-06-30")[["stakeholder_id", "sentiment", "n_responses"]]
      stakeholder_id  sentiment  n_responses
    0              p        0.5            2
    1              q        NaN            0
    """
    return _tables(village, as_of, accounts=False, window_days=window_days, lead_days=lead_days,
                   half_life_days=half_life_days)[1]


def role_sentiment(village, as_of, *, window_days=_asof.DEFAULT_WINDOW_DAYS, lead_days=0,
                   half_life_days=None) -> pd.DataFrame:
    """Long table of each account's sentiment by role, for the roles heard.

    ``sentiment`` is the plain mean of the role's heard stakeholders (the
    middle level of ``nested``); ``n_respondents`` how many were heard.
    Blank roles appear as ``role = NaN``.

    Examples
    --------
    >>> from cxinfluence.village.core import Village
    >>> v = Village(pd.DataFrame({"account_id": ["A"]}),
    ...     pd.DataFrame({"stakeholder_id": ["o1", "o2", "pm"], "account_id": ["A"] * 3,
    ...                   "role": ["user", "user", "decider"]}),
    ...     pd.DataFrame(), pd.DataFrame({"stakeholder_id": ["o1", "o2", "pm"],
    ...         "date": pd.to_datetime(["2024-01-01"] * 3), "csat": [5.0, 4.0, 1.0]}),
    ...     pd.DataFrame())
    >>> role_sentiment(v, "2024-06-30")[["role", "sentiment", "n_respondents"]]
          role  sentiment  n_respondents
    0  decider      -1.00              1
    1     user       0.75              2
    """
    st = stakeholder_sentiment(village, as_of, window_days=window_days, lead_days=lead_days,
                               half_life_days=half_life_days)
    if "role" not in st.columns:
        st = st.assign(role=np.nan)
    heard = st[st["sentiment"].notna()]
    out = (heard.groupby(["account_id", "as_of", "role"], dropna=False, sort=True)["sentiment"]
           .agg(sentiment="mean", n_respondents="size").reset_index())
    return out
