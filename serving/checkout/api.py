"""Checkout endpoint of the JSON API."""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint

from serving.checkout.service import place_order
from serving.errors import Conflict
from serving.identity import current_shopper
from serving.ratelimit import check_checkout_rate, client_network
from serving.schemas import ErrorSchema, IdempotencyHeaderSchema, OrderSchema, ShippingSchema

blp = Blueprint("checkout_api", __name__, url_prefix="/api/v1", description="Checkout")


@blp.route("/checkout", methods=["POST"])
@blp.arguments(IdempotencyHeaderSchema(), location="headers")
@blp.arguments(ShippingSchema())
@blp.response(201, OrderSchema)
@blp.alt_response(409, schema=ErrorSchema, description="The cart is empty or items are out of stock")
@blp.alt_response(422, schema=ErrorSchema, description="Invalid fields, or the key was used with another body")
@blp.alt_response(429, schema=ErrorSchema, description="Too many checkout attempts; see Retry-After")
@blp.alt_response(503, schema=ErrorSchema, description="The database or cart store is busy")
def checkout(headers, shipping):
    """Turns the cart into an order. Same Idempotency-Key and body: the same order again (a replay)."""
    customer_id = current_shopper()
    check_checkout_rate(customer_id)
    if customer_id is None:
        raise Conflict("the cart is empty; add something before checking out", code="cart_empty")
    config = current_app.config["BFP"]
    result = place_order(customer_id, shipping, headers["idempotency_key"], client_network(), config.limit_policy)
    return result.order, 201, {"Idempotent-Replayed": "true" if result.replayed else "false"}
