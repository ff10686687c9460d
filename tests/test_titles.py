"""Titles as they are written (issue 13, item 4).

``tests/fixtures/job_titles.csv``: 257 real job titles, each with the public
source it was taken from and the role/department it should get; 71 of them
(``core = 1``) are unambiguous and must be classified exactly. The rules were
written with this list in view, so its rate is in-sample.
``tests/fixtures/job_titles_holdout.csv``: 44 further real titles assembled
after the rules were written and never used to tune them (out-of-sample).
Measured rates (before -> after this change) are in docs/methods.md.
"""

import warnings
from pathlib import Path

import pandas as pd
import pytest

from cxinfluence.village.roles import (
    ABBREVIATIONS,
    classify_titles,
    complete_roles,
    normalize_title,
    title_coverage,
    title_coverage_sentence,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _load(name):
    f = pd.read_csv(FIXTURES / name, keep_default_na=False)
    got = classify_titles(f["title"])
    f["role"] = got["role"].fillna("").to_numpy()
    f["department"] = got["department"].fillna("").to_numpy()
    f["fallback"] = got["role_fallback"].to_numpy()
    return f


def _agreement(f):
    role = (f["role"] == f["expected_role"]).mean()
    checked = f["expected_department"] != ""
    dept = (f.loc[checked, "department"] == f.loc[checked, "expected_department"]).mean()
    return role, dept


def test_fixture_is_large_and_every_title_has_a_source():
    f = pd.read_csv(FIXTURES / "job_titles.csv", keep_default_na=False)
    assert len(f) >= 200 and f["title"].is_unique
    assert (f["source"].str.len() > 20).all()
    assert set(f["expected_role"]) <= {"decider", "buyer", "user", "influencer", "gatekeeper"}
    hold = pd.read_csv(FIXTURES / "job_titles_holdout.csv", keep_default_na=False)
    assert not set(hold["title"]) & set(f["title"]) and (hold["source"].str.len() > 20).all()


def test_classification_rate_on_the_fixture():
    f = _load("job_titles.csv")
    role, dept = _agreement(f)
    # measured: 257 titles, every one gets a role, 98.1% by a title rule (the rest by the documented default);
    # role agrees with the expectation for 99.2%, department for 99.2% (before this change: 89.9% / 85.6% / 85.8%)
    assert (f["role"] != "").mean() == 1.0
    assert (~f["fallback"] & (f["role"] != "")).mean() >= 0.98
    assert role >= 0.99 and dept >= 0.99


def test_core_titles_exactly():
    f = _load("job_titles.csv")
    core = f[f["core"] == 1]
    assert len(core) >= 70
    wrong = core[(core["role"] != core["expected_role"])
                 | ((core["expected_department"] != "") & (core["department"] != core["expected_department"]))]
    assert wrong.empty, wrong[["title", "expected_role", "role", "expected_department", "department"]].to_string()


def test_out_of_sample_rate_on_the_holdout():
    f = _load("job_titles_holdout.csv")
    role, dept = _agreement(f)
    # measured once, rules not tuned on it: role agrees for 68.2% (before this change 61.4%), department 69.8% (65.1%)
    assert role >= 0.68 and dept >= 0.69


@pytest.mark.parametrize("raw, normal", [
    ("VP & GC", "vp general counsel"),
    ("Sr. Mgr, Proc.", "senior manager procurement"),
    ("Assoc. Gen. Cnsl", "associate general counsel"),
    ("Dir. Mfg Ops", "director manufacturing operations"),
    ("Jr Purch Coord", "junior purchasing coordinator"),
    ("EVP/CFO", "evp cfo"),
])
def test_titles_are_normalised_in_one_place(raw, normal):
    assert normalize_title(raw) == normal


def test_abbreviations_expand_to_words_the_rules_know():
    assert {"gc", "cnsl", "proc", "ops", "mgr", "dir", "sr", "jr", "eng"} <= set(ABBREVIATIONS)


@pytest.mark.parametrize("title", ["General Counsel", "VP & GC", "SVP, General Counsel", "EVP, GC & Corporate Secretary",
                                   "President and General Counsel", "Chief Legal Officer", "Assoc. Gen. Cnsl"])
def test_general_counsel_is_a_legal_gatekeeper_never_a_decider(title):
    got = classify_titles([title]).iloc[0]
    assert (got["role"], got["department"]) == ("gatekeeper", "legal")


@pytest.mark.parametrize("title, role, department", [
    ("Sr. Mgr, Proc.", "buyer", "procurement"),
    ("Dir. Mfg Ops", "decider", "operations"),
    ("Head of Procurement", "decider", "procurement"),
    ("Lead Buyer", "buyer", "procurement"),
    ("Principal Engineer", "influencer", "engineering"),
    ("Chief Procurement Officer", "decider", "procurement"),
    ("Assistant Purchasing Manager", "buyer", "procurement"),
    ("Safety Specialist", "gatekeeper", "safety"),
    ("System Administrator", "gatekeeper", "it"),
    ("Production Coordinator", "user", "operations"),
    ("Executive Assistant", "influencer", "administration"),
])
def test_seniority_words_keep_the_function(title, role, department):
    got = classify_titles([title]).iloc[0]
    assert (got["role"], got["department"]) == (role, department)


def test_a_rank_without_a_function_takes_the_department_role():
    s = pd.DataFrame({
        "stakeholder_id": list("abcdefg"),
        "title": ["Manager", "Manager", "Specialist", "Director", "Vice President", "Manager", "Widget Wrangler"],
        "department": ["Purchasing", "Quality", "IT", "Purchasing", None, None, "Finance"],
    })
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is left unclassified
        out = complete_roles(s)
    assert out["role"].tolist() == ["buyer", "gatekeeper", "gatekeeper", "decider", "decider", "influencer",
                                    "influencer"]
    assert out["veto"].tolist() == [False, True, True, True, True, False, False]
    assert out["department"].tolist()[:4] == ["purchasing", "quality", "it", "purchasing"]
    assert (out["role_source"] == "title").all()


def test_a_department_that_names_no_function_keeps_the_default():
    s = pd.DataFrame({"stakeholder_id": ["a"], "title": ["Manager"], "department": ["Executive"]})
    assert complete_roles(s)["role"].tolist() == ["influencer"]


def test_synthetic_village_still_classifies_to_its_true_roles(tmp_path):
    from cxinfluence.village.synth import make_village, write_synthetic

    village, truth = make_village(40, seed=5)
    write_synthetic(village, truth, tmp_path / "v")
    raw = pd.read_csv(tmp_path / "v" / "stakeholders.csv", dtype=str, keep_default_na=False, na_values=[""])
    assert raw["role"].isna().sum() > 100  # many roles are left for the titles to give
    done = complete_roles(raw)
    pd.testing.assert_series_equal(done["role"], village.stakeholders["role"].astype("str"), check_names=False)
    assert (done["veto"].to_numpy() == village.stakeholders["veto"].to_numpy()).all()


def test_title_coverage_counts_each_way(sample_village):
    c = title_coverage(sample_village.stakeholders)
    assert c["stakeholders"] == len(sample_village.stakeholders)
    assert c["to_classify"] == int((sample_village.stakeholders["role_source"] != "data").sum())
    assert c["by_title"] == c["to_classify"] and c["share_classified"] == 1.0
    s = pd.DataFrame({"title": ["Manager", "Manager", "Widget Wrangler", None, "CFO"],
                      "department": ["Purchasing", None, None, None, None], "role": [None] * 4 + ["decider"]})
    c = title_coverage(s)
    assert (c["to_classify"], c["by_title"], c["by_department"], c["by_default"], c["unclassified"], c["no_title"]) == (
        4, 0, 1, 1, 1, 1)
    assert c["share_classified"] == 0.25
    assert title_coverage_sentence(c).startswith("Titles: 4 of 5 stakeholders have no role in the data; 25% classified")


def test_validate_prints_the_share_of_titles_classified(tmp_path, capsys):
    from test_degrade import one_account_village

    from cxinfluence.pipeline.cli import main

    folder = one_account_village(tmp_path / "v")
    assert main(["validate", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "Titles: 3 of 3 stakeholders have no role in the data; 100% classified (3 by title, 0 by department)" in out
