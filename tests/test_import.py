"""cxinfluence import: round trips per source (synthetic village -> vendor layout -> import) and
each source's awkward cases, the mapping file, the report, the CLI on the shipped samples."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxinfluence.exceptions import ImportDataError, MappingError
from cxinfluence.village.importers import combine, import_village, write_import
from cxinfluence.village.importers.export import (
    salesforce_ids,
    write_customergauge,
    write_qualtrics,
    write_salesforce,
    write_surveymonkey,
)
from cxinfluence.village.importers.mapping import load_mapping
from cxinfluence.village.importers.staging import Staged
from cxinfluence.village.synth import make_village

ROOT = Path(__file__).resolve().parents[1]
EXPORTS = ROOT / "data" / "exports"
ARR = {"salesforce": {"accounts": {"columns": {"annual_revenue": "ARR__c"}}}}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A synthetic village written as Salesforce + the three survey layouts."""
    d = tmp_path_factory.mktemp("exports")
    v, _ = make_village(8, seed=3)
    ids = write_salesforce(v, d / "sf", seed=3)
    write_qualtrics(v, d / "q.csv", ids, seed=3)
    write_surveymonkey(v, d / "sm.csv", ids, seed=3)
    write_customergauge(v, d / "cg.csv", ids, seed=3)
    return d, v, ids


def _survey(v):
    r = v.responses
    return r[(r["channel"] == "survey") & r["nps"].notna()]


# --------------------------------------------------------------------------- round trips


def test_salesforce_ids_have_valid_checksums():
    # Salesforce's case-safe suffix, recomputed by hand for one id: chunks 00Ab5 / e0000 / 0ZzYA
    def suffix(id15):
        out = ""
        for k in range(3):
            bits = sum(1 << j for j, ch in enumerate(id15[5 * k: 5 * k + 5]) if "A" <= ch <= "Z")
            out += "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[bits]
        return out

    assert suffix("00Ab5e00000ZzYA") == "EA0"  # A at 2 -> 4 = E; none -> A; Z,Y,A at 1,3,4 -> 26 = 0
    for sid in salesforce_ids("003", 50, start=10**6):
        assert len(sid) == 18 and sid[15:] == suffix(sid[:15])


def test_salesforce_round_trip(world):
    d, v, ids = world
    got, report = import_village(salesforce=d / "sf", mapping=ARR)
    acc = v.accounts.assign(account_id=v.accounts["account_id"].map(ids["accounts"])).set_index("account_id")
    a = got.accounts.set_index("account_id")
    assert sorted(a.index) == sorted(acc.index) and all(len(i) == 18 for i in a.index)
    pd.testing.assert_series_equal(a.loc[acc.index, "name"], acc["name"], check_dtype=False)
    np.testing.assert_allclose(a.loc[acc.index, "annual_revenue"], acc["annual_revenue"])
    # people: ids, accounts, titles
    s = got.stakeholders.set_index("stakeholder_id")
    want = v.stakeholders.assign(stakeholder_id=v.stakeholders["stakeholder_id"].map(ids["people"]),
                                 account_id=v.stakeholders["account_id"].map(ids["accounts"])).set_index("stakeholder_id")
    assert sorted(s.index) == sorted(want.index)
    assert (s.loc[want.index, "account_id"] == want["account_id"]).all()
    assert (s.loc[want.index, "title"] == want["title"]).all()
    # roles where the picklist carries them (people whose role is recorded data in the village)
    carried = want["role_source"] == "data"
    assert (s.loc[want.index[carried], "role"] == want.loc[carried, "role"]).all()
    assert (s.loc[want.index[carried], "role_source"] == "data").all()
    # reporting lines
    rt = v.relationships[v.relationships["kind"] == "reports_to"].drop_duplicates("source_id")
    want_ties = set(zip(rt["source_id"].map(ids["people"]), rt["target_id"].map(ids["people"])))
    r = got.relationships
    assert set(zip(r["source_id"], r["target_id"])) == want_ties and set(r["kind"]) == {"reports_to"}
    # outcomes: renewed and bookings per account and period
    o = v.outcomes.assign(account_id=v.outcomes["account_id"].map(ids["accounts"])).set_index(["account_id", "period_end"]).sort_index()
    g = got.outcomes.set_index(["account_id", "period_end"]).sort_index()
    assert list(g.index) == list(o.index)
    np.testing.assert_array_equal(g["renewed"], o["renewed"])
    np.testing.assert_allclose(g["bookings"], o["bookings"].fillna(0), rtol=1e-9, atol=0.01)
    assert any("reports-to ties only" in t for _, t in report.notes)


@pytest.mark.parametrize("source", ["qualtrics", "surveymonkey", "customergauge"])
def test_survey_round_trip(world, source):
    d, v, ids = world
    path = {"qualtrics": d / "q.csv", "surveymonkey": d / "sm.csv", "customergauge": d / "cg.csv"}[source]
    got, report = import_village(salesforce=d / "sf", **{source: path})
    want = _survey(v)
    assert report.counts["answers_unmatched"] == 0 and len(got.responses) == len(want)
    if source != "customergauge":  # some rows carry only the e-mail (mixed case, stray spaces)
        assert report.counts["joined_by_email"] > 0 and report.counts["joined_by_contact_id"] > 0
    w = pd.DataFrame({"sid": want["stakeholder_id"].map(ids["people"]).to_numpy(), "date": want["date"].to_numpy(),
                      "nps": want["nps"].to_numpy(), "comment": want["comment"].fillna("").to_numpy()})
    g = pd.DataFrame({"sid": got.responses["stakeholder_id"].to_numpy(), "date": got.responses["date"].to_numpy(),
                      "nps": got.responses["nps"].to_numpy(), "comment": got.responses["comment"].fillna("").to_numpy()})
    key = ["sid", "date", "nps", "comment"]
    pd.testing.assert_frame_equal(w.sort_values(key).reset_index(drop=True), g.sort_values(key).reset_index(drop=True),
                                  check_dtype=False)
    assert set(got.responses["channel"]) == {"survey"}


def test_qualtrics_other_scores_by_mapping(world):
    d, v, _ids = world
    m = {"qualtrics": {"columns": {"csat": "Q3", "ces": "QID4"}, "touchpoint": "relationship survey"}}
    got, _ = import_village(salesforce=d / "sf", qualtrics=d / "q.csv", mapping=m)
    want = _survey(v)
    assert np.nansum(got.responses["csat"]) == np.nansum(want["csat"])
    assert got.responses["ces"].notna().sum() == want["ces"].notna().sum()
    assert set(got.responses["touchpoint"]) == {"relationship survey"}


def test_customergauge_job_level_fills_roles(world, tmp_path):
    d, _v, _ids = world
    # drop the role objects: roles come from the CustomerGauge job level where the person answered
    sf = tmp_path / "sf"
    sf.mkdir()
    for f in ("Account.csv", "Contact.csv", "Opportunity.csv"):
        (sf / f).write_bytes((d / "sf" / f).read_bytes())
    got, _report = import_village(salesforce=sf, customergauge=d / "cg.csv")
    cg = pd.read_csv(d / "cg.csv", dtype=str)
    lvl = cg.drop_duplicates("Contact ID").set_index("Contact ID")["Job Level"]
    s = got.stakeholders.set_index("stakeholder_id")
    a = lvl[lvl == "A"].index
    assert len(a) and (s.loc[a, "role"] == "decider").all() and (s.loc[a, "role_source"] == "data").all()


# --------------------------------------------------------------------------- awkward cases


def _sf(folder, contacts, roles=None, accounts=None, opps=None):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Contact.csv").write_text(contacts)
    if roles:
        (folder / "AccountContactRole.csv").write_text(roles)
    if accounts:
        (folder / "Account.csv").write_text(accounts)
    if opps:
        (folder / "Opportunity.csv").write_text(opps)
    return folder


A1, A2 = "0015e00000AAAAAAAA", "0015e00000BBBBBBBB"
C1, C2, C3, C4 = "0035e00000Ab001AAA", "0035e00000Ab002AAA", "0035e00000Ab003AAA", "0035e00000Ab004AAA"
CONTACTS = ("Id,AccountId,FirstName,LastName,Email,Title,Department,ReportsToId,IsDeleted\n"
            f"{C1},{A1},Ann,Lee,ann@acme.com,VP Operations,Operations,,false\n"
            f"{C2},{A1},Bo,Li,shared@acme.com,Purchasing Manager,Procurement,{C1},false\n"
            f"{C3},{A1},Cy,Ng,shared@acme.com,Plant Manager,,{C4},0\n"
            f"{C4},{A2},Di,Ox,di@beta.com,Quality Manager,Quality,,false\n"
            "0035e00000Ab005AAA,,Ed,Po,ed@nowhere.com,Engineer,,,false\n"
            "0035e00000Ab006AAA,0015e00000AAAAAAAA,Old,Gone,old@acme.com,Buyer,,,true\n")
ACCOUNTS = f"Id,Name,Industry\n{A1},Acme Ltd,Chemicals\n{A2},Beta GmbH,Utilities\n"
ROLES = ("Id,AccountId,ContactId,Role\n"
         f"02Z000000000001AAA,{A1},{C1},Economic Buyer\n"
         f"02Z000000000002AAA,{A2},{C2},Decision Maker\n"     # C2 also in account A2: contacts in two accounts
         f"02Z000000000003AAA,{A1},{C2},Business User\n"
         f"02Z000000000004AAA,{A1},{C3},Site Sponsor\n")


def test_salesforce_awkward_cases(tmp_path):
    sf = _sf(tmp_path / "sf", CONTACTS, ROLES, ACCOUNTS)
    v, report = import_village(salesforce=sf, mapping={"roles": {"Site Sponsor": "gatekeeper/it"}})
    s = v.stakeholders.set_index("stakeholder_id")
    assert s.loc[C1, "role"] == "decider"
    assert s.loc[C2, "role"] == "user" and s.loc[C2, "account_id"] == A1  # stays in its own account
    assert s.loc[C3, "role"] == "gatekeeper"
    assert "0035e00000Ab006AAA" not in s.index  # IsDeleted
    assert "0035e00000Ab005AAA" not in s.index and report.counts["people_without_account"] == 1
    notes = " ".join(t for _, t in report.notes)
    assert "contacts in two accounts" in notes and "IsDeleted" in notes
    d = report.dropped
    assert ((d["row"] == 4) & d["reason"].str.contains("another account")).any()  # C3 reports to C4 in A2
    assert ((d["row"] == 6) & d["reason"].str.contains("no account")).any()
    # unknown picklist value without a mapping: noted, role from the title
    v2, r2 = import_village(salesforce=sf)
    assert any("'Site Sponsor'" in t for _, t in r2.notes)
    assert v2.stakeholders.set_index("stakeholder_id").loc[C3, "role_source"] != "data"


def test_responses_that_match_no_one_and_duplicate_emails(tmp_path):
    sf = _sf(tmp_path / "sf", CONTACTS, ROLES, ACCOUNTS)
    q = tmp_path / "sm.csv"
    q.write_text(
        "Respondent ID,Collector ID,Start Date,End Date,Email Address,Custom Data 1,"
        "How likely is it that you would recommend us to a friend or colleague?\n"
        ",,,,,,Response\n"
        f"1,9,12/01/2024 09:00:00 AM,12/01/2024 09:05:00 AM,,{C1[:15]},9\n"       # 15-char id -> C1
        "2,9,12/02/2024 09:00:00 AM,12/02/2024 09:05:00 AM, SHARED@acme.com ,,7\n"  # two people share it
        "3,9,12/03/2024 09:00:00 AM,12/03/2024 09:05:00 AM,nobody@x.com,,3\n"
        "4,9,12/04/2024 09:00:00 AM,12/04/2024 09:05:00 AM,,,10 - Extremely likely\n"
        "5,9,12/05/2024 09:00:00 AM,12/05/2024 09:05:00 AM,ANN@ACME.COM,,\n")      # unanswered
    v, report = import_village(salesforce=sf, surveymonkey=q)
    r = v.responses
    assert list(r["stakeholder_id"]) == [C1] and r["date"].iloc[0] == pd.Timestamp("2024-12-01")
    d = report.dropped[report.dropped["file"] == "sm.csv"].set_index("row")
    assert "several people" in d.loc[4, "reason"] and "matches no one" in d.loc[5, "reason"]
    assert "neither" in d.loc[6, "reason"] and "unanswered" in d.loc[7, "reason"]
    assert report.counts["answers_unmatched"] == 3


def _qualtrics(path, rows, nps_col="Q7", tz="America/Denver", header_rows=3):
    head = [f"RecordedDate,Status,ResponseId,RecipientEmail,ExternalReference,{nps_col},{nps_col}_NPS_GROUP,Q9_TEXT",
            "Recorded Date,Response Type,Response ID,Recipient Email,External Data Reference,Score please,Score - Group,Other",
            f'"{{""ImportId"":""recordedDate"",""timeZone"":""{tz}""}}",x,x,x,x,"{{""ImportId"":""QID7""}}",x,x']
    path.write_text("\n".join(head[:header_rows] + rows) + "\n")
    return path


def test_qualtrics_awkward_cases(tmp_path):
    sf = _sf(tmp_path / "sf", CONTACTS, ROLES, ACCOUNTS)
    q = _qualtrics(tmp_path / "q.csv", [
        f"2024-05-01 20:30:00,IP Address,R_1,,{C1},8,2,fine",
        f"2024-05-02 10:00:00,Survey Preview,R_2,,{C1},0,1,",
        f"2024-05-03 10:00:00,IP Address,R_3,,{C4},10,3,",
        f"2024-05-03 10:00:00,IP Address,R_3,,{C4},10,3,",
    ])
    # the NPS column has a neutral name and question text: found only by its _NPS_GROUP companion
    v, report = import_village(salesforce=sf, qualtrics=q, mapping={"dates": {"timezone": "UTC"}})
    r = v.responses.sort_values("date")
    assert r["nps"].tolist() == [8.0, 10.0] and r["comment"].iloc[0] == "fine"
    assert r["date"].iloc[0] == pd.Timestamp("2024-05-02")  # 20:30 in Denver is 02:30 next day UTC
    reasons = report.dropped["reason"]
    assert reasons.str.contains("preview").any() and reasons.str.contains("twice").any()
    # without a target zone, the date is the day the export wrote
    v2, _ = import_village(salesforce=sf, qualtrics=q)
    assert v2.responses["date"].min() == pd.Timestamp("2024-05-01")
    # a legacy two-header export
    q2 = _qualtrics(tmp_path / "q2.csv", [f"2024-05-01 20:30:00,IP Address,R_1,,{C1},8,2,"], header_rows=2)
    v3, r3 = import_village(salesforce=sf, qualtrics=q2)
    assert v3.responses["nps"].tolist() == [8.0] and any("2 header row" in t for _, t in r3.notes)


def test_bad_values_are_located_errors(tmp_path):
    sf = _sf(tmp_path / "sf", CONTACTS, ROLES, ACCOUNTS)
    q = _qualtrics(tmp_path / "q.csv", [f"2024-05-01 20:30:00,IP Address,R_1,,{C1},8,2,",
                                        f"2024-05-01 20:30:00,IP Address,R_2,,{C1},11,3,",
                                        f"someday,IP Address,R_3,,{C1},9,3,"])
    with pytest.raises(ImportDataError) as e:
        import_village(salesforce=sf, qualtrics=q)
    assert "q.csv, row 6, column 'RecordedDate'" in str(e.value)
    q = _qualtrics(tmp_path / "q.csv", [f"2024-05-01 20:30:00,IP Address,R_1,,{C1},8,2,",
                                        f"2024-05-01 20:30:00,IP Address,R_2,,{C1},11,3,"])
    with pytest.raises(ImportDataError) as e:
        import_village(salesforce=sf, qualtrics=q)
    msg = str(e.value)
    assert "q.csv (-> responses), row 5, column 'nps': 11 is out of range" in msg
    with pytest.raises(ImportDataError, match="Contact.csv is missing"):
        import_village(salesforce=tmp_path)


def test_opportunities_make_outcomes(tmp_path):
    opps = ("Id,AccountId,Type,StageName,IsWon,IsClosed,CloseDate,Amount\n"
            f"0065e0000000001AAA,{A1},Renewal,Closed Won,true,true,2024-03-31,100\n"
            f"0065e0000000002AAA,{A1},Existing Customer - Upgrade,Closed Won,true,true,2024-11-02,50\n"
            f"0065e0000000003AAA,{A2},Renewal,Closed Lost,false,true,2024-06-30,\n"
            f"0065e0000000004AAA,{A2},New Customer,Closed Won,true,true,2023-06-30,70\n"
            f"0065e0000000005AAA,{A2},Renewal,Negotiation,false,false,2025-06-30,90\n")
    sf = _sf(tmp_path / "sf", CONTACTS, ROLES, ACCOUNTS, opps)
    v, _report = import_village(salesforce=sf)
    o = v.outcomes.set_index("account_id")
    assert o.loc[A1, "renewed"] == 1 and o.loc[A1, "bookings"] == 150 and o.loc[A1, "period_end"] == pd.Timestamp("2024-12-31")
    assert o.loc[A2, "renewed"] == 0 and o.loc[A2, "bookings"] == 0 and len(o) == 2
    v2, _ = import_village(salesforce=sf, mapping={"renewals": {"period": "quarter", "types": ["Renewal"]}})
    assert v2.outcomes.set_index("account_id").loc[A1, "period_end"] == pd.Timestamp("2024-03-31")


def test_generic_wide(tmp_path):
    sf = _sf(tmp_path / "sf", CONTACTS, ROLES, ACCOUNTS)
    g = tmp_path / "g.csv"
    g.write_text(f"who,mail,when,ease,why\n{C1},,2024-05-01,2,ok\n,DI@beta.com,2024-05-02,6,hard\n")
    m = {"generic": {"columns": {"contact_id": "who", "email": "mail", "date": "when", "neteasy": "ease", "comment": "why"}}}
    v, _ = import_village(salesforce=sf, generic=g, mapping=m)
    assert v.responses["stakeholder_id"].tolist() == [C1, C4] and v.responses["neteasy"].tolist() == [2.0, 6.0]


def test_generic_unix_timestamps_and_dates_in_a_time_zone(tmp_path):
    # Delighted-style: Unix seconds. 1714600800 = 2024-05-01T22:00:00Z, which is 2024-05-02 in Berlin
    sf = _sf(tmp_path / "sf", CONTACTS, ROLES, ACCOUNTS)
    g = tmp_path / "delighted.csv"
    g.write_text("Person Email,Created At,Score,Comment\nann@acme.com,1714600800,9,ok\ndi@beta.com,1714521600,4,\n")
    m = {"generic": {"columns": {"email": "Person Email", "date": "Created At", "nps": "Score", "comment": "Comment"}}}
    v, _ = import_village(salesforce=sf, generic=g, mapping=m)
    assert v.responses["date"].tolist() == [pd.Timestamp("2024-05-01"), pd.Timestamp("2024-05-01")]
    v2, _ = import_village(salesforce=sf, generic=g, mapping={**m, "dates": {"timezone": "Europe/Berlin"}})
    assert v2.responses["date"].tolist() == [pd.Timestamp("2024-05-02"), pd.Timestamp("2024-05-01")]


def test_team_staged_overrides_and_unknown_ids(tmp_path):
    from cxinfluence.village.importers.salesforce import read_salesforce

    sf = read_salesforce(_sf(tmp_path / "sf", CONTACTS, ROLES, ACCOUNTS))
    team = Staged(source="team", path=str(tmp_path / "team.xlsx"))
    team.tables["people"] = pd.DataFrame({"stakeholder_id": [C2], "veto": [True], "influence_rating": [5.0],
                                          "active_to": [pd.Timestamp("2025-01-31")], "source_row": [3]})
    team.tables["ties"] = pd.DataFrame({"source_id": [C2], "target_id": [C1], "kind": ["influences"], "weight": [2.0]})
    v, report = combine([sf, team])
    s = v.stakeholders.set_index("stakeholder_id")
    assert bool(s.loc[C2, "veto"]) and s.loc[C2, "influence_rating"] == 5 and s.loc[C2, "active_to"] == pd.Timestamp("2025-01-31")
    assert ((v.relationships["kind"] == "influences") & (v.relationships["source_id"] == C2)).sum() == 1
    assert not any("reports-to ties only" in t for _, t in report.notes)
    bad = Staged(source="team", path=str(tmp_path / "team.xlsx"))
    bad.tables["people"] = pd.DataFrame({"stakeholder_id": [C2], "active_to": ["someday"], "source_row": [4]})
    with pytest.raises(ImportDataError, match=r"team.xlsx, row 4, column 'active_to': 'someday' is not valid"):
        combine([sf, bad])
    team.tables["people"] = pd.DataFrame({"stakeholder_id": ["003NOPE"], "veto": [True], "source_row": [7]})
    with pytest.raises(ImportDataError, match=r"team.xlsx, row 7, column 'stakeholder_id': person '003NOPE'"):
        combine([sf, team])


# --------------------------------------------------------------------------- mapping file


def test_mapping_files_are_checked(tmp_path):
    assert load_mapping(EXPORTS / "mapping_example.toml") == load_mapping(EXPORTS / "mapping_example.yaml")
    bad = tmp_path / "m.toml"
    bad.write_text('[roles]\n"BLOCKER" = "stopper"\n[dates]\ntimezone = "Mars/Olympus"\n[renewals]\nperiod = "week"\n')
    with pytest.raises(MappingError) as e:
        load_mapping(bad)
    msg = str(e.value)
    assert "m.toml, column 'roles.BLOCKER'" in msg and "dates.timezone" in msg and "renewals.period" in msg
    y = tmp_path / "m.yaml"
    y.write_text("roles:\n  a: decider\n b: [\n")
    with pytest.raises(MappingError, match="not valid YAML"):
        load_mapping(y)


# --------------------------------------------------------------------------- report and CLI


def _cli(*args, cwd=ROOT):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "cxinfluence", *map(str, args)], check=False, capture_output=True,
                          text=True, env=env, cwd=cwd)


def test_write_import_report_and_log(world, tmp_path):
    d, _v, _ids = world
    village, report = import_village(salesforce=d / "sf", qualtrics=d / "q.csv")
    out = write_import(village, report, tmp_path / "v")
    names = sorted(p.name for p in out.iterdir())
    assert "import_report.md" in names and "import_log.csv" in names and "stakeholders.csv" in names
    md = (out / "import_report.md").read_text()
    assert "## Assumptions and what could not be mapped" in md and "joined by contact id" in md
    log = pd.read_csv(out / "import_log.csv")
    assert set(log["kind"]) >= {"read", "note"}


def test_cli_import_on_shipped_samples(tmp_path):
    out = tmp_path / "village"
    res = _cli("import", "--salesforce", EXPORTS / "salesforce", "--qualtrics", EXPORTS / "qualtrics_nps.csv",
               "--surveymonkey", EXPORTS / "surveymonkey_nps.csv", "--map", EXPORTS / "mapping_example.toml", "--out", out)
    assert res.returncode == 0, res.stderr
    assert "responses joined to people" in res.stdout
    val = _cli("validate", out)
    assert val.returncode == 0, val.stderr
    again = _cli("import", "--customergauge", EXPORTS / "customergauge.csv", "--salesforce", EXPORTS / "salesforce", "--out", out)
    assert again.returncode == 1 and "exists" in again.stderr
    bad = _cli("import", "--qualtrics", tmp_path / "missing.csv", "--out", tmp_path / "x")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr and "missing.csv" in bad.stderr
    assert not (tmp_path / "x").exists()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    res = _cli("import", "--salesforce", EXPORTS / "salesforce", "--out", busy, "--force")
    assert res.returncode == 1 and "Traceback" not in res.stderr and "refusing to replace" in res.stderr
    assert (busy / "notes.txt").read_text() == "mine"


@pytest.mark.slow
def test_cli_run_on_imported_samples(tmp_path):
    out = tmp_path / "village"
    res = _cli("import", "--salesforce", EXPORTS / "salesforce", "--qualtrics", EXPORTS / "qualtrics_nps.csv",
               "--surveymonkey", EXPORTS / "surveymonkey_nps.csv", "--out", out)
    assert res.returncode == 0, res.stderr
    run = _cli("run", out, "--out", tmp_path / "results", "--maps", "2", "-q")
    assert run.returncode == 0, run.stderr
    written = {p.name for p in (tmp_path / "results").iterdir()}
    assert {"influence.csv", "account_sentiment.csv", "report.html"} <= written
