"""CustomerGauge: an NPS response export (one row per response).

Layout: **best guess** (CustomerGauge's export columns are configurable and not publicly specified);
the reader looks for these headers, case- and space-insensitively, and ``[customergauge] columns``
overrides any of them:

======================  =====================================================================
field                   headers tried
======================  =====================================================================
response_id             ``Number``, ``Response ID``, ``Record ID``
contact_id              ``Contact ID``, ``CRM Contact ID``, ``Contact Number``
email                   ``Email``, ``Contact Email``, ``E-mail``
account_id              ``Account ID``, ``CRM Account ID``, ``Account Number``
date                    ``Date Response``, ``Response Date``, ``Responded``, ``Date``
nps                     ``NPS``, ``NPS Score``, ``Score``, ``Likelihood to Recommend``
comment                 ``Comment``, ``NPS Comment``, ``Comments``, ``Reason``
job level               ``Job Level``, ``Contact Job Level``, ``Decision Maker Level``
======================  =====================================================================

CustomerGauge's job level codes the respondent's weight in the buying decision: **A** decision
maker (-> decider), **B** influencer (-> influencer), **C** operational user (-> user), **U** unknown
(no role). Where the CRM gives no role the level is used; a picklist role from the CRM wins.
"""

from __future__ import annotations

import pandas as pd

from ._common import Export, emails
from ._survey import answers_frame, mapped_columns
from .staging import Staged

JOB_LEVELS = {"a": "decider", "b": "influencer", "c": "user", "u": None}
CANDIDATES = {
    "response_id": ("Number", "Response ID", "Record ID", "Survey Number"),
    "contact_id": ("Contact ID", "CRM Contact ID", "Contact Number", "Contact Id (CRM)"),
    "email": ("Email", "Contact Email", "E-mail", "Email Address"),
    "account_id": ("Account ID", "CRM Account ID", "Account Number", "Company ID"),
    "date": ("Date Response", "Response Date", "Responded", "Date Responded", "Date"),
    "nps": ("NPS", "NPS Score", "Score", "Likelihood to Recommend", "Recommend"),
    "comment": ("Comment", "NPS Comment", "Comments", "Reason"),
}
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%d/%m/%Y %H:%M", "%d/%m/%Y")


def read_customergauge(path, mapping=None) -> Staged:
    """Read a CustomerGauge export into a :class:`~cxinfluence.village.importers.staging.Staged`.

    Returns ``answers`` and, when a job level is present, ``people`` rows (contact id, account,
    role from the level) that fill roles the CRM left blank.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "cg.csv"
    >>> _ = p.write_text("Number,Contact ID,Email,Date Response,NPS,Comment,Job Level\\n"
    ...                  "88121,0035e00000AbCdEFGH,ann@x.com,2024-05-01 08:12:00,6,Slow support,A\\n")
    >>> st = read_customergauge(p)
    >>> st.tables["answers"][["response_id", "contact_id", "nps", "comment"]]
      response_id          contact_id  nps       comment
    0       88121  0035e00000AbCdEFGH  6.0  Slow support
    >>> st.tables["people"][["stakeholder_id", "role"]]
           stakeholder_id     role
    0  0035e00000AbCdEFGH  decider
    """
    ex = Export(path, source="customergauge")
    st = Staged(source="customergauge", path=str(path))
    st.rows_read[str(path)] = ex.n
    st.notes.append(f"{ex.file}: CustomerGauge layout is a best guess; columns found by name")
    mapped = mapped_columns(ex, mapping, "customergauge")
    cols = {field: ex.find(*names) for field, names in CANDIDATES.items()}
    cols.update(mapped)
    level = ex.find("Job Level", "Contact Job Level", "Decision Maker Level", "Level")
    st.tables["answers"] = answers_frame(ex, st, {k: v for k, v in cols.items() if k != "account_id"}, mapping,
                                         source="customergauge", date_formats=DATE_FORMATS)
    if level and cols.get("contact_id"):
        lv = ex.text(level).str.strip().str.lower()
        people = pd.DataFrame({"stakeholder_id": ex.text(cols["contact_id"]), "role": lv.map(JOB_LEVELS).astype("str"),
                               "job_level": ex.text(level), "source_file": ex.file, "source_row": ex.rows()})
        if cols.get("account_id"):
            people["account_id"] = ex.text(cols["account_id"])
        if cols.get("email"):
            people["email"] = emails(ex.text(cols["email"]))
        unknown = lv.notna() & ~lv.isin(list(JOB_LEVELS))
        if unknown.any():
            st.notes.append(f"{ex.file}: job level value(s) {sorted(ex.text(level)[unknown].unique().tolist())[:10]} are not "
                            "A/B/C/U; no role taken from them")
        people = people.dropna(subset=["stakeholder_id"]).drop_duplicates("stakeholder_id", keep="last")
        st.tables["people"] = people.reset_index(drop=True)
        st.notes.append(f"{ex.file}: job level A/B/C/U -> decider/influencer/user/none, used where the CRM gives no role")
    return st
