"""The per-worker near cache: kept right while Redis pushes invalidations; when that stops, served a bounded time.

Two apps in one test stand for two gunicorn workers: each has its own near cache and listener connection.
"""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
import redis

from serving import create_app, metrics
from serving.config import ConfigError, ServingConfig
from serving.near_cache import NearCache
from tests.serving.conftest import ADMIN_TOKEN, product_in_stock, wait_until, with_redis

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def near_hits(kind: str = "product") -> float:
    return metrics.CACHE.labels(kind, "near_hit")._value.get()


def redis_hits(kind: str = "product") -> float:
    return metrics.CACHE.labels(kind, "hit")._value.get()


def worker(config: ServingConfig):
    app = create_app(config)
    app.config.update(TESTING=True)
    return app, app.test_client(), app.extensions["bfp_cache"].near


def warm(client, near: NearCache, url: str) -> None:
    """Reads `url` until the near cache answers it: the listener subscribes on first use, and a read that
    overlapped any invalidation (the first read's own SET is pushed too) is not kept."""
    client.get(url)
    wait_until(lambda: near.live, 10, "the near cache's listener to subscribe")

    def answered_near() -> bool:
        before = near_hits()
        assert client.get(url).status_code == 200
        return near_hits() == before + 1

    wait_until(answered_near, 5, "a read answered by the near cache")


@pytest.fixture
def two_workers(config, sql):
    """(worker A's client with the product in its near cache, worker B's client, the product, its URL)."""
    product = product_in_stock(sql)
    url = f"/api/v1/products/{product['id']}"
    app_a, client_a, near_a = worker(config)
    app_b, client_b, _ = worker(config)
    warm(client_a, near_a, url)
    yield client_a, client_b, product, url
    for app in (app_a, app_b):
        app.extensions["bfp_database"].close()


def test_a_change_made_through_another_worker_reaches_this_workers_near_copy(two_workers):
    client_a, client_b, product, url = two_workers
    changed = client_b.patch(f"/api/v1/admin/products/{product['id']}", json={"price": "0.03"}, headers=ADMIN)
    assert changed.status_code == 200
    # No TTL helps here (near copies live 60 s): only Redis's push can retire worker A's copy.
    wait_until(lambda: client_a.get(url).get_json()["price"] == "0.03", 5, "worker A to show the new price")


def test_a_checkout_elsewhere_lowers_the_stock_this_worker_shows(two_workers):
    client_a, client_b, product, url = two_workers
    client_b.post("/api/v1/cart/items", json={"product_id": product["id"], "quantity": 2})
    assert client_b.post("/api/v1/checkout", json=SHIPPING_B, headers={"Idempotency-Key": "near-b"}).status_code == 201
    wait_until(
        lambda: client_a.get(url).get_json()["stock"] == product["stock"] - 2, 5, "worker A to show the lower stock"
    )


SHIPPING_B = {"name": "Bo Shopper", "address": "2 Main St", "city": "Austin", "state": "TX", "zip": "73301"}


def test_the_writers_own_worker_shows_its_change_at_once(client, app, sql):
    product = product_in_stock(sql)
    url = f"/api/v1/products/{product['id']}"
    warm(client, app.extensions["bfp_cache"].near, url)
    assert client.patch(f"/api/v1/admin/products/{product['id']}", json={"stock": 4}, headers=ADMIN).status_code == 200
    assert client.get(url).get_json()["stock"] == 4  # no wait: the writer dropped its own copy before answering


def test_a_lost_invalidation_connection_drops_every_near_copy_and_misses_no_change(config, sql, stoppable_redis):
    product = product_in_stock(sql)
    url = f"/api/v1/products/{product['id']}"
    app, client, near = worker(replace(with_redis(config, stoppable_redis), near_cache_stale_seconds=1.0))
    warm(client, near, url)
    admin = redis.Redis.from_url(stoppable_redis)
    epoch = near.epoch()

    # The listener's connection dies; a change lands while nobody listens (no push for it will ever come).
    admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
    key = f"product:{product['id']}"
    admin.set(key, admin.get(key).replace(b'"stock":', b'"stock":1,"was":'), keepttl=True)
    wait_until(lambda: near.epoch() > epoch, 5, "the near cache to notice the lost connection")
    wait_until(lambda: near.live, 10, "the listener to subscribe again")
    assert client.get(url).get_json()["stock"] == 1  # the copy from before the loss was dropped

    # Redis gone (a dead Redis pushes nothing): the near copies serve for the stale bound at most, then reads
    # fall back to Postgres.
    admin.shutdown(nosave=True)
    wait_until(lambda: not near.live, 10, "the near cache to notice Redis is gone")
    lost, stale_reads = time.monotonic(), []  # the loss was noticed by now: the bound runs from before this

    def from_the_database() -> bool:
        stock = client.get(url).get_json()["stock"]
        if stock == 1:
            stale_reads.append(time.monotonic() - lost)
        return stock == product["stock"]

    wait_until(from_the_database, 5, "a read from the database")
    assert all(age <= 1.0 for age in stale_reads)  # the last known copy only inside its bound
    app.extensions["bfp_database"].close()


def test_a_read_that_raced_an_invalidation_is_not_kept(config):
    near = NearCache(config.redis_url, items=10, seconds=60, timeout_seconds=1)
    near.get("product:1")  # starts the listener
    wait_until(lambda: near.live, 10, "the listener to subscribe")
    epoch = near.epoch()  # taken before the read from Redis ...
    near.evict(["product:1"])  # ... an invalidation arrives meanwhile ...
    near.put("product:1", b"old", epoch)  # ... so the value read may be the retired one
    assert near.get("product:1") is None
    near.put("product:1", b"new", near.epoch())
    assert near.get("product:1") == b"new"
    near.put("cart:abc", b"x", near.epoch())  # only tracked prefixes are kept near
    assert near.get("cart:abc") is None


def test_zero_items_turns_the_near_cache_off(config, sql):
    product = product_in_stock(sql)
    app, client, near = worker(replace(config, near_cache_items=0))
    before_near, before_redis = near_hits(), redis_hits()
    for _ in range(3):
        assert client.get(f"/api/v1/products/{product['id']}").status_code == 200
    assert near_hits() == before_near
    assert redis_hits() == before_redis + 2
    assert not near.live
    app.extensions["bfp_database"].close()


@pytest.mark.parametrize(("value", "accepted"), [("0", True), ("500", True), ("-1", False), ("many", False)])
def test_near_cache_items_setting(value, accepted):
    env = {"BFP_SECRET_KEY": "x" * 32, "BFP_NEAR_CACHE_ITEMS": value}
    if accepted:
        assert ServingConfig.from_env(env).near_cache_items == int(value)
    else:
        with pytest.raises(ConfigError, match="BFP_NEAR_CACHE_ITEMS"):
            ServingConfig.from_env(env)
