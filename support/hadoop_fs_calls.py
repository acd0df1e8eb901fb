"""Counts the Hadoop FileSystem calls a Spark job makes on a local lake (list, exists, status, open, create,
rename, delete, mkdirs) and the entries its listings returned (listed_entries): each call is a request on S3
(a listing, one per 1,000 entries), so their number per run is what must not grow as the lake
ages. Hadoop's local file system keeps no call counts (only bytes), so a subclass of it that counts
(CountingLocalFileSystem.java beside this file) is compiled once with the JDK's javac into .local/ and put on
the session's class path as the `file://` scheme's implementation.

    conf = hadoop_fs_calls.spark_conf()          # before the session (or spark-submit) starts
    hadoop_fs_calls.reset(spark); ...; hadoop_fs_calls.calls(spark)  # {"exists": 4, "list": 2, ...}
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pyspark

SOURCE = Path(__file__).with_name("CountingLocalFileSystem.java")
CLASS_NAME = "bfp.CountingLocalFileSystem"
BUILD_ROOT = Path(__file__).resolve().parents[1] / ".local" / "fs-calls"


def classes_dir() -> Path:
    """The compiled class's folder (compiled when the source changed)."""
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    target = BUILD_ROOT / digest
    if (target / "bfp" / "CountingLocalFileSystem.class").exists():
        return target
    javac = shutil.which("javac")
    if javac is None:
        raise RuntimeError("javac not found: run `make system` (it installs openjdk-17-jdk-headless)")
    jars = Path(pyspark.__file__).parent / "jars"
    building = target.with_name(target.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    subprocess.run(
        [javac, "-nowarn", "-cp", f"{jars}/*", "-d", str(building), str(SOURCE)],
        check=True,
        capture_output=True,
        text=True,
    )
    building.rename(target)
    return target


def spark_conf() -> dict[str, str]:
    """Spark settings that make `file://` paths go through the counting file system."""
    classes = str(classes_dir())
    return {
        "spark.driver.extraClassPath": classes,
        "spark.executor.extraClassPath": classes,
        "spark.hadoop.fs.file.impl": CLASS_NAME,
        "spark.hadoop.fs.file.impl.disable.cache": "true",
    }


def _counter(spark):
    return spark.sparkContext._jvm.bfp.CountingLocalFileSystem


def reset(spark) -> None:
    _counter(spark).reset()


def calls(spark) -> dict[str, int]:
    """Calls by kind since the last reset (kinds never called are absent)."""
    return {str(kind): int(count) for kind, count in dict(_counter(spark).snapshot()).items()}
