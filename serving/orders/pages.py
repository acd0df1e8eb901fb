"""Order history pages of the session's shopper."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from serving.identity import current_shopper
from serving.orders import queries

bp = Blueprint("orders", __name__, url_prefix="/orders")


@bp.route("")
def history():
    orders, next_cursor = queries.order_history(current_shopper(), request.args.get("cursor"), 20)
    return render_template("orders/history.html", orders=orders, next_cursor=next_cursor)


@bp.route("/<id:order_id>")
def detail(order_id: int):
    order = queries.find_order(current_shopper(), order_id)
    return render_template("orders/detail.html", order=order, placed=request.args.get("placed") == "1")
