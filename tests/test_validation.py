"""Validation of villages: every bad-input case names file, row, column and what was expected."""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import pandas as pd
import pytest

from cxinfluence.exceptions import Problem, VillageError, VillageWarning
from cxinfluence.village.validate import validate_village
from cxinfluence.village.core import Village, load_village

# A small valid village with no warnings: two accounts, four people, every table used.
GOOD = {
    "accounts": (
        "account_id,name,annual_revenue\n"
        "A1,Acme,1000\n"
        "A2,Beta,500\n"
    ),
    "stakeholders": (
        "stakeholder_id,account_id,title,role,veto,influence_rating,active_from,active_to\n"
        "S1,A1,Plant Manager,,,4,2020-01-01,\n"
        "S2,A1,Purchasing Agent,buyer,,3,2020-01-01,\n"
        "S3,A2,Operator,,,,2021-03-01,2023-06-30\n"
        "S4,A2,EHS Manager,,no,,,\n"
    ),
    "relationships": (
        "source_id,target_id,kind,weight\n"
        "S2,S1,reports_to,\n"
        "S4,S3,influences,2\n"
    ),
    "responses": (
        "stakeholder_id,date,nps,csat,ces,neteasy,trust,cared_for,channel,journey_stage,touchpoint,comment\n"
        "S1,2023-01-15,9,5,2,1,5,4,survey,retention,delivery,Great\n"
        'S2,2023-02-01,6,3,,,,,informal,,billing,"Invoice, wrong"\n'
        "S3,2022-05-01,10,,,,,,,,,\n"
        "S4,2023-03-01,,4,,,,,interview,renewal,,\n"
    ),
    "outcomes": (
        "account_id,period_end,renewed,bookings\n"
        "A1,2023-12-31,1,1200\n"
        "A2,2023-12-31,0,0\n"
    ),
}


def write(folder, tables=None, **override):
    """Write GOOD (with overrides: table -> text, or None to leave the file out) as CSV."""
    folder.mkdir(parents=True, exist_ok=True)
    files = dict(GOOD if tables is None else tables)
    files.update(override)
    for name, text in files.items():
        if text is not None:
            (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


def errors(path):
    return [p for p in validate_village(path) if p.severity == "error"]


def warns(path):
    return [p for p in validate_village(path) if p.severity == "warning"]


def only_error(path):
    found = errors(path)
    assert len(found) == 1, "\n".join(map(str, found))
    return found[0]


# --------------------------------------------------------------------------- valid input


def test_good_village_has_no_problems_and_loads_typed(tmp_path):
    path = write(tmp_path / "v")
    assert validate_village(path) == []
    v = load_village(path)
    assert isinstance(v, Village)
    assert [len(t) for t in v.tables().values()] == [2, 4, 2, 4, 2]
    s = v.stakeholders
    assert s["role"].tolist() == ["decider", "buyer", "user", "gatekeeper"]
    assert s["role_source"].tolist() == ["title", "data", "title", "title"]
    assert s["veto"].dtype == bool
    assert s["veto"].tolist() == [True, False, False, False]  # S4: 'no' in the data beats the gatekeeper default
    assert s["veto_source"].tolist() == ["role", "role", "role", "data"]
    assert str(s["active_from"].dtype) == "datetime64[ns]"
    assert s["active_to"].isna().tolist() == [True, True, False, True]
    assert v.responses["nps"].dtype == "float64"
    assert v.responses["comment"].tolist()[1] == "Invoice, wrong"
    assert v.relationships["weight"].tolist() == [1.0, 2.0]  # blank weight defaults to 1
    assert v.outcomes["renewed"].tolist() == [1.0, 0.0]
    assert v.problems == []


def test_ids_stay_strings_and_extra_columns_are_kept(tmp_path):
    path = write(
        tmp_path / "v",
        accounts="account_id,annual_revenue,crm_tier\n007,10,gold\n7,,\n",
        stakeholders="stakeholder_id,account_id,title\n0001,007,Plant Manager\n1,7,Operator\n",
        relationships="source_id,target_id,kind\n",
        responses="stakeholder_id,date,nps\n0001,2024-01-02,9\n1,2024-01-03,3\n",
        outcomes="account_id,period_end,renewed\n007,2024-12-31,1\n7,2024-12-31,0\n",
    )
    v = load_village(path)
    assert v.accounts["account_id"].tolist() == ["007", "7"]
    assert v.accounts["crm_tier"].tolist()[0] == "gold" and pd.isna(v.accounts["crm_tier"].iloc[1])
    assert v.stakeholders["stakeholder_id"].tolist() == ["0001", "1"]
    assert v.stakeholders["account_id"].tolist() == ["007", "7"]
    # contract columns the files lack are present and blank
    assert {"segment", "owner", "influence_rating"} <= set(v.accounts.columns) | set(v.stakeholders.columns)
    assert v.responses["csat"].isna().all()


def test_categories_are_normalised_and_blank_optional_values_are_fine(tmp_path):
    path = write(
        tmp_path / "v",
        stakeholders=GOOD["stakeholders"].replace("S2,A1,Purchasing Agent,buyer", "S2,A1,Purchasing Agent, Buyer "),
        responses=GOOD["responses"].replace("survey,retention", " Survey ,RETENTION"),
        relationships="source_id,target_id,kind,weight\nS2,S1,Reports_To,\nS4,S3,influences,2\n",
    )
    v = load_village(path)
    assert v.stakeholders["role"].iloc[1] == "buyer"
    assert v.responses["channel"].iloc[0] == "survey" and v.responses["journey_stage"].iloc[0] == "retention"
    assert v.relationships["kind"].tolist() == ["reports_to", "influences"]


def test_header_only_file_is_a_valid_empty_table(tmp_path):
    path = write(tmp_path / "v", relationships="source_id,target_id,kind\n")
    assert errors(path) == []
    v = load_village(path)
    assert len(v.relationships) == 0
    assert list(v.relationships.columns)[:4] == ["source_id", "target_id", "kind", "weight"]


def test_column_names_match_ignoring_case_and_spaces(tmp_path):
    path = write(tmp_path / "v", accounts="Account ID,Annual Revenue\nA1,1000\nA2,500\n")
    v = load_village(path)
    assert v.accounts["annual_revenue"].tolist() == [1000.0, 500.0]


def test_other_files_and_subfolders_are_ignored(tmp_path):
    path = write(tmp_path / "v")
    (path / "truth").mkdir()
    (path / "truth" / "accounts.csv").write_text("garbage\n")
    (path / "notes.txt").write_bytes(b"\xff\xfe not utf-8")
    (path / "summary.csv").write_text("x\n1\n")
    assert validate_village(path) == []


def test_input_files_are_never_modified(tmp_path):
    bad = write(tmp_path / "bad", responses=GOOD["responses"] + "S9,2023-13-01,11,0,,,,,,,,\n")
    good = write(tmp_path / "good")

    def digest(folder):
        return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())}

    before = digest(bad), digest(good)
    validate_village(bad)
    with pytest.raises(VillageError):
        load_village(bad)
    load_village(good)
    validate_village(good)
    assert (digest(bad), digest(good)) == before


# --------------------------------------------------------------------------- missing things


def test_path_not_found(tmp_path):
    p = only_error(tmp_path / "nowhere")
    assert "path not found" in p.message and p.file.endswith("nowhere")
    with pytest.raises(VillageError, match="path not found"):
        load_village(tmp_path / "nowhere")


def test_folder_with_no_tables(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("hello")
    p = only_error(tmp_path / "empty")
    assert p.message.startswith("no village tables found; expected accounts.csv, stakeholders.csv")


def test_folder_holding_a_workbook_points_to_it(tmp_path):
    (tmp_path / "v").mkdir()
    _workbook(tmp_path / "v" / "village.xlsx", GOOD)
    p = only_error(tmp_path / "v")
    assert p.message.endswith("; the folder holds village.xlsx: pass that workbook's path instead")
    assert validate_village(tmp_path / "v" / "village.xlsx") == []


def test_single_csv_file_instead_of_folder(tmp_path):
    write(tmp_path / "v")
    p = only_error(tmp_path / "v" / "accounts.csv")
    assert "got a '.csv' file; pass the folder that holds the table files" in p.message


def test_missing_table(tmp_path):
    path = write(tmp_path / "v", outcomes=None)
    p = only_error(path)
    assert (p.table, p.row, p.column) == ("outcomes", None, None)
    assert p.message == "table 'outcomes' is missing: add outcomes.csv (or outcomes.parquet) to the folder"


def test_table_given_twice(tmp_path):
    path = write(tmp_path / "v")
    pd.read_csv(path / "outcomes.csv", dtype=str).to_parquet(path / "outcomes.parquet")
    p = only_error(path)
    assert "table 'outcomes' is given twice (outcomes.csv, outcomes.parquet); keep one" == p.message


def test_missing_required_column_with_suggestion(tmp_path):
    path = write(tmp_path / "v", stakeholders=GOOD["stakeholders"].replace("stakeholder_id,account_id", "stakeholder_id,acount_id", 1))
    found = errors(path)
    assert len(found) == 1
    p = found[0]
    assert (p.file, p.row, p.column) == ("stakeholders.csv", None, "account_id")
    assert p.message.startswith("required column 'account_id' is missing (the file has: stakeholder_id, acount_id, title")
    assert p.message.endswith("did you mean 'acount_id'?")


def test_semicolon_separated_file_is_read_and_named(tmp_path):
    path = write(tmp_path / "v", accounts="account_id;name\nA1;Acme\nA2;Beta\n")
    assert errors(path) == []
    note = [p for p in warns(path) if p.file == "accounts.csv"]
    assert note[0].message == "read as semicolon-separated (';') with decimal commas (8,5 = 8.5)"


def test_pipe_separated_file_gets_a_hint(tmp_path):
    path = write(tmp_path / "v", accounts="account_id|name\nA1|Acme\nA2|Beta\n")
    p = only_error(path)
    assert p.message == (
        "required column 'account_id' is missing (the file has: account_id|name); "
        "the header looks '|'-separated: save the file with commas (CSV)"
    )


def test_empty_file_zero_bytes(tmp_path):
    path = write(tmp_path / "v", relationships="")
    p = only_error(path)
    assert (p.file, p.row) == ("relationships.csv", None)
    assert p.message == "file is empty (0 bytes); expected at least a header row (source_id, target_id, kind)"


def test_blank_required_value(tmp_path):
    path = write(tmp_path / "v", responses=GOOD["responses"].replace("S3,2022-05-01", "S3,"))
    p = only_error(path)
    assert (p.file, p.row, p.column, p.message) == ("responses.csv", 4, "date", "date is blank; every row needs one")


# --------------------------------------------------------------------------- encodings and file shape


def test_not_utf8_cp1252(tmp_path):
    path = write(tmp_path / "v")
    text = GOOD["accounts"].replace("Acme", "Société Générale")
    (path / "accounts.csv").write_bytes(text.encode("cp1252"))
    p = only_error(path)
    assert p.file == "accounts.csv" and p.row == 2
    assert p.message.startswith("file is not UTF-8 (looks like cp1252/latin-1) (first bad byte 0xE9): re-save it as UTF-8")


def test_not_utf8_utf16(tmp_path):
    path = write(tmp_path / "v")
    (path / "accounts.csv").write_bytes(GOOD["accounts"].encode("utf-16"))
    p = only_error(path)
    assert p.message.startswith("file is not UTF-8 (looks like UTF-16): re-save it as UTF-8")


def test_utf8_bom_is_fine(tmp_path):
    path = write(tmp_path / "v")
    (path / "accounts.csv").write_bytes(GOOD["accounts"].encode("utf-8-sig"))
    assert validate_village(path) == []


def test_row_numbers_count_blank_lines_and_multiline_cells(tmp_path):
    responses = (
        "stakeholder_id,date,nps,comment\n"  # row 1
        'S1,2023-01-15,9,"two\nlines"\n'  # row 2 (one record over two lines)
        "\n"  # row 3, blank: skipped but counted
        "S2,2023-02-01,11,\n"  # row 4
        "S3,2022-05-01,5,\nS4,2023-03-01,5,\n"
    )
    path = write(tmp_path / "v", responses=responses)
    p = only_error(path)
    assert (p.row, p.column) == (4, "nps")


def test_row_with_too_many_fields(tmp_path):
    path = write(tmp_path / "v", accounts="account_id,name\nA1,Acme, Inc\nA2,Beta\n")
    p = only_error(path)
    assert (p.row, p.column) == (2, None)
    assert p.message.startswith("row has 3 fields but the header has 2")


def test_duplicate_header(tmp_path):
    path = write(tmp_path / "v", accounts="account_id,name,name\nA1,Acme,x\nA2,Beta,y\n")
    p = only_error(path)
    assert (p.column, p.message) == ("name", "column 'name' appears twice (columns 2 and 3); give each column a unique name")


# --------------------------------------------------------------------------- ids and references


def test_duplicate_ids(tmp_path):
    path = write(tmp_path / "v", accounts=GOOD["accounts"] + "A1,Acme again,3\n")
    p = only_error(path)
    assert (p.file, p.row, p.column) == ("accounts.csv", 4, "account_id")
    assert p.message == "duplicate id account_id='A1' (first on row 2); each must be unique"


def test_duplicate_composite_key(tmp_path):
    path = write(tmp_path / "v", outcomes=GOOD["outcomes"] + "A1,2023-12-31,0,5\n")
    p = only_error(path)
    assert (p.row, p.column) == (4, None)
    assert p.message == "duplicate key account_id='A1', period_end='2023-12-31' (first on row 2); each must be unique"


def test_stakeholder_of_unknown_account(tmp_path):
    path = write(tmp_path / "v", stakeholders=GOOD["stakeholders"] + "S5,A9,Operator,,,,,\n",
                 responses=GOOD["responses"] + "S5,2023-01-01,5,,,,,,,,,\n")
    p = only_error(path)
    assert (p.file, p.row, p.column) == ("stakeholders.csv", 6, "account_id")
    assert p.message == "account 'A9' is not in accounts (accounts.csv); add it there or fix the id"


def test_relationship_endpoints_unknown(tmp_path):
    path = write(tmp_path / "v", relationships=GOOD["relationships"] + "S1,S99,influences,\nS77,S2,influences,\n")
    found = errors(path)
    assert [(p.row, p.column, p.message) for p in found] == [
        (5, "source_id", "stakeholder 'S77' is not in stakeholders (stakeholders.csv); add it there or fix the id"),
        (4, "target_id", "stakeholder 'S99' is not in stakeholders (stakeholders.csv); add it there or fix the id"),
    ]


def test_relationship_across_accounts(tmp_path):
    path = write(tmp_path / "v", relationships=GOOD["relationships"] + "S1,S3,influences,\n")
    p = only_error(path)
    assert (p.file, p.row, p.column) == ("relationships.csv", 4, "target_id")
    assert p.message == (
        "tie crosses accounts: source 'S1' is in account 'A1' but target 'S3' is in account 'A2'; "
        "ties must stay inside one account"
    )


def test_self_loop(tmp_path):
    path = write(tmp_path / "v", relationships=GOOD["relationships"] + "S1,S1,influences,\n")
    p = only_error(path)
    assert p.row == 4
    assert p.message == "source_id and target_id are both 'S1' (a self-loop); a tie needs two different people"


def test_unknown_kind(tmp_path):
    path = write(tmp_path / "v", relationships=GOOD["relationships"] + "S1,S2,manages,\n")
    p = only_error(path)
    assert (p.row, p.column) == (4, "kind")
    assert p.message == "unknown kind 'manages'; expected one of reports_to, influences"


def test_nonpositive_weight(tmp_path):
    path = write(tmp_path / "v", relationships=GOOD["relationships"].replace("influences,2", "influences,0"))
    p = only_error(path)
    assert (p.row, p.column, p.message) == (3, "weight", "0 is out of range; weight takes a number > 0 (or blank)")


def test_response_from_unknown_stakeholder(tmp_path):
    path = write(tmp_path / "v", responses=GOOD["responses"] + "S42,2023-01-01,7,,,,,,,,,\n")
    p = only_error(path)
    assert (p.file, p.row, p.column) == ("responses.csv", 6, "stakeholder_id")
    assert p.message == "stakeholder 'S42' is not in stakeholders (stakeholders.csv); add it there or fix the id"


def test_outcome_for_unknown_account(tmp_path):
    path = write(tmp_path / "v", outcomes=GOOD["outcomes"] + "A3,2023-12-31,1,5\n")
    p = only_error(path)
    assert (p.row, p.column) == (4, "account_id")
    assert p.message == "account 'A3' is not in accounts (accounts.csv); add it there or fix the id"


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    "column, value, message",
    [
        ("nps", "11", "11 is out of range; nps takes whole numbers 0-10 (or blank)"),
        ("nps", "-1", "-1 is out of range; nps takes whole numbers 0-10 (or blank)"),
        ("nps", "n/a", "'n/a' is not a number; nps takes whole numbers 0-10 (or blank)"),
        ("nps", "7.5", "7.5 is not a whole number; nps takes whole numbers 0-10 (or blank)"),
        ("csat", "0", "0 is out of range; csat takes whole numbers 1-5 (or blank)"),
        ("ces", "six", "'six' is not a number; ces takes whole numbers 1-5 (or blank)"),
        ("neteasy", "8", "8 is out of range; neteasy takes whole numbers 1-7 (or blank)"),
        ("trust", "inf", "'inf' is not a number; trust takes whole numbers 1-5 (or blank)"),
        ("cared_for", "nan", "'nan' is not a number; cared_for takes whole numbers 1-5 (or blank)"),
    ],
)
def test_bad_scores(tmp_path, column, value, message):
    header = GOOD["responses"].splitlines()[0].split(",")
    row = ["S3", "2022-05-01"] + [""] * (len(header) - 2)
    row[header.index(column)] = value
    responses = GOOD["responses"].replace("S3,2022-05-01,10,,,,,,,,,\n", ",".join(row) + "\n")
    p = only_error(write(tmp_path / "v", responses=responses))
    assert (p.file, p.row, p.column, p.message) == ("responses.csv", 4, column, message)


def test_whole_scores_written_as_decimals_are_fine(tmp_path):
    path = write(tmp_path / "v", responses=GOOD["responses"].replace("S3,2022-05-01,10", "S3,2022-05-01,10.0"))
    assert errors(path) == []


@pytest.mark.parametrize("value", ["31/12/2023", "2023-13-01", "2023-02-30", "yesterday", "2023"])
def test_unparseable_dates(tmp_path, value):
    path = write(tmp_path / "v", outcomes=GOOD["outcomes"].replace("A2,2023-12-31", f"A2,{value}"))
    p = only_error(path)
    assert (p.row, p.column) == (3, "period_end")
    assert p.message == f"'{value}' is not a date; expected YYYY-MM-DD (e.g. 2024-06-30)"


def test_iso_datetimes_are_accepted(tmp_path):
    path = write(tmp_path / "v", responses=GOOD["responses"].replace("2023-01-15", "2023-01-15T13:45:00").replace("2023-02-01", "2023-02-01T09:00:00+02:00"))
    v = load_village(path)
    assert v.responses["date"].tolist()[:2] == [pd.Timestamp("2023-01-15 13:45"), pd.Timestamp("2023-02-01 07:00")]


def test_date_out_of_supported_range(tmp_path):
    path = write(tmp_path / "v", outcomes=GOOD["outcomes"].replace("A2,2023-12-31", "A2,9999-12-31"))
    p = only_error(path)
    assert p.message == "'9999-12-31' is outside the supported dates (1677-09-22 to 2262-04-11)"


def test_active_to_before_active_from(tmp_path):
    path = write(tmp_path / "v", stakeholders=GOOD["stakeholders"].replace("2021-03-01,2023-06-30", "2021-03-01,2020-06-30"))
    found = errors(path)
    assert len(found) == 1
    p = found[0]
    assert (p.file, p.row, p.column) == ("stakeholders.csv", 4, "active_to")
    assert p.message == "active_to 2020-06-30 is before active_from 2021-03-01; swap them or fix the dates"


def test_negative_revenue_and_bookings(tmp_path):
    path = write(
        tmp_path / "v",
        accounts=GOOD["accounts"].replace("A2,Beta,500", "A2,Beta,-500"),
        outcomes=GOOD["outcomes"].replace("A1,2023-12-31,1,1200", "A1,2023-12-31,1,-1"),
    )
    assert [(p.file, p.row, p.column, p.message) for p in errors(path)] == [
        ("accounts.csv", 3, "annual_revenue", "-500 is out of range; annual_revenue takes a number >= 0 (or blank)"),
        ("outcomes.csv", 2, "bookings", "-1 is out of range; bookings takes a number >= 0 (or blank)"),
    ]


@pytest.mark.parametrize("value, message", [
    ("2", "2 is out of range; renewed takes 0 or 1"),
    ("yes", "'yes' is not a number; renewed takes 0 or 1"),
    ("0.5", "0.5 is not a whole number; renewed takes 0 or 1"),
    ("", "renewed is blank; every row needs one"),
])
def test_renewed_not_0_1(tmp_path, value, message):
    path = write(tmp_path / "v", outcomes=GOOD["outcomes"].replace("A2,2023-12-31,0,0", f"A2,2023-12-31,{value},0"))
    p = only_error(path)
    assert (p.row, p.column, p.message) == (3, "renewed", message)


def test_unknown_role(tmp_path):
    path = write(tmp_path / "v", stakeholders=GOOD["stakeholders"].replace("Purchasing Agent,buyer", "Purchasing Agent,boss"))
    p = only_error(path)
    assert (p.row, p.column) == (3, "role")
    assert p.message == (
        "unknown role 'boss'; expected one of decider, buyer, user, influencer, gatekeeper "
        "(or blank to infer it from title)"
    )


def test_unknown_channel_and_stage(tmp_path):
    path = write(tmp_path / "v", responses=GOOD["responses"].replace("survey,retention", "email,onboarding"))
    assert [(p.column, p.message) for p in errors(path)] == [
        ("channel", "unknown channel 'email'; expected one of survey, informal, interview (or blank)"),
        ("journey_stage", "unknown journey_stage 'onboarding'; expected one of awareness, consideration, "
                          "decision, retention, advocacy, renewal (or blank)"),
    ]


@pytest.mark.parametrize("value", ["maybe", "2", "vetoes"])
def test_bad_veto(tmp_path, value):
    path = write(tmp_path / "v", stakeholders=GOOD["stakeholders"].replace("S4,A2,EHS Manager,,no", f"S4,A2,EHS Manager,,{value}"))
    p = only_error(path)
    assert (p.row, p.column) == (5, "veto")
    assert p.message == f"'{value}' is not a yes/no value; veto takes true/false (also yes/no, 1/0) or blank to default by role"


@pytest.mark.parametrize("value, expected", [("Yes", True), ("N", False), ("1", True), ("FALSE", False), ("", True)])
def test_veto_values(tmp_path, value, expected):
    path = write(tmp_path / "v", stakeholders=GOOD["stakeholders"].replace("S4,A2,EHS Manager,,no", f"S4,A2,EHS Manager,,{value}"))
    assert load_village(path).stakeholders["veto"].tolist()[3] is expected


def test_influence_rating_range(tmp_path):
    path = write(tmp_path / "v", stakeholders=GOOD["stakeholders"].replace("Plant Manager,,,4", "Plant Manager,,,6"))
    p = only_error(path)
    assert (p.row, p.column, p.message) == (2, "influence_rating", "6 is out of range; influence_rating takes a number from 1 to 5 (or blank)")


# --------------------------------------------------------------------------- all at once


def test_every_problem_is_reported_at_once(tmp_path):
    path = write(
        tmp_path / "v",
        accounts=GOOD["accounts"] + "A1,dup,-3\n",
        relationships=GOOD["relationships"] + "S1,S1,likes,\n",
        responses=GOOD["responses"] + "S9,13/01/2023,11,0,,,,,,,,\n",
        outcomes=GOOD["outcomes"] + "A2,2024-12-31,2,\n",
    )
    found = errors(path)
    located = {(p.file, p.row, p.column) for p in found}
    assert {
        ("accounts.csv", 4, "annual_revenue"),
        ("accounts.csv", 4, "account_id"),
        ("relationships.csv", 4, "kind"),
        ("relationships.csv", 4, "target_id"),
        ("responses.csv", 6, "stakeholder_id"),
        ("responses.csv", 6, "date"),
        ("responses.csv", 6, "nps"),
        ("responses.csv", 6, "csat"),
        ("outcomes.csv", 4, "renewed"),
    } <= located
    with pytest.raises(VillageError) as info:
        load_village(path)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.problems == found
    text = str(err)
    assert text.startswith(f"{len(found)} problem(s) in village {path}:")
    assert "  - responses.csv, row 6, column 'nps': 11 is out of range; nps takes whole numbers 0-10 (or blank)" in text


def test_many_bad_rows_are_listed_then_counted(tmp_path):
    rows = "".join(f"S1,2023-01-{1 + i % 28:02d},{11 + i},,,,,,,,,\n" for i in range(150))
    path = write(tmp_path / "v", responses=GOOD["responses"] + rows)
    found = [p for p in errors(path) if p.column == "nps"]
    assert len(found) == 101
    assert [p.row for p in found[:3]] == [6, 7, 8]
    assert found[-1].row is None
    assert found[-1].message.startswith("the same problem on 50 more row(s) (rows 106, 107, 108")
    all_listed = [p for p in validate_village(path, max_listed=None) if p.column == "nps"]
    assert len(all_listed) == 150


def test_problem_str_reads_well():
    p = Problem("responses", "responses.csv", 4, "nps", "11 is out of range; nps takes whole numbers 0-10 (or blank)")
    assert str(p) == "responses.csv, row 4, column 'nps': 11 is out of range; nps takes whole numbers 0-10 (or blank)"


# --------------------------------------------------------------------------- warnings


def test_warnings_for_unused_accounts_and_silent_stakeholders(tmp_path):
    path = write(
        tmp_path / "v",
        accounts=GOOD["accounts"] + "A3,Gamma,10\n",
        stakeholders=GOOD["stakeholders"] + "S5,A1,Shift Supervisor,,,,,\n",
        responses=GOOD["responses"] + "S1,2023-05-01,,,,,,,,,,\n",
    )
    assert errors(path) == []
    messages = [(p.file, p.column, p.message) for p in warns(path)]
    assert ("accounts.csv", "account_id", "1 account(s) have no feedback from anyone (no responses): 'A3' (row 4)") in messages
    assert ("accounts.csv", "account_id", "1 account(s) have no outcomes: 'A3' (row 4)") in messages
    assert ("accounts.csv", "account_id", "1 account(s) have no stakeholders: 'A3' (row 4)") in messages
    assert ("stakeholders.csv", "stakeholder_id", "1 stakeholder(s) have no responses: 'S5' (row 6)") in messages
    assert ("responses.csv", None, "1 response(s) have neither a score nor a comment (nothing to analyse): 'S1' (row 6)") in messages
    with pytest.warns(VillageWarning) as record:
        v = load_village(path)
    assert any("have no stakeholders: 'A3'" in str(w.message) for w in record)
    assert len(v.problems) == len(messages) and all(p.severity == "warning" for p in v.problems)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_village(path, warn=False)


def test_warning_for_response_outside_active_period(tmp_path):
    path = write(tmp_path / "v", responses=GOOD["responses"].replace("S3,2022-05-01", "S3,2023-07-01"))
    [w] = warns(path)
    assert (w.file, w.column) == ("responses.csv", "date")
    assert w.message.startswith("1 response(s) are dated outside the respondent's active period") and "'S3' (row 4)" in w.message


def test_unclassified_titles_are_warnings(tmp_path):
    path = write(tmp_path / "v", stakeholders=GOOD["stakeholders"].replace("S3,A2,Operator", "S3,A2,Widget Wrangler"))
    [w] = warns(path)
    assert (w.table, w.column) == ("stakeholders", "title")
    assert "'Widget Wrangler'" in w.message
    from cxinfluence.exceptions import UnclassifiedTitleWarning

    with pytest.warns(UnclassifiedTitleWarning, match="Widget Wrangler"):
        load_village(path)
    v = load_village(path, role_rules={"widget wrangler": ("user", "operations")}, warn=False)
    assert v.stakeholders["role"].iloc[2] == "user" and v.problems == []


# --------------------------------------------------------------------------- xlsx and parquet


def _workbook(path, tables):
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        for name, text in tables.items():
            from io import StringIO

            pd.read_csv(StringIO(text), dtype=str, keep_default_na=False).to_excel(xl, sheet_name=name, index=False)
    return path


def test_xlsx_village_loads(tmp_path):
    path = _workbook(tmp_path / "v.xlsx", GOOD)
    assert validate_village(path) == []
    v = load_village(path)
    assert v.stakeholders["role"].tolist() == ["decider", "buyer", "user", "gatekeeper"]
    assert str(v.responses["date"].dtype) == "datetime64[ns]"


def test_xlsx_missing_sheet(tmp_path):
    path = _workbook(tmp_path / "v.xlsx", {k: v for k, v in GOOD.items() if k != "relationships"})
    p = only_error(path)
    assert (p.table, p.file, p.row) == ("relationships", "v.xlsx", None)
    assert p.message == (
        "sheet 'relationships' is missing; the workbook has sheets: accounts, stakeholders, responses, outcomes. "
        "Add a sheet named 'relationships'"
    )


def test_xlsx_rows_are_sheet_rows_and_typed_cells_are_read(tmp_path):
    import datetime as dt

    import openpyxl

    path = _workbook(tmp_path / "v.xlsx", GOOD)
    wb = openpyxl.load_workbook(path)
    ws = wb["responses"]
    ws["B3"] = dt.datetime(2023, 2, 1)  # a real Excel date cell
    ws["C4"] = 11  # a number cell, out of range, on sheet row 4
    ws["C2"] = 9.0
    wb.save(path)
    p = only_error(path)
    assert (p.file, p.row, p.column) == ("v.xlsx[responses]", 4, "nps")
    ws["C4"] = 10
    wb.save(path)
    v = load_village(path)
    assert v.responses["date"].iloc[1] == pd.Timestamp("2023-02-01")
    assert v.responses["nps"].tolist()[:3] == [9.0, 6.0, 10.0]


def test_not_a_workbook(tmp_path):
    (tmp_path / "v.xlsx").write_text("not a zip")
    p = only_error(tmp_path / "v.xlsx")
    assert p.message.startswith("not a readable .xlsx workbook")


def test_parquet_village_with_typed_columns(tmp_path):
    from io import StringIO

    path = tmp_path / "v"
    path.mkdir()
    for name, text in GOOD.items():
        df = pd.read_csv(StringIO(text), dtype=str, keep_default_na=False).replace("", None)
        if name == "responses":
            df["nps"] = pd.to_numeric(df["nps"])  # stored as numbers
            df["date"] = pd.to_datetime(df["date"])  # stored as timestamps
        if name == "accounts":
            df["annual_revenue"] = [1000, -5]  # integers, one negative
        df.to_parquet(path / f"{name}.parquet")
    p = only_error(path)
    assert (p.file, p.row, p.column) == ("accounts.parquet", 2, "annual_revenue")
    assert p.message == "-5 is out of range; annual_revenue takes a number >= 0 (or blank)"
    acc = pd.read_parquet(path / "accounts.parquet")
    acc["annual_revenue"] = [1000, 5]
    acc.to_parquet(path / "accounts.parquet")
    v = load_village(path)
    assert v.responses["nps"].iloc[0] == 9.0 and np.isnan(v.responses["nps"].iloc[3])
    assert str(v.responses["date"].dtype) == "datetime64[ns]"


def test_parquet_with_numeric_ids_dates_and_nullable_dtypes(tmp_path):
    import datetime as dt
    from io import StringIO

    path = tmp_path / "v"
    path.mkdir()
    for name, text in GOOD.items():
        pd.read_csv(StringIO(text), dtype=str, keep_default_na=False).replace("", None).to_parquet(path / f"{name}.parquet")
    acc = pd.DataFrame({"account_id": pd.array([7, 8], dtype="Int64"), "annual_revenue": [1.0, 2.0]})
    acc.to_parquet(path / "accounts.parquet")
    sh = pd.read_parquet(path / "stakeholders.parquet")
    sh["account_id"] = pd.array([7, 7, 8, 8], dtype="Int64")
    sh["veto"] = pd.array([None, True, None, False], dtype="boolean")
    sh["active_from"] = [dt.date(2020, 1, 1), dt.date(2020, 1, 1), dt.date(2021, 3, 1), None]  # Parquet date32
    sh.to_parquet(path / "stakeholders.parquet")
    out = pd.read_parquet(path / "outcomes.parquet")
    out["account_id"] = np.array([7.0, 8.0])  # ids stored as floats by some tools
    out.to_parquet(path / "outcomes.parquet")
    v = load_village(path)
    assert v.accounts["account_id"].tolist() == ["7", "8"]
    assert v.outcomes["account_id"].tolist() == ["7", "8"]
    assert v.stakeholders["veto"].tolist() == [True, True, False, False]
    assert v.stakeholders["veto_source"].tolist() == ["role", "data", "role", "data"]
    assert v.stakeholders["active_from"].iloc[2] == pd.Timestamp("2021-03-01")


def test_xlsx_header_below_blank_rows_keeps_sheet_row_numbers(tmp_path):
    import openpyxl

    path = _workbook(tmp_path / "v.xlsx", GOOD)
    wb = openpyxl.load_workbook(path)
    ws = wb["outcomes"]
    ws.insert_rows(1, amount=2)  # header now on sheet row 3, data on rows 4-5
    ws["C5"] = 2
    wb.save(path)
    p = only_error(path)
    assert (p.file, p.row, p.column, p.message) == ("v.xlsx[outcomes]", 5, "renewed", "2 is out of range; renewed takes 0 or 1")
