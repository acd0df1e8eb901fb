"""Carts in Redis: a hash product id -> quantity per shopper. Redis down means 503, not a lost cart."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import redis
from flask import current_app

from serving.cache import cache, state_redis
from serving.catalog import queries as catalog
from serving.errors import NotFound, ServiceUnavailable, Unprocessable

MAX_QUANTITY = 99
MAX_LINES = 50


def cart_key(customer_id: int) -> str:
    return f"cart:{customer_id}"


def _unavailable() -> ServiceUnavailable:
    return ServiceUnavailable(
        "the cart store is not answering; nothing was changed, retry in a moment", code="cart_unavailable"
    )


def quantities(customer_id: int | None) -> dict[int, int]:
    """The shopper's cart as product id -> quantity; reading it renews its 24 h lifetime."""
    if customer_id is None:
        return {}
    return _run(customer_id, lambda pipe: None)[-1]


def _run(customer_id: int, change) -> list:
    """One round trip: `change(pipe)` queues its commands, then the cart is renewed and read back (last item)."""
    key = cart_key(customer_id)
    try:
        pipe = state_redis().pipeline(transaction=True)
        change(pipe)
        pipe.expire(key, cache().config.cart_ttl_seconds)
        pipe.hgetall(key)
        results = pipe.execute()
    except redis.RedisError as exc:
        raise _unavailable() from exc
    results[-1] = {int(product_id): int(quantity) for product_id, quantity in results[-1].items()}
    return results


def _check_limits(customer_id: int, product_id: int, lines: dict[int, int], undo) -> None:
    quantity = lines.get(product_id, 0)
    problem = None
    if quantity > MAX_QUANTITY:
        problem = Unprocessable(
            f"quantity must be between 0 and {MAX_QUANTITY}", code="invalid_quantity", details={"quantity": quantity}
        )
    elif len(lines) > MAX_LINES:
        problem = Unprocessable(f"a cart holds at most {MAX_LINES} different products", code="cart_full")
    if problem is not None:
        _run(customer_id, undo)
        raise problem


def add(customer_id: int, product_id: int, quantity: int) -> dict[int, int]:
    """Adds `quantity` to the product's line (the product must exist); returns the cart's quantities."""
    catalog.product(product_id)  # NotFound for an unknown product
    field = str(product_id)
    lines = _run(customer_id, lambda pipe: pipe.hincrby(cart_key(customer_id), field, quantity))[-1]
    _check_limits(
        customer_id,
        product_id,
        lines,
        lambda pipe: (
            pipe.hincrby(cart_key(customer_id), field, -quantity)
            if lines[product_id] > quantity
            else pipe.hdel(cart_key(customer_id), field)
        ),
    )
    return lines


def set_quantity(customer_id: int | None, product_id: int, quantity: int) -> dict[int, int]:
    """Sets one line (0 removes it; otherwise the product must exist); returns the cart's quantities. A visitor
    without a cart (None) may only remove: there is nothing to remove."""
    if not 0 <= quantity <= MAX_QUANTITY:
        raise Unprocessable(
            f"quantity must be between 0 and {MAX_QUANTITY}", code="invalid_quantity", details={"quantity": quantity}
        )
    field = str(product_id)
    if quantity == 0:
        if customer_id is None:
            return {}
        return _run(customer_id, lambda pipe: pipe.hdel(cart_key(customer_id), field))[-1]
    catalog.product(product_id)
    lines = _run(customer_id, lambda pipe: pipe.hset(cart_key(customer_id), field, quantity))[-1]
    _check_limits(customer_id, product_id, lines, lambda pipe: pipe.hdel(cart_key(customer_id), field))
    return lines


def remove(customer_id: int | None, product_id: int) -> dict[int, int]:
    """Removes a line; NotFound if the product is not in the cart (or the visitor has none)."""
    removed = False
    if customer_id is not None:
        removed, *_, lines = _run(customer_id, lambda pipe: pipe.hdel(cart_key(customer_id), str(product_id)))
    if not removed:
        raise NotFound(
            f"product {product_id} is not in the cart", code="not_in_cart", details={"product_id": product_id}
        )
    return lines


# ARGV: product id, quantity, product id, quantity...: each field is deleted only while it still holds the
# ordered quantity, in one atomic step (a line added or changed while the checkout ran stays).
REMOVE_ORDERED_LUA = """
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    redis.call('HDEL', KEYS[1], ARGV[i])
  end
end
return redis.call('HLEN', KEYS[1])
"""


def remove_ordered(customer_id: int, ordered: dict[int, int]) -> None:
    """After a checkout committed: takes the ordered lines out of the cart, unless changed meanwhile. A Redis
    error is logged, not raised: the order stands, and the shopper sees the lines still in the cart."""
    args = [str(value) for pid, quantity in sorted(ordered.items()) for value in (pid, quantity)]
    try:
        state_redis().eval(REMOVE_ORDERED_LUA, 1, cart_key(customer_id), *args)
    except redis.RedisError as exc:
        current_app.logger.warning("ordered lines not removed from cart %s (%s)", cart_key(customer_id), exc)


def view(customer_id: int | None, lines: dict[int, int] | None = None) -> dict[str, Any]:
    """The cart with current product data, line totals and the total (prices as decimal strings)."""
    if lines is None:
        lines = quantities(customer_id)
    rows = []
    total = Decimal("0")
    item_count = 0
    products = catalog.products(sorted(lines))
    for product_id, quantity in sorted(lines.items()):
        product = products.get(product_id)
        if product is None:
            continue  # removed from the catalog since it was added
        line_total = Decimal(product["price"]) * quantity
        total += line_total
        item_count += quantity
        rows.append(
            {
                "product_id": product_id,
                "asin": product["asin"],
                "title": product["title"],
                "unit_price": product["price"],
                "quantity": quantity,
                "line_total": f"{line_total:.2f}",
                "in_stock": product["stock"] >= quantity,
                "stock": product["stock"],
            }
        )
    return {"lines": rows, "item_count": item_count, "total": f"{total:.2f}"}
