"""The orders' latest state: one row per OLTP order id, its newest version seen in any merged window, with the
lines of exactly that version nested in it. Deleted orders stay as tombstones (deleted_at set) so that an older
window merged again cannot bring them back.

The state is what lets an hourly run cost what its window costs: the previous version of an order the window
touched is found in one bucket of the state (orders are bucketed by id: `bucket = id div ORDERS_PER_BUCKET`),
not by reading every raw window of history. Ids grow with time, so a run touches the newest bucket or two, plus
one per older order that a late update reached; a bucket holds at most ORDERS_PER_BUCKET orders whatever the
lake's age. An order keeps its bucket when an update moves its date, so it is always found in one place.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from transforms import order_lines
from transforms.raw_schemas import ORDER_ITEMS, ORDERS

# Orders per state bucket: a bucket is one Parquet file (orders with their lines, ~300 bytes an order), so a
# touched bucket costs a read and a write of at most this many orders.
ORDERS_PER_BUCKET = 100_000
PARTITION_COLUMNS = ("bucket",)
LINE_FIELDS = tuple(f for f in ORDER_ITEMS.fields if f.name not in ("order_id", "order_updated_at"))
STATE_SCHEMA = T.StructType(
    [
        *ORDERS.fields,
        T.StructField("window", T.StringType()),  # the raw window the version came from
        T.StructField("lines", T.ArrayType(T.StructType(list(LINE_FIELDS)))),
        T.StructField("bucket", T.LongType()),
    ]
)
STATE_COLUMNS = tuple(STATE_SCHEMA.fieldNames())


def bucket_of(order_id: Column) -> Column:
    """The state bucket of an OLTP order id."""
    return F.floor(order_id / F.lit(ORDERS_PER_BUCKET)).cast("long")


def versions(raw_orders: DataFrame, raw_items: DataFrame) -> DataFrame:
    """State rows of raw window rows: each order's newest version among them (greatest updated_at, then the later
    window) with that version's lines (an order version travels with its lines in the same window)."""
    latest = order_lines.latest_orders(raw_orders)
    line = F.struct(*[F.col(f.name) for f in LINE_FIELDS])
    lines = (
        raw_items.dropDuplicates(["order_id", "order_updated_at", "line_no"])
        .groupBy("order_id", "order_updated_at")
        .agg(F.array_sort(F.collect_list(line)).alias("lines"))
    )
    joined = latest.join(
        lines,
        on=(latest["id"] == lines["order_id"]) & (latest["updated_at"] == lines["order_updated_at"]),
        how="left",
    )
    no_lines = F.array().cast(STATE_SCHEMA["lines"].dataType)
    return joined.select(
        *[F.col(name) for name in ORDERS.fieldNames()],
        "window",
        F.coalesce(F.col("lines"), no_lines).alias("lines"),
        bucket_of(F.col("id")).alias("bucket"),
    )


def merge(state: DataFrame, incoming: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(merged, changed): latest-wins merge of incoming versions into the state rows of the same buckets.

    `merged` is the new content of every bucket the incoming rows touch; `changed` has one row per order whose
    winning version is an incoming one that the state did not hold (a re-run of a window changes nothing), with
    the version it replaced as `previous_created_at` / `previous_live` (null / false when there was none), so
    the caller knows which curated partitions the change leaves and enters.
    """
    touched = incoming.select("bucket").distinct()
    old = state.join(touched, on="bucket", how="left_semi").withColumn("incoming", F.lit(False))
    candidates = old.unionByName(incoming.withColumn("incoming", F.lit(True)))
    # On an exact tie (the same version merged again) the state's row wins: nothing changed.
    newest_first = Window.partitionBy("id").orderBy(
        F.col("updated_at").desc(), F.col("window").desc(), F.col("incoming").asc()
    )
    ranked = candidates.withColumn("rank", F.row_number().over(newest_first))
    merged = ranked.where("rank = 1").select(*STATE_COLUMNS)
    previous = old.select(
        F.col("id").alias("previous_id"),
        F.col("created_at").alias("previous_created_at"),
        is_live(old).alias("previous_live"),
    )
    winners = ranked.where("rank = 1 AND incoming").select(*STATE_COLUMNS)
    changed = winners.join(previous, on=winners["id"] == previous["previous_id"], how="left").select(
        *STATE_COLUMNS, "previous_created_at", F.coalesce("previous_live", F.lit(False)).alias("previous_live")
    )
    return merged, changed


def is_live(state: DataFrame) -> Column:
    """Whether a state row has curated lines: not deleted, and at least one line."""
    return state["deleted_at"].isNull() & (F.size(state["lines"]) > 0)


def curated_rows(state: DataFrame) -> DataFrame:
    """Curated order_lines of state rows (tombstones and orders without lines give none)."""
    items = state.select(
        F.col("id").alias("order_id"),
        F.col("updated_at").alias("order_updated_at"),
        F.explode("lines").alias("line"),
    ).select("order_id", "order_updated_at", *[F.col(f"line.{f.name}").alias(f.name) for f in LINE_FIELDS])
    return order_lines.from_oltp(state.select(*ORDERS.fieldNames(), "window"), items)


def curated_partition(created_at: Column) -> tuple[Column, Column]:
    """The curated (year, month) partition an order created at `created_at` lives in."""
    day = F.to_date(created_at)
    return F.year(day).alias("year"), F.month(day).alias("month")


def touched_curated_partitions(changed: DataFrame) -> DataFrame:
    """(year, month) of every curated partition the changed orders leave or enter."""
    left = changed.where("previous_live").select(*curated_partition(F.col("previous_created_at")))
    entered = changed.where(is_live(changed)).select(*curated_partition(F.col("created_at")))
    return left.union(entered).distinct()
