"""Hostile input, by class: never a 5xx, and the same answer from a form as from the API for the same value.
Hypothesis draws the values (text with NUL and other control characters, huge lengths; integers of any size and
sign, fractions, booleans, numeric strings); fixed cases pin the limits (body size, JSON depth and digits, URL
and header length), the admin header and the out-of-stock message."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serving.validation import FORM_INTEGER, MAX_BODY_BYTES, MAX_HEADER_BYTES, MAX_URL_BYTES
from tests.serving.conftest import ADMIN_TOKEN, SHIPPING, product_in_stock

HOSTILE = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], database=None
)
# Values as a JSON client sends them; a form sends their text. A digit string is left out: in a form it is
# the number itself, in JSON a string (refused).
INTEGERS = st.integers() | st.integers(min_value=2**63 - 2, max_value=2**70) | st.integers(max_value=-1)
FRACTIONS = st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not f.is_integer())
TEXT = st.text(max_size=300).filter(lambda t: not FORM_INTEGER.fullmatch(t))
NUMBERS = INTEGERS | FRACTIONS | st.booleans() | TEXT


def form_text(value) -> str:
    return str(value)


def outcome(response) -> str:
    """A response's meaning, comparable across the API (JSON, 200/201) and the pages (redirects, HTML)."""
    assert response.status_code < 500 or response.status_code == 503, response.get_data(as_text=True)[:500]
    return "ok" if response.status_code < 400 else str(response.status_code)


@pytest.fixture
def form_app(app):
    app.config["WTF_CSRF_ENABLED"] = False  # CSRF has its own test; here the values are the subject
    return app


@given(product_id=NUMBERS, quantity=NUMBERS)
@HOSTILE
def test_adding_to_the_cart_answers_the_same_from_the_form_and_the_api(form_app, product_id, quantity):
    api = form_app.test_client().post("/api/v1/cart/items", json={"product_id": product_id, "quantity": quantity})
    form = form_app.test_client().post(
        "/cart/add", data={"product_id": form_text(product_id), "quantity": form_text(quantity)}
    )
    assert outcome(api) == outcome(form)


@given(quantity=NUMBERS)
@HOSTILE
def test_setting_a_quantity_answers_the_same_from_the_form_and_the_api(form_app, sql, quantity):
    product = product_in_stock(sql)["id"]
    api = form_app.test_client().put(f"/api/v1/cart/items/{product}", json={"quantity": quantity})
    form_data = {"product_id": str(product), "quantity": form_text(quantity)}
    form = form_app.test_client().post("/cart/update", data=form_data)
    assert outcome(api) == outcome(form)


@given(
    field=st.sampled_from(sorted(SHIPPING)),
    value=st.text(max_size=400),
    key=st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=300),
)
@HOSTILE
def test_checking_out_answers_the_same_from_the_form_and_the_api(form_app, sql, field, value, key):
    product = product_in_stock(sql)["id"]
    shipping = {**SHIPPING, field: value}
    api_client, form_client = form_app.test_client(), form_app.test_client()
    assert api_client.post("/api/v1/cart/items", json={"product_id": product}).status_code == 200
    assert form_client.post("/cart/add", data={"product_id": str(product)}).status_code == 303
    api = api_client.post("/api/v1/checkout", json=shipping, headers={"Idempotency-Key": key})
    form = form_client.post("/checkout", data={**shipping, "idempotency_key": key})
    assert outcome(api) == outcome(form)


@given(price=st.text(max_size=40) | st.integers().map(str), stock=NUMBERS)
@HOSTILE
def test_admin_changes_never_reach_the_database_unchecked(client, sql, price, stock):
    """A valid value is stored exactly (with its audit row); anything else is a 422 and the row is unchanged."""
    product = product_in_stock(sql)["id"]
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    valid = {
        "price": isinstance(price, str) and re.fullmatch(r"[0-9]{1,6}(\.[0-9]{1,2})?", price) is not None,
        "stock": type(stock) is int and 0 <= stock <= 10_000_000,
    }
    read = "SELECT price, stock, (SELECT count(*) FROM admin_audit) FROM products WHERE id = %s"
    for column, value in (("price", price), ("stock", stock)):
        row = sql.execute(read, (product,)).fetchone()
        before, audits = row[0 if column == "price" else 1], row[2]
        response = client.patch(f"/api/v1/admin/products/{product}", json={column: value}, headers=headers)
        row = sql.execute(read, (product,)).fetchone()
        after, audits_after = row[0 if column == "price" else 1], row[2]
        assert response.status_code == (200 if valid[column] else 422), (column, value, response.get_data()[:300])
        if valid[column]:
            assert after == (Decimal(value) if column == "price" else value) and audits_after == audits + 1
        else:
            assert (after, audits_after) == (before, audits)


def test_nul_in_shipping_fields_and_an_over_long_key_are_422_from_form_and_api(form_app, sql):
    product = product_in_stock(sql)["id"]
    for field, value, key in (("name", "Ann\x00", "k1"), ("city", "\x00\x00", "k2"), ("name", "Ann", "k" * 256)):
        api_client, form_client = form_app.test_client(), form_app.test_client()
        api_client.post("/api/v1/cart/items", json={"product_id": product})
        form_client.post("/cart/add", data={"product_id": str(product)})
        api = api_client.post("/api/v1/checkout", json={**SHIPPING, field: value}, headers={"Idempotency-Key": key})
        form = form_client.post("/checkout", data={**SHIPPING, field: value, "idempotency_key": key})
        assert (api.status_code, form.status_code) == (422, 422), (field, key[:10])


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"product_id": 1, "quantity": 1.5}, 422),  # a fraction is refused, not truncated
        ({"product_id": 1, "quantity": "2"}, 422),  # a numeric string is not an integer
        ({"product_id": True}, 422),
        ({"product_id": 2**63}, 422),  # past bigint
        ({"product_id": -(2**63) - 1}, 422),
    ],
)
def test_integers_are_strict_and_within_the_column(client, body, status):
    response = client.post("/api/v1/cart/items", json=body)
    assert response.status_code == status
    assert response.get_json()["details"]["json"]


def test_json_past_the_digit_limit_or_too_deep_is_400_and_a_large_body_413(client):
    huge = client.post("/api/v1/cart/items", data='{"product_id": ' + "9" * 5000 + "}", content_type="application/json")
    assert (huge.status_code, huge.get_json()["code"]) == (400, "invalid_json")
    deep = client.post("/api/v1/cart/items", data="[" * 20_000 + "]" * 20_000, content_type="application/json")
    assert (deep.status_code, deep.get_json()["code"]) == (400, "json_too_deep")
    large = client.post(
        "/api/v1/cart/items", data=json.dumps({"pad": "x" * MAX_BODY_BYTES}), content_type="application/json"
    )
    assert (large.status_code, large.get_json()["code"]) == (413, "payload_too_large")
    page = client.post("/cart/add", data={"product_id": "1", "pad": "x" * MAX_BODY_BYTES})
    assert page.status_code == 413 and "<html" in page.get_data(as_text=True).lower()


def test_a_long_url_is_414_and_a_long_header_431_in_the_error_shape(client):
    long_url = client.get("/api/v1/search", query_string={"q": "x" * MAX_URL_BYTES})
    assert (long_url.status_code, long_url.get_json()["code"]) == (414, "uri_too_long")
    long_header = client.get("/api/v1/categories", headers={"X-Padding": "y" * MAX_HEADER_BYTES})
    assert (long_header.status_code, long_header.get_json()["code"]) == (431, "request_header_fields_too_large")


def test_a_money_value_with_a_trailing_newline_is_refused(client, sql):
    product = product_in_stock(sql)["id"]
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    for price in ("19.99\n", "19.999", "1e3", "-1.00", " 19.99"):
        response = client.patch(f"/api/v1/admin/products/{product}", json={"price": price}, headers=headers)
        assert response.status_code == 422, price
    accepted = client.patch(f"/api/v1/admin/products/{product}", json={"price": "19.99"}, headers=headers)
    assert accepted.status_code == 200


@pytest.mark.parametrize(
    ("header", "status"),
    [
        (f"Bearer {ADMIN_TOKEN}", 200),
        (ADMIN_TOKEN, 401),  # a bare token
        (f"Bearer  {ADMIN_TOKEN}", 401),  # two spaces
        (f"Bearer\t{ADMIN_TOKEN}", 401),  # a tab
        (f"bearer {ADMIN_TOKEN}", 401),
        (f"Basic {ADMIN_TOKEN}", 401),
        (f"Bearer {ADMIN_TOKEN}x", 401),
        (f"Bearer {ADMIN_TOKEN[:-1]}", 401),
        (f"Bearer {ADMIN_TOKEN} {ADMIN_TOKEN}", 401),
        ("Bearer ", 401),
        ("", 401),
    ],
)
def test_admin_auth_is_exactly_bearer_and_the_token(client, sql, header, status):
    product = product_in_stock(sql)["id"]
    headers = {"Authorization": header} if header else {}
    response = client.patch(f"/api/v1/admin/products/{product}", json={}, headers=headers)
    assert response.status_code == status


def test_an_id_past_bigint_in_a_path_is_a_404(client):
    for path in (f"/api/v1/products/{2**63}", f"/p/{2**63}", f"/api/v1/orders/{10**30}"):
        assert client.get(path).status_code == 404, path
    assert client.put(f"/api/v1/cart/items/{2**63}", json={"quantity": 1}).status_code == 404


def test_the_out_of_stock_message_names_titles_whole(client, sql):
    product = product_in_stock(sql)
    title = sql.execute("SELECT title FROM products WHERE id = %s", (product["id"],)).fetchone()[0]
    client.post("/api/v1/cart/items", json={"product_id": product["id"], "quantity": 2})
    sql.execute("UPDATE products SET stock = 1 WHERE id = %s", (product["id"],))
    response = client.post("/api/v1/checkout", json=SHIPPING, headers={"Idempotency-Key": "short"})
    assert response.status_code == 409
    assert response.get_json()["message"] == f"not enough stock for: {title}"
