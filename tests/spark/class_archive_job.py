"""A short Spark job that does, on a few rows, the kinds of work the project's jobs do (CSV and Parquet read and
written by partition, JSON, unions, windows, joins, aggregations and a cube, a local checkpoint, an observation,
Hadoop listings), so that the JVM loads the classes they need. tests/conftest.py runs it once with
-XX:ArchiveClassesAtExit: every later spark-submit of the test session maps those classes from the archive
instead of loading and verifying them again.

    spark-submit tests/spark/class_archive_job.py WORK_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

from pyspark.sql import Observation, SparkSession, Window
from pyspark.sql import functions as F


def main(work: Path) -> None:
    spark = (
        SparkSession.builder.appName("bfp-class-archive")
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        .config("spark.sql.parquet.compression.codec", "zstd")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    csv = work / "lines.csv"
    csv.write_text("order_id,line_no,day,category,price,qty\n" + "".join(
        f"o-{n % 7},{n % 3},2026-11-{1 + n % 28:02d},C{n % 4},{n}.25,{1 + n % 2}\n" for n in range(60)
    ))  # fmt: skip
    lines = (
        spark.read.option("header", True)
        .schema("order_id string, line_no int, day date, category string, price decimal(12,2), qty int")
        .csv(str(csv))
    )
    observed = Observation("rows")
    lines = lines.observe(observed, F.count(F.lit(1)).alias("rows")).withColumns(
        {"year": F.year("day"), "month": F.month("day"), "revenue": F.col("price") * F.col("qty")}
    )
    lines.write.mode("overwrite").partitionBy("year", "month").parquet((work / "curated").as_uri())
    assert observed.get["rows"] == 60
    curated = spark.read.parquet((work / "curated").as_uri()).localCheckpoint()
    by_order = Window.partitionBy("order_id").orderBy("line_no", "category")
    flagged = curated.withColumns(
        {"first": (F.row_number().over(by_order) == 1).cast("int"), "before": F.lag("revenue").over(by_order)}
    )
    totals = flagged.groupBy("year", "month", "day").agg(
        F.sum("first").alias("orders"), F.sum("revenue").alias("revenue"), F.count_distinct("order_id")
    )
    cube = flagged.cube("month", "category").agg(F.sum("revenue").alias("revenue"), F.grouping_id())
    joined = totals.join(F.broadcast(totals.select("day").distinct()), "day").join(
        cube.where(F.col("category").isNotNull()).select("month", "category"), "month"
    )
    joined.unionByName(joined).dropDuplicates().write.mode("overwrite").json((work / "joined").as_uri())
    spark.read.json((work / "joined").as_uri()).cache().count()
    jvm_path = spark._jvm.org.apache.hadoop.fs.Path((work / "curated").as_uri())
    file_system = jvm_path.getFileSystem(spark._jsc.hadoopConfiguration())
    assert file_system.listStatus(jvm_path)
    spark.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
