"""Tests of title -> role/department inference and veto defaults."""

import warnings

import pandas as pd
import pytest

from cxinfluence.exceptions import RoleRuleError, UnclassifiedTitleWarning, VillageError
from cxinfluence.village.roles import (
    classify_titles,
    complete_roles,
    load_role_rules,
    normalize_title,
    unclassified_titles,
)

EXPECTED = [
    # title, role, department
    ("Plant Manager", "decider", "operations"),
    ("Site Manager", "decider", "operations"),
    ("General Manager", "decider", "executive"),
    ("VP, Operations", "decider", "operations"),
    ("Director of Purchasing", "decider", "procurement"),
    ("Finance Director", "decider", "finance"),
    ("C.F.O.", "decider", "finance"),
    ("Chief Executive Officer", "decider", "executive"),
    ("Vice-President", "decider", None),
    ("Purchasing Manager", "buyer", "procurement"),
    ("Purchasing Agent", "buyer", "procurement"),
    ("Sr. Buyer", "buyer", "procurement"),
    ("Strategic Sourcing Lead", "buyer", "procurement"),
    ("Category Manager", "buyer", "procurement"),
    ("Machine Operator", "user", "operations"),
    ("Maintenance Technician", "user", "maintenance"),
    ("MECHANIC", "user", "maintenance"),
    ("Production Supervisor", "user", "operations"),
    ("Process Engineer", "influencer", "engineering"),
    ("Maintenance Engineer", "influencer", "maintenance"),
    ("R&D Engineer", "influencer", "engineering"),
    ("Quality Engineer", "gatekeeper", "quality"),
    ("QA/QC Manager", "gatekeeper", "quality"),
    ("IT Director", "gatekeeper", "it"),
    ("CIO", "gatekeeper", "it"),
    ("Cyber-Security Analyst", "gatekeeper", "it"),
    ("EHS Manager", "gatekeeper", "safety"),
    ("EH&S Coordinator", "gatekeeper", "safety"),
    ("Health & Safety Officer", "gatekeeper", "safety"),
    ("HSE Mgr.", "gatekeeper", "safety"),
    ("Facilities Manager", "gatekeeper", "facilities"),
    ("Controller", "influencer", "finance"),
    ("Financial Analyst", "influencer", "finance"),
    ("Head of Maintenance", "decider", "maintenance"),
    # a rank without a function: the documented default (influencer), replaced by the department's role when known
    ("Manager", "influencer", None),
    ("Executive Assistant", "influencer", "administration"),
    ("Product Owner", None, None),
]


@pytest.mark.parametrize("title, role, department", EXPECTED)
def test_builtin_rules(title, role, department):
    got = classify_titles([title]).iloc[0]
    assert (got["role"] if pd.notna(got["role"]) else None) == role
    assert (got["department"] if pd.notna(got["department"]) else None) == department


def test_normalisation_is_case_and_punctuation_insensitive():
    assert normalize_title("  PLANT-MGR. ") == normalize_title("plant manager") == "plant manager"
    assert normalize_title("V.P. EH&S") == "vp ehs"
    titles = ["purchasing manager", "PURCHASING   MANAGER", "Purchasing-Manager!"]
    assert classify_titles(titles)["role"].tolist() == ["buyer"] * 3


def test_user_rules_take_precedence_dict_dataframe_csv(tmp_path):
    titles = ["Purchasing Manager", "Widget Wrangler"]
    base = classify_titles(titles)
    assert base["role"].tolist()[0] == "buyer" and pd.isna(base["role"].iloc[1])
    as_dict = {"Purchasing Manager": ("decider", None), "widget wrangler": ("user", "operations")}
    got = classify_titles(titles, as_dict)
    assert got["role"].tolist() == ["decider", "user"]
    # department not given by the user rule -> from the built-ins
    assert got["department"].tolist() == ["procurement", "operations"]
    frame = pd.DataFrame({"pattern": list(as_dict), "role": ["decider", "user"], "department": [None, "operations"]})
    pd.testing.assert_frame_equal(classify_titles(titles, frame), got)
    path = tmp_path / "rules.csv"
    frame.to_csv(path, index=False)
    pd.testing.assert_frame_equal(classify_titles(titles, str(path)), got)
    pd.testing.assert_frame_equal(classify_titles(titles, path), got)


def test_regex_pattern_and_keyword_pattern():
    got = classify_titles(["Line 3 Lead Hand", "Lead Hand"], {r"^line \d+ lead": ("user", "operations")})
    assert got["role"].iloc[0] == "user"
    assert got["role_rule"].iloc[1] != r"^line \d+ lead"  # the anchored pattern does not match "Lead Hand"
    # keyword patterns match whole words only: "it" must not hit "unit"
    assert classify_titles(["Unit Manager"])["role"].iloc[0] == "user"


def test_bad_rules_are_reported_all_at_once():
    with pytest.raises(RoleRuleError) as info:
        load_role_rules({"a(b": ("user", None), "x": ("champion", None), "y": (None, None)})
    message = str(info.value)
    assert "not a valid regular expression" in message
    assert "'champion' is not one of" in message
    assert "neither a role nor a department" in message
    with pytest.raises(RoleRuleError, match="expected None, a DataFrame"):
        load_role_rules(42)
    with pytest.raises(RoleRuleError, match="lacks column"):
        load_role_rules(pd.DataFrame({"pattern": ["x"]}))
    with pytest.raises(RoleRuleError, match="file not found"):
        load_role_rules("/nonexistent/rules.csv")


def test_complete_roles_fills_sources_and_veto():
    s = pd.DataFrame({
        "stakeholder_id": list("abcdef"),
        "account_id": ["A"] * 6,
        "title": ["EHS Manager", "Purchasing Agent", "Plant Manager", "Mechanic", "Widget Wrangler", None],
        "role": [None, " ", "User", None, None, None],
        "department": [None, None, None, "Plant Floor", None, None],
        "veto": [None, "yes", None, 0, None, None],
    })
    before = s.copy()
    with pytest.warns(UnclassifiedTitleWarning, match=r"'Widget Wrangler' \(1\)") as rec:
        out = complete_roles(s)
    assert "1 stakeholder(s) have neither a role nor a title" in str(rec[0].message)
    pd.testing.assert_frame_equal(s, before)  # input untouched
    assert out["role"].tolist()[:4] == ["gatekeeper", "buyer", "user", "user"]
    assert out["role"].iloc[4:].isna().all()
    assert out["department"].tolist()[:4] == ["safety", "procurement", "operations", "plant floor"]
    assert out["role_source"].tolist() == ["title", "title", "data", "title", "unclassified", "unclassified"]
    assert out["veto"].dtype == bool
    # gatekeeper by role; buyer vetoes by data; user: role default False; 0 -> False; unclassified -> False
    assert out["veto"].tolist() == [True, True, False, False, False, False]
    assert out["veto_source"].tolist() == ["role", "data", "role", "data", "role", "role"]


def test_complete_roles_is_idempotent_and_keeps_sources():
    s = pd.DataFrame({"stakeholder_id": ["a", "b"], "title": ["CFO", "Buyer"], "role": [None, "decider"]})
    once = complete_roles(s)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        twice = complete_roles(once)
    pd.testing.assert_frame_equal(once, twice)
    assert once["role_source"].tolist() == ["title", "data"]
    assert once["veto"].tolist() == [True, True]


def test_complete_roles_without_optional_columns_and_empty():
    s = pd.DataFrame({"stakeholder_id": ["a"], "account_id": ["A"]})
    with pytest.warns(UnclassifiedTitleWarning):
        out = complete_roles(s)
    assert out.loc[0, "role_source"] == "unclassified" and out.loc[0, "veto"] == False  # noqa: E712
    empty = complete_roles(s.iloc[:0])
    assert {"role", "department", "veto", "role_source", "veto_source"} <= set(empty.columns) and len(empty) == 0
    assert empty["veto"].dtype == bool


def test_complete_roles_bad_veto_names_the_column():
    s = pd.DataFrame({"stakeholder_id": ["a"], "title": ["CFO"], "veto": ["maybe"]})
    with pytest.raises(VillageError, match="'maybe'.*expected true/false"):
        complete_roles(s)
    with pytest.raises(TypeError, match="expected a pandas DataFrame"):
        complete_roles([1, 2])


def test_unclassified_titles_raw_and_completed():
    s = pd.DataFrame({
        "stakeholder_id": list("abcd"), "account_id": ["x", "y", "y", "z"],
        "title": ["Widget Wrangler", "WIDGET wrangler", "Buyer", "Gizmo Guru"],
        "role": [None, None, None, "user"],
    })
    raw = unclassified_titles(s)
    assert raw.to_dict("records") == [
        {"title": "Widget Wrangler", "normalized_title": "widget wrangler", "n_stakeholders": 2, "n_accounts": 2}
    ]
    with pytest.warns(UnclassifiedTitleWarning):
        done = complete_roles(s)
    pd.testing.assert_frame_equal(unclassified_titles(done), raw)
    assert unclassified_titles(s, rules={"widget": ("user", None)}).empty


def _awkward_people(seed=1):
    """Real titles (the table above) and awkward cells: blank, padded and upper-case roles, departments that
    name a function or none, vetoes as text, numbers and booleans, repeated generic titles."""
    import numpy as np

    titles = [t for t, _, _ in EXPECTED] + [None, "  ", "Manager", "Manager", "Specialist", "Widget Wrangler"]
    rng = np.random.default_rng(seed)
    pick = lambda values: rng.choice(np.array(values, dtype=object), len(titles))  # noqa: E731
    people = pd.DataFrame({
        "stakeholder_id": [f"s{i}" for i in range(len(titles))],
        "title": titles,
        "role": pick([None, " ", "User", "BUYER ", "decider", "influencer", float("nan"), "gatekeeper"]),
        "department": pick([None, "Purchasing", " Quality", "Executive", "Finance", float("nan"), "plant floor"]),
        "veto": pick([None, "yes", 0, True, "no", float("nan")]),
    })
    # a rank without a function in a department that names one (its role), and in one that names none
    ranks = pd.DataFrame({"stakeholder_id": ["r1", "r2"], "title": ["Manager", "Specialist"], "role": [None, None],
                          "department": ["Purchasing", "Executive"], "veto": [None, None]})
    return pd.concat([people, ranks], ignore_index=True)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_complete_roles_equals_the_person_by_person_reference(seed):
    from cxinfluence.village.roles_reference import complete_roles_reference

    people = _awkward_people(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnclassifiedTitleWarning)
        first = complete_roles(people)
    assert {"title", "data", "unclassified"} <= set(first["role_source"])
    assert first["role"].iloc[-2:].tolist() == ["buyer", "influencer"]  # the department's role; the default
    for s in (people, people.drop(columns=["veto"]), people.drop(columns=["role", "department"]), people.iloc[:0],
              people.assign(title=None)):
        for rules in (None, {"widget": ("user", None), "specialist": ("buyer", "procurement")}):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UnclassifiedTitleWarning)
                fast = complete_roles(s, rules=rules)
                pd.testing.assert_frame_equal(fast, complete_roles_reference(s, rules=rules))
                # again on its own output: the recorded sources kept
                pd.testing.assert_frame_equal(complete_roles(fast, rules=rules),
                                              complete_roles_reference(fast, rules=rules))
