"""Curated order_lines: merges OLTP raw windows (through the orders' latest state) and/or a historical purchases
import into curated/order_lines/year=YYYY/month=MM/, rewriting only the partitions the merge touches.

    spark-submit spark/jobs/build_order_lines.py --lake file:///abs/data/lake --windows 20261124T1800,20261124T1900
    spark-submit spark/jobs/build_order_lines.py --lake file:///abs/data/lake --all-windows [--purchases-import demo]
    spark-submit spark/jobs/build_order_lines.py --lake file:///abs/data/lake --purchases-import demo

--windows (the hourly path) reads only the given windows and, for the orders they hold, the state buckets
those orders live in (state/orders/bucket=N/, transforms.order_state) and the curated partitions (year, month,
bucket) they leave or enter: its cost follows the window, never the number of windows in the lake nor the size
of its month. Every write is a new version switched by a pointer (lake_io.VersionedTable), never in place.
Each order's newest version wins (greatest updated_at, then the later window), so merging windows in any order,
or again, gives the same curated rows. --all-windows (a rebuild) re-derives the whole state and every OLTP line
from all complete windows, the compacted months (raw/compacted/, pipeline.compaction) included.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from contracts.lake_paths import COMPACTION_INDEX, CURATED_ORDER_LINES, RAW_COMPACTED
from jobs import entry, lake_io
from transforms import order_lines, order_state
from transforms.contract_schemas import ORDER_ITEMS, ORDERS, PURCHASES
from transforms.session import empty_frame

log = logging.getLogger("jobs.build_order_lines")
# Order ids are unique and titles nearly so within a month: a dictionary for them fills up and is thrown away.
# Without those two dictionaries the full-scale write is faster at the same size (docs/benchmarks.md).
CURATED_PARQUET_OPTIONS = {"parquet.enable.dictionary#order_id": "false", "parquet.enable.dictionary#title": "false"}
RAW_TABLES = {"orders": ORDERS, "order_items": ORDER_ITEMS}
STATE = "state/orders"
WINDOW_LABEL = re.compile(r"\d{8}T\d{4}(\d{8})?")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="build_order_lines", description=__doc__.splitlines()[0])
    parser.add_argument("--lake", required=True, help="lake root URI (file:///... or s3://bucket/prefix)")
    parser.add_argument("--purchases-import", help="merge raw/purchases/import=<id> (replaces that import's rows)")
    windows = parser.add_mutually_exclusive_group()
    windows.add_argument("--windows", type=window_labels, help="comma-separated OLTP window labels to merge")
    windows.add_argument("--all-windows", action="store_true", help="rebuild from every complete OLTP window")
    parser.add_argument("--master", help="Spark master when not run by spark-submit, e.g. local[2]")
    args = parser.parse_args(argv)
    if not (args.purchases_import or args.windows or args.all_windows):
        parser.error("give --purchases-import, --windows or --all-windows")
    if args.purchases_import and args.windows:
        parser.error("--windows merges OLTP windows alone; import purchases with --purchases-import [--all-windows]")
    return args


def window_labels(text: str) -> list[str]:
    """--windows: comma-separated labels, e.g. 20261124T1800,20261124T1900."""
    labels = [label.strip() for label in text.split(",") if label.strip()]
    # a label names a folder: only the extract's own form (window end, UTC; seconds and micros when off the minute)
    wrong = [label for label in labels if not WINDOW_LABEL.fullmatch(label)]
    if not labels or wrong:
        raise argparse.ArgumentTypeError(f"expected window labels like 20261124T1800, got {wrong or text!r}")
    return labels


def main(argv: list[str] | None = None) -> int:
    return entry.run_main("build_order_lines", parse_args, run, argv)


def run(spark: SparkSession, args: argparse.Namespace) -> dict:
    return build(spark, args.lake, args.purchases_import, args.windows, args.all_windows)


def build(
    spark: SparkSession,
    lake: str,
    purchases_import: str | None = None,
    windows: list[str] | None = None,
    all_windows: bool = False,
    tables: lake_io.JobTables | None = None,
) -> dict:
    """Merges what is given into curated order_lines; returns the summary (partitions written and emptied).
    The writes are new versions (lake_io.VersionedTable): with `tables` given the caller switches them when its
    job ends (refresh.py, after the marts); else they become current here."""
    started = time.perf_counter()
    lake = lake.rstrip("/")
    own = tables is None
    tables = tables or lake_io.JobTables(spark, lake, lake_io.new_stamp(None))
    summary: dict = {"event": "build_order_lines", "lake": lake, "stamp": tables.stamp}
    if windows:
        summary |= merge_windows(spark, lake, windows, tables)
    else:
        summary |= rebuild(spark, lake, purchases_import, all_windows, tables)
    if own:
        tables.switch()
    summary |= {"status": "success", "duration_seconds": round(time.perf_counter() - started, 2)}
    log.info(json.dumps(summary))
    return summary


def curated_table(tables: lake_io.JobTables) -> lake_io.VersionedTable:
    return tables.table(CURATED_ORDER_LINES, order_lines.PARTITION_COLUMNS, order_lines.CURATED_SCHEMA)


def state_table(tables: lake_io.JobTables) -> lake_io.VersionedTable:
    return tables.table(STATE, order_state.PARTITION_COLUMNS, order_state.STATE_SCHEMA)


# --- the hourly path: the window, the state buckets and curated partitions it touches -------------------------


def merge_windows(spark: SparkSession, lake: str, labels: list[str], tables: lake_io.JobTables) -> dict:
    """Merges the given complete windows into the state and curated, reading nothing else of the raw lake."""
    raw = {table: read_windows(spark, f"{lake}/raw/{table}", labels, schema) for table, schema in RAW_TABLES.items()}
    incoming = order_state.versions(raw["orders"], raw["order_items"]).localCheckpoint(eager=True)
    per_bucket = incoming.groupBy("bucket").count().collect()  # one small job: the buckets and the orders in
    buckets, orders_in = sorted(row.bucket for row in per_bucket), sum(row["count"] for row in per_bucket)
    state_versions = state_table(tables)
    state = state_versions.read([(b,) for b in buckets])
    # Materialised: read more than once (its source files are never rewritten: versions are immutable).
    winners = order_state.merge(state, incoming).localCheckpoint(eager=True)
    merged, changed = winners.select(*order_state.STATE_COLUMNS), winners.where("changed")
    orders_changed, parts, days = order_state.change_facts(changed)
    curated = curated_table(tables)
    existing = curated.read(parts)
    changed_ids = changed.select(F.concat(F.lit("o-"), F.col("id").cast("string")).alias("order_id"))
    kept = existing.join(changed_ids, on="order_id", how="left_anti").select(*order_lines.CURATED_COLUMNS)
    rows = kept.unionByName(order_state.curated_rows(changed.select(*order_state.STATE_COLUMNS)))
    written = {"rows_out": 0, "partitions": [], "partitions_removed": []}
    if orders_changed:  # a window merged again changes nothing: nothing is rewritten
        written = write_curated(curated, rows.localCheckpoint(eager=True), set(parts))
        state_versions.write(merged)
    return {
        "windows": labels,
        "orders_in": orders_in,
        "orders_changed": orders_changed,
        "days": days,
        "state_buckets": [lake_io.partition_spec(order_state.PARTITION_COLUMNS, (b,)) for b in buckets],
        "state": state_versions.summary(),
        **written,
    }


def read_windows(spark: SparkSession, table_uri: str, labels: list[str], schema: T.StructType) -> DataFrame:
    """The given windows of a raw table with their `window` label; each must be complete (manifest present)."""
    files = {label: lake_io.list_files(spark, f"{table_uri}/window={label}") for label in labels}  # one listing each
    missing = [label for label in labels if lake_io.MANIFEST not in files[label]]
    if missing:
        raise ValueError(
            f"{table_uri}: windows without a manifest (incomplete or never extracted): {missing}; run their extract"
        )
    with_window = T.StructType([*schema.fields, T.StructField("window", T.StringType())])
    # An empty window has a manifest and no data files: it adds no rows.
    frames = [
        spark.read.schema(schema).parquet(f"{table_uri}/window={label}").withColumn("window", F.lit(label))
        for label in labels
        if any(name.endswith(".parquet") for name in files[label])
    ]
    return _union(frames, empty_frame(spark, with_window))


def write_curated(curated: lake_io.VersionedTable, rows: DataFrame, touched: set[tuple]) -> dict:
    """Writes the rows as new versions of their partitions (one file each, a product's rows together) and removes
    the touched partitions left empty; returns what registration needs: partitions written and emptied, and
    where the new versions are."""
    rows_out, written_values = curated.write(rows, ("category", "asin"), CURATED_PARQUET_OPTIONS)
    emptied = sorted(touched - set(written_values))
    curated.remove(emptied)
    summary = curated.summary()
    return {"rows_out": rows_out, **summary}


# --- a rebuild: a purchases import and/or every window ------------------------------------------------------


def rebuild(
    spark: SparkSession, lake: str, purchases_import: str | None, all_windows: bool, tables: lake_io.JobTables
) -> dict:
    """Replaces a purchases import's rows and/or every OLTP row (and the whole state) in curated."""
    summary: dict = {}
    new_parts = []
    if purchases_import:
        source = f"{lake}/raw/purchases/import={purchases_import}"
        if not lake_io.exists(spark, f"{source}/{lake_io.MANIFEST}"):
            raise ValueError(f"{source} has no manifest: run import_purchases first")
        purchases = spark.read.schema(PURCHASES).parquet(source)
        new_parts.append(order_lines.from_purchases(purchases, purchases_import))
        summary["purchases_import"] = purchases_import
    if all_windows:
        state, labels, months = all_versions(spark, lake)
        state = state.localCheckpoint(eager=True)
        state_versions = state_table(tables)
        gone = state_versions.partitions()  # the whole state is replaced: no bucket of an earlier build survives
        state_versions.write(state)
        state_versions.remove(gone)
        new_parts.append(order_state.curated_rows(state))
        summary |= {"windows": labels, "compacted_months": months, "orders_in": state.count()}
        summary["state"] = state_versions.summary()
    new_rows = _union(new_parts[1:], new_parts[0])
    curated = curated_table(tables)
    present = curated.partitions()  # a rebuild may list the whole table
    touched: set[tuple] = set()
    if present:
        new_rows = new_rows.localCheckpoint(eager=True)  # computed once, read three times by the merge
        existing = curated.read(present)
        merged, touched_frame = order_lines.merge_into(existing, new_rows, purchases_import, all_windows)
        merged = merged.localCheckpoint(eager=True)
        touched = {tuple(row) for row in touched_frame.collect()}
    else:
        merged = new_rows
    written = write_curated(curated, merged, touched)
    return summary | written


def all_versions(spark: SparkSession, lake: str) -> tuple[DataFrame, list[str], list[str]]:
    """The state of every order from all raw versions: the compacted months and every complete window folder.
    A window both compacted and present as a folder (extracted again since) is read twice: harmless, the
    newest version wins and a version's rows are the same wherever it is read."""
    frames, labels, months = {}, set(), set()
    for table, schema in RAW_TABLES.items():
        table_uri = f"{lake}/raw/{table}"
        complete = [
            folder.removeprefix("window=")
            for folder in lake_io.list_dirs(spark, table_uri)
            if folder.startswith("window=") and lake_io.exists(spark, f"{table_uri}/{folder}/{lake_io.MANIFEST}")
        ]
        parts = [read_windows(spark, table_uri, complete, schema)] if complete else []
        with_window = T.StructType([*schema.fields, T.StructField("window", T.StringType())])
        for month, files in compacted_files(spark, lake, table).items():
            parts.append(spark.read.schema(with_window).parquet(*files))
            months.add(month)
        frames[table] = _union(parts, empty_frame(spark, with_window))
        labels |= set(complete) if table == "orders" else set()
    state = order_state.versions(frames["orders"], frames["order_items"])
    return state, sorted(labels), sorted(months)


def compacted_files(spark: SparkSession, lake: str, table: str) -> dict[str, list[str]]:
    """month -> the files its compaction index names (a file not in an index is an unfinished compaction's)."""
    root = f"{lake}/{RAW_COMPACTED}/{table}"
    files = {}
    for folder in lake_io.list_dirs(spark, root):
        index = lake_io.read_json(spark, f"{root}/{folder}/{COMPACTION_INDEX}")
        if index and index.get("file"):
            files[folder.removeprefix("month=")] = [f"{root}/{folder}/{index['file']}"]
    return files


def _union(frames: list[DataFrame], first: DataFrame) -> DataFrame:
    for frame in frames:
        first = first.unionByName(frame)
    return first


if __name__ == "__main__":
    sys.exit(main())
