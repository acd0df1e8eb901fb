"""The checkout floor for `make bench-serve`: the storefront's own checkout transaction
(serving.checkout.service.order_transaction, the same statements in the same order) driven straight into
PostgreSQL at the same concurrency as the HTTP run, without HTTP, Flask, sessions, Redis or the pool: what
the database and driver alone allow on this machine. synchronous_commit stays on (checked, not set).
"""

from __future__ import annotations

import random
import threading
import time
import uuid

import psycopg
from psycopg.rows import dict_row

from bench.cpu_split import cpu_split
from serving.checkout.service import order_transaction

SHIPPING = {"name": "Load Test", "address": "1 Bench Way", "city": "Austin", "state": "TX", "zip": "73301"}


def synchronous_commit(database_url: str) -> str:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SHOW synchronous_commit").fetchone()[0]


def raw_checkouts(database_url: str, hot_products: list[int], concurrency: int, seconds: float) -> dict:
    """Orders made in `seconds` by `concurrency` threads, each a shopper with its own connection buying one
    random hot product per order, as the Locust CheckoutShopper does. The connections are open before the
    timed part starts and still open when it ends, so the CPU split (bench.cpu_split) sees their backends."""
    counts, errors = [0] * concurrency, []
    started, finished = threading.Barrier(concurrency + 1), threading.Barrier(concurrency + 1)
    deadline = [0.0]
    measured = threading.Event()  # connections stay open until the CPU split has read their backends

    def shopper(slot: int) -> None:
        try:
            with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
                customer_id = conn.execute("INSERT INTO customers DEFAULT VALUES RETURNING id").fetchone()["id"]
                started.wait()
                try:
                    while time.monotonic() < deadline[0]:
                        cart = {random.choice(hot_products): 1}
                        order_transaction(conn, customer_id, cart, SHIPPING, uuid.uuid4().hex)
                        counts[slot] += 1
                finally:
                    finished.wait()
                    measured.wait()
        except threading.BrokenBarrierError:
            errors.append("a shopper could not connect; the run was abandoned")
        except Exception as exc:  # reported with the figures: a floor with errors is no floor
            errors.append(f"{type(exc).__name__}: {exc}")
            started.abort()
            finished.abort()

    threads = [threading.Thread(target=shopper, args=(slot,)) for slot in range(concurrency)]
    for thread in threads:
        thread.start()
    with cpu_split() as cores:
        deadline[0] = time.monotonic() + seconds
        began = time.monotonic()
        started.wait()
        finished.wait()
        elapsed = time.monotonic() - began
    measured.set()
    for thread in threads:
        thread.join()
    orders = sum(counts)
    return {"orders": orders, "seconds": elapsed, "orders_per_s": orders / elapsed, "errors": errors, "cores": cores}
