"""Raw windows as the extract writes them, for the Spark tests: order and line rows, and a window's folders."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.extract import raw_tables

UTC = dt.UTC


def ts(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def order(id_, created, updated, status="paid", deleted=None, customer=7):
    return {
        "id": id_,
        "customer_id": customer,
        "status": status,
        "currency": "USD",
        "item_count": 1,
        "subtotal": Decimal("10.00"),
        "shipping_fee": Decimal("0.00"),
        "total": Decimal("10.00"),
        "shipping_name": "A",
        "shipping_address": "1 Main",
        "shipping_city": "X",
        "shipping_state": "CA",
        "shipping_zip": "90001",
        "created_at": created,
        "updated_at": updated,
        "deleted_at": deleted,
    }


def line(order_id, version, line_no=1, price="10.00", quantity=1):
    return {
        "order_id": order_id,
        "order_updated_at": version,
        "line_no": line_no,
        "product_id": 1,
        "asin": "B000000001",
        "title": "Toy",
        "category_code": "TOYS",
        "unit_price": Decimal(price),
        "quantity": quantity,
        "line_total": Decimal(price) * quantity,
    }


def write_window(lake: Path, label: str, orders: list[dict], lines: list[dict]) -> None:
    """A raw window as the extract writes it: Parquet with the extract's schema, manifest last."""
    for table, rows, schema in (("order_items", lines, raw_tables.ORDER_ITEMS), ("orders", orders, raw_tables.ORDERS)):
        folder = lake / "raw" / table / f"window={label}"
        folder.mkdir(parents=True, exist_ok=True)
        if rows:
            pq.write_table(pa.Table.from_pylist(rows, schema=schema), folder / "part-00000.parquet")
        end = dt.datetime.strptime(label, "%Y%m%dT%H%M").replace(tzinfo=UTC)
        manifest = {
            "rows": len(rows),
            "window": {"start": (end - dt.timedelta(hours=1)).isoformat(), "end": end.isoformat(), "label": label},
            "written_at": (end + dt.timedelta(minutes=3)).isoformat(),
        }
        (folder / "_manifest.json").write_text(json.dumps(manifest))
