"""The streamed run (pipeline/stream.py): a partitioned folder analysed one partition at a time, never loaded whole.

Its outputs are the loaded folder's: byte for byte against the in-memory run on the same partitions, and to
1e-9 against the one-partition run (whose portfolio prior is summed in another order).
"""

import filecmp
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from test_partitions import awkward_village

from cxinfluence.exceptions import CxInfluenceError, PartitionError, VillageError
from cxinfluence.pipeline import partitioned as partitioned_module
from cxinfluence.pipeline.partitioned import PartitionedVillage
from cxinfluence.pipeline.runner import run
from cxinfluence.pipeline.spill import Spill
from cxinfluence.present.summary import village_overview
from cxinfluence.village.load import load_village
from cxinfluence.village.partitions import write_partitioned
from cxinfluence.village.synth import make_village

OPTIONS = dict(maps=3, n_boot=20, folds=3, quiet=True)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    base = tmp_path_factory.mktemp("stream")
    return write_partitioned(awkward_village(base / "v", n=300), base / "parts", 4)


@pytest.fixture(scope="module")
def streamed(folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "streamed"
    return run(folder, out, **OPTIONS), out


def _files(root):
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def test_streamed_run_equals_the_loaded_run_on_the_same_partitions_byte_for_byte(folder, streamed, tmp_path):
    result, out = streamed
    assert result.exit_code == 0, result.skip_lines()
    loaded = tmp_path / "loaded"
    run(load_village(folder, warn=False), loaded, partitions=4, **OPTIONS)
    assert _files(out) == _files(loaded)
    differ = [str(f) for f in _files(out) if not filecmp.cmp(out / f, loaded / f, shallow=False)]
    assert differ == []


def test_tables_parked_in_many_pieces_give_the_same_files(folder, streamed, tmp_path, monkeypatch):
    """The model frame, comments and listening plan parked in pieces of 7 rows: the report (its top rows and
    plotted columns read piece by piece), the pages and the CSVs are the same bytes as with one piece each."""
    from cxinfluence.pipeline import spill as spill_module

    monkeypatch.setattr(spill_module, "PARK_ROWS", 7)
    _, out = streamed
    run(folder, tmp_path / "pieces", **OPTIONS)
    assert _files(tmp_path / "pieces") == _files(out)
    assert [str(f) for f in _files(out) if not filecmp.cmp(out / f, tmp_path / "pieces" / f, shallow=False)] == []


def test_a_large_streamed_run_hands_memory_back_after_each_partition(folder, tmp_path, monkeypatch):
    """What one partition freed is handed back before the next (glibc keeps it per thread otherwise): in the
    opening and in both passes, once the run holds TRIM_FROM_BYTES (0 here: every run is large)."""
    from cxinfluence.pipeline import engines, partitioned

    calls = []
    for module in (engines, partitioned):
        monkeypatch.setattr(module, "TRIM_FROM_BYTES", 0)
        monkeypatch.setattr(module, "hand_back", lambda **kw: calls.append(kw))
    run(folder, tmp_path / "o", **OPTIONS)
    assert len(calls) == 3 * 4  # 4 partitions: opened, pass 1, pass 2


def _stages_handing_back(monkeypatch):
    """The names of the stages whose end hands memory back (every run counted as large)."""
    from cxinfluence.pipeline import stages

    names = []
    monkeypatch.setattr(stages, "TRIM_FROM_BYTES", 0)
    monkeypatch.setattr(stages, "hand_back", lambda **kw: names.append(sys._getframe(1).f_locals["name"]))
    return names


def test_an_in_memory_run_keeps_what_its_last_stages_free_a_streamed_run_does_not(folder, tmp_path, monkeypatch):
    """After the models an in-memory run has peaked: the comments, the accounts at risk, the maps, the pages and
    the report keep what they free for the next stage, and so do the influence, coverage and sentiment
    stages before the models; the run's end hands it back. A streamed run, whose memory is what it is for, hands
    back after every stage."""
    names = _stages_handing_back(monkeypatch)
    run(load_village(folder, warn=False), tmp_path / "in_memory", **OPTIONS)
    late = {"informal comments", "accounts at risk", "maps", "account pages and portfolio graphs", "report"}
    assert {"loading and validating the village", "models", "writing tables"} <= set(names)
    assert not (late | {"influence", "coverage and listening plan", "account sentiment"}) & set(names)
    names.clear()
    run(folder, tmp_path / "streamed", **OPTIONS)
    assert late <= set(names) and "writing tables" in names


def test_streamed_run_equals_the_one_partition_run(folder, streamed, tmp_path):
    """The tables agree to 1e-9 with the ordinary run on the loaded folder (text, flags and counts exactly)."""
    _, out = streamed
    loaded = tmp_path / "one"
    run(load_village(folder, warn=False), loaded, **OPTIONS)
    names = sorted(p.name for p in out.glob("*.csv") if p.name != "warnings.csv")
    assert {"influence.csv", "account_sentiment.csv", "model_frame.csv", "accounts_at_risk.csv"} <= set(names)
    for name in names:
        a, b = pd.read_csv(out / name), pd.read_csv(loaded / name)
        assert list(a.columns) == list(b.columns) and len(a) == len(b), name
        for c in a.columns:
            if pd.api.types.is_float_dtype(a[c]) and pd.api.types.is_float_dtype(b[c]):
                assert np.allclose(a[c], b[c], rtol=1e-9, atol=1e-12, equal_nan=True), (name, c)
            else:
                assert a[c].equals(b[c]), (name, c)


def test_the_whole_village_is_never_loaded(folder, tmp_path, monkeypatch):
    """Every read is one partition's files (or fewer rows); the folder is never joined."""
    import cxinfluence.village.load as load_module
    import cxinfluence.village.partitions as partitions_module

    sizes = []
    real = partitions_module.read_partition

    def counted(path, partition, **kw):
        v = real(path, partition, **kw)
        sizes.append(len(v.responses))
        return v

    def refuse(*a, **kw):
        raise AssertionError("the streamed run joined the partitions")

    total = len(load_village(folder, warn=False).responses)
    monkeypatch.setattr(partitioned_module, "read_partition", counted)
    monkeypatch.setattr(partitions_module, "load_partitioned", refuse)
    monkeypatch.setattr(load_module, "load_partitioned", refuse)
    result = run(folder, tmp_path / "out", maps=2, n_boot=0, folds=2, quiet=True)
    assert result.exit_code == 0, result.skip_lines()
    assert sizes and max(sizes) < total / 2


def test_large_tables_are_not_kept_and_the_scratch_folder_goes(streamed):
    result, out = streamed
    assert "influence" not in result.tables and "stakeholder_sentiment" not in result.tables
    # the model frame, the comments and the listening plan went back to the disk after their stage: in CSVs only
    assert not {"model_frame", "actions", "listening_plan"} & set(result.tables)
    assert {"snapshot", "coverage", "accounts_at_risk"} <= set(result.tables)
    for name in ("model_frame", "actions", "listening_plan"):
        assert len(pd.read_csv(out / f"{name}.csv")) > 0
    assert not list(out.parent.glob(".cxinfluence-spill-*"))


def test_overview_of_the_opened_folder_is_the_loaded_villages(folder):
    pv = PartitionedVillage(folder)
    whole = load_village(folder, warn=False)
    pd.testing.assert_frame_equal(village_overview(pv), village_overview(whole))
    pd.testing.assert_frame_equal(pv.accounts, whole.accounts)
    pd.testing.assert_frame_equal(pv.outcomes, whole.outcomes)
    ids = whole.accounts["account_id"].iloc[[3, 150, 299]]
    sub = pv.subset(ids)
    from cxinfluence.village.subset import subset_village

    ref = subset_village(whole, ids)
    for name in ("accounts", "stakeholders", "relationships", "responses", "outcomes"):
        pd.testing.assert_frame_equal(getattr(sub, name).reset_index(drop=True),
                                      getattr(ref, name).reset_index(drop=True), check_dtype=False)


def test_problems_of_every_partition_at_once_and_nothing_written(tmp_path):
    v, _ = make_village(40, seed=2)
    path = write_partitioned(v, tmp_path / "parts", 4)
    import pyarrow.parquet as pq

    broken = []
    for k in (0, 2):  # a response score out of range in two partitions
        file = path / f"part-{k:05d}" / "responses.parquet"
        table = pq.read_table(file).to_pandas()
        table.loc[0, "nps"] = 42
        broken.append(table.loc[0, "stakeholder_id"])
        table.to_parquet(file, index=False)
    with pytest.raises(VillageError) as err:
        run(path, tmp_path / "out", **OPTIONS)
    text = str(err.value)
    assert "part-00000" in text and "part-00002" in text and "nps" in text
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.glob(".cxinfluence-spill-*"))


def test_stakeholder_id_in_two_partitions_is_named(tmp_path):
    v, _ = make_village(30, seed=3)
    path = write_partitioned(v, tmp_path / "parts", 3)
    import pyarrow.parquet as pq

    a = pq.read_table(path / "part-00000" / "stakeholders.parquet").to_pandas()
    b_file = path / "part-00001" / "stakeholders.parquet"
    b = pq.read_table(b_file).to_pandas()
    resp_file = path / "part-00001" / "responses.parquet"
    resp = pq.read_table(resp_file).to_pandas()
    old = b.loc[0, "stakeholder_id"]
    b.loc[0, "stakeholder_id"] = a.loc[0, "stakeholder_id"]
    resp.loc[resp["stakeholder_id"] == old, "stakeholder_id"] = a.loc[0, "stakeholder_id"]
    rel_file = path / "part-00001" / "relationships.parquet"
    rel = pq.read_table(rel_file).to_pandas()
    for c in ("source_id", "target_id"):
        rel.loc[rel[c] == old, c] = a.loc[0, "stakeholder_id"]
    b.to_parquet(b_file, index=False)
    resp.to_parquet(resp_file, index=False)
    rel.to_parquet(rel_file, index=False)
    with pytest.raises(VillageError, match="appear in two partitions"):
        PartitionedVillage(path)


def test_one_account_and_no_outcomes_degrade_with_reasons(tmp_path):
    one, _ = make_village(1, seed=0)
    result = run(write_partitioned(one, tmp_path / "one", 2), tmp_path / "o1", **OPTIONS)
    assert result.exit_code == 3 and any("Renewal models" in line for line in result.skip_lines())
    assert (tmp_path / "o1" / "report.html").is_file() and (tmp_path / "o1" / "influence.csv").is_file()
    v, _ = make_village(20, seed=1)
    v = v.__class__(v.accounts, v.stakeholders, v.relationships, v.responses, v.outcomes.iloc[:0])
    result = run(write_partitioned(v, tmp_path / "none", 3), tmp_path / "o2", **OPTIONS)
    assert result.exit_code == 3 and any("no outcomes" in line for line in result.skip_lines())
    assert pd.read_csv(tmp_path / "o2" / "influence.csv").shape[0] > 0


def test_usage_errors_before_any_work(folder, tmp_path):
    with pytest.raises(PartitionError, match="written in 4 partitions"):
        run(folder, tmp_path / "o", partitions=3, **OPTIONS)
    with pytest.raises(CxInfluenceError, match="anonymize"):
        run(folder, tmp_path / "o", anonymize=True, **OPTIONS)
    assert not (tmp_path / "o").exists()


def test_compare_to_is_skipped_with_its_reason(folder, tmp_path):
    result = run(folder, tmp_path / "o", compare_to="2025-01-01", maps=0, n_boot=0, folds=2, quiet=True)
    assert any(line.startswith("What changed: skipped") for line in result.skip_lines())
    assert not (tmp_path / "o" / "what_changed.csv").exists()


def test_spill_pieces_come_back_exactly(tmp_path):
    frame = pd.DataFrame({"account_id": pd.array(["a", "b", None], dtype="str"), "x": [1.5, np.nan, 3.0],
                          "flag": pd.array([True, None, False], dtype=object),
                          "day": pd.to_datetime(["2025-01-01", None, "2025-02-01"]),
                          "kind": pd.Categorical(["p", "q", "p"])})
    with Spill(tmp_path) as spill:
        spill.put("t", 0, frame)
        spill.put("t", 1, frame.iloc[:0])
        spill.put("h", ("20250101", 1), frame.iloc[1:])
        spill.put("h", ("20250101", 0), frame.iloc[:1])
        pd.testing.assert_frame_equal(spill.table("t").frame(), frame)
        assert spill.keys("h") == ["20250101_0", "20250101_1"]
        pd.testing.assert_frame_equal(spill.table("h").frame(), frame)
        pd.testing.assert_frame_equal(spill.table("t").rows_for(["b"]), frame.iloc[[1]].reset_index(drop=True))
        folder = spill.folder
    assert not folder.exists()


def test_cli_runs_a_partitioned_folder(folder, tmp_path):
    res = subprocess.run([sys.executable, "-m", "cxinfluence", "run", str(folder), "--out", str(tmp_path / "o"),
                          "--maps", "1", "--quiet"], capture_output=True, text=True, timeout=600)
    assert res.returncode in (0, 3), res.stderr
    assert "Traceback" not in res.stderr
    assert (tmp_path / "o" / "report.html").is_file()
    assert len(pd.read_csv(tmp_path / "o" / "coverage.csv")) == len(load_village(folder, warn=False).accounts)


@pytest.mark.slow
def test_streamed_run_on_dask_equals_the_local_one(folder, streamed, tmp_path):
    """Each partition a Dask task reading its own files (LocalCluster): the same output files, byte for byte."""
    pytest.importorskip("dask.distributed")
    _, out = streamed
    result = run(folder, tmp_path / "dask", engine="dask", **OPTIONS)
    assert result.exit_code == 0, result.skip_lines()
    dask_out = tmp_path / "dask"
    assert _files(dask_out) == _files(out)
    assert [str(f) for f in _files(out) if not filecmp.cmp(out / f, dask_out / f, shallow=False)] == []


def test_validated_copy_reads_back_exactly(folder, tmp_path):
    """A streamed run validates each partition once and reads its kept copy later: the same tables, dtypes and
    id matches as validating the partition again."""
    from cxinfluence.village.ids import cached_rows
    from cxinfluence.village.partitions import read_partition, read_validated, write_validated

    for k in range(4):
        v = read_partition(folder, k, warn=False)
        back = read_validated(write_validated(v, tmp_path / f"p{k}"))
        for name in ("accounts", "stakeholders", "relationships", "responses", "outcomes"):
            pd.testing.assert_frame_equal(getattr(back, name), getattr(v, name), check_exact=True)
        rows, kept = cached_rows(v), cached_rows(back)
        assert rows.keys() == kept.keys() and rows
        assert all(np.array_equal(rows[key], kept[key]) for key in rows)


def test_streamed_run_with_the_portfolios_prior_scores_the_same(folder, streamed, tmp_path):
    """Given a prior (here the one the streamed run wrote), pass 1 sums no statistics and the sentiment is the same."""
    _, out = streamed
    result = run(folder, tmp_path / "again", prior=out / "portfolio_prior.json", **OPTIONS)
    assert result.exit_code == 0, result.skip_lines()
    for name in ("account_sentiment.csv", "influence.csv", "accounts_at_risk.csv"):
        assert (tmp_path / "again" / name).read_bytes() == (out / name).read_bytes(), name
