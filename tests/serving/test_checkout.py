"""Checkout in one transaction: database prices, stock, idempotency, out of stock, the form."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from decimal import Decimal

import psycopg

from serving import create_app
from support.net import wait_until
from tests.serving.conftest import SHIPPING, product_in_stock


def fill_cart(client, product_id: int, quantity: int = 1) -> None:
    assert client.post("/api/v1/cart/items", json={"product_id": product_id, "quantity": quantity}).status_code == 200


def test_checkout_makes_an_order_at_database_prices_and_decrements_stock(client, sql):
    product = product_in_stock(sql)
    fill_cart(client, product["id"], 2)
    response = client.post("/api/v1/checkout", json=SHIPPING, headers={"Idempotency-Key": "k-1"})
    assert response.status_code == 201
    order = response.get_json()
    assert order["status"] == "pending"
    assert order["shipping"] == SHIPPING
    assert [(line["product_id"], line["quantity"], line["unit_price"]) for line in order["lines"]] == [
        (product["id"], 2, f"{product['price']:.2f}")
    ]
    assert Decimal(order["total"]) == product["price"] * 2
    stock = sql.execute("SELECT stock FROM products WHERE id = %s", (product["id"],)).fetchone()[0]
    assert stock == product["stock"] - 2
    assert client.get("/api/v1/cart").get_json()["lines"] == []
    assert [o["id"] for o in client.get("/api/v1/orders").get_json()["items"]] == [order["id"]]


def test_a_price_sent_by_the_client_is_rejected_not_trusted(client, sql):
    product = product_in_stock(sql)
    fill_cart(client, product["id"])
    response = client.post("/api/v1/checkout", json={**SHIPPING, "total": "0.01"}, headers={"Idempotency-Key": "k-2"})
    assert response.status_code == 422
    assert "total" in response.get_json()["details"]["json"]
    assert sql.execute("SELECT count(*) FROM orders").fetchone()[0] == 0


def test_same_key_same_body_replays_and_different_body_is_422(client, sql):
    product = product_in_stock(sql)
    fill_cart(client, product["id"])
    first = client.post("/api/v1/checkout", json=SHIPPING, headers={"Idempotency-Key": "same"})
    replay = client.post("/api/v1/checkout", json=SHIPPING, headers={"Idempotency-Key": "same"})
    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.get_json() == first.get_json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    other = client.post("/api/v1/checkout", json={**SHIPPING, "city": "Dallas"}, headers={"Idempotency-Key": "same"})
    assert (other.status_code, other.get_json()["code"]) == (422, "idempotency_key_reused")
    assert sql.execute("SELECT count(*) FROM orders").fetchone()[0] == 1


def test_missing_key_empty_cart_and_bad_fields_are_clear_errors(client, sql):
    no_key = client.post("/api/v1/checkout", json=SHIPPING)
    assert no_key.status_code == 422
    assert "Idempotency-Key" in no_key.get_json()["details"]["headers"]
    empty = client.post("/api/v1/checkout", json=SHIPPING, headers={"Idempotency-Key": "e"})
    assert (empty.status_code, empty.get_json()["code"]) == (409, "cart_empty")
    fill_cart(client, product_in_stock(sql)["id"])
    bad = client.post(
        "/api/v1/checkout", json={**SHIPPING, "zip": "7330", "state": "XX"}, headers={"Idempotency-Key": "b"}
    )
    assert bad.status_code == 422
    assert set(bad.get_json()["details"]["json"]) == {"zip", "state"}


def test_out_of_stock_is_409_naming_the_items_and_changes_nothing(client, sql):
    product = product_in_stock(sql)
    other = sql.execute(
        "SELECT id, stock FROM products WHERE stock > 3 AND id <> %s LIMIT 1", (product["id"],)
    ).fetchone()
    fill_cart(client, product["id"], 2)
    fill_cart(client, other[0], 1)
    sql.execute("UPDATE products SET stock = 1 WHERE id = %s", (product["id"],))
    response = client.post("/api/v1/checkout", json=SHIPPING, headers={"Idempotency-Key": "o"})
    assert response.status_code == 409
    body = response.get_json()
    assert body["code"] == "out_of_stock"
    assert [(i["product_id"], i["requested"], i["available"]) for i in body["details"]["items"]] == [
        (product["id"], 2, 1)
    ]
    assert sql.execute("SELECT stock FROM products WHERE id = %s", (other[0],)).fetchone()[0] == other[1]
    assert sql.execute("SELECT count(*) FROM orders").fetchone()[0] == 0
    assert len(client.get("/api/v1/cart").get_json()["lines"]) == 2  # kept, so the shopper can fix it


def form_fields(page: str) -> dict[str, str]:
    return dict(re.findall(r'name="(csrf_token|idempotency_key)" value="([^"]+)"', page))


def test_checkout_form_shows_field_messages_then_places_the_order_once(client, sql):
    product = product_in_stock(sql)
    fill_cart(client, product["id"])
    hidden = form_fields(client.get("/checkout").get_data(as_text=True))
    invalid = client.post("/checkout", data={**hidden, **SHIPPING, "zip": "abc", "name": " "})
    assert invalid.status_code == 422
    page = invalid.get_data(as_text=True)
    assert "must be 12345 or 12345-6789" in page
    assert "Length must be between 1 and 100." in page  # the name was blank
    assert form_fields(page)["idempotency_key"] == hidden["idempotency_key"]  # a resubmission keeps its token
    placed = client.post("/checkout", data={**hidden, **SHIPPING})
    assert placed.status_code == 303
    again = client.post("/checkout", data={**hidden, **SHIPPING})  # double-click: the same order
    assert again.headers["Location"] == placed.headers["Location"]
    confirmation = client.get(placed.headers["Location"]).get_data(as_text=True)
    assert "Thank you" in confirmation
    assert sql.execute("SELECT count(*) FROM orders").fetchone()[0] == 1


def test_too_many_checkout_attempts_get_429_with_retry_after(config, sql):
    app = create_app(replace(config, checkout_rate_limit="2 per minute"))
    client = app.test_client()
    fill_cart(client, product_in_stock(sql)["id"])
    answers = [client.post("/api/v1/checkout", json=SHIPPING, headers={"Idempotency-Key": f"r{i}"}) for i in range(3)]
    assert [a.status_code for a in answers] == [201, 409, 429]  # placed, then the cart was empty, then limited
    assert answers[2].get_json()["code"] == "too_many_requests"
    assert 0 < int(answers[2].headers["Retry-After"]) <= 60
    other_shopper = app.test_client()  # the limit is per shopper
    fill_cart(other_shopper, product_in_stock(sql)["id"])
    assert other_shopper.post("/api/v1/checkout", json=SHIPPING, headers={"Idempotency-Key": "x"}).status_code == 201
    app.extensions["bfp_database"].close()


def test_an_order_waiting_on_another_orders_lines_of_the_product_is_not_held_up(client, sql, oltp_url):
    """Another order's lines of the product (their foreign key check holds KEY SHARE on its row until that order
    commits) do not hold this checkout up: the row is locked last, in a mode they do not conflict with."""
    product = product_in_stock(sql)
    assert client.post("/api/v1/cart/items", json={"product_id": product["id"]}).status_code == 200
    with psycopg.connect(oltp_url) as other_order:
        other_order.execute("SELECT 1 FROM products WHERE id = %s FOR KEY SHARE", (product["id"],))
        placed = client.post("/api/v1/checkout", json=SHIPPING, headers={"Idempotency-Key": "not-held"})
        assert placed.status_code == 201  # before: a 503 after the lock timeout, every order queued on the row
        other_order.rollback()


def wait_for_a_row_lock_wait(sql) -> None:
    """Until a session waits for a row another transaction holds (the checkout queued behind the test's)."""
    wait_until(
        lambda: sql.execute(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype IN ('transactionid', 'tuple')"
        ).fetchone()[0],
        10,
        "the checkout to wait for the product's row",
        every=0.02,
    )


def test_a_line_sold_out_by_another_order_after_it_was_read_is_a_409_and_makes_nothing(client, sql, oltp_url):
    """The row is locked by the stock update, after the limits: an order that read the stock before another one
    took it finds the line short there, and is refused with the stock left."""
    product = product_in_stock(sql)
    fill_cart(client, product["id"], 1)
    orders_before = sql.execute("SELECT count(*) FROM orders").fetchone()[0]
    with psycopg.connect(oltp_url) as other_order, ThreadPoolExecutor(1) as pool:
        other_order.execute("UPDATE products SET stock = 0 WHERE id = %s", (product["id"],))  # not committed yet
        placing = pool.submit(client.post, "/api/v1/checkout", json=SHIPPING, headers={"Idempotency-Key": "late"})
        wait_for_a_row_lock_wait(sql)
        other_order.commit()
        response = placing.result(timeout=30)
    assert response.status_code == 409
    assert [(i["product_id"], i["available"]) for i in response.get_json()["details"]["items"]] == [(product["id"], 0)]
    assert sql.execute("SELECT count(*) FROM orders").fetchone()[0] == orders_before
    assert sql.execute("SELECT stock FROM products WHERE id = %s", (product["id"],)).fetchone()[0] == 0


def test_a_product_split_over_slots_after_it_was_read_is_a_503_to_retry_and_the_retry_buys_from_a_slot(
    client, sql, oltp_url
):
    product = product_in_stock(sql)
    fill_cart(client, product["id"], 1)
    with psycopg.connect(oltp_url) as admin, ThreadPoolExecutor(1) as pool:
        # what PUT .../stock-slots does, held open: the stock moves from the product's row into two slots
        stock = admin.execute("SELECT stock FROM products WHERE id = %s FOR UPDATE", (product["id"],)).fetchone()[0]
        admin.execute(
            "INSERT INTO product_stock_slots (product_id, slot, stock) VALUES (%s, 1, %s), (%s, 2, %s)",
            (product["id"], stock - stock // 2, product["id"], stock // 2),
        )
        admin.execute("UPDATE products SET stock = 0, stock_slots = 2 WHERE id = %s", (product["id"],))
        placing = pool.submit(client.post, "/api/v1/checkout", json=SHIPPING, headers={"Idempotency-Key": "split"})
        wait_for_a_row_lock_wait(sql)
        admin.commit()
        busy = placing.result(timeout=30)
    assert (busy.status_code, busy.get_json()["code"], busy.headers.get("Retry-After")) == (503, "product_busy", "1")
    retried = client.post("/api/v1/checkout", json=SHIPPING, headers={"Idempotency-Key": "split"})
    assert retried.status_code == 201
    assert (
        sql.execute("SELECT sum(stock) FROM product_stock_slots WHERE product_id = %s", (product["id"],)).fetchone()[0]
        == stock - 1
    )
