"""Catalog endpoints of the JSON API."""

from __future__ import annotations

from flask import Response
from flask_smorest import Blueprint

from serving.catalog import queries
from serving.ratelimit import check_search_rate
from serving.schemas import (
    CategorySchema,
    ErrorSchema,
    ListingQuerySchema,
    ProductPageSchema,
    ProductSchema,
    SearchPageSchema,
    SearchQuerySchema,
)

blp = Blueprint("catalog_api", __name__, url_prefix="/api/v1", description="Categories, listings, search, products")


@blp.route("/categories")
@blp.response(200, CategorySchema(many=True))
def list_categories():
    """Every category with its number of products."""
    return Response(queries.categories_json(), mimetype="application/json")


@blp.route("/categories/<string:code>/products")
@blp.arguments(ListingQuerySchema(), location="query")
@blp.response(200, ProductPageSchema)
@blp.alt_response(400, schema=ErrorSchema, description="The cursor is not one this API issued")
@blp.alt_response(404, schema=ErrorSchema, description="No such category")
def list_category_products(args, code):
    """A page of a category, keyset-paginated: pass next_cursor or prev_cursor back as `cursor`."""
    page = queries.category_page_json(code, args["sort"], args["cursor"], args["limit"])
    return Response(page, mimetype="application/json")


@blp.route("/search")
@blp.arguments(SearchQuerySchema(), location="query")
@blp.response(200, SearchPageSchema)
@blp.alt_response(422, schema=ErrorSchema, description="`q` has no word of 3 letters or digits the index can use")
@blp.alt_response(429, schema=ErrorSchema, description="Too many searches from this client address")
@blp.alt_response(503, schema=ErrorSchema, description="The search took too long, or too many run at once")
def search_products(args):
    """Products whose title contains `q` (case-insensitive), in id order; cached for a minute."""
    check_search_rate()
    page = queries.search(args["q"], args["cursor"], args["limit"])
    return {"items": page.items, "next_cursor": page.next_cursor}


@blp.route("/products/<id:product_id>")
@blp.response(200, ProductSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such product")
def get_product(product_id):
    """One product with its price, stock and category."""
    return Response(queries.product_json(product_id), mimetype="application/json")
