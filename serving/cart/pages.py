"""Cart pages: view the cart, add, change quantities, remove (forms with CSRF tokens)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from serving.cart import store
from serving.errors import Unprocessable
from serving.identity import current_shopper, ensure_shopper

bp = Blueprint("cart", __name__, url_prefix="/cart")


def form_int(name: str, default: int | None = None) -> int:
    raw = request.form.get(name, "")
    if raw == "" and default is not None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise Unprocessable(f"{name} must be a whole number", code="invalid_form", details={name: raw}) from None


@bp.route("")
def view():
    return render_template("cart/cart.html", cart=store.view(current_shopper()))


@bp.route("/add", methods=["POST"])
def add():
    product_id, quantity = form_int("product_id"), form_int("quantity", 1)
    if quantity < 1:
        raise Unprocessable("quantity must be at least 1", code="invalid_quantity", details={"quantity": quantity})
    store.add(ensure_shopper(), product_id, quantity)
    flash("Added to your cart.")
    return redirect(url_for("cart.view"), code=303)


@bp.route("/update", methods=["POST"])
def update():
    store.set_quantity(ensure_shopper(), form_int("product_id"), form_int("quantity"))
    return redirect(url_for("cart.view"), code=303)


@bp.route("/remove", methods=["POST"])
def remove():
    store.remove(ensure_shopper(), form_int("product_id"))
    flash("Removed from your cart.")
    return redirect(url_for("cart.view"), code=303)
