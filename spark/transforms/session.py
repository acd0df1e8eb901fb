"""The one way a job gets its SparkSession (UTC, dynamic partition overwrite, sizes for a small machine), and
small frames of local rows (or none) that start no Python process."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T


def build_session(app_name: str, master: str | None = None, extra_conf: dict[str, str] | None = None) -> SparkSession:
    """A session for `app_name`; `master` only when not given by spark-submit (tests, local runs); `extra_conf`
    for a caller's own settings (the benchmark's event log)."""
    builder = (
        SparkSession.builder.appName(app_name)
        .config("spark.sql.session.timeZone", "UTC")
        # Rewrite only the partitions a run produces (static mode would wipe the others).
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        .config("spark.sql.parquet.compression.codec", "zstd")
        # Jobs read their observed counts (Dataset.observe) after a write; without this rule an input that turns
        # out empty after a shuffle is replaced by an empty relation with its metrics, and the read never returns.
        .config(
            "spark.sql.adaptive.optimizer.excludedRules",
            "org.apache.spark.sql.execution.adaptive.AQEPropagateEmptyRelation",
        )
        # Partition values stay text (window=20261124T1800 must not become a number).
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        # Two tasks per core of local[2]: 4 beat 8 at full scale (fewer, larger tasks on small data). A cluster
        # sets its own (BFP_SPARK_SHUFFLE_PARTITIONS).
        .config("spark.sql.shuffle.partitions", os.environ.get("BFP_SPARK_SHUFFLE_PARTITIONS", "4"))
        .config("spark.ui.showConsoleProgress", "false")
    )
    for key, value in (extra_conf or {}).items():
        builder = builder.config(key, value)
    if master:
        # A local run's driver is its only executor: the default 1g cannot hold the cached inputs at full scale.
        memory = os.environ.get("BFP_SPARK_DRIVER_MEMORY", "4g")
        builder = builder.master(master).config("spark.ui.enabled", "false").config("spark.driver.memory", memory)
        # Python workers must run the driver's Python (PySpark refuses another minor version, and the python3 on
        # PATH may be another one); the JVM this starts passes its environment on to the workers.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        # A session started here (tests, benchmarks, local runs) listens on loopback, like the local cluster's
        # JVMs: without it Spark binds the driver's RPC endpoint and block manager to the first interface.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    return builder.getOrCreate()


def empty_frame(spark: SparkSession, schema: T.StructType) -> DataFrame:
    """No rows, in `schema`, planned in the JVM. spark.createDataFrame([], schema) plans a Python RDD of the
    default parallelism: every stage that reads it starts Python workers (a daemon, then one per core), and
    every table read unions its partitions onto an empty frame."""
    return spark.createDataFrame(spark.sparkContext.emptyRDD(), schema)


def local_frame(spark: SparkSession, rows: list[tuple], schema: T.StructType) -> DataFrame:
    """`rows` (dates, numbers, text, booleans) in `schema`'s columns, planned in the JVM: one JSON literal that
    Spark parses itself. spark.createDataFrame(rows, schema) plans a Python RDD, and the first job reading it
    starts Python workers (a daemon, then one per core: measured ~3 s of CPU in each new JVM) for a few rows.
    The columns come back nullable (as every column written to Parquet is)."""
    text = json.dumps([dict(zip(schema.names, row, strict=True)) for row in rows], default=_json_value)
    return spark.range(1).select(F.inline(F.from_json(F.lit(text), T.ArrayType(schema))))


def _json_value(value: object) -> str:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()  # from_json reads yyyy-MM-dd as a DateType
    raise TypeError(f"local_frame: {value!r} ({type(value).__name__}) has no JSON form here")
