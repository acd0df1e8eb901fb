"""Small lake operations for Spark jobs through Hadoop's FileSystem (file:// locally, s3:// on EMR)."""

from __future__ import annotations

import json

from pyspark.sql import SparkSession

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


def list_dirs(spark: SparkSession, uri: str) -> list[str]:
    """Names of the folders directly under `uri` (none if it does not exist), sorted."""
    fs, path = _fs_and_path(spark, uri)
    if not fs.exists(path):
        return []
    return sorted(status.getPath().getName() for status in fs.listStatus(path) if status.isDirectory())
