"""Plain pandas versions of the importer's hot paths, kept as the readable reference.

The functions the import runs (``cxinfluence.village.importers._join`` and friends) were rewritten for
speed (ids hashed once by pyarrow, no Python-level work per row); the versions here are the
straightforward pandas code they replaced. ``tests/test_import_speed.py`` checks that both give
identical results on exports with every awkward case (15-character ids, shared and mixed-case
e-mails, unknown ids, duplicate response ids, answers with neither key). Nothing imports this
module at run time.
"""

# ruff: noqa: E501  (the code is kept as it was written)

from __future__ import annotations

import numpy as np
import pandas as pd

from . import _dropped, _salesforce15
from ._common import lookup, take
from .mapping import join_keys, role_table
from .salesforce import ROLE_RANK, _role_rows


def join_reference(answers, people, mapping, drops, report):
    """The plain pandas version of ``_join`` (answers -> responses with a stakeholder_id); see the module docstring."""
    n = len(answers)
    report.counts["answers_read"] = n
    dup = answers["response_id"].notna().to_numpy() & answers.duplicated(["source_file", "response_id"], keep="first").to_numpy()
    _dropped(drops, answers, dup, "responses", "the same response id appears twice in this file; the first is kept")
    answers = answers.loc[~dup].reset_index(drop=True)
    who = np.full(len(answers), -1, dtype=np.int64)
    how = np.full(len(answers), "", dtype=object)
    ids = people["stakeholder_id"].reset_index(drop=True)
    cid = answers["contact_id"].astype("str") if "contact_id" in answers else pd.Series(np.nan, index=answers.index, dtype="str")
    mail = answers["email"].astype("str").str.strip().str.lower() if "email" in answers else pd.Series(np.nan, index=answers.index, dtype="str")
    pmail = people["email"].astype("str").str.strip().str.lower() if "email" in people else pd.Series(np.nan, index=people.index, dtype="str")
    counts = pmail.value_counts()
    shared = set(counts.index[counts > 1])
    keep = (pmail.notna() & ~pmail.isin(list(shared))).to_numpy()
    mail_rows = np.flatnonzero(keep)
    for key in join_keys(mapping):
        todo = who < 0
        if key == "contact_id":
            pos = lookup(cid, ids)
            short = (pos < 0) & (cid.str.len() == 15).to_numpy()
            if short.any():
                full = cid[short].map(_salesforce15(people["stakeholder_id"].astype("str")))
                pos[short] = lookup(full, ids)
                if (pos[short] >= 0).any():
                    report.note("import", f"{int((pos[short] >= 0).sum())} response(s) carried a 15-character Salesforce id; "
                                "matched to the 18-character form")
        else:
            at = lookup(mail, pmail.iloc[mail_rows])
            pos = np.where(at >= 0, mail_rows[np.maximum(at, 0)] if len(mail_rows) else -1, -1)
        hit = todo & (pos >= 0)
        who[hit] = pos[hit]
        how[hit] = key
    report.counts["joined_by_contact_id"] = int((how == "contact_id").sum())
    report.counts["joined_by_email"] = int((how == "email").sum())
    miss = who < 0
    report.counts["answers_unmatched"] = int(miss.sum())
    report.counts["answers_joined"] = int((~miss).sum())
    if miss.any():
        m = answers.loc[miss]
        c, e = cid[miss], mail[miss]
        use_id = "contact_id" in join_keys(mapping)
        use_mail = "email" in join_keys(mapping)
        reason = np.where(
            c.isna() & e.isna(), "the response carries neither a contact id nor an e-mail",
            np.where(e.notna() & e.isin(list(shared)) & use_mail,
                     "e-mail '" + e.fillna("") + "' belongs to several people; add the contact id to the survey",
                     np.where(c.notna() & use_id, "contact id '" + c.fillna("") + "' is not among the imported people"
                              + np.where(e.notna(), " and e-mail '" + e.fillna("") + "' matches no one", ""),
                              "e-mail '" + e.fillna("") + "' matches no one")))
        _dropped(drops, m, np.ones(len(m), bool), "responses", pd.Series(reason, index=m.index))
    out = answers.loc[~miss].copy()
    out["stakeholder_id"] = ids.to_numpy()[who[~miss]]
    out["stakeholder_id"] = out["stakeholder_id"].astype("str")
    return out.reset_index(drop=True)


def roles_reference(ex, people, opps, st, mapping):
    """The plain pandas version of ``salesforce._roles`` (people's roles from the role objects)."""
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
    rows["role"] = key.map({k: v[0] for k, v in table.items()})
    rows["role_department"] = key.map({k: v[1] for k, v in table.items()})
    rows = rows.dropna(subset=["role"])
    where = lookup(rows["contact_id"], people["stakeholder_id"])
    own = pd.Series(take(people["account_id"], where), index=rows.index, dtype="str")
    rows["account_id"] = rows["account_id"].fillna(own)
    orphan = pd.Series(where < 0, index=rows.index)
    if orphan.any():
        st.notes.append(f"{int(orphan.sum())} role row(s) name a ContactId not in Contact.csv; left out")
        st.dropped += [{"file": f, "row": int(r), "reason": "ContactId is not in Contact.csv"}
                       for f, r in zip(rows.loc[orphan, "source_file"], rows.loc[orphan, "source_row"])]
        rows, own = rows.loc[~orphan], own.loc[~orphan]
    rows["rank"] = rows["role"].map(ROLE_RANK)
    # contacts without an AccountId take the account of their strongest role
    no_acc = people["account_id"].isna()
    if no_acc.any():
        first = rows.sort_values("rank", kind="stable").drop_duplicates("contact_id").set_index("contact_id")["account_id"]
        fill = people.loc[no_acc, "stakeholder_id"].map(first)
        people.loc[no_acc, "account_id"] = fill
        if fill.notna().any():
            st.notes.append(f"{int(fill.notna().sum())} contact(s) without an AccountId placed in the account of their role "
                            "(AccountContactRole/OpportunityContactRole)")
        own = pd.Series(take(people["account_id"], lookup(rows["contact_id"], people["stakeholder_id"])), index=rows.index,
                        dtype="str")
    other = rows["account_id"].notna() & (rows["account_id"] != own)
    if other.any():
        n = rows.loc[other, "contact_id"].nunique()
        ex_ids = ", ".join(rows.loc[other, "contact_id"].drop_duplicates().head(5))
        st.notes.append(f"{n} contact(s) also hold a role in an account other than their own (contacts in two accounts, "
                        f"e.g. {ex_ids}); a person belongs to one account in the village: kept in their own account "
                        "(Contact.AccountId), the other role left out")
    kept = rows.loc[~other]
    mine = kept.sort_values("rank", kind="stable").drop_duplicates("contact_id")
    code = lookup(kept["contact_id"], people["stakeholder_id"])
    pairs = np.unique((code * 8 + kept["rank"].to_numpy(dtype=np.int64))[code >= 0])  # distinct (contact, role)
    several = int((np.bincount(pairs // 8) > 1).sum()) if len(pairs) else 0
    if several:
        st.notes.append(f"{several} contact(s) carry several roles in their account; the strongest is kept "
                        "(decider > gatekeeper > buyer > influencer > user)")
    at = lookup(people["stakeholder_id"], mine["contact_id"])
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
