"""A run degrades, never dies (issue 13, item 3).

Every village that validates gets influence, coverage, sentiment, maps and the
report; a stage the data cannot support is skipped with a one-line reason in
the console, warnings.csv and the report, and the exit code says so.
"""

import html
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxinfluence.village.io import write_village
from cxinfluence.pipeline.runner import run
from cxinfluence.village.synth import make_village

ROOT = Path(__file__).resolve().parents[1]
ALWAYS = ("influence.csv", "coverage.csv", "account_sentiment.csv", "listening_plan.csv", "report.html",
          "warnings.csv")


def one_account_village(folder: Path) -> Path:
    """The one-account village of the project's before-stop check, as a user would write it."""
    folder.mkdir(parents=True)
    (folder / "accounts.csv").write_text("account_id,name\nK1,Kestrel Mills\n")
    (folder / "stakeholders.csv").write_text("stakeholder_id,account_id,title\np1,K1,Plant Manager\n"
                                             "p2,K1,Purchasing Manager\np3,K1,Mgr Quality\n")
    (folder / "relationships.csv").write_text("source_id,target_id,kind\np2,p1,reports_to\np3,p1,reports_to\n")
    (folder / "responses.csv").write_text("stakeholder_id,date,nps,comment\np1,2025-03-01,9,fine\n"
                                          "p2,2025-03-02,4,late deliveries\n")
    (folder / "outcomes.csv").write_text("account_id,period_end,renewed\nK1,2025-12-31,1\n")
    return folder


def _variant(name):
    v, _ = make_village(2 if name == "two_accounts" else 6, seed=2)
    o = v.outcomes
    if name == "blank_bookings":
        o["bookings"] = np.nan
    elif name == "zero_bookings":
        o["bookings"] = 0.0
    elif name == "constant_bookings":
        o["bookings"] = 1000.0
    elif name == "one_class":
        o["renewed"] = 1.0
    elif name == "no_responses":
        v.responses = v.responses.iloc[:0]
    elif name == "no_relationships":
        v.relationships = v.relationships.iloc[:0]
    elif name == "no_outcomes":
        v.outcomes = o.iloc[:0]
    elif name == "no_comments":
        v.responses["comment"] = np.nan
    return v


def village_path(tmp_path, name):
    if name == "one_account":
        return one_account_village(tmp_path / "v")
    return write_village(_variant(name), tmp_path / "v")


#: village -> (stage, start of the reason) every run on it must report
CASES = {
    "one_account": ("Renewal models", ("1 account with an outcome and sentiment; at least 2 accounts with both "
                                       "renewals and non-renewals are needed")),
    "two_accounts": ("Scheme comparison", "2 accounts with every compared scheme"),
    "blank_bookings": ("Bookings model", "no bookings: the optional 'bookings' column of outcomes is blank"),
    "zero_bookings": ("Bookings model", "bookings are 0 in every account-period"),
    "constant_bookings": ("Bookings model", "bookings are 1,000.00 in every account-period with sentiment (constant)"),
    "one_class": ("Renewal models", "'renewed' is 1 in all 24 account-periods with sentiment (every account renewed)"),
    "no_responses": ("Renewal models", "no responses in the look-back window before any period_end"),
    "no_outcomes": ("Models", "no outcomes rows"),
}


def _check_outputs(out: Path, result):
    for name in ALWAYS:
        assert (out / name).stat().st_size > 0, name
    assert list((out / "networks").glob("*.html")), "no map written"
    table = pd.read_csv(out / "warnings.csv", keep_default_na=False)
    assert list(table.columns[:3]) == ["stage", "severity", "reason"]
    skipped = table[table["severity"].isin(["skipped", "failed", "note"])]
    assert skipped[["stage", "severity", "reason"]].to_dict("records") == result.skipped
    page = (out / "report.html").read_text(encoding="utf-8")
    for line in result.skip_lines():
        assert html.escape(line, quote=True) in page
    return table, page


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_degraded_village_writes_everything_and_names_the_skip(tmp_path, capsys, name):
    result = run(village_path(tmp_path, name), tmp_path / "out", maps=1, n_boot=0)
    stage, reason = CASES[name]
    assert not [r for r in result.skipped if r["severity"] == "failed"], result.skipped
    mine = [r for r in result.skipped if r["stage"] == stage and r["severity"] == "skipped"]
    assert mine and mine[0]["reason"].startswith(reason), result.skipped
    assert result.exit_code == 3
    _, page = _check_outputs(tmp_path / "out", result)
    assert "What was skipped and why" in page
    err = capsys.readouterr().err
    assert f"{stage}: skipped \u2014 {reason}" in err and "Traceback" not in err


def test_one_account_skips_every_model_but_keeps_the_rest(tmp_path):
    result = run(village_path(tmp_path, "one_account"), tmp_path / "out", maps=1, quiet=True)
    assert [r["stage"] for r in result.skipped] == ["Renewal models", "Bookings model", "Influence sensitivity"]
    assert result.fits == {}
    infl = pd.read_csv(tmp_path / "out" / "influence.csv")
    assert sorted(infl["stakeholder_id"]) == ["p1", "p2", "p3"]
    assert infl["influence"].sum() == pytest.approx(1.0)
    risk = pd.read_csv(tmp_path / "out" / "accounts_at_risk.csv")
    assert risk["account_id"].tolist() == ["K1"] and ("p_renew" not in risk or risk["p_renew"].isna().all())


@pytest.mark.slow
def test_two_accounts_fit_what_they_can(tmp_path):
    result = run(village_path(tmp_path, "two_accounts"), tmp_path / "out", maps=1, quiet=True, n_boot=0)
    assert "rebuy:influence_weighted" in result.fits and "bookings:tweedie" in result.fits
    skipped = {r["stage"]: r["reason"] for r in result.skipped}
    # the decision equation has more coefficients than the 8 account-periods: skipped before statsmodels divides by 0
    assert skipped["Decision equation"].startswith("8 account-periods with an outcome and role sentiment for ")
    assert "shrinkage needs more heard accounts than segments" in skipped["Renewal model (shrunk)"]
    models = pd.read_csv(tmp_path / "out" / "models.csv")
    assert "rebuy:influence_weighted" in set(models["model"])
    # the primary fit dropped a constant control and still predicts every account
    assert pd.read_csv(tmp_path / "out" / "accounts_at_risk.csv")["p_renew"].notna().all()


@pytest.mark.slow
def test_fewer_accounts_than_folds_reduces_the_folds(tmp_path):
    v, _ = make_village(4, seed=3)
    result = run(v, tmp_path / "out", maps=0, quiet=True, n_boot=0, folds=5)
    notes = [r for r in result.skipped if r["stage"] == "Scheme comparison"]
    assert notes and notes[0]["severity"] == "note" and notes[0]["reason"].startswith("folds reduced from 5 to 4")
    assert set(pd.read_csv(tmp_path / "out" / "scheme_comparison.csv")["n_accounts"]) == {4}
    assert result.exit_code == 0  # a note is not a skip


@pytest.mark.slow
@pytest.mark.parametrize("name", ["no_relationships", "no_comments"])
def test_optional_tables_empty_still_run(tmp_path, name):
    result = run(village_path(tmp_path, name), tmp_path / "out", maps=1, quiet=True, n_boot=0)
    assert not [r for r in result.skipped if r["severity"] in ("failed", "skipped")], result.skipped
    _check_outputs(tmp_path / "out", result)
    if name == "no_comments":
        assert result.skipped[-1]["reason"].startswith("no comments in the recent window")
        assert result.exit_code == 0


def test_unexpected_failure_is_named_and_the_run_goes_on(tmp_path, monkeypatch, capsys):
    import cxinfluence.pipeline.mapreduce

    def boom(*args, **kwargs):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(cxinfluence.pipeline.mapreduce, "action_list", boom)  # where the run looks it up
    v, _ = make_village(6, seed=2)
    result = run(v, tmp_path / "out", maps=1, n_boot=0)
    assert {"stage": "Informal comments", "severity": "failed", "reason": "RuntimeError: boom"} in result.skipped
    assert result.exit_code == 4
    _check_outputs(tmp_path / "out", result)
    assert not (tmp_path / "out" / "actions.csv").exists()
    assert "Stage 'Informal comments' failed: RuntimeError: boom" in capsys.readouterr().err


@pytest.mark.slow
def test_report_failure_writes_a_plain_report(tmp_path, monkeypatch):
    import cxinfluence.pipeline.outputs

    def broken(*args, **kwargs):
        raise KeyError("accounts_at_risk")

    monkeypatch.setattr(cxinfluence.pipeline.outputs, "build_report", broken)  # where the run looks it up
    result = run(village_path(tmp_path, "one_account"), tmp_path / "out", maps=1, quiet=True)
    assert result.skipped[-1]["stage"] == "Report" and result.skipped[-1]["severity"] == "failed"
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "The full report could not be built" in page and "Renewal models: skipped" in page


def _cli(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "cxinfluence", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300, check=False)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["one_account", "blank_bookings"])
def test_cli_run_degrades_with_exit_code_3(tmp_path, name):
    proc = _cli("run", village_path(tmp_path, name), "--out", tmp_path / "out", "-q", "--maps", "1")
    assert proc.returncode == 3, proc.stderr
    stage, reason = CASES[name]
    assert f"{stage}: skipped \u2014 {reason}" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    for output in ALWAYS:
        assert (tmp_path / "out" / output).stat().st_size > 0


def test_cli_help_documents_the_exit_codes():
    from cxinfluence.pipeline.cli import build_parser

    text = build_parser()._subparsers._group_actions[0].choices["run"].format_help()
    assert "0 every output written; 3 written, but stages the data cannot support were skipped" in " ".join(
        text.split())


def _random_village(seed):
    """A tiny valid village with optional columns blanked at random."""
    rng = np.random.default_rng(seed)
    v, _ = make_village(int(rng.integers(1, 5)), seed=seed, years=int(rng.integers(1, 4)))
    optional = {"accounts": ["segment", "region", "annual_revenue", "owner"],
                "stakeholders": ["title", "department", "influence_rating"],
                "responses": ["comment", "csat", "ces", "trust"],
                "outcomes": ["bookings"]}
    for table, columns in optional.items():
        frame = getattr(v, table)
        for c in columns:
            if c in frame and rng.uniform() < 0.4:
                frame[c] = np.nan if rng.uniform() < 0.7 else frame[c].iloc[0]  # blank, or constant
    if rng.uniform() < 0.3:
        v.outcomes["renewed"] = float(rng.integers(0, 2))
    if rng.uniform() < 0.2:
        v.relationships = v.relationships.iloc[:0]
    if rng.uniform() < 0.2:
        v.outcomes["bookings"] = 0.0
    return v


@pytest.mark.slow
def test_random_small_villages_never_raise(tmp_path):
    from cxinfluence.village.validate import check_village

    ran = 0
    for seed in range(20):
        folder = write_village(_random_village(seed), tmp_path / f"v{seed}")
        _, problems = check_village(folder)
        if any(p.severity == "error" for p in problems):
            continue
        result = run(folder, tmp_path / f"out{seed}", maps=1, quiet=True, n_boot=0)
        assert not [r for r in result.skipped if r["severity"] == "failed"], (seed, result.skipped)
        for name in ALWAYS:
            assert (tmp_path / f"out{seed}" / name).exists(), (seed, name)
        ran += 1
    assert ran >= 15


def test_an_unexpected_error_outside_any_stage_is_one_line(monkeypatch, capsys, tmp_path):
    import cxinfluence.pipeline.commands
    from cxinfluence.pipeline.cli import main

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(cxinfluence.pipeline.commands, "run", broken)  # where the command looks it up
    monkeypatch.delenv("CXINFLUENCE_TRACEBACK", raising=False)
    assert main(["run", str(tmp_path), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: unexpected RuntimeError: disk on fire.") and "Traceback" not in err
    monkeypatch.setenv("CXINFLUENCE_TRACEBACK", "1")
    with pytest.raises(RuntimeError, match="disk on fire"):
        main(["run", str(tmp_path), "--out", str(tmp_path / "out")])
