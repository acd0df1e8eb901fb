"""Redis cache-aside: hits, invalidation after admin and checkout changes, stampede protection, outage."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from serving import create_app, metrics
from serving.cache import Cache
from serving.errors import NotFound
from tests.serving.conftest import ADMIN_TOKEN, SHIPPING, product_in_stock, wait_until, with_redis

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def hits(kind: str) -> float:
    """Reads the cache answered, from Redis or from the worker's near copy (tests/serving/test_near_cache.py)."""
    return sum(metrics.CACHE.labels(kind, result)._value.get() for result in ("hit", "near_hit"))


def test_a_second_read_comes_from_redis(client, sql, redis_client):
    product = product_in_stock(sql)
    first = client.get(f"/api/v1/products/{product['id']}").get_json()
    assert redis_client.ttl(f"product:{product['id']}") > 3500  # cached for an hour
    sql.execute("UPDATE products SET title = 'changed behind the cache' WHERE id = %s", (product["id"],))
    before = hits("product")
    second = client.get(f"/api/v1/products/{product['id']}").get_json()
    assert second == first  # not the database's new title: Redis answered
    assert hits("product") == before + 1


def test_an_admin_price_change_shows_at_once_on_product_and_listing(client, sql):
    product = product_in_stock(sql)
    listing_url = f"/api/v1/categories/{product['category']}/products"
    client.get(f"/api/v1/products/{product['id']}")
    client.get(listing_url, query_string={"limit": 100})
    changed = client.patch(f"/api/v1/admin/products/{product['id']}", json={"price": "0.07", "stock": 3}, headers=ADMIN)
    assert changed.status_code == 200
    shown = client.get(f"/api/v1/products/{product['id']}").get_json()
    assert (shown["price"], shown["stock"]) == ("0.07", 3)
    listed = client.get(listing_url, query_string={"limit": 100}).get_json()["items"]
    assert {item["id"]: item["price"] for item in listed}[product["id"]] == "0.07"
    assert "$0.07" in client.get(f"/p/{product['id']}").get_data(as_text=True)


def test_admin_needs_the_token(client, sql):
    product = product_in_stock(sql)
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = client.patch(f"/api/v1/admin/products/{product['id']}", json={"price": "1.00"}, headers=headers)
        assert (response.status_code, response.get_json()["code"]) == (401, "admin_token_required")
    assert sql.execute("SELECT price FROM products WHERE id = %s", (product["id"],)).fetchone()[0] == product["price"]
    bad = client.patch(f"/api/v1/admin/products/{product['id']}", json={"price": "-1", "stock": -2}, headers=ADMIN)
    assert bad.status_code == 422
    assert set(bad.get_json()["details"]["json"]) == {"price", "stock"}


def test_checkout_writes_the_new_stock_into_the_cached_product(client, sql):
    product = product_in_stock(sql)
    assert client.get(f"/api/v1/products/{product['id']}").get_json()["stock"] == product["stock"]
    client.post("/api/v1/cart/items", json={"product_id": product["id"], "quantity": 2})
    assert client.post("/api/v1/checkout", json=SHIPPING, headers={"Idempotency-Key": "c"}).status_code == 201
    sql.execute("UPDATE products SET title = 'changed behind the cache' WHERE id = %s", (product["id"],))
    before = hits("product")
    shown = client.get(f"/api/v1/products/{product['id']}").get_json()
    assert shown["stock"] == product["stock"] - 2  # current stock ...
    assert shown["title"] != "changed behind the cache"  # ... from the still-cached entry
    assert hits("product") == before + 1


def test_a_late_checkout_never_raises_the_cached_stock(app, client, sql):
    product = product_in_stock(sql)
    client.get(f"/api/v1/products/{product['id']}")
    cache = app.extensions["bfp_cache"]
    with app.app_context():
        cache.lower_stock([f"product:{product['id']}"], [1], also_delete=[])
        cache.lower_stock([f"product:{product['id']}"], [5], also_delete=[])  # an earlier checkout finishing last
    assert client.get(f"/api/v1/products/{product['id']}").get_json()["stock"] == 1


def test_concurrent_misses_of_one_key_load_it_once(app, redis_client, monkeypatch):
    cache = app.extensions["bfp_cache"]
    loads, waiting = [], []
    release = threading.Event()
    original_wait = Cache._wait_for

    def counting_wait(self, key, lock_key):
        waiting.append(key)
        return original_wait(self, key, lock_key)

    monkeypatch.setattr(Cache, "_wait_for", counting_wait)

    def loader():
        loads.append(1)
        assert release.wait(10)
        return {"value": 42}

    def read():
        with app.app_context():
            return cache.get_or_load("test", "hot-key", 60, loader)

    with ThreadPoolExecutor(8) as pool:
        results = [pool.submit(read) for _ in range(8)]
        wait_until(lambda: len(waiting) == 7, 10, "seven readers to wait for the one loader")
        release.set()
        values = [future.result(timeout=10) for future in results]
    assert loads == [1]
    assert values == [{"value": 42}] * 8


def test_a_failing_loader_releases_the_lock_and_its_waiters_stop_waiting(app, redis_client, monkeypatch):
    """A loader that raises (an unknown category's 404, a shed request) leaves no lock behind: the next request
    for the key loads at once, and a reader waiting on it stops waiting the moment it failed."""
    # a wait far longer than the test's own timeouts: only "the lock is gone" can end it in time
    monkeypatch.setattr("serving.cache.WAIT_FOR_LOADER_SECONDS", 60)
    cache = app.extensions["bfp_cache"]
    started, release, waiting = threading.Event(), threading.Event(), threading.Event()
    original_wait = Cache._wait_for

    def noted_wait(self, key, lock_key):
        waiting.set()
        return original_wait(self, key, lock_key)

    monkeypatch.setattr(Cache, "_wait_for", noted_wait)

    def failing_loader():
        started.set()
        assert release.wait(10)
        raise NotFound("no such thing", code="test_not_found")

    def read(loader):
        with app.app_context():
            return cache.get_or_load("test", "junk-key", 60, loader)

    with ThreadPoolExecutor(2) as pool:
        holder = pool.submit(read, failing_loader)
        assert started.wait(10)
        waiter = pool.submit(read, lambda: {"loaded": "by the waiter"})
        assert waiting.wait(10)
        release.set()
        with pytest.raises(NotFound):
            holder.result(timeout=10)
        assert waiter.result(timeout=10) == {"loaded": "by the waiter"}
    assert not redis_client.exists("lock:junk-key")


def test_with_redis_stopped_the_catalog_serves_from_postgres_and_carts_answer_503(config, sql, stoppable_redis):
    app = create_app(with_redis(config, stoppable_redis))
    client = app.test_client()
    product = product_in_stock(sql)
    assert client.post("/api/v1/cart/items", json={"product_id": product["id"]}).status_code == 200
    redis.Redis.from_url(stoppable_redis).shutdown(nosave=True)
    for url in (
        "/",
        f"/c/{product['category']}",
        f"/p/{product['id']}",
        f"/api/v1/products/{product['id']}",
        "/search?q=the",
        "/api/v1/categories",
    ):
        assert client.get(url).status_code == 200, url
    cart = client.get("/api/v1/cart")
    assert cart.status_code == 503
    assert cart.get_json()["code"] == "cart_unavailable"
    assert cart.headers["Retry-After"] == "1"
    assert client.post("/api/v1/checkout", json=SHIPPING, headers={"Idempotency-Key": "r"}).status_code == 503
    assert client.get("/cart").status_code == 503
    # the pod stays ready (it serves the catalog); the outage shows in the metrics its alerts watch
    assert client.get("/readyz").status_code == 200
    exposition = client.get("/metrics").get_data(as_text=True)
    assert 'storefront_dependency_up{dependency="redis_cache"} 0.0' in exposition
    assert 'storefront_dependency_up{dependency="redis_state"} 0.0' in exposition
    app.extensions["bfp_database"].close()
