"""The shopper's signed session cookie: created with the first cart write, renewed at most daily, never forged."""

from __future__ import annotations

import datetime as dt

from serving.identity import SessionInterface
from tests.serving.conftest import product_in_stock


def sets_cookie(response) -> bool:
    return any(header.startswith("session=") for header in response.headers.getlist("Set-Cookie"))


def test_an_unchanged_session_is_not_re_signed_on_every_response(client, sql, monkeypatch):
    product = product_in_stock(sql)
    first = client.post("/api/v1/cart/items", json={"product_id": product["id"]})
    assert first.status_code == 200 and sets_cookie(first)  # the shopper's id, signed
    for url in ("/api/v1/cart", f"/api/v1/products/{product['id']}", "/api/v1/orders"):
        response = client.get(url)
        assert response.status_code == 200 and not sets_cookie(response), url
    assert client.get("/api/v1/cart").get_json()["item_count"] == 1  # still the same shopper

    monkeypatch.setattr(SessionInterface, "RENEW_AFTER", dt.timedelta(seconds=-1))  # as if a day had passed
    renewed = client.get("/api/v1/cart")
    assert sets_cookie(renewed)
    assert "Expires=" in renewed.headers["Set-Cookie"]  # a new 30-day expiry from now
    assert client.get("/api/v1/cart").get_json()["item_count"] == 1


def test_a_forged_session_cookie_is_a_new_visitor(client, sql):
    product = product_in_stock(sql)
    client.post("/api/v1/cart/items", json={"product_id": product["id"]})
    client.set_cookie("session", "eyJjdXN0b21lcl9pZCI6MX0.forged.signature")
    assert client.get("/api/v1/cart").get_json()["item_count"] == 0
