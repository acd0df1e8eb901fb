"""A cache-role outage contained: the database sees one load per key per process (not one per request), near
copies serve a bounded time, checkouts keep connections that reads cannot take, and the outage pages."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import redis
import yaml
from prometheus_client import REGISTRY

from serving import create_app
from serving.db import database
from tests.serving.conftest import SHIPPING, product_in_stock

ROOT = Path(__file__).resolve().parents[2]


def loads(kind: str) -> float:
    return REGISTRY.get_sample_value("storefront_cache_loads_total", {"kind": kind}) or 0.0


def test_with_the_cache_role_down_each_key_is_loaded_once_per_process_not_per_request(config, stoppable_redis, sql):
    app = create_app(replace(config, cache_redis_url=stoppable_redis, near_cache_stale_seconds=30.0))
    app.config.update(TESTING=True)
    try:
        redis.Redis.from_url(stoppable_redis).shutdown(nosave=True)  # the cache role is gone; the state role is up
        ids = [row[0] for row in sql.execute("SELECT id FROM products ORDER BY id LIMIT 3").fetchall()]
        before = loads("product"), loads("categories")

        def read(product_id: int) -> tuple[int, int]:
            client = app.test_client()
            return client.get(f"/api/v1/products/{product_id}").status_code, client.get("/").status_code

        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(read, [pid for pid in ids for _ in range(16)]))  # 48 shoppers, 3 products
        assert set(statuses) == {(200, 200)}  # every product and home page answered
        assert loads("product") - before[0] <= len(ids) + 2  # ~one per key (a racer past the wait may load too)
        assert loads("categories") - before[1] <= 3  # the menu of every page: held in the process, not rescanned
    finally:
        app.extensions["bfp_database"].close()


def test_reads_cannot_take_the_connections_reserved_for_checkouts(config, sql):
    app = create_app(replace(config, db_pool_size=3, db_checkout_reserved=1, db_pool_wait_seconds=0.3))
    app.config.update(TESTING=True)
    try:
        product = product_in_stock(sql)
        shopper = app.test_client()
        assert shopper.post("/api/v1/cart/items", json={"product_id": product["id"]}).status_code == 200
        held, release = threading.Barrier(3), threading.Event()

        def hold_a_read_connection():
            with app.app_context(), database().connection():
                held.wait()
                release.wait(10)

        readers = [threading.Thread(target=hold_a_read_connection) for _ in range(2)]
        for reader in readers:
            reader.start()
        held.wait()  # reads hold all the connections they may
        try:
            uncached = sql.execute("SELECT max(id) FROM products").fetchone()[0]  # a read that needs the database
            busy = app.test_client().get(f"/api/v1/products/{uncached}")
            assert busy.status_code == 503 and busy.get_json()["code"] == "database_busy"
            order = shopper.post("/api/v1/checkout", json=SHIPPING, headers={"Idempotency-Key": "reserved"})
            assert order.status_code == 201  # the checkout took the reserved connection
        finally:
            release.set()
            for reader in readers:
                reader.join()
    finally:
        app.extensions["bfp_database"].close()


def test_the_cache_role_down_pages_on_call_within_a_minute():
    rules = yaml.safe_load((ROOT / "docker" / "prometheus" / "storefront-alerts.yml").read_text())
    (rule,) = [r for group in rules["groups"] for r in group["rules"] if r["alert"] == "StorefrontCacheDown"]
    assert rule["labels"]["severity"] == "page" and rule["for"] in ("1m", "60s")
