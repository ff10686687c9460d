"""The portfolio GEXF written plainly, value by value: the readable reference for
:func:`cxinfluence.present.portfolio.write_portfolio_gexf`, which quotes whole columns
with Arrow and writes blocks of rows at once. tests/test_portfolio_fast.py holds the two
byte for byte equal; the package never calls this module.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import pandas as pd

from ..village.safetext import display_text
from .portfolio import _XML_BAD, EDGE_COLUMNS, NODE_COLUMNS


def _xml_text(values) -> list:
    """Customer text ready for XML attributes: bidi controls removed, XML-illegal characters dropped, quoted."""
    return [None if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA
            else quoteattr(_XML_BAD.sub("", display_text(str(v)))) for v in values]


def _column_text(values, kind) -> list:
    """One column as quoted attribute values (None for blanks) for GEXF type ``kind``."""
    if kind == "string":
        return _xml_text(values)
    if kind == "boolean":
        return [None if pd.isna(v) else '"true"' if bool(v) else '"false"' for v in values]
    arr = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(float)
    if kind == "long":
        return [None if not np.isfinite(x) else f'"{int(x)}"' for x in arr]
    return [None if not np.isfinite(x) else f'"{float(x)!r}"' for x in arr]



def _reference_gexf(nodes, edges, path) -> Path:
    """The readable per-value writer :func:`write_portfolio_gexf` is tested equal to (same bytes)."""
    path = Path(path)
    ncols = [c for c in NODE_COLUMNS if c in nodes.columns]
    ecols = [c for c in EDGE_COLUMNS if c in edges.columns]
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write('<?xml version="1.0" encoding="utf-8"?>\n'
                '<gexf xmlns="http://www.gexf.net/1.2draft" version="1.2">\n'
                '<meta><creator>cxinfluence</creator><description>buying-center graphs of every account'
                '</description></meta>\n<graph defaultedgetype="directed" mode="static">\n')
        for cls, cols, types in (("node", ncols, NODE_COLUMNS), ("edge", ecols, EDGE_COLUMNS)):
            f.write(f'<attributes class="{cls}" mode="static">\n')
            f.writelines(f'<attribute id="{k}" title="{c}" type="{types[c]}"/>\n' for k, c in enumerate(cols))
            f.write("</attributes>\n")
        ids = _xml_text(nodes["id"])
        labels = _xml_text(nodes["name"]) if "name" in nodes.columns else ids
        values = [_column_text(nodes[c].to_numpy(object), NODE_COLUMNS[c]) for c in ncols]
        f.write("<nodes>\n")
        for r, nid in enumerate(ids):
            att = "".join(f'<attvalue for="{k}" value={col[r]}/>' for k, col in enumerate(values) if col[r] is not None)
            f.write(f"<node id={nid} label={labels[r] or nid}>"
                    + (f"<attvalues>{att}</attvalues>" if att else "") + "</node>\n")
        f.write("</nodes>\n<edges>\n")
        src, dst = _xml_text(edges["source"]), _xml_text(edges["target"])
        weights = _column_text(edges["weight"].to_numpy(object), "double") if "weight" in edges else [None] * len(src)
        values = [_column_text(edges[c].to_numpy(object), EDGE_COLUMNS[c]) for c in ecols]
        for r in range(len(src)):
            att = "".join(f'<attvalue for="{k}" value={col[r]}/>' for k, col in enumerate(values) if col[r] is not None)
            w = f" weight={weights[r]}" if weights[r] is not None else ""
            f.write(f'<edge id="{r}" source={src[r]} target={dst[r]}{w}>'
                    + (f"<attvalues>{att}</attvalues>" if att else "") + "</edge>\n")
        f.write("</edges>\n</graph>\n</gexf>\n")
    tmp.replace(path)
    return path
