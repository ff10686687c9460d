"""The partitioned run's per-partition functions on PySpark local mode (issue 17): the same answer as one machine.

Slow (Spark starts a JVM); skipped with the reason when PySpark or Java is not installed.
"""

from __future__ import annotations

import os
import shutil
import sys
import warnings

import pandas as pd
import pytest

from cxinfluence.pipeline import mapreduce
from cxinfluence.village.partitions import read_partition, write_partitioned
from cxinfluence.village.synth import make_village

pyspark = pytest.importorskip("pyspark", reason="PySpark is not installed (pip install pyspark)")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java 17+")]

AS_OF = pd.Timestamp("2025-06-30")
OPTIONS = dict(window_days=365, lead_days=90, half_life_days=None)


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable  # the workers use this interpreter (and its pandas)
    session = (SparkSession.builder.master("local[2]").appName("cxinfluence-test")
               .config("spark.ui.enabled", "false").config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.shuffle.partitions", "4").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def village_parts(tmp_path_factory):
    v, _ = make_village(80, seed=3)
    return v, write_partitioned(v, tmp_path_factory.mktemp("spark") / "parts", partitions=4)


def _sorted(frame, keys):
    return frame.sort_values(keys).reset_index(drop=True)


def test_influence_on_spark_equals_one_machine(spark, village_parts):
    from cxinfluence.pipeline.spark import on_partitions

    v, path = village_parts
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # PySpark's note about pandas 3
        got = on_partitions(spark, path, mapreduce.influence_part, "influence", as_of=AS_OF).toPandas()
    whole = mapreduce.influence_part(v, as_of=AS_OF)["influence"]
    keys = ["account_id", "stakeholder_id"]
    assert len(got) == len(whole) > 0
    pd.testing.assert_frame_equal(_sorted(got, keys), _sorted(whole, keys), check_dtype=False, rtol=1e-9)


def test_prior_then_sentiment_on_spark_equal_one_machine(spark, village_parts):
    """Map (each partition's sufficient statistics) -> reduce (on the driver) -> map (scored with the whole prior)."""
    from cxinfluence.pipeline.spark import on_partitions, portfolio_prior_on

    v, path = village_parts
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        prior = portfolio_prior_on(spark, path, as_of=AS_OF, **OPTIONS)
        got = on_partitions(spark, path, mapreduce.sentiment_part, "snapshot", as_of=AS_OF, prior=prior, frame=False,
                            **OPTIONS).toPandas()
    assert prior.close_to(mapreduce.prior_part(v, as_of=AS_OF, **OPTIONS)["prior"], rtol=1e-12)
    whole = mapreduce.sentiment_part(v, as_of=AS_OF, frame=False, **OPTIONS)["snapshot"]  # its own, whole prior
    assert len(got) == len(v.accounts) and got["influence_weighted"].notna().any()
    pd.testing.assert_frame_equal(_sorted(got, ["account_id"]), _sorted(whole, ["account_id"]), check_dtype=False,
                                  rtol=1e-9)
    # one partition scored against its own accounts only differs: the whole prior is what makes them equal
    alone = mapreduce.sentiment_part(read_partition(path, 0, warn=False), as_of=AS_OF, frame=False,
                                     **OPTIONS)["snapshot"]
    same = _sorted(whole[whole["account_id"].isin(alone["account_id"])], ["account_id"])
    assert not _sorted(alone, ["account_id"])["shrunk"].equals(same["shrunk"])
