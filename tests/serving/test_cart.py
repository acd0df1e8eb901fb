"""Cart API and pages: add, change, remove, totals; ownership; CSRF on forms."""

from __future__ import annotations

import re
from decimal import Decimal

from tests.serving.conftest import SHIPPING, product_in_stock


def two_products(sql) -> list[dict]:
    rows = sql.execute("SELECT id, price FROM products WHERE stock >= 5 ORDER BY id LIMIT 2").fetchall()
    return [{"id": row[0], "price": row[1]} for row in rows]


def test_add_change_remove_with_totals_from_current_prices(client, sql):
    first, second = two_products(sql)
    client.post("/api/v1/cart/items", json={"product_id": first["id"], "quantity": 2})
    cart = client.post("/api/v1/cart/items", json={"product_id": second["id"]}).get_json()
    assert [(line["product_id"], line["quantity"]) for line in cart["lines"]] == [(first["id"], 2), (second["id"], 1)]
    assert Decimal(cart["total"]) == first["price"] * 2 + second["price"]
    cart = client.put(f"/api/v1/cart/items/{first['id']}", json={"quantity": 5}).get_json()
    assert cart["item_count"] == 6
    assert cart["lines"][0]["line_total"] == f"{first['price'] * 5:.2f}"
    cart = client.delete(f"/api/v1/cart/items/{second['id']}").get_json()
    assert [line["product_id"] for line in cart["lines"]] == [first["id"]]
    assert client.put(f"/api/v1/cart/items/{first['id']}", json={"quantity": 0}).get_json()["lines"] == []


def test_bad_cart_input_names_the_problem(client, sql):
    product = product_in_stock(sql)
    missing = client.post("/api/v1/cart/items", json={"product_id": 987654321})
    assert (missing.status_code, missing.get_json()["code"]) == (404, "product_not_found")
    too_many = client.post("/api/v1/cart/items", json={"product_id": product["id"], "quantity": 100})
    assert too_many.status_code == 422
    assert "quantity" in too_many.get_json()["details"]["json"]
    not_json = client.post("/api/v1/cart/items", data="{oops", content_type="application/json")
    assert not_json.status_code in (400, 422)
    assert set(not_json.get_json()) == {"code", "message", "details"}
    absent = client.delete(f"/api/v1/cart/items/{product['id']}")
    assert (absent.status_code, absent.get_json()["code"]) == (404, "not_in_cart")


def test_another_shoppers_cart_and_orders_are_unreachable(app, sql):
    alice, bob = app.test_client(), app.test_client()
    product = product_in_stock(sql)
    alice.post("/api/v1/cart/items", json={"product_id": product["id"]})
    order = alice.post("/api/v1/checkout", json=SHIPPING, headers={"Idempotency-Key": "a1"}).get_json()
    alice.post("/api/v1/cart/items", json={"product_id": product["id"]})
    assert bob.get("/api/v1/cart").get_json()["lines"] == []
    assert bob.get("/api/v1/orders").get_json()["items"] == []
    response = bob.get(f"/api/v1/orders/{order['id']}")
    assert (response.status_code, response.get_json()["code"]) == (404, "order_not_found")
    assert bob.get(f"/orders/{order['id']}").status_code == 404
    assert alice.get(f"/api/v1/orders/{order['id']}").status_code == 200


def test_forms_without_the_csrf_token_are_refused(client, sql):
    product = product_in_stock(sql)
    response = client.post("/cart/add", data={"product_id": product["id"], "quantity": 1})
    assert response.status_code == 400
    assert b"CSRF" in response.data
    assert client.get("/api/v1/cart").get_json()["lines"] == []


def csrf_token(page: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()


def test_cart_pages_add_update_and_remove(client, sql):
    product = product_in_stock(sql)
    token = csrf_token(client.get(f"/p/{product['id']}").data)
    added = client.post("/cart/add", data={"csrf_token": token, "product_id": product["id"], "quantity": 2})
    assert added.status_code == 303
    page = client.get("/cart").get_data(as_text=True)
    assert f"${product['price'] * 2:.2f}" in page
    client.post("/cart/update", data={"csrf_token": token, "product_id": product["id"], "quantity": 3})
    assert client.get("/api/v1/cart").get_json()["item_count"] == 3
    client.post("/cart/remove", data={"csrf_token": token, "product_id": product["id"]})
    assert "Your cart is empty" in client.get("/cart").get_data(as_text=True)


def test_adding_past_the_line_limit_is_422_and_leaves_the_line_as_it_was(client, sql):
    product = product_in_stock(sql)
    client.post("/api/v1/cart/items", json={"product_id": product["id"], "quantity": 60})
    response = client.post("/api/v1/cart/items", json={"product_id": product["id"], "quantity": 50})
    assert (response.status_code, response.get_json()["code"]) == (422, "invalid_quantity")
    assert response.get_json()["details"] == {"quantity": 110}
    assert [line["quantity"] for line in client.get("/api/v1/cart").get_json()["lines"]] == [60]
