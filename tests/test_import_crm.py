"""HubSpot and Gainsight readers, and the account team's workbook: round trips and awkward cases."""

import datetime as dt
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from cxinfluence.exceptions import TeamWorkbookError, VillageError
from cxinfluence.village.importers import _crm, _crm_answers
from cxinfluence.village.importers.gainsight import gainsight_ids, read_gainsight, write_gainsight_export
from cxinfluence.village.importers.hubspot import hubspot_ids, read_hubspot, write_hubspot_export
from cxinfluence.village.importers.staging import COLUMNS, KEYS, Staged
from cxinfluence.village.importers.team import read_team_workbook, write_team_template
from cxinfluence.village.synth import make_village

ROOT = Path(__file__).resolve().parents[1]
EXPORTS = ROOT / "data" / "exports"


@pytest.fixture(scope="module")
def village():
    return make_village(6, seed=5, years=2)[0]


def _latest_manager(village):
    st, rel = village.stakeholders, village.relationships
    rt = rel[rel["kind"] == "reports_to"].merge(st[["stakeholder_id", "active_from"]], left_on="target_id", right_on="stakeholder_id")
    return rt.sort_values(["source_id", "active_from"], na_position="first").drop_duplicates("source_id", keep="last").set_index("source_id")["target_id"]


def _check_shape(staged: Staged):
    for name, df in staged.tables.items():
        assert name in COLUMNS
        assert set(KEYS[name]) <= set(df.columns), name
    for d in staged.dropped:
        assert set(d) == {"file", "row", "reason"} and d["row"] >= 2


def _survey(village):
    r = village.responses
    return r[r["channel"].eq("survey")].reset_index(drop=True)


# --------------------------------------------------------------------------- HubSpot round trip


@pytest.fixture(scope="module")
def hubspot(village, tmp_path_factory):
    folder = write_hubspot_export(village, tmp_path_factory.mktemp("hs") / "hubspot")
    return read_hubspot(folder), hubspot_ids(village)


def test_hubspot_round_trip_people_accounts_reporting(village, hubspot):
    staged, ids = hubspot
    _check_shape(staged)
    co, ct = ids["company"], ids["contact"]
    acc = staged.tables["accounts"].set_index("account_id")
    assert sorted(acc.index) == sorted(co.values())
    assert acc.loc[co["A001"], "name"] == village.accounts.set_index("account_id").at["A001", "name"]
    people = staged.tables["people"].set_index("stakeholder_id")
    st = village.stakeholders.set_index("stakeholder_id")
    assert sorted(people.index) == sorted(ct.values())
    back = {v: k for k, v in ct.items()}
    assert (people["account_id"] == people.index.map(lambda i: co[st.at[back[i], "account_id"]])).all()
    assert (people["title"] == people.index.map(lambda i: st.at[back[i], "title"])).all()
    assert (people["name"] == people.index.map(lambda i: st.at[back[i], "name"])).all()
    # reporting lines: each person's latest manager survives as manager_id (the importer makes the tie)
    latest = _latest_manager(village)
    assert people["manager_id"].dropna().to_dict() == {ct[s]: ct[m] for s, m in latest.items()}
    assert staged.tables["ties"].empty  # one manager each: no further reports_to ties
    assert any("no place for influence ties" in n for n in staged.notes)


def test_hubspot_roles_from_buying_role_picklist(village, hubspot):
    staged, ids = hubspot
    people = staged.tables["people"]
    st = village.stakeholders.assign(hs=village.stakeholders["stakeholder_id"].map(ids["contact"])).set_index("hs")
    got = people.set_index("stakeholder_id")
    known = st["role"].isin(["decider", "user", "influencer"]) | (st["role"].eq("gatekeeper") & st["veto"])
    assert (got.loc[st.index[known], "role"] == st.loc[known, "role"]).all()
    # buyers carry no HubSpot value: role left to the title rules
    assert got.loc[st.index[st["role"].eq("buyer")], "role"].isna().all()
    blockers = got["buying_roles"].eq("BLOCKER")
    assert blockers.any() and got.loc[blockers, "veto"].astype(bool).all()


def test_hubspot_answers_pivoted_and_outcomes(village, hubspot):
    staged, ids = hubspot
    survey = _survey(village)
    ans = staged.tables["answers"]
    assert len(ans) == len(survey)
    key = survey.assign(contact_id=survey["stakeholder_id"].map(ids["contact"]), day=survey["date"].dt.normalize())
    merged = ans.assign(day=ans["date"].dt.normalize()).merge(key, on=["contact_id", "day"], suffixes=("", "_v"))
    assert len(merged) == len(survey)
    for item in _crm_answers.ITEMS:
        a, b = merged[item], merged[f"{item}_v"]
        assert ((a == b) | (a.isna() & b.isna())).all(), item
    c, cv = merged["comment"], merged["comment_v"]
    assert ((c == cv) | (c.isna() & cv.isna())).all()
    assert (ans["channel"] == "survey").all()
    out = staged.tables["outcomes"].sort_values(["account_id", "period_end"]).reset_index(drop=True)
    exp = (village.outcomes.assign(account_id=village.outcomes["account_id"].map(ids["company"]))
           .sort_values(["account_id", "period_end"]).reset_index(drop=True))
    pd.testing.assert_frame_equal(out[["account_id", "period_end", "renewed"]], exp[["account_id", "period_end", "renewed"]], check_dtype=False)
    np.testing.assert_allclose(out["bookings"], exp["bookings"].round(2))


# --------------------------------------------------------------------------- Gainsight round trip


@pytest.fixture(scope="module")
def gainsight(village, tmp_path_factory):
    folder = write_gainsight_export(village, tmp_path_factory.mktemp("gs") / "gainsight")
    return read_gainsight(folder), gainsight_ids(village)


def test_gainsight_round_trip(village, gainsight):
    staged, ids = gainsight
    _check_shape(staged)
    co, cp = ids["company"], ids["company_person"]
    people = staged.tables["people"].set_index("stakeholder_id")
    st = village.stakeholders.set_index("stakeholder_id")
    assert sorted(people.index) == sorted(cp.values())
    back = {v: k for k, v in cp.items()}
    orig = people.index.map(back)
    assert (people["account_id"].to_numpy() == st.loc[orig, "account_id"].map(co).to_numpy()).all()
    assert (people["role"].to_numpy() == st.loc[orig, "role"].to_numpy()).all()  # every role has a Gainsight value
    assert (people["email"].notna()).all() and (people["name"].to_numpy() == st.loc[orig, "name"].to_numpy()).all()
    assert (people["gainsight_active"].to_numpy() == st.loc[orig, "active_to"].isna().to_numpy()).all()
    ties = staged.tables["ties"]
    rel = village.relationships
    inf = rel[rel["kind"] == "influences"]
    got_inf = ties[ties["kind"] == "influences"]
    assert set(zip(got_inf["source_id"], got_inf["target_id"])) == {(cp[s], cp[t]) for s, t in zip(inf["source_id"], inf["target_id"])}
    assert set(got_inf["sentiment"]) <= {"positive", "neutral", "negative"}
    latest = _latest_manager(village)
    assert set(ties["kind"]) == {"influences"}
    assert people["manager_id"].dropna().to_dict() == {cp[s]: cp[m] for s, m in latest.items()}
    survey = _survey(village)
    ans = staged.tables["answers"].merge(survey.assign(contact_id=survey["stakeholder_id"].map(cp), day=survey["date"].dt.normalize()),
                                         left_on=["contact_id", ans_day(staged)], right_on=["contact_id", "day"], suffixes=("", "_v"))
    assert len(ans) == len(survey) == len(staged.tables["answers"])
    for item in ("nps", "csat", "ces", "neteasy", "trust", "cared_for"):
        assert ((ans[item] == ans[f"{item}_v"]) | (ans[item].isna() & ans[f"{item}_v"].isna())).all(), item
    out = staged.tables["outcomes"]
    assert len(out) == len(village.outcomes) and out["renewed"].sum() == village.outcomes["renewed"].sum()
    assert out["bookings"].sum() == pytest.approx(village.outcomes["bookings"].round(2).sum())


def ans_day(staged):
    staged.tables["answers"]["day"] = staged.tables["answers"]["date"].dt.normalize()
    return "day"


# --------------------------------------------------------------------------- awkward HubSpot cases


def _write(folder: Path, name: str, frame: pd.DataFrame | str):
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(frame, str):
        (folder / name).write_text(frame, encoding="utf-8")
    else:
        frame.to_csv(folder / name, index=False)


def test_hubspot_awkward_contacts(tmp_path):
    f = tmp_path / "hs"
    _write(f, "hubspot-crm-exports-all-contacts-2024-03-05.csv",
           "Record ID,First Name,Last Name,Email,Job Title,Buying Role,reports_to\n"
           "101,Ana,Lopez,ana@acme.com,VP Operations,DECISION_MAKER;BLOCKER,\n"
           ",,,,,,\n"                                                        # blank row
           "102,Ben,Okafor,SHARED@acme.com,Purchasing Agent,Budget Holder,101\n"
           "103,Cy,Diaz,shared@acme.com,Counsel,LEGAL_AND_COMPLIANCE;Wizard,999\n"
           "104,Di,Ng,di@acme.com,Engineer,CHAMPION,\n"
           "101,Ana,Lopez,ana@acme.com,VP Operations,DECISION_MAKER,\n")  # duplicate record
    _write(f, "associations.csv", pd.DataFrame({
        "from_object_type": ["contacts", "contacts", "contacts", "contacts", "companies"],
        "from_id": ["101", "102", "103", "103", "7"], "to_object_type": ["companies"] * 4 + ["contacts"],
        "to_id": ["7", "7", "8", "7", "104"], "association_label": ["", "Primary", "", "Primary", ""]}))
    staged = read_hubspot(f, mapping={"roles": {"wizard": "influencer"}})
    p = staged.tables["people"].set_index("stakeholder_id")
    assert list(p.index) == ["101", "102", "103", "104"]
    assert p.at["101", "role"] == "decider" and p.at["101", "veto"] is True           # decider wins, veto kept
    assert p.at["102", "role"] == "decider" and p.at["102", "department"] == "finance"
    assert p.at["103", "role"] == "gatekeeper" and p.at["103", "department"] == "legal"
    assert p.at["104", "role"] == "influencer" and p.at["104", "account_id"] == "7"  # a company->contact association counts too
    # a contact in two companies: the primary one wins, and the note says so
    assert p.at["103", "account_id"] == "7" and any("more than one company" in n and "103 -> 7 (also 8)" in n for n in staged.notes)
    assert any("e-mail address(es) are shared" in n for n in staged.notes)
    assert staged.rows_read["hubspot-crm-exports-all-contacts-2024-03-05.csv"] == 5 and any("1 blank row" in n for n in staged.notes)
    reasons = {(d["row"], d["reason"].split(";")[0]) for d in staged.dropped}
    assert (7, "contact record id listed twice") in reasons
    assert any(d["row"] == 5 and "manager 999" in d["reason"] for d in staged.dropped)
    assert p.at["102", "manager_id"] == "101" and p["manager_id"].notna().sum() == 1 and staged.tables["ties"].empty


def test_hubspot_two_managers_and_label_directions(tmp_path):
    f = tmp_path / "hs"
    _write(f, "contacts.csv", "hs_object_id,associatedcompanyid\n1,7\n2,7\n3,7\n4,7\n")
    _write(f, "associations.csv", pd.DataFrame({
        "from_object_type": ["contact"] * 5, "from_id": ["1", "1", "2", "4", "3"], "to_object_type": ["contact"] * 5,
        "to_id": ["2", "3", "4", "4", "1"], "association_label": ["Manager", "Reports to", "Employee", "Manager", "Friend"]}))
    staged = read_hubspot(f)
    p = staged.tables["people"].set_index("stakeholder_id")
    assert p.at["1", "manager_id"] == "2" and p.at["4", "manager_id"] == "2"   # "Employee": 2 is 4's manager
    assert staged.tables["ties"][["source_id", "target_id", "kind", "source_row"]].values.tolist() == [["1", "3", "reports_to", 3]]
    reasons = {d["row"]: d["reason"] for d in staged.dropped}
    assert "own manager" in reasons[5] and "neither manager nor employee" in reasons[6]


def test_hubspot_company_association_label_keeps_contact_unplaced(tmp_path):
    f = tmp_path / "hs"
    _write(f, "contacts.csv", "hs_object_id,jobtitle\n1,Buyer\n")
    staged = read_hubspot(f)
    assert pd.isna(staged.tables["people"].at[0, "account_id"])
    assert any("no associated company" in n for n in staged.notes)


def test_hubspot_feedback_long_awkward(tmp_path):
    f = tmp_path / "hs"
    _write(f, "contacts.csv", "hs_object_id,email\n11,a@x.com\n12,b@x.com\n")
    ms = 1709690400000  # 2024-03-06 02:00 UTC = 2024-03-05 21:00 in New York
    _write(f, "feedback-submissions.csv", pd.DataFrame({
        "hs_object_id": [1, 2, 3, 4, 5, 6, 7, 8, 9],
        "hs_survey_type": ["NPS", "CSAT", "NPS", "CES", "CUSTOM", "NPS", "CUSTOM", "NPS", "CSAT"],
        "hs_question": ["", "", "", "", "How much effort did you put forth?", "", "What is the colour of the sky?", "", ""],
        "hs_response_value": ["6", "4", "9", "6", "7", "10", "blue", "", "5"],
        "hs_content": ["slow delivery", "", "", "", "", "", "", "", ""],
        "hs_submission_timestamp": [ms, ms, ms, ms, ms, ms + 86_400_000, ms, ms, "2024-03-05"],
        "hs_contact_id": ["11", "11", "11", "11", "11", "", "11", "", ""],
        "hs_contact_email_rollup": ["", "", "", "", "", "B@x.com", "", "", ""],
    }))
    staged = read_hubspot(f, mapping={"dates": {"timezone": "America/New_York"}})
    a = staged.tables["answers"].sort_values("date").reset_index(drop=True)
    assert len(a) == 2
    first = a.iloc[0]
    # one response for contact 11: NPS repeated (the later answer, 9, is kept), CSAT 4, NetEasy 2, comment kept
    assert (first["contact_id"], first["nps"], first["csat"], first["neteasy"], first["comment"]) == ("11", 9.0, 4.0, 2.0, "slow delivery")
    assert first["date"] == pd.Timestamp("2024-03-05")  # Unix ms -> the day in New York
    assert pd.isna(first["ces"])                                 # effort 7 is off the village CES 1-5 scale
    assert any("neteasy = 8 - answer" in n for n in staged.notes)   # HubSpot CES 6 (easy) = NetEasy 2
    assert a.iloc[1]["email"] == "B@x.com" and a.iloc[1]["nps"] == 10 and pd.isna(a.iloc[1]["contact_id"])
    by_row = {d["row"]: d["reason"] for d in staged.dropped}
    assert "answered again" in by_row[2] and "outside the village scale" in by_row[6] and "not recognised" in by_row[8]
    assert "cannot be joined" in by_row[9] and "cannot be joined" in by_row[10]


def test_hubspot_deals_renewals_and_open(tmp_path):
    f = tmp_path / "hs"
    _write(f, "contacts.csv", "hs_object_id\n1\n")
    _write(f, "deals.csv", pd.DataFrame({
        "hs_object_id": ["d1", "d2", "d3", "d4", "d5"], "associatedcompanyid": ["7", "7", "7", "8", ""],
        "dealstage": ["closedwon", "closedwon", "appointmentscheduled", "closedlost", "closedwon"],
        "dealtype": ["existingbusiness", "newbusiness", "existingbusiness", "", "existingbusiness"],
        "pipeline": ["default", "default", "default", "Renewals", "default"],
        "closedate": ["1717200000000", "2024-02-01", "2024-06-01", "2024-11-30", "2024-01-01"], "amount": ["100", "50.5", "10", "70", "5"]}))
    staged = read_hubspot(f)
    out = staged.tables["outcomes"]
    assert out.values.tolist() == [["7", pd.Timestamp("2024-12-31"), 1.0, 150.5, "deals.csv", 2], ["8", pd.Timestamp("2024-12-31"), 0.0, 0.0, "deals.csv", 5]]
    reasons = {d["row"]: d["reason"] for d in staged.dropped}
    assert "still open" in reasons[4] and "no associated company" in reasons[6]


def test_hubspot_missing_contacts_and_columns_are_located(tmp_path):
    with pytest.raises(VillageError, match="no contacts export"):
        read_hubspot(tmp_path)
    _write(tmp_path / "hs", "contacts.csv", "name,email\nx,y\n")
    with pytest.raises(VillageError) as e:
        read_hubspot(tmp_path / "hs", mapping={"hubspot": {"columns": {"title": "Position"}}})
    text = str(e.value)
    assert "contacts.csv" in text and "'Position'" in text and "stakeholder_id" in text
    with pytest.raises(VillageError, match="not one of"):
        read_hubspot(tmp_path / "hs", mapping={"roles": {"CHAMPION": "hero"}})


# --------------------------------------------------------------------------- awkward Gainsight cases


def test_gainsight_awkward(tmp_path):
    f = tmp_path / "gs"
    _write(f, "Company.csv", "GSID,Name,ARR\nC1,Acme,\"1,200\"\nC2,Beta,5\n")
    _write(f, "Person.csv", "GSID,First Name,Last Name,Email\nP1,Ana,Lopez,ana@x.com\nP2,Ben,Ok,ana@x.com\n")
    _write(f, "Company_Person.csv", "GSID,Person ID,Company ID,Title,Role,Manager,Active\n"
                                     "CP1,P1,C1,COO,Economic Buyer,,true\nCP2,P2,C1,Buyer,Blocker,CP1,false\nCP3,P1,C2,Advisor,Mystery,CPX,true\n\n")
    _write(f, "People_Maps_Influencers.csv", "GSID,Influencer ID,Company Person ID,Sentiment\nI1,CP2,CP1,Negative\nI2,CP3,CP1,Positive\nI3,U9,CP1,Neutral\n")
    _write(f, "Survey_Answers.csv", "Participant Id,Company Person ID,Email,Question Title,Question Type,Answer Text,Responded Date\n"
                                     "S1,CP1,,Likelihood to recommend,NPS,10,03/05/2024\nS1,CP1,,Anything else?,Text,Great,03/06/2024\n"
                                     "S2,,ANA@x.com,How satisfied are you?,Rating,4,03/07/2024\nS3,,,How satisfied are you?,Rating,4,03/07/2024\n")
    staged = read_gainsight(f, mapping={"dates": {"format": "%m/%d/%Y"}})
    p = staged.tables["people"].set_index("stakeholder_id")
    assert p.at["CP1", "role"] == "decider" and p.at["CP2", "role"] == "gatekeeper" and p.at["CP2", "veto"] is True
    assert pd.isna(p.at["CP3", "role"]) and any("'Mystery'" in n for n in staged.notes)
    assert p.at["CP3", "name"] == "Ana Lopez"  # one person at two companies
    assert any("belong to more than one Company Person" in n for n in staged.notes)
    assert staged.tables["accounts"].set_index("account_id").at["C1", "annual_revenue"] == 1200
    t = staged.tables["ties"]
    assert t[["source_id", "target_id", "kind"]].values.tolist() == [["CP2", "CP1", "influences"]]
    assert t["source_row"].tolist() == [2] and p["manager_id"].dropna().to_dict() == {"CP2": "CP1"}
    reasons = {(d["file"], d["row"]): d["reason"] for d in staged.dropped}
    assert "different companies" in reasons[("People_Maps_Influencers.csv", 3)]
    assert "not a Company Person" in reasons[("People_Maps_Influencers.csv", 4)]
    assert "Manager CPX" in reasons[("Company_Person.csv", 4)]
    assert "cannot be joined" in reasons[("Survey_Answers.csv", 5)]
    a = staged.tables["answers"].set_index("response_id")
    assert a.at["S1", "nps"] == 10 and a.at["S1", "comment"] == "Great" and a.at["S1", "date"] == pd.Timestamp("2024-03-06")
    assert a.at["S2", "csat"] == 4 and a.at["S2", "email"] == "ANA@x.com"


# --------------------------------------------------------------------------- team workbook


@pytest.fixture()
def template(village, tmp_path):
    return write_team_template(village, tmp_path / "team.xlsx")


def test_team_template_sheets_and_validation(village, template):
    wb = openpyxl.load_workbook(template)
    assert wb.sheetnames == ["How to fill this in", "People", "Influence ties", "Veto power", "Influence ratings", "Departures"]
    people = [r for r in wb["People"].iter_rows(min_row=2, values_only=True)]
    assert len(people) == len(village.stakeholders)
    assert {r[2] for r in people} == set(village.stakeholders["stakeholder_id"])
    kinds = [dv for dv in wb["Influence ties"].data_validations.dataValidation if dv.type == "list"]
    assert any("influences" in (dv.formula1 or "") for dv in kinds) and any("People" in (dv.formula1 or "") for dv in kinds)
    assert any(dv.type == "whole" for dv in wb["Influence ratings"].data_validations.dataValidation)
    assert read_team_workbook(template).tables == {}


def test_team_round_trip(village, template):
    st = village.stakeholders
    acc = st.set_index("stakeholder_id")["account_id"]
    a = st["stakeholder_id"].iloc[0]
    b = next(s for s in st["stakeholder_id"] if acc[s] == acc[a] and s != a)
    wb = openpyxl.load_workbook(template)
    ws = wb["Influence ties"]
    ws["B3"], ws["C3"], ws["D3"], ws["E3"] = a, b, "influences", 2   # row 2 left blank: ignored
    ws["B5"], ws["C5"], ws["D5"] = b, a, "Reports To"
    rows = {r[2].value: r for r in wb["Veto power"].iter_rows(min_row=2)}
    rows[a][6].value = "no"
    rows[b][6].value = True
    rat = {r[2].value: r for r in wb["Influence ratings"].iter_rows(min_row=2)}
    rat[a][6].value = 4
    rat[b][6].value = "=2+3"          # a formula: read by its cached value when Excel saved one
    dep = {r[2].value: r for r in wb["Departures"].iter_rows(min_row=2)}
    dep[a][6].value = dt.datetime(2025, 3, 31)   # a real Excel date cell
    dep[b][6].value = "2025-04-01"
    wb.save(template)
    _set_cached_value(template, "Influence ratings", rat[b][6].coordinate, 5)
    staged = read_team_workbook(template)
    assert staged.source == "team"
    t = staged.tables["ties"]
    assert t[["source_id", "target_id", "kind", "weight", "source_row"]].values.tolist() == [[a, b, "influences", 2.0, 3], [b, a, "reports_to", 1.0, 5]]
    assert set(t["source_file"]) == {"team.xlsx[Influence ties]"}
    p = staged.tables["people"].set_index("stakeholder_id")
    assert not p.at[a, "veto"] and p.at[b, "veto"] and p["veto"].map(type).isin([bool, np.bool_]).all()
    assert p.at[a, "influence_rating"] == 4 and p.at[b, "influence_rating"] == 5
    assert p.at[a, "active_to"] == pd.Timestamp("2025-03-31") and p.at[b, "active_to"] == pd.Timestamp("2025-04-01")
    assert p.at[a, "account_id"] == acc[a]


def _set_cached_value(path, sheet, coord, value):
    """Give a formula cell the cached value Excel would have saved (openpyxl writes none)."""
    import re
    import shutil
    import zipfile

    wb = openpyxl.load_workbook(path)
    idx = wb.sheetnames.index(sheet) + 1
    tmp = Path(str(path) + ".tmp")
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == f"xl/worksheets/sheet{idx}.xml":
                text = data.decode()
                text = re.sub(rf'(<c r="{coord}"[^>]*>)(<f>[^<]*</f>)(<v\s*/>|<v></v>)?', rf"\g<1>\g<2><v>{value}</v>", text)
                data = text.encode()
            zout.writestr(item, data)
    shutil.move(tmp, path)


def test_team_errors_are_located_and_listed_at_once(village, template):
    st = village.stakeholders
    ids = st["stakeholder_id"].tolist()
    other = next(s for s in ids if st.set_index("stakeholder_id").at[s, "account_id"] != st.set_index("stakeholder_id").at[ids[0], "account_id"])
    wb = openpyxl.load_workbook(template)
    ws = wb["Influence ties"]
    for r, values in ((2, [ids[0], "NOPE", "influences", 1]),        # unknown id
                      (3, [ids[0], other, "friends", -1]),           # other account, bad kind, bad weight
                      (4, ["1.23E+11", ids[0], "influences", None]), # an id Excel turned into a number
                      (5, [ids[0], ids[0], "influences", None]),     # a tie to oneself
                      (6, [ids[0], 2.5e17, "influences", None])):    # a long id stored as a rounded number
        for c, v in enumerate(values, start=2):
            ws.cell(r, c, v)
    rows = list(wb["Influence ratings"].iter_rows(min_row=2))
    rows[0][6].value = 7
    rows[1][6].value = "=1+1"                                     # formula never calculated
    next(iter(wb["Veto power"].iter_rows(min_row=2)))[6].value = "maybe"
    next(iter(wb["Departures"].iter_rows(min_row=2)))[6].value = "last spring"
    wb.save(template)
    with pytest.raises(TeamWorkbookError) as e:
        read_team_workbook(template)
    assert isinstance(e.value, VillageError) and str(e.value).startswith("11 problem(s) in the account team's workbook team.xlsx:")
    got = {(p.table, p.row, p.column) for p in e.value.problems}
    assert {("Influence ties", 2, "target_id"), ("Influence ties", 3, "kind"), ("Influence ties", 3, "weight"),
            ("Influence ties", 3, "target_id"), ("Influence ties", 4, "source_id"), ("Influence ties", 5, "target_id"),
            ("Influence ties", 6, "target_id"),
            ("Influence ratings", 2, "influence_rating"), ("Influence ratings", 3, "influence_rating"),
            ("Veto power", 2, "veto"), ("Departures", 2, "active_to")} == got and len(e.value.problems) == 11
    text = str(e.value)
    assert "team.xlsx[Influence ties], row 4, column 'source_id'" in text and "format the column as Text" in text
    assert "no calculated value" in text and "different accounts" in text


def test_team_unreadable_file(tmp_path):
    bad = tmp_path / "x.xlsx"
    bad.write_text("not a workbook")
    with pytest.raises(VillageError, match="not a readable .xlsx"):
        read_team_workbook(bad)


# --------------------------------------------------------------------------- shipped samples


def test_shipped_samples_read_cleanly():
    hs = read_hubspot(EXPORTS / "hubspot")
    gs = read_gainsight(EXPORTS / "gainsight")
    team = read_team_workbook(EXPORTS / "team_knowledge_example.xlsx")
    for s in (hs, gs, team):
        _check_shape(s)
        assert s.dropped == []
    assert 20 <= len(hs.tables["accounts"]) <= 40 and len(gs.tables["accounts"]) == len(hs.tables["accounts"])
    assert set(team.tables["ties"]["source_id"]) <= set(hs.tables["people"]["stakeholder_id"])
    assert (hs.tables["answers"]["contact_id"].isin(hs.tables["people"]["stakeholder_id"])).all()
    assert (gs.tables["answers"]["contact_id"].isin(gs.tables["people"]["stakeholder_id"])).all()


def test_parse_dates_unix_seconds_and_offsets():
    s, bad = _crm.parse_dates(pd.Series(["1709647200", "2024-03-05T23:30:00Z", "2024-03-05 23:30"]), {"timezone": "Europe/Berlin"}, keep_time=True)
    assert s.tolist() == [pd.Timestamp("2024-03-05 15:00"), pd.Timestamp("2024-03-06 00:30"), pd.Timestamp("2024-03-05 23:30")]
    s, _ = _crm.parse_dates(pd.Series(["2024-03-05 23:30"]), {"timezone": "Europe/Berlin", "source_timezone": "UTC"})
    assert s.iloc[0] == pd.Timestamp("2024-03-06")  # naive export times in UTC, village days in Berlin
    s, bad = _crm.parse_dates(pd.Series(["05/03/2024", "2024-03-07"]), {"formats": ["%d/%m/%Y"]})
    assert s.tolist() == [pd.Timestamp("2024-03-05"), pd.Timestamp("2024-03-07")] and not bad.any()


def test_question_mapping_both_directions(tmp_path):
    f = tmp_path / "hs"
    _write(f, "contacts.csv", "hs_object_id\n11\n")
    _write(f, "feedback.csv", pd.DataFrame({
        "hs_survey_type": ["CUSTOM", "CUSTOM", "CUSTOM"], "hs_question": ["Q-A", "Q-B", "Q-C"],
        "hs_response_value": ["3", "5", "whatever"], "hs_submission_timestamp": ["2024-01-02"] * 3, "hs_contact_id": ["11"] * 3}))
    staged = read_hubspot(f, mapping={"hubspot": {"questions": {"trust": "Q-A", "Q-B": "csat", "Q-C": "ignore"}, "channel": "interview"}})
    _write(f, "feedback.csv", pd.DataFrame({"hs_survey_type": ["CES"], "hs_response_value": ["4"],
                                            "hs_submission_timestamp": ["2024-01-02"], "hs_contact_id": ["11"]}))
    ces = read_hubspot(f, mapping={"hubspot": {"ces_scale": "effort5"}}).tables["answers"]
    assert ces.at[0, "ces"] == 4 and pd.isna(ces.at[0, "neteasy"])
    assert read_hubspot(f).tables["answers"].at[0, "neteasy"] == 4  # 8 - 4
    _write(f, "feedback.csv", pd.DataFrame({"hs_survey_type": ["CUSTOM", "CUSTOM", "CUSTOM"], "hs_question": ["Q-A", "Q-B", "Q-C"],
                                            "hs_response_value": ["3", "5", "whatever"], "hs_submission_timestamp": ["2024-01-02"] * 3,
                                            "hs_contact_id": ["11"] * 3}))
    a = staged.tables["answers"]
    assert a[["trust", "csat", "channel"]].values.tolist() == [[3.0, 5.0, "interview"]]
    assert [d["reason"] for d in staged.dropped] == ["question ignored by the mapping"]
    with pytest.raises(VillageError, match="hubspot.questions.Q-A"):
        read_hubspot(f, mapping={"hubspot": {"questions": {"Q-A": "loyalty"}}})


def test_renewal_types_and_period_from_the_global_renewals_section(tmp_path):
    f = tmp_path / "gs"
    _write(f, "Company_Person.csv", "GSID,Company ID\nCP1,C1\n")
    _write(f, "Opportunity.csv", "Company ID,Type,Stage,Close Date,Amount\nC1,Existing Business,Closed Won,2024-02-10,\"1,000\"\n"
                                  "C1,Renewal,Closed Lost,2024-05-10,5\nC1,Upsell,Negotiation,2024-05-11,9\n")
    staged = read_gainsight(f, mapping={"renewals": {"types": ["Existing Business"], "period": "quarter"}})
    out = staged.tables["outcomes"]
    assert out[["period_end", "renewed", "bookings"]].values.tolist() == [[pd.Timestamp("2024-03-31"), 1.0, 1000.0]]
    assert any("1 account-period(s) had closed deals but no closed renewal deal" in n for n in staged.notes)
    reasons = {d["row"]: d["reason"] for d in staged.dropped}
    assert "still open" in reasons[4]


def test_shipped_sample_csvs_match_their_generator(tmp_path):
    """data/exports/make_exports.py reproduces the shipped CSVs byte for byte (samples and code stay in step)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_exports", EXPORTS / "make_exports.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    v, _ = make_village(mod.N_ACCOUNTS, seed=mod.SEED, years=mod.YEARS)
    for name, writer in (("hubspot", write_hubspot_export), ("gainsight", write_gainsight_export)):
        out = writer(v, tmp_path / name)
        shipped = sorted(p.name for p in (EXPORTS / name).iterdir())
        assert sorted(p.name for p in out.iterdir()) == shipped
        for f in shipped:
            assert (out / f).read_bytes() == (EXPORTS / name / f).read_bytes(), f"{name}/{f} differs: run python data/exports/make_exports.py"


def test_windows_1252_export_and_person_only_gainsight(tmp_path):
    f = tmp_path / "hs"
    f.mkdir()
    (f / "contacts.csv").write_bytes("Record ID,First Name,Last Name,Job Title\n7,José,Müller,Jefe de Compras\n".encode("cp1252"))
    p = read_hubspot(f).tables["people"]
    assert p.at[0, "name"] == "José Müller"
    g = tmp_path / "gs"
    _write(g, "Person.csv", "GSID,First Name,Last Name,Email,Company ID,Title,Role\nP1,Ana,Lopez,ana@x.com,C1,CFO,Economic Buyer\n")
    staged = read_gainsight(g)
    p = staged.tables["people"]
    assert p[["stakeholder_id", "account_id", "title", "role"]].values.tolist() == [["P1", "C1", "CFO", "decider"]]
    assert any("no reporting lines" in n for n in staged.notes)


def test_column_overrides_per_file(tmp_path):
    f = tmp_path / "hs"
    _write(f, "companies.csv", "hs_object_id,name,annualrevenue,acv\n7,Acme,5000000000,120000\n")
    _write(f, "contacts.csv", "hs_object_id,Position,associatedcompanyid\n1,Buyer,7\n")
    _write(f, "deals.csv", "hs_object_id,dealstage,closedate,amount,acv,dealtype,associatedcompanyid\nd1,closedwon,2024-05-01,1,900,renewal,7\n")
    staged = read_hubspot(f, mapping={"hubspot": {"columns": {"title": "Position", "deals": {"amount": "acv"},
                                                              "companies": {"annual_revenue": "acv"}}}})
    assert staged.tables["people"].at[0, "title"] == "Buyer"
    assert staged.tables["outcomes"].at[0, "bookings"] == 900
    assert staged.tables["accounts"].at[0, "annual_revenue"] == 120000  # the customer's turnover (annualrevenue) is not used
    assert "annual_revenue" not in read_hubspot(f).tables["accounts"]
