"""Admin endpoint: change a product's price or stock (bearer token from BFP_ADMIN_TOKEN)."""

from __future__ import annotations

import hmac
import re

from flask import current_app, request
from flask_smorest import Blueprint

from serving.cache import cache
from serving.catalog.queries import category_version, product_key
from serving.db import database
from serving.errors import NotFound, Unauthorized
from serving.schemas import ErrorSchema, ProductChangeSchema, ProductSchema
from serving.sql_files import statements

SQL = statements("admin.sql")
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


@blp.route("/products/<id:product_id>", methods=["PATCH"])
@blp.arguments(ProductChangeSchema())
@blp.response(200, ProductSchema)
@blp.alt_response(401, schema=ErrorSchema, description="Missing or wrong admin token")
@blp.alt_response(404, schema=ErrorSchema, description="No such product")
def change_product(change, product_id):
    """Sets a product's price and/or stock; the cached product and its category pages are dropped after commit."""
    with database().connection() as conn:
        row = conn.execute(
            SQL["update_product"], {"id": product_id, "price": change.get("price"), "stock": change.get("stock")}
        ).fetchone()
    if row is None:
        raise NotFound(f"no product {product_id}", code="product_not_found", details={"product_id": product_id})
    cache().invalidate([product_key(product_id)], [category_version(row["category_code"])])
    return row
