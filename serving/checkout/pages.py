"""Checkout pages: the shipping form (field-level messages, hidden idempotency token) and placing the order."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for

from serving.cart import store
from serving.checkout.service import place_order
from serving.errors import Conflict
from serving.identity import current_shopper
from serving.ratelimit import check_checkout_rate
from serving.schemas import US_STATES, CheckoutFormSchema, ShippingSchema
from serving.validation import form_input

bp = Blueprint("checkout", __name__, url_prefix="/checkout")
FIELDS = ("name", "address", "city", "state", "zip")


def render_form(values: dict[str, str], errors: dict[str, list[str]], problem: str | None = None, status: int = 200):
    cart = store.view(current_shopper())
    token = values.get("idempotency_key") or uuid.uuid4().hex
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
        result = place_order(customer_id, ShippingSchema().load(values, unknown="exclude"), values["idempotency_key"])
    except Conflict as exc:
        return render_form(values, {}, exc.message, exc.status)
    return redirect(url_for("orders.detail", order_id=result.order["id"], placed=1), code=303)
