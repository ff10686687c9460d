"""Which way influence flows along a tie: the one rule every stage uses.

A ``relationships`` row ``source_id -> target_id`` keeps the direction the data
gives it (a map draws it so). Influence flows toward the person listened to:

* ``reports_to``: the source reports to the target, so the source defers to the
  target: endorsement edge ``source -> target`` (kept);
* ``influences``: the source's view carries weight with the target, so the target
  defers to the source: endorsement edge ``target -> source`` (reversed).

PageRank on the endorsement edges then gives more weight to managers and to
people who influence many (or influential) people. ``kind`` is read
case- and space-insensitively; a tie's weight is its ``weight`` column, blank = 1.

:func:`tie_kinds`, :func:`tie_weights` and :func:`endorse` are the rule on arrays
(used by the portfolio kernel in :mod:`cxinfluence.network.influence` and by the map
graphs in :mod:`cxinfluence.network.graph`); :func:`endorsement_edges` (tables) and
:func:`endorsement_graph` (networkx) apply it for readers.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..exceptions import GraphError, VillageWarning
from ..village.ids import arrow_identity

KINDS = ("reports_to", "influences")
REPORTS_TO, INFLUENCES = 0, 1


def tie_kinds(kind) -> np.ndarray:
    """Code of each tie's kind: 0 ``reports_to``, 1 ``influences`` (case and spaces ignored).

    >>> tie_kinds(pd.Series(["reports_to", " Influences "])).tolist()
    [0, 1]
    """
    fast = _exact_kinds(kind)
    if fast is not None:
        return fast
    # normalise the few distinct values, not millions of rows
    codes, distinct = pd.factorize(pd.Series(kind), use_na_sentinel=True)
    known = pd.Index(KINDS).get_indexer([str(d).strip().lower() for d in distinct])
    if (known < 0).any() or (codes < 0).any():
        bad = [str(d) for d in np.asarray(distinct, dtype=object)[known < 0]][:5] + (["nan"] if (codes < 0).any() else [])
        raise GraphError(f"relationships['kind'] has value(s) {bad}; expected 'reports_to' or 'influences'")
    codes = known[codes]
    return codes


def _exact_kinds(kind):
    """Codes of an Arrow text column whose values are all spelled exactly as in
    :data:`KINDS` (a loaded village's are), by one Arrow hash lookup; None otherwise."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = arrow_identity(kind)
    if arr is None or not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return None
    hit = pc.index_in(arr, value_set=pa.array(KINDS, type=arr.type))
    if hit.null_count:
        return None
    return np.asarray(hit.to_numpy() if isinstance(hit, pa.Array) else hit.combine_chunks().to_numpy(), dtype=np.int64)


def tie_weights(relationships: pd.DataFrame, weight="weight") -> np.ndarray:
    """Each tie's weight: the ``weight`` column (blank = 1), or 1 when there is none.

    Weights must be finite and > 0 (a tie either carries influence or is not a tie).
    """
    if weight is None or weight not in relationships.columns:
        return np.ones(len(relationships))
    col = relationships[weight]
    if col.dtype == np.float64:  # already numbers: one copy, blanks set to 1 in place
        w = col.to_numpy(dtype=float, copy=True)
        w[np.isnan(w)] = 1.0
    else:
        w = pd.to_numeric(col, errors="coerce").fillna(1.0).to_numpy(float)
    if np.any(w <= 0) or not np.all(np.isfinite(w)):
        raise GraphError(f"relationships[{weight!r}] has values <= 0 or infinite; tie weights must be > 0")
    return w


def endorse(source, target, kinds):
    """Endorsement edges ``(u, v)``, "u defers to v", of ties given in data direction.

    >>> endorse(np.array(["a", "b"]), np.array(["m", "c"]), np.array([REPORTS_TO, INFLUENCES]))
    (array(['a', 'c'], dtype='<U1'), array(['m', 'b'], dtype='<U1'))
    """
    reverse = np.asarray(kinds) == INFLUENCES
    return np.where(reverse, target, source), np.where(reverse, source, target)


def endorsement_edges(relationships: pd.DataFrame, stakeholders: pd.DataFrame, *, weight="weight") -> pd.DataFrame:
    """Ties among ``stakeholders`` turned into endorsement edges ``u -> v`` ("u defers to v").

    The readable table form of the rule (the portfolio kernel works on arrays).
    Ties touching someone not in ``stakeholders`` (departed, unknown) and
    self-ties are dropped; ties whose two ends sit in different accounts are
    dropped with a :class:`~cxinfluence.exceptions.VillageWarning`. Pairs tied by
    both kinds (or repeated rows) are summed into one edge.

    Returns
    -------
    DataFrame
        ``account_id, source_id, target_id, weight, kind`` where ``kind`` is
        ``"reports_to"``, ``"influences"`` or ``"reports_to+influences"``.

    Examples
    --------
    >>> s = pd.DataFrame({"stakeholder_id": ["a", "b", "c"], "account_id": ["A"] * 3})
    >>> r = pd.DataFrame({"source_id": ["a", "b", "b"], "target_id": ["b", "a", "c"],
    ...                   "kind": ["reports_to", "influences", "influences"], "weight": [1.0, 2.0, None]})
    >>> endorsement_edges(r, s)
      account_id source_id target_id  weight                   kind
    0          A         a         b     3.0  reports_to+influences
    1          A         c         b     1.0             influences
    """
    cols = ["account_id", "source_id", "target_id", "weight", "kind"]
    empty = pd.DataFrame({c: pd.Series(dtype=float if c == "weight" else object) for c in cols})
    if relationships is None or len(relationships) == 0 or len(stakeholders) == 0:
        return empty
    kinds = tie_kinds(relationships["kind"])
    u, v = endorse(relationships["source_id"].to_numpy(dtype=object),
                   relationships["target_id"].to_numpy(dtype=object), kinds)
    edges = pd.DataFrame({"source_id": u, "target_id": v, "weight": tie_weights(relationships, weight),
                          "kind": np.asarray(KINDS, dtype=object)[kinds]})
    account = pd.Series(stakeholders["account_id"].to_numpy(), index=stakeholders["stakeholder_id"].to_numpy())
    edges["account_id"] = edges["source_id"].map(account)
    target_account = edges["target_id"].map(account)
    keep = edges["account_id"].notna() & target_account.notna() & (edges["source_id"] != edges["target_id"])
    across = keep & (edges["account_id"] != target_account)
    if across.any():
        ex = edges.loc[across, ["source_id", "target_id"]].head(3).to_numpy().tolist()
        warnings.warn(f"{int(across.sum())} tie(s) join stakeholders of different accounts and were ignored, e.g. {ex}",
                      VillageWarning, stacklevel=2)
    edges = edges[keep & ~across]
    if edges.empty:
        return empty
    is_r = edges["kind"].eq("reports_to")
    edges = edges.assign(has_r=is_r, has_i=~is_r)
    out = edges.groupby(["account_id", "source_id", "target_id"], sort=False).agg(
        weight=("weight", "sum"), has_r=("has_r", "any"), has_i=("has_i", "any")).reset_index()
    out["kind"] = np.select([out["has_r"] & out["has_i"], out["has_r"]],
                            ["reports_to+influences", "reports_to"], "influences")
    return out[cols].reset_index(drop=True)


def endorsement_graph(G, weight="weight"):
    """The graph PageRank runs on: edge ``u -> v`` when u defers to v.

    ``reports_to`` parts of an edge keep their direction (report -> manager),
    ``influences`` parts are reversed (influenced -> influencer); parts that
    land on the same ordered pair are summed into ``weight``. Nodes (with
    their attributes) are kept, so people without ties stay as isolated nodes.

    Parameters
    ----------
    G : networkx.DiGraph
        From :func:`cxinfluence.network.graph.account_graph` (edges carry
        ``reports_to_weight`` and ``influences_weight``, or just ``kind`` and ``weight``).
    weight : str
        Name of the weight attribute written on the result.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.DiGraph()
    >>> G.add_edge("a", "b", kind="influences", weight=2.0)
    >>> G.add_edge("c", "b", kind="reports_to", weight=1.0)
    >>> sorted(endorsement_graph(G).edges(data="weight"))
    [('b', 'a', 2.0), ('c', 'b', 1.0)]
    """
    import networkx as nx

    H = nx.DiGraph()
    H.add_nodes_from(G.nodes(data=True))
    for u, v, d in G.edges(data=True):
        total = d.get("weight", 1.0)
        total = 1.0 if total is None else float(total)
        if "reports_to_weight" in d or "influences_weight" in d:
            parts = ((REPORTS_TO, float(d.get("reports_to_weight", 0.0))),
                     (INFLUENCES, float(d.get("influences_weight", 0.0))))
        else:
            try:
                parts = ((tie_kinds([d.get("kind")])[0], total),)
            except GraphError:
                raise GraphError(f"edge ({u!r}, {v!r}) has kind={d.get('kind')!r}; "
                                 "expected 'reports_to' or 'influences'") from None
        for kind, w in parts:
            (a,), (b,) = endorse(np.array([u], dtype=object), np.array([v], dtype=object), [kind])
            if w > 0 and a != b:
                if H.has_edge(a, b):
                    H[a][b][weight] += w
                else:
                    H.add_edge(a, b, **{weight: w})
    return H
