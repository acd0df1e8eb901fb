"""Limits a patient bot cannot walk around: one household however it is written, one network however many
identities it mints, a default limit on a scarce product nobody limited, identities refused (not waved through)
when the state store cannot count them, IPv6 counted per /64, and the trusted proxy required behind a balancer."""

from __future__ import annotations

from dataclasses import replace

import pytest
import redis

from serving import create_app
from serving.checkout.addresses import address_key
from serving.config import ConfigError, ServingConfig
from serving.ratelimit import network_of
from tests.serving.conftest import ADMIN_TOKEN, SHIPPING, product_in_stock, with_redis
from tests.serving.test_abuse import buy

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
HOUSEHOLD = {"name": "Ann Shopper", "address": "12 Main St Apt 4", "city": "Springfield", "state": "IL", "zip": "62704"}
# One household written sixteen ways, as the patient bot of the review wrote it (the drill keeps this list too).
SPELLINGS = [
    "12 Main Street Apartment 4", "12 main st. apt. 4", "0012 Main St Apt 4", "12 Mian St Apt 4",
    "12 Ma.in St Apt 4", "１２ Main St Apt 4", "12 М\u0430in St Apt 4", "12 Main\u200b St Apt 4",
    "12 Main St #4", "12 Main St Unit 4", "12 MAIN STRET APT 04", "12 Main St, Apt 4",
    "12 N Main St Apt 4", "12 Maim St Apt 4", "12 Main Str Apt 4", "  12   Main  St   Apt 4 ",
]  # fmt: skip


def test_sixteen_spellings_of_one_household_are_one_key_and_other_households_are_not():
    key = address_key(HOUSEHOLD)
    assert {address_key({**HOUSEHOLD, "address": spelled}) for spelled in SPELLINGS} == {key}
    assert address_key({**HOUSEHOLD, "city": "Sprngfield", "zip": "62704-0001"}) == key
    for other in ("12 Oak St Apt 4", "14 Main St Apt 4", "12 Main St Apt 5", "12 Main St"):
        assert address_key({**HOUSEHOLD, "address": other}) != key, other


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("2001:db8:a:b:1:2:3:4", "2001:db8:a:b::/64"),
        ("::ffff:203.0.113.9", "203.0.113.0/24"),
    ],
)
def test_a_clients_network_is_its_ipv4_24_or_ipv6_64(address, network):
    assert network_of(address) == network


def limit(app, product_id: int, per_customer: int, per_address: int) -> None:
    url = f"/api/v1/admin/products/{product_id}/purchase-limit"
    response = app.test_client().put(
        url, json={"per_customer": per_customer, "per_address": per_address}, headers=ADMIN
    )
    assert response.status_code == 200


def bought(sql, product_id: int) -> int:
    return sql.execute(
        "SELECT coalesce(sum(quantity), 0) FROM order_items WHERE product_id = %s", (product_id,)
    ).fetchone()[0]


def test_a_patient_bot_gets_one_customers_limit_per_network_whatever_identities_and_spellings(make_app, sql):
    app = make_app(trusted_proxies=1)
    product = product_in_stock(sql)
    limit(app, product["id"], per_customer=1, per_address=1)
    # 32 fresh identities from one /24, each writing the household another way (and a few other households)
    addresses = [*SPELLINGS, *(f"{n} Elm St" for n in range(100, 116))]
    statuses = [
        buy(app, product["id"], 1, {**HOUSEHOLD, "address": text}, f"bot-{i}", f"198.51.100.{i + 1}")
        for i, text in enumerate(addresses)
    ]
    assert statuses.count(201) == 1 and bought(sql, product["id"]) == 1
    # the same bot over IPv6: a /64 is one network whatever address in it
    v6 = [
        buy(app, product["id"], 1, {**HOUSEHOLD, "address": f"{n} Oak St"}, f"v6-{n}", f"2001:db8::{n}")
        for n in range(1, 9)
    ]
    assert v6.count(201) == 1 and bought(sql, product["id"]) == 2
    # another shopper, on another network and at another address, still gets hers
    assert buy(app, product["id"], 1, {**HOUSEHOLD, "address": "7 Pine Rd"}, "neighbour", "192.0.2.10") == 201


def test_a_scarce_product_nobody_limited_gets_the_default_limit_and_a_plentiful_one_sells_freely(make_app, sql):
    app = make_app(trusted_proxies=1, default_purchase_limit=3, scarce_stock=50)
    scarce, plentiful = [row[0] for row in sql.execute("SELECT id FROM products ORDER BY id LIMIT 2").fetchall()]
    sql.execute("UPDATE products SET stock = 40 WHERE id = %s", (scarce,))
    sql.execute("UPDATE products SET stock = 500 WHERE id = %s", (plentiful,))
    first = [
        buy(app, scarce, 1, {**SHIPPING, "address": f"{n} Bay St"}, f"scarce-{n}", "198.51.100.5") for n in range(5)
    ]
    assert first == [201, 201, 201, 409, 409]  # 3 per network
    assert buy(app, plentiful, 20, SHIPPING, "plenty", "198.51.100.5") == 201  # no counting while plentiful
    tallied = sql.execute("SELECT count(*) FROM purchase_tallies WHERE product_id = %s", (plentiful,)).fetchone()[0]
    assert tallied == 0


def test_new_identities_are_refused_when_the_state_store_cannot_count_them_other_limits_count_per_worker(
    config, stoppable_redis, sql
):
    app = create_app(replace(with_redis(config, stoppable_redis), search_rate_limit="2 per minute"))
    try:
        product = product_in_stock(sql)
        shopper = app.test_client()
        assert shopper.post("/api/v1/cart/items", json={"product_id": product["id"]}).status_code == 200
        redis.Redis.from_url(stoppable_redis).shutdown(nosave=True)  # the state role is gone

        newcomer = app.test_client().post("/api/v1/cart/items", json={"product_id": product["id"]})
        assert newcomer.status_code == 503 and newcomer.get_json()["code"] == "limit_unavailable"
        searches = [shopper.get("/api/v1/search", query_string={"q": "toy"}).status_code for _ in range(3)]
        assert searches[-1] == 429  # counted in the worker while the store is down: not waved through
    finally:
        app.extensions["bfp_database"].close()


def test_new_identities_over_ipv6_are_counted_per_64(make_app, sql):
    app = make_app(trusted_proxies=1, new_shopper_rate_limit="2 per minute")
    product = product_in_stock(sql)
    statuses = [
        app.test_client()
        .post(
            "/api/v1/cart/items", json={"product_id": product["id"]}, headers={"X-Forwarded-For": f"2001:db8:0:1::{n}"}
        )
        .status_code
        for n in range(1, 5)
    ]
    assert statuses == [200, 200, 429, 429]


def test_a_declared_load_balancer_requires_the_trusted_proxy_setting_outside_local():
    env = {"BFP_SECRET_KEY": "s" * 32, "BFP_TARGET": "aws", "BFP_LOAD_BALANCER": "alb", "DATABASE_URL": "postgresql://x/y",
           "REDIS_URL": "redis://x", "BFP_CACHE_REDIS_URL": "redis://y"}  # fmt: skip
    with pytest.raises(ConfigError, match="BFP_TRUSTED_PROXIES"):
        ServingConfig.from_env(env)
    assert ServingConfig.from_env({**env, "BFP_TRUSTED_PROXIES": "1"}).trusted_proxies == 1
