"""Cart pages: view the cart, add, change quantities, remove (forms with CSRF tokens)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for

from serving.cart import store
from serving.catalog import queries as catalog
from serving.errors import Unprocessable
from serving.identity import current_shopper, ensure_shopper, shopper_for
from serving.schemas import AddToCartSchema, CartLineFormSchema
from serving.validation import load_form

bp = Blueprint("cart", __name__, url_prefix="/cart")


@bp.route("")
def view():
    return render_template("cart/cart.html", cart=store.view(current_shopper()))


@bp.route("/add", methods=["POST"])
def add():
    line = load_form(AddToCartSchema())  # the same rules, and the same 422, as POST /api/v1/cart/items
    catalog.product(line["product_id"])  # 404 before a shopper is created for it
    store.add(ensure_shopper(), line["product_id"], line["quantity"])
    flash("Added to your cart.")
    return redirect(url_for("cart.view"), code=303)


@bp.route("/update", methods=["POST"])
def update():
    line = load_form(CartLineFormSchema())
    if "quantity" not in line:
        raise Unprocessable("some fields are not valid", code="invalid_form", details={"quantity": ["required"]})
    store.set_quantity(shopper_for(line["quantity"]), line["product_id"], line["quantity"])
    return redirect(url_for("cart.view"), code=303)


@bp.route("/remove", methods=["POST"])
def remove():
    product_id = load_form(CartLineFormSchema())["product_id"]
    store.remove(current_shopper(), product_id)
    flash("Removed from your cart.")
    return redirect(url_for("cart.view"), code=303)
