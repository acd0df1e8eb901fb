"""Faults the pipeline drill and the real-scheduler tests inject into the lake."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.lake import Lake


def corrupt_window(lake: Lake, label: str) -> None:
    """Rewrites a raw window as a broken writer would: its first order twice (a duplicate id) and its first
    order line at a negative price. The manifest is left as it was."""
    for table, change in (("orders", _first_row_twice), ("order_items", _first_price_negative)):
        folder = lake.path("raw", table, f"window={label}")
        (part,) = [f.path for f in lake.list_files(folder) if f.path.endswith(".parquet")]
        with lake.fs.open_input_file(part) as source:
            rows = pq.read_table(source)
        with lake.fs.open_output_stream(part) as sink:
            pq.write_table(change(rows), sink)


def _first_row_twice(rows: pa.Table) -> pa.Table:
    return pa.concat_tables([rows, rows.slice(0, 1)])


def _first_price_negative(rows: pa.Table) -> pa.Table:
    index = rows.schema.get_field_index("unit_price")
    prices = rows.column(index).to_pylist()
    prices[0] = -abs(prices[0])
    return rows.set_column(index, rows.schema.field(index), pa.array(prices, rows.schema.field(index).type))
