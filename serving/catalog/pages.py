"""Catalog pages: home with the category menu, category listings, search, product detail."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from serving.catalog import queries
from serving.errors import StorefrontError
from serving.ratelimit import check_search_rate

bp = Blueprint("catalog", __name__)


@bp.route("/")
def home():
    return render_template("catalog/home.html", categories=queries.categories())


@bp.route("/c/<string:code>")
def category(code: str):
    sort = request.args.get("sort", "price")
    page = queries.category_page(code, sort, request.args.get("cursor"), current_app.config["BFP"].page_size)
    return render_template(
        "catalog/category.html", category=queries.category_by_code(code), page=page, sort=sort, sorts=queries.SORTS
    )


@bp.route("/search")
def search():
    text = request.args.get("q", "").strip()
    page, problem = None, None
    if text:
        try:
            after = int(request.args.get("after", "0") or 0)
        except ValueError:
            after = 0
        try:
            check_search_rate()
            page = queries.search(text, max(after, 0), current_app.config["BFP"].page_size)
        except StorefrontError as exc:
            if exc.status >= 500:
                raise
            problem = exc.message
    return render_template("catalog/search.html", q=text, page=page, problem=problem)


@bp.route("/p/<id:product_id>")
def product(product_id: int):
    return render_template("catalog/product.html", product=queries.product(product_id))
