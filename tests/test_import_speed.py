"""The import's fast paths give exactly what the plain pandas reference gives (cxinfluence.village.importers.reference).

The exports carry every awkward case the join and the role picklists meet: 15-character Salesforce
ids, e-mails shared by several people or written in another case, unknown contact ids, answers with
neither key, repeated response ids, contacts listed twice, role rows naming unknown contacts or a
second account, unmapped picklist values, contacts without an AccountId.
"""

import copy

import numpy as np
import pandas as pd
import pytest

import cxinfluence.village.importers as importers
from cxinfluence.village.importers import _common, import_village, reference, salesforce
from cxinfluence.village.importers.export import write_qualtrics, write_salesforce
from cxinfluence.village.importers.report import ImportReport
from cxinfluence.village.synth import make_village


@pytest.fixture(scope="module")
def awkward(tmp_path_factory):
    d = tmp_path_factory.mktemp("awkward")
    v, _ = make_village(30, seed=4)
    ids = write_salesforce(v, d / "sf", seed=4)
    write_qualtrics(v, d / "q.csv", ids, seed=4)
    rng = np.random.default_rng(1)
    c = pd.read_csv(d / "sf" / "Contact.csv", dtype=str, keep_default_na=False)
    i = rng.choice(len(c), 40, replace=False)
    c.loc[i[:6], "AccountId"] = ""
    c.loc[i[6:12], "Email"] = c.loc[i[12:18], "Email"].to_numpy()
    c.loc[i[18:22], "Email"] = [" " + e.upper() for e in c.loc[i[18:22], "Email"]]
    c.loc[i[22:26], "ReportsToId"] = "0035e000000XXXXAAA"
    c = pd.concat([c, c.iloc[[2, 5]]], ignore_index=True)  # a contact listed twice
    c.to_csv(d / "sf" / "Contact.csv", index=False)
    r = pd.read_csv(d / "sf" / "AccountContactRole.csv", dtype=str, keep_default_na=False)
    k = rng.choice(len(r), 24, replace=False)
    r.loc[k[:8], "Role"] = "Chief Wizard"
    r.loc[k[8:16], "ContactId"] = "0035e000000YYYYAAA"
    r.loc[k[16:24], "AccountId"] = r["AccountId"].sample(8, random_state=1).to_numpy()
    r.to_csv(d / "sf" / "AccountContactRole.csv", index=False)
    q = pd.read_csv(d / "q.csv", dtype=str, keep_default_na=False, header=None)
    names = list(q.iloc[0])
    ext, mail, rid = names.index("ExternalReference"), names.index("RecipientEmail"), names.index("ResponseId")
    j = rng.choice(np.arange(3, len(q)), 120, replace=False)
    q.loc[j[:30], ext] = ""  # e-mail only
    q.loc[j[30:45], ext] = [x[:15] for x in q.loc[j[30:45], ext]]  # 15-character ids
    q.loc[j[45:55], ext] = "0035e000000ZZZZAAA"  # unknown id
    q.loc[j[55:62], [ext, mail]] = ""  # neither key
    q.loc[j[62:75], ext] = ""
    q.loc[j[62:75], mail] = [m.upper() for m in q.loc[j[62:75], mail]]
    q.loc[j[75:85], ext] = ""
    q.loc[j[75:85], mail] = "nobody@nowhere.com"
    q.loc[j[85:90], rid] = q.loc[j[90:95], rid].to_numpy()  # repeated response ids
    q.to_csv(d / "q.csv", index=False, header=False)
    return d


def _captured(monkeypatch, module, name, kw):
    got = []
    real = getattr(module, name)

    def spy(*args):
        got.append(copy.deepcopy(args))
        return real(*args)

    monkeypatch.setattr(module, name, spy)
    import_village(**kw)
    return got[0]


@pytest.mark.parametrize("keys", [None, ["email", "contact_id"], ["contact_id"], ["email"]])
def test_join_equals_reference(awkward, monkeypatch, keys):
    mapping = {"join": {"keys": keys}} if keys else {}
    kw = dict(salesforce=awkward / "sf", qualtrics=awkward / "q.csv", mapping=mapping)
    answers, people, mapping, _, _ = _captured(monkeypatch, importers, "_join", kw)
    out = {}
    for name, f in (("fast", importers._join), ("reference", reference.join_reference)):
        drops, report = [], ImportReport()
        got = f(answers.copy(), people.copy(), mapping, drops, report)
        out[name] = (got, pd.concat(drops, ignore_index=True) if drops else None, report.counts, report.notes)
    fast, ref = out["fast"], out["reference"]
    rows = fast[0].pop("_row_of")  # the fast join also keeps each response's person row, for validation
    ids = people["stakeholder_id"].reset_index(drop=True).to_numpy()
    assert (ids[rows] == fast[0]["stakeholder_id"].to_numpy()).all()
    pd.testing.assert_frame_equal(fast[0], ref[0], check_exact=True)
    pd.testing.assert_frame_equal(fast[1], ref[1], check_exact=True)
    assert fast[2] == ref[2] and fast[3] == ref[3]
    assert ref[2]["answers_unmatched"] > 0 and ref[2]["answers_joined"] > 0  # the awkward cases were met
    if keys is None:
        assert ref[2]["joined_by_email"] > 0 and any("15-character" in t for _, t in ref[3])
        assert ref[1]["reason"].str.contains("belongs to several people").any()


def test_roles_equal_reference(awkward, monkeypatch):
    args = _captured(monkeypatch, salesforce, "_roles", dict(salesforce=awkward / "sf"))
    out = {}
    for name, f in (("fast", salesforce._roles), ("reference", reference.roles_reference)):
        ex, people, opps, st, mapping = copy.deepcopy(args)
        got = f(ex, people, opps, st, mapping)
        out[name] = (got, st.notes, st.dropped)
    pd.testing.assert_frame_equal(out["fast"][0], out["reference"][0], check_exact=True)
    assert out["fast"][1] == out["reference"][1] and out["fast"][2] == out["reference"][2]
    notes = " ".join(out["reference"][1])
    assert "Chief Wizard" in notes and "account other than their own" in notes and "not in Contact.csv" in notes


def test_a_row_longer_than_a_read_block(tmp_path):
    p = tmp_path / "long.csv"
    long = "x" * (3 << 20)  # a 3 MiB comment: longer than the 1 MiB blocks the reader starts with
    p.write_text(f'Id,Comment\n1,"{long}"\n2,"two\nlines"\n')
    ex = _common.Export(p)
    assert ex.text("Comment").str.len().tolist() == [len(long), 9]


@pytest.mark.parametrize("sources", ["sf", "sf+q"])
def test_validation_with_the_combiners_matches_equals_hashing(awkward, monkeypatch, sources):
    from cxinfluence.village.importers import validation

    calls = []
    real = validation.check_tables

    def spy(raw, **kw):
        calls.append((raw, kw.get("known")))
        return real(raw, **kw)

    monkeypatch.setattr(validation, "check_tables", spy)  # where the import's validation step looks it up
    kw = {"salesforce": awkward / "sf"}
    if sources == "sf+q":
        kw["qualtrics"] = awkward / "q.csv"
    import_village(**kw)
    raw, known = calls[0]
    expected = {("accounts", "account_id"), ("stakeholders", "stakeholder_id"), ("stakeholders", "account_id"),
                ("outcomes", "account_id"), ("relationships", "source_id"), ("relationships", "target_id"),
                ("responses", "stakeholder_id")}
    assert set(known) == expected  # every id matched by the combiner: validation hashes none
    m1, m2 = {}, {}
    typed1, found1 = real(copy.deepcopy(raw), matched=m1, known=known)
    typed2, found2 = real(copy.deepcopy(raw), matched=m2)
    assert [repr(p) for p in found1] == [repr(p) for p in found2]
    for name in typed2:
        pd.testing.assert_frame_equal(typed1[name], typed2[name], check_exact=True)
    assert m1.keys() == m2.keys() and all(np.array_equal(m1[k], m2[k]) for k in m2)
