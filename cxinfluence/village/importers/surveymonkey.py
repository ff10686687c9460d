"""SurveyMonkey: a response export (Analyze results > Save as > Export file > All responses data > CSV).

Layout (SurveyMonkey's documented "expanded" CSV): two header rows. Row 1: ``Respondent ID``,
``Collector ID``, ``Start Date``, ``End Date``, ``IP Address``, ``Email Address``, ``First Name``,
``Last Name``, ``Custom Data 1`` (the custom value the collector carried), then one column per
question (its text); a question with several columns has its text over the first and blanks over
the rest. Row 2: the answer option of each column (``Response``, ``Open-Ended Response``, a choice).
Dates are US-style ``MM/DD/YYYY HH:MM:SS AM`` in the account's time zone (best guess of the exact
default; other formats via ``[dates] formats``).

Found without a mapping file: NPS is a question whose text contains "recommend" and whose answers
are whole numbers 0-10 (``"10 - Extremely likely"`` reads as 10); the comment is the open-ended
column right after it, else the first open-ended question asking *why* / for *comments*; the date is
``End Date`` (else ``Start Date``); join keys are ``Custom Data 1`` (contact id) and ``Email Address``.
``[surveymonkey] columns`` maps other questions by their text (row 1) or ``question | option``.
"""

from __future__ import annotations

import re

from ._common import Export, _unique, leading_int
from ._survey import answers_frame, mapped_columns
from .staging import Staged

_WHY = re.compile(r"\b(why|reason|comment|feedback|tell us|anything else|improve)\b", re.IGNORECASE)
US_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M", "%m/%d/%Y")


class SurveyMonkeyExport(Export):
    """An :class:`Export` whose column names join the two header rows where a question spans columns."""

    def __init__(self, path):
        super().__init__(path, header_rows=2, source="surveymonkey")
        top, sub = self.headers[0], self.headers[1]
        names, self.options, current = [], {}, ""
        for t, s in zip(top, sub):
            t, s = str(t).strip(), str(s).strip()
            if t:
                current = t
                name = t
            else:
                name = f"{current} | {s}" if current else s
            names.append(name)
        self.names = _unique(names)
        self.options = dict(zip(self.names, [str(s).strip() for s in sub]))


def read_surveymonkey(path, mapping=None) -> Staged:
    """Read a SurveyMonkey response export into a :class:`~cxinfluence.village.importers.staging.Staged` (``answers``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "sm.csv"
    >>> _ = p.write_text(
    ...     "Respondent ID,Collector ID,Start Date,End Date,Email Address,Custom Data 1,"
    ...     "How likely is it that you would recommend Acme to a friend or colleague?,What is the main reason for your score?\\n"
    ...     ",,,,,,Response,Open-Ended Response\\n"
    ...     "114,4021,05/01/2024 09:58:10 AM,05/01/2024 10:02:31 PM,bo@x.com,,10 - Extremely likely,Fast delivery\\n")
    >>> a = read_surveymonkey(p).tables["answers"]
    >>> a[["response_id", "email", "nps", "comment"]]
      response_id     email   nps        comment
    0         114  bo@x.com  10.0  Fast delivery
    >>> str(a["date"].iloc[0].date())
    '2024-05-01'
    """
    ex = SurveyMonkeyExport(path)
    st = Staged(source="surveymonkey", path=str(path))
    st.rows_read[str(path)] = ex.n
    mapped = mapped_columns(ex, mapping, "surveymonkey")
    cols = {
        "response_id": ex.find("Respondent ID", "RespondentID"),
        "contact_id": ex.find("Custom Data 1", "Custom Data", "custom_value"),
        "email": ex.find("Email Address", "Email"),
        "date": ex.find("End Date", "Start Date"),
    }
    meta = {c for c in cols.values() if c} | {ex.find(c) for c in ("Collector ID", "IP Address", "First Name", "Last Name")}
    questions = [c for c in ex.names if c not in meta]
    if "nps" not in mapped:
        nps = None
        for c in questions:
            if "recommend" in c.lower():
                v = ex.text(c)
                got = leading_int(v.dropna().drop_duplicates())
                if len(got) and got.notna().all() and got.between(0, 10).all():
                    nps = c
                    break
        if nps:
            cols["nps"] = nps
            st.notes.append(f"{ex.file}: NPS question found by its text (contains 'recommend', answers 0-10): {nps!r}")
        else:
            st.notes.append(f"{ex.file}: no NPS question found (none contains 'recommend' with 0-10 answers); "
                            "map one with [surveymonkey] columns.nps")
    if "comment" not in mapped:
        nps = mapped.get("nps") or cols.get("nps")
        open_ = [c for c in questions if ex.options.get(c, "").lower().startswith("open-ended")]
        pick = None
        if nps and nps in ex.names:
            i = ex.names.index(nps)
            if i + 1 < len(ex.names) and ex.names[i + 1] in open_:
                pick = ex.names[i + 1]
        if pick is None:
            pick = next((c for c in open_ if _WHY.search(c)), None)
        if pick:
            cols["comment"] = pick
            st.notes.append(f"{ex.file}: comment taken from the open-ended question {pick!r}")
    cols.update(mapped)
    st.tables["answers"] = answers_frame(ex, st, cols, mapping, source="surveymonkey", date_formats=US_FORMATS)
    st.notes.append(f"{ex.file}: dates read as US month/day/year unless [dates] formats says otherwise")
    return st
