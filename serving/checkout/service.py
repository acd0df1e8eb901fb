"""Checkout: one transaction that turns the shopper's cart into an order.

Prices and stock come from the database (rows locked in id order), stock is decremented by a conditional
update, and the idempotency key is written with the order, so a retried request replays the same order.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from serving import metrics
from serving.cache import cache, jsonable
from serving.cart import store as cart_store
from serving.catalog.queries import product_key
from serving.checkout.addresses import address_key
from serving.db import database
from serving.errors import Conflict, Unprocessable
from serving.orders.queries import order_detail
from serving.sql_files import statements

SQL = statements("checkout.sql")
SHIPPING_FEE = Decimal("0.00")  # free shipping in the Black Friday season
LINE_COLUMNS = ("line_no", "product_id", "asin", "title", "category_code", "unit_price", "quantity")


@dataclass(frozen=True)
class CheckoutResult:
    order: dict[str, Any]
    replayed: bool  # True when the idempotency key had already made this order
    new_stock: dict[int, int] = field(default_factory=dict)  # product id -> stock after this order


def request_hash(shipping: dict[str, str]) -> str:
    """A stable fingerprint of the request body the idempotency key is bound to."""
    return hashlib.sha256(json.dumps(shipping, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def place_order(customer_id: int, shipping: dict[str, str], idempotency_key: str) -> CheckoutResult:
    """Makes the order from the cart, or replays the order this key already made."""
    cart = cart_store.quantities(customer_id)
    with database().connection() as conn:
        result = order_transaction(conn, customer_id, cart, shipping, idempotency_key)
    if not result.replayed:
        ids = sorted(result.new_stock)
        cache().lower_stock([product_key(pid) for pid in ids], [result.new_stock[pid] for pid in ids])
        # only the lines this order took, as they were: a line added or changed meanwhile stays in the cart
        cart_store.remove_ordered(customer_id, cart)
    return result


def order_transaction(
    conn, customer_id: int, cart: dict[int, int], shipping: dict[str, str], idempotency_key: str
) -> CheckoutResult:
    """The checkout's one transaction on `conn` (an autocommit connection with dict rows): the storefront runs
    it on a pooled connection, `make bench-serve` straight on its own connections as the checkout floor."""
    fingerprint = request_hash(shipping)
    with conn.transaction():
        conn.execute(SQL["lock_shopper"], {"customer_id": customer_id})
        replayed = _replay(conn, customer_id, idempotency_key, fingerprint)
        if replayed is not None:
            return replayed
        if not cart:
            metrics.CHECKOUTS.labels("empty_cart").inc()
            raise Conflict("the cart is empty; add something before checking out", code="cart_empty")
        ids = sorted(cart)
        products = _lock_products_in_stock(conn, ids, cart)
        limited = [pid for pid in ids if products[pid]["per_customer"] is not None]
        if limited:
            holders = purchase_holders(customer_id, shipping)
            _check_purchase_limits(conn, limited, cart, products, holders)
        new_stock = _decrement_stock(conn, ids, cart)
        if limited:
            quantities = [cart[pid] for pid in limited]
            conn.execute(SQL["count_limited_purchases"], {"ids": limited, "quantities": quantities, **holders})
        lines = _order_lines(ids, cart, products)
        totals = _totals(lines)
        header = conn.execute(
            SQL["insert_order"],
            {
                "customer_id": customer_id,
                **totals,
                **shipping,
                **{f"{column}_list": [line[column] for line in lines] for column in LINE_COLUMNS},
                "key": idempotency_key,
                "request_hash": fingerprint,
            },
        ).fetchone()
    metrics.CHECKOUTS.labels("created").inc()
    order = {**header, **totals, "shipping": shipping, "lines": lines}
    return CheckoutResult(jsonable(order), replayed=False, new_stock=new_stock)


def _replay(conn, customer_id: int, idempotency_key: str, fingerprint: str) -> CheckoutResult | None:
    """The order this key already made (the same request retried), or None; a key reused for another request
    is refused."""
    previous = conn.execute(SQL["find_idempotency_key"], {"customer_id": customer_id, "key": idempotency_key})
    previous = previous.fetchone()
    if previous is None:
        return None
    if previous["request_hash"] != fingerprint:
        metrics.CHECKOUTS.labels("key_reused").inc()
        raise Unprocessable(
            "this Idempotency-Key was already used with a different request; use a new key",
            code="idempotency_key_reused",
            details={"idempotency_key": idempotency_key, "order_id": previous["order_id"]},
        )
    metrics.CHECKOUTS.labels("replayed").inc()
    return CheckoutResult(order_detail(conn, customer_id, previous["order_id"]), replayed=True)


def purchase_holders(customer_id: int, shipping: dict[str, str]) -> dict[str, str]:
    """Who a purchase limit counts against: this customer, and this shipping address (normalised)."""
    return {"customer_holder": f"customer:{customer_id}", "address_holder": f"address:{address_key(shipping)}"}


def _check_purchase_limits(
    conn, limited: list[int], cart: dict[int, int], products: dict[int, dict], holders: dict[str, str]
) -> None:
    """A 409 naming every line over its product's limit per customer or per shipping address (the products
    are locked: the counts read here cannot change before this order adds to them)."""
    bought = {
        (row["product_id"], row["holder"]): row["quantity"]
        for row in conn.execute(SQL["bought_before"], {"ids": limited, **holders})
    }
    over = []
    for pid in limited:
        product = products[pid]
        for per, limit, holder in (
            ("customer", product["per_customer"], holders["customer_holder"]),
            ("address", product["per_address"], holders["address_holder"]),
        ):
            before = bought.get((pid, holder), 0)
            if before + cart[pid] > limit:
                over.append(
                    {
                        "product_id": pid,
                        "title": product["title"],
                        "limit_per": per,
                        "limit": limit,
                        "already_bought": before,
                        "requested": cart[pid],
                    }
                )
    if over:
        metrics.CHECKOUTS.labels("purchase_limit").inc()
        names = ", ".join(f"{line['title']} ({line['limit']} per {line['limit_per']})" for line in over)
        raise Conflict(
            f"over the purchase limit for: {names}; lower the quantity", code="purchase_limit", details={"items": over}
        )


def _lock_products_in_stock(conn, ids: list[int], cart: dict[int, int]) -> dict[int, dict]:
    """The cart's products, rows locked in id order; a 409 naming every line that is short or gone."""
    products = {row["id"]: row for row in conn.execute(SQL["lock_products"], {"ids": ids}).fetchall()}
    missing = [pid for pid in ids if pid not in products]
    short = [
        {
            "product_id": pid,
            "title": products[pid]["title"],
            "requested": cart[pid],
            "available": products[pid]["stock"],
        }
        for pid in ids
        if pid in products and products[pid]["stock"] < cart[pid]
    ]
    if missing or short:
        metrics.CHECKOUTS.labels("out_of_stock").inc()
        names = ", ".join([line["title"] for line in short] + [f"product {pid} (no longer sold)" for pid in missing])
        raise Conflict(
            f"not enough stock for: {names}",
            code="out_of_stock",
            details={"items": short + [{"product_id": pid, "available": 0} for pid in missing]},
        )
    return products


class StockInvariantError(RuntimeError):
    """A conditional stock update skipped a row that was locked and checked: a bug, never a shopper's doing."""


def _decrement_stock(conn, ids: list[int], cart: dict[int, int]) -> dict[int, int]:
    """Takes the quantities off the locked rows; returns the new stock per product."""
    updated = conn.execute(SQL["decrement_stock"], {"ids": ids, "quantities": [cart[pid] for pid in ids]})
    new_stock = {row["id"]: row["stock"] for row in updated}
    if len(new_stock) != len(ids):  # the rows are locked and were checked: every conditional update must apply
        raise StockInvariantError(f"stock update applied to {sorted(new_stock)} of {ids}; the order is rolled back")
    return new_stock


def _order_lines(ids: list[int], cart: dict[int, int], products: dict[int, dict]) -> list[dict]:
    """The order's lines at the database's prices, numbered in product id order."""
    return [
        {
            "line_no": line_no,
            "product_id": pid,
            "asin": products[pid]["asin"],
            "title": products[pid]["title"],
            "category_code": products[pid]["category_code"],
            "unit_price": products[pid]["price"],
            "quantity": cart[pid],
            "line_total": products[pid]["price"] * cart[pid],
        }
        for line_no, pid in enumerate(ids, start=1)
    ]


def _totals(lines: list[dict]) -> dict[str, Any]:
    """Item count, subtotal, shipping and total of the lines, computed once for the row and the answer."""
    subtotal = sum((line["line_total"] for line in lines), Decimal("0"))
    return {
        "item_count": sum(line["quantity"] for line in lines),
        "subtotal": subtotal,
        "shipping_fee": SHIPPING_FEE,
        "total": subtotal + SHIPPING_FEE,
    }
