"""A doorbuster's stock split over slots (sql/oltp/0011_stock_slots.sql): the total kept through a split and a
stock change, shown as one figure, never oversold by concurrent checkouts, its purchase limits still held
without the product's row lock, and a checkout not held up by another one holding a slot."""

from __future__ import annotations

import threading
import uuid

import psycopg
import pytest
from psycopg.rows import dict_row

from serving.checkout.service import LimitPolicy, order_transaction
from serving.errors import Conflict
from tests.serving.conftest import ADMIN_TOKEN, SHIPPING, product_in_stock

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def split(client, product_id: int, slots: int):
    return client.put(f"/api/v1/admin/products/{product_id}/stock-slots", json={"slots": slots}, headers=ADMIN)


def slots_of(sql, product_id: int) -> list[int]:
    rows = sql.execute("SELECT stock FROM product_stock_slots WHERE product_id = %s ORDER BY slot", (product_id,))
    return [row[0] for row in rows]


def test_a_split_keeps_the_total_shows_one_figure_and_gathers_back(client, sql):
    product = product_in_stock(sql)
    sql.execute("UPDATE products SET stock = 10 WHERE id = %s", (product["id"],))
    answer = split(client, product["id"], 4)
    assert answer.status_code == 200 and answer.get_json()["stock"] == 10
    assert slots_of(sql, product["id"]) == [3, 3, 2, 2]
    assert sql.execute("SELECT stock, stock_slots FROM products WHERE id = %s", (product["id"],)).fetchone() == (0, 4)
    assert client.get(f"/api/v1/products/{product['id']}").get_json()["stock"] == 10
    # a stock change on a split product is laid out over its slots
    changed = client.patch(f"/api/v1/admin/products/{product['id']}", json={"stock": 7}, headers=ADMIN)
    assert changed.status_code == 200 and changed.get_json()["stock"] == 7
    assert slots_of(sql, product["id"]) == [2, 2, 2, 1]
    gathered = split(client, product["id"], 0)
    assert gathered.status_code == 200 and gathered.get_json()["stock"] == 7
    assert slots_of(sql, product["id"]) == []
    assert sql.execute("SELECT stock, stock_slots FROM products WHERE id = %s", (product["id"],)).fetchone() == (7, 0)
    actions = sql.execute(
        "SELECT action FROM admin_audit WHERE product_id = %s ORDER BY id", (product["id"],)
    ).fetchall()
    assert [a[0] for a in actions] == ["set_stock_slots", "change_product", "set_stock_slots"]


@pytest.mark.parametrize("body", [{"slots": 65}, {"slots": -1}, {"slots": "4"}, {"slots": True}, {}])
def test_a_bad_slot_count_is_422_naming_the_field(client, sql, body):
    answer = client.put(f"/api/v1/admin/products/{product_in_stock(sql)['id']}/stock-slots", json=body, headers=ADMIN)
    assert answer.status_code == 422 and "slots" in answer.get_data(as_text=True)


def test_an_unknown_product_is_404_and_no_token_is_401(client):
    assert split(client, 10**12, 4).status_code == 404
    assert client.put("/api/v1/admin/products/1/stock-slots", json={"slots": 4}).status_code == 401


def customers(oltp_url: str, count: int) -> list[int]:
    with psycopg.connect(oltp_url, autocommit=True) as conn:
        return [conn.execute("INSERT INTO customers DEFAULT VALUES RETURNING id").fetchone()[0] for _ in range(count)]


def checkouts_at_once(oltp_url: str, carts: list[tuple[int, dict, dict, str]]) -> list[str]:
    """Each (customer, cart, shipping, network) checked out on its own connection, all released together; each
    one's outcome: "placed" or the Conflict's code."""
    outcomes, barrier = [None] * len(carts), threading.Barrier(len(carts))

    def buyer(slot: int) -> None:
        customer, cart, shipping, network = carts[slot]
        try:
            with psycopg.connect(oltp_url, autocommit=True, row_factory=dict_row) as conn:
                barrier.wait()
                order_transaction(conn, customer, cart, shipping, uuid.uuid4().hex, network, LimitPolicy(0, 0))
                outcomes[slot] = "placed"
        except Conflict as refused:
            outcomes[slot] = refused.code
        except Exception as exc:  # shown in the assertion: anything but an order or a refusal is a defect
            outcomes[slot] = f"{type(exc).__name__}: {exc}"
            barrier.abort()

    threads = [threading.Thread(target=buyer, args=(slot,)) for slot in range(len(carts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_concurrent_checkouts_of_a_split_product_never_oversell(client, sql, oltp_url):
    product = product_in_stock(sql)["id"]
    sql.execute("UPDATE products SET stock = 20 WHERE id = %s", (product,))
    assert split(client, product, 4).status_code == 200
    buyers = customers(oltp_url, 30)
    outcomes = checkouts_at_once(
        oltp_url, [(c, {product: 1}, {**SHIPPING, "address": f"{c} Elm St"}, f"net-{c}") for c in buyers]
    )
    # every unit sold while any was left (a slot emptied during a wait is not "sold out"), none twice
    assert sorted(outcomes) == ["out_of_stock"] * 10 + ["placed"] * 20, outcomes
    assert slots_of(sql, product) == [0, 0, 0, 0]
    sold = sql.execute("SELECT sum(quantity) FROM order_items WHERE product_id = %s", (product,)).fetchone()[0]
    assert sold == 20


def test_a_split_products_limits_hold_without_its_row_lock(client, sql, oltp_url):
    product = product_in_stock(sql)["id"]
    sql.execute("UPDATE products SET stock = 100 WHERE id = %s", (product,))
    assert split(client, product, 8).status_code == 200
    limited = client.put(
        f"/api/v1/admin/products/{product}/purchase-limit", json={"per_customer": 1, "per_address": 2}, headers=ADMIN
    )
    assert limited.status_code == 200
    # ten identities of one network at once: the network may buy what one customer may
    identities = customers(oltp_url, 10)
    one_network = [(c, {product: 1}, {**SHIPPING, "address": f"{c} Oak St"}, "203.0.113.0/24") for c in identities]
    outcomes = checkouts_at_once(oltp_url, one_network)
    assert sorted(outcomes) == ["placed"] + ["purchase_limit"] * 9, outcomes
    # six identities from six networks, one household: two per household
    household = [(c, {product: 1}, SHIPPING, f"198.51.{c % 250}.0/24") for c in customers(oltp_url, 6)]
    outcomes = checkouts_at_once(oltp_url, household)
    assert sorted(outcomes) == ["placed"] * 2 + ["purchase_limit"] * 4, outcomes
    assert sum(slots_of(sql, product)) == 97
    network = sql.execute(
        "SELECT quantity FROM purchase_tallies WHERE product_id = %s AND holder = 'network:203.0.113.0/24'", (product,)
    ).fetchone()
    assert network == (1,)  # the refused orders' counts were rolled back with them


def test_a_checkout_takes_a_free_slot_while_another_holds_one_and_an_order_takes_one_slots_units(client, sql, oltp_url):
    product = product_in_stock(sql)["id"]
    sql.execute("UPDATE products SET stock = 3 WHERE id = %s", (product,))
    assert split(client, product, 2).status_code == 200  # slots of 2 and 1
    with psycopg.connect(oltp_url) as other_checkout:
        other_checkout.execute(
            "SELECT 1 FROM product_stock_slots WHERE product_id = %s AND slot = 1 FOR NO KEY UPDATE", (product,)
        )
        (buyer,) = customers(oltp_url, 1)
        with psycopg.connect(oltp_url, autocommit=True, row_factory=dict_row) as conn:
            conn.execute("SET lock_timeout = '1s'")
            order_transaction(conn, buyer, {product: 1}, SHIPPING, "free-slot", "net-a", LimitPolicy(0, 0))
        other_checkout.rollback()
    assert slots_of(sql, product) == [2, 0]
    # 2 in stock, but in one slot only 2: an order of 2 fits, and then none of 1 (stock 0)
    (second,) = customers(oltp_url, 1)
    with psycopg.connect(oltp_url, autocommit=True, row_factory=dict_row) as conn:
        sql.execute("UPDATE product_stock_slots SET stock = 1 WHERE product_id = %s", (product,))  # 1 and 1
        with pytest.raises(Conflict) as refused:
            order_transaction(conn, second, {product: 2}, SHIPPING, "too-many", "net-b", LimitPolicy(0, 0))
        assert refused.value.code == "out_of_stock" and "one slot" in str(refused.value)
        order_transaction(conn, second, {product: 1}, SHIPPING, "one", "net-b", LimitPolicy(0, 0))
    assert sorted(slots_of(sql, product)) == [0, 1]


def test_a_split_product_near_sold_out_is_recounted_not_lowered_in_the_cache(client, sql, oltp_url):
    """Its stock as one order saw it misses the other slots' checkouts in flight: the cached entry is dropped
    (the next read sums the slots) instead of lowered to a figure that may be high."""
    product = product_in_stock(sql)["id"]
    sql.execute("UPDATE products SET stock = 300 WHERE id = %s", (product,))
    assert split(client, product, 2).status_code == 200
    (buyer,) = customers(oltp_url, 1)
    with psycopg.connect(oltp_url, autocommit=True, row_factory=dict_row) as conn:
        plenty = order_transaction(conn, buyer, {product: 1}, SHIPPING, "a", "net-a", LimitPolicy(0, 0))
        assert plenty.recount == [] and plenty.new_stock == {product: 299}
        sql.execute("UPDATE product_stock_slots SET stock = 50 WHERE product_id = %s", (product,))
        near = order_transaction(conn, buyer, {product: 1}, SHIPPING, "b", "net-a", LimitPolicy(0, 0))
        assert near.recount == [product] and near.new_stock == {product: 99}
