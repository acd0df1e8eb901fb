"""Checkout: one transaction that turns the shopper's cart into an order.

Prices and stock come from the database (rows locked in id order), stock is decremented by a conditional
update, and the idempotency key is written with the order, so a retried request replays the same order.

Purchase limits hold against a patient bot: a limited product's units are counted per customer, per household
(serving.checkout.addresses) and per network (the client's IPv4 /24 or IPv6 /64: identities and spellings are
cheap, networks are not), a network buying what one customer may. A product nobody limited gets the default
limit once it is scarce (stock at or below BFP_SCARCE_STOCK): while plentiful it sells without counting, and
when little is left no one client takes the rest.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import psycopg

from serving import metrics
from serving.cache import cache, jsonable
from serving.cart import store as cart_store
from serving.catalog.queries import product_key
from serving.checkout.addresses import address_key
from serving.db import database
from serving.errors import Conflict, ServiceUnavailable, Unprocessable
from serving.orders.queries import order_detail
from serving.sql_files import statements

SQL = statements("checkout.sql")
SHIPPING_FEE = Decimal("0.00")  # free shipping in the Black Friday season
LINE_COLUMNS = ("line_no", "product_id", "asin", "title", "category_code", "unit_price", "quantity")


class OutcomeUnknown(ServiceUnavailable):
    """The connection was lost at the order's COMMIT: made or not, the client cannot know; the same key tells."""

    code = "order_outcome_unknown"


@dataclass(frozen=True)
class LimitPolicy:
    """The limit of a product nobody limited, once scarce (0: none)."""

    default_limit: int = 10
    scarce_stock: int = 200


@dataclass(frozen=True)
class CheckoutResult:
    order: dict[str, Any]
    replayed: bool  # True when the idempotency key had already made this order
    new_stock: dict[int, int] = field(default_factory=dict)  # product id -> stock after this order


def request_hash(shipping: dict[str, str]) -> str:
    """A stable fingerprint of the request body the idempotency key is bound to."""
    return hashlib.sha256(json.dumps(shipping, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def place_order(
    customer_id: int, shipping: dict[str, str], idempotency_key: str, network: str, policy: LimitPolicy
) -> CheckoutResult:
    """Makes the order from the cart, or replays the order this key already made."""
    cart = cart_store.quantities(customer_id)
    with database().connection(checkout=True) as conn:  # the connections reads may not take
        result = order_transaction(conn, customer_id, cart, shipping, idempotency_key, network, policy)
    if not result.replayed:
        ids = sorted(result.new_stock)
        cache().lower_stock([product_key(pid) for pid in ids], [result.new_stock[pid] for pid in ids])
        # only the lines this order took, as they were: a line added or changed meanwhile stays in the cart
        cart_store.remove_ordered(customer_id, cart)
    return result


def order_transaction(
    conn,
    customer_id: int,
    cart: dict[int, int],
    shipping: dict[str, str],
    idempotency_key: str,
    network: str = "unknown",
    policy: LimitPolicy = LimitPolicy(),
) -> CheckoutResult:
    """The checkout's one transaction on `conn` (an autocommit connection with dict rows): the storefront runs
    it on a pooled connection, `make bench-serve` straight on its own connections as the checkout floor.
    `network`: the client's network (serving.ratelimit.client_network)."""
    fingerprint = request_hash(shipping)
    with _transaction(conn, idempotency_key):
        result = _order_statements(conn, customer_id, cart, shipping, idempotency_key, network, policy, fingerprint)
    if not result.replayed:
        metrics.CHECKOUTS.labels("created").inc()
    return result


@contextlib.contextmanager
def _transaction(conn, idempotency_key: str) -> Iterator[None]:
    """conn.transaction(), in which a connection lost at the COMMIT is OutcomeUnknown: the order may have been made
    (its acknowledgement was lost), so the answer must not say "nothing changed". The same key retried replays
    it or makes it, once."""
    body_done = False
    try:
        with conn.transaction():
            yield
            body_done = True
    except psycopg.OperationalError as exc:
        if not body_done:
            raise
        metrics.CHECKOUTS.labels("outcome_unknown").inc()
        raise OutcomeUnknown(
            "the database went away while your order was being saved: it may or may not have been made. Retry"
            " with the same Idempotency-Key (an order is made at most once per key), or look at your orders",
            code="order_outcome_unknown",
            details={"idempotency_key": idempotency_key},
        ) from exc


def _order_statements(
    conn,
    customer_id: int,
    cart: dict[int, int],
    shipping: dict[str, str],
    idempotency_key: str,
    network: str,
    policy: LimitPolicy,
    fingerprint: str,
) -> CheckoutResult:
    """The statements of the order transaction (its caller commits)."""
    conn.execute(SQL["lock_shopper"], {"customer_id": customer_id})
    replayed = _replay(conn, customer_id, idempotency_key, fingerprint)
    if replayed is not None:
        return replayed
    if not cart:
        metrics.CHECKOUTS.labels("empty_cart").inc()
        raise Conflict("the cart is empty; add something before checking out", code="cart_empty")
    ids = sorted(cart)
    products = _lock_products_in_stock(conn, ids, cart)
    limits = {pid: limit for pid in ids if (limit := _limits_of(products[pid], policy))}
    limited = sorted(limits)
    if limited:
        holders = purchase_holders(customer_id, shipping, network)
        _check_purchase_limits(conn, limits, cart, products, holders)
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
    order = order_detail(conn, customer_id, previous["order_id"])
    if order is None:  # the order this key made was removed since (soft-deleted): nothing to replay
        metrics.CHECKOUTS.labels("key_order_removed").inc()
        raise Conflict(
            "the order this Idempotency-Key made was removed; use a new key to order again",
            code="idempotency_key_order_removed",
            details={"idempotency_key": idempotency_key, "order_id": previous["order_id"]},
        )
    metrics.CHECKOUTS.labels("replayed").inc()
    return CheckoutResult(order, replayed=True)


def purchase_holders(customer_id: int, shipping: dict[str, str], network: str) -> dict[str, str]:
    """Who a purchase limit counts against: this customer, this household and this network."""
    return {
        "customer_holder": f"customer:{customer_id}",
        "address_holder": f"address:{address_key(shipping)}",
        "network_holder": f"network:{network}",
    }


def _limits_of(product: dict, policy: LimitPolicy) -> dict[str, int] | None:
    """A product's limit per customer, address and network: its own (a network may buy what one customer may), or
    the default once it is scarce; None when it sells without counting."""
    if product["per_customer"] is not None:
        per_customer = product["per_customer"]
        return {"customer": per_customer, "address": product["per_address"], "network": per_customer}
    if policy.default_limit and product["stock"] <= policy.scarce_stock:
        return dict.fromkeys(("customer", "address", "network"), policy.default_limit)
    return None


def _check_purchase_limits(
    conn, limits: dict[int, dict[str, int]], cart: dict[int, int], products: dict[int, dict], holders: dict[str, str]
) -> None:
    """A 409 naming every line over its product's limit per customer, household or network (the products are
    locked: the counts read here cannot change before this order adds to them)."""
    bought = {
        (row["product_id"], row["holder"]): row["quantity"]
        for row in conn.execute(SQL["bought_before"], {"ids": sorted(limits), **holders})
    }
    over = []
    for pid in sorted(limits):
        product = products[pid]
        for per in ("customer", "address", "network"):
            limit, holder = limits[pid][per], holders[f"{per}_holder"]
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
