"""Against a running gunicorn (2 gthread workers): checkout races, concurrent idempotent retries, pool
exhaustion answered as a fast 503, metrics summed across workers; the drills' simulated shopper."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import requests

from support.net import free_port
from support.shopper import LOST, Answers, Catalog, Habits, Shopper
from tests.serving.conftest import ADMIN_TOKEN, SHIPPING, live_gunicorn, wait_until


def shopper_with(url: str, product_id: int, quantity: int = 1) -> requests.Session:
    session = requests.Session()
    response = session.post(f"{url}/api/v1/cart/items", json={"product_id": product_id, "quantity": quantity})
    assert response.status_code == 200, response.text
    return session


def set_stock(admin_url: str, product_id: int, stock: int) -> None:
    response = requests.patch(
        f"{admin_url}/api/v1/admin/products/{product_id}",
        json={"stock": stock},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text


def fire_together(calls, threads: int):
    """Runs the calls at once (all threads released by one barrier) and returns their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait(timeout=60)
        return call()

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(run, calls))


def test_200_concurrent_checkouts_of_a_stock_of_10_make_exactly_10_orders(live_server):
    with psycopg.connect(live_server.database_url, autocommit=True) as conn:
        product_id = conn.execute("SELECT id FROM products ORDER BY id DESC LIMIT 1").fetchone()[0]
    set_stock(live_server.internal_url, product_id, 10)  # admin: the internal listener
    shoppers = [shopper_with(live_server.url, product_id) for _ in range(200)]
    calls = [
        lambda s=s, i=i: s.post(
            f"{live_server.url}/api/v1/checkout", json=SHIPPING, headers={"Idempotency-Key": f"race-{i}"}, timeout=60
        )
        for i, s in enumerate(shoppers)
    ]
    responses = fire_together(calls, threads=200)
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 10
    assert statuses.count(409) == 190, statuses
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"out_of_stock"}
    with psycopg.connect(live_server.database_url, autocommit=True) as conn:
        stock = conn.execute("SELECT stock FROM products WHERE id = %s", (product_id,)).fetchone()[0]
        ordered = conn.execute(
            "SELECT coalesce(sum(quantity), 0) FROM order_items WHERE product_id = %s", (product_id,)
        )
        assert (stock, ordered.fetchone()[0]) == (0, 10)
    metrics = requests.get(f"{live_server.internal_url}/metrics", timeout=10).text
    assert 'storefront_checkouts_total{outcome="out_of_stock"} 190.0' in metrics  # summed over both workers


def test_one_key_sent_five_times_at_once_makes_one_order_and_identical_replies(live_server):
    with psycopg.connect(live_server.database_url, autocommit=True) as conn:
        product_id = conn.execute("SELECT id FROM products WHERE stock > 5 ORDER BY id LIMIT 1").fetchone()[0]
    shopper = shopper_with(live_server.url, product_id, 2)
    cookies = shopper.cookies.get_dict()
    calls = [
        lambda: requests.post(
            f"{live_server.url}/api/v1/checkout",
            json=SHIPPING,
            cookies=cookies,
            headers={"Idempotency-Key": "five"},
            timeout=60,
        )
        for _ in range(5)
    ]
    responses = fire_together(calls, threads=5)
    assert [r.status_code for r in responses] == [201] * 5
    assert len({r.text for r in responses}) == 1
    assert sorted(r.headers["Idempotent-Replayed"] for r in responses) == ["false"] + ["true"] * 4
    with psycopg.connect(live_server.database_url, autocommit=True) as conn:
        orders = conn.execute(
            "SELECT count(*) FROM order_items WHERE product_id = %s AND order_id = %s",
            (product_id, responses[0].json()["id"]),
        )
        assert orders.fetchone()[0] == 1
        assert (
            conn.execute("SELECT count(*) FROM checkout_idempotency_keys WHERE idempotency_key = 'five'").fetchone()[0]
            == 1
        )


def test_an_exhausted_pool_answers_503_with_retry_after_within_a_second(live_database, services, tmp_path):
    """One worker, one thread-shared connection: a checkout blocked on a locked row holds it; the next
    request that needs the database gets a 503 after the 0.3 s pool wait instead of queueing."""
    env = {"BFP_WORKERS": "1", "BFP_DB_POOL_SIZE": "1", "BFP_DB_POOL_WAIT_SECONDS": "0.3"}
    with live_gunicorn(live_database, services, tmp_path, **env) as server:
        with psycopg.connect(live_database, autocommit=True) as conn:
            product_id = conn.execute(
                "SELECT id FROM products WHERE stock > 0 ORDER BY id LIMIT 1 OFFSET 3"
            ).fetchone()[0]
        shopper = shopper_with(server.url, product_id)
        with psycopg.connect(live_database) as blocker, psycopg.connect(live_database, autocommit=True) as observer:
            blocker.execute("SELECT 1 FROM products WHERE id = %s FOR UPDATE", (product_id,))
            with ThreadPoolExecutor(1) as pool:
                blocked = pool.submit(
                    shopper.post, f"{server.url}/api/v1/checkout", json=SHIPPING, headers={"Idempotency-Key": "p"}
                )
                wait_until(  # the checkout holds the only connection while it waits for the row
                    lambda: (  # asked on its own connection: activity is snapshotted per transaction
                        observer.execute(
                            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                            "AND datname = current_database()"
                        ).fetchone()[0]
                        == 1
                    ),
                    10,
                    "the checkout to block on the locked row",
                )
                started = time.monotonic()
                shed = requests.get(f"{server.url}/api/v1/orders", cookies=shopper.cookies.get_dict(), timeout=10)
                elapsed = time.monotonic() - started
                blocker.rollback()
                assert blocked.result(timeout=30).status_code == 201
        assert shed.status_code == 503
        assert shed.headers["Retry-After"] == "1"
        assert shed.json()["code"] == "database_busy"
        assert elapsed < 1.0
        metrics = requests.get(f"{server.internal_url}/metrics", timeout=10).text
        assert "storefront_db_pool_exhausted_total 1.0" in metrics


def test_access_log_is_one_json_line_per_request(live_server):
    requests.get(f"{live_server.internal_url}/livez?probe=1", timeout=10)
    lines = wait_until(  # gunicorn writes the line after the response has gone out
        lambda: [line for line in live_server.log_path.read_text().splitlines() if '"query": "probe=1"' in line],
        10,
        "the access log line of the request",
    )
    entry = json.loads(lines[-1])
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", "/livez", "200")


def test_a_client_cannot_forge_or_break_an_access_log_line(live_server):
    # the path is percent-decoded before it is logged: a backslash before a quote once closed the JSON string
    forged_path = '/\\","status":"200","forged":"\\'
    agent = 'bot\\" \\u0000 ü "'  # a quote after a backslash, an escape sequence as text, a Latin-1 letter
    answer = requests.get(
        f"{live_server.url}/%5C%22,%22status%22:%22200%22,%22forged%22:%22%5C?marker=forge",
        headers={"User-Agent": agent},
        timeout=10,
    )
    lines = wait_until(
        lambda: [line for line in live_server.log_path.read_text().splitlines() if "marker=forge" in line],
        10,
        "the access log line of the request",
    )
    entry = json.loads(lines[-1])
    assert "forged" not in entry
    assert (entry["path"], entry["status"], entry["agent"]) == (forged_path, str(answer.status_code), agent)


def test_the_drills_shopper_places_orders_the_database_holds(live_server):
    with psycopg.connect(live_server.database_url) as conn:
        products = tuple(r[0] for r in conn.execute("SELECT id FROM products WHERE stock > 100 ORDER BY id LIMIT 20"))
        categories = tuple(r[0] for r in conn.execute("SELECT code FROM categories ORDER BY code"))
    answers = Answers()
    shopper = Shopper(
        live_server.url, Catalog(products, categories), answers, threading.Event(), Habits(items=(2,)), seed=3
    )
    placed = [shopper.visit() for _ in range(3)]

    assert None not in placed and len(set(placed)) == 3
    assert sorted(answers.committed.values()) == sorted(placed)
    assert answers.checkouts == {"placed": 3}
    assert set(answers.statuses) <= {200, 201}
    assert answers.requests == 3 * 6  # page, product, search, two adds, checkout
    with psycopg.connect(live_server.database_url) as conn:
        lines = dict(
            conn.execute(
                "SELECT order_id, sum(quantity) FROM order_items WHERE order_id = ANY(%s) GROUP BY order_id", (placed,)
            ).fetchall()
        )
    # two adds of random products: two lines, or one line of 2 when both picks were the same product
    assert lines == dict.fromkeys(placed, 2)


def test_the_drills_shopper_retries_a_lost_checkout_with_the_same_key_then_counts_it_failed():
    answers = Answers()
    nobody = f"http://127.0.0.1:{free_port()}"
    habits = Habits(checkout_attempts=3, retry_pause=0)
    shopper = Shopper(nobody, Catalog((1,), ("x",)), answers, threading.Event(), habits)

    assert shopper.checkout() is None
    assert answers.statuses == {LOST: 3}
    assert answers.checkouts == {"failed": 1} and answers.committed == {}
    assert answers.last_failure > 0 and answers.by_class() == {"lost": 3}
