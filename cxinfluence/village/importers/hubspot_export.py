"""Write a village as a HubSpot export folder: the shipped sample, round-trip tests, benchmarks.

Synthetic data only. The reader is :mod:`cxinfluence.village.importers.hubspot` (which re-exports
:func:`write_hubspot_export` and :func:`hubspot_ids`); what HubSpot has no place for (influence ties,
veto, departures) is not written.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..files import atomic_folder


def hubspot_ids(village) -> dict:
    """The HubSpot-style record ids :func:`write_hubspot_export` gives a village's rows.

    Returns ``{"company": {account_id: id}, "contact": {stakeholder_id: id}}``: companies get
    10-digit ids, contacts 5-8 digit ids, as HubSpot portals show them.

    Examples
    --------
    >>> from cxinfluence.village.synth import make_village
    >>> ids = hubspot_ids(make_village(2, seed=1)[0])
    >>> ids["company"]["A001"], ids["contact"]["S001"]
    ('9201337001', '25118')
    """
    acc = village.accounts["account_id"].astype(str).tolist()
    ppl = village.stakeholders["stakeholder_id"].astype(str).tolist()
    return {
        "company": {a: str(9_201_337_001 + 7_919 * i) for i, a in enumerate(acc)},
        "contact": {s: str(25_118 + 131 * i) for i, s in enumerate(ppl)},
    }


def _buying_role(role, dept, veto, rating) -> str | float:
    if role == "decider":
        return "DECISION_MAKER;EXECUTIVE_SPONSOR" if dept == "executive" else "DECISION_MAKER"
    if role == "gatekeeper":
        return "LEGAL_AND_COMPLIANCE" if dept == "legal" else ("BLOCKER" if veto else np.nan)
    if role == "influencer":
        return "INFLUENCER;CHAMPION" if rating == 5 else "INFLUENCER"
    if role == "user":
        return "END_USER"
    return np.nan  # buyers: HubSpot's picklist has no purchasing value; the title says it


def _email(name: str, domain: str) -> str:
    local = ".".join(re.sub(r"[^a-z]", "", p) for p in str(name).lower().split())
    return f"{local}@{domain}"


def write_hubspot_export(village, folder, *, overwrite=False) -> Path:
    """Write a village as a HubSpot export folder (internal property names and values).

    Companies, contacts (``hs_buying_role`` from role and veto; buyers get none, as HubSpot's
    picklist has no purchasing value; ``associatedcompanyid``), associations (contact to company,
    deal to company, and "Manager" contact-to-contact labels for the latest manager of each
    person), deals (one renewal deal per outcome, ``existingbusiness``, closed won or lost on
    1 December of the period, amount = bookings) and feedback submissions (the village's survey
    responses, one row per answered item, ``hs_submission_timestamp`` in Unix milliseconds at
    noon UTC; trust, cared-for and NetEasy as CUSTOM questions). Influence ties, veto and
    departures are not written: HubSpot has no place for them. Ids come from :func:`hubspot_ids`.

    Examples
    --------
    >>> import tempfile
    >>> from cxinfluence.village.synth import make_village
    >>> out = write_hubspot_export(make_village(3, seed=1)[0], Path(tempfile.mkdtemp()) / "hs")
    >>> sorted(p.name for p in out.iterdir())[:3]
    ['hubspot-associations.csv', 'hubspot-crm-exports-all-companies.csv', 'hubspot-crm-exports-all-contacts.csv']
    """
    ids = hubspot_ids(village)
    co, ct = ids["company"], ids["contact"]
    acc = village.accounts
    domain = {
        a: re.sub(r"[^a-z]", "", str(n).lower().rsplit(" ", 1)[0])[:20] + ".com"
        for a, n in zip(acc["account_id"], acc["name"])
    }
    companies = pd.DataFrame(
        {
            "hs_object_id": acc["account_id"].map(co),
            "name": acc["name"],
            "domain": acc["account_id"].map(domain),
            "industry": acc["segment"],
            "region": acc["region"],
            "hs_arr": acc["annual_revenue"],
        }
    )
    contacts = _contact_rows(village.stakeholders, domain, co, ct)
    deals = _deal_rows(village)
    return write_export_folder(folder, {
        "hubspot-crm-exports-all-companies.csv": companies,
        "hubspot-crm-exports-all-contacts.csv": contacts,
        "hubspot-crm-exports-all-deals.csv": deals,
        "hubspot-associations.csv": _association_rows(village, contacts, deals, co, ct),
        "hubspot-feedback-submissions.csv": _feedback_rows(village, ct),
    }, overwrite=overwrite)


def _contact_rows(st: pd.DataFrame, domain: dict, co: dict, ct: dict) -> pd.DataFrame:
    """Contacts: names, an e-mail at the company's domain (namesakes numbered), title, buying role, company."""
    first = st["name"].str.split(" ", n=1).str[0]
    last = st["name"].str.split(" ", n=1).str[1]
    email = [_email(n, domain[a]) for n, a in zip(st["name"], st["account_id"])]
    seen = {}
    for i, e in enumerate(email):  # namesakes in one company get e-mails of their own
        seen[e] = seen.get(e, 0) + 1
        if seen[e] > 1:
            email[i] = e.replace("@", f"{seen[e]}@")
    return pd.DataFrame(
        {
            "hs_object_id": st["stakeholder_id"].map(ct),
            "firstname": first,
            "lastname": last,
            "email": email,
            "jobtitle": st["title"],
            "hs_buying_role": [
                _buying_role(r, d, v, q)
                for r, d, v, q in zip(st["role"], st["department"], st["veto"], st["influence_rating"])
            ],
            "associatedcompanyid": st["account_id"].map(co),
        }
    )


def _deal_rows(village) -> pd.DataFrame:
    """One renewal deal per outcome (existingbusiness), closed won or lost 30 days before the period's end."""
    acc, out = village.accounts, village.outcomes.reset_index(drop=True)
    return pd.DataFrame(
        {
            "hs_object_id": [str(14_220_000_003 + 10_009 * i) for i in range(len(out))],
            "dealname": acc.set_index("account_id")["name"].reindex(out["account_id"]).to_numpy()
            + " renewal "
            + out["period_end"].dt.year.astype(str),
            "pipeline": "default",
            "dealtype": "existingbusiness",
            "dealstage": np.where(out["renewed"] == 1, "closedwon", "closedlost"),
            "closedate": (out["period_end"] - pd.Timedelta(days=30)).dt.strftime("%Y-%m-%dT00:00:00Z"),
            "amount": out["bookings"].round(2),
        }
    )


def _association_rows(village, contacts, deals, co, ct) -> pd.DataFrame:
    """Associations: contact to company, "Manager" contact to contact (latest manager), deal to company."""
    rt = latest_managers(village)

    def rows(from_type, from_id, to_type, to_id, label):
        return pd.DataFrame({"from_object_type": from_type, "from_id": from_id, "to_object_type": to_type,
                             "to_id": to_id, "association_label": label})

    return pd.concat([
        rows("contacts", contacts["hs_object_id"], "companies", contacts["associatedcompanyid"], "Primary"),
        rows("contacts", rt["source_id"].map(ct), "contacts", rt["target_id"].map(ct), "Manager"),
        rows("deals", deals["hs_object_id"].tolist(), "companies",
             village.outcomes.reset_index(drop=True)["account_id"].map(co), "Primary"),
    ], ignore_index=True)


def latest_managers(village) -> pd.DataFrame:
    """Each person's latest manager: the reports_to tie to the manager whose position started last
    (``source_id``, ``target_id``, one row per person with a manager)."""
    rel, st = village.relationships, village.stakeholders
    rt = rel[rel["kind"] == "reports_to"].merge(
        st[["stakeholder_id", "active_from"]], left_on="target_id", right_on="stakeholder_id"
    )
    return rt.sort_values(["source_id", "active_from"], na_position="first").drop_duplicates("source_id", keep="last")


def write_export_folder(folder, files: dict, *, overwrite=False) -> Path:
    """Write ``{file name: DataFrame}`` as CSV files into ``folder``, atomically; refuse a non-empty folder
    unless ``overwrite``."""
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()) and not overwrite:
        raise FileExistsError(
            f"{folder} already exists and is not empty; pass overwrite=True to replace the export files in it"
        )
    with atomic_folder(folder) as tmp:
        tmp = Path(tmp)
        for name, frame in files.items():
            frame.to_csv(tmp / name, index=False)
    return folder


#: village item -> (hs_survey_type, survey name, question) of the synthetic feedback export
_SURVEY = {
    "nps": ("NPS", "Customer loyalty survey", "How likely is it that you would recommend us to a friend or colleague?"),
    "csat": ("CSAT", "Customer satisfaction survey", "How satisfied are you with our service?"),
    # HubSpot's CES survey asks for ease on 1-7 (7 = very easy): the village's NetEasy, reversed
    "neteasy": ("CES", "Customer effort survey", "How easy was it to get your issue resolved?"),
    # the village's CES (1-5 effort, the original CEB question) as a custom question
    "ces": (
        "CUSTOM",
        "Relationship survey",
        "How much effort did you personally have to put forth to handle your request?",
    ),
    "trust": ("CUSTOM", "Relationship survey", "How much do you trust us to deliver what we promise?"),
    "cared_for": ("CUSTOM", "Relationship survey", "How well do we make you feel cared for?"),
}


def _feedback_rows(village, contact_ids) -> pd.DataFrame:
    r = village.responses
    r = r[r["channel"].eq("survey")].reset_index(drop=True)
    ts = ((r["date"].dt.normalize() + pd.Timedelta(hours=12)) - pd.Timestamp("1970-01-01")) // pd.Timedelta(
        milliseconds=1
    )
    rows = []
    for item, (stype, sname, question) in _SURVEY.items():
        has = r[item].notna()
        part = pd.DataFrame(
            {
                "resp": r.index[has],
                "order": list(_SURVEY).index(item),
                "hs_survey_id": str(3_100 + list(_SURVEY).index(item)),
                "hs_survey_name": sname,
                "hs_survey_type": stype,
                "hs_question": question,
                "hs_response_value": (8 - r.loc[has, item] if item == "neteasy" else r.loc[has, item])
                .astype(int)
                .astype(str)
                .to_numpy(),
                "hs_content": None,
            }
        )
        rows.append(part)
    long = pd.concat(rows, ignore_index=True).sort_values(["resp", "order"], kind="stable")
    long["hs_content"] = long["hs_content"].astype(object)
    # the comment rides on the response's first rating (HubSpot's follow-up question), as hs_content
    first = ~long["resp"].duplicated()
    long.loc[first, "hs_content"] = r["comment"].reindex(long.loc[first, "resp"]).to_numpy()
    long["hs_submission_timestamp"] = ts.reindex(long["resp"]).astype("int64").astype(str).to_numpy()
    long["hs_contact_id"] = r["stakeholder_id"].map(contact_ids).reindex(long["resp"]).to_numpy()
    long.insert(0, "hs_object_id", [str(5_400_000 + 17 * i) for i in range(len(long))])
    return long.drop(columns=["resp", "order"]).reset_index(drop=True)
