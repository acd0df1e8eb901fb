"""Who the shopper is: an anonymous owner id in the signed session cookie, created at the first cart write.

The id is a customers row, so carts (Redis, keyed by it) and orders (Postgres) have one owner; nothing in a
URL grants access to them.
"""

from __future__ import annotations

from flask import session

from serving.db import database


def current_shopper() -> int | None:
    """The session's customer id, or None for a visitor who has not put anything in a cart yet."""
    value = session.get("customer_id")
    return value if isinstance(value, int) else None


def ensure_shopper() -> int:
    """The session's customer id, creating an anonymous customer on first use."""
    customer_id = current_shopper()
    if customer_id is None:
        with database().connection() as conn:
            customer_id = conn.execute("INSERT INTO customers DEFAULT VALUES RETURNING id").fetchone()["id"]
        session["customer_id"] = customer_id
        session.permanent = True
    return customer_id
