"""Carts in Redis: a hash product id -> quantity per shopper. Redis down means 503, not a lost cart."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import redis

from serving.cache import cache
from serving.catalog import queries as catalog
from serving.errors import NotFound, ServiceUnavailable, Unprocessable

MAX_QUANTITY = 99
MAX_LINES = 50


def cart_key(customer_id: int) -> str:
    return f"cart:{customer_id}"


def _unavailable(exc: Exception) -> ServiceUnavailable:
    return ServiceUnavailable(
        "the cart is unavailable right now; your items are kept, retry in a moment", code="cart_unavailable"
    )


def quantities(customer_id: int | None) -> dict[int, int]:
    """The shopper's cart as product id -> quantity; reading it renews its 24 h lifetime."""
    if customer_id is None:
        return {}
    client = cache().client
    try:
        pipe = client.pipeline(transaction=False)
        pipe.hgetall(cart_key(customer_id))
        pipe.expire(cart_key(customer_id), cache().config.cart_ttl_seconds)
        raw, _ = pipe.execute()
    except redis.RedisError as exc:
        raise _unavailable(exc) from exc
    return {int(product_id): int(quantity) for product_id, quantity in raw.items()}


def set_quantity(customer_id: int, product_id: int, quantity: int) -> None:
    """Sets one line (0 removes it); the product must exist."""
    if not 0 <= quantity <= MAX_QUANTITY:
        raise Unprocessable(
            f"quantity must be between 0 and {MAX_QUANTITY}", code="invalid_quantity", details={"quantity": quantity}
        )
    if quantity:
        catalog.product(product_id)  # NotFound for an unknown product
    lines = quantities(customer_id)
    if quantity and product_id not in lines and len(lines) >= MAX_LINES:
        raise Unprocessable(f"a cart holds at most {MAX_LINES} different products", code="cart_full")
    try:
        pipe = cache().client.pipeline(transaction=True)
        if quantity:
            pipe.hset(cart_key(customer_id), str(product_id), quantity)
        else:
            pipe.hdel(cart_key(customer_id), str(product_id))
        pipe.expire(cart_key(customer_id), cache().config.cart_ttl_seconds)
        pipe.execute()
    except redis.RedisError as exc:
        raise _unavailable(exc) from exc


def add(customer_id: int, product_id: int, quantity: int) -> None:
    """Adds `quantity` to the product's line."""
    current = quantities(customer_id).get(product_id, 0)
    set_quantity(customer_id, product_id, current + quantity)


def remove(customer_id: int, product_id: int) -> None:
    if product_id not in quantities(customer_id):
        raise NotFound(
            f"product {product_id} is not in the cart", code="not_in_cart", details={"product_id": product_id}
        )
    set_quantity(customer_id, product_id, 0)


def clear(customer_id: int) -> None:
    try:
        cache().client.delete(cart_key(customer_id))
    except redis.RedisError as exc:
        raise _unavailable(exc) from exc


def view(customer_id: int | None) -> dict[str, Any]:
    """The cart with current product data, line totals and the total (prices as decimal strings)."""
    lines = []
    total = Decimal("0")
    item_count = 0
    for product_id, quantity in sorted(quantities(customer_id).items()):
        try:
            product = catalog.product(product_id)
        except NotFound:
            continue  # removed from the catalog since it was added
        line_total = Decimal(product["price"]) * quantity
        total += line_total
        item_count += quantity
        lines.append(
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
    return {"lines": lines, "item_count": item_count, "total": f"{total:.2f}"}
