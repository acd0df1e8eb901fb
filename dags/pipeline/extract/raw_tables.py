"""The raw lake tables' pyarrow schemas, made from their contract (contracts/raw_tables.py, which the Spark jobs
read too): the COPY queries produce the columns in this order, the Parquet files carry these schemas, and the raw
GX suites read them."""

from __future__ import annotations

import pyarrow as pa

from contracts import raw_tables as contract

# Hive's type names (the contract's) -> what the extract writes; timestamps are UTC, microseconds.
ARROW_TYPES = {
    "bigint": pa.int64(),
    "int": pa.int32(),
    "smallint": pa.int16(),
    "string": pa.string(),
    contract.MONEY: pa.decimal128(12, 2),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
}


def arrow_schema(columns: tuple[tuple[str, str], ...]) -> pa.Schema:
    return pa.schema([(name, ARROW_TYPES[kind]) for name, kind in columns])


ORDERS = arrow_schema(contract.ORDERS)
ORDER_ITEMS = arrow_schema(contract.ORDER_ITEMS)
RAW_TABLES = {"orders": ORDERS, "order_items": ORDER_ITEMS}


def csv_column_types(schema: pa.Schema) -> dict[str, pa.DataType]:
    """Types to parse COPY's CSV with: timestamps arrive as int64 microseconds."""
    return {f.name: (pa.int64() if pa.types.is_timestamp(f.type) else f.type) for f in schema}


def cast_timestamps(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Turns the epoch-microsecond columns into UTC timestamps, giving the table its final schema."""
    return table.cast(schema)
