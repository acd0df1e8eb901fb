"""Faults the pipeline drill and the real-scheduler tests inject into the lake."""

from __future__ import annotations

import datetime as dt
import posixpath
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.extract import raw_tables
from pipeline.lake import Lake


def corrupt_window(lake: Lake, label: str) -> None:
    """Rewrites a raw window as a broken writer would: its first order twice (a duplicate id) and its first
    order line at a negative price; an empty window gets a made-up order instead (twice, its line negative).
    The manifest is left as it was."""
    for table, change in (("orders", _first_row_twice), ("order_items", _first_price_negative)):
        folder = lake.path("raw", table, f"window={label}")
        parts = [f.path for f in lake.list_files(folder) if f.path.endswith(".parquet")]
        if parts:
            (part,) = parts
            with lake.fs.open_input_file(part) as source:
                rows = pq.read_table(source)
        else:  # an empty window: a manifest and no file
            part = posixpath.join(folder, "part-00000.parquet")
            rows = pa.Table.from_pylist([MADE_UP[table]], schema=raw_tables.RAW_TABLES[table])
        with lake.fs.open_output_stream(part) as sink:
            pq.write_table(change(rows), sink)


_AT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
_MONEY = Decimal("9.99")
MADE_UP = {  # an order and its line the source never had
    "orders": {
        "id": 900_000_001, "customer_id": 1, "status": "paid", "currency": "USD", "item_count": 1,
        "subtotal": _MONEY, "shipping_fee": Decimal("0.00"), "total": _MONEY, "shipping_name": "A",
        "shipping_address": "1 Main St", "shipping_city": "Springfield", "shipping_state": "IL",
        "shipping_zip": "62701", "created_at": _AT, "updated_at": _AT, "deleted_at": None,
    },
    "order_items": {
        "order_id": 900_000_001, "order_updated_at": _AT, "line_no": 1, "product_id": 1, "asin": "B000000001",
        "title": "T", "category_code": "TOYS", "unit_price": _MONEY, "quantity": 1, "line_total": _MONEY,
    },
}  # fmt: skip


def _first_row_twice(rows: pa.Table) -> pa.Table:
    return pa.concat_tables([rows, rows.slice(0, 1)])


def _first_price_negative(rows: pa.Table) -> pa.Table:
    index = rows.schema.get_field_index("unit_price")
    prices = rows.column(index).to_pylist()
    prices[0] = -abs(prices[0])
    return rows.set_column(index, rows.schema.field(index), pa.array(prices, rows.schema.field(index).type))
