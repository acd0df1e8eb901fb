"""Catalog pages and API: keyset pagination, search, product detail, escaping, errors."""

from __future__ import annotations

import base64
import json

import pytest

from serving.catalog.queries import SORTS
from tests.serving.conftest import product_in_stock


def largest_category(client) -> dict:
    response = client.get("/api/v1/categories")
    assert response.status_code == 200, response.get_json()
    return max(response.get_json(), key=lambda c: c["product_count"])


def walk(client, code: str, sort: str, limit: int) -> tuple[list[dict], list[list[int]]]:
    """Follows next_cursor from the first page to the last; returns the items and each page's ids."""
    items, pages, cursor = [], [], None
    while True:
        query = {"sort": sort, "limit": limit, **({"cursor": cursor} if cursor else {})}
        body = client.get(f"/api/v1/categories/{code}/products", query_string=query).get_json()
        items += body["items"]
        pages.append([item["id"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return items, pages


@pytest.mark.parametrize("sort", list(SORTS))
def test_keyset_pages_cover_a_category_once_in_sort_order(client, sql, sort):
    category = largest_category(client)
    items, pages = walk(client, category["code"], sort, limit=4)
    column, direction, _ = SORTS[sort]
    expected = [
        row[0]
        for row in sql.execute(
            f"SELECT p.id FROM products p JOIN categories c ON c.id = p.category_id WHERE c.code = %s "  # noqa: S608
            f"ORDER BY p.{column} {direction}, p.id {direction}",
            (category["code"],),
        ).fetchall()
    ]
    assert [item["id"] for item in items] == expected
    assert len(expected) == category["product_count"] > 8
    assert all(len(page) == 4 for page in pages[:-1])


def test_previous_cursor_returns_the_page_before(client):
    code = largest_category(client)["code"]
    url = f"/api/v1/categories/{code}/products"
    first = client.get(url, query_string={"limit": 3}).get_json()
    second = client.get(url, query_string={"limit": 3, "cursor": first["next_cursor"]}).get_json()
    back = client.get(url, query_string={"limit": 3, "cursor": second["prev_cursor"]}).get_json()
    assert first["prev_cursor"] is None
    assert back["items"] == first["items"]
    assert back["prev_cursor"] is None


def unsigned_cursor(direction, key, row_id) -> str:
    """A well-formed cursor of the old, unsigned kind: JSON in base64."""
    raw = json.dumps([direction, key, row_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


FORGED = {
    "not a cursor": "not-a-cursor",
    "NaN key": unsigned_cursor("next", "NaN", 1),
    "Infinity key": unsigned_cursor("next", "Infinity", 1),
    "id past bigint": unsigned_cursor("next", "1.00", 2**63),
    "unsigned but plausible": unsigned_cursor("next", "5.00", 10),
}


@pytest.mark.parametrize("sort", list(SORTS))
@pytest.mark.parametrize("forgery", list(FORGED))
def test_a_forged_cursor_is_a_400_naming_the_parameter(client, sort, forgery):
    code = largest_category(client)["code"]
    cursor = FORGED[forgery]
    response = client.get(f"/api/v1/categories/{code}/products", query_string={"cursor": cursor, "sort": sort})
    assert response.status_code == 400
    assert response.get_json() == {
        "code": "invalid_cursor",
        "message": "cursor is not one this API issued for this listing; start again without it",
        "details": {"cursor": cursor[:100]},
    }


@pytest.mark.parametrize("sort", list(SORTS))
def test_a_cursor_only_pages_the_listing_it_was_issued_for(client, sort):
    categories = sorted(client.get("/api/v1/categories").get_json(), key=lambda c: c["product_count"], reverse=True)
    first, second = categories[0]["code"], categories[1]["code"]
    issued = client.get(f"/api/v1/categories/{first}/products", query_string={"limit": 2, "sort": sort}).get_json()
    cursor = issued["next_cursor"]
    other_sort = next(s for s in SORTS if s != sort)
    for code, used_sort in ((second, sort), (first, other_sort)):
        response = client.get(f"/api/v1/categories/{code}/products", query_string={"cursor": cursor, "sort": used_sort})
        assert (response.status_code, response.get_json()["code"]) == (400, "invalid_cursor")
    payload, signature = cursor.rsplit(".", 1)
    tampered = payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    response = client.get(f"/api/v1/categories/{first}/products", query_string={"cursor": tampered, "sort": sort})
    assert response.status_code == 400
    assert client.get(f"/c/{first}", query_string={"cursor": tampered, "sort": sort}).status_code == 400  # the page


def test_unknown_category_and_product_are_404_json(client):
    assert client.get("/api/v1/categories/NOPE/products").get_json()["code"] == "category_not_found"
    response = client.get("/api/v1/products/999999999")
    assert response.status_code == 404
    assert response.get_json()["details"] == {"product_id": 999999999}


def test_invalid_query_parameters_are_422_with_the_field(client):
    code = largest_category(client)["code"]
    response = client.get(f"/api/v1/categories/{code}/products", query_string={"sort": "random", "limit": 0})
    assert response.status_code == 422
    assert set(response.get_json()["details"]["query"]) == {"sort", "limit"}


def test_search_finds_titles_containing_the_words_case_insensitively(client, sql):
    sql.execute("UPDATE products SET title = 'Zebra Striped Mug, Large' WHERE id = (SELECT min(id) FROM products)")
    body = client.get("/api/v1/search", query_string={"q": "zEbRa sTrIpEd"}).get_json()
    assert [item["title"] for item in body["items"]] == ["Zebra Striped Mug, Large"]


@pytest.mark.parametrize("text", ["mug' OR 1=1 --", "mug%%%", "___mug", "'; DROP TABLE products; --", "back\\slash"])
def test_sql_metacharacters_in_search_are_plain_text(client, sql, text):
    before = sql.execute("SELECT count(*) FROM products").fetchone()[0]
    response = client.get("/api/v1/search", query_string={"q": text})
    assert response.status_code == 200
    assert response.get_json()["items"] == []  # no title contains these characters literally
    assert client.get("/search", query_string={"q": text}).status_code == 200
    assert sql.execute("SELECT count(*) FROM products").fetchone()[0] == before


def test_a_nul_character_is_rejected_not_a_500(client):
    response = client.get("/api/v1/search", query_string={"q": "mug\x00mug"})
    assert response.status_code == 422
    assert "q" in response.get_json()["details"]["query"]


def test_search_text_too_short_is_422_in_the_api_and_a_message_on_the_page(client):
    assert client.get("/api/v1/search", query_string={"q": "ab"}).status_code == 422
    page = client.get("/search", query_string={"q": "ab"})
    assert page.status_code == 200
    assert b"3 to 100 characters" in page.data


def test_a_script_in_a_title_renders_escaped(client, sql):
    product = product_in_stock(sql)
    sql.execute("UPDATE products SET title = %s WHERE id = %s", ('<script>alert("x")</script> Mug', product["id"]))
    for url in (f"/p/{product['id']}", f"/c/{product['category']}?sort=title", "/search?q=script"):
        page = client.get(url).get_data(as_text=True)
        assert "&lt;script&gt;alert(" in page, url
        assert "<script>alert" not in page, url


def test_pages_render_the_menu_listing_and_product(client, sql):
    product = product_in_stock(sql)
    home = client.get("/").get_data(as_text=True)
    assert f'href="/c/{product["category"]}"' in home
    cheapest = sql.execute(
        "SELECT p.id FROM products p JOIN categories c ON c.id = p.category_id WHERE c.code = %s "
        "ORDER BY p.price, p.id LIMIT 1",
        (product["category"],),
    ).fetchone()[0]
    listing = client.get(f"/c/{product['category']}").get_data(as_text=True)
    assert f'href="/p/{cheapest}"' in listing
    detail = client.get(f"/p/{product['id']}").get_data(as_text=True)
    assert f"${product['price']}" in detail
    assert "Add to cart" in detail
