"""Catalog data access: SQL reads behind the Redis cache (products 1 h, category pages and menu 5 min)."""

from __future__ import annotations

import functools
import hashlib
import json
import re
import threading
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from serving import metrics
from serving.cache import cache, jsonable
from serving.cursors import decode_cursor, encode_cursor
from serving.db import database
from serving.errors import BadRequest, NotFound, ServiceUnavailable, Unprocessable
from serving.schemas import SEARCH_WORD, SEARCH_WORD_ERROR
from serving.sql_files import statements

SQL = statements("catalog.sql")

# sort name -> (column, direction shown to the shopper, SQL type of the cursor key)
SORTS: dict[str, tuple[str, str, str]] = {
    "price": ("price", "asc", "numeric"),
    "newest": ("created_at", "desc", "timestamptz"),
    "title": ("title", "asc", "text"),
}
SEARCH_MIN_CHARS, SEARCH_MAX_CHARS = 3, 100
SEARCH_TTL_SECONDS = 60
SEARCHABLE = re.compile(SEARCH_WORD)


@dataclass(frozen=True)
class Page:
    """One page of products with opaque cursors to its neighbours (None at either end)."""

    items: list[dict[str, Any]]
    next_cursor: str | None
    prev_cursor: str | None


def categories() -> list[dict[str, Any]]:
    """Every category with its product count (cached 5 minutes)."""
    return json.loads(categories_json())


def categories_json() -> bytes:
    """The categories as the JSON bytes the API answers."""

    def load() -> list[dict[str, Any]]:
        with database().connection() as conn:
            return conn.execute(SQL["categories_with_counts"]).fetchall()

    return cache().get_or_load_json("categories", "categories", cache().config.category_ttl_seconds, load)


def category_by_code(code: str) -> dict[str, Any]:
    for category in categories():
        if category["code"] == code:
            return category
    raise NotFound(f"no category {code!r}", code="category_not_found", details={"category": code})


def product(product_id: int) -> dict[str, Any]:
    """One product with its category (cached 1 hour); NotFound if there is none."""
    return json.loads(product_json(product_id))


def product_json(product_id: int) -> bytes:
    """The product as JSON bytes straight from the cache (the API's hottest path answers them as they are)."""

    def load() -> dict[str, Any] | None:
        with database().connection() as conn:
            return conn.execute(SQL["product_by_id"], {"id": product_id}).fetchone()

    raw = cache().get_or_load_json("product", product_key(product_id), cache().config.product_ttl_seconds, load)
    if raw == b"null":
        raise NotFound(f"no product {product_id}", code="product_not_found", details={"product_id": product_id})
    return raw


def products(product_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Several products by id in one cache round trip (misses load one by one); unknown ids are left out."""
    found: dict[int, dict[str, Any]] = {}
    raws = cache().get_many("product", [product_key(pid) for pid in product_ids]) if product_ids else []
    for product_id, raw in zip(product_ids, raws, strict=True):
        if raw is None:
            try:
                raw = product_json(product_id)
            except NotFound:
                continue
        value = json.loads(raw)
        if value is not None:
            found[product_id] = value
    return found


def product_key(product_id: int) -> str:
    return f"product:{product_id}"


def category_version(category_code: str) -> str:
    return f"category:{category_code}"


def category_page(category_code: str, sort: str, cursor: str | None, limit: int) -> Page:
    """A page of one category in `sort` order after/before `cursor`."""
    cached = json.loads(category_page_json(category_code, sort, cursor, limit))
    return Page(cached["items"], cached["next_cursor"], cached["prev_cursor"])


def category_page_json(category_code: str, sort: str, cursor: str | None, limit: int) -> bytes:
    """The page as the JSON bytes the API answers (cached 5 min, keyed by the category's version).

    Listings show prices but not stock, so only a price change retires them, not every checkout.
    """
    if sort not in SORTS:
        raise Unprocessable(f"sort must be one of {', '.join(SORTS)}", code="invalid_sort", details={"sort": sort})
    try:
        position = decode_cursor(listing_scope(category_code, sort), cursor) if cursor else None
    except BadRequest:
        category_by_code(category_code)  # an unknown category is a 404 whatever the cursor
        raise
    version = cache().get_version(category_version(category_code))
    key = f"page:{category_code}:v{version}:{sort}:{limit}:{cursor or '-'}"

    def load() -> dict[str, Any]:
        category = category_by_code(category_code)  # only on a miss: a cached page proves the category
        with database().connection() as conn:
            page = _keyset_page(conn, category["id"], sort, position, limit, listing_scope(category_code, sort))
        return {"items": page.items, "next_cursor": page.next_cursor, "prev_cursor": page.prev_cursor}

    return cache().get_or_load_json("category_page", key, cache().config.category_ttl_seconds, load)


def listing_scope(category_code: str, sort: str) -> str:
    """What a listing cursor is signed for: it pages this category in this order only."""
    return f"category:{category_code}:{sort}"


def _keyset_page(
    conn: psycopg.Connection,
    category_id: int,
    sort: str,
    position: tuple[str, str, int] | None,
    limit: int,
    scope: str,
) -> Page:
    column, shown_direction, key_type = SORTS[sort]
    forward = position is None or position[0] == "next"
    ascending = (shown_direction == "asc") == forward
    order = sql.SQL("ASC" if ascending else "DESC")
    query = sql.SQL(
        "SELECT id, asin, title, price, {column} AS sort_key FROM products WHERE category_id = %(category)s"
    ).format(column=sql.Identifier(column))
    params: dict[str, Any] = {"category": category_id, "limit": limit + 1}
    if position is not None:
        query += sql.SQL(" AND ({column}, id) {cmp} (%(key)s::{key_type}, %(id)s)").format(
            column=sql.Identifier(column), cmp=sql.SQL(">" if ascending else "<"), key_type=sql.SQL(key_type)
        )
        params.update(key=position[1], id=position[2])
    query += sql.SQL(" ORDER BY {column} {order}, id {order} LIMIT %(limit)s").format(
        column=sql.Identifier(column), order=order
    )
    try:
        rows = conn.execute(query, params).fetchall()
    except psycopg.errors.DataError:
        raise BadRequest("cursor does not fit this sort order", code="invalid_cursor") from None
    has_more = len(rows) > limit
    rows = rows[:limit]
    if not forward:
        rows.reverse()
    if not rows:
        return Page([], None, None)
    first, last = rows[0], rows[-1]
    more_after = has_more if forward else True
    more_before = position is not None if forward else has_more
    items = [{k: v for k, v in row.items() if k != "sort_key"} for row in rows]
    return Page(
        items,
        encode_cursor(scope, "next", last["sort_key"], last["id"]) if more_after else None,
        encode_cursor(scope, "prev", first["sort_key"], first["id"]) if more_before else None,
    )


def search(text: str, after_id: int, limit: int) -> Page:
    """Products whose title contains `text` (any case), in id order after `after_id`; cached for a minute.

    Bounded three ways: text the trigram index cannot serve is refused (422) before the database sees it; a
    process lets at most `search_connections` searches hold a pooled connection at once (the others wait
    briefly, then 503), so a flood of searches cannot take the checkout's connections; and each client
    address has its own search rate (429, in the endpoints)."""
    if not SEARCH_MIN_CHARS <= len(text) <= SEARCH_MAX_CHARS or "\x00" in text:
        raise Unprocessable(
            f"search text must be {SEARCH_MIN_CHARS} to {SEARCH_MAX_CHARS} characters, without NUL",
            code="invalid_search",
            details={"q": text},
        )
    if not indexable(text):
        raise Unprocessable(f"search text {SEARCH_WORD_ERROR}", code="search_too_vague", details={"q": text})
    key = "search:" + hashlib.sha256(f"{text.casefold()}|{after_id}|{limit}".encode()).hexdigest()[:32]
    rows = cache().get_or_load("search", key, SEARCH_TTL_SECONDS, lambda: _search_rows(text, after_id, limit))
    next_cursor = str(rows[limit - 1]["id"]) if len(rows) > limit else None
    return Page(rows[:limit], next_cursor, None)


def indexable(text: str) -> bool:
    """Whether pg_trgm can use its index for ILIKE '%text%': it extracts trigrams only from runs of at least
    three letters or digits (other characters separate words); without one, every title is scanned."""
    return SEARCHABLE.search(text) is not None


def _search_rows(text: str, after_id: int, limit: int) -> list[dict[str, Any]]:
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    config = cache().config
    if not _search_slots(config.search_connections).acquire(timeout=config.db_pool_wait_seconds):
        metrics.SEARCH_SHED.inc()
        raise ServiceUnavailable("too many searches at once; retry in a second", code="search_busy", details={})
    try:
        with database().connection() as conn, conn.transaction():
            conn.execute("SELECT set_config('statement_timeout', %s, true)", (str(config.search_timeout_ms),))
            rows = conn.execute(
                SQL["search_products"], {"pattern": pattern, "after_id": after_id, "limit": limit + 1}
            ).fetchall()
    except psycopg.errors.QueryCanceled:
        raise ServiceUnavailable(
            "the search took too long; try more specific words", code="search_timeout", details={"q": text}
        ) from None
    finally:
        _search_slots(config.search_connections).release()
    return jsonable(rows)


@functools.cache
def _search_slots(size: int) -> threading.BoundedSemaphore:
    """The process's search slots (threads of a worker share them; each gunicorn worker has its own)."""
    return threading.BoundedSemaphore(size)
