"""Engines of the partitioned run (pipeline/engines.py): in order, retried, failures named, Dask optional."""

import io
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cxinfluence.exceptions import EngineError, PartitionFailedError
from cxinfluence.pipeline.engines import DaskEngine, LocalEngine, get_engine, partitions_of
from cxinfluence.pipeline.progress import Progress

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def village():
    from cxinfluence.village.synth import make_village

    return make_village(40, seed=2)[0]


def summary(tables, *, scale=1.0):
    """Per account: people and answers (a function of DataFrames, as every mapped function is)."""
    tables = tables.tables() if hasattr(tables, "tables") else tables  # a Village or a dict of its tables
    people = tables["stakeholders"].groupby("account_id").size().rename("people")
    owner = tables["stakeholders"].set_index("stakeholder_id")["account_id"]
    answers = tables["responses"]["stakeholder_id"].map(owner).value_counts().rename("answers")
    frame = pd.concat([people, answers], axis=1).fillna(0).mul(scale).rename_axis("account_id").reset_index()
    return {"summary": frame}


def fails_once(tables, *, marker):
    """Fails the first time it sees the account A017 (a marker file remembers, across processes)."""
    if "A017" in set(tables.accounts["account_id"]) and not Path(marker).exists():
        Path(marker).write_text("failed once")
        raise RuntimeError("a transient failure")
    return summary(tables)


def always_fails_on_a017(tables):
    if "A017" in set(tables.accounts["account_id"]):
        raise ValueError("bad data in A017")
    return summary(tables)


def _whole(results):
    return pd.concat([r["summary"] for r in results]).sort_values("account_id").reset_index(drop=True)


def test_local_engine_maps_every_partition_in_order(village):
    parts = partitions_of(village, 5)
    stream = io.StringIO()
    with get_engine("local", progress=Progress(stream=stream)) as engine:
        results = engine.map(summary, parts, stage="counting", scale=2.0)
    assert len(results) == 5
    for p, r in zip(parts, results):
        assert set(r["summary"]["account_id"]) == set(p.load().accounts["account_id"])
    whole = summary(village.tables(), scale=2.0)["summary"].sort_values("account_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(_whole(results), whole)
    lines = stream.getvalue().splitlines()
    assert sum("counting: partition" in line and "done" in line for line in lines) == 5


def scaled(tables, *, factor, offset=0.0):
    """Uses an input of its own partition (``factor``) beside one shared by all (``offset``)."""
    return {"summary": summary(tables)["summary"].assign(people=lambda d: d["people"] * factor + offset)}


def test_each_partition_gets_its_own_inputs(village):
    parts = partitions_of(village, 3)
    with LocalEngine() as engine:
        results = engine.map(scaled, parts, stage="x", inputs=[{"factor": k + 1.0} for k in range(3)], offset=0.5)
    for k, r in enumerate(results):
        base = summary(parts[k].load())["summary"]
        assert r["summary"]["people"].tolist() == (base["people"] * (k + 1) + 0.5).tolist()


def test_local_engine_retries_then_names_the_partition(village, tmp_path):
    parts = partitions_of(village, 4)
    stream = io.StringIO()
    with LocalEngine(retries=1, progress=Progress(stream=stream)) as engine:
        results = engine.map(fails_once, parts, stage="influence", marker=str(tmp_path / "m"))
    assert "trying again" in stream.getvalue()
    pd.testing.assert_frame_equal(_whole(results), _whole([summary(village.tables())]))
    owner = next(p for p in parts if "A017" in set(p.load().accounts["account_id"]))
    with pytest.raises(PartitionFailedError) as err, LocalEngine(retries=2) as engine:
        engine.map(always_fails_on_a017, parts, stage="influence")
    first, last, n = owner.accounts
    message = str(err.value)
    assert f"partition {owner.number} of 4" in message and f"'{first}' .. '{last}'" in message
    assert "stage 'influence'" in message and "3 attempts" in message and "bad data in A017" in message
    assert err.value.partition == owner.number and err.value.accounts == owner.accounts
    with pytest.raises(PartitionFailedError, match="1 attempt:"), LocalEngine(retries=0) as engine:
        engine.map(always_fails_on_a017, parts, stage="x")


def test_partitions_read_from_a_partitioned_folder(village, tmp_path):
    from cxinfluence.exceptions import PartitionError
    from cxinfluence.village.partitions import write_partitioned

    path = write_partitioned(village, tmp_path / "parts", partitions=3)
    parts = partitions_of(path, None)
    assert [p.tables for p in parts] == [None] * 3 and sum(p.accounts[2] for p in parts) == 40
    with LocalEngine() as engine:
        results = engine.map(summary, parts, stage="counting")
    pd.testing.assert_frame_equal(_whole(results), _whole([summary(village.tables())]))
    with pytest.raises(PartitionError, match="written in 3 partitions"):
        partitions_of(path, 8)


def test_bad_engine_options_named():
    with pytest.raises(EngineError, match="engine='spark'"):
        get_engine("spark")
    with pytest.raises(EngineError, match="scheduler="):
        get_engine("local", scheduler="tcp://127.0.0.1:8786")
    with pytest.raises(EngineError, match="retries=-1"):
        LocalEngine(retries=-1)
    with pytest.raises(EngineError, match="not started"):
        DaskEngine().map(summary, [], stage="x")


def test_import_and_local_engine_never_import_dask():
    code = ("import sys, cxinfluence, cxinfluence.pipeline.engines as e\n"
            "from cxinfluence.village.synth import make_village\n"
            "v, _ = make_village(5, seed=0)\n"
            "e.get_engine('local').map(lambda t: {}, e.partitions_of(v, 2), stage='x')\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_dask_local_cluster_maps_retries_and_names_failures(village, tmp_path):
    pytest.importorskip("dask.distributed")
    parts = partitions_of(village, 4)
    stream = io.StringIO()
    with DaskEngine(n_workers=2, progress=Progress(stream=stream)) as engine:
        assert engine.dashboard_link and "dashboard http" in stream.getvalue()
        results = engine.map(summary, parts, stage="counting", scale=2.0)
        pd.testing.assert_frame_equal(_whole(results), _whole([summary(village.tables(), scale=2.0)]))
        own = engine.map(scaled, parts, stage="x", inputs=[{"factor": k + 1.0} for k in range(4)], offset=0.5)
        for k, r in enumerate(own):
            assert r["summary"]["people"].tolist() == (summary(parts[k].load())["summary"]["people"] * (k + 1)
                                                       + 0.5).tolist()
        retried = engine.map(fails_once, parts, stage="influence", marker=str(tmp_path / "m"))
        assert (tmp_path / "m").exists()  # it did fail once, and Dask ran it again
        pd.testing.assert_frame_equal(_whole(retried), _whole([summary(village.tables())]))
        owner = next(p for p in parts if "A017" in set(p.load().accounts["account_id"]))
        with pytest.raises(PartitionFailedError) as err:
            engine.map(always_fails_on_a017, parts, stage="sentiment")
        assert f"partition {owner.number} of 4" in str(err.value) and "bad data in A017" in str(err.value)
        assert "stage 'sentiment'" in str(err.value) and err.value.accounts == owner.accounts
    assert sum("counting: partition" in line for line in stream.getvalue().splitlines()) == 4
