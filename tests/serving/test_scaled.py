"""The storefront as several instances (support/scaled.py: gunicorn masters behind HAProxy, PostgreSQL behind
PgBouncer in transaction pooling), driven through the load balancer as shoppers reach it: a change through
one instance is served by all, a race for the last units and replays of one key across instances make the
right number of orders, PostgreSQL sees at most the pooler's connections, and a killed instance is routed
around. The last test kills an instance: it runs last in this module."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
import redis
import requests

from support.scaled import scaled_storefront
from support.services import ConnectionWatcher
from tests.conftest import database_from_template
from tests.serving.conftest import ADMIN_TOKEN, SHIPPING, wait_until

POOL_SIZE = 4
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture(scope="module")
def scaled(services, catalog_template):
    with database_from_template(services, catalog_template) as database_url:
        for url in (services.redis_url, services.cache_redis_url):
            redis.Redis.from_url(url).flushdb()
        settings = {"BFP_ADMIN_TOKEN": ADMIN_TOKEN, "BFP_NEW_SHOPPER_RATE_LIMIT": "100000 per minute"}
        with scaled_storefront(
            database_url, services.redis_url, services.cache_redis_url, instances=3, pool_size=POOL_SIZE, **settings
        ) as running:
            yield running, database_url


def a_product(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT min(id) FROM products WHERE stock > 0").fetchone()[0]


def test_a_price_changed_through_one_instance_is_served_by_every_instance(scaled):
    running, database_url = scaled
    product = a_product(database_url)
    for instance in running.instances:  # every instance caches the product (Redis and its near cache)
        assert requests.get(f"{instance.url}/api/v1/products/{product}", timeout=5).status_code == 200
    first = running.instances[0]
    changed = requests.patch(
        f"{first.internal_url}/api/v1/admin/products/{product}", json={"price": "7.77"}, headers=ADMIN, timeout=5
    )
    assert changed.status_code == 200
    for instance in running.instances:
        wait_until(
            lambda i=instance: requests.get(f"{i.url}/api/v1/products/{product}", timeout=5).json()["price"] == "7.77",
            2,
            f"instance :{instance.port} to serve the new price",
        )


def buyer(url: str, product: int, barrier: threading.Barrier) -> int:
    with requests.Session() as session:
        assert session.post(f"{url}/api/v1/cart/items", json={"product_id": product}, timeout=10).status_code == 200
        barrier.wait(timeout=60)
        key = uuid.uuid4().hex
        for _ in range(5):  # a careful client retries a 503 with the same key
            answer = session.post(f"{url}/api/v1/checkout", json=SHIPPING, headers={"Idempotency-Key": key}, timeout=30)
            if answer.status_code != 503:
                return answer.status_code
            time.sleep(float(answer.headers.get("Retry-After", "1")))
        return answer.status_code


def test_buyers_racing_across_instances_for_7_units_make_7_orders_within_the_poolers_connections(scaled):
    running, database_url = scaled
    product = a_product(database_url) + 1
    set_stock = requests.patch(
        f"{running.internal_url}/api/v1/admin/products/{product}", json={"stock": 7}, headers=ADMIN, timeout=5
    )
    assert set_stock.status_code == 200
    watcher = ConnectionWatcher(database_url, every=0.05)
    watcher.start()
    buyers = 60
    barrier = threading.Barrier(buyers)
    try:
        with ThreadPoolExecutor(buyers) as pool:
            statuses = list(pool.map(lambda _: buyer(running.url, product, barrier), range(buyers)))
    finally:
        most_connections = watcher.stop()
    assert sorted(statuses) == [201] * 7 + [409] * (buyers - 7)
    with psycopg.connect(database_url) as conn:
        sold = conn.execute("SELECT count(*), sum(quantity) FROM order_items WHERE product_id = %s", (product,))
        assert sold.fetchone() == (7, 7)
        assert conn.execute("SELECT stock FROM products WHERE id = %s", (product,)).fetchone()[0] == 0
    assert watcher.seen and most_connections <= POOL_SIZE  # whatever the instances' pools hold: PgBouncer's


def test_replays_of_one_key_on_different_instances_make_one_order(scaled):
    running, database_url = scaled
    product = a_product(database_url) + 2
    shopper = requests.Session()
    assert shopper.post(f"{running.url}/api/v1/cart/items", json={"product_id": product}, timeout=10).status_code == 200
    cookies, key = shopper.cookies.get_dict(), uuid.uuid4().hex

    def replay(_) -> tuple[int, int | None]:
        answer = requests.post(
            f"{running.url}/api/v1/checkout",
            json=SHIPPING,
            headers={"Idempotency-Key": key},
            cookies=cookies,
            timeout=30,
        )
        return answer.status_code, answer.json().get("id") if answer.status_code == 201 else None

    with ThreadPoolExecutor(20) as pool:  # round-robin: the replays land on every instance
        answers = list(pool.map(replay, range(20)))
    assert {status for status, _ in answers} == {201}
    assert len({order for _, order in answers}) == 1
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM order_items WHERE product_id = %s", (product,)).fetchone()[0] == 1


def test_an_instance_killed_under_load_is_routed_around_and_nothing_is_lost(scaled):
    running, _ = scaled
    stop, statuses, lock = threading.Event(), [], threading.Lock()

    def browse() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                try:
                    status = session.get(f"{running.url}/api/v1/categories", timeout=10).status_code
                except requests.RequestException:
                    status = 0  # a request in flight on the killed instance
                with lock:
                    statuses.append((time.monotonic(), status))

    threads = [threading.Thread(target=browse) for _ in range(4)]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(statuses) > 50, 10, "load before the kill")
    victim = running.instances[1]
    os.kill(victim.process.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    wait_until(lambda: any(t > killed_at + 3 for t, _ in statuses), 20, "load after the kill")
    stop.set()
    for thread in threads:
        thread.join()
    after = [status for t, status in statuses if t > killed_at + 2]  # HAProxy took it out (2 checks of 500 ms)
    assert after and set(after) == {200}
    during = [status for t, status in statuses if killed_at <= t <= killed_at + 2]
    assert sum(status != 200 for status in during) <= 4  # at most the requests in flight on it (4 clients)
