"""Order history endpoints of the JSON API; another shopper's order answers 404."""

from __future__ import annotations

from flask_smorest import Blueprint

from serving.identity import current_shopper
from serving.orders import queries
from serving.schemas import ErrorSchema, OrderHistoryQuerySchema, OrderPageSchema, OrderSchema

blp = Blueprint("orders_api", __name__, url_prefix="/api/v1/orders", description="Order history")


@blp.route("")
@blp.arguments(OrderHistoryQuerySchema(), location="query")
@blp.response(200, OrderPageSchema)
@blp.alt_response(400, schema=ErrorSchema, description="The cursor is not one this API issued")
def list_orders(args):
    """The shopper's orders, newest first."""
    items, next_cursor = queries.order_history(current_shopper(), args["cursor"], args["limit"])
    return {"items": items, "next_cursor": next_cursor}


@blp.route("/<id:order_id>")
@blp.response(200, OrderSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such order of this shopper")
def get_order(order_id):
    """One of the shopper's orders with its lines."""
    return queries.find_order(current_shopper(), order_id)
