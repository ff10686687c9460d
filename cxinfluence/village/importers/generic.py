"""Any other survey tool: a CSV of responses, wide (one row per response) or long (one row per answer).

Everything comes from the ``[generic]`` section of the mapping file::

    [generic]
    layout = "wide"                       # or "long"
    columns = { contact_id = "Contact Id", email = "Email", date = "Submitted",
                nps = "How likely are you to recommend us?", comment = "Why?" }

    # long layout: one row per answer, pivoted to one row per response
    [generic]
    layout = "long"
    columns = { response_id = "submission_id", contact_id = "crm_id", date = "submitted_at",
                question = "question", answer = "answer" }
    questions = { nps = "How likely are you to recommend us?", comment = "Anything else?" }

Without a ``columns`` entry the reader looks for columns named like the village fields
(``contact_id``, ``email``, ``date``, ``nps``, ``csat``, ``ces``, ``neteasy``, ``comment``, ...).
In the long layout an answer whose question is not listed under ``questions`` is left out (counted).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...exceptions import ImportDataError
from ._common import Export, located
from ._survey import SCORES, answers_frame, mapped_columns
from .mapping import section
from .staging import Staged

FIELDS = ("response_id", "contact_id", "email", "date") + SCORES + ("comment", "touchpoint", "journey_stage", "channel")


class FrameExport:
    """A DataFrame of text posing as an :class:`Export` (after a pivot)."""

    def __init__(self, frame, rows, file):
        self.frame = frame.reset_index(drop=True)
        self._rows = np.asarray(rows, dtype=np.int64)
        self.file = file
        self.names = list(self.frame.columns)
        self.n = len(self.frame)

    def text(self, name):
        return self.frame[name].astype("str")

    def rows(self):
        return self._rows

    def has(self, name):
        return name in self.names

    def find(self, *cands):
        return next((c for c in cands if c in self.names), None)


def read_generic(path, mapping=None) -> Staged:
    """Read a generic survey CSV (wide or long) with the ``[generic]`` column map.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "long.csv"
    >>> _ = p.write_text("sub,crm,when,q,a\\n1,C1,2024-05-01,Recommend?,8\\n1,C1,2024-05-01,Why?,Good\\n2,C2,2024-05-03,Recommend?,3\\n")
    >>> m = {"generic": {"layout": "long", "columns": {"response_id": "sub", "contact_id": "crm", "date": "when",
    ...                  "question": "q", "answer": "a"}, "questions": {"nps": "Recommend?", "comment": "Why?"}}}
    >>> read_generic(p, m).tables["answers"][["response_id", "contact_id", "nps", "comment"]]
      response_id contact_id  nps comment
    0           1         C1  8.0    Good
    1           2         C2  3.0     NaN
    """
    ex = Export(path, source="generic")
    st = Staged(source="generic", path=str(path))
    st.rows_read[str(path)] = ex.n
    sec = section(mapping, "generic")
    layout = str(sec.get("layout", "wide")).lower()
    if layout not in ("wide", "long"):
        raise ImportDataError([located("generic", "mapping", f"unknown layout {layout!r}; expected 'wide' or 'long'",
                                       column="generic.layout")])
    mapped = mapped_columns(ex, mapping, "generic")
    if layout == "wide":
        cols = {f: ex.find(f) for f in FIELDS}
        cols.update(mapped)
        st.tables["answers"] = answers_frame(ex, st, {k: v for k, v in cols.items() if v}, mapping, source="generic")
        return st
    q, a = mapped.get("question") or ex.find("question"), mapped.get("answer") or ex.find("answer")
    if not q or not a:
        raise ImportDataError([located("generic", ex.file, "a long layout needs the question and answer columns: "
                                       "[generic] columns = {question = \"...\", answer = \"...\"}")], source=ex.file)
    questions = {str(k).strip().lower(): f for f, k in (sec.get("questions") or {}).items()}
    meta = {f: mapped.get(f) or ex.find(f) for f in ("response_id", "contact_id", "email", "date", "touchpoint", "journey_stage", "channel")}
    df = pd.DataFrame({f: ex.text(c) for f, c in meta.items() if c})
    df["field"] = ex.text(q).str.strip().str.lower().map(questions)
    df["answer"] = ex.text(a)
    df["source_row"] = ex.rows()
    unmapped = df["field"].isna()
    if unmapped.any():
        shown = ex.text(q)[unmapped].value_counts().head(8)
        st.notes.append(f"{ex.file}: {int(unmapped.sum())} answer(s) to questions not listed under [generic] questions left out: "
                        + ", ".join(f"{k!r} ({v})" for k, v in shown.items()))
    df = df.loc[~unmapped]
    keys = [k for k in ("response_id",) if k in df] or [k for k in ("contact_id", "email", "date") if k in df]
    key = df[keys[0]].astype("str")
    if len(keys) > 1:
        key = key.str.cat([df[k].astype("str") for k in keys[1:]], sep="\x1f", na_rep="")
    df = df.assign(_key=key.to_numpy())
    wide = df.drop_duplicates(["_key", "field"], keep="last").pivot(index="_key", columns="field", values="answer")
    g = df.groupby("_key", sort=False)
    head = g.first()
    rows = g["source_row"].min()
    wide = wide.reindex(head.index)
    out = pd.concat([head[[c for c in meta if c in head]], wide], axis=1)
    order = np.argsort(rows.to_numpy(), kind="stable")
    fx = FrameExport(out.iloc[order], rows.to_numpy()[order], ex.file)
    st.notes.append(f"{ex.file}: long layout: {ex.n} answer row(s) pivoted to {fx.n} response(s) by {', '.join(keys)}")
    cols = {f: f for f in fx.names if f in FIELDS}
    st.tables["answers"] = answers_frame(fx, st, cols, mapping, source="generic")
    return st
