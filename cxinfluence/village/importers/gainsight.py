"""Read a Gainsight CS export folder into the staging shape: companies, people, People Maps, surveys.

What the folder holds
---------------------
One CSV per object (a Report Builder or Data Management export), found by keyword in the file name:

===========================  =============================================================
file name contains            columns used (Gainsight field labels)
===========================  =============================================================
``company`` (not person)      ``GSID``, ``Name``, ``Industry``, ``Region``, ``ARR``, ``CSM``
``person`` (not company)      ``GSID``, ``First Name``, ``Last Name``, ``Email``
``company_person``            ``GSID`` (the Company Person GSID: the village's person id),
                              ``Person ID``, ``Company ID``, ``Title``, ``Department``,
                              ``Role``, ``Manager`` (a Company Person GSID), ``Active``
``influencer``/``people_map`` People Maps Influencers: ``GSID``, ``Influencer ID``,
                              ``Company Person ID``, ``Sentiment``, ``Type``, ``Notes``
``survey``/``answer``         survey answers, one row per answer: ``Survey Id``, ``Survey Name``,
                              ``Participant Id``, ``Company Person ID``, ``Email``,
                              ``Question Id``, ``Question Title``, ``Question Type``,
                              ``Answer Text``, ``Responded Date``
``opportunit``/``renewal``    ``GSID``, ``Company ID``, ``Name``, ``Type``, ``Stage``,
                              ``Close Date``, ``Amount``
===========================  =============================================================

Documented by Gainsight: the Person / Company Person object model (a Company Person record is
the person at one company, with Title and Manager), the People Maps Influencers object
(Influencer ID and Company Person ID are Company Person GSIDs; Sentiment is Positive, Negative or
Neutral; Type, Notes), and the Survey User Answer fields (Answer Text, Participant Id, Question
Id, Responded Date, Survey Id). **Best guesses** (labelled in data/exports/README_hubspot_gainsight_team.md): the flattened
survey-answer report (participant's Company Person ID and e-mail, question title and type joined
in), the ``Department`` and ``Region`` custom fields, and the opportunity export (Gainsight
usually mirrors Salesforce opportunities; its renewal objects vary by tenant). Every column can
be renamed in ``[gainsight.columns]``.

Mapping (``[gainsight]`` section)
---------------------------------
``columns`` (reader field -> export column, for every file, or for one in
``[gainsight.columns.<file>]`` with files ``company``, ``person``, ``company_person``,
``influencers``, ``answers``, ``opportunities``; fields: the keys of the ``*_COLUMNS`` tables
below), ``questions`` (question title or survey name -> item), ``renewal_types``
(default: the global ``[renewals] types``, else ``["Renewal"]``), ``won_stages``
(``["Closed Won"]``), ``lost_stages`` (``["Closed Lost", "Churned"]``), ``channel``,
``touchpoint``, ``journey_stage``; global ``[roles]`` (Company Person ``Role`` picklist),
``[dates]`` and ``[renewals]`` (``types``, ``period``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ...exceptions import Problem, VillageError
from . import _crm, _crm_answers
from .gainsight_export import SENTIMENTS, gainsight_ids, gsid, write_gainsight_export
from .staging import Staged

__all__ = ["read_gainsight", "SENTIMENTS", "gainsight_ids", "gsid", "write_gainsight_export"]

SOURCE = "gainsight"

COMPANY_COLUMNS = {
    "account_id": ("GSID", "Gsid", "Company ID", "Company GSID"),
    "name": ("Name", "Company Name"),
    "segment": ("Industry",),
    "region": ("Region", "Country"),
    "owner": ("CSM", "CSM Name"),
    "annual_revenue": ("ARR",),
}
PERSON_COLUMNS = {
    "person_id": ("GSID", "Gsid", "Person ID"),
    "firstname": ("First Name", "FirstName"),
    "lastname": ("Last Name", "LastName"),
    "name": ("Name", "Full Name"),
    "email": ("Email", "Email Address"),
    "account_id": ("Company ID", "CompanyId"),
    "title": ("Title",),
    "role": ("Role",),
}
COMPANY_PERSON_COLUMNS = {
    "stakeholder_id": ("GSID", "Gsid", "Company Person ID"),
    "person_id": ("Person ID", "Person", "PersonId"),
    "account_id": ("Company ID", "Company", "CompanyId"),
    "title": ("Title",),
    "department": ("Department",),
    "role": ("Role",),
    "manager": ("Manager", "Manager ID", "Reports To"),
    "active": ("Active", "Is Active", "IsActive"),
    "email": ("Email",),
}
INFLUENCER_COLUMNS = {
    "tie_id": ("GSID", "Gsid"),
    "influencer": ("Influencer ID", "Influencer", "InfluencerId"),
    "subject": ("Company Person ID", "Company Person", "CompanyPersonId"),
    "sentiment": ("Sentiment",),
    "type": ("Type",),
    "notes": ("Notes",),
}
ANSWER_COLUMNS = {
    "survey_id": ("Survey Id", "Survey ID"),
    "survey_name": ("Survey Name", "Survey Title"),
    "participant": ("Participant Id", "Participant ID"),
    "contact_id": ("Company Person ID", "Company Person Id", "Participant Company Person ID"),
    "email": ("Email", "Participant Email"),
    "question": ("Question Title", "Question", "Question Text"),
    "question_type": ("Question Type", "Type"),
    "value": ("Answer Text", "Answer", "Answer Value"),
    "date": ("Responded Date", "Response Date"),
}
OPPORTUNITY_COLUMNS = {
    "opportunity_id": ("GSID", "Gsid", "Opportunity ID"),
    "account_id": ("Company ID", "CompanyId", "Company"),
    "type": ("Type", "Opportunity Type"),
    "stage": ("Stage", "Stage Name"),
    "close_date": ("Close Date", "CloseDate"),
    "amount": ("Amount", "Booking Amount", "ARR"),
}
QUESTION_TYPES = {
    "NPS": "nps",
    "CSAT": "csat",
    "CES": "ces",
    "TEXT": "comment",
    "TEXTAREA": "comment",
    "COMMENT": "comment",
    "OPEN_TEXT": "comment",
}


def _files(folder: Path) -> dict:
    f = _crm.find_file
    return {
        "company_person": f(folder, ("company_person", "companyperson")),
        "company": f(folder, ("company",), exclude=("person",)),
        "person": f(folder, ("person", "people"), exclude=("company", "map", "influencer")),
        "influencers": f(folder, ("influencer", "people_map")),
        "answers": f(folder, ("survey", "answer")),
        "opportunities": f(folder, ("opportunit", "renewal")),
    }


def read_gainsight(folder, mapping=None) -> Staged:
    """Read a folder of Gainsight CS exports into a :class:`~cxinfluence.village.importers.staging.Staged`.

    Parameters
    ----------
    folder : str or Path
        The folder holding the exports (see the module docstring). Company Person (or a Person
        export carrying ``Company ID``) is required; each other file adds what it carries.
    mapping : dict, optional
        The parsed mapping file; its ``[gainsight]``, ``[roles]`` and ``[dates]`` sections are used.

    Returns
    -------
    Staged
        ``accounts``, ``people`` (Company Person GSIDs kept; role from the ``Role`` picklist;
        ``manager_id`` from ``Manager``, which the importer turns into ``reports_to`` ties),
        ``ties`` (``influences`` from People Maps influencer lines, with their ``sentiment``), ``answers``
        (one row per survey participant) and ``outcomes`` (renewals and bookings per period).

    Examples
    --------
    >>> staged = read_gainsight(Path(__file__).parents[3] / "data" / "exports" / "gainsight")
    >>> sorted(staged.tables)
    ['accounts', 'answers', 'outcomes', 'people', 'ties']
    >>> sorted(staged.tables["ties"]["kind"].unique()), int(staged.tables["people"]["manager_id"].notna().sum()) > 0
    (['influences'], True)
    """
    folder = _crm.check_folder(folder, SOURCE)
    cfg = _crm.section(mapping, SOURCE)
    dates = _crm.section(mapping, "dates")
    overrides = {
        name: _crm.overrides_for(cfg, name)
        for name in ("company", "person", "company_person", "influencers", "answers", "opportunities")
    }
    questions = _crm_answers.question_map(cfg.get("questions", {}) or {}, SOURCE)
    roles = _crm.role_table(mapping)
    staged = Staged(source=SOURCE, path=str(folder))
    files = _files(folder)
    if files["company_person"] is None and files["person"] is None:
        raise VillageError(
            [
                Problem(
                    "people",
                    str(folder),
                    None,
                    None,
                    "no Company Person export found (a .csv whose name contains 'company_person'); "
                    "export the Company Person object (with Title and Manager) into this folder",
                )
            ]
        )
    staged.notes.append("person ids are Company Person GSIDs and account ids Company GSIDs, kept as they are")
    if files["company"] is not None:
        staged.tables["accounts"] = _read_companies(files["company"], overrides["company"], staged)
    people, ties = _read_people(files, overrides, roles, staged)
    staged.tables["people"] = people
    if files["influencers"] is not None:
        ties = _read_influencers(files["influencers"], overrides["influencers"], people, staged)
    else:
        staged.notes.append("no People Maps influencers export, so the graph has reports-to ties only")
    staged.tables["ties"] = ties
    if files["opportunities"] is not None:
        staged.tables["outcomes"] = _read_opportunities(
            files["opportunities"], mapping, dates, overrides["opportunities"], staged
        )
    else:
        staged.notes.append("no opportunity export, so no renewals or bookings from Gainsight")
    if files["answers"] is not None:
        staged.tables["answers"] = _crm_answers.answer_extras(
            _read_answers(files["answers"], dates, overrides["answers"], questions, staged), cfg
        )
    return staged


def _load(path, table, aliases, overrides, staged, required=()):
    df, rows, blank = _crm.read_export(path, table)
    staged.rows_read[path.name] = len(df)
    if blank:
        staged.notes.append(f"{path.name}: {blank} blank row(s) ignored")
    return df, rows, _crm.pick_columns(df, aliases, overrides, table=table, file=path.name, required=required)


def _read_companies(path, overrides, staged) -> pd.DataFrame:
    df, rows, cols = _load(path, "accounts", COMPANY_COLUMNS, overrides, staged, required=("account_id",))
    out = pd.DataFrame({k: df[c] for k, c in cols.items()})
    if "annual_revenue" in out:
        out["annual_revenue"] = pd.to_numeric(
            out["annual_revenue"].str.replace(r"[,$€£\s]", "", regex=True), errors="coerce"
        )
    out["source_file"], out["source_row"] = path.name, rows
    bad = out["account_id"].isna() | out["account_id"].duplicated()
    staged.dropped += _crm.dropped_rows(
        bad, rows, path.name, "company without a GSID, or listed twice (the first row is kept)"
    )
    return out[~bad].reset_index(drop=True)


def _read_people(files, overrides, roles, staged):
    """People (Company Person records, else Persons that carry their company) with roles and managers."""
    persons = _read_persons(files["person"], overrides["person"], staged) if files["person"] is not None else None
    if files["company_person"] is not None:
        path = files["company_person"]
        out, role_cells, manager, rows = _company_people(path, files["person"], overrides["company_person"], persons,
                                                         staged)
    else:  # a Person export that carries the company
        path = files["person"]
        out, role_cells, manager, rows = _people_from_persons(persons, path, staged)
    file = path.name
    if role_cells is not None:
        _role_picklist(out, role_cells, roles, staged, file)
    out["source_file"], out["source_row"] = file, np.asarray(rows)
    bad = out["stakeholder_id"].isna()
    dup = out["stakeholder_id"].duplicated() & ~bad
    staged.dropped += _crm.dropped_rows(bad, rows, file, "person without a GSID")
    staged.dropped += _crm.dropped_rows(dup, rows, file, "Company Person GSID listed twice; the first row is kept")
    keep = (~bad & ~dup).to_numpy()
    out, manager, rows = out[keep].reset_index(drop=True), manager[keep].reset_index(drop=True), np.asarray(rows)[keep]
    out["manager_id"] = _known_managers(out, manager, rows, staged, file)
    ties = pd.DataFrame(columns=["source_id", "target_id", "kind", "weight", "source_file", "source_row"])
    em = _crm.email_key(out["email"])
    shared = em.notna() & em.duplicated(keep=False)
    if shared.any():
        staged.notes.append(
            f"{file}: {int(em[shared].nunique())} e-mail address(es) belong to more than one Company Person (a person at two companies, or a shared inbox); "
            "answers carrying only such an e-mail cannot be joined by e-mail"
        )
    return out, ties


def _read_persons(path, overrides, staged) -> pd.DataFrame:
    """The Person export: one row per person id with name (first + last, else the full name), e-mail and,
    where present, company, title and role."""
    pdf, _prow, pcols = _load(path, "people", PERSON_COLUMNS, overrides, staged, required=("person_id",))
    name = pdf[pcols["name"]] if "name" in pcols else pd.Series(np.nan, index=pdf.index, dtype=object)
    if "firstname" in pcols or "lastname" in pcols:
        full = pdf[pcols["firstname"]].fillna("") if "firstname" in pcols else ""
        full = (
            (full + " " + (pdf[pcols["lastname"]].fillna("") if "lastname" in pcols else ""))
            .str.strip()
            .replace("", np.nan)
        )
        name = full.fillna(name)
    persons = pd.DataFrame(
        {
            "person_id": pdf[pcols["person_id"]],
            "name": name,
            "email": pdf[pcols["email"]] if "email" in pcols else np.nan,
            **{k: pdf[pcols[k]] for k in ("account_id", "title", "role") if k in pcols},
        }
    )
    return persons.dropna(subset=["person_id"]).drop_duplicates("person_id")


def _company_people(path, person_file, overrides, persons, staged):
    """``(people, role cells, manager ids, rows)`` from the Company Person export, names and e-mails
    from the Person export; inactive records noted (Gainsight keeps no departure date)."""
    df, rows, cols = _load(path, "people", COMPANY_PERSON_COLUMNS, overrides, staged,
                           required=("stakeholder_id", "account_id"))
    out = pd.DataFrame({"stakeholder_id": df[cols["stakeholder_id"]], "account_id": df[cols["account_id"]]})
    for k in ("title", "department", "email"):
        out[k] = df[cols[k]] if k in cols else np.nan
    if "person_id" in cols and persons is not None:
        p = persons.set_index("person_id")
        pid = df[cols["person_id"]]
        out["name"] = pid.map(p["name"])
        out["email"] = out["email"].astype(object).fillna(pid.map(p["email"]).astype(object))
        missing = pid.notna() & ~pid.isin(p.index)
        if missing.any():
            staged.notes.append(
                f"{path.name}: {int(missing.sum())} Company Person record(s) point to a Person not in {person_file.name}; they have no name or e-mail"
            )
    else:
        out["name"] = np.nan
        staged.notes.append(
            f"{path.name}: no Person export (or no Person ID column), so people have no names or e-mails from Gainsight"
        )
    role_cells = df[cols["role"]] if "role" in cols else None
    manager = df[cols["manager"]] if "manager" in cols else pd.Series(np.nan, index=df.index, dtype=object)
    if "active" in cols:
        inactive = df[cols["active"]].str.strip().str.lower().isin(["false", "no", "0", "inactive", "n"])
        out["gainsight_active"] = ~inactive
        if inactive.any():
            staged.notes.append(
                f"{path.name}: {int(inactive.sum())} Company Person record(s) are inactive (left the company); Gainsight keeps no "
                "departure date, so active_to stays blank: enter the dates in the account team's workbook (Departures)"
            )
    return out, role_cells, manager, rows


def _people_from_persons(persons, path, staged):
    """``(people, role cells, manager ids, rows)`` from a Person export that carries the company (no reporting lines)."""
    if "account_id" not in persons:
        raise VillageError(
            [
                Problem(
                    "people",
                    path.name,
                    None,
                    "Company ID",
                    "no Company Person export, and the Person export has no 'Company ID' column; export Company Person",
                )
            ]
        )
    out = persons.rename(columns={"person_id": "stakeholder_id"})[["stakeholder_id", "account_id", "name", "email"]].copy()
    out["title"] = persons.get("title")
    manager = pd.Series(np.nan, index=out.index, dtype=object)
    staged.notes.append(f"{path.name}: people read from the Person export (no Company Person export): no reporting lines")
    return out, persons.get("role"), manager, np.arange(2, len(out) + 2)


def _role_picklist(out, role_cells, roles, staged, file) -> None:
    """Role, veto and (where blank) department from the Role picklist, in place in ``out``; notes the mapping."""
    mapped = _crm.map_roles(role_cells, roles)
    out["role"], out["veto"] = mapped["role"].to_numpy(), mapped["veto"].to_numpy()
    out["department"] = (
        out["department"].astype(object).fillna(pd.Series(mapped["department"].to_numpy(), index=out.index))
        if "department" in out
        else mapped["department"].to_numpy()
    )
    out["buying_roles"] = role_cells.to_numpy()
    unknown = mapped["unmapped"].dropna()
    if len(unknown):
        staged.notes.append(
            f"{file}: Role value(s) {', '.join(repr(v) for v in sorted(set(unknown)))} have no village role; add them to [roles] "
            "(their people keep a role from the title)"
        )
    staged.notes.append(
        "Role picklist -> role with the built-in table (Decision Maker/Economic Buyer/Executive Sponsor -> decider, "
        "Champion/Influencer -> influencer, End User -> user, Procurement -> buyer, Blocker -> gatekeeper with veto, Legal -> gatekeeper/legal), "
        "overridden by [roles]"
    )


def _known_managers(out, manager, rows, staged, file) -> pd.Series:
    """Each person's manager where it is another Company Person of the export (the importer turns it into a
    reports_to tie); unknown managers and people given as their own manager are listed as dropped."""
    known = set(out["stakeholder_id"])
    has = manager.notna()
    unknown = has & ~manager.isin(known)
    staged.dropped += [
        {
            "file": file,
            "row": int(r),
            "reason": f"Manager {m} is not a Company Person in this export; the reporting line is left out",
        }
        for m, r in zip(manager[unknown], rows[unknown.to_numpy()])
    ]
    self_ = has & ~unknown & (manager == out["stakeholder_id"])
    staged.dropped += _crm.dropped_rows(self_.to_numpy(), rows, file, "Manager is the person themself")
    return manager.where(has & ~unknown & ~self_)


def _read_influencers(path, overrides, people, staged) -> pd.DataFrame:
    df, rows, cols = _load(path, "ties", INFLUENCER_COLUMNS, overrides, staged, required=("influencer", "subject"))
    src, dst = df[cols["influencer"]], df[cols["subject"]]
    known = set(people["stakeholder_id"])
    account = people.set_index("stakeholder_id")["account_id"]
    checks = (
        (src.isna() | dst.isna(), "influencer line without both Company Person ids"),
        (
            ~src.isin(known) | ~dst.isin(known),
            "influencer or influenced person is not a Company Person in this export (e.g. a Gainsight user on your side)",
        ),
        (src == dst, "a person influencing themself"),
        (src.map(account) != dst.map(account), "influencer line joins people of two different companies"),
    )
    bad = pd.Series(False, index=df.index)
    for mask, reason in checks:
        mask = mask & ~bad
        staged.dropped += _crm.dropped_rows(mask, rows, path.name, reason)
        bad |= mask
    out = pd.DataFrame(
        {
            "source_id": src,
            "target_id": dst,
            "kind": "influences",
            "weight": 1.0,
            "sentiment": df[cols["sentiment"]].str.lower() if "sentiment" in cols else np.nan,
            "source_file": path.name,
            "source_row": rows,
        }
    )[~bad]
    dup = out.duplicated(["source_id", "target_id"])
    staged.dropped += _crm.dropped_rows(
        dup.reindex(df.index, fill_value=False), rows, path.name, "influencer line listed twice; the first is kept"
    )
    staged.notes.append(
        f"{path.name}: People Maps influencer lines -> 'influences' ties (Influencer ID influences Company Person ID), weight 1; "
        "their Sentiment is kept in the ties' 'sentiment' column, not used as a weight"
    )
    return out[~dup].reset_index(drop=True)


def _read_opportunities(path, mapping, dates, overrides, staged) -> pd.DataFrame:
    cfg = _crm.section(mapping, SOURCE)
    period = _crm.section(mapping, "renewals").get("period", "year")
    df, rows, cols = _load(
        path, "outcomes", OPPORTUNITY_COLUMNS, overrides, staged, required=("account_id", "stage", "close_date")
    )
    close, bad_date = _crm.parse_dates(df[cols["close_date"]], dates)
    stage = _crm.map_unique(df[cols["stage"]], _crm.norm_key)
    won = {_crm.norm_key(s) for s in cfg.get("won_stages", ["Closed Won"])}
    lost = {_crm.norm_key(s) for s in cfg.get("lost_stages", ["Closed Lost", "Churned"])}
    types = _crm.renewal_values(mapping, SOURCE, "renewal_types", ["Renewal"])
    state = np.where(stage.isin(won), "won", np.where(stage.isin(lost), "lost", "open"))
    renewal = (
        _crm.map_unique(df[cols["type"]], _crm.type_key).isin(types)
        if "type" in cols
        else pd.Series(False, index=df.index)
    )
    staged.notes.append(
        f"{path.name}: renewal = Type in {sorted(types)}; won = Stage in {sorted(won)}, lost = Stage in {sorted(lost)}; "
        f"outcome periods are calendar {period}s (the close date's); bookings = amounts of all won opportunities"
    )
    account = df[cols["account_id"]]
    for mask, reason in (
        (bad_date, "close date is not a date"),
        (account.isna().to_numpy(), "opportunity without a Company ID"),
        ((state == "open") & ~bad_date, "opportunity is still open: not an outcome yet"),
    ):
        staged.dropped += _crm.dropped_rows(mask, rows, path.name, reason)
    amount = (
        pd.to_numeric(df[cols["amount"]].str.replace(r"[,$€£\s]", "", regex=True), errors="coerce")
        if "amount" in cols
        else np.nan
    )
    deals = pd.DataFrame(
        {
            "account_id": account,
            "close_date": close,
            "state": state,
            "renewal": renewal.astype(bool),
            "amount": amount,
            "row": rows,
        }
    )
    out, notes = _crm.outcomes_from_deals(
        deals[~bad_date & account.notna().to_numpy()], period=period, source=path.name
    )
    staged.notes += notes
    return out


def _read_answers(path, dates, overrides, questions, staged) -> pd.DataFrame:
    df, rows, cols = _load(path, "answers", ANSWER_COLUMNS, overrides, staged, required=("value", "date"))
    when, bad_date = _crm.parse_dates(df[cols["date"]], dates)
    contact = df[cols["contact_id"]] if "contact_id" in cols else pd.Series(np.nan, index=df.index, dtype=object)
    email = df[cols["email"]] if "email" in cols else pd.Series(np.nan, index=df.index, dtype=object)
    qtype = (
        _crm.map_unique(df[cols["question_type"]], _crm.norm_key)
        if "question_type" in cols
        else pd.Series(np.nan, index=df.index)
    )
    item = qtype.map(QUESTION_TYPES)
    mapped = {_crm.norm_key(k) for k in questions}
    for col in ("question", "survey_name"):
        if col in cols:
            by_map = _crm.map_unique(
                df[cols[col]], lambda t: _crm_answers.item_of_question(t, questions) if _crm.norm_key(t) in mapped else np.nan
            )
            item = by_map.fillna(item.astype(object)).fillna(
                _crm.map_unique(df[cols[col]], lambda t: _crm_answers.item_of_question(t, {}))
            )
    who = contact.fillna(_crm.email_key(email))
    if "participant" in cols:
        fallback = (
            pd.DataFrame({"who": who, "when": when})
            .groupby(["who", "when"], sort=False, dropna=False)
            .ngroup()
            .astype(str)
        )
        key = df[cols["participant"]].fillna("|" + fallback)
        rid = df[cols["participant"]]
        staged.notes.append(
            f"{path.name}: the answers of one survey participant (Participant Id) form one response, dated by its last answer"
        )
    else:
        key = pd.DataFrame({"who": who, "when": when}).groupby(["who", "when"], sort=False, dropna=False).ngroup()
        rid = pd.Series(np.nan, index=df.index, dtype=object)
    no_who = who.isna().to_numpy()
    ignored = item.eq("ignore").to_numpy()
    ok = _crm_answers.usable_answers(staged, rows, path.name, bad_date, no_who, ignored,
                             date_reason="Responded Date is not a date",
                             who_reason="no Company Person ID or e-mail: the answer cannot be joined to a person")
    long = pd.DataFrame(
        {
            "response_key": key,
            "response_id": rid,
            "contact_id": contact,
            "email": email,
            "date": when,
            "item": item,
            "value": df[cols["value"]],
            "row": rows,
        }
    )[ok]
    answers, dropped, notes = _crm_answers.pivot_answers(long, file=path.name)
    staged.dropped += dropped
    staged.notes += notes
    staged.notes.append(
        f"{path.name}: Question Type NPS -> nps, text questions -> comment, other questions by their title "
        "(recommend -> nps, satisf -> csat, effort -> ces, easy -> neteasy, trust, cared for) unless [gainsight.questions] says; channel = survey"
    )
    return answers
