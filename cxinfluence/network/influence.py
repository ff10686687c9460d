"""Influence weights in every buying center: vectorised portfolio PageRank
blended with role priors and the account team's ratings.

Direction of influence
----------------------
In ``relationships``, ``A reports_to B`` makes B A's manager and
``A influences B`` means A's view carries weight with B. Influence flows toward
the person who is listened to, so both kinds are turned into *endorsement*
edges ``u -> v`` read as "u defers to v" (Brin & Page 1998: a link is a vote):

* ``A reports_to B``  ->  edge ``A -> B`` (the manager gains);
* ``A influences B``  ->  edge ``B -> A`` (the influencer gains; someone who
  influences many, or influences influential people, gets more weight).

Both kinds between the same pair in the same endorsement direction are one
edge whose weight is the sum of the tie weights (blank weight = 1). Self-ties
are dropped. :func:`cxinfluence.network.graph.account_graph` keeps the data's
direction (a map reads as the table does); its
:func:`~cxinfluence.network.graph.endorsement_graph` turns it into this direction, so
``nx.pagerank(endorsement_graph(account_graph(...)))`` reproduces the
``pagerank`` column below.

The blend
---------
For stakeholder *i* of account *a* (active at ``as_of``)::

    influence_i = (g * PR_i + r * R_i + t * T_i) / (g + r + t * [a has a rating])

* ``PR_i``: PageRank of *i* in the account's endorsement graph (damping
  ``alpha``; uniform teleport within the account; a person with no outgoing
  tie spreads their rank uniformly over the account, as ``networkx.pagerank``
  does). It sums to 1 over the account.
* ``R_i = prior(role_i) / sum_j prior(role_j)``: the role prior
  (:data:`cxinfluence.village.schema.ROLE_WEIGHTS`; blank or unlisted roles get
  ``UNKNOWN_ROLE_WEIGHT``).
* ``T_i = rating_i / sum_j rating_j``: the account team's ``influence_rating``
  (1-5). A blank rating is replaced by the mean rating of the account's rated
  stakeholders (an unrated person counts as average); when nobody in the
  account is rated the component is absent and the other shares are
  renormalised (the ``[a has a rating]`` term).
* ``g, r, t``: ``graph_share, role_share, rating_share`` (>= 0; they need not
  sum to 1, the blend is normalised).

Each component sums to 1 within an account, so ``influence`` does too.
Degenerate cases: a one-person account has influence 1; an account without
ties has uniform PageRank (every node is dangling); dangling nodes and
disconnected pieces are handled by the uniform teleport/dangling rule above;
an account with no active stakeholder at ``as_of`` gets no rows and a
:class:`~cxinfluence.exceptions.VillageWarning`.

Why blend? Positional power is a poor guide to who really decides (Bonoma
1982); communication centrality in the buying network predicts perceived
influence (Ronchetto, Hutt & Reingen 1989); roles come from Webster & Wind
(1972). The role priors are a documented judgement (deciders > gatekeepers >
buyers > influencers > users), not an estimate: pass your own ``role_weights``
(e.g. from the decision equation in :mod:`cxinfluence.models.fit`) or set
``role_share=0``.

References
----------
Bonoma, T. V. (1982). Major sales: who really does the buying? *Harvard
Business Review*, 60(3), 111-119.

Brin, S. & Page, L. (1998). The anatomy of a large-scale hypertextual Web
search engine. *Computer Networks and ISDN Systems*, 30(1-7), 107-117.

Ronchetto, J. R., Hutt, M. D. & Reingen, P. H. (1989). Embedded influence
patterns in organizational buying systems. *Journal of Marketing*, 53(4), 51-62.

Webster, F. E. & Wind, Y. (1972). A general model for understanding
organizational buying behavior. *Journal of Marketing*, 36(2), 12-19.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..exceptions import GraphError, VillageWarning
from ..village.asof import active_mask, resolve_as_of
from ..village.ids import arrow_identity, positions, remember, remembered, rows_of, seed_rows_for
from ..village.roles import complete_roles
from ..village.schema import ROLE_WEIGHTS, UNKNOWN_ROLE_WEIGHT
from .edges import endorse, tie_kinds, tie_weights
from .blend import _blend, role_weight_of, role_weights_at
from .pagerank import check_method, pagerank_blocks

#: Default relative weight of each buying role (see module docstring).
#: The role prior is the package's one role-weight table (:data:`cxinfluence.village.schema.ROLE_WEIGHTS`).
ROLE_PRIORS = ROLE_WEIGHTS
UNKNOWN_ROLE_PRIOR = UNKNOWN_ROLE_WEIGHT


# ----------------------------------------------------------------------------
# From a village to nodes and endorsement edges
# ----------------------------------------------------------------------------

def _positions(keys, values, *more_keys) -> np.ndarray:
    """Position of each key among ``values`` (see :func:`cxinfluence.village.ids.positions`)."""
    return positions(keys, values, *more_keys)


def _account_blocks(accounts: pd.Series, codes=None):
    """(order, block) that sort rows by account: ``block[i]`` is the 0-based
    account of sorted row ``i``; ``order`` is None when the rows are already
    grouped by account (the usual layout), which avoids hashing every row.

    ``codes``, when given, are the rows' account rows (:func:`cxinfluence.village.ids.rows_of`);
    if every account is listed, integers are compared instead of text (same result).
    """
    if codes is not None and len(codes) and codes.min() >= 0:
        change = np.r_[True, codes[1:] != codes[:-1]]
        if np.bincount(codes[change]).max() == 1:  # each account in one run: already grouped
            return None, np.cumsum(change) - 1
        first, _ = pd.factorize(codes)  # numbered by first appearance, as the text path does
        order = np.argsort(first, kind="stable")
        return order, first[order]
    values = accounts.array
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    change = np.r_[True, np.asarray(values[1:] != values[:-1], dtype=bool)]
    heads = np.flatnonzero(change)
    if pd.Index(values.take(heads)).is_unique:  # already grouped: no sort needed
        return None, np.cumsum(change) - 1
    codes, uniques = pd.factorize(accounts, sort=False)
    order = np.argsort(codes, kind="stable")
    return order, codes[order]


def _tie_rows(village, weight="weight"):
    """Every tie as an endorsement edge between stakeholders-table rows (-1: an id
    matching nobody), with its weight: the date-independent part of the graph,
    built once for several dates (:func:`influence_at_dates`); None without ties."""
    relationships = village.relationships
    if relationships is None or len(relationships) == 0:
        return None
    kinds = tie_kinds(relationships["kind"])
    w = tie_weights(relationships, weight)
    u, v = endorse(rows_of(village, "relationships", "source_id"), rows_of(village, "relationships", "target_id"),
                   kinds)
    return u, v, w


def _cached_tie_rows(village, weight="weight"):
    """:func:`_tie_rows`, its endorsement ends kept on the village for the very Arrow arrays they come
    from (the ties' ends and kinds, the stakeholder ids), so a second date or call does not code the
    kinds and swap the ends of every tie again; the weights are read afresh (a numeric column has no
    immutable array to key on). None when there are no ties or a column is not Arrow text."""
    rel = village.relationships
    if rel is None or len(rel) == 0 or not {"source_id", "target_id", "kind"} <= set(rel.columns) \
            or "stakeholder_id" not in village.stakeholders.columns:
        return None
    key = tuple(arrow_identity(c) for c in (rel["source_id"], rel["target_id"], rel["kind"],
                                             village.stakeholders["stakeholder_id"]))
    ends = remembered(village, "endorsement ends", key)
    if ends is None:
        ties = _tie_rows(village, weight)
        if any(k is None for k in key):
            return ties
        ends = ties[:2]
        for a in ends:
            a.flags.writeable = False
        remember(village, "endorsement ends", key, ends)
        return ties
    return ends[0], ends[1], tie_weights(rel, weight), _ties_within_accounts(village, ends)


def _ties_within_accounts(village, ends) -> bool:
    """True when every stakeholder's account is listed and no tie between two known people joins two
    accounts (kept on the village with the cached ``ends``): each date's graph then needs no check for ties
    across accounts. False when that is not known."""
    codes = _listed_accounts(village)
    if codes is None or (len(codes) and codes.min() < 0):
        return False
    key = (ends[0], arrow_identity(village.stakeholders["account_id"]), arrow_identity(village.accounts["account_id"]))
    within = remembered(village, "endorsement ends within accounts", key)
    if within is None:
        u, v = ends
        known = np.flatnonzero((u >= 0) & (v >= 0))
        within = not np.any(codes[u[known]] != codes[v[known]])
        remember(village, "endorsement ends within accounts", key, within)
    return within


def _endorsement_arrays(village, rows, block, weight="weight", ties=None, notes=None):
    """Endorsement edges (see module docstring) as positions into ``rows``
    (the stakeholders-table rows of the people in the graph, in node order).

    Drops ties touching unknown/inactive people and self-ties; warns about and
    drops ties across accounts. Parallel ties are left for the sparse matrix
    to sum. ``ties``: :func:`_tie_rows` of the village, when already built. ``notes``: see :func:`_solved`.
    """
    relationships = village.relationships
    if relationships is None or len(relationships) == 0 or len(rows) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    # stakeholders row -> node position; the extra last slot maps "unknown" (-1) to -1
    node_of = np.full(len(village.stakeholders) + 1, -1, dtype=np.int32)
    node_of[rows] = np.arange(len(rows), dtype=np.int32)
    if ties is None:
        ties = _cached_tie_rows(village, weight)
    if ties is None:
        kinds = tie_kinds(relationships["kind"])
        w = tie_weights(relationships, weight)
        a = node_of[rows_of(village, "relationships", "source_id")]
        b = node_of[rows_of(village, "relationships", "target_id")]
        keep = np.flatnonzero((a >= 0) & (b >= 0) & (a != b))  # both ends in the graph, no self-tie
        src, dst = endorse(a[keep], b[keep], kinds[keep])
    else:  # already in endorsement direction (a swap of the two ends: the same edges)
        src, dst = node_of[ties[0]], node_of[ties[1]]
        keep = np.flatnonzero((src >= 0) & (dst >= 0) & (src != dst))
        src, dst, w = src[keep], dst[keep], ties[2]
        if len(ties) > 3 and ties[3]:  # no tie joins two accounts (_ties_within_accounts)
            return src, dst, w[keep]
    w = w[keep]
    across = block[src] != block[dst]
    if across.any():
        _note(notes, f"{int(across.sum())} tie(s) join stakeholders of different accounts and were ignored")
        src, dst, w = src[~across], dst[~across], w[~across]
    return src, dst, w


def _active_rows(village, as_of) -> np.ndarray:
    """Positions in ``village.stakeholders`` of the people active at ``as_of``
    (omitted: :func:`cxinfluence.village.asof.default_as_of`)."""
    return np.flatnonzero(active_mask(village.stakeholders, resolve_as_of(village, as_of)).to_numpy())


def _active_people(village, rows, columns) -> pd.DataFrame:
    """``columns`` of the people at ``rows`` (roles completed when missing):
    taking only what is needed avoids copying every text column of millions of rows."""
    people = _with_roles(village.stakeholders)
    return people[[c for c in columns if c in people.columns]].iloc[rows]


def _with_roles(people: pd.DataFrame) -> pd.DataFrame:
    """``people`` with roles and veto completed (:func:`complete_roles`) when the table lacks them."""
    return people if {"role", "veto"} <= set(people.columns) else complete_roles(people)


def active_stakeholders(village, as_of=None) -> pd.DataFrame:
    """The stakeholders active at ``as_of`` (a new DataFrame, original index kept).

    ``as_of`` omitted means :func:`cxinfluence.village.asof.default_as_of` (the day after
    the latest response), as everywhere. Roles and veto are completed
    (:func:`cxinfluence.village.roles.complete_roles`) if the table lacks them.

    >>> from cxinfluence.village.core import Village
    >>> s = pd.DataFrame({"stakeholder_id": ["a", "b"], "account_id": ["A", "A"], "role": ["user", "buyer"],
    ...                   "veto": [False, False], "active_to": pd.to_datetime([None, "2024-01-01"])})
    >>> v = Village(pd.DataFrame({"account_id": ["A"]}), s, pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
    >>> active_stakeholders(v)["stakeholder_id"].tolist(), active_stakeholders(v, "2023-06-01")["stakeholder_id"].tolist()
    (['a'], ['a', 'b'])
    """
    people = village.stakeholders
    if "role" not in people.columns or "veto" not in people.columns:
        people = complete_roles(people)
    return people.iloc[_active_rows(village, as_of)].copy()


def _check_share(name, value):
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name}={value!r} must be a finite number >= 0 (it is a relative weight of the blend)")


def influence_weights(village, as_of=None, *, alpha=0.85, weight="weight", graph_share=0.5, role_share=0.3,
                      rating_share=0.2, role_weights=None, max_iter=100, tol=1.0e-10, role_priors=None,
                      method="exact") -> pd.DataFrame:
    """Influence of every active stakeholder, summing to 1 within each account.

    See the module docstring for the formula, the direction of ties and the
    references.

    Parameters
    ----------
    village : Village
    as_of : date-like, optional
        Stakeholders active at this date (omitted: the day after the latest
        response, :func:`cxinfluence.village.asof.default_as_of`) and ties among them.
    alpha : float
        PageRank damping factor.
    weight : str or None
        Column of ``relationships`` holding tie strength (blank = 1).
    graph_share, role_share, rating_share : float
        Relative weights (>= 0, not all 0) of PageRank, role prior and rating.
    role_weights : dict, optional
        Role -> relative weight (>= 0), defaults to
        :data:`cxinfluence.village.schema.ROLE_WEIGHTS` (the same table the sentiment schemes
        use). Roles not listed, and blank roles, get ``UNKNOWN_ROLE_WEIGHT`` (1).
        ``role_priors`` is the old name of this argument (deprecated).
    max_iter, tol, method
        PageRank accuracy (:func:`~cxinfluence.network.pagerank.portfolio_pagerank`): by default every
        account's PageRank is within ``tol=1e-10`` (L1) of the exact fixed
        point (solved directly, in practice to about 1e-16);
        ``method="power", tol=1e-6`` reproduces ``nx.pagerank`` at its default
        tolerance iterate for iterate.

    Returns
    -------
    DataFrame
        One row per active stakeholder, grouped by account (in the order of
        the stakeholders table): ``account_id, stakeholder_id, role,
        department, veto, influence_rating, pagerank, role_prior,
        rating_share, rating_imputed, influence``. ``rating_share`` is NaN
        when nobody in the account is rated; ``rating_imputed`` flags blank
        ratings replaced by the account mean. The ``pagerank`` column is the
        fixed point ``nx.pagerank`` converges to on each account's
        endorsement graph (:func:`cxinfluence.network.edges.endorsement_graph`).

    Warns
    -----
    VillageWarning
        For accounts (listed in ``village.accounts`` or referenced by a
        stakeholder) with no active stakeholder at ``as_of``: they get no rows.

    Examples
    --------
    >>> from cxinfluence.village.core import Village
    >>> s = pd.DataFrame({"stakeholder_id": ["pm", "op", "buy"], "account_id": ["A"] * 3,
    ...                   "role": ["decider", "user", "buyer"], "veto": [True, False, False],
    ...                   "influence_rating": [5.0, 2.0, None]})
    >>> r = pd.DataFrame({"source_id": ["op", "buy"], "target_id": ["pm", "pm"], "kind": ["reports_to"] * 2})
    >>> v = Village(pd.DataFrame({"account_id": ["A"]}), s, r, pd.DataFrame(), pd.DataFrame())
    >>> w = influence_weights(v)
    >>> w[["stakeholder_id", "pagerank", "role_prior", "rating_share", "influence"]].round(3)
      stakeholder_id  pagerank  role_prior  rating_share  influence
    0             pm     0.574       0.500         0.476      0.532
    1             op     0.213       0.167         0.190      0.194
    2            buy     0.213       0.333         0.333      0.273
    >>> float(w["influence"].sum())
    1.0
    """
    out, rows = influence_with_rows(village, as_of, alpha=alpha, weight=weight, graph_share=graph_share,
                                    role_share=role_share, rating_share=rating_share,
                                    role_weights=_renamed(role_weights, role_priors),
                                    max_iter=max_iter, tol=tol, method=method)
    seed_rows_for(village, out["stakeholder_id"], rows)  # the caller's table, passed on to other stages: no re-hashing
    return out


def _renamed(role_weights, role_priors):
    if role_priors is None:
        return role_weights
    warnings.warn("role_priors= is now role_weights= (one name and one default table for every stage); "
                  "the old name goes away in the next release", DeprecationWarning, stacklevel=3)
    if role_weights is not None:
        raise ValueError("give role_weights= only (role_priors= is its old name)")
    return role_priors


def influence_at_dates(village, dates, **options) -> list:
    """:func:`influence_weights` at each of ``dates`` (a list; same keyword options),
    with the date-independent part of the graph (every tie matched to its two
    people, its kind and weight) built once. Equal to calling
    :func:`influence_weights` date by date.

    >>> from cxinfluence.village.synth import make_village
    >>> v, _ = make_village(5, seed=1)
    >>> a, b = influence_at_dates(v, ["2024-01-01", "2025-01-01"])
    >>> a.equals(influence_weights(v, "2024-01-01")), b.equals(influence_weights(v, "2025-01-01"))
    (True, True)
    """
    options["role_weights"] = _renamed(options.get("role_weights"), options.pop("role_priors", None))
    ties = _tie_rows(village, options.get("weight", "weight"))
    return [influence_with_rows(village, d, _ties=ties, **options)[0] for d in dates]


def influence_with_rows(village, as_of=None, *, alpha=0.85, weight="weight", graph_share=0.5, role_share=0.3,
                       rating_share=0.2, role_weights=None, max_iter=100, tol=1.0e-10, method="exact", _ties=None):
    """:func:`influence_weights` and, for each of its rows, the row of ``village.stakeholders``.

    For stages that go on from positions in the village's own tables (no id
    needs hashing again): ``table, rows = influence_with_rows(village, as_of)``.
    """
    columns = ("stakeholder_id", "account_id", "role", "department", "veto", "influence_rating")
    rows, block, pagerank, role_w, rating, shares, people = _solved(
        village, as_of, alpha=alpha, weight=weight, graph_share=graph_share, role_share=role_share,
        rating_share=rating_share, role_weights=role_weights, max_iter=max_iter, tol=tol, method=method, ties=_ties,
        columns=columns)
    # keep pandas' own string arrays: converting millions of ids to objects is slow
    out = pd.DataFrame({"account_id": people["account_id"], "stakeholder_id": people["stakeholder_id"]})
    for col in ("role", "department"):
        out[col] = people[col] if col in people.columns else np.nan
    out["veto"] = people["veto"].to_numpy(bool)
    out["influence_rating"] = rating
    out["pagerank"] = pagerank
    for name, values in _blend(block, pagerank, role_w, rating, *shares).items():
        out[name] = values
    return out, rows


def influence_of_rows(village, as_of=None, **options) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, influence)``: the ``influence`` column of :func:`influence_weights` (same options) and each value's
    row of ``village.stakeholders``, without the table's text columns (the sentiment at each date needs only
    these). The same arithmetic, so the same bits. ``notes=[]`` collects the :class:`VillageWarning` messages
    in that list instead of warning (for a caller computing on another thread, which warns itself).

    >>> from cxinfluence.village.synth import make_village
    >>> v, _ = make_village(5, seed=1)
    >>> rows, infl = influence_of_rows(v)
    >>> table, same_rows = influence_with_rows(v)
    >>> bool((rows == same_rows).all()), bool((infl == table["influence"].to_numpy()).all())
    (True, True)
    """
    rows, block, pagerank, role_w, rating, shares, _ = _solved(village, as_of, **options)
    return rows, _blend(block, pagerank, role_w, rating, *shares)["influence"]


def _solved(village, as_of, *, alpha=0.85, weight="weight", graph_share=0.5, role_share=0.3, rating_share=0.2,
            role_weights=None, max_iter=100, tol=1.0e-10, method="exact", ties=None, columns=(), notes=None):
    """What the blend needs, the options checked: ``(rows, block, pagerank, role_w, rating, shares, people)`` for
    the people active at ``as_of`` (rows of ``village.stakeholders`` grouped by account; ``block`` their
    account). ``people``: their ``columns`` (a caller's table), None without. Role weights come from the
    village's role codes (:func:`~cxinfluence.network.blend.role_weights_at`) when it has its own roles, else
    from the (completed) role column; ratings off the taken people, else off the whole column at the rows: the
    same values either way. ``notes``: a list that collects the warnings' messages instead (:func:`_note`)."""
    check_method(method, alpha, tol, max_iter)
    for name, value in (("graph_share", graph_share), ("role_share", role_share), ("rating_share", rating_share)):
        _check_share(name, value)
    if graph_share + role_share + rating_share <= 0:
        raise ValueError("graph_share, role_share and rating_share are all 0; give at least one a positive weight")
    priors = dict(ROLE_WEIGHTS if role_weights is None else role_weights)
    for role, value in priors.items():
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"role_weights[{role!r}]={value!r}; expected a finite weight >= 0")

    rows, block = _active_blocks(village, as_of)
    _warn_empty_accounts(village, block, as_of, rows, notes)
    src, dst, w = _endorsement_arrays(village, rows, block, weight=weight, ties=ties, notes=notes)
    pagerank, _ = pagerank_blocks(block, src, dst, w, alpha=alpha, max_iter=max_iter, tol=tol, method=method)
    people = _active_people(village, rows, columns).reset_index(drop=True) if columns else None
    source, at = (people, slice(None)) if columns else (_with_roles(village.stakeholders), rows)
    # the village's role codes when its roles are used as they are (_with_roles completes them otherwise)
    own = {"role", "veto"} <= set(village.stakeholders.columns)
    role_w = role_weights_at(village, rows, priors) if own else None
    if role_w is None:
        role_w = role_weight_of(source["role"] if "role" in source.columns else None, priors, len(source))[at]
    rating = (pd.to_numeric(source["influence_rating"], errors="coerce").to_numpy(float)[at]
              if "influence_rating" in source.columns else np.full(len(rows), np.nan))
    return rows, block, pagerank, role_w, rating, (graph_share, role_share, rating_share), people


def _active_blocks(village, as_of):
    """``(rows, block)``: the rows of ``village.stakeholders`` active at ``as_of``, grouped by account (in the
    table's order when it is grouped already), and each one's account as 0, 0, 1, ... (contiguous)."""
    rows = _active_rows(village, as_of)
    accounts = village.stakeholders["account_id"]
    blank = accounts.isna().to_numpy()[rows] if accounts.hasnans else np.zeros(0, dtype=bool)
    if blank.any():  # validation rejects these; a Village built by hand may have them
        raise GraphError(f"stakeholders has {int(blank.sum())} active row(s) with a blank account_id "
                         f"(rows {rows[blank][:5].tolist()}); every stakeholder needs an account")
    listed = _listed_accounts(village)
    codes = None if listed is None else listed[rows]
    # the account ids as text only when some account is not listed (integers compared otherwise)
    text = accounts.iloc[rows] if codes is None or not len(codes) or codes.min() < 0 else None
    order, block = _account_blocks(text, codes)
    return (rows if order is None else rows[order]), block


def _unique_accounts(accounts: pd.Series) -> pd.Index:
    """Distinct account ids, hashing only the first row of each run of equal ids."""
    if len(accounts) == 0:
        return pd.Index([])
    values = accounts.dropna().array
    change = np.r_[True, np.asarray(values[1:] != values[:-1], dtype=bool)]
    return pd.Index(pd.unique(values.take(np.flatnonzero(change))))


def _empty_accounts(village, block, rows) -> pd.Index:
    """Account ids (sorted) listed in ``village.accounts`` or referenced by a
    stakeholder that have nobody among the stakeholders at ``rows`` (grouped by account: ``block``); when every
    stakeholder's account is listed their accounts' rows are read off the village's id cache instead of hashing
    their ids."""
    heads = np.flatnonzero(np.r_[True, block[1:] != block[:-1]]) if len(block) else np.zeros(0, dtype=np.int64)
    st_acc = _listed_accounts(village)
    if st_acc is not None and (len(st_acc) == 0 or st_acc.min() >= 0):
        # every stakeholder's account is listed, so the known accounts are the listed ones:
        # mark those present (one account per block) instead of hashing every stakeholder's text
        ids = village.accounts["account_id"]
        seen = np.zeros(len(ids), dtype=bool)
        seen[st_acc[rows[heads]]] = True  # one row per block is its account's row
        missing = ids[~seen & ids.notna().to_numpy()]
        if not len(missing):  # the usual case: no text to compare
            return pd.Index([], dtype=ids.dtype)
        # a repeated id is marked at its first row only: the difference drops it again
        present = village.stakeholders["account_id"].take(rows[heads])
        return pd.Index(missing.unique()).difference(pd.Index(present))
    present = village.stakeholders["account_id"].take(rows[heads])
    known = _unique_accounts(village.stakeholders["account_id"])
    if village.accounts is not None and "account_id" in village.accounts.columns:
        known = known.union(pd.Index(village.accounts["account_id"].dropna().unique()))
    return known.difference(pd.Index(present))


def _listed_accounts(village):
    """Each stakeholder's row in ``village.accounts`` (-1: not listed), or None
    when there is no accounts table to look in."""
    accounts = village.accounts
    if accounts is None or "account_id" not in accounts.columns or "account_id" not in village.stakeholders.columns:
        return None
    return rows_of(village, "stakeholders", "account_id")


def _warn_empty_accounts(village, block, as_of, rows, notes=None):
    empty = _empty_accounts(village, block, rows)
    if len(empty):
        when = "now (active_to blank)" if as_of is None else f"at as_of={str(as_of)!r}"
        shown = ", ".join(map(repr, empty[:10].tolist())) + (" ..." if len(empty) > 10 else "")
        _note(notes, f"{len(empty)} account(s) have no active stakeholder {when} and get no influence rows: {shown}")


def _note(notes, message):
    """A :class:`VillageWarning` about the village's graph: warned (pointing at the caller of the public
    function), or kept in ``notes`` for a caller that computed the influence on another thread and warns on
    its own (Python's warning filters are one per process: a thread cannot catch its own)."""
    if notes is None:
        warnings.warn(message, VillageWarning, stacklevel=5)
    else:
        notes.append(message)
