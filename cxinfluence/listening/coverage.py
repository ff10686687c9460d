"""Who we hear in each account, who we miss, and what turnover does to it.

Seed 001 (key 1) asks to "identify all parties within a customer account with
the power to kill a buying decision... keep a radar on their sentiment". This
module measures how well that radar covers each account's village, as of a
date, and what to do about the gaps:

* :func:`coverage` -- one row per account: stakeholders, responders, the share
  of the account's influence heard recently, veto holders not heard, whether
  one contact carries the relationship, roles missing, recent departures and
  whether a key influencer left;
* :func:`manager_books` -- one row per account manager: relationships carried
  against Dunbar's ~150 and how revenue is concentrated across the book;
* :func:`listening_plan` -- per account, whom to survey next;
* :func:`turnover_what_if` -- remove people (or restore those who left) and
  compare influence, coverage and single points of failure before and after.

Definitions shared by every function (``t`` = ``as_of``)
--------------------------------------------------------
* **active**: :func:`cxinfluence.village.asof.active_mask` (``active_from`` blank or
  ``<= t``; ``active_to`` blank or ``> t``).
* **heard**: an active stakeholder with at least one response (any row of
  ``responses``, survey or informal, whatever items it answered) dated in
  ``[t - window_days, t)`` (:func:`cxinfluence.village.asof.window_mask`). A response
  dated on ``t`` itself does not count; ``window_days=None`` looks back forever.
* **influence share** ``w_i``: the stakeholder's ``influence``
  (:func:`cxinfluence.network.influence.influence_weights`, or the table the caller
  passes) divided by the sum over the account's *active* stakeholders, so the
  shares sum to 1 per account even if the table passed holds other people.
* **heard influence** of account ``a``: ``H_a = sum_{i in a, heard} w_i``, in
  ``[0, 1]``; NaN for an account with no active stakeholder.
* **last_heard**: the latest response strictly before ``t``, with no window
  limit, so a veto holder heard only long ago shows when.

References
----------
Dunbar, R. I. M. (1992). Neocortex size as a constraint on group size in
primates. *Journal of Human Evolution*, 22(6), 469-493.

Dunbar, R. I. M. (1998). The social brain hypothesis. *Evolutionary
Anthropology*, 6(5), 178-190.

Seed 002 ("5 Rules for Managing Your Customer Experience in B2B"): the Dunbar
number (~150, closest layer ~5) limits the relationships one person can
manage; a sales team that knew 80% of revenue came from 20% of accounts left
the other accounts effectively without an account manager.

Hopcroft, J. & Tarjan, R. (1973). Efficient algorithms for graph manipulation
(Algorithm 447). *Communications of the ACM*, 16(6), 372-378 (articulation
points as :func:`networkx.articulation_points` defines them, found for every account at once by
:func:`cxinfluence.network.cuts.articulation_points_blocks`).

Gini, C. (1912). *Variabilità e mutabilità*; the sorted-values formula used
here is in Damgaard & Weiner (2000), *Ecology* 81(4), 1139-1142.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from ..village.asof import DEFAULT_WINDOW_DAYS, to_timestamp
from ..village.ids import THREADS as _THREADS
from ..village.ids import join_ids
from .departures import _departure_mask, _departures, _influence_at_departure, _reads_only
from .people import (
    _account_summary,
    _check_share,
    _check_village,
    _check_window,
    _default_influence_fn,
    _people,
    _rows,
)
from .plan import _check_per_account, _plan

_COVERAGE_COLUMNS = [
    "account_id", "as_of", "n_stakeholders", "n_responders", "heard_influence",
    "veto_holders", "unheard_veto", "unheard_veto_ids", "single_threaded",
    "top_responder_share", "missing_roles", "departed", "departed_ids",
    "key_influencer_departed", "departed_max_influence", "last_heard",
]


# --------------------------------------------------------------------------
# argument checks
# --------------------------------------------------------------------------


def coverage(village, as_of, *, window_days=DEFAULT_WINDOW_DAYS, influence=None,
             single_thread_share=0.8, key_top=0.2, influence_fn=None) -> pd.DataFrame:
    """How well feedback covers each account's village, as of a date.

    Parameters
    ----------
    village : Village
    as_of : date-like
        One date; stakeholders active and responses usable are judged at it
        (module docstring).
    window_days : float or None, default 365
        Look-back for "heard recently" and for counting departures; None = ever.
    influence : DataFrame, optional
        ``stakeholder_id, influence`` for the people active at ``as_of``
        (e.g. ``influence_weights(village, as_of)``). Computed with
        ``influence_fn`` when omitted.
    single_thread_share : float in (0, 1], default 0.8
        An account is single-threaded when one active contact carries the
        relationship: exactly one responder in the window, or one responder
        giving at least this share of the window's responses.
    key_top : float in (0, 1], default 0.2
        A departed person is a key influencer when, at the instant before they
        left, their influence ranked in the top ``max(1, ceil(key_top * n))``
        of the ``n`` people then active in the account (ties share a rank), the
        "vital few" of seed 002's 80/20. Their influence then is computed by
        one extra call of ``influence_fn`` on the villages as they were at each
        departure (people active at that instant, with their ties).
    influence_fn : callable, optional
        ``(village, as_of) -> DataFrame`` with ``stakeholder_id, influence``;
        default :func:`cxinfluence.network.influence.influence_weights`. Used for
        ``influence`` when omitted, and for departed people's influence: if
        ``influence`` came from other settings, pass the same ones here, e.g.
        ``functools.partial(influence_weights, graph_share=1.0)``.

    Returns
    -------
    DataFrame
        One row per account (accounts table order):

        ``n_stakeholders``       active stakeholders at ``as_of``
        ``n_responders``         active stakeholders heard in the window
        ``heard_influence``      ``H = sum of w_i over heard i`` (module
                                 docstring); NaN when nobody is active
        ``veto_holders``         active stakeholders with ``veto``
        ``unheard_veto``         of those, not heard in the window (never, or
                                 only before it); ids ``;``-joined in
                                 ``unheard_veto_ids``
        ``single_threaded``      see ``single_thread_share``; False for an
                                 account with no responder (nobody carries it:
                                 see ``n_responders == 0``)
        ``top_responder_share``  the top responder's share of the window's
                                 responses from active people (NaN if none)
        ``missing_roles``        roles of ``schema.ROLES`` held by no active
                                 stakeholder, ``;``-joined ("" if none missing;
                                 unclassified roles count as no role)
        ``departed``             people whose ``active_to`` lies in
                                 ``[as_of - window_days, as_of]`` (left at or
                                 before ``as_of``; ever when ``window_days`` is
                                 None); ids in ``departed_ids``
        ``key_influencer_departed``  some departed person was a key influencer
                                 (``key_top``) at the instant before leaving,
                                 computed on the village as it was then
        ``departed_max_influence``   the largest such influence share (NaN if
                                 nobody departed)
        ``last_heard``           latest response of an active stakeholder
                                 before ``as_of`` (no window limit), NaT if none

    Raises
    ------
    CoverageError
        A bad option, or an ``influence`` table without a value for some
        active stakeholder (the message names them).

    Examples
    --------
    >>> import pandas as pd
    >>> from cxinfluence.village.core import Village
    >>> v = Village(
    ...     accounts=pd.DataFrame({"account_id": ["A"]}),
    ...     stakeholders=pd.DataFrame({
    ...         "stakeholder_id": ["a1", "a2", "a3"], "account_id": ["A"] * 3,
    ...         "role": ["decider", "buyer", "user"], "veto": [True, False, False],
    ...         "active_from": pd.NaT, "active_to": pd.NaT}),
    ...     relationships=pd.DataFrame(columns=["source_id", "target_id", "kind"]),
    ...     responses=pd.DataFrame({"stakeholder_id": ["a2", "a3"],
    ...                             "date": pd.to_datetime(["2024-03-01", "2024-06-30"])}),
    ...     outcomes=pd.DataFrame(columns=["account_id", "period_end", "renewed"]))
    >>> w = pd.DataFrame({"stakeholder_id": ["a1", "a2", "a3"], "influence": [0.5, 0.3, 0.2]})
    >>> cov = coverage(v, "2024-06-30", influence=w)
    >>> cov[["n_responders", "heard_influence", "unheard_veto_ids", "single_threaded"]]
       n_responders  heard_influence unheard_veto_ids  single_threaded
    0             1              0.3               a1             True
    >>> cov.loc[0, "missing_roles"]
    'influencer;gatekeeper'
    """
    return _coverage(village, *_checked(village, as_of, window_days, single_thread_share, key_top), influence,
                     influence_fn)[0]


def coverage_and_plan(village, as_of, *, window_days=DEFAULT_WINDOW_DAYS, influence=None, per_account=3,
                      single_thread_share=0.8, key_top=0.2, influence_fn=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`coverage` and :func:`cxinfluence.listening.plan.listening_plan` of one date from one pass.

    The two tables are those the two functions return with the same arguments; who is active, who was heard
    in the window and when last, and each person's influence share are worked out once for both (at 100,000
    accounts and 10M responses, 0.75 s of the pair's 5.5 s), and the default influence is computed once.

    Examples
    --------
    >>> from cxinfluence.listening.plan import listening_plan
    >>> from cxinfluence.village.synth import make_village
    >>> v, _ = make_village(6, seed=2)
    >>> cov, plan = coverage_and_plan(v, "2025-01-01")
    >>> cov.equals(coverage(v, "2025-01-01")), plan.equals(listening_plan(v, "2025-01-01"))
    (True, True)
    """
    checked = _checked(village, as_of, window_days, single_thread_share, key_top)
    _check_per_account(per_account)
    table, _, _, plan = _coverage(village, *checked, influence, influence_fn,
                                  beside=lambda people, rows: _plan(village, checked[0], checked[1], people, rows,
                                                                    per_account))
    return table, plan


def _checked(village, as_of, window_days, single_thread_share, key_top):
    """:func:`coverage`'s arguments checked: ``(as_of, window_days, single_thread_share, key_top)``."""
    _check_village(village)
    return (to_timestamp(as_of), _check_window(window_days), _check_share("single_thread_share", single_thread_share),
            _check_share("key_top", key_top))


#: Stakeholders from which the departed people's influence is computed on a second thread (:func:`_coverage`)
_BESIDE_PEOPLE = 100_000


def _coverage(village, as_of, window_days, single_thread_share, key_top, influence, influence_fn, beside=None):
    """The coverage table (arguments already checked), the active people and resolved ids it used, and
    ``beside(people, rows)`` (None without). In a large village the departed people's influence (stand-in
    villages at each departure, the longest part) is computed on a second thread while this one works out the
    active people, the summary and ``beside`` (numpy's loops release the GIL; the default influence on arrays
    warns nothing and runs no caller code, the only case threaded)."""
    if influence is None:
        influence = _default_influence_fn(influence_fn)(village, as_of)
    # the ties are only needed to rebuild the village at each departure
    rows = _rows(village, ties=bool(_departure_mask(village, as_of, window_days).any()))
    accounts = rows.accounts
    gone = _departures(village, as_of, window_days, rows)
    fn = _default_influence_fn(influence_fn)
    at_exit = (lambda: _influence_at_departure(village, gone, as_of, fn, key_top, rows)) if len(gone) else None
    thread = (at_exit is not None and _THREADS > 1 and len(village.stakeholders) >= _BESIDE_PEOPLE
              and _reads_only(fn, village.stakeholders))
    with ThreadPoolExecutor(1, thread_name_prefix="cx-departures") if thread else contextlib.nullcontext() as pool:
        if thread:
            at_exit = pool.submit(at_exit).result
        people = _people(village, as_of, window_days, influence, rows)
        out = _account_summary(people, accounts, single_thread_share)
        extra = beside(people, rows) if beside is not None else None
        exits = at_exit() if at_exit is not None else None

    gone_acc = gone["acc"].to_numpy()
    out["departed"] = np.bincount(gone_acc, minlength=len(accounts)).astype(int)
    out["departed_ids"] = join_ids(gone_acc, gone["stakeholder_id"].to_numpy(), len(accounts))
    if exits is not None:
        acc = exits["acc"].to_numpy()
        out["key_influencer_departed"] = np.bincount(acc, weights=exits["key_influencer"].to_numpy(),
                                                     minlength=len(accounts)) > 0
        top = np.full(len(accounts), -np.inf)
        np.maximum.at(top, acc, exits["influence"].fillna(-np.inf).to_numpy())
        out["departed_max_influence"] = np.where(np.isfinite(top), top, np.nan)
    else:
        out["key_influencer_departed"] = False
        out["departed_max_influence"] = np.nan
    out.insert(0, "as_of", as_of)
    return out.reset_index()[_COVERAGE_COLUMNS], people, rows, extra


# --------------------------------------------------------------------------
# account-manager books
# --------------------------------------------------------------------------
