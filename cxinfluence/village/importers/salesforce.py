"""Salesforce: a folder of object exports (Data Loader or the weekly Data Export), API field names.

Files (named after the object, case-insensitive; only ``Contact.csv`` is required):

``Account.csv``
    ``Id``, ``Name``, ``Industry`` (-> segment), ``Region__c``/``Sales_Region__c`` (-> region, if present),
    ``Owner.Name`` (or ``OwnerName``; -> owner). ``AnnualRevenue`` is the *customer's own* turnover, not
    revenue from the account, so it is not used: ``annual_revenue`` is the account's closed-won amount in
    its latest period unless ``[salesforce.accounts] columns = {annual_revenue = "ARR__c"}`` names a field.
``Contact.csv``
    ``Id``, ``AccountId``, ``FirstName``/``LastName`` (or ``Name``), ``Email``, ``Title``, ``Department``,
    ``ReportsToId`` (-> a reports_to tie). ``[salesforce.contacts] columns`` maps custom fields to
    ``veto``, ``influence_rating``, ``active_from``, ``active_to``, ``role`` (e.g. ``{active_to = "Left__c"}``).
``AccountContactRole.csv``, ``OpportunityContactRole.csv``, ``AccountContactRelation.csv``
    ``ContactId``, ``Role`` (``Roles``, ``;``-separated, on AccountContactRelation) and ``AccountId`` or
    ``OpportunityId``. The picklist is mapped by :func:`cxinfluence.village.importers.mapping.role_table`; when a
    contact has several roles in its account the strongest is kept (decider > gatekeeper > buyer >
    influencer > user).
``Opportunity.csv``
    ``Id``, ``AccountId``, ``Type``, ``IsWon``, ``IsClosed``, ``CloseDate``, ``Amount``, ``StageName``.
    Outcomes: one row per account and period (``renewals.period``, default calendar year) in which a
    renewal opportunity (``renewals.types``) closed: ``renewed`` = 1 if one was won, else 0; ``bookings`` =
    the closed-won ``Amount`` of every type in that period.

Ids are kept exactly as exported (18-character, case-sensitive). ``IsDeleted = true`` rows (Data Export)
are dropped and counted. Booleans are ``true``/``false`` (Data Loader) or ``1``/``0``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ...exceptions import ImportDataError
from ..ids import arrow_strings, unique_text
from ._common import (
    Export,
    booleans,
    date_options,
    dropped_rows,
    emails,
    located,
    lookup,
    numbers,
    parse_dates,
    source_columns,
    take,
)
from .mapping import DEFAULT_RENEWAL_TYPES, role_table, section
from .staging import Staged

OBJECTS = ("Account", "Contact", "AccountContactRole", "OpportunityContactRole", "AccountContactRelation", "Opportunity")
ROLE_RANK = {"decider": 0, "gatekeeper": 1, "buyer": 2, "influencer": 3, "user": 4}
FIELDS = {
    "Account": ("Id", "Name", "Industry", "Region__c", "Sales_Region__c", "Region", "Owner.Name", "OwnerName", "Owner Name",
                "Owner", "IsDeleted"),
    "Contact": ("Id", "AccountId", "FirstName", "LastName", "Name", "Email", "Title", "Department", "ReportsToId",
                "ReportsTo.Id", "IsDeleted"),
    "AccountContactRole": ("ContactId", "AccountId", "Role", "IsDeleted"),
    "OpportunityContactRole": ("ContactId", "OpportunityId", "Role", "IsDeleted"),
    "AccountContactRelation": ("ContactId", "AccountId", "Roles", "Role", "IsDeleted"),
    "Opportunity": ("Id", "AccountId", "Type", "IsWon", "IsClosed", "StageName", "Amount", "CloseDate", "IsDeleted"),
}
PEOPLE_FIELDS = ("veto", "influence_rating", "active_from", "active_to", "role", "department", "title", "email", "name")


def _files(folder: Path):
    found = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() == ".csv":
            for obj in OBJECTS:
                if p.stem.lower() == obj.lower():
                    found[obj] = p
    return found


def _live(ex: Export, st: Staged):
    """Row mask without ``IsDeleted = true`` rows (counted in notes)."""
    col = ex.find("IsDeleted")
    keep = np.ones(ex.n, bool)
    if col:
        gone = booleans(ex.text(col)).eq(True).to_numpy()
        if gone.any():
            keep = ~gone
            st.notes.append(f"{ex.file}: {int(gone.sum())} deleted record(s) (IsDeleted = true) left out")
            st.dropped += dropped_rows(ex.file, ex.rows()[gone], "deleted in Salesforce (IsDeleted = true)")
    return keep


def _overrides(mapping, key):
    return dict(section(mapping, "salesforce").get(key, {}).get("columns", {}) or {})


def read_salesforce(folder, mapping=None) -> Staged:
    """Read a folder of Salesforce object exports into a :class:`~cxinfluence.village.importers.staging.Staged`.

    Parameters
    ----------
    folder : str or Path
        Folder holding ``Contact.csv`` and optionally ``Account.csv``, ``AccountContactRole.csv``,
        ``OpportunityContactRole.csv``, ``AccountContactRelation.csv``, ``Opportunity.csv``.
    mapping : dict, optional
        A parsed mapping file (see :mod:`cxinfluence.village.importers.mapping`).

    Returns
    -------
    Staged
        ``accounts``, ``people`` (with ``manager_id`` from ``ReportsToId``) and ``outcomes``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "Contact.csv").write_text(
    ...     "Id,AccountId,FirstName,LastName,Title,Email,ReportsToId\\n"
    ...     "0035e00000AbCdEFGH,0015e00000XyZaBCDE,Ann,Lee,VP Operations,ann@x.com,\\n"
    ...     "0035e00000AbCdIJKL,0015e00000XyZaBCDE,Bo,Li,Buyer,BO@x.com,0035e00000AbCdEFGH\\n")
    >>> _ = (d / "AccountContactRole.csv").write_text(
    ...     "Id,AccountId,ContactId,Role\\n02Z5e00000Qq1AAAAA,0015e00000XyZaBCDE,0035e00000AbCdEFGH,Economic Buyer\\n")
    >>> st = read_salesforce(d)
    >>> st.tables["people"][["stakeholder_id", "role", "manager_id", "email"]]
           stakeholder_id     role          manager_id       email
    0  0035e00000AbCdEFGH  decider                 NaN   ann@x.com
    1  0035e00000AbCdIJKL      NaN  0035e00000AbCdEFGH    bo@x.com
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ImportDataError([located("salesforce", folder, "not a folder; --salesforce takes the folder holding "
                                       "Contact.csv, Account.csv, Opportunity.csv, ...")], source=str(folder))
    files = _files(folder)
    st = Staged(source="salesforce", path=str(folder))
    if "Contact" not in files:
        raise ImportDataError([located("salesforce", folder, "Contact.csv is missing; export the Contact object "
                                       "(Id, AccountId, FirstName, LastName, Email, Title, Department, ReportsToId) into this folder")],
                              source=str(folder))
    ex = {obj: Export(p, source="salesforce") for obj, p in files.items()}
    for obj, e in ex.items():  # convert only the fields used (the file is still parsed once)
        mapped = _overrides(mapping, {"Account": "accounts", "Contact": "contacts"}.get(obj, "-")).values()
        e.use([e.find(c) for c in (*FIELDS[obj], *mapped)])
        st.rows_read[str(files[obj])] = e.n
    problems = []
    for obj, need in (("Account", ["Id"]), ("Contact", ["Id"]), ("Opportunity", ["Id", "AccountId", "CloseDate"]),
                      ("AccountContactRole", ["ContactId", "Role"]), ("OpportunityContactRole", ["ContactId", "Role"]),
                      ("AccountContactRelation", ["ContactId", "AccountId"])):
        if obj in ex:
            for c in need:
                if not ex[obj].find(c):
                    problems.append(located("salesforce", ex[obj].file, f"required column '{c}' is missing (the file has: "
                                            f"{', '.join(ex[obj].names[:20])}); export it with API field names", column=c))
    if problems:
        raise ImportDataError(problems, source=str(folder))
    formats, target_tz, source_tz = date_options(mapping)

    people = _contacts(ex["Contact"], st, mapping, formats, source_tz, target_tz)
    opps = _opportunities(ex["Opportunity"], st, formats, source_tz, target_tz) if "Opportunity" in ex else None
    people = _roles(ex, people, opps, st, mapping)
    st.tables["people"] = people
    if "Account" in ex:
        st.tables["accounts"] = _accounts(ex["Account"], st, mapping)
    else:
        st.notes.append("no Account.csv: accounts are the contacts' AccountIds, without names, segments or owners")
    if opps is not None:
        st.tables["outcomes"] = _outcomes(opps, st, mapping)
        if "accounts" in st.tables and "annual_revenue" not in _overrides(mapping, "accounts"):
            acc = st.tables["accounts"]
            o = st.tables["outcomes"]
            latest = o.sort_values("period_end").drop_duplicates("account_id", keep="last").set_index("account_id")["bookings"]
            acc["annual_revenue"] = acc["account_id"].map(latest).astype("float64")
            st.notes.append("annual_revenue = the account's closed-won Amount in its latest outcome period (Salesforce's "
                            "AnnualRevenue is the customer's own turnover); map a field with "
                            "[salesforce.accounts] columns = {annual_revenue = \"...\"} to change it")
    else:
        st.notes.append("no Opportunity.csv: no outcomes (renewals, bookings) from Salesforce")
    return st


def _contacts(e: Export, st, mapping, formats, source_tz, target_tz):
    keep = _live(e, st)
    f = e.find
    out = pd.DataFrame({"stakeholder_id": e.text(f("Id"))})
    acc = f("AccountId")
    out["account_id"] = e.text(acc) if acc else pd.Series(np.nan, index=out.index, dtype="str")
    first, last, name = f("FirstName"), f("LastName"), f("Name")
    if first or last:
        parts = [e.text(c).fillna("") for c in (first, last) if c]
        full = parts[0].str.cat(parts[1:], sep=" ").str.strip() if len(parts) > 1 else parts[0]
        out["name"] = full.mask(full == "")
    elif name:
        out["name"] = e.text(name)
    for field, cands in (("email", ("Email",)), ("title", ("Title",)), ("department", ("Department",)),
                         ("manager_id", ("ReportsToId", "ReportsTo.Id"))):
        c = f(*cands)
        if c:
            out[field] = e.text(c)
    if "email" in out:
        out["email"] = emails(out["email"])
    if "manager_id" not in out:
        st.notes.append(f"{e.file}: no ReportsToId column: no reporting lines")
    for field, col in _overrides(mapping, "contacts").items():
        c = f(col)
        if c is None:
            raise ImportDataError([located("salesforce", e.file, f"the mapping names column {col!r} for {field} "
                                           f"([salesforce.contacts] columns), but the file has no such column", column=col)])
        v = e.text(c)
        if field in ("active_from", "active_to"):
            v, bad = parse_dates(v, formats, source_tz=source_tz, target_tz=target_tz)
            if bad.any():
                raise ImportDataError([located("salesforce", e.file, f"{e.text(c)[bad].iloc[0]!r} is not a date", int(r), col)
                                       for r in e.rows()[bad.to_numpy()][:20]])
        elif field == "influence_rating":
            v = numbers(v)
        elif field == "veto":
            v = booleans(v)
        out[field] = v
        st.notes.append(f"{e.file}: {field} read from {c} (mapping)")
    out = source_columns(out, e.file, e.rows())
    return out.loc[keep].reset_index(drop=True)


def _role_rows(ex, opps, st, mapping):
    """Every (contact, account, role text, file, row) from the role objects."""
    frames = []
    for obj in ("AccountContactRole", "OpportunityContactRole", "AccountContactRelation"):
        if obj not in ex:
            continue
        e = ex[obj]
        keep = _live(e, st)
        f = e.find
        role_col = f("Role") if obj != "AccountContactRelation" else f("Roles", "Role")
        if role_col is None:
            continue
        df = pd.DataFrame({"contact_id": e.text(f("ContactId")), "value": e.text(role_col),
                           "source_file": e.file, "source_row": e.rows()})
        if obj == "OpportunityContactRole":
            opp = f("OpportunityId")
            if opps is not None and opp:
                df["account_id"] = pd.Series(take(opps["account_id"], lookup(e.text(opp), opps["opportunity_id"])), dtype="str")
            else:
                df["account_id"] = np.nan
                st.notes.append(f"{e.file}: roles assumed to be in each contact's own account (no Opportunity.csv to place them)")
        else:
            df["account_id"] = e.text(f("AccountId"))
        df = df.loc[keep]
        if obj == "AccountContactRelation":  # multi-select picklist: "Decision Maker;Influencer"
            df = df.assign(value=df["value"].str.split(";")).explode("value")
            df["value"] = df["value"].str.strip()
        frames.append(df.dropna(subset=["contact_id", "value"]))
    if not frames:
        return None
    return pd.concat(frames, ignore_index=True)


def _roles(ex, people, opps, st, mapping):
    rows = _role_rows(ex, opps, st, mapping)
    if rows is None:
        st.notes.append("no role objects (AccountContactRole, OpportunityContactRole): roles come from job titles")
        if "role" not in people:
            people["role"] = pd.Series(np.nan, index=people.index, dtype="str")
        return people
    table = role_table(mapping)
    key = rows["value"].str.strip().str.lower()
    known = key.isin(list(table))
    unknown = rows.loc[~known, "value"].value_counts()
    if len(unknown):
        shown = ", ".join(f"{v!r} ({n})" for v, n in unknown.head(15).items())
        st.notes.append(f"could not map {int(unknown.sum())} role value(s) to a buying-center role: {shown}; "
                        "those people's roles come from their titles. Add them under [roles] in the mapping file")
    codes, distinct = pd.factorize(key)  # each distinct picklist value mapped once
    for i, c in ((0, "role"), (1, "role_department")):
        mapped = [table[k][i] if k in table else np.nan for k in distinct]
        rows[c] = np.array([*mapped, np.nan], dtype=object)[codes]
    rows = rows.dropna(subset=["role"])
    where = lookup(rows["contact_id"], people["stakeholder_id"])  # hashed once; reused below
    own = pd.Series(take(people["account_id"], where), index=rows.index, dtype="str")
    rows["account_id"] = rows["account_id"].fillna(own)
    orphan = pd.Series(where < 0, index=rows.index)
    if orphan.any():
        st.notes.append(f"{int(orphan.sum())} role row(s) name a ContactId not in Contact.csv; left out")
        st.dropped += [{"file": f, "row": int(r), "reason": "ContactId is not in Contact.csv"}
                       for f, r in zip(rows.loc[orphan, "source_file"], rows.loc[orphan, "source_row"])]
        rows, own, where = rows.loc[~orphan], own.loc[~orphan], where[~orphan.to_numpy()]
    codes, distinct = pd.factorize(rows["role"])
    rows["rank"] = np.array([ROLE_RANK[r] for r in distinct], dtype=np.int64)[codes]
    # contacts without an AccountId take the account of their strongest role
    no_acc = people["account_id"].isna()
    if no_acc.any():
        first = rows.sort_values("rank", kind="stable").drop_duplicates("contact_id").set_index("contact_id")["account_id"]
        fill = people.loc[no_acc, "stakeholder_id"].map(first)
        people.loc[no_acc, "account_id"] = fill
        if fill.notna().any():
            st.notes.append(f"{int(fill.notna().sum())} contact(s) without an AccountId placed in the account of their role "
                            "(AccountContactRole/OpportunityContactRole)")
        own = pd.Series(take(people["account_id"], where), index=rows.index, dtype="str")
    other = rows["account_id"].notna() & (rows["account_id"] != own)
    if other.any():
        n = rows.loc[other, "contact_id"].nunique()
        ex_ids = ", ".join(rows.loc[other, "contact_id"].drop_duplicates().head(5))
        st.notes.append(f"{n} contact(s) also hold a role in an account other than their own (contacts in two accounts, "
                        f"e.g. {ex_ids}); a person belongs to one account in the village: kept in their own account "
                        "(Contact.AccountId), the other role left out")
    kept = rows.loc[~other]
    code = where[~other.to_numpy()]  # each kept row's person (row of people)
    rank = kept["rank"].to_numpy(dtype=np.int64)
    pairs = pd.unique((code * 8 + rank)[code >= 0])  # distinct (contact, role)
    several = int((np.bincount(pairs // 8) > 1).sum()) if len(pairs) else 0
    if several:
        st.notes.append(f"{several} contact(s) carry several roles in their account; the strongest is kept "
                        "(decider > gatekeeper > buyer > influencer > user)")
    # each person's strongest role: the first of their rows in stable rank order
    order = np.argsort(rank, kind="stable")
    first = order[~pd.Series(code[order]).duplicated().to_numpy()]
    at = np.full(len(people), -1, dtype=np.int64)
    at[code[first]] = first
    if not unique_text(arrow_strings(people["stakeholder_id"])):  # a contact listed twice: both rows get the role
        same = lookup(people["stakeholder_id"], people["stakeholder_id"])
        at = np.where(same >= 0, at[np.maximum(same, 0)], -1)
    mine = kept
    picked = pd.Series(take(mine["role"], at), index=people.index, dtype="str")
    if "role" in people:  # a role from a mapped custom field wins
        people["role"] = people["role"].fillna(picked)
    else:
        people["role"] = picked
    dept = pd.Series(take(mine["role_department"], at), index=people.index, dtype="str")
    people["department"] = people["department"].fillna(dept) if "department" in people else dept
    got = int(people["role"].notna().sum())
    st.notes.append(f"roles from the Role picklist for {got} of {len(people)} contact(s); the rest from job titles")
    return people


def _accounts(e: Export, st, mapping):
    keep = _live(e, st)
    f = e.find
    out = pd.DataFrame({"account_id": e.text(f("Id"))})
    cols = {"name": f("Name"), "segment": f("Industry"), "region": f("Region__c", "Sales_Region__c", "Region"),
            "owner": f("Owner.Name", "OwnerName", "Owner Name", "Owner")}
    for field, col in _overrides(mapping, "accounts").items():
        c = f(col)
        if c is None:
            raise ImportDataError([located("salesforce", e.file, f"the mapping names column {col!r} for {field} "
                                           "([salesforce.accounts] columns), but the file has no such column", column=col)])
        cols[field] = c
    for field, c in cols.items():
        if c:
            out[field] = numbers(e.text(c)) if field == "annual_revenue" else e.text(c)
    if cols.get("owner") and cols["owner"].lower() == "owner" and out["owner"].str.match(r"^005[A-Za-z0-9]{12,15}$").all():
        st.notes.append(f"{e.file}: owner holds user ids (OwnerId); export Owner.Name for names")
    if not cols.get("region"):
        st.notes.append(f"{e.file}: no region column (Region__c); region left blank")
    out = source_columns(out, e.file, e.rows())
    return out.loc[keep].reset_index(drop=True)


def _opportunities(e: Export, st, formats, source_tz, target_tz):
    keep = _live(e, st)
    f = e.find
    out = pd.DataFrame({"opportunity_id": e.text(f("Id")), "account_id": e.text(f("AccountId"))})
    out["type"] = e.text(f("Type")) if f("Type") else np.nan
    won = f("IsWon")
    closed = f("IsClosed")
    stage = f("StageName")
    if won:
        out["won"] = booleans(e.text(won))
    elif stage:
        out["won"] = e.text(stage).str.lower().eq("closed won").astype(object)
        st.notes.append(f"{e.file}: no IsWon column; won = StageName 'Closed Won'")
    else:
        raise ImportDataError([located("salesforce", e.file, "Opportunity.csv needs IsWon (or StageName) to tell won from lost", column="IsWon")])
    if closed:
        out["closed"] = booleans(e.text(closed))
    elif stage:
        out["closed"] = e.text(stage).str.lower().str.startswith("closed").astype(object)
    else:
        out["closed"] = True
    out["amount"] = numbers(e.text(f("Amount"))) if f("Amount") else np.nan
    out["close_date"], bad = parse_dates(e.text(f("CloseDate")), formats, source_tz=source_tz, target_tz=target_tz)
    out = source_columns(out, e.file, e.rows())
    if bad.any():
        raise ImportDataError([located("salesforce", e.file, f"{v!r} is not a date; CloseDate is YYYY-MM-DD in exports", int(r), "CloseDate")
                               for v, r in zip(e.text(f("CloseDate"))[bad].head(20), out.loc[bad, "source_row"].head(20))],
                              source=e.file)
    return out.loc[keep].reset_index(drop=True)


def period_ends(dates: pd.Series, period="year") -> pd.Series:
    """The last day of the period each date falls in.

    >>> period_ends(pd.Series(pd.to_datetime(["2024-02-10", "2024-11-30"])), "quarter").dt.strftime("%Y-%m-%d").tolist()
    ['2024-03-31', '2024-12-31']
    """
    freq = {"year": "Y", "quarter": "Q", "month": "M"}[period]
    return dates.dt.to_period(freq).dt.end_time.dt.normalize().astype("datetime64[ns]")


def _outcomes(opps, st, mapping):
    ren = section(mapping, "renewals")
    types = [t.strip().lower() for t in (ren.get("types") or DEFAULT_RENEWAL_TYPES)]
    period = ren.get("period", "year")
    o = opps
    open_ = o["closed"].ne(True).to_numpy()
    if open_.any():
        st.notes.append(f"{int(open_.sum())} open opportunit(ies) (IsClosed = false) not counted as outcomes yet")
    o = o.loc[~open_ & o["close_date"].notna().to_numpy() & o["account_id"].notna().to_numpy()].copy()
    o["period_end"] = period_ends(o["close_date"], period)
    is_renewal = o["type"].astype("str").str.strip().str.lower().isin(types).to_numpy()
    seen = o.loc[is_renewal, "type"].dropna().unique().tolist()
    other = o.loc[~is_renewal, "type"].fillna("(blank)").value_counts()
    st.notes.append(f"renewals = closed opportunities of Type {', '.join(repr(t) for t in (ren.get('types') or DEFAULT_RENEWAL_TYPES))} "
                    f"(found: {', '.join(map(repr, seen)) or 'none'}); other types count toward bookings only"
                    + (f" ({', '.join(f'{t!r}: {n}' for t, n in other.head(8).items())})" if len(other) else "")
                    + f"; outcome period: {period}")
    won = o["won"].eq(True).to_numpy()
    o["won_amount"] = np.where(won, o["amount"], np.nan)
    o["renewal_won"] = (won & is_renewal).astype(float)
    o["is_renewal"] = is_renewal
    g = o.groupby(["account_id", "period_end"], sort=True)
    agg = pd.DataFrame({"bookings": g["won_amount"].sum(), "renewed": g["renewal_won"].max(),
                        "renewals": g["is_renewal"].sum(), "source_row": g["source_row"].min()}).reset_index()
    none = agg["renewals"] == 0
    if none.any():
        st.notes.append(f"{int(none.sum())} account-period(s) with closed opportunities but no renewal decision: "
                        "no outcome row for them (bookings without a renewal are not an outcome)")
    agg = agg.loc[~none]
    won_no_amount = won & o["amount"].isna().to_numpy()
    if won_no_amount.any():
        st.notes.append(f"{int(won_no_amount.sum())} won opportunit(ies) have no Amount; not counted in bookings")
    out = agg[["account_id", "period_end", "renewed", "bookings", "source_row"]].reset_index(drop=True)
    out["source_file"] = "Opportunity.csv"
    st.notes.append(f"{len(out)} outcome row(s) from {int(is_renewal.sum())} closed renewal opportunit(ies)")
    return out
