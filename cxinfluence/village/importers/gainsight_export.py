"""Write a village as a Gainsight CS export folder: the shipped sample, round-trip tests, benchmarks.

Synthetic data only; GSIDs are made up but deterministic (:func:`gsid`). The reader is
:mod:`cxinfluence.village.importers.gainsight` (which re-exports :func:`write_gainsight_export`,
:func:`gainsight_ids` and :func:`gsid`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

# one e-mail rule, manager rule and folder writer for both synthetic CRM exports
from .hubspot_export import _email, latest_managers, write_export_folder

SENTIMENTS = ("Positive", "Neutral", "Negative")


def gsid(kind: str, key) -> str:
    """A deterministic Gainsight-style GSID (36 upper-case characters) for a synthetic record.

    The format imitates Gainsight's (an object prefix such as ``1P02`` then 32 characters);
    the values are made up.

    Examples
    --------
    >>> g = gsid("company", "A001")
    >>> len(g), g[:4], g == gsid("company", "A001")
    (36, '1P02', True)
    """
    prefix = {
        "company": "1P02",
        "person": "1C01",
        "company_person": "1C02",
        "influencer": "1I00",
        "opportunity": "1O01",
        "participant": "1S02",
    }[kind]
    digest = hashlib.sha1(f"{kind}:{key}".encode()).digest()
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    n = int.from_bytes(digest, "big")
    chars = []
    for _ in range(32):
        n, r = divmod(n, 36)
        chars.append(alphabet[r])
    return prefix + "".join(chars)


def gainsight_ids(village) -> dict:
    """The GSIDs :func:`write_gainsight_export` gives a village's accounts and people.

    Returns ``{"company": {account_id: GSID}, "company_person": {stakeholder_id: GSID}}``.
    """
    return {
        "company": {a: gsid("company", a) for a in village.accounts["account_id"].astype(str)},
        "company_person": {s: gsid("company_person", s) for s in village.stakeholders["stakeholder_id"].astype(str)},
    }


def _gainsight_role(role, dept, veto, rating):
    if role == "decider":
        return "Executive Sponsor" if dept == "executive" else "Decision Maker"
    if role == "buyer":
        return "Procurement"
    if role == "gatekeeper":
        return "Legal" if dept == "legal" else ("Blocker" if veto else "Gatekeeper")
    if role == "influencer":
        return "Champion" if rating == 5 else "Influencer"
    if role == "user":
        return "End User"
    return np.nan


_QUESTIONS = {
    "nps": ("NPS", "How likely are you to recommend us to a friend or colleague?"),
    "csat": ("Rating", "Overall, how satisfied are you with our products and services?"),
    "ces": ("Rating", "How much effort did it take to get your request handled?"),
    "neteasy": ("Rating", "How easy was it to do business with us?"),
    "trust": ("Rating", "How much do you trust us to keep our promises?"),
    "cared_for": ("Rating", "Do you feel cared for as a customer?"),
    "comment": ("Text", "Is there anything else you would like to tell us?"),
}


def write_gainsight_export(village, folder, *, overwrite=False) -> Path:
    """Write a village as a Gainsight export folder (Company, Person, Company Person, People Maps, surveys, opportunities).

    Company Person ``Manager`` is each person's latest manager; ``Active`` is false for people
    who left (Gainsight keeps no departure date); ``Role`` comes from role and veto; influence
    ties become People Maps influencer lines (Sentiment derived deterministically from the pair,
    weights are not carried); survey responses become one row per answer with a Participant Id
    per response; each outcome becomes a Renewal opportunity closed on 1 December. GSIDs come
    from :func:`gainsight_ids`.

    Examples
    --------
    >>> import tempfile
    >>> from cxinfluence.village.synth import make_village
    >>> out = write_gainsight_export(make_village(3, seed=1)[0], Path(tempfile.mkdtemp()) / "gs")
    >>> sorted(p.name for p in out.iterdir())
    ['Company.csv', 'Company_Person.csv', 'Opportunity.csv', 'People_Maps_Influencers.csv', 'Person.csv', 'Survey_Answers.csv']
    """
    ids = gainsight_ids(village)
    co, cp = ids["company"], ids["company_person"]
    st = village.stakeholders
    email = _emails(village)
    person = pd.DataFrame(
        {
            "GSID": st["stakeholder_id"].map(lambda s: gsid("person", s)),
            "First Name": st["name"].str.split(" ", n=1).str[0],
            "Last Name": st["name"].str.split(" ", n=1).str[1],
            "Email": email,
        }
    )
    return write_export_folder(folder, {
        "Company.csv": _company_rows(village.accounts, co),
        "Person.csv": person,
        "Company_Person.csv": _company_person_rows(village, person["GSID"], co, cp),
        "People_Maps_Influencers.csv": _influencer_rows(village.relationships, cp),
        "Survey_Answers.csv": _answer_rows(village, cp, dict(zip(st["stakeholder_id"], email))),
        "Opportunity.csv": _opportunity_rows(village, co),
    }, overwrite=overwrite)


def _company_rows(acc: pd.DataFrame, co: dict) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "GSID": acc["account_id"].map(co),
            "Name": acc["name"],
            "Industry": acc["segment"],
            "Region": acc["region"],
            "ARR": acc["annual_revenue"],
            "CSM": acc["owner"],
            "Status": "Active",
        }
    )


def _emails(village) -> list:
    """One e-mail per person at the account's domain (namesakes in one company numbered)."""
    acc, st = village.accounts, village.stakeholders
    domain = {
        a: "".join(ch for ch in str(n).lower().rsplit(" ", 1)[0] if ch.isalpha())[:20] + ".com"
        for a, n in zip(acc["account_id"], acc["name"])
    }
    email, seen = [], {}
    for n, a in zip(st["name"], st["account_id"]):
        e = _email(n, domain[a])
        seen[e] = seen.get(e, 0) + 1
        email.append(e if seen[e] == 1 else e.replace("@", f"{seen[e]}@"))
    return email


def _company_person_rows(village, person_ids: pd.Series, co: dict, cp: dict) -> pd.DataFrame:
    """Company Person: title, department, Role picklist, latest manager, Active (false for people who left)."""
    st = village.stakeholders
    latest = latest_managers(village).set_index("source_id")["target_id"]
    return pd.DataFrame(
        {
            "GSID": st["stakeholder_id"].map(cp),
            "Person ID": person_ids,
            "Company ID": st["account_id"].map(co),
            "Title": st["title"],
            "Department": st["department"],
            "Role": [
                _gainsight_role(r, d, v, q)
                for r, d, v, q in zip(st["role"], st["department"], st["veto"], st["influence_rating"])
            ],
            "Manager": st["stakeholder_id"].map(latest).map(cp),
            "Active": np.where(st["active_to"].isna(), "true", "false"),
            "Is Primary Company": "true",
        }
    )


def _influencer_rows(rel: pd.DataFrame, cp: dict) -> pd.DataFrame:
    """People Maps influencer lines from the influence ties (Sentiment derived from the pair; no weights)."""
    inf = rel[rel["kind"] == "influences"]
    return pd.DataFrame(
        {
            "GSID": [gsid("influencer", f"{s}>{t}") for s, t in zip(inf["source_id"], inf["target_id"])],
            "Influencer ID": inf["source_id"].map(cp).to_numpy(),
            "Company Person ID": inf["target_id"].map(cp).to_numpy(),
            "Sentiment": [
                SENTIMENTS[int(hashlib.sha1(f"{s}>{t}".encode()).hexdigest(), 16) % 3]
                for s, t in zip(inf["source_id"], inf["target_id"])
            ],
            "Type": "Within Company",
            "Notes": np.nan,
        }
    )


def _opportunity_rows(village, co: dict) -> pd.DataFrame:
    """One Renewal opportunity per outcome, closed won or lost 30 days before the period's end."""
    out = village.outcomes.reset_index(drop=True)
    name = village.accounts.set_index("account_id")["name"]
    return pd.DataFrame(
        {
            "GSID": [gsid("opportunity", i) for i in range(len(out))],
            "Company ID": out["account_id"].map(co),
            "Name": name.reindex(out["account_id"]).to_numpy() + " - Renewal " + out["period_end"].dt.year.astype(str),
            "Type": "Renewal",
            "Stage": np.where(out["renewed"] == 1, "Closed Won", "Closed Lost"),
            "Close Date": (out["period_end"] - pd.Timedelta(days=30)).dt.strftime("%Y-%m-%d"),
            "Amount": out["bookings"].round(2),
        }
    )


def _answer_rows(village, cp, email) -> pd.DataFrame:
    r = village.responses
    r = r[r["channel"].eq("survey")].reset_index(drop=True)
    parts = []
    for k, (item, (qtype, title)) in enumerate(_QUESTIONS.items()):
        has = r[item].notna()
        value = r.loc[has, item] if item == "comment" else r.loc[has, item].astype(int).astype(str)
        parts.append(
            pd.DataFrame(
                {
                    "resp": r.index[has],
                    "order": k,
                    "Question Id": f"Q{k + 1:02d}",
                    "Question Title": title,
                    "Question Type": qtype,
                    "Answer Text": value.to_numpy(),
                }
            )
        )
    long = pd.concat(parts, ignore_index=True).sort_values(["resp", "order"], kind="stable")
    resp = long["resp"]
    long.insert(0, "Survey Id", "1S01RELATIONSHIP0000000000000000000001")
    long.insert(1, "Survey Name", "Annual relationship survey")
    long.insert(2, "Participant Id", resp.map(lambda i: gsid("participant", r.at[i, "response_id"])).to_numpy())
    long.insert(3, "Company Person ID", r["stakeholder_id"].map(cp).reindex(resp).to_numpy())
    long.insert(4, "Email", r["stakeholder_id"].map(email).reindex(resp).to_numpy())
    long["Responded Date"] = (
        (r["date"].dt.normalize() + pd.Timedelta(hours=15, minutes=4))
        .dt.strftime("%Y-%m-%d %H:%M:%S")
        .reindex(resp)
        .to_numpy()
    )
    return long.drop(columns=["resp", "order"]).reset_index(drop=True)
