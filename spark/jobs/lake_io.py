"""Small lake operations for Spark jobs through Hadoop's FileSystem (file:// locally, s3:// on EMR)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from pyspark.sql import DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

MANIFEST = "_manifest.json"


def _fs_and_path(spark: SparkSession, uri: str):
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), path


def exists(spark: SparkSession, uri: str) -> bool:
    fs, path = _fs_and_path(spark, uri)
    return fs.exists(path)


def delete(spark: SparkSession, uri: str) -> None:
    fs, path = _fs_and_path(spark, uri)
    if fs.exists(path):
        fs.delete(path, True)


def rename(spark: SparkSession, source: str, target: str) -> None:
    """Moves a folder to `target` (its parent must exist; `target` must not)."""
    fs, source_path = _fs_and_path(spark, source)
    _, target_path = _fs_and_path(spark, target)
    fs.mkdirs(target_path.getParent())
    if not fs.rename(source_path, target_path):
        raise OSError(f"could not move {source} to {target}")


def size_bytes(spark: SparkSession, uri: str) -> int:
    """Bytes under `uri` (a file or a folder)."""
    fs, path = _fs_and_path(spark, uri)
    return fs.getContentSummary(path).getLength()


def write_json(spark: SparkSession, uri: str, document: dict) -> None:
    fs, path = _fs_and_path(spark, uri)
    stream = fs.create(path, True)
    try:
        stream.write(bytearray(json.dumps(document, indent=2, sort_keys=True, default=str).encode()))
    finally:
        stream.close()


def list_files(spark: SparkSession, uri: str) -> list[str]:
    """Names of the files directly under `uri` (none if it does not exist), sorted: one listing."""
    fs, path = _fs_and_path(spark, uri)
    try:
        statuses = fs.listStatus(path)
    except Exception as exc:  # py4j's error for the JVM's exception: only a missing folder means "no files"
        java = getattr(exc, "java_exception", None)
        if java is not None and java.getClass().getName() == "java.io.FileNotFoundException":
            return []
        raise
    return sorted(status.getPath().getName() for status in statuses if status.isFile())


def read_json(spark: SparkSession, uri: str) -> dict | None:
    """A JSON document, or None if there is none."""
    fs, path = _fs_and_path(spark, uri)
    if not fs.exists(path):
        return None
    stream = fs.open(path)
    try:
        return json.loads(spark.sparkContext._jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8"))
    finally:
        stream.close()


def list_dirs(spark: SparkSession, uri: str) -> list[str]:
    """Names of the folders directly under `uri` (none if it does not exist), sorted."""
    fs, path = _fs_and_path(spark, uri)
    if not fs.exists(path):
        return []
    return sorted(status.getPath().getName() for status in fs.listStatus(path) if status.isDirectory())


def partition_spec(partition_columns: Sequence[str], values: Sequence) -> str:
    """(year, month), (2022, 11) -> "year=2022/month=11", the folder Spark writes and the catalog registers."""
    return "/".join(f"{column}={value}" for column, value in zip(partition_columns, values, strict=True))


def write_partitioned(
    frame: DataFrame,
    uri: str,
    partition_columns: Sequence[str],
    sort_by: Sequence[str] = (),
    options: dict[str, str] | None = None,
) -> tuple[int, list[tuple]]:
    """Writes `frame` under `uri` partitioned by `partition_columns`, one file per partition (dynamic overwrite:
    only the partitions in `frame` are replaced), rows sorted by `sort_by` within a file. Returns the rows
    written and the partition values written, both observed during the write (no second pass over `frame`)."""
    written = Observation(f"write {uri}")
    observed = frame.observe(
        written,
        F.count(F.lit(1)).alias("rows"),
        F.to_json(F.collect_set(F.struct(*partition_columns))).alias("partitions"),
    )
    laid_out = observed.repartition(*partition_columns)
    if sort_by:
        laid_out = laid_out.sortWithinPartitions(*partition_columns, *sort_by)
    laid_out.write.options(**(options or {})).mode("overwrite").partitionBy(*partition_columns).parquet(uri)
    metrics = written.get
    values = sorted(tuple(value[c] for c in partition_columns) for value in json.loads(metrics["partitions"]))
    return metrics["rows"], values
