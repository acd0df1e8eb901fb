"""Order history reads; another shopper's order is simply not found."""

from __future__ import annotations

from typing import Any

import psycopg

from serving.cache import jsonable
from serving.cursors import decode_cursor, encode_cursor
from serving.db import database
from serving.errors import NotFound
from serving.sql_files import statements

SQL = statements("orders.sql")


def order_detail(conn: psycopg.Connection, customer_id: int, order_id: int) -> dict[str, Any] | None:
    """The order with its shipping address and lines, if it belongs to `customer_id`."""
    order = conn.execute(SQL["order_of_customer"], {"order_id": order_id, "customer_id": customer_id}).fetchone()
    if order is None:
        return None
    shipping = {field: order.pop(f"shipping_{field}") for field in ("name", "address", "city", "state", "zip")}
    lines = conn.execute(SQL["order_lines"], {"order_id": order_id}).fetchall()
    return jsonable({**order, "shipping": shipping, "lines": lines})


def find_order(customer_id: int | None, order_id: int) -> dict[str, Any]:
    found = None
    if customer_id is not None:
        with database().connection() as conn:
            found = order_detail(conn, customer_id, order_id)
    if found is None:
        raise NotFound(f"no order {order_id}", code="order_not_found", details={"order_id": order_id})
    return found


def order_history(customer_id: int | None, cursor: str | None, limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the shopper's orders, newest first, and the cursor of the next page."""
    if customer_id is None:
        return [], None
    before_created, before_id = None, None
    if cursor:
        _, before_created, before_id = decode_cursor(f"orders:{customer_id}", cursor)
    with database().connection() as conn:
        rows = conn.execute(
            SQL["orders_of_customer"],
            {"customer_id": customer_id, "before_created": before_created, "before_id": before_id, "limit": limit + 1},
        ).fetchall()
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(f"orders:{customer_id}", "next", last["created_at"].isoformat(), last["id"])
    return jsonable(rows[:limit]), next_cursor
