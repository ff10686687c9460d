"""Read a HubSpot export folder into the staging shape: companies, contacts, deals, survey answers.

What the folder holds
---------------------
One CSV per object, found by keyword in the file name (HubSpot names its export files like
``hubspot-crm-exports-all-contacts-2024-03-05.csv``):

========================  ================================================================
file name contains         columns used (HubSpot internal name, or the UI label)
========================  ================================================================
``compan``                 ``hs_object_id``/"Record ID", ``name``, ``industry``, ``region``
                           (custom property; else ``country``), ``hs_arr`` (revenue from the
                           account; HubSpot's ``annualrevenue`` is the company's turnover and
                           is not used)
``contact``                ``hs_object_id``/"Record ID", ``firstname``, ``lastname``, ``email``,
                           ``jobtitle``, ``hs_role`` ("Employment Role", -> department),
                           ``hs_buying_role`` ("Buying Role", multi-select, ``;``-separated),
                           ``associatedcompanyid`` ("Primary Associated Company ID"),
                           ``reports_to`` (custom property, best guess: HubSpot has no standard
                           reports-to property)
``deal``                   ``hs_object_id``, ``dealstage``, ``closedate``, ``amount``,
                           ``pipeline``, ``dealtype``, ``associatedcompanyid`` (optional)
``association``            ``from_object_type``, ``from_id``, ``to_object_type``, ``to_id``,
                           ``association_label`` (one row per association; best guess)
``feedback``/``survey``    feedback submissions, one row per answer: ``hs_object_id``,
                           ``hs_survey_id``, ``hs_survey_name``, ``hs_survey_type``
                           (NPS/CSAT/CES/CUSTOM), ``hs_question`` (best guess),
                           ``hs_response_value``, ``hs_content``, ``hs_submission_timestamp``
                           (Unix milliseconds), ``hs_contact_id``, ``hs_contact_email_rollup``
========================  ================================================================

Documented by HubSpot: the object and property internal names (``hs_object_id``,
``hs_buying_role`` and its internal values, ``associatedcompanyid``, ``dealstage``/``closedwon``,
``dealtype``/``existingbusiness``, the feedback-submission properties ``hs_survey_type``,
``hs_response_value``, ``hs_content``, ``hs_submission_timestamp``) and the exports API option to
write internal names and values. **Best guesses** (labelled in data/exports/README_hubspot_gainsight_team.md): the flat
``associations`` file (the v4 associations API returns from/to ids and labels, not a CSV), the
``reports_to`` custom property and the contact-to-contact association labels "Manager" /
"Employee" for reporting lines, the ``hs_question``, ``hs_contact_id`` and
``hs_contact_email_rollup`` columns of the survey answers. Every column can be renamed in the
mapping file (``[hubspot.columns]``).

Mapping (``[hubspot]`` section)
-------------------------------
``columns``: reader field -> export column, for every file (``title = "Position"``) or for one
(``[hubspot.columns.contacts]`` ``manager = "reports_to_contact"``; files: ``companies``,
``contacts``, ``deals``, ``associations``, ``feedback``); the fields are the keys of
:data:`COMPANY_COLUMNS`, :data:`CONTACT_COLUMNS`, :data:`DEAL_COLUMNS`,
:data:`ASSOCIATION_COLUMNS` and :data:`FEEDBACK_COLUMNS` (in
:mod:`~cxinfluence.village.importers.hubspot_layout`, importable from here);
``questions``: question text or survey name -> ``nps``/``csat``/``ces``/``neteasy``/``trust``/
``cared_for``/``comment``/``ignore``; ``renewal_dealtypes`` (default: the global
``[renewals] types``, else ``["existingbusiness", "renewal"]``), ``renewal_pipelines`` (default:
any pipeline whose name contains "renew"), ``won_stages`` (``["closedwon"]``), ``lost_stages``
(``["closedlost"]``), ``response_window`` (``"exact"``: answers with the same contact and
submission time form one response; ``"day"``: the same contact and day), ``ces_scale``
(``"ease7"``, default: HubSpot's CES survey asks for ease on 1-7, 7 = very easy, read as
NetEasy = 8 - answer; ``"effort5"``: the village's CES, 1-5, 1 = very low effort), ``channel``,
``touchpoint``, ``journey_stage`` (written on every response). Global ``[roles]``, ``[dates]``
(``formats``, ``timezone``, ``source_timezone``) and ``[renewals]`` (``types``, ``period``)
apply too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ...exceptions import Problem, VillageError
from . import _crm, _crm_answers
from .hubspot_export import hubspot_ids, write_hubspot_export
from .hubspot_layout import (
    ASSOCIATION_COLUMNS,
    BUYING_ROLE_VALUES,
    COMPANY_COLUMNS,
    CONTACT_COLUMNS,
    DEAL_COLUMNS,
    DEPARTMENTS,
    FEEDBACK_COLUMNS,
    FILES,
    SURVEY_TYPES,
    _id_text,
    _object_type,
)
from .staging import Staged

__all__ = ["read_hubspot", "hubspot_ids", "write_hubspot_export", "COMPANY_COLUMNS", "CONTACT_COLUMNS", "DEAL_COLUMNS",
           "ASSOCIATION_COLUMNS", "FEEDBACK_COLUMNS", "DEPARTMENTS", "SURVEY_TYPES", "FILES", "BUYING_ROLE_VALUES"]

SOURCE = "hubspot"

def read_hubspot(folder, mapping=None) -> Staged:
    """Read a folder of HubSpot CSV exports into a :class:`~cxinfluence.village.importers.staging.Staged`.

    Parameters
    ----------
    folder : str or Path
        The folder holding the exported files (see the module docstring for names and columns).
        Only ``contacts`` is required; each other file adds what it carries.
    mapping : dict, optional
        The parsed mapping file; its ``[hubspot]``, ``[roles]`` and ``[dates]`` sections are used.

    Returns
    -------
    Staged
        ``accounts``, ``people`` (HubSpot record ids kept; role from ``hs_buying_role``,
        ``manager_id`` from the reports-to property or a "Manager" association, which the
        importer turns into ``reports_to`` ties), ``ties`` (only a contact's further managers,
        when several are given), ``answers`` (one row per response) and ``outcomes`` (renewals and
        bookings per period) as far as the files allow; ``notes`` and ``dropped`` say
        what was assumed and left out.

    Raises
    ------
    VillageError
        The folder or its contacts file is missing, or a required column is, or the mapping is
        malformed (every problem at once, located by file and column).

    Examples
    --------
    >>> from pathlib import Path
    >>> staged = read_hubspot(Path(__file__).parents[3] / "data" / "exports" / "hubspot")
    >>> sorted(staged.tables)
    ['accounts', 'answers', 'outcomes', 'people', 'ties']
    >>> staged.tables["people"][["stakeholder_id", "account_id", "role"]].notna().all().tolist()
    [True, True, False]
    """
    folder = _crm.check_folder(folder, SOURCE)
    cfg = _crm.section(mapping, SOURCE)
    dates = _crm.section(mapping, "dates")
    overrides = {name: _crm.overrides_for(cfg, name) for name in FILES}
    questions = _crm_answers.question_map(cfg.get("questions", {}) or {}, SOURCE)
    roles = _crm.role_table(mapping)
    staged = Staged(source=SOURCE, path=str(folder))
    files = {
        k: _crm.find_file(folder, words, exclude=("association",) if k != "associations" else ())
        for k, words in FILES.items()
    }
    if files["contacts"] is None:
        raise VillageError(
            [
                Problem(
                    "contacts",
                    str(folder),
                    None,
                    None,
                    "no contacts export found (a .csv whose name contains 'contact'); export Contacts from HubSpot into this folder",
                )
            ]
        )
    staged.notes.append("ids are HubSpot record ids (hs_object_id), kept as they are")

    assoc = _read_associations(files["associations"], overrides["associations"], staged)
    if files["companies"] is not None:
        staged.tables["accounts"] = _read_companies(files["companies"], overrides["companies"], staged)
    people, ties = _read_contacts(files["contacts"], overrides["contacts"], roles, assoc, staged)
    staged.tables["people"] = people
    staged.tables["ties"] = ties
    if files["deals"] is not None:
        staged.tables["outcomes"] = _read_deals(files["deals"], mapping, dates, overrides["deals"], assoc, staged)
    else:
        staged.notes.append("no deals export, so no renewals or bookings from HubSpot")
    if files["feedback"] is not None:
        staged.tables["answers"] = _read_feedback(
            files["feedback"], cfg, dates, overrides["feedback"], questions, assoc, staged
        )
    return staged


def _load(path: Path, table: str, aliases: dict, overrides: dict, staged: Staged, required=()):
    df, rows, blank = _crm.read_export(path, table)
    staged.rows_read[path.name] = len(df)
    if blank:
        staged.notes.append(f"{path.name}: {blank} blank row(s) ignored")
    cols = _crm.pick_columns(df, aliases, overrides, table=table, file=path.name, required=required)
    return df, rows, cols


def _read_associations(path, overrides, staged) -> pd.DataFrame:
    empty = pd.DataFrame(columns=["from_type", "from_id", "to_type", "to_id", "label", "row", "file"])
    if path is None:
        return empty
    df, rows, cols = _load(
        path,
        "associations",
        ASSOCIATION_COLUMNS,
        overrides,
        staged,
        required=("from_type", "from_id", "to_type", "to_id"),
    )
    out = pd.DataFrame(
        {
            "from_type": _crm.map_unique(df[cols["from_type"]], _object_type),
            "from_id": _id_text(df[cols["from_id"]]),
            "to_type": _crm.map_unique(df[cols["to_type"]], _object_type),
            "to_id": _id_text(df[cols["to_id"]]),
            "label": _crm.map_unique(df[cols["label"]], _crm.norm_key) if "label" in cols else np.nan,
            "row": rows,
            "file": path.name,
        }
    )
    bad = out[["from_type", "from_id", "to_type", "to_id"]].isna().any(axis=1)
    staged.dropped += _crm.dropped_rows(
        bad,
        rows,
        path.name,
        "association without a known object type (contact, company, deal, feedback_submission) or id on both ends",
    )
    return out[~bad].reset_index(drop=True)


def _pairs(assoc: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """Associations between object types a and b, whichever way round they were exported, as (a_id, b_id, label, row)."""
    fwd = assoc[(assoc["from_type"] == a) & (assoc["to_type"] == b)].rename(columns={"from_id": "a", "to_id": "b"})
    back = assoc[(assoc["from_type"] == b) & (assoc["to_type"] == a)].rename(columns={"to_id": "a", "from_id": "b"})
    return pd.concat(
        [fwd[["a", "b", "label", "row"]], back[["a", "b", "label", "row"]]], ignore_index=True
    ).drop_duplicates(["a", "b"])


def _one_company(pairs: pd.DataFrame, what: str, staged: Staged, file: str) -> pd.Series:
    """One company per object: the association labelled primary, else the first listed; note the rest."""
    if pairs.empty:
        return pd.Series(dtype=object)
    p = pairs.assign(primary=pairs["label"].fillna("").str.contains("PRIMARY")).sort_values(
        ["a", "primary", "row"], ascending=[True, False, True]
    )
    n = p.groupby("a")["b"].transform("size")
    multi = p[n > 1]
    if len(multi):
        ex = multi.groupby("a")["b"].agg(list).head(5)
        staged.notes.append(
            f"{file}: {multi['a'].nunique()} {what}(s) are associated with more than one company; each is placed in its "
            "primary company (else the first listed), the others are not used: "
            + "; ".join(f"{k} -> {v[0]} (also {', '.join(v[1:])})" for k, v in ex.items())
        )
    return p.drop_duplicates("a").set_index("a")["b"]


def _read_companies(path, overrides, staged) -> pd.DataFrame:
    df, rows, cols = _load(path, "accounts", COMPANY_COLUMNS, overrides, staged, required=("account_id",))
    out = pd.DataFrame({k: (_id_text(df[c]) if k == "account_id" else df[c]) for k, c in cols.items()})
    if "annual_revenue" in out:
        out["annual_revenue"] = pd.to_numeric(out["annual_revenue"], errors="coerce")
    if cols.get("region", "").lower().startswith("country"):
        staged.notes.append(f"{path.name}: region taken from the company's country")
    out["source_file"], out["source_row"] = path.name, rows
    bad = out["account_id"].isna()
    dup = out["account_id"].duplicated(keep="first") & ~bad
    staged.dropped += _crm.dropped_rows(bad, rows, path.name, "company without a record id")
    staged.dropped += _crm.dropped_rows(dup, rows, path.name, "company id listed twice; the first row is kept")
    return out[~bad & ~dup].reset_index(drop=True)


def _read_contacts(path, overrides, roles, assoc, staged):
    """Contacts as staged ``people`` (with ``manager_id``) and the further managers as ``reports_to`` ties."""
    df, rows, cols = _load(path, "people", CONTACT_COLUMNS, overrides, staged, required=("stakeholder_id",))
    ids = _id_text(df[cols["stakeholder_id"]])
    out = _contact_columns(df, cols, ids)
    out["account_id"] = _contact_accounts(df, cols, ids, assoc, staged)
    if out["account_id"].isna().any():
        staged.notes.append(
            f"{path.name}: {int(out['account_id'].isna().sum())} contact(s) have no associated company; they are kept without an account"
        )
    if "buying_role" in cols:
        _buying_roles(out, df[cols["buying_role"]], roles, staged, path.name)
    managers = _manager_ties(df, cols, ids, rows, assoc, staged, path.name)
    # The first manager of each contact goes in manager_id (the importer turns it into a reports_to tie);
    # further managers (several "Manager" associations) are given as ties of their own.
    first = ~managers["source_id"].duplicated()
    out["manager_id"] = out["stakeholder_id"].map(managers[first].set_index("source_id")["target_id"])
    extra = managers[~first]
    if len(extra):
        staged.notes.append(
            f"{len(extra)} further manager(s) of contacts with more than one; the first is the contact's manager_id, "
            "the others are given as reports_to ties"
        )
    if managers.empty:
        staged.notes.append("no reporting lines found (no reports-to property or Manager associations)")
    ties = pd.DataFrame(
        {
            "source_id": extra["source_id"],
            "target_id": extra["target_id"],
            "kind": "reports_to",
            "weight": 1.0,
            "source_file": extra["file"],
            "source_row": extra["row"],
        }
    ).reset_index(drop=True)
    staged.notes.append(
        "HubSpot has no place for influence ties, veto power or departure dates: they come from the account team's workbook (cxinfluence team-template)"
    )
    return _usable_contacts(out, rows, staged, path.name), ties


def _contact_columns(df: pd.DataFrame, cols: dict, ids: pd.Series) -> pd.DataFrame:
    """Id, name (first and last), e-mail, title and department (HubSpot's Employment Role mapped) of each contact."""
    out = pd.DataFrame({"stakeholder_id": ids})
    name = pd.Series("", index=df.index)
    for c in ("firstname", "lastname"):
        if c in cols:
            name = name.str.cat(df[cols[c]].fillna(""), sep=" ")
    out["name"] = name.str.strip().replace("", np.nan)
    out["email"] = df[cols["email"]] if "email" in cols else np.nan
    out["title"] = df[cols["title"]] if "title" in cols else np.nan
    if "department" in cols:
        dep = _crm.map_unique(df[cols["department"]], _crm.norm_key)
        out["department"] = _crm.map_unique(dep, lambda v: DEPARTMENTS.get(v, v.lower()))
    return out


def _contact_accounts(df: pd.DataFrame, cols: dict, ids: pd.Series, assoc: pd.DataFrame, staged: Staged) -> pd.Series:
    """Each contact's company: the primary company property, else the contact-to-company associations."""
    account = (
        _id_text(df[cols["account_id"]]) if "account_id" in cols else pd.Series(np.nan, index=df.index, dtype=object)
    )
    from_assoc = _one_company(_pairs(assoc, "contact", "company"), "contact", staged, "associations")
    return account.astype(object).fillna(ids.map(from_assoc).astype(object))


def _buying_roles(out: pd.DataFrame, picklist: pd.Series, roles: dict, staged: Staged, file: str) -> None:
    """Role, veto and (where blank) department from the buying-role picklist, in place in ``out``; notes the mapping."""
    mapped = _crm.map_roles(picklist, roles)
    out["role"], out["veto"] = mapped["role"], mapped["veto"]
    out["department"] = (
        (out["department"] if "department" in out else pd.Series(np.nan, index=out.index))
        .astype(object)
        .fillna(mapped["department"])
    )
    out["buying_roles"] = picklist
    unknown = mapped["unmapped"].dropna()
    if len(unknown):
        vals = sorted({v for cell in unknown for v in cell.split(";")})
        staged.notes.append(
            f"{file}: buying-role value(s) {', '.join(repr(v) for v in vals)} have no role; add them to the mapping's [roles] table "
            "(their people keep a role from the title)"
        )
    staged.notes.append(
        "hs_buying_role -> role: "
        + ", ".join(
            f"{k} -> {v[0] or 'from title'}{'/' + v[1] if v[1] else ''}{' (veto)' if v[2] else ''}"
            for k, v in roles.items()
            if k in BUYING_ROLE_VALUES
        )
        + "; several values: the deciding role wins (decider > gatekeeper > buyer > influencer > user), veto if any value carries it"
    )


def _manager_ties(df, cols, ids, rows, assoc, staged, file) -> pd.DataFrame:
    """Every (contact, manager) pair with both in the contacts export: the reports-to property, then the
    "Manager"/"Employee" contact-to-contact associations; the others are listed as dropped rows."""
    ties = []
    if "manager" in cols:
        mgr = _id_text(df[cols["manager"]])
        ties.append(pd.DataFrame({"source_id": ids, "target_id": mgr, "row": rows, "file": file}).dropna())
        staged.notes.append(f"{file}: reporting lines from the contact property '{cols['manager']}'")
    cc = assoc[(assoc["from_type"] == "contact") & (assoc["to_type"] == "contact")]
    if len(cc):
        ties += _labelled_managers(cc, staged)
    t = pd.concat(ties, ignore_index=True) if ties else pd.DataFrame(columns=["source_id", "target_id", "row", "file"])
    t = t.drop_duplicates(["source_id", "target_id"])
    known = set(ids.dropna())
    unknown = ~t["target_id"].isin(known) | ~t["source_id"].isin(known)
    self_ = ~unknown & (t["source_id"] == t["target_id"])
    staged.dropped += [
        {"file": f, "row": int(r), "reason": f"manager {m} of contact {s} is not in the contacts export"}
        for s, m, r, f in t.loc[unknown, ["source_id", "target_id", "row", "file"]].itertuples(index=False)
    ]
    staged.dropped += [
        {"file": f, "row": int(r), "reason": "a contact given as their own manager"}
        for r, f in t.loc[self_, ["row", "file"]].itertuples(index=False)
    ]
    return t[~unknown & ~self_]


def _labelled_managers(cc: pd.DataFrame, staged: Staged) -> list[pd.DataFrame]:
    """(contact, manager) pairs from contact-to-contact associations: "Manager" points up, "Employee" down."""
    lab = cc["label"].fillna("")
    up = lab.str.contains("MANAGER|REPORTS_TO|SUPERVISOR|BOSS")
    down = lab.str.contains("EMPLOYEE|DIRECT_REPORT|SUBORDINATE") & ~up
    pairs = [
        pd.DataFrame({"source_id": cc.loc[up, "from_id"], "target_id": cc.loc[up, "to_id"],
                      "row": cc.loc[up, "row"], "file": cc.loc[up, "file"]}),
        pd.DataFrame({"source_id": cc.loc[down, "to_id"], "target_id": cc.loc[down, "from_id"],
                      "row": cc.loc[down, "row"], "file": cc.loc[down, "file"]}),
    ]
    other = cc[~(up | down)]
    staged.dropped += [
        {"file": f, "row": int(r), "reason": "contact-to-contact association whose label says neither manager nor employee"}
        for f, r in zip(other["file"], other["row"])
    ]
    staged.notes.append(
        f"{cc['file'].iloc[0]}: contact-to-contact label 'Manager' (or 'Reports to') means the second contact "
        "is the first one's manager; 'Employee' the reverse"
    )
    return pairs


def _usable_contacts(out: pd.DataFrame, rows, staged: Staged, file: str) -> pd.DataFrame:
    """Contacts with a record id, each id once (the rest listed as dropped); notes e-mails several contacts share."""
    bad = out["stakeholder_id"].isna()
    staged.dropped += _crm.dropped_rows(bad, rows, file, "contact without a record id")
    dup = out["stakeholder_id"].duplicated(keep="first") & ~bad
    staged.dropped += _crm.dropped_rows(dup, rows, file, "contact record id listed twice; the first row is kept")
    out = out.assign(source_file=file, source_row=rows)
    out = out[~bad & ~dup].reset_index(drop=True)
    em = _crm.email_key(out["email"])
    shared = em.notna() & em.duplicated(keep=False)
    if shared.any():
        staged.notes.append(
            f"{file}: {int(em[shared].nunique())} e-mail address(es) are shared by several contacts "
            f"({', '.join(sorted(em[shared].unique())[:5])}); survey answers carrying only such an e-mail cannot be joined by e-mail"
        )
    return out


def _read_deals(path, mapping, dates, overrides, assoc, staged) -> pd.DataFrame:
    cfg = _crm.section(mapping, SOURCE)
    period = _crm.section(mapping, "renewals").get("period", "year")
    df, rows, cols = _load(path, "outcomes", DEAL_COLUMNS, overrides, staged, required=("stage", "close_date"))
    deal_id = _id_text(df[cols["deal_id"]]) if "deal_id" in cols else pd.Series(np.nan, index=df.index, dtype=object)
    account = (
        _id_text(df[cols["account_id"]]) if "account_id" in cols else pd.Series(np.nan, index=df.index, dtype=object)
    )
    account = account.astype(object).fillna(
        deal_id.map(_one_company(_pairs(assoc, "deal", "company"), "deal", staged, "associations")).astype(object)
    )
    close, bad_date = _crm.parse_dates(df[cols["close_date"]], dates)
    stage = _crm.map_unique(df[cols["stage"]], _crm.norm_key)
    won = {_crm.norm_key(s) for s in cfg.get("won_stages", ["closedwon"])}
    lost = {_crm.norm_key(s) for s in cfg.get("lost_stages", ["closedlost"])}
    state = np.where(stage.isin(won), "won", np.where(stage.isin(lost), "lost", "open"))
    types = _crm.renewal_values(mapping, SOURCE, "renewal_dealtypes", ["existingbusiness", "renewal"])
    pipes = cfg.get("renewal_pipelines")
    renewal = (
        _crm.map_unique(df[cols["dealtype"]], _crm.type_key).isin(types)
        if "dealtype" in cols
        else pd.Series(False, index=df.index)
    )
    if "pipeline" in cols:
        pipe = _crm.map_unique(df[cols["pipeline"]], _crm.norm_key).fillna("")
        renewal |= pipe.isin({_crm.norm_key(p) for p in pipes}) if pipes else pipe.str.contains("RENEW")
    staged.notes.append(
        f"{path.name}: a deal is a renewal when its dealtype is one of {sorted(types)} or its pipeline "
        + (f"is one of {pipes}" if pipes else "name contains 'renew'")
        + f"; won = stage in {sorted(won)}, lost = stage in {sorted(lost)}; outcome periods are calendar {period}s "
        + "(the close date's); bookings = amounts of all won deals"
    )
    for mask, reason in (
        (bad_date, "close date is not a date"),
        (account.isna().to_numpy(), "deal has no associated company"),
        ((state == "open") & ~bad_date, "deal is still open (stage not won or lost): not an outcome yet"),
    ):
        staged.dropped += _crm.dropped_rows(mask, rows, path.name, reason)
    deals = pd.DataFrame(
        {
            "account_id": account,
            "close_date": close,
            "state": state,
            "renewal": renewal.astype(bool),
            "amount": pd.to_numeric(df[cols["amount"]], errors="coerce") if "amount" in cols else np.nan,
            "row": rows,
        }
    )
    keep = ~bad_date & account.notna().to_numpy()
    out, notes = _crm.outcomes_from_deals(deals[keep], period=period, source=path.name)
    staged.notes += notes
    return out


def _read_feedback(path, cfg, dates, overrides, questions, assoc, staged) -> pd.DataFrame:
    """Feedback submissions (one row per answer) as staged ``answers``, one row per response."""
    df, rows, cols = _load(path, "answers", FEEDBACK_COLUMNS, overrides, staged, required=("timestamp", "value"))
    sub, contact, email = _submitters(df, cols, assoc)
    when, bad_date = _crm.parse_dates(df[cols["timestamp"]], dates, keep_time=True)
    if not dates.get("timezone"):
        staged.notes.append(
            f"{path.name}: Unix-millisecond timestamps are read as UTC days (set [dates] timezone to use local days)"
        )
    stype = (
        _crm.map_unique(df[cols["survey_type"]], _crm.norm_key)
        if "survey_type" in cols
        else pd.Series(np.nan, index=df.index)
    )
    item, explicit = _feedback_items(df, cols, stype, questions)
    item, val = _ces_as_neteasy(item, df[cols["value"]], stype, explicit, _option(cfg, "ces_scale"), staged, path.name)
    item = item.replace("ignore", "__ignore__")
    window = _option(cfg, "response_window")
    who = contact.fillna(_crm.email_key(email))
    moment = when.dt.floor("D") if window == "day" else when
    key = pd.DataFrame({"who": who, "when": moment}).groupby(["who", "when"], sort=False, dropna=False).ngroup()
    base = pd.DataFrame(
        {"response_key": key, "response_id": sub, "contact_id": contact, "email": email, "date": when, "row": rows}
    )
    ok = _crm_answers.usable_answers(staged, rows, path.name, bad_date, who.isna().to_numpy(), item.eq("__ignore__").to_numpy(),
                             date_reason="submission time is not a date",
                             who_reason="no contact id or e-mail: the answer cannot be joined to a person")
    txt = df[cols["content"]] if "content" in cols else pd.Series(np.nan, index=df.index, dtype=object)
    is_c = item.eq("comment").to_numpy()
    rating = ok & ~is_c & (val.notna() | txt.isna()).to_numpy()  # neither value nor text: "no answer"
    from_value = ok & is_c & (val.notna() | txt.isna()).to_numpy()  # a free-text question answered in the value column
    from_text = ok & txt.notna().to_numpy()  # HubSpot's follow-up text (hs_content)
    long = pd.concat(
        [
            base.assign(item=item, value=val)[rating],
            base.assign(item="comment", value=val)[from_value],
            base.assign(item="comment", value=txt)[from_text],
        ],
        ignore_index=True,
    )
    answers, dropped, notes = _crm_answers.pivot_answers(long, file=path.name)
    answers = _crm_answers.answer_extras(answers, cfg)
    answers["date"] = answers["date"].dt.normalize()
    staged.dropped += dropped
    staged.notes += notes
    staged.notes.append(
        f"{path.name}: survey types NPS and CSAT map to nps and csat on the village scales (CSAT 1-5), other questions by their text "
        "(recommend -> nps, satisf -> csat, effort -> ces 1-5, easy -> neteasy, trust, cared for) unless [hubspot.questions] says; answers off "
        "the village scale are dropped row by row; "
        f"answers of one contact at the same {'day' if window == 'day' else 'submission time'} form one response; channel = survey"
    )
    return answers


def _submitters(df: pd.DataFrame, cols: dict, assoc: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    """``(submission id, contact id, e-mail)`` of each answer; a missing contact id from the associations."""
    blank = pd.Series(np.nan, index=df.index, dtype=object)
    sub = _id_text(df[cols["submission_id"]]) if "submission_id" in cols else blank
    contact = _id_text(df[cols["contact_id"]]) if "contact_id" in cols else blank
    fb = _pairs(assoc, "feedback", "contact")
    if len(fb):
        contact = contact.fillna(sub.map(fb.drop_duplicates("a").set_index("a")["b"]))
    email = df[cols["email"]] if "email" in cols else blank
    return sub, contact, email


def _feedback_items(df: pd.DataFrame, cols: dict, stype: pd.Series, questions: dict) -> tuple[pd.Series, np.ndarray]:
    """The village item of each answer and whether the mapping named it: the survey type (NPS, CSAT, CES),
    then the mapping's questions and the question rules, which decide CUSTOM questions and may override a type."""
    item = stype.map(SURVEY_TYPES).astype(object)
    mapped = {_crm.norm_key(k) for k in questions}
    explicit = np.zeros(len(df), bool)
    for col in ("question", "survey_name"):
        if col in cols:
            by_text = _crm.map_unique(
                df[cols[col]], lambda t: _crm_answers.item_of_question(t, questions) if _crm.norm_key(t) in mapped else np.nan
            )
            explicit |= by_text.notna().to_numpy()
            item = by_text.fillna(item.astype(object))
            item = item.fillna(_crm.map_unique(df[cols[col]], lambda t: _crm_answers.item_of_question(t, {})))
    return item, explicit


#: the [hubspot] options with a fixed set of values: option -> (allowed values, default, what they mean)
_OPTIONS = {
    "ces_scale": (("ease7", "effort5"), "ease7",
                  "expected 'ease7' (HubSpot's 1-7, 7 = very easy) or 'effort5' (1-5, 1 = very low effort)"),
    "response_window": (("exact", "day"), "exact", "expected 'exact' or 'day'"),
}


def _option(cfg: dict, name: str) -> str:
    """The value of one of the :data:`_OPTIONS` of the ``[hubspot]`` section, checked."""
    allowed, default, expected = _OPTIONS[name]
    value = str(cfg.get(name, default)).lower()
    if value not in allowed:
        raise VillageError([Problem("mapping", "mapping", None, f"hubspot.{name}", f"{name}={value!r}; {expected}")])
    return value


def _ces_as_neteasy(item, val, stype, explicit, scale, staged, file) -> tuple[pd.Series, pd.Series]:
    """With ``ces_scale = "ease7"``, answers to HubSpot's CES survey (1-7, 7 = very easy) become NetEasy
    (1-7, 1 = extremely easy) = 8 - answer, unless the mapping named their question."""
    if scale != "ease7":
        return item, val
    ces_type = stype.eq("CES").to_numpy() & item.eq("ces").to_numpy() & ~explicit
    if ces_type.any():
        item = item.where(~ces_type, "neteasy")
        num = _crm_answers.score(val)
        flip = ces_type & num.notna().to_numpy()  # a non-number stays as it is, to be reported as such
        val = val.where(~flip, (8 - num).map(lambda x: f"{x:g}", na_action="ignore"))
        staged.notes.append(
            f"{file}: HubSpot CES answers (1-7, 7 = very easy) are taken as NetEasy, reversed: neteasy = 8 - answer "
            '(set [hubspot] ces_scale = "effort5" if your CES survey asks for effort on 1-5)'
        )
    return item, val
