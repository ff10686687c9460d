"""`cxinfluence run` / `demo` end to end, as a subprocess: outputs, atomicity, anonymisation."""

import hashlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

CLI = [sys.executable, "-m", "cxinfluence"]
OUTPUTS = ["influence.csv", "coverage.csv", "account_sentiment.csv", "models.csv", "report.html"]


def cli(*args, **kw):
    return subprocess.run(CLI + [str(a) for a in args], capture_output=True, text=True, **kw)


def digest(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "out"
    res = cli("demo", "--out", out, "--maps", 4)
    assert res.returncode == 0, res.stderr
    return out, res


def test_demo_writes_every_output(demo_out):
    out, res = demo_out
    for name in OUTPUTS:
        assert (out / name).is_file(), name
    maps = sorted((out / "networks").glob("*.html"))
    assert len(maps) == 4
    # one account page per map, same file names; the graphs for Gephi and Kumu
    assert [p.name for p in sorted((out / "accounts").glob("*.html"))] == [p.name for p in maps]
    assert (out / "networks" / "buying_centers.gexf").is_file()
    assert (out / "networks" / "buying_centers_kumu.xlsx").is_file()
    # every account's current graph (not only the mapped ones): one node per row of influence.csv
    import networkx as nx

    portfolio = nx.read_gexf(out / "networks" / "portfolio.gexf")
    influence = pd.read_csv(out / "influence.csv", usecols=["account_id"])
    assert portfolio.number_of_nodes() == len(influence)
    assert {a for _, a in portfolio.nodes(data="account_id")} == set(influence["account_id"].astype(str))
    assert (out / "networks" / "portfolio_kumu.xlsx").is_file()
    # each map also as PNG and SVG for slides, same stem
    for suffix in (".png", ".svg"):
        assert sorted(p.stem for p in (out / "networks").glob("*" + suffix)) == [p.stem for p in maps]
    assert "influence" in res.stderr and "done in" in res.stderr  # progress with timings
    # everything written is a listed output entry, so a re-run never mistakes it for the user's own file
    from cxinfluence.pipeline.runner import OUTPUT_ENTRIES

    written = {p.name for p in out.iterdir() if not p.name.startswith(".")}
    assert written <= set(OUTPUT_ENTRIES), written - set(OUTPUT_ENTRIES)


def test_outputs_do_not_carry_the_day_they_were_written(demo_out, sample_path):
    """The same village gives the same files on any day: no output holds today's (or yesterday's, should the
    demo have run before midnight) date unless the data has it. Libraries stamp dates unasked (networkx's GEXF
    <meta>, openpyxl's workbook properties, matplotlib's SVG metadata), so every file is scanned, inside the
    workbooks too."""
    import datetime as dt
    import zipfile

    out, _ = demo_out
    data = b"".join(p.read_bytes() for p in Path(sample_path).rglob("*") if p.is_file())
    now = dt.datetime.now()
    days = [d for d in (now, now - dt.timedelta(days=1)) if d.strftime("%Y-%m-%d").encode() not in data]
    stamps = {d.strftime(f).encode() for d in days for f in ("%Y-%m-%d", "%Y%m%d", "%Y:%m:%d", "%d %b %Y")}

    def contents(p):
        if p.suffix == ".xlsx":
            with zipfile.ZipFile(p) as z:
                return b"".join(z.read(n) for n in z.namelist())
        return p.read_bytes()

    files = {p: contents(p) for p in out.rglob("*") if p.is_file()}  # each file read (and unzipped) once
    stamped = sorted(str(p.relative_to(out)) for p, text in files.items() if any(s in text for s in stamps))
    assert days and stamped == []


def test_influence_sums_to_one_per_account(demo_out, sample_village):
    infl = pd.read_csv(demo_out[0] / "influence.csv", dtype={"account_id": str})
    assert {"account_id", "stakeholder_id", "role", "veto", "influence"} <= set(infl.columns)
    np.testing.assert_allclose(infl.groupby("account_id")["influence"].sum(), 1.0, atol=1e-9)
    # structure sits beside influence once, matched person by person
    assert {"betweenness", "in_degree", "hierarchy_level"} <= set(infl.columns)
    assert not [c for c in infl.columns if c.endswith("_structure")]
    from cxinfluence.pipeline.runner import default_as_of
    from cxinfluence.network.structure import stakeholder_structure

    ref = stakeholder_structure(sample_village, default_as_of(sample_village)).astype({"account_id": str})
    joined = infl.merge(ref, on=["account_id", "stakeholder_id"], suffixes=("", "_ref"))
    assert len(joined) == len(infl)
    np.testing.assert_allclose(joined["betweenness"], joined["betweenness_ref"], atol=1e-12)


def test_tables_have_the_promised_columns(demo_out):
    out = demo_out[0]
    cov = pd.read_csv(out / "coverage.csv")
    assert {"account_id", "n_stakeholders", "n_responders", "heard_influence", "unheard_veto",
            "single_threaded", "missing_roles", "departed"} <= set(cov.columns)
    sent = pd.read_csv(out / "account_sentiment.csv")
    assert {"account_id", "as_of", "mean", "role_weighted", "influence_weighted", "veto_floor", "nested",
            "n_respondents", "influence_weighted_ci_low"} <= set(sent.columns)
    assert sent["as_of"].nunique() >= 2  # outcome periods and the snapshot
    models = pd.read_csv(out / "models.csv")
    assert {"model", "term", "estimate", "std_error", "ci_low", "ci_high", "p_value", "aic"} <= set(models.columns)
    assert models["model"].str.startswith("rebuy:").any()


def test_quiet_run_prints_nothing(small_synthetic, tmp_path):
    path, _, _ = small_synthetic
    res = cli("run", path, "--out", tmp_path / "o", "--quiet", "--maps", 0)
    assert res.returncode == 0, res.stderr
    assert res.stderr.strip() == "" and (tmp_path / "o" / "report.html").is_file()


def test_bad_village_fails_cleanly_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "accounts.csv").write_text("account_id\nA\n")
    out = tmp_path / "out"
    res = cli("run", bad, "--out", out)
    assert res.returncode == 1
    assert "Traceback" not in res.stderr and "stakeholders" in res.stderr
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad"]  # no staging leftovers


def test_rerun_into_same_dir_is_safe_and_failure_leaves_it_as_it_was(small_synthetic, tmp_path):
    path, _, _ = small_synthetic
    out = tmp_path / "out"
    assert cli("run", path, "--out", out, "-q", "--maps", 2).returncode == 0
    (out / "my_notes.txt").write_text("keep me")
    assert cli("run", path, "--out", out, "-q", "--maps", 2).returncode == 0
    assert (out / "my_notes.txt").read_text() == "keep me"
    before = digest(out)
    res = cli("run", path, "--out", out, "-q", "--map-accounts", "NOT-AN-ACCOUNT")
    assert res.returncode == 1 and "NOT-AN-ACCOUNT" in res.stderr
    assert digest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_interrupted_run_leaves_dir_as_it_was(small_synthetic, tmp_path):
    path, _, _ = small_synthetic
    out = tmp_path / "out"
    assert cli("run", path, "--out", out, "-q", "--maps", 0).returncode == 0
    before = digest(out)
    proc = subprocess.Popen(CLI + ["run", str(path), "--out", str(out), "--maps", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # wait until the analysis has started, then interrupt it mid-way
    deadline = time.time() + 60
    line = ""
    while time.time() < deadline and "influence" not in line:
        line = proc.stderr.readline()
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert digest(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_inputs_never_modified(small_synthetic, tmp_path):
    path, _, _ = small_synthetic
    before = digest(path)
    assert cli("run", path, "--out", tmp_path / "o", "-q", "--maps", 1).returncode == 0
    assert digest(path) == before


def test_anonymized_outputs_contain_no_original_name(small_synthetic, tmp_path):
    path, village, _ = small_synthetic
    out = tmp_path / "anon"
    res = cli("run", path, "--out", out, "-q", "--anonymize", "--maps", 3)
    assert res.returncode == 0, res.stderr
    names = set(village.stakeholders["name"].dropna()) | set(village.accounts["name"].dropna())
    names |= set(village.accounts["owner"].dropna())
    def read(p):
        if p.suffix == ".xlsx":  # the Kumu workbook: every cell's text
            import openpyxl

            return "\n".join(str(c) for ws in openpyxl.load_workbook(p) for row in ws.iter_rows(values_only=True)
                             for c in row if c is not None)
        if p.suffix == ".png":  # the slide picture: its words are checked in the SVG drawn from the same figure
            return ""
        return p.read_text(encoding="utf-8")

    files = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.suffix == ".xlsx" for p in files) and any(p.suffix == ".gexf" for p in files)
    assert len([p for p in files if p.suffix == ".svg"]) == 3  # names in the SVGs are text, so they are scanned
    text = "\n".join(read(p) for p in files)
    leaked = sorted(n for n in names if n in text)
    assert not leaked, leaked[:5]
    assert "Person " in text


def test_a_run_has_arrow_hand_freed_pages_back_at_once(small_synthetic, tmp_path, monkeypatch):
    """jemalloc keeps freed pages that the stages' ends cannot hand back: a run works in jemalloc with its decay
    set to 0, and puts the caller's pool back."""
    import pyarrow as pa

    from cxinfluence import run
    from cxinfluence.pipeline import runner

    told, pool, inside = [], pa.default_memory_pool().backend_name, []
    monkeypatch.setattr(pa, "jemalloc_set_decay_ms", lambda ms: told.append(ms))
    monkeypatch.setattr(runner, "model_frame_reason", lambda v, real=runner.model_frame_reason: (
        inside.append(pa.default_memory_pool().backend_name), real(v))[1])
    run(small_synthetic[1], tmp_path / "a", maps=0, quiet=True, n_boot=0)
    assert set(inside) == {"jemalloc"} and told and set(told) == {0}
    assert pa.default_memory_pool().backend_name == pool


def test_a_small_run_hands_back_what_it_froze_for_the_collector(small_synthetic, tmp_path):
    """A small run freezes what its stages leave for the garbage collector (cheaper full passes) and unfreezes it
    when it returns; objects the caller froze before stay frozen, and nothing more is frozen for them."""
    import gc

    from cxinfluence import run

    village = small_synthetic[1]
    frozen = []
    real_freeze = gc.freeze
    gc.freeze = lambda: (frozen.append(1), real_freeze())  # noqa: E731 - counts the run's freezes
    try:
        run(village, tmp_path / "a", maps=0, quiet=True, n_boot=0)
        assert frozen and gc.get_freeze_count() == 0
        real_freeze()  # the caller's own frozen objects
        frozen.clear()
        run(village, tmp_path / "b", maps=0, quiet=True, n_boot=0)
        assert not frozen and gc.get_freeze_count() > 0  # not unfrozen by the run (freed ones leave the count)
    finally:
        gc.freeze = real_freeze
        gc.unfreeze()
