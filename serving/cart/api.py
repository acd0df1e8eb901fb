"""Cart endpoints of the JSON API; the cart is always the session's own."""

from __future__ import annotations

from flask_smorest import Blueprint

from serving.cart import store
from serving.catalog import queries as catalog
from serving.identity import current_shopper, ensure_shopper, shopper_for
from serving.schemas import AddToCartSchema, CartSchema, ErrorSchema, SetQuantitySchema

blp = Blueprint("cart_api", __name__, url_prefix="/api/v1/cart", description="The shopper's cart")


@blp.route("")
@blp.response(200, CartSchema)
@blp.alt_response(503, schema=ErrorSchema, description="The cart store is unavailable")
def get_cart():
    """The cart with current prices and the total."""
    return store.view(current_shopper())


@blp.route("/items", methods=["POST"])
@blp.arguments(AddToCartSchema())
@blp.response(200, CartSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such product")
@blp.alt_response(503, schema=ErrorSchema, description="The cart store is unavailable")
def add_item(args):
    """Adds a quantity of a product to the cart."""
    catalog.product(args["product_id"])  # 404 before a shopper is created for it
    customer_id = ensure_shopper()
    return store.view(customer_id, store.add(customer_id, args["product_id"], args["quantity"]))


@blp.route("/items/<id:product_id>", methods=["PUT"])
@blp.arguments(SetQuantitySchema())
@blp.response(200, CartSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such product")
@blp.alt_response(503, schema=ErrorSchema, description="The cart store is unavailable")
def set_item_quantity(args, product_id):
    """Sets a line's quantity; 0 removes it."""
    customer_id = shopper_for(args["quantity"])
    return store.view(customer_id, store.set_quantity(customer_id, product_id, args["quantity"]))


@blp.route("/items/<id:product_id>", methods=["DELETE"])
@blp.response(200, CartSchema)
@blp.alt_response(404, schema=ErrorSchema, description="The product is not in the cart")
@blp.alt_response(503, schema=ErrorSchema, description="The cart store is unavailable")
def remove_item(product_id):
    """Removes a line from the cart."""
    customer_id = current_shopper()
    return store.view(customer_id, store.remove(customer_id, product_id))
