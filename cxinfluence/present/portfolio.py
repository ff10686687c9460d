"""Every account's buying-center graph at once, for Gephi (GEXF) and Kumu (spreadsheet), built from tables.

:mod:`cxinfluence.present.exports` writes the mapped accounts from their
networkx graphs. For the whole portfolio (thousands of accounts, millions of
people) building one networkx graph per account costs more than the rest of
the export, so this module works on the tables a run already has:

* :func:`portfolio_tables`: one row per person still there at the as-of date
  (the influence table, with names and titles from the stakeholders table and
  sentiment, responses and date last heard from the stakeholder sentiment
  table) and one row per tie between two of them in the same account (the
  ``relationships`` table, both kinds of one ordered pair on one row, as
  :func:`cxinfluence.network.graph.account_graphs` does);
* :func:`write_portfolio_gexf`: GEXF 1.2 written straight from those columns
  (node and edge ids, ``<attvalues>`` per row) - Gephi and
  ``networkx.read_gexf`` read it; the same attributes as
  :func:`~cxinfluence.present.exports.write_gexf` for the people listed;
* :func:`write_portfolio_kumu`: Kumu's two-sheet import (``Elements``,
  ``Connections``, columns as :func:`~cxinfluence.present.exports.kumu_tables`)
  in a streaming (write-only) workbook; every text cell stays text.

People who have left are not in these files (the maps of the selected
accounts keep them, marked). Customer text has its bidi controls removed
(:func:`cxinfluence.village.safetext.display_text`) and characters XML cannot
hold dropped.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import CxInfluenceError
from ..network.edges import INFLUENCES, REPORTS_TO, tie_kinds, tie_weights
from ..village.ids import arrow_text, find, rows_for, rows_of, unique_text
from ..village.io import EXCEL_MAX_ROWS  # Excel's row limit, defined once
from ..village.safetext import display_text
from .writebehind import write_behind
from .xlsxsheets import write_workbook
from .xmlcolumns import (
    attribute_column,
    join_columns,
    join_lines,
    plain_text,
    quote_flags,
    quote_numbers,
    quote_values,
    write_lines,
)

__all__ = ["NODE_COLUMNS", "EDGE_COLUMNS", "EXCEL_MAX_ROWS", "GEXF_MIDDLE", "GEXF_TAIL", "gexf_head",
           "portfolio_tables", "stable_xlsx", "write_gexf_edges", "write_gexf_nodes", "write_portfolio_gexf",
           "write_portfolio_kumu"]

#: node column -> GEXF attribute type
NODE_COLUMNS = {"account_id": "string", "name": "string", "title": "string", "role": "string",
                "department": "string", "veto": "boolean", "active": "boolean", "influence": "double",
                "sentiment": "double", "n_responses": "long", "last_heard": "string"}
#: edge column -> GEXF attribute type (``weight`` is GEXF's own edge weight)
EDGE_COLUMNS = {"account_id": "string", "kind": "string", "reports_to_weight": "double",
                "influences_weight": "double"}
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def portfolio_tables(village, influence, stakeholder_sentiment=None) -> tuple:
    """Nodes and edges of every account's current buying-center graph, as two DataFrames.

    Parameters
    ----------
    village : Village
    influence : DataFrame
        ``account_id, stakeholder_id, influence`` (and ``role, department,
        veto``), one row per person still there at the as-of date:
        :func:`cxinfluence.network.influence.influence_weights`.
    stakeholder_sentiment : DataFrame, optional
        ``stakeholder_id, sentiment, n_responses, last_heard`` at the same
        date (:func:`cxinfluence.sentiment.schemes.sentiment_tables`' second
        table); blank when omitted.

    Returns
    -------
    (nodes, edges) : tuple of DataFrame
        ``nodes``: ``id`` and :data:`NODE_COLUMNS`; ``id`` is the stakeholder
        id, or ``"<account_id>/<stakeholder_id>"`` when ids repeat across
        accounts. ``edges``: ``source, target, weight`` and
        :data:`EDGE_COLUMNS`, in the data's direction (``u reports to v``,
        ``u influences v``), ``kind`` ``reports_to``, ``influences`` or
        ``reports_to+influences``. The inputs are not modified.

    Examples
    --------
    >>> from cxinfluence.village.core import Village
    >>> s = pd.DataFrame({"stakeholder_id": ["a", "b", "c"], "account_id": ["A", "A", "B"],
    ...                   "name": ["Ann", "Bo", "Cy"]})
    >>> r = pd.DataFrame({"source_id": ["b", "b"], "target_id": ["a", "a"], "kind": ["reports_to", "influences"]})
    >>> infl = pd.DataFrame({"account_id": ["A", "A", "B"], "stakeholder_id": ["a", "b", "c"],
    ...                      "influence": [0.7, 0.3, 1.0]})
    >>> nodes, edges = portfolio_tables(Village(pd.DataFrame({"account_id": ["A", "B"]}), s, r, None, None), infl)
    >>> nodes[["id", "name", "influence"]].values.tolist()
    [['a', 'Ann', 0.7], ['b', 'Bo', 0.3], ['c', 'Cy', 1.0]]
    >>> edges[["source", "target", "kind", "weight"]].values.tolist()
    [['b', 'a', 'reports_to+influences', 2.0]]
    """
    nodes, ties = _nodes(village, influence, stakeholder_sentiment)
    return nodes, ties(nodes)


def _nodes(village, influence, stakeholder_sentiment):
    """:func:`portfolio_tables`' nodes, and the function that makes its edges from them (which reads only their
    ``id`` and ``account_id``: a writer can let the other columns go first)."""
    need = {"account_id", "stakeholder_id", "influence"}
    if influence is None or not need <= set(influence.columns):
        got = None if influence is None else list(influence.columns)
        raise CxInfluenceError(f"influence has columns {got}; expected at least {sorted(need)} "
                               "(cxinfluence.network.influence.influence_weights)")
    people = village.stakeholders
    base = influence[[c for c in ("account_id", "stakeholder_id", "role", "department", "veto", "influence")
                      if c in influence.columns]].reset_index(drop=True)
    key = base["stakeholder_id"]
    on = ["account_id", "stakeholder_id"]

    rows = _village_rows(village, influence)  # each person's row of the stakeholders table (cached), or None

    def matched(table, cols):
        """``table``'s ``cols`` for each row of ``base``, matched on account and id (ids may repeat across accounts)."""
        cols = [c for c in cols if c in table.columns]
        by = on if "account_id" in table.columns else ["stakeholder_id"]
        fast = _matched_unique(base, table, by, cols, rows if table is people else None)
        if fast is not None:
            return fast
        return base[by].merge(table[by + cols].drop_duplicates(by), on=by, how="left").set_index(base.index)

    extra = matched(people, ["name", "title", "role", "department", "veto"])
    nodes = pd.DataFrame({"account_id": base["account_id"].astype(str)})
    for col in ("name", "title", "role", "department", "veto"):
        if col in base.columns:
            nodes[col] = _values(base[col])
        elif col in extra.columns:
            nodes[col] = _values(extra[col])
        else:
            nodes[col] = None
    nodes["veto"] = nodes["veto"].fillna(False).astype(bool)
    nodes["active"] = True
    nodes["influence"] = base["influence"].to_numpy(float)
    ss = (matched(stakeholder_sentiment, ["sentiment", "n_responses", "last_heard"])
          if stakeholder_sentiment is not None else pd.DataFrame(index=base.index))
    n = len(base)
    nodes["sentiment"] = ss["sentiment"].to_numpy(float) if "sentiment" in ss.columns else np.full(n, np.nan)
    nodes["n_responses"] = (ss["n_responses"].fillna(0).to_numpy(np.int64) if "n_responses" in ss.columns
                            else np.zeros(n, np.int64))
    nodes["last_heard"] = _day_text(ss["last_heard"]) if "last_heard" in ss.columns else np.full(n, None, object)
    ids = key.astype(str)
    prefix = ids.duplicated().any()
    nodes.insert(0, "id", _values(nodes["account_id"] + "/" + ids) if prefix else _values(ids))
    return nodes, lambda listed: _edges(village, listed, ids, prefix, rows)


def _edges(village, nodes, ids, prefix, rows):
    """:func:`portfolio_tables`' ties between two people listed, in the same account; both kinds of one ordered pair
    on one row."""
    rel = village.relationships
    cols = ["source", "target", "weight", *EDGE_COLUMNS]
    if rel is None or not len(rel):
        return pd.DataFrame(columns=cols)
    # accounts as codes (-1: blank), not 1.4M Python strings (85 MiB at 100k accounts) compared tie by tie
    frame = None if prefix else _ties_unique(rel, ids, pd.factorize(nodes["account_id"])[0], _tie_rows(village, rows))
    if frame is None:
        account = nodes["account_id"].to_numpy()
        ties = pd.DataFrame({"src": _values(rel["source_id"].astype(str)),
                             "dst": _values(rel["target_id"].astype(str)), **_kind_weights(rel)})
        who = pd.DataFrame({"id": ids.to_numpy(), "acc": account, "code": np.arange(len(ids))})
        # the source in every account it is listed in, the target in the same account (ids may repeat across accounts)
        frame = (ties.merge(who.rename(columns={"id": "src", "code": "s"}), on="src")
                 .merge(who.rename(columns={"id": "dst", "code": "t"}), on=["dst", "acc"]))
        del ties
    frame = frame[frame["s"] != frame["t"]]
    # one int64 key per ordered pair: groups in order of first appearance, as grouping by (s, t) gives
    pair = frame["s"].to_numpy(np.int64) * len(nodes) + frame["t"].to_numpy(np.int64)
    frame = frame.groupby(pair, sort=False)[["reports_to_weight", "influences_weight"]].sum()
    r, i = frame["reports_to_weight"].to_numpy(), frame["influences_weight"].to_numpy()
    kinds = _KINDS[np.where((r > 0) & (i > 0), 2, np.where(r > 0, 1, 0))]
    s, t = np.divmod(frame.index.to_numpy(np.int64), len(nodes))
    edges = pd.DataFrame({"source": _taken(nodes["id"], s), "target": _taken(nodes["id"], t),
                          "weight": r + i, "account_id": _taken(nodes["account_id"], s), "kind": kinds,
                          "reports_to_weight": r, "influences_weight": i})
    return edges[cols]


#: a tie's kind by code: 0 influences only, 1 reports-to only, 2 both
_KINDS = np.array(["influences", "reports_to", "reports_to+influences"], dtype=object)


def _taken(col, rows):
    """``col``'s values at positions ``rows`` (Arrow's take for Arrow-backed text: no Python string per row)."""
    return col.array.take(rows) if isinstance(col.dtype, pd.StringDtype) else col.to_numpy()[rows]


def _values(col):
    """A column's values to put in another frame: Arrow-backed text as it is (no Python string per row)."""
    return col.array if isinstance(col.dtype, pd.StringDtype) else col.to_numpy()


def _positions(keys, queries) -> np.ndarray:
    """:func:`cxinfluence.village.ids.find` of unique ``keys``; no hashing when both list the same ids in the same
    order (the stakeholder tables of one run usually do)."""
    import pyarrow.compute as pc

    k, q = arrow_text(keys), arrow_text(queries)
    if k is not None and q is not None and len(k) == len(q) and not k.null_count and not q.null_count \
            and pc.all(pc.equal(k, q)).as_py():
        return np.arange(len(q), dtype=np.intp)
    return find(keys, queries)


def _village_rows(village, influence):
    """Row of ``village.stakeholders`` for each person of ``influence``, from the village's id cache
    (:func:`cxinfluence.village.ids.rows_for`: the run hashed these ids already); None unless both id columns are
    text and every person is in the table (then :func:`portfolio_tables` hashes as before)."""
    people = village.stakeholders
    if not all(isinstance(t["stakeholder_id"].dtype, pd.StringDtype) for t in (people, influence)):
        return None
    rows = rows_for(village, influence["stakeholder_id"])
    return rows if (rows >= 0).all() else None


def _tie_rows(village, rows):
    """Node row of each tie's source and target (-1: not listed) through the cached rows of the stakeholders table
    (:func:`cxinfluence.village.ids.rows_of`), for unique node ids; None when not available."""
    rel = village.relationships
    if rows is None or not all(isinstance(rel[c].dtype, pd.StringDtype) for c in ("source_id", "target_id")):
        return None
    node = np.full(len(village.stakeholders) + 1, -1, dtype=np.int32)  # the last slot: a tie to nobody listed
    node[rows] = np.arange(len(rows))
    return tuple(node[rows_of(village, "relationships", c)] for c in ("source_id", "target_id"))


def _day_text(values):
    """Dates as ``YYYY-MM-DD`` text (an object array, blanks as pandas' ``strftime`` gives them), each distinct
    date formatted once."""
    days = pd.to_datetime(values, errors="coerce")
    codes, distinct = pd.factorize(days, use_na_sentinel=False)
    return pd.Series(distinct).dt.strftime("%Y-%m-%d").to_numpy(object)[codes]


def _matched_unique(base, table, by, cols, pos=None):
    """:func:`portfolio_tables`' left join when ``table``'s ids are unique: one hash lookup, no merge; else None.

    With unique ids, matching on (account, id) is matching on the id and
    checking the account; the result is the merge's (same rows, columns, blanks).
    """
    key = table["stakeholder_id"]
    arr = arrow_text(key)
    if arr is None or arr.null_count or not unique_text(arr):
        return None
    pos = _positions(key, base["stakeholder_id"]) if pos is None else pos
    ok = pos >= 0
    take = np.where(ok, pos, 0)
    if "account_id" in by:
        ok &= _same_account(table["account_id"], take, base["account_id"])
    out = base[by].copy()
    for c in cols:
        col = table[c].iloc[take].reset_index(drop=True) if len(table) else pd.Series([None] * len(base))
        out[c] = col.where(pd.Series(ok)) if not ok.all() else col
    return out.set_index(base.index)


def _same_account(accounts, take, wanted) -> np.ndarray:
    """``accounts[take] == wanted`` row by row (Arrow kernels for text ids, else Python objects)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    a, b = arrow_text(accounts), arrow_text(wanted)
    if a is None or b is None:
        return accounts.to_numpy(object)[take] == wanted.to_numpy(object)
    return pc.fill_null(pc.equal(a.take(pa.array(take)), b), False).to_numpy(zero_copy_only=False)


def _kind_weights(rel, keep=None) -> dict:
    """Each tie's weight as ``reports_to_weight`` or ``influences_weight`` by its kind (0 for the other), for the
    ties at ``keep`` (every tie when None)."""
    w, kind = tie_weights(rel, "weight"), tie_kinds(rel["kind"])
    if keep is not None:
        w, kind = w[keep], kind[keep]
    return {"reports_to_weight": np.where(kind == REPORTS_TO, w, 0.0),
            "influences_weight": np.where(kind == INFLUENCES, w, 0.0)}


def _ties_unique(rel, ids, account, found=None):
    """Ties joined to node rows (``s``, ``t``) when node ids are unique: the merge's rows, in its order.

    ``account``: each node's account code (-1: blank, in no account). ``found``: each tie's source and target node
    rows when known (:func:`_tie_rows`), else the ids are hashed.
    Only the kept ties' weights are made (at 4.3M ties, four tie-long arrays fewer alive at once).
    """
    arr = arrow_text(ids)
    if arr is None or arr.null_count or not unique_text(arr):
        return None
    if found is None:
        src, dst = rel["source_id"].astype(str), rel["target_id"].astype(str)
        both = find(ids, pd.concat([src, dst], ignore_index=True))  # the ids hashed once
        found = both[:len(rel)], both[len(rel):]
    s, t = found
    keep = (s >= 0) & (t >= 0)
    keep[keep] &= (account[s[keep]] == account[t[keep]]) & (account[s[keep]] >= 0)  # the target in the source's account
    keep = np.flatnonzero(keep)
    s, t = s[keep], t[keep]
    return pd.DataFrame({"s": s, "t": t, **_kind_weights(rel, keep)})


def write_portfolio_graph(village, influence, stakeholder_sentiment, path) -> tuple:
    """:func:`portfolio_tables` written by :func:`write_portfolio_gexf` (the same bytes), the nodes before the ties
    are made: only the two node columns the ties need are held meanwhile (at 1.4M people, 0.15 GB of names,
    titles and other text less at the portfolio stage's peak). Returns ``(nodes, edges)``, the nodes table with
    its ``id`` and ``account_id`` only.

    Examples
    --------
    >>> import tempfile, os
    >>> from cxinfluence.village.core import Village
    >>> s = pd.DataFrame({"stakeholder_id": ["a", "b"], "account_id": ["A", "A"], "name": ["Ann", "Bo"]})
    >>> r = pd.DataFrame({"source_id": ["b"], "target_id": ["a"], "kind": ["reports_to"]})
    >>> infl = pd.DataFrame({"account_id": ["A", "A"], "stakeholder_id": ["a", "b"], "influence": [0.7, 0.3]})
    >>> v = Village(pd.DataFrame({"account_id": ["A"]}), s, r, None, None)
    >>> d = tempfile.mkdtemp()
    >>> nodes, edges = write_portfolio_graph(v, infl, None, os.path.join(d, "a.gexf"))
    >>> list(nodes.columns), len(edges)
    (['id', 'account_id'], 1)
    >>> p = write_portfolio_gexf(*portfolio_tables(v, infl), os.path.join(d, "b.gexf"))
    >>> open(os.path.join(d, "a.gexf"), "rb").read() == p.read_bytes()
    True
    """
    path = Path(path)
    nodes, ties = _nodes(village, influence, stakeholder_sentiment)
    ncols = [c for c in NODE_COLUMNS if c in nodes.columns]
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as raw, write_behind(raw) as f:  # written by a thread while the next block is quoted
        f.write(gexf_head(ncols, list(EDGE_COLUMNS)))  # the ties always have every edge column
        write_gexf_nodes(f, nodes, ncols)
        f.write(GEXF_MIDDLE)
        nodes = nodes[["id", "account_id"]]
        edges = ties(nodes)
        write_gexf_edges(f, edges, [c for c in EDGE_COLUMNS if c in edges.columns])
        f.write(GEXF_TAIL)
    tmp.replace(path)
    return nodes, edges


def write_portfolio_gexf(nodes, edges, path) -> Path:
    """Write :func:`portfolio_tables` as one GEXF 1.2 file (streamed, no networkx graph); return the path.

    Whole columns are quoted at once and each block of rows written as one
    buffer (:mod:`cxinfluence.present.xmlcolumns`); the bytes are those of the
    per-value rule (:mod:`cxinfluence.present.portfolio_reference`), tested equal.

    Examples
    --------
    >>> import tempfile, os, networkx as nx
    >>> nodes = pd.DataFrame({"id": ["a", "b"], "name": ["Ann", "<Bo>"], "influence": [0.7, 0.3]})
    >>> edges = pd.DataFrame({"source": ["b"], "target": ["a"], "weight": [1.0], "kind": ["reports_to"]})
    >>> G = nx.read_gexf(write_portfolio_gexf(nodes, edges, os.path.join(tempfile.mkdtemp(), "p.gexf")))
    >>> G.nodes["b"]["name"], G.edges["b", "a"]["kind"], G.edges["b", "a"]["weight"]
    ('<Bo>', 'reports_to', 1.0)
    """
    path = Path(path)
    ncols = [c for c in NODE_COLUMNS if c in nodes.columns]
    ecols = [c for c in EDGE_COLUMNS if c in edges.columns]
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as raw, write_behind(raw) as f:  # written by a thread while the next block is quoted
        f.write(gexf_head(ncols, ecols))
        write_gexf_nodes(f, nodes, ncols)
        f.write(GEXF_MIDDLE)
        write_gexf_edges(f, edges, ecols)
        f.write(GEXF_TAIL)
    tmp.replace(path)
    return path


def gexf_head(ncols, ecols) -> bytes:
    """The GEXF text before the first ``<node>``: declaration, graph and the attribute lists of ``ncols``/``ecols``
    (:data:`NODE_COLUMNS`, :data:`EDGE_COLUMNS` keys, in order), ending with ``<nodes>``."""
    head = ['<?xml version="1.0" encoding="utf-8"?>\n'
            '<gexf xmlns="http://www.gexf.net/1.2draft" version="1.2">\n'
            '<meta><creator>cxinfluence</creator><description>buying-center graphs of every account'
            '</description></meta>\n<graph defaultedgetype="directed" mode="static">\n']
    for cls, cols, types in (("node", ncols, NODE_COLUMNS), ("edge", ecols, EDGE_COLUMNS)):
        head.append(f'<attributes class="{cls}" mode="static">\n')
        head += [f'<attribute id="{k}" title="{c}" type="{types[c]}"/>\n' for k, c in enumerate(cols)]
        head.append("</attributes>\n")
    return "".join(head + ["<nodes>\n"]).encode("utf-8")


#: GEXF text between the last ``<node>`` and the first ``<edge>``, and after the last ``<edge>``
GEXF_MIDDLE, GEXF_TAIL = b"</nodes>\n<edges>\n", b"</edges>\n</graph>\n</gexf>\n"


def write_gexf_nodes(f, nodes, ncols) -> None:
    """Write the ``<node>`` lines of :func:`portfolio_tables`' ``nodes`` to the binary file ``f``, a block at a time."""
    for lo in range(0, len(nodes), _BLOCK):
        write_lines(f, _node_lines(nodes.iloc[lo:lo + _BLOCK], ncols))


def write_gexf_edges(f, edges, ecols, first=0) -> None:
    """Write the ``<edge>`` lines of :func:`portfolio_tables`' ``edges`` to ``f``, edge ids numbered from ``first``."""
    for lo in range(0, len(edges), _BLOCK):
        write_lines(f, _edge_lines(edges.iloc[lo:lo + _BLOCK], ecols, first + lo))


#: rows quoted and written at a time (bounds the memory the text of one block takes; at 250,000 rows the
#: temporaries were handed back to the OS and faulted in again each block: a third of the time was system time)
_BLOCK = 100_000


def _quoted(values, kind):
    """One column as quoted GEXF attribute values (null for blanks), like the reference's ``_column_text``."""
    if kind == "string":
        return quote_values(values)
    if kind == "boolean":
        return quote_flags(values)
    return quote_numbers(values, kind)


def _attvalues(table, cols, types):
    """``<attvalues>...</attvalues>`` per row (blank values left out; "" when every value is blank)."""
    import pyarrow.compute as pc

    parts = [join_columns(f'<attvalue for="{k}" value=', _quoted(table[c], types[c]), "/>")
             for k, c in enumerate(cols)]
    if not parts:
        return ""
    att = join_columns(*parts, null_as_empty=True)
    return pc.if_else(pc.equal(pc.binary_length(att), 0), "", join_columns("<attvalues>", att, "</attvalues>"))


def _folded_attvalues(table, cols, types):
    """``<attvalues>`` parts of :func:`join_lines` for every row, the quotes folded into constants; None when some
    row could have no value at all (then :func:`_attvalues` writes the block)."""
    columns = [attribute_column(table[c], types[c]) for c in cols]
    if not any(text.null_count == 0 for text, _, _ in columns):
        return None
    parts = ["<attvalues>"]
    for k, (text, first, last) in enumerate(columns):
        if text.null_count == 0:
            parts += [f'<attvalue for="{k}" value={first}', text, f"{last}/>"]
        else:  # blanks leave the whole <attvalue/> out
            parts.append(join_columns(f'<attvalue for="{k}" value={first}', text, f"{last}/>"))
    return parts + ["</attvalues>"]


def _node_lines(nodes, ncols):
    """The ``<node>`` lines of a block of rows (the reference writer's bytes)."""
    import pyarrow.compute as pc

    ids = plain_text(nodes["id"])
    names = plain_text(nodes["name"]) if "name" in nodes.columns else ids
    att = _folded_attvalues(nodes, ncols, NODE_COLUMNS)
    if ids is not None and names is not None and att is not None and ids.null_count == names.null_count == 0:
        return join_lines(['<node id="', ids, '" label="', names, '">', *att, "</node>\n"])
    ids = quote_values(nodes["id"])
    labels = pc.coalesce(quote_values(nodes["name"]), ids) if "name" in nodes.columns else ids
    return join_columns("<node id=", ids, " label=", labels, ">", _attvalues(nodes, ncols, NODE_COLUMNS),
                        "</node>\n")


def _edge_lines(edges, ecols, first):
    """The ``<edge>`` lines of a block of rows numbered from ``first`` (the reference writer's bytes)."""
    import pyarrow as pa

    n = len(edges)
    rows = pa.array(np.arange(first, first + n, dtype=np.int64)).cast(pa.string())
    src, dst = plain_text(edges["source"]), plain_text(edges["target"])
    att = _folded_attvalues(edges, ecols, EDGE_COLUMNS)
    if src is not None and dst is not None and att is not None and src.null_count == dst.null_count == 0:
        weight = []
        if "weight" in edges:
            text, first, last = attribute_column(edges["weight"], "double")
            weight = [f" weight={first}", text, last] if text.null_count == 0 else \
                [join_columns(f" weight={first}", text, last)]  # a blank weight leaves the attribute out
        return join_lines(['<edge id="', rows, '" source="', src, '" target="', dst, '"', *weight, ">", *att,
                           "</edge>\n"])
    src, dst = quote_values(edges["source"]), quote_values(edges["target"])
    weight = (join_columns(" weight=", quote_numbers(edges["weight"], "double"), null_as_empty=False)
              if "weight" in edges else pa.nulls(n, pa.string()))
    return join_columns('<edge id="', rows, '" source=', src, " target=", dst,
                        join_columns(weight, null_as_empty=True), ">",
                        _attvalues(edges, ecols, EDGE_COLUMNS), "</edge>\n")


_ELEMENTS = {"ID": "id", "Label": "name", "Type": "role", "Account": "account_id", "Title": "title",
             "Department": "department", "Veto holder": "veto", "Influence": "influence", "Sentiment": "sentiment",
             "Responses": "n_responses", "Last heard": "last_heard"}
_CONNECTIONS = {"From": "source", "To": "target", "Type": "kind", "Strength": "weight", "Account": "account_id"}


_FIXED_TIME = "2000-01-01T00:00:00Z"


def stable_xlsx(path) -> Path:
    """Make a workbook written by openpyxl byte-for-byte reproducible, in place.

    openpyxl stamps the time of saving into ``docProps/core.xml`` and every
    zip entry; the same data would give a different file each run (a rerun
    looks like a change, and output folders cannot be compared by digest).
    The stamps are replaced by a fixed time; the cells are untouched.
    """
    import zipfile

    path = Path(path)
    with zipfile.ZipFile(path) as src:
        items = [(info, src.read(info.filename)) for info in src.infolist()]
    tmp = path.with_name(path.name + ".stable")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info, data in items:
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + _FIXED_TIME.encode(), data)
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=(2000, 1, 1, 0, 0, 0)), data,
                         compress_type=zipfile.ZIP_DEFLATED)
    tmp.replace(path)
    return path


def write_portfolio_kumu(nodes, edges, path) -> Path:
    """Write :func:`portfolio_tables` as Kumu's ``Elements`` / ``Connections`` workbook (streamed); return the path.

    Raises
    ------
    CxInfluenceError
        When a sheet would have more rows than Excel allows (:data:`EXCEL_MAX_ROWS`).

    Examples
    --------
    >>> import tempfile, os, openpyxl
    >>> nodes = pd.DataFrame({"id": ["a"], "name": ["=1+1"], "role": ["user"]})
    >>> p = write_portfolio_kumu(nodes, pd.DataFrame(columns=["source", "target"]),
    ...                          os.path.join(tempfile.mkdtemp(), "k.xlsx"))
    >>> ws = openpyxl.load_workbook(p)["Elements"]
    >>> ws["A1"].value, ws["B2"].value, ws["B2"].data_type
    ('ID', '=1+1', 's')
    """
    path = Path(path)
    for what, table in (("nodes", nodes), ("edges", edges)):
        if len(table) + 1 > EXCEL_MAX_ROWS:
            raise CxInfluenceError(f"{what} has {len(table):,} rows; an .xlsx sheet holds at most "
                                   f"{EXCEL_MAX_ROWS - 1:,}. Use the GEXF file, or export fewer accounts.")
    sheets = []
    for name, table, spec in (("Elements", nodes, _ELEMENTS), ("Connections", edges, _CONNECTIONS)):
        heads = [h for h, c in spec.items() if c in table.columns]
        if name == "Connections":
            heads.insert(heads.index("Type") + 1 if "Type" in heads else len(heads), "Direction")
        cols = [pd.Series(np.full(len(table), "directed", dtype=object)) if h == "Direction"
                else _kumu_column(table[spec[h]], spec[h]) for h in heads]
        sheets.append((name, heads, cols))
    return write_workbook(path, sheets)  # the same data give the same bytes (no time stamps)


def _kumu_column(values, column):
    """One column of a Kumu sheet: tie kinds in words, customer text cleaned (bidi controls and characters XML
    cannot hold dropped), other values as they are."""
    if column == "kind":  # each distinct kind put in words once
        codes, kinds = pd.factorize(values, use_na_sentinel=False)
        words = np.array([" and ".join(k.replace("_", " ") for k in str(v).split("+")) for v in kinds], dtype=object)
        return pd.Series(words[codes])
    if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_numeric_dtype(values.dtype) \
            or plain_text(values) is not None:
        return values.reset_index(drop=True)
    return pd.Series([_XML_BAD.sub("", display_text(v if isinstance(v, str) else str(v)))
                      if not _blank(v) and not isinstance(v, (bool, int, float, np.generic)) else v
                      for v in values.to_numpy(object)], dtype=object)


def _blank(v) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v))

