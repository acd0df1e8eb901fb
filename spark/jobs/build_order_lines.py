"""Curated order_lines: merges a historical purchases import and/or OLTP raw windows into
curated/order_lines/year=YYYY/month=MM/, rewriting only the partitions the merge touches.

    spark-submit spark/jobs/build_order_lines.py --lake file:///abs/data/lake --purchases-import demo
    spark-submit spark/jobs/build_order_lines.py --lake file:///abs/data/lake --windows 20261124T1800,20261124T1900
    spark-submit spark/jobs/build_order_lines.py --lake file:///abs/data/lake --all-windows

For OLTP windows, every order seen in them is re-derived from its latest version across all complete
windows (latest updated_at wins), so re-running any window, in any order, gives the same curated rows.
Only complete folders (with _manifest.json) are read.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from jobs import entry, lake_io
from transforms import order_lines
from transforms.raw_schemas import ORDER_ITEMS, ORDERS, PURCHASES

log = logging.getLogger("jobs.build_order_lines")
# Order ids are unique and titles nearly so within a month: a dictionary for them fills up and is thrown away.
# Without those two dictionaries the full-scale write is faster at the same size (docs/benchmarks.md).
CURATED_PARQUET_OPTIONS = {"parquet.enable.dictionary#order_id": "false", "parquet.enable.dictionary#title": "false"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="build_order_lines", description=__doc__.splitlines()[0])
    parser.add_argument("--lake", required=True, help="lake root URI (file:///... or s3://bucket/prefix)")
    parser.add_argument("--purchases-import", help="merge raw/purchases/import=<id> (replaces that import's rows)")
    windows = parser.add_mutually_exclusive_group()
    windows.add_argument("--windows", help="comma-separated OLTP window labels to merge")
    windows.add_argument("--all-windows", action="store_true", help="merge every complete OLTP window")
    parser.add_argument("--master", help="Spark master when not run by spark-submit, e.g. local[2]")
    args = parser.parse_args(argv)
    if not (args.purchases_import or args.windows or args.all_windows):
        parser.error("give --purchases-import, --windows or --all-windows")
    return args


def complete_windows(spark: SparkSession, table_uri: str) -> list[str]:
    """Window labels of the complete folders (manifest present) of a raw table."""
    return [
        folder.removeprefix("window=")
        for folder in lake_io.list_dirs(spark, table_uri)
        if folder.startswith("window=") and lake_io.exists(spark, f"{table_uri}/{folder}/{lake_io.MANIFEST}")
    ]


def read_windows(spark: SparkSession, table_uri: str, labels: list[str], schema) -> DataFrame:
    paths = [f"{table_uri}/window={label}" for label in labels]
    if not paths:
        return spark.createDataFrame([], T.StructType([*schema.fields, T.StructField("window", T.StringType())]))
    return spark.read.schema(schema).option("basePath", table_uri).parquet(*paths)


def read_curated(spark: SparkSession, uri: str) -> DataFrame:
    return spark.read.schema(order_lines.CURATED_SCHEMA).parquet(uri)


def oltp_rows(spark: SparkSession, lake: str, requested: list[str] | None) -> tuple[DataFrame, list[str]]:
    """Curated rows of every order seen in the requested windows, from its latest version overall."""
    orders_uri, items_uri = f"{lake}/raw/orders", f"{lake}/raw/order_items"
    available = complete_windows(spark, orders_uri)
    labels = available if requested is None else requested
    missing = sorted(set(labels) - set(available))
    if missing:
        raise ValueError(f"windows without a manifest (incomplete or never extracted): {missing}; run the extract")
    all_orders = read_windows(spark, orders_uri, available, ORDERS)
    touched_ids = read_windows(spark, orders_uri, labels, ORDERS).select("id").distinct()
    latest = order_lines.latest_orders(all_orders.join(touched_ids, on="id", how="left_semi"))
    items = read_windows(spark, items_uri, complete_windows(spark, items_uri), ORDER_ITEMS)
    return order_lines.from_oltp(latest, items), labels


def main(argv: list[str] | None = None) -> int:
    return entry.run_main("build_order_lines", parse_args, run, argv)


def run(spark: SparkSession, args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    lake = args.lake.rstrip("/")
    curated_uri = f"{lake}/curated/order_lines"
    summary: dict = {"event": "build_order_lines", "lake": lake}

    new_parts = []
    if args.purchases_import:
        source = f"{lake}/raw/purchases/import={args.purchases_import}"
        if not lake_io.exists(spark, f"{source}/{lake_io.MANIFEST}"):
            raise ValueError(f"{source} has no manifest: run import_purchases first")
        purchases = spark.read.schema(PURCHASES).parquet(source)
        new_parts.append(order_lines.from_purchases(purchases, args.purchases_import))
        summary["purchases_import"] = args.purchases_import
    if args.windows or args.all_windows:
        requested = None if args.all_windows else [w.strip() for w in args.windows.split(",") if w.strip()]
        rows, labels = oltp_rows(spark, lake, requested)
        new_parts.append(rows)
        summary["windows"] = labels

    new_rows = new_parts[0]
    for part in new_parts[1:]:
        new_rows = new_rows.unionByName(part)
    touched_partitions = None  # a first build touches exactly what it writes
    if lake_io.exists(spark, curated_uri):
        new_rows = new_rows.localCheckpoint(eager=True)  # computed once, read three times by the merge
        existing = read_curated(spark, curated_uri)
        merged, touched = order_lines.merge_into(existing, new_rows, args.purchases_import)
        # Materialise before writing: the merge reads the very partitions the write replaces.
        merged = merged.localCheckpoint(eager=True)
        touched_partitions = {(r.year, r.month) for r in touched.collect()}
    else:  # a first build: nothing to merge with
        merged = new_rows
    # One file per month (not one per task per month), rows of a product together (compresses well).
    rows_out, written_partitions = lake_io.write_partitioned(
        merged, curated_uri, order_lines.PARTITION_COLUMNS, ("category", "asin"), CURATED_PARQUET_OPTIONS
    )
    written = set(written_partitions)
    touched_partitions = written if touched_partitions is None else touched_partitions
    emptied = sorted(touched_partitions - written)  # every row of these moved away: delete them
    for values in emptied:
        lake_io.delete(spark, f"{curated_uri}/{lake_io.partition_spec(order_lines.PARTITION_COLUMNS, values)}")
    summary |= {
        "status": "success",
        "rows_out": rows_out,
        # what registration needs: partitions written now, and the ones every row moved out of
        "partitions": [lake_io.partition_spec(order_lines.PARTITION_COLUMNS, v) for v in sorted(written)],
        "partitions_removed": [lake_io.partition_spec(order_lines.PARTITION_COLUMNS, v) for v in emptied],
        "duration_seconds": round(time.perf_counter() - started, 2),
    }
    log.info(json.dumps(summary))
    return summary


if __name__ == "__main__":
    sys.exit(main())
