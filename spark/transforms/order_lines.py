"""Curated order_lines: one row per purchased line from both sources, with unified columns.

Historical purchases: each file line is one order of one line (the seed counted them as transactions).
OLTP: the latest version of each order (latest updated_at wins, then the later window; transforms.order_state
keeps it), joined with the lines of exactly that version; soft-deleted orders drop out; cancelled orders keep
their lines with revenue 0. Partitioned by year/month of the order date and, within a month, by bucket: an OLTP
order's id div ORDERS_PER_BUCKET (ids grow with time, so a window's orders land in a bucket or two of their
month, and a run rewrites those, not the month), -1 for historical purchases (rewritten only by an import).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from contracts import lake_tables
from transforms.calendar import with_period_flags
from transforms.contract_schemas import CURATED_ORDER_LINES

# Declared in contracts/lake_tables.py (the Athena DDL is rendered from it): columns, then partition columns.
CURATED_SCHEMA = CURATED_ORDER_LINES
CURATED_COLUMNS = tuple(CURATED_SCHEMA.fieldNames())
PARTITION_COLUMNS = tuple(name for name, _ in lake_tables.CURATED_ORDER_LINES_PARTITIONS)
# OLTP order ids per bucket, in the orders' state and in a curated month: what a late update of one order costs
# to rewrite (a bucket of ~3 lines an order is one Parquet file of a few MB at most).
ORDERS_PER_BUCKET = 10_000
PURCHASES_BUCKET = -1


def bucket_of_order_id(order_id: Column) -> Column:
    """The curated bucket of an order id ("o-<id>": OLTP, "p-<hash>": a historical purchase)."""
    oltp_id = F.substring(order_id, 3, 20).cast("long")
    bucket = F.floor(oltp_id / F.lit(ORDERS_PER_BUCKET))
    return F.when(order_id.startswith("o-"), bucket).otherwise(F.lit(PURCHASES_BUCKET)).cast("int")


def _finish(frame: DataFrame) -> DataFrame:
    """Adds the calendar flags and partition columns, in the curated column order and types."""
    flagged = with_period_flags(frame).withColumns(
        {"year": F.year("order_date"), "month": F.month("order_date"), "bucket": bucket_of_order_id(F.col("order_id"))}
    )
    return flagged.select(*[F.col(f.name).cast(f.dataType).alias(f.name) for f in CURATED_SCHEMA.fields])


def from_purchases(purchases: DataFrame, import_id: str) -> DataFrame:
    """Curated rows of raw historical purchases. The order id is a hash of the line's fields and its occurrence
    among identical lines (numbered by the import), so the same file always gives the same ids."""
    fields = ["order_date", "unit_price", "quantity", "state", "title", "asin", "category", "survey_response_id"]
    keyed = purchases.withColumn(
        "order_id",
        F.concat(
            F.lit("p-"),
            F.substring(F.sha2(F.concat_ws("|", *[F.col(c).cast("string") for c in fields], "occurrence"), 256), 1, 24),
        ),
    )
    return _finish(
        keyed.select(
            F.col("order_date").cast("timestamp").alias("order_ts"),
            "order_date",
            "order_id",
            F.lit(1).alias("line_no"),
            F.col("survey_response_id").alias("customer_id"),
            "asin",
            "title",
            "category",
            "state",
            "quantity",
            "unit_price",
            (F.col("unit_price") * F.col("quantity")).alias("revenue"),
            F.lit("delivered").alias("status"),
            F.lit("purchases").alias("source"),
            F.lit(import_id).alias("source_ref"),
        )
    )


def latest_orders(raw_orders: DataFrame) -> DataFrame:
    """One row per order id: the version with the greatest updated_at (then the later window label)."""
    newest_first = Window.partitionBy("id").orderBy(F.col("updated_at").desc(), F.col("window").desc())
    return (
        raw_orders.withColumn("version_rank", F.row_number().over(newest_first))
        .where("version_rank = 1")
        .drop("version_rank")
    )


def from_oltp(latest: DataFrame, raw_items: DataFrame) -> DataFrame:
    """Curated rows of the latest order versions and the lines of those versions."""
    live = latest.where(F.col("deleted_at").isNull())
    # A version's lines are identical in every window that carried it; the window column is the order's.
    lines = raw_items.drop("window").dropDuplicates(["order_id", "order_updated_at", "line_no"])
    joined = live.join(
        lines,
        on=(live["id"] == lines["order_id"]) & (live["updated_at"] == lines["order_updated_at"]),
        how="inner",
    )
    return _finish(
        joined.select(
            F.col("created_at").alias("order_ts"),
            F.to_date("created_at").alias("order_date"),
            F.concat(F.lit("o-"), F.col("id").cast("string")).alias("order_id"),
            F.col("line_no").cast("int").alias("line_no"),
            F.concat(F.lit("c-"), F.col("customer_id").cast("string")).alias("customer_id"),
            "asin",
            "title",
            F.col("category_code").alias("category"),
            F.col("shipping_state").alias("state"),
            "quantity",
            "unit_price",
            F.when(F.col("status") == "cancelled", F.lit(0)).otherwise(F.col("line_total")).alias("revenue"),
            "status",
            F.lit("oltp").alias("source"),
            F.col("window").alias("source_ref"),
        )
    )


def merge_into(
    existing: DataFrame, new_rows: DataFrame, replaced_import: str | None = None, replace_oltp: bool = False
) -> tuple[DataFrame, DataFrame]:
    """(rows, touched): the full new contents of every partition the merge touches, and those partitions.

    An existing row is replaced when a new row has its order id, or (replaced_import) when it came from that
    purchases import, or (replace_oltp: a rebuild from every window) when it is an OLTP row. Touched partitions
    = where new rows land and where replaced rows lived, so an order that moved month leaves its old partition.
    A touched partition with no rows left must be removed by the writer: only partitions with rows are written.
    """
    new_ids = new_rows.select(F.col("order_id").alias("new_order_id")).distinct()
    replaced = F.col("new_order_id").isNotNull()
    if replaced_import is not None:
        replaced = replaced | ((F.col("source") == "purchases") & (F.col("source_ref") == replaced_import))
    if replace_oltp:
        replaced = replaced | (F.col("source") == "oltp")
    flagged = existing.join(new_ids, on=existing["order_id"] == new_ids["new_order_id"], how="left").withColumn(
        "is_replaced", replaced
    )
    touched = (
        flagged.where("is_replaced").select(*PARTITION_COLUMNS).union(new_rows.select(*PARTITION_COLUMNS)).distinct()
    )
    kept = flagged.join(touched, on=list(PARTITION_COLUMNS), how="left_semi").where(~F.col("is_replaced"))
    rows = kept.select(*CURATED_COLUMNS).unionByName(new_rows.select(*CURATED_COLUMNS))
    return rows, touched
