"""The partitioned run (pipeline/mapreduce.py): the same outputs for K = 1, K = 8 in-process and K = 8 on Dask."""

import io

import numpy as np
import pandas as pd
import pytest
from test_partitions import awkward_village

from cxinfluence.pipeline import mapreduce as mr
from cxinfluence.pipeline.engines import LocalEngine, partitions_of
from cxinfluence.village.asof import default_as_of

#: text and flag columns must agree exactly; numbers to 1e-9 (relative) / 1e-12 (absolute)
RTOL, ATOL = 1e-9, 1e-12


def assert_same(x, y, name):
    assert list(x.columns) == list(y.columns), name
    assert len(x) == len(y), name
    for c in x.columns:
        a, b = x[c], y[c]
        if pd.api.types.is_float_dtype(a) and pd.api.types.is_float_dtype(b):
            assert np.allclose(a.to_numpy(float), b.to_numpy(float), rtol=RTOL, atol=ATOL, equal_nan=True), (name, c)
        else:  # ids, text, flags, dates, counts: exact
            assert a.reset_index(drop=True).equals(b.reset_index(drop=True)), (name, c)


@pytest.fixture(scope="module")
def village(tmp_path_factory):
    return awkward_village(tmp_path_factory.mktemp("awkward"), n=200)


@pytest.fixture(scope="module")
def one(village):
    """The one-partition computation (the ordinary run's tables)."""
    return mapped(village, 1)


def mapped(v, k, engine=None, prior=None):
    """Every mapped stage of the run on ``k`` partitions, combined as the run does."""
    as_of, rank = default_as_of(v), mr.account_rank(v)
    parts = partitions_of(v, k)
    engine = engine or LocalEngine()
    out = {}
    infl = engine.map(mr.influence_part, parts, stage="influence", as_of=as_of)
    out.update(mr.combine_all(infl, rank))
    own = [{"influence": r["influence"]} for r in infl]
    out.update(mr.combine_all(engine.map(mr.coverage_part, parts, stage="coverage", inputs=own, as_of=as_of,
                                         window_days=365), rank))
    options = dict(as_of=as_of, window_days=365, lead_days=30, half_life_days=None)
    if prior == "combine":
        stats = engine.map(mr.prior_part, parts, stage="prior", inputs=own, **options)
        prior = mr.combine_priors([s["prior"] for s in stats], as_of)
    out.update(mr.combine_all(engine.map(mr.sentiment_part, parts, stage="sentiment", inputs=own, prior=prior,
                                         **options), rank))
    out.update(mr.combine_all(engine.map(mr.actions_part, parts, stage="actions", inputs=own, as_of=as_of,
                                         window_days=90), rank))
    return out


#: the tables that pool nothing across accounts: equal for any K without a portfolio prior
PER_ACCOUNT = ("influence", "coverage", "listening_plan", "stakeholder_sentiment", "risk_flags", "actions")


def test_awkward_village_has_the_awkward_cases(village):
    sizes = village.stakeholders.groupby("account_id").size()
    assert (sizes == 1).sum() >= 3
    heard = village.responses["stakeholder_id"].map(village.stakeholders.set_index("stakeholder_id")["account_id"])
    assert len(set(village.accounts["account_id"]) - set(heard)) >= 10
    assert {"7", "07", "acme", "ACME", "Zürich"} <= set(village.accounts["account_id"])


@pytest.mark.parametrize("k", [3, 8])
def test_per_account_stages_agree_for_any_k(village, one, k):
    many = mapped(village, k)
    for name in PER_ACCOUNT:
        assert_same(one[name], many[name], name)
    assert len(one["actions"]) > 50 and one["actions"]["level"].nunique() >= 3


def test_one_partition_is_the_ordinary_computation(village, one):
    """K = 1 calls the public functions once on the whole village: the same tables as calling them directly."""
    from cxinfluence.comments.actions import action_list
    from cxinfluence.listening import coverage, listening_plan
    from cxinfluence.network.influence import influence_weights
    from cxinfluence.sentiment.schemes import sentiment_tables

    as_of = default_as_of(village)
    infl = influence_weights(village, as_of)
    assert_same(one["influence"][infl.columns], infl, "influence")
    assert_same(one["coverage"], coverage(village, as_of, window_days=365, influence=one["influence"]), "coverage")
    assert_same(one["listening_plan"], listening_plan(village, as_of, window_days=365, influence=one["influence"]),
                "plan")
    snap, people = sentiment_tables(village, as_of, window_days=365, influence=one["influence"])
    assert_same(one["snapshot"], snap, "snapshot")
    assert_same(one["stakeholder_sentiment"], people, "people")
    direct = action_list(village, as_of, influence=one["influence"], window_days=90)
    # the same rows; ties of urgency and date ordered by account (mapreduce.rank_actions)
    key = ["stakeholder_id", "date", "comment"]
    assert_same(one["actions"].sort_values(key).reset_index(drop=True)[direct.columns.drop("level")],
                direct.sort_values(key).reset_index(drop=True).drop(columns="level"), "actions")
    assert (one["actions"]["level"].value_counts().sort_index() == direct["level"].value_counts().sort_index()).all()


def test_rank_actions_is_independent_of_the_row_order(village, one):
    rows = one["actions"]
    rank = mr.account_rank(village)
    shuffled = rows.sample(frac=1.0, random_state=3).reset_index(drop=True)
    assert_same(mr.rank_actions(shuffled, rank), mr.rank_actions(rows, rank), "actions")


@pytest.mark.parametrize("k", [3, 8])
def test_sentiment_with_the_combined_prior_agrees_for_any_k(village, one, k):
    many = mapped(village, k, prior="combine")
    # one partition without a prior pools over itself: the whole portfolio, the numbers every K must give
    for name in ("snapshot", "history", "stakeholder_sentiment", "model_frame", "risk_flags"):
        assert_same(one[name], many[name], name)


@pytest.mark.slow
def test_a_failing_partition_is_named_with_its_accounts(tmp_path, monkeypatch):
    import cxinfluence.pipeline.runner as runner_module
    from cxinfluence.pipeline.runner import run
    from cxinfluence.village.synth import make_village

    small, _ = make_village(12, seed=2)
    real = mr.coverage_part

    def broken(tables, **kw):
        if "A003" in set(tables.accounts["account_id"]):
            raise ValueError("disk error while reading")
        return real(tables, **kw)

    monkeypatch.setattr(runner_module, "coverage_part", broken)  # where the run looks it up
    stream = io.StringIO()
    import cxinfluence.pipeline.progress as progress_module

    monkeypatch.setattr(progress_module.sys, "stderr", stream)
    result = run(small, tmp_path / "out", maps=0, n_boot=0, partitions=4, folds=2)
    owner = next(p for p in partitions_of(small, 4) if "A003" in set(p.load().accounts["account_id"]))
    failed = [r for r in result.skipped if r["severity"] == "failed"]
    assert result.exit_code == 4 and failed[0]["stage"] == "Coverage and listening plan"
    reason = failed[0]["reason"]
    assert f"partition {owner.number} of 4" in reason and f"'{owner.accounts[0]}' .. '{owner.accounts[1]}'" in reason
    assert "2 attempts" in reason and "disk error while reading" in reason
    assert "trying again" in stream.getvalue()
    assert (tmp_path / "out" / "influence.csv").exists() and not (tmp_path / "out" / "coverage.csv").exists()


def test_cli_options_checked_before_any_work(sample_path, tmp_path, capsys):
    from cxinfluence.pipeline.cli import main

    assert main(["run", str(sample_path), "--out", str(tmp_path / "o"), "--partitions", "0"]) == 1
    assert "partitions=0" in capsys.readouterr().err
    assert main(["run", str(sample_path), "--out", str(tmp_path / "o"), "--scheduler", "tcp://127.0.0.1:1"]) == 1
    assert "engine='dask'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def _run_tables(v, tmp, **kw):
    from cxinfluence.pipeline.runner import run

    result = run(v, tmp, maps=3, n_boot=20, quiet=True, folds=3, **kw)
    assert result.exit_code in (0, 3), result.skip_lines()
    return result


@pytest.mark.slow
def test_every_output_agrees_k1_k8_local_and_dask(tmp_path_factory):
    """Issue 17: every output table of K = 1, K = 8 in-process and K = 8 on a Dask LocalCluster agree."""
    pytest.importorskip("dask.distributed")
    from cxinfluence.village.io import read_csv_table  # noqa: F401 - the written CSVs are compared below

    v = awkward_village(tmp_path_factory.mktemp("big"), n=2000, seed=9)
    base = tmp_path_factory.mktemp("runs")
    runs = {key: _run_tables(v, base / key, partitions=k, engine=e)
            for key, k, e in (("k1", 1, "local"), ("k8", 8, "local"), ("dask8", 8, "dask"))}
    one = runs["k1"]
    names = [n for n, t in one.tables.items() if isinstance(t, pd.DataFrame)]
    assert {"influence", "coverage", "account_sentiment", "model_frame", "models", "accounts_at_risk",
            "actions", "scheme_comparison", "listening_plan"} <= set(names)
    for key in ("k8", "dask8"):
        other = runs[key]
        assert set(n for n, t in other.tables.items() if isinstance(t, pd.DataFrame)) == set(names)
        for name in names:
            if name == "warnings":
                continue
            assert_same(one.tables[name], other.tables[name], f"{key}:{name}")
        for f in ("influence.csv", "coverage.csv", "account_sentiment.csv", "accounts_at_risk.csv", "actions.csv",
                  "listening_plan.csv"):
            a = pd.read_csv(base / "k1" / f, dtype=str, keep_default_na=False)
            b = pd.read_csv(base / key / f, dtype=str, keep_default_na=False)
            assert a.shape == b.shape and list(a.columns) == list(b.columns), f
        assert sorted(p.name for p in (base / key / "networks").iterdir()) == sorted(
            p.name for p in (base / "k1" / "networks").iterdir())
