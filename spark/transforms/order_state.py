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
from transforms.contract_schemas import ORDER_ITEMS, ORDERS

# Orders per state bucket, the same as curated's: a bucket is one Parquet file (orders with their lines, ~300
# bytes an order), so a touched bucket costs a read and a write of at most this many orders.
ORDERS_PER_BUCKET = order_lines.ORDERS_PER_BUCKET
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


def merge(state: DataFrame, incoming: DataFrame) -> DataFrame:
    """The latest-wins merge of incoming versions into the state rows of the buckets they touch: one row per
    order of those buckets, its winning version (STATE_COLUMNS, the new content of the buckets) and
    `changed`: whether the winner is an incoming version whose content the state did not hold (a window merged
    again changes nothing), with the state's version it replaces as `previous_created_at` / `previous_live` (null
    / false when there was none), so the caller knows which curated partitions a change leaves and enters.

    On an exact tie (the same version, from the same window) the incoming row wins: a window extracted again is the
    newer account of that window, so re-extracting a window whose files were damaged repairs the state. When its
    content is the same, nothing changed and nothing is rewritten."""
    touched = incoming.select("bucket").distinct()
    old = state.join(touched, on="bucket", how="left_semi").withColumn("incoming", F.lit(False))
    candidates = old.unionByName(incoming.withColumn("incoming", F.lit(True)))
    by_order = Window.partitionBy("id")
    newest_first = by_order.orderBy(F.col("updated_at").desc(), F.col("window").desc(), F.col("incoming").desc())
    from_state = ~F.col("incoming")
    content = F.xxhash64(*[F.col(name) for name in STATE_COLUMNS if name != "bucket"])
    ranked = candidates.select(
        *STATE_COLUMNS,
        "incoming",
        content.alias("content"),
        F.row_number().over(newest_first).alias("rank"),
        # an order has at most one state row: its values, seen from every row of the order
        F.max(F.when(from_state, content)).over(by_order).alias("previous_content"),
        F.max(F.when(from_state, F.col("created_at"))).over(by_order).alias("previous_created_at"),
        F.coalesce(F.max(F.when(from_state, is_live(candidates))).over(by_order), F.lit(False)).alias("previous_live"),
    )
    changed = F.col("incoming") & ~F.col("content").eqNullSafe(F.col("previous_content"))
    return ranked.where("rank = 1").select(
        *STATE_COLUMNS, changed.alias("changed"), "previous_created_at", "previous_live"
    )


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


def change_facts(changed: DataFrame) -> tuple[int, list[tuple[int, int, int]], list[str]]:
    """How many orders changed, the curated partition (year, month, bucket) of every order day they leave or enter,
    and those days (ISO dates: what the reconciliation compares), in one job. An order keeps its bucket."""
    left = F.when(F.col("previous_live"), F.struct(F.to_date("previous_created_at").alias("day"), "bucket"))
    entered = F.when(is_live(changed), F.struct(F.to_date("created_at").alias("day"), "bucket"))
    facts = changed.agg(
        F.count(F.lit(1)).alias("orders"),
        F.collect_set(left).alias("left"),
        F.collect_set(entered).alias("entered"),
    ).first()
    touched = {(row.day, row.bucket) for row in [*facts.left, *facts.entered]}
    parts = sorted({(day.year, day.month, int(bucket)) for day, bucket in touched})
    return facts.orders, parts, sorted({day.isoformat() for day, _ in touched})
