"""Checkout: one transaction that turns the shopper's cart into an order.

Prices and stock come from the database (rows locked in id order), stock is decremented by a conditional
update, and the idempotency key is written with the order, so a retried request replays the same order. A
doorbuster whose stock is split over slots (sql/oltp/0011_stock_slots.sql) is read without its row lock and sold
from one free slot, its limits counted first and checked on the counts.

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
MAX_LINE_QUANTITY = 99  # a cart line's most units (serving/schemas.py)
TAKE_SLOT_ROUNDS = 8  # a round fails only when another checkout took the slot's last units meanwhile
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
    # split products near sold out: their stock as this order saw it may be a few units high (checkouts on other
    # slots not yet committed), so their cached entry is dropped and reloaded rather than lowered
    recount: list[int] = field(default_factory=list)


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
        ids = sorted(pid for pid in result.new_stock if pid not in result.recount)
        cache().lower_stock(
            [product_key(pid) for pid in ids],
            [result.new_stock[pid] for pid in ids],
            also_delete=[product_key(pid) for pid in result.recount],
        )
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
    products = _products_in_stock(conn, ids, cart)
    split = [pid for pid in ids if products[pid]["stock_slots"]]
    locked = [pid for pid in ids if not products[pid]["stock_slots"]]
    limits = {pid: limit for pid in ids if (limit := _limits_of(products[pid], policy))}
    holders = purchase_holders(customer_id, shipping, network) if limits else {}
    limited = [pid for pid in ids if pid in limits]
    if limited:
        # counted first, in one statement, and checked on the counts (past a limit the order rolls back with
        # them): the tally rows' locks serialise one holder's checkouts, no product lock is needed for them
        counted = _count_limited(conn, limited, cart, holders)
        _refuse_over_limit(conn, limits, cart, products, holders, counted, limited)
    # The stock last, then the order: a slot's or a product row's lock, which every other order of the product
    # waits for, is held from here through the commit only. Tallies, slots, then rows, as every checkout takes
    # them (no lock cycle). The order's lines come after the row lock: their foreign key check takes KEY SHARE on
    # the product's row, and taken by every waiting order before it, the row's lockers become a multixact every
    # update rewrites (make bench-hot-product: half the orders a second on one row).
    new_stock = _take_from_slots(conn, split, cart, products)
    if locked:
        new_stock |= _decrement_stock(conn, locked, cart)
    # the other slots' checkouts in flight (at most one a slot, each at most a line's units) are not in it
    recount = [pid for pid in split if new_stock[pid] < products[pid]["stock_slots"] * MAX_LINE_QUANTITY]
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
    return CheckoutResult(jsonable(order), replayed=False, new_stock=new_stock, recount=recount)


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


def _count_limited(conn, ids: list[int], cart: dict[int, int], holders: dict[str, str]) -> dict[tuple, int]:
    """Adds this order's units of `ids` to their tallies; (product id, holder) -> the count with them."""
    rows = conn.execute(
        SQL["count_limited_purchases"], {"ids": ids, "quantities": [cart[pid] for pid in ids], **holders}
    )
    return {(row["product_id"], row["holder"]): row["quantity"] for row in rows}


def _refuse_over_limit(
    conn,
    limits: dict[int, dict[str, int]],
    cart: dict[int, int],
    products: dict[int, dict],
    holders: dict[str, str],
    tallies: dict[tuple, int],
    ids: list[int],
) -> None:
    """A 409 naming every line of `ids` over a limit; `tallies` are the counts with this order's units (the
    transaction then rolls them back with the order). A line sold out meanwhile is out of stock instead,
    whatever its limits: the stock the order read before its limits were counted may be gone."""
    over = []
    for pid in ids:
        product = products[pid]
        for per in ("customer", "address", "network"):
            limit, holder = limits[pid][per], holders[f"{per}_holder"]
            before = tallies[(pid, holder)] - cart[pid]
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
        _products_in_stock(conn, sorted({line["product_id"] for line in over}), cart)
        metrics.CHECKOUTS.labels("purchase_limit").inc()
        names = ", ".join(f"{line['title']} ({line['limit']} per {line['limit_per']})" for line in over)
        raise Conflict(
            f"over the purchase limit for: {names}; lower the quantity", code="purchase_limit", details={"items": over}
        )


def _products_in_stock(conn, ids: list[int], cart: dict[int, int]) -> dict[int, dict]:
    """The cart's products as read now (not locked); a 409 naming every line that is short or gone."""
    products = {row["id"]: row for row in conn.execute(SQL["read_products"], {"ids": ids}).fetchall()}
    _refuse_short(products, ids, cart)
    return products


def _refuse_short(products: dict[int, dict], ids: list[int], cart: dict[int, int]) -> None:
    """A 409 naming every line of `ids` whose product is missing from `products` or has less than the cart's."""
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


class StockInvariantError(RuntimeError):
    """A conditional stock update skipped a one-row product that still had the stock: a bug, never a shopper's
    doing."""


def _decrement_stock(conn, ids: list[int], cart: dict[int, int]) -> dict[int, int]:
    """Locks the one-row products and takes the quantities off; returns the new stock per product. A line
    another order took the stock of since it was read is refused with the stock left (the order rolls back)."""
    updated = conn.execute(SQL["decrement_stock"], {"ids": ids, "quantities": [cart[pid] for pid in ids]})
    new_stock = {row["id"]: row["stock"] for row in updated}
    if len(new_stock) != len(ids):
        skipped = [pid for pid in ids if pid not in new_stock]
        now = _products_in_stock(conn, skipped, cart)
        if any(now[pid]["stock_slots"] for pid in skipped):  # split over slots since it was read: look again
            metrics.CHECKOUTS.labels("product_busy").inc()
            raise ServiceUnavailable("this product's stock was just rearranged; retry in a second", code="product_busy")
        raise StockInvariantError(f"stock update skipped {skipped}, which have the stock; the order is rolled back")
    return new_stock


def _take_from_slots(conn, ids: list[int], cart: dict[int, int], products: dict[int, dict]) -> dict[int, int]:
    """Takes each split product's units from one of its slots: a free one, else (every slot with enough held by
    another checkout) the fullest once it frees; a 409 when no slot has enough. Returns each product's stock
    left, as seen by this transaction (for the cache)."""
    left = {}
    for pid in ids:
        params = {"id": pid, "quantity": cart[pid]}
        for _ in range(TAKE_SLOT_ROUNDS):
            row = conn.execute(SQL["take_from_free_slot"], params).fetchone()
            if row is None:  # the slot waited for may have been emptied meanwhile: then look again
                row = _take_from_busy_slot(conn, params)
            if row is not None or conn.execute(SQL["slot_with_enough"], params).fetchone() is None:
                break
        else:  # every round lost its slot to another checkout: the product is selling out under us
            metrics.CHECKOUTS.labels("product_busy").inc()
            raise ServiceUnavailable("this product is in high demand; retry in a second", code="product_busy")
        if row is None:
            metrics.CHECKOUTS.labels("out_of_stock").inc()
            title = products[pid]["title"]
            raise Conflict(
                f"not enough stock for: {title} (its stock is split into slots: an order takes one slot's units at"
                " most; lower the quantity)",
                code="out_of_stock",
                details={"items": [{"product_id": pid, "title": title, "requested": cart[pid]}]},
            )
        left[pid] = max(0, row["left"])
    return left


def _take_from_busy_slot(conn, params: dict) -> dict | None:
    """take_from_busy_slot in a savepoint: a row locked FOR UPDATE that no longer matches after the wait (another
    checkout emptied it) stays locked by this transaction, and two checkouts each holding such a slot while
    waiting for the other's deadlock; rolling back to the savepoint lets it go."""
    with conn.transaction() as savepoint:
        row = conn.execute(SQL["take_from_busy_slot"], params).fetchone()
        if row is None:
            raise psycopg.Rollback(savepoint)
    return row


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
