"""Columns of the raw lake tables the extract writes, defined once: the COPY queries produce them in this
order, the Parquet files carry this schema, and later steps (Spark, GX, Athena DDL) read them."""

from __future__ import annotations

import pyarrow as pa

MONEY = pa.decimal128(12, 2)
UTC_MICROS = pa.timestamp("us", tz="UTC")

# Timestamps travel through COPY as epoch microseconds (exact, no text parsing) and are cast on read.
ORDERS = pa.schema(
    [
        ("id", pa.int64()),
        ("customer_id", pa.int64()),
        ("status", pa.string()),
        ("currency", pa.string()),
        ("item_count", pa.int32()),
        ("subtotal", MONEY),
        ("shipping_fee", MONEY),
        ("total", MONEY),
        ("shipping_name", pa.string()),
        ("shipping_address", pa.string()),
        ("shipping_city", pa.string()),
        ("shipping_state", pa.string()),
        ("shipping_zip", pa.string()),
        ("created_at", UTC_MICROS),
        ("updated_at", UTC_MICROS),
        ("deleted_at", UTC_MICROS),
    ]
)

ORDER_ITEMS = pa.schema(
    [
        ("order_id", pa.int64()),
        ("order_updated_at", UTC_MICROS),  # the order version these lines belong to
        ("line_no", pa.int16()),
        ("product_id", pa.int64()),
        ("asin", pa.string()),
        ("title", pa.string()),
        ("category_code", pa.string()),
        ("unit_price", MONEY),
        ("quantity", pa.int32()),
        ("line_total", MONEY),
    ]
)

RAW_TABLES = {"orders": ORDERS, "order_items": ORDER_ITEMS}


def csv_column_types(schema: pa.Schema) -> dict[str, pa.DataType]:
    """Types to parse COPY's CSV with: timestamps arrive as int64 microseconds."""
    return {f.name: (pa.int64() if pa.types.is_timestamp(f.type) else f.type) for f in schema}


def cast_timestamps(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Turns the epoch-microsecond columns into UTC timestamps, giving the table its final schema."""
    return table.cast(schema)
