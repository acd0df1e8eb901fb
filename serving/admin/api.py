"""Admin endpoints (bearer token from BFP_ADMIN_TOKEN): a product's price and stock, its purchase limits, and
its stock's split over slots (a doorbuster's, so its checkouts do not queue on one row).

Every change is written with its audit row (who, from where, before and after) in one transaction."""

from __future__ import annotations

import hashlib
import hmac
import re

from flask import current_app, request
from flask_smorest import Blueprint
from psycopg.types.json import Jsonb

from serving.cache import cache, jsonable
from serving.catalog.queries import category_version, product_key
from serving.db import database
from serving.errors import NotFound, Unauthorized
from serving.schemas import (
    ErrorSchema,
    ProductChangeSchema,
    ProductSchema,
    PurchaseLimitSchema,
    PurchaseLimitStateSchema,
    StockSlotsSchema,
)
from serving.sql_files import statements

SQL = statements("admin.sql")
CATALOG_SQL = statements("catalog.sql")
blp = Blueprint("admin_api", __name__, url_prefix="/api/v1/admin", description="Catalog administration (bearer token)")


BEARER = re.compile(r"Bearer ([!-~]+)")  # exactly one space, then the token: visible ASCII, no spaces or tabs


@blp.before_request
def require_admin() -> None:
    """Unauthorized unless the request carries exactly `Authorization: Bearer <BFP_ADMIN_TOKEN>` (compared in
    constant time); a bare token, another scheme, extra spaces or tabs are refused."""
    expected = current_app.config["BFP"].admin_token
    match = BEARER.fullmatch(request.headers.get("Authorization", ""))
    given = match.group(1) if match else ""
    if not expected or not match or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized(
            "admin calls need `Authorization: Bearer <token>` matching BFP_ADMIN_TOKEN", code="admin_token_required"
        )


def _audit(conn, action: str, product_id: int, before, after) -> None:
    """The audit row of a change, in its transaction: the actor is the token's fingerprint (never the token)."""
    token = current_app.config["BFP"].admin_token or ""
    conn.execute(
        SQL["audit"],
        {
            "actor": "token:" + hashlib.sha256(token.encode()).hexdigest()[:12],
            "client_addr": request.remote_addr or "unknown",
            "action": action,
            "product_id": product_id,
            "before": Jsonb(jsonable(before)) if before is not None else None,
            "after": Jsonb(jsonable(after)) if after is not None else None,
        },
    )


def _not_found(product_id: int) -> NotFound:
    return NotFound(f"no product {product_id}", code="product_not_found", details={"product_id": product_id})


@blp.route("/products/<id:product_id>", methods=["PATCH"])
@blp.arguments(ProductChangeSchema())
@blp.response(200, ProductSchema)
@blp.alt_response(401, schema=ErrorSchema, description="Missing or wrong admin token")
@blp.alt_response(404, schema=ErrorSchema, description="No such product")
def change_product(change, product_id):
    """Sets a product's price and/or stock; the cached product and its category pages are dropped after commit."""
    with database().connection() as conn, conn.transaction():
        before = conn.execute(SQL["lock_product"], {"id": product_id}).fetchone()
        if before is None:
            raise _not_found(product_id)
        stock = change.get("stock")
        if stock is not None and before["stock_slots"]:  # a split product: the new stock over its slots
            lay_out_stock(conn, product_id, stock, before["stock_slots"])
            stock = None
        row = conn.execute(
            SQL["update_product"], {"id": product_id, "price": change.get("price"), "stock": stock}
        ).fetchone()
        _audit(
            conn, "change_product", product_id, before, {"id": row["id"], "price": row["price"], "stock": row["stock"]}
        )
    cache().invalidate([product_key(product_id)], [category_version(row["category_code"])])
    return row


def lay_out_stock(conn, product_id: int, stock: int, slots: int) -> int:
    """`stock` units in one row (`slots` 0 or 1) or evenly over `slots` rows; the product's row is locked.
    Returns the slots laid out (0: one row)."""
    slots = 0 if slots <= 1 else slots
    conn.execute(SQL["lock_slots"], {"id": product_id})
    conn.execute(SQL["clear_slots"], {"id": product_id})
    if slots:
        conn.execute(SQL["fill_slots"], {"id": product_id, "stock": stock, "slots": slots})
    conn.execute(SQL["set_stock_layout"], {"id": product_id, "stock": 0 if slots else stock, "slots": slots})
    return slots


@blp.route("/products/<id:product_id>/stock-slots", methods=["PUT"])
@blp.arguments(StockSlotsSchema())
@blp.response(200, ProductSchema)
@blp.alt_response(401, schema=ErrorSchema, description="Missing or wrong admin token")
@blp.alt_response(404, schema=ErrorSchema, description="No such product")
def set_stock_slots(layout, product_id):
    """Splits a product's stock evenly over `slots` rows (2-64), or gathers it into one (0 or 1), keeping the
    total: every checkout of one product updates its stock row and holds it through its commit, so a doorbuster
    sells about one order per WAL flush on one row, and N rows let N of its checkouts commit side by side. An
    order then takes at most one slot's units of it (its purchase limit should be well under that)."""
    with database().connection() as conn, conn.transaction():
        before = conn.execute(SQL["lock_product"], {"id": product_id}).fetchone()
        if before is None:
            raise _not_found(product_id)
        slots = lay_out_stock(conn, product_id, before["stock"], layout["slots"])
        row = conn.execute(CATALOG_SQL["product_by_id"], {"id": product_id}).fetchone()  # read, not a no-op UPDATE
        _audit(conn, "set_stock_slots", product_id, before, {"stock": row["stock"], "stock_slots": slots})
    cache().invalidate([product_key(product_id)], [])
    return row


@blp.route("/products/<id:product_id>/purchase-limit", methods=["PUT"])
@blp.arguments(PurchaseLimitSchema())
@blp.response(200, PurchaseLimitStateSchema)
@blp.alt_response(401, schema=ErrorSchema, description="Missing or wrong admin token")
@blp.alt_response(404, schema=ErrorSchema, description="No such product")
def set_purchase_limit(limit, product_id):
    """Limits the units one customer and one shipping address may buy of this product (a doorbuster); the
    checkout enforces it in its transaction, counting purchases from now on."""
    with database().connection() as conn, conn.transaction():
        if conn.execute(SQL["lock_product"], {"id": product_id}).fetchone() is None:
            raise _not_found(product_id)
        before = conn.execute(SQL["purchase_limit"], {"id": product_id}).fetchone()
        row = conn.execute(SQL["set_purchase_limit"], {"id": product_id, **limit}).fetchone()
        _audit(conn, "set_purchase_limit", product_id, before, row)
    return row


@blp.route("/products/<id:product_id>/purchase-limit", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(401, schema=ErrorSchema, description="Missing or wrong admin token")
@blp.alt_response(404, schema=ErrorSchema, description="The product has no purchase limit")
def remove_purchase_limit(product_id):
    """Lifts the product's purchase limit."""
    with database().connection() as conn, conn.transaction():
        before = conn.execute(SQL["purchase_limit"], {"id": product_id}).fetchone()
        if before is None:
            raise NotFound(
                f"product {product_id} has no purchase limit",
                code="no_purchase_limit",
                details={"product_id": product_id},
            )
        conn.execute(SQL["remove_purchase_limit"], {"id": product_id})
        _audit(conn, "remove_purchase_limit", product_id, before, None)
    return None
