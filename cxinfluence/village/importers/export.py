"""Write a village out in vendors' export layouts: the shipped samples, round-trip tests and benchmarks.

Synthetic data only (:func:`cxinfluence.village.synth.make_village`). Ids become Salesforce-style 18-character
ids (key prefix + a valid case-checksum suffix), so an import must keep them exactly. What the
standard exports cannot carry (influence ties, veto, influence ratings, departures, informal
comments) is not written: the round trip checks what must survive.

Layouts: Salesforce Data Loader CSV with API field names; Qualtrics' three-header-row CSV; SurveyMonkey's
two-header-row CSV with US dates; CustomerGauge is a **best guess** (see
:mod:`cxinfluence.village.importers.customergauge`). Role picklist values written: decider ``Decision Maker``
(and ``Economic Buyer`` on the renewal's OpportunityContactRole), user ``Business User``, influencer
``Influencer``, and the org-added values ``Procurement`` (buyer) and ``Gatekeeper``.

Run ``python -m cxinfluence.village.importers.export data/exports`` to regenerate the shipped samples.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ..core import Village
from ..synth import make_village

_B62 = np.array(list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))
_SUFFIX = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"))
PICKLIST = {"decider": "Decision Maker", "buyer": "Procurement", "user": "Business User",
            "influencer": "Influencer", "gatekeeper": "Gatekeeper"}
JOB_LEVEL = {"decider": "A", "buyer": "B", "influencer": "B", "user": "C", "gatekeeper": "U"}


def salesforce_ids(prefix: str, n: int, start: int = 8_412_377, pod: str = "5e000") -> np.ndarray:
    """``n`` 18-character Salesforce-style ids with the object's key ``prefix`` and a valid checksum.

    The 3-character suffix encodes, for each 5-character chunk of the 15-character id, which
    characters are upper case (Salesforce's case-safe id).

    >>> salesforce_ids("003", 2, start=123456).tolist()
    ['0035e0000000cIPAAY', '0035e0000000cIQAAY']
    """
    k = np.arange(start, start + n, dtype=np.int64) + (int(prefix, 36) * 7919) % 1_000_003  # objects differ
    width = 15 - len(prefix) - len(pod)
    digits = np.empty((n, width), dtype="<U1")
    for j in range(width - 1, -1, -1):
        digits[:, j] = _B62[k % 62]
        k //= 62
    base = np.char.add(prefix + pod, np.array(["".join(r) for r in digits]) if n else np.array([], dtype=str))
    chars = np.array([list(b) for b in base]) if n else np.empty((0, 15), dtype="<U1")
    upper = np.char.isupper(chars) & np.char.isalpha(chars)
    bits = (upper.reshape(n, 3, 5) * (1 << np.arange(5))).sum(axis=2)
    suffix = np.array(["".join(r) for r in _SUFFIX[bits]]) if n else np.array([], dtype=str)
    return np.char.add(base, suffix)


def _emails(village, people, rng):
    first, last = _split(people["name"])
    acc_name = people["account_id"].map(village.accounts.set_index("account_id")["name"])
    domain = acc_name.fillna("example").str.lower().str.replace(r"[^a-z0-9 ]", "", regex=True).str.split().str[:2].str.join("")
    local = (first.str.lower() + "." + last.str.lower()).str.replace(r"[^a-z.]", "", regex=True)
    mail = local + "@" + domain + ".com"
    dup = mail.duplicated(keep="first")
    mail[dup] = local[dup] + people["stakeholder_id"][dup].str.replace(r"\D", "", regex=True) + "@" + domain[dup] + ".com"
    return mail


def _split(names: pd.Series):
    parts = names.fillna("Pat Doe").str.split(" ", n=1)
    return parts.str[0], parts.str[1].fillna("Doe")


def write_salesforce(village, folder, seed: int = 0) -> dict:
    """Write Account, Contact, AccountContactRole, OpportunityContactRole and Opportunity CSVs.

    Returns ``{"accounts": Series, "people": Series}``: village id -> Salesforce id, plus ``"email"``
    (village stakeholder id -> e-mail written), for the survey writers and tests.
    """
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    acc, people = village.accounts, village.stakeholders
    acc_id = pd.Series(salesforce_ids("001", len(acc)), index=acc["account_id"].to_numpy())
    per_id = pd.Series(salesforce_ids("003", len(people)), index=people["stakeholder_id"].to_numpy())
    mail = pd.Series(_emails(village, people, rng).to_numpy(), index=people["stakeholder_id"].to_numpy())
    pd.DataFrame({
        "Id": acc_id.to_numpy(), "Name": acc["name"].to_numpy(), "Type": "Customer", "Industry": acc["segment"].to_numpy(),
        "Region__c": acc["region"].to_numpy(), "Owner.Name": acc["owner"].to_numpy(),
        "AnnualRevenue": (acc["annual_revenue"].to_numpy() * 40).round(-3),  # the customer's own turnover
        "ARR__c": acc["annual_revenue"].to_numpy(), "IsDeleted": "false",
    }).to_csv(folder / "Account.csv", index=False)
    first, last = _split(people["name"])
    rel = village.relationships
    rt = rel[rel["kind"] == "reports_to"].drop_duplicates("source_id")
    manager = people["stakeholder_id"].map(rt.set_index("source_id")["target_id"]).map(per_id)
    created = (pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 1500, len(people)), unit="D")
               + pd.to_timedelta(rng.integers(0, 86400, len(people)), unit="s"))
    pd.DataFrame({
        "Id": per_id.to_numpy(), "AccountId": people["account_id"].map(acc_id).to_numpy(),
        "FirstName": first.to_numpy(), "LastName": last.to_numpy(), "Email": mail.to_numpy(),
        "Title": people["title"].to_numpy(), "Department": people["department"].str.title().to_numpy(),
        "ReportsToId": manager.to_numpy(), "CreatedDate": created.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "IsDeleted": "false",
    }).to_csv(folder / "Contact.csv", index=False)
    # account-level roles for people whose role is recorded in the village (not inferred from titles)
    src = people["role_source"] if "role_source" in people else pd.Series("data", index=people.index)
    has = people["role"].notna() & (src == "data")
    acr = people.loc[has]
    pd.DataFrame({
        "Id": salesforce_ids("02Z", len(acr)), "AccountId": acr["account_id"].map(acc_id).to_numpy(),
        "ContactId": acr["stakeholder_id"].map(per_id).to_numpy(), "Role": acr["role"].map(PICKLIST).to_numpy(),
        "IsPrimary": np.where(acr["role"] == "decider", "true", "false"), "IsDeleted": "false",
    }).to_csv(folder / "AccountContactRole.csv", index=False)
    # opportunities: one renewal per outcome (won = renewed); bookings of a lost renewal as an upgrade
    o = village.outcomes.reset_index(drop=True)
    n = len(o)
    close = o["period_end"] - pd.to_timedelta(rng.integers(0, 75, n), unit="D")
    won = o["renewed"].to_numpy() == 1
    book = o["bookings"].to_numpy() if "bookings" in o else np.full(n, np.nan)
    name = o["account_id"].map(acc.set_index("account_id")["name"])
    renewal = pd.DataFrame({
        "AccountId": o["account_id"].map(acc_id).to_numpy(), "Name": (name + " - Renewal " + o["period_end"].dt.year.astype(str)).to_numpy(),
        "Type": "Renewal", "StageName": np.where(won, "Closed Won", "Closed Lost"), "IsWon": np.where(won, "true", "false"),
        "IsClosed": "true", "CloseDate": close.dt.strftime("%Y-%m-%d").to_numpy(),
        "Amount": np.where(won, book, np.nan).round(2), "CurrencyIsoCode": "USD",
    })
    extra = ~won & np.isfinite(book) & (book > 0)
    upgrade = renewal.loc[extra].assign(
        Type="Existing Customer - Upgrade", StageName="Closed Won", IsWon="true",
        Name=(name[extra] + " - Spares " + o.loc[extra, "period_end"].dt.year.astype(str)).to_numpy(), Amount=book[extra].round(2))
    opps = pd.concat([renewal, upgrade], ignore_index=True)
    opps.insert(0, "Id", salesforce_ids("006", len(opps)))
    opps.to_csv(folder / "Opportunity.csv", index=False)
    # the deciders sign the renewal: an OpportunityContactRole "Economic Buyer"
    dec = people.loc[people["role"].eq("decider")].drop_duplicates("account_id")
    first_opp = opps.iloc[: len(renewal)].drop_duplicates("AccountId").set_index("AccountId")["Id"]
    ocr_opp = dec["account_id"].map(acc_id).map(first_opp)
    keep = ocr_opp.notna().to_numpy()
    pd.DataFrame({
        "Id": salesforce_ids("00K", int(keep.sum())), "OpportunityId": ocr_opp[keep].to_numpy(),
        "ContactId": dec.loc[keep, "stakeholder_id"].map(per_id).to_numpy(), "Role": "Economic Buyer", "IsPrimary": "true",
    }).to_csv(folder / "OpportunityContactRole.csv", index=False)
    return {"accounts": acc_id, "people": per_id, "email": mail}


def _survey_rows(village, score="nps"):
    r = village.responses
    return r.loc[(r["channel"] == "survey") & r[score].notna()].reset_index(drop=True)


def _scramble_case(emails: pd.Series, rng) -> pd.Series:
    """Some e-mails upper-cased or padded, as people type them."""
    pick = rng.random(len(emails))
    out = emails.where(pick > 0.15, emails.str.upper())
    return out.where(pick < 0.9, " " + out + " ")


def write_qualtrics(village, path, ids, seed: int = 0, id_share: float = 0.8, timezone: str = "America/Denver") -> Path:
    """Write the village's survey answers with an NPS score as a Qualtrics export (three header rows).

    ``ExternalReference`` carries the contact's Salesforce id for ``id_share`` of the rows; the
    others carry only ``RecipientEmail`` (mixed case, stray spaces). ``RecordedDate`` is local time
    in ``timezone`` (named in the ImportId row). Q1 NPS (+ ``Q1_NPS_GROUP``), Q2 the reason (text),
    Q3 CSAT 1-5, Q4 CES 1-5.
    """
    rng = np.random.default_rng(seed)
    r = _survey_rows(village)
    n = len(r)
    people = village.stakeholders.set_index("stakeholder_id")
    first, last = _split(r["stakeholder_id"].map(people["name"]))
    start = r["date"] + pd.to_timedelta(rng.integers(7 * 3600, 19 * 3600, n), unit="s")
    dur = rng.integers(45, 900, n)
    end = start + pd.to_timedelta(dur, unit="s")
    nps = r["nps"].to_numpy()
    group = np.where(nps >= 9, 3, np.where(nps >= 7, 2, 1))
    ext = np.where(rng.random(n) < id_share, r["stakeholder_id"].map(ids["people"]).to_numpy(), "")
    fmt = "%Y-%m-%d %H:%M:%S"
    rid = np.char.add("R_", np.array(["".join(x) for x in _B62[rng.integers(0, 62, (n, 15))]]) if n else np.array([], dtype=str))
    body = pd.DataFrame({
        "StartDate": start.dt.strftime(fmt), "EndDate": end.dt.strftime(fmt), "Status": 0,
        "IPAddress": "", "Progress": 100, "Duration (in seconds)": dur, "Finished": 1, "RecordedDate": end.dt.strftime(fmt),
        "ResponseId": rid, "RecipientLastName": last.to_numpy(), "RecipientFirstName": first.to_numpy(),
        "RecipientEmail": _scramble_case(r["stakeholder_id"].map(ids["email"]), rng).to_numpy(), "ExternalReference": ext,
        "LocationLatitude": "", "LocationLongitude": "", "DistributionChannel": "email", "UserLanguage": "EN",
        "Q1": pd.array(nps, dtype="Int64"), "Q1_NPS_GROUP": group, "Q2": r["comment"].to_numpy(),
        "Q3": pd.array(r["csat"].to_numpy(), dtype="Int64"), "Q4": pd.array(r["ces"].to_numpy(), dtype="Int64"),
    })
    labels = ["Start Date", "End Date", "Response Type", "IP Address", "Progress", "Duration (in seconds)", "Finished",
              "Recorded Date", "Response ID", "Recipient Last Name", "Recipient First Name", "Recipient Email",
              "External Data Reference", "Location Latitude", "Location Longitude", "Distribution Channel", "User Language",
              "How likely is it that you would recommend us to a friend or colleague?",
              "How likely is it that you would recommend us to a friend or colleague? - Group",
              "What is the primary reason for your score?", "Overall, how satisfied are you with our service?",
              "How easy was it to get your issue resolved?"]
    imports = ["startDate", "endDate", "status", "ipAddress", "progress", "duration", "finished", "recordedDate", "_recordId",
               "recipientLastName", "recipientFirstName", "recipientEmail", "externalDataReference", "locationLatitude",
               "locationLongitude", "distributionChannel", "userLanguage", "QID1", "QID1_NPS_GROUP", "QID2_TEXT", "QID3", "QID4"]
    meta = [json.dumps({"ImportId": i, **({"timeZone": timezone} if "Date" in i or i.endswith("date") else {})},
                       separators=(",", ":")) for i in imports]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    head = pd.DataFrame([labels, meta], columns=body.columns)
    with open(path, "w", encoding="utf-8", newline="") as f:
        body.iloc[:0].to_csv(f, index=False)
        head.to_csv(f, index=False, header=False)
        _fast_csv(body, f)
    return path


def _fast_csv(df, f):
    """Rows of ``df`` without a header, via pyarrow when possible (benchmark-sized files)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    try:
        table = pa.Table.from_pandas(df, preserve_index=False)
        f.flush()
        buf = pa.BufferOutputStream()
        pcsv.write_csv(table, buf, pcsv.WriteOptions(include_header=False, quoting_style="needed"))
        f.write(buf.getvalue().to_pybytes().decode("utf-8"))
    except (pa.ArrowException, TypeError, ValueError):
        df.to_csv(f, index=False, header=False)


def write_surveymonkey(village, path, ids, seed: int = 0, id_share: float = 0.7, company: str = "Northwind Industrial") -> Path:
    """Write the survey answers with an NPS score as a SurveyMonkey export (two header rows, US dates).

    ``Custom Data 1`` carries the contact's Salesforce id for ``id_share`` of the rows.
    """
    rng = np.random.default_rng(seed)
    r = _survey_rows(village)
    n = len(r)
    people = village.stakeholders.set_index("stakeholder_id")
    first, last = _split(r["stakeholder_id"].map(people["name"]))
    start = r["date"] + pd.to_timedelta(rng.integers(7 * 3600, 19 * 3600, n), unit="s")
    end = start + pd.to_timedelta(rng.integers(40, 600, n), unit="s")
    fmt = "%m/%d/%Y %I:%M:%S %p"
    nps = r["nps"].astype(int).astype(str).to_numpy()
    nps = np.where(nps == "10", "10 - Extremely likely", np.where(nps == "0", "0 - Not at all likely", nps))
    q = f"How likely is it that you would recommend {company} to a friend or colleague?"
    body = pd.DataFrame({
        "Respondent ID": (11400000000 + rng.choice(10**8, n, replace=False)) if n else [],
        "Collector ID": 402117433, "Start Date": start.dt.strftime(fmt), "End Date": end.dt.strftime(fmt),
        "IP Address": "", "Email Address": _scramble_case(r["stakeholder_id"].map(ids["email"]), rng).to_numpy(),
        "First Name": first.to_numpy(), "Last Name": last.to_numpy(),
        "Custom Data 1": np.where(rng.random(n) < id_share, r["stakeholder_id"].map(ids["people"]).to_numpy(), ""),
        q: nps, "What is the primary reason for your score?": r["comment"].to_numpy(),
        "How satisfied are you with our field service?": pd.array(r["csat"].to_numpy(), dtype="Int64"),
    })
    sub = ["", "", "", "", "", "", "", "", "", "Response", "Open-Ended Response", "Response"]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        body.iloc[:0].to_csv(f, index=False)
        pd.DataFrame([sub], columns=body.columns).to_csv(f, index=False, header=False)
        _fast_csv(body, f)
    return path


def write_customergauge(village, path, ids, seed: int = 0) -> Path:
    """Write the survey answers with an NPS score in the (best-guess) CustomerGauge layout."""
    rng = np.random.default_rng(seed)
    r = _survey_rows(village)
    n = len(r)
    people = village.stakeholders.set_index("stakeholder_id")
    role = r["stakeholder_id"].map(people["role"])
    sent = r["date"] - pd.to_timedelta(rng.integers(0, 5, n), unit="D")
    resp = r["date"] + pd.to_timedelta(rng.integers(6 * 3600, 20 * 3600, n), unit="s")
    body = pd.DataFrame({
        "Number": 880000 + np.arange(n), "Date Email Sent": sent.dt.strftime("%Y-%m-%d"),
        "Date Response": resp.dt.strftime("%Y-%m-%d %H:%M:%S"),
        "Account ID": r["stakeholder_id"].map(people["account_id"]).map(ids["accounts"]).to_numpy(),
        "Contact ID": r["stakeholder_id"].map(ids["people"]).to_numpy(),
        "Email": r["stakeholder_id"].map(ids["email"]).to_numpy(),
        "Job Level": role.map(JOB_LEVEL).fillna("U").to_numpy(),
        "NPS": r["nps"].astype(int).to_numpy(), "Comment": r["comment"].to_numpy(),
    })
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    body.to_csv(path, index=False)
    return path


def write_samples(folder, n_accounts: int = 30, seed: int = 7) -> dict:
    """Write the shipped sample exports (``data/exports``) from a synthetic village."""
    folder = Path(folder)
    village, _ = make_village(n_accounts, seed=seed)
    ids = write_salesforce(village, folder / "salesforce", seed=seed)
    half = village.responses["date"] < village.responses["date"].quantile(0.5)
    early = _with_responses(village, half)
    late = _with_responses(village, ~half)
    write_qualtrics(early, folder / "qualtrics_nps.csv", ids, seed=seed)
    write_surveymonkey(late, folder / "surveymonkey_nps.csv", ids, seed=seed)
    write_customergauge(village, folder / "customergauge.csv", ids, seed=seed)
    return ids


def _with_responses(village, mask):
    return Village(village.accounts, village.stakeholders, village.relationships,
                   village.responses.loc[np.asarray(mask)].reset_index(drop=True), village.outcomes)


if __name__ == "__main__":  # pragma: no cover
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "data/exports")
    write_samples(out)
    print(f"wrote sample exports to {out}")
