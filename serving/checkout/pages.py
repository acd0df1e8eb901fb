"""Checkout pages: the shipping form (field-level messages, hidden idempotency token) and placing the order."""

from __future__ import annotations

import hashlib
import uuid

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from serving.cart import store
from serving.checkout.service import SQL, place_order
from serving.db import database
from serving.errors import Conflict
from serving.identity import current_shopper
from serving.ratelimit import check_checkout_rate, client_network
from serving.schemas import US_STATES, CheckoutFormSchema, ShippingSchema
from serving.validation import form_input

bp = Blueprint("checkout", __name__, url_prefix="/checkout")
FIELDS = ("name", "address", "city", "state", "zip")


def form_token(customer_id: int | None, cart: dict) -> str:
    """The form's Idempotency-Key: the same for every render of this cart (a reload after a lost answer submits the
    same key: the order is made once), another after an order (the shopper's newest order is part of it)."""
    if customer_id is None:
        return uuid.uuid4().hex
    with database().connection() as conn:
        newest = conn.execute(SQL["newest_order"], {"customer_id": customer_id}).fetchone()["id"]
    lines = ",".join(f"{line['product_id']}x{line['quantity']}" for line in cart["lines"])
    return hashlib.sha256(f"{customer_id}|{newest}|{lines}".encode()).hexdigest()[:32]


def render_form(values: dict[str, str], errors: dict[str, list[str]], problem: str | None = None, status: int = 200):
    cart = store.view(current_shopper())
    token = values.get("idempotency_key") or form_token(current_shopper(), cart)
    page = render_template(
        "checkout/form.html", cart=cart, values=values, errors=errors, problem=problem, token=token, states=US_STATES
    )
    return page, status


@bp.route("", methods=["GET"])
def form():
    if not store.view(current_shopper())["lines"]:
        flash("Your cart is empty.")
        return redirect(url_for("cart.view"))
    return render_form({}, {})


@bp.route("", methods=["POST"])
def submit():
    check_checkout_rate(current_shopper())
    values = {field: request.form.get(field, "") for field in (*FIELDS, "idempotency_key")}
    errors = CheckoutFormSchema().validate(form_input(request.form, CheckoutFormSchema()))
    if "idempotency_key" in errors:  # a hidden field: the shopper can only reload
        errors["idempotency_key"] = ["the form's token is missing or damaged; reload the page"]
        values["idempotency_key"] = ""
    if errors:
        return render_form(values, errors, "Please correct the marked fields.", 422)
    customer_id = current_shopper()
    if customer_id is None:
        flash("Your cart is empty.")
        return redirect(url_for("cart.view"))
    try:
        shipping, key = ShippingSchema().load(values, unknown="exclude"), values["idempotency_key"]
        result = place_order(customer_id, shipping, key, client_network(), current_app.config["BFP"].limit_policy)
    except Conflict as exc:
        return render_form(values, {}, exc.message, exc.status)
    return redirect(url_for("orders.detail", order_id=result.order["id"], placed=1), code=303)
