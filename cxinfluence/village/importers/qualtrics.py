"""Qualtrics: a response export (Data & Analysis > Export > CSV), wide, one row per response.

Layout (Qualtrics' documented CSV export): three header rows: the column ids (``StartDate``,
``EndDate``, ``Status``, ..., ``RecordedDate``, ``ResponseId``, ``RecipientLastName``,
``RecipientFirstName``, ``RecipientEmail``, ``ExternalReference``, ..., ``Q1``, ``Q1_NPS_GROUP``,
``Q2_TEXT``), the question texts, and the import ids as JSON (``{"ImportId":"QID1"}``; date columns
carry their ``"timeZone"``). Older exports have two header rows (no JSON row); a file already
cleaned to one header row is read too.

What is found without a mapping file:

* NPS: a column ``X`` whose companion ``X_NPS_GROUP`` exists (Qualtrics adds it to every NPS
  question). Several: the first is ``nps``, the others are listed in the notes.
* comment: ``X_TEXT`` of the NPS question, else the first ``*_TEXT`` column, else the first question
  whose text asks *why* / for a *reason* / *comment* / *feedback*.
* date: ``RecordedDate`` (else ``EndDate``, ``StartDate``), in the time zone its ImportId names.
* join keys: ``ExternalReference`` (the CRM contact id the distribution carried) and ``RecipientEmail``.
* ``Status`` Survey Preview / Survey Test / Spam rows are left out (listed).

``[qualtrics] columns`` maps other questions: ``{csat = "Q5", ces = "QID7"}`` (a header name or an
ImportId).
"""

from __future__ import annotations

import csv
import json
import re

import numpy as np

from ._common import Export
from ._survey import answers_frame, mapped_columns
from .staging import Staged

_WHY = re.compile(r"\b(why|reason|comment|feedback|tell us|anything else|improve)\b", re.IGNORECASE)
_SKIP_STATUS = {"survey preview", "survey test", "spam", "1", "2", "8"}


def _header_rows(path):
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as f:
        reader = csv.reader(f)
        head = [next(reader, None) for _ in range(3)]
    if head[2] is not None and any(c.lstrip().startswith("{") and "ImportId" in c for c in head[2]):
        return 3
    if head[1] is not None and head[0] is not None:
        # legacy two-row export: row 2 repeats labels (e.g. "Recorded Date") where row 1 has ids
        names = [c.strip() for c in head[0]]
        for key in ("RecordedDate", "StartDate", "EndDate", "ResponseId"):
            if key in names:
                cell = head[1][names.index(key)] if names.index(key) < len(head[1]) else ""
                return 2 if cell and not re.search(r"\d", cell) else 1
    return 1


class QualtricsExport(Export):
    """An :class:`Export` that also knows each column's question text and ImportId JSON."""

    def __init__(self, path):
        super().__init__(path, header_rows=_header_rows(path), source="qualtrics")
        n = len(self.names)
        self.questions = dict(zip(self.names, self.headers[1] if self.header_rows >= 2 else [""] * n))
        self.meta = {}
        if self.header_rows >= 3:
            for name, cell in zip(self.names, self.headers[2]):
                try:
                    self.meta[name] = json.loads(cell)
                except (ValueError, TypeError):
                    self.meta[name] = {}

    def by_import_id(self, key):
        for name, m in self.meta.items():
            if isinstance(m, dict) and str(m.get("ImportId", "")).lower() == str(key).lower():
                return name
        return None

    def timezone(self, col):
        m = self.meta.get(col) or {}
        return m.get("timeZone") if isinstance(m, dict) else None


def read_qualtrics(path, mapping=None) -> Staged:
    """Read a Qualtrics response export into a :class:`~cxinfluence.village.importers.staging.Staged` (``answers``).

    Parameters
    ----------
    path : str or Path
        The CSV export (three header rows as Qualtrics writes them).
    mapping : dict, optional
        A parsed mapping file; ``[qualtrics] columns`` overrides what is found.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "nps.csv"
    >>> _ = p.write_text(
    ...     'RecordedDate,ResponseId,RecipientEmail,ExternalReference,Q1,Q1_NPS_GROUP,Q2\\n'
    ...     'Recorded Date,Response ID,Recipient Email,External Data Reference,How likely...?,How likely...? - Group,Why?\\n'
    ...     '"{""ImportId"":""recordedDate"",""timeZone"":""America/Denver""}","{""ImportId"":""_recordId""}",'
    ...     '"{""ImportId"":""recipientEmail""}","{""ImportId"":""externalDataReference""}","{""ImportId"":""QID1""}",'
    ...     '"{""ImportId"":""QID1_NPS_GROUP""}","{""ImportId"":""QID2_TEXT""}"\\n'
    ...     '2024-05-01 23:10:00,R_1a,Ann@x.com,0035e00000AbCdEFGH,9,3,Great service\\n')
    >>> a = read_qualtrics(p).tables["answers"]
    >>> a[["response_id", "contact_id", "email", "nps", "comment"]]
      response_id          contact_id      email  nps        comment
    0        R_1a  0035e00000AbCdEFGH  ann@x.com  9.0  Great service
    >>> str(a["date"].iloc[0].date())
    '2024-05-01'
    """
    ex = QualtricsExport(path)
    st = Staged(source="qualtrics", path=str(path))
    if ex.header_rows != 3:
        st.notes.append(f"{ex.file}: {ex.header_rows} header row(s) found (Qualtrics writes 3: ids, question texts, ImportIds)")
    mapped = mapped_columns(ex, mapping, "qualtrics")
    cols = {
        "response_id": ex.find("ResponseId", "ResponseID", "_recordId"),
        "contact_id": ex.find("ExternalReference", "ExternalDataReference"),
        "email": ex.find("RecipientEmail"),
        "date": ex.find("RecordedDate", "EndDate", "StartDate"),
    }
    nps_cols = [c[: -len("_NPS_GROUP")] for c in ex.names if c.endswith("_NPS_GROUP") and ex.has(c[: -len("_NPS_GROUP")])]
    if "nps" not in mapped:
        if nps_cols:
            cols["nps"] = nps_cols[0]
            st.notes.append(f"{ex.file}: NPS question {nps_cols[0]!r} found by its {nps_cols[0]}_NPS_GROUP companion"
                            + (f"; other NPS questions not used: {', '.join(nps_cols[1:])} (map one with [qualtrics] columns.nps)"
                               if len(nps_cols) > 1 else ""))
        else:
            st.notes.append(f"{ex.file}: no NPS question found (no *_NPS_GROUP column); map one with [qualtrics] columns.nps")
    if "comment" not in mapped:
        nps = mapped.get("nps") or cols.get("nps")
        text_cols = [c for c in ex.names if c.endswith("_TEXT")]
        used = set(mapped.values()) | {c for c in cols.values() if c}
        why = [c for c in ex.names if c not in used and not c.endswith("_NPS_GROUP")
               and _WHY.search(str(ex.questions.get(c, "")))]
        pick = (f"{nps}_TEXT" if nps and ex.has(f"{nps}_TEXT") else None) or (text_cols[0] if text_cols else None) or \
            (why[0] if why else None)
        if pick:
            cols["comment"] = pick
            st.notes.append(f"{ex.file}: comment taken from {pick!r} ({ex.questions.get(pick) or 'a text entry'}); "
                            "map another with [qualtrics] columns.comment")
    cols.update(mapped)
    status = ex.find("Status")
    ex.use([*cols.values(), status])  # convert only the columns used
    st.rows_read[str(path)] = ex.n
    keep = np.ones(ex.n, bool)
    if status:
        s = ex.text(status).str.strip().str.lower()
        skip = s.isin(list(_SKIP_STATUS)).to_numpy()
        if skip.any():
            keep &= ~skip
            st.dropped += [{"file": ex.file, "row": int(r), "reason": f"Status is {v!r} (preview, test or spam)"}
                           for r, v in zip(ex.rows()[skip], ex.text(status)[skip])]
            st.notes.append(f"{ex.file}: {int(skip.sum())} preview/test/spam response(s) left out")
    tz = ex.timezone(cols["date"]) if cols.get("date") else None
    if tz:
        st.notes.append(f"{ex.file}: {cols['date']} is in time zone {tz} (from its ImportId)")
    st.tables["answers"] = answers_frame(ex, st, cols, mapping, source="qualtrics", source_tz=tz, keep=keep,
                                         date_formats=("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%m/%d/%Y %H:%M"))
    return st
