"""The partitioned run's per-partition functions on Apache Spark, through ``applyInPandas``.

The functions the partitioned run maps (:mod:`cxinfluence.pipeline.mapreduce`) take one
partition's five tables and return pandas DataFrames, so Spark can run them as they are:
one Spark group per partition of a partitioned village (written by
:func:`cxinfluence.village.partitions.write_partitioned` or ``cxinfluence partition``), each
task reading only its own partition's files where it runs::

    from pyspark.sql import SparkSession
    from cxinfluence.pipeline import mapreduce
    from cxinfluence.pipeline.spark import on_partitions, portfolio_prior_on

    spark = SparkSession.builder.master("local[2]").getOrCreate()
    path = "village_parts"                          # cxinfluence partition VILLAGE village_parts --partitions 8
    options = dict(window_days=365, lead_days=90, half_life_days=None)
    prior = portfolio_prior_on(spark, path, as_of="2025-12-31", **options)          # map, then reduce
    snapshot = on_partitions(spark, path, mapreduce.sentiment_part, "snapshot",     # map again, with the prior
                             as_of="2025-12-31", prior=prior, frame=False, **options)
    snapshot.toPandas()        # every account's sentiment, equal to the one-machine run's

``docs/architecture.md`` ("The partitioned run") explains the map-reduce shape. PySpark is not a
dependency of cxinfluence (``pip install pyspark``; it needs Java 17 or later): it is imported by
the functions here, never at import time.
"""

from __future__ import annotations

import json

import pandas as pd

from ..sentiment.prior import PortfolioPrior
from ..village.partitions import read_manifest, read_partition
from .mapreduce import combine_priors, prior_part

#: the column of the one-row-per-partition Spark DataFrame the functions are grouped by
PARTITION = "partition"


def _task(path, func, table, kwargs):
    """``func``'s ``table`` for the partition named in a group's rows (a closure: Spark pickles it to its workers)."""
    path = str(path)

    def task(group: pd.DataFrame) -> pd.DataFrame:
        k = int(group[PARTITION].iloc[0])
        return _for_spark(func(read_partition(path, k, warn=False), **kwargs)[table])

    return task


def _for_spark(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns Arrow hands to Spark unchanged: text as plain strings (pandas' own ``str`` dtype included)."""
    text = [c for c in frame.columns if frame[c].dtype == object or isinstance(frame[c].dtype, pd.StringDtype)]
    return frame.astype({c: object for c in text}) if text else frame


def partition_groups(spark, path):
    """A Spark DataFrame with one row per partition of the partitioned village at ``path``."""
    k = read_manifest(path)["partitions"]
    return spark.createDataFrame(pd.DataFrame({PARTITION: range(k)}), schema=f"{PARTITION} int")


def on_partitions(spark, path, func, table, *, schema=None, **kwargs):
    """``func(partition_tables, **kwargs)[table]`` for every partition, as one Spark DataFrame.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    path : str or Path
        A partitioned village (:func:`cxinfluence.village.partitions.write_partitioned`), on storage
        every Spark worker can read.
    func : callable
        A per-partition function of :mod:`cxinfluence.pipeline.mapreduce` (``influence_part``,
        ``coverage_part``, ``sentiment_part``, ``actions_part``) or one shaped like them.
    table : str
        Which of the DataFrames ``func`` returns.
    schema : pyspark StructType or str, optional
        The Spark schema of the result. By default it is read off ``func``'s result on the
        partition with the fewest accounts, computed on the driver.
    **kwargs
        ``func``'s keyword arguments (dates, options, a :class:`PortfolioPrior`).

    Returns
    -------
    pyspark.sql.DataFrame
        The partitions' rows; ``toPandas()`` brings them back (in any order: sort by the keys,
        or use :func:`cxinfluence.pipeline.mapreduce.combine` with the village's account order).
    """
    task = _task(path, func, table, kwargs)
    if schema is None:
        parts = read_manifest(path)["parts"]
        smallest = min(parts, key=lambda p: p["accounts"]["accounts"])["partition"]
        schema = spark.createDataFrame(task(pd.DataFrame({PARTITION: [smallest]}))).schema
    return partition_groups(spark, path).groupBy(PARTITION).applyInPandas(task, schema=schema)


def _prior_rows(tables, **kwargs) -> dict:
    """One partition's portfolio-prior statistics as one row of JSON (a prior is not a table)."""
    return {"prior": pd.DataFrame({"prior": [json.dumps(prior_part(tables, **kwargs)["prior"].to_dict())]})}


def portfolio_prior_on(spark, path, *, as_of, window_days, lead_days, half_life_days) -> PortfolioPrior:
    """The whole portfolio's prior: each partition's sufficient statistics on Spark, combined on the driver.

    The reduce of the partitioned run (:func:`cxinfluence.pipeline.mapreduce.combine_priors`): equal to
    :func:`cxinfluence.sentiment.prior.portfolio_prior` of the whole village at ``as_of`` and its
    outcome periods. Pass it as ``prior=`` to ``sentiment_part`` so every partition is scored against
    the whole portfolio.
    """
    rows = on_partitions(spark, path, _prior_rows, "prior", schema="prior string", as_of=as_of,
                         window_days=window_days, lead_days=lead_days, half_life_days=half_life_days).toPandas()
    priors = [PortfolioPrior.from_dict(json.loads(text)) for text in rows["prior"]]
    return combine_priors(priors, as_of=as_of)
