"""Buying-center graphs for the tools people already use: Gephi (GEXF) and Kumu (spreadsheet).

:func:`portfolio_graph` joins account graphs (from
:func:`cxinfluence.network.graph.account_graphs`) into one directed graph with plain,
typed attributes; :func:`write_gexf` writes it for Gephi
(networkx's GEXF writer, without its date stamp); :func:`kumu_tables` and :func:`write_kumu` give
Kumu's spreadsheet import: an ``Elements`` sheet (one row per person,
``ID``, ``Label``, ``Type`` = role, ...) and a ``Connections`` sheet
(``From``, ``To`` = element IDs, ``Type`` = tie kind, ...). Polinode imports
the same two-sheet layout (Nodes/Edges) from the workbook.

Customer text in these files is shown by other programs, so it goes through
:func:`cxinfluence.village.safetext.display_text` (bidi controls removed), and the
workbook stores every text cell as text: a name starting with ``=`` is never a
formula.
"""

from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import pandas as pd
from networkx.readwrite.gexf import GEXFWriter

from ..village.safetext import display_text
from .portfolio import _XML_BAD
from .xlsxsheets import write_workbook

__all__ = ["kumu_tables", "portfolio_graph", "write_gexf", "write_kumu"]

_ELEMENT_COLUMNS = {"ID": "id", "Label": "name", "Type": "role", "Account": "account_id", "Title": "title",
                    "Department": "department", "Veto holder": "veto", "Active": "active", "Left on": "active_to",
                    "Influence": "influence", "Sentiment": "sentiment", "Responses": "n_responses",
                    "Last heard": "last_heard"}
_CONNECTION_COLUMNS = {"From": "from", "To": "to", "Type": "kind", "Direction": "direction", "Strength": "weight",
                       "Account": "account_id"}


def _value(v):
    """A GEXF-ready value: None for blanks; bool, int, float or text (bidi controls removed)."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return None if math.isnan(v) or math.isinf(v) else v
    if hasattr(v, "item"):  # numpy scalar
        return _value(v.item())
    return display_text(str(v))


def portfolio_graph(graphs: dict) -> nx.DiGraph:
    """One directed graph holding every account graph of ``graphs``.

    Parameters
    ----------
    graphs : dict
        ``account_id -> networkx.DiGraph`` as :func:`cxinfluence.network.graph.account_graphs` returns.

    Returns
    -------
    networkx.DiGraph
        Nodes keep their stakeholder id when ids are unique across the
        accounts, otherwise ``"<account_id>/<id>"``; every node carries
        ``account_id``. Blank attributes are dropped (GEXF has no missing
        value) and text has its bidi controls removed. The inputs are not
        modified.

    Examples
    --------
    >>> a = nx.DiGraph(); a.add_node("s1", name="Ann", veto=True, sentiment=None); a.add_node("s2", name="Bo")
    >>> a.add_edge("s2", "s1", kind="reports_to", weight=1.0)
    >>> P = portfolio_graph({"A1": a})
    >>> sorted(P.nodes), P.nodes["s1"]
    (['s1', 's2'], {'name': 'Ann', 'veto': True, 'account_id': 'A1'})
    """
    ids = [str(n) for G in graphs.values() for n in G.nodes]
    prefix = len(ids) != len(set(ids))
    P = nx.DiGraph()
    for account_id, G in graphs.items():
        key = {n: f"{account_id}/{n}" if prefix else str(n) for n in G.nodes}
        for n, a in G.nodes(data=True):
            attrs = {k: v for k, v in ((k, _value(v)) for k, v in a.items()) if v is not None}
            attrs["account_id"] = str(account_id)
            P.add_node(key[n], **attrs)
        for u, v, d in G.edges(data=True):
            attrs = {k: x for k, x in ((k, _value(x)) for k, x in d.items()) if x is not None}
            P.add_edge(key[u], key[v], account_id=str(account_id), **attrs)
    return P


def write_gexf(graphs: dict, path) -> Path:
    """Write the accounts' graphs as one GEXF file for Gephi (see :func:`portfolio_graph`).

    The file depends on the graphs alone: networkx's writer is used without
    the date it stamps into ``<meta>``, so a rerun on another day gives the
    same bytes.

    Examples
    --------
    >>> import tempfile, os
    >>> G = nx.DiGraph(); G.add_node("s1", name="Ann", influence=1.0)
    >>> p = write_gexf({"A1": G}, os.path.join(tempfile.mkdtemp(), "g.gexf"))
    >>> sorted(nx.read_gexf(p).nodes(data="name"))
    [('s1', 'Ann')]
    """
    path = Path(path)
    writer = GEXFWriter(encoding="utf-8", prettyprint=True, version="1.2draft")  # nx.write_gexf's defaults
    # networkx stamps today's date into <meta>: dropped, so the same graphs give the same bytes on any day
    writer.xml.find("meta").attrib.pop("lastmodifieddate", None)
    writer.add_graph(portfolio_graph(graphs))
    with open(path, "wb") as f:
        writer.write(f)
    return path


def kumu_tables(graphs: dict) -> tuple:
    """Kumu's spreadsheet import as two DataFrames: ``(elements, connections)``.

    ``elements`` has ``ID, Label, Type`` (the buying-center role) and the
    person's account, title, department, veto, status, influence and
    sentiment; ``connections`` has ``From, To`` (element IDs), ``Type``
    (``reports to`` / ``influences``), ``Direction`` (``directed``) and
    ``Strength`` (the tie weight).

    Examples
    --------
    >>> G = nx.DiGraph(); G.add_node("s1", name="Ann", role="decider"); G.add_node("s2", name="Bo")
    >>> G.add_edge("s2", "s1", kind="reports_to", weight=1.0)
    >>> el, co = kumu_tables({"A1": G})
    >>> el[["ID", "Label", "Type"]].values.tolist(), co[["From", "To", "Type"]].values.tolist()
    ([['s1', 'Ann', 'decider'], ['s2', 'Bo', None]], [['s2', 's1', 'reports to']])
    """
    P = portfolio_graph(graphs)
    rows = [{"id": n, **a} for n, a in P.nodes(data=True)]
    elements = pd.DataFrame(rows, columns=list(dict.fromkeys(["id", *_ELEMENT_COLUMNS.values()])))
    elements = elements.astype(object).where(elements.notna(), None)
    elements = elements[list(_ELEMENT_COLUMNS.values())].set_axis(list(_ELEMENT_COLUMNS), axis=1)
    links = [{"from": u, "to": v, "kind": " and ".join(k.replace("_", " ") for k in str(d.get("kind", "influences"))
                                                      .split("+")),
              "direction": "directed", "weight": d.get("weight"), "account_id": d.get("account_id")}
             for u, v, d in P.edges(data=True)]
    connections = pd.DataFrame(links, columns=list(_CONNECTION_COLUMNS.values()))
    connections = connections.set_axis(list(_CONNECTION_COLUMNS), axis=1)
    return elements, connections


def write_kumu(graphs: dict, path) -> Path:
    """Write :func:`kumu_tables` as an ``.xlsx`` workbook with ``Elements`` and ``Connections`` sheets.

    Every text cell is stored as text (never a formula, whatever it starts with). The sheets are the bytes
    openpyxl's ``Workbook`` writes for these cells (characters XML cannot hold dropped), written as text column at
    a time (:func:`cxinfluence.present.xlsxsheets.write_workbook`; a tenth of the time); the same graphs give the
    same bytes.

    Examples
    --------
    >>> import tempfile, os, openpyxl
    >>> G = nx.DiGraph(); G.add_node("s1", name="=HYPERLINK(1)", role="user")
    >>> p = write_kumu({"A1": G}, os.path.join(tempfile.mkdtemp(), "kumu.xlsx"))
    >>> ws = openpyxl.load_workbook(p)["Elements"]
    >>> ws["B2"].value, ws["B2"].data_type
    ('=HYPERLINK(1)', 's')
    """
    sheets = []
    for name, table in zip(("Elements", "Connections"), kumu_tables(graphs)):
        columns = [pd.Series([_cell(v) for v in table[c].to_numpy(object)], dtype=object) for c in table.columns]
        sheets.append((name, [str(c) for c in table.columns], columns))
    return write_workbook(path, sheets, dimensions=True)


def _cell(value):
    """A Kumu cell: :func:`_value`, text without the characters XML cannot hold (openpyxl refused them)."""
    value = _value(value)
    return _XML_BAD.sub("", value) if isinstance(value, str) else value
