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

from serving.checkout.service import order_transaction

SHIPPING = {"name": "Load Test", "address": "1 Bench Way", "city": "Austin", "state": "TX", "zip": "73301"}


def synchronous_commit(database_url: str) -> str:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SHOW synchronous_commit").fetchone()[0]


def raw_checkouts(database_url: str, hot_products: list[int], concurrency: int, seconds: float) -> dict:
    """Orders made in `seconds` by `concurrency` threads, each a shopper with its own connection buying one
    random hot product per order, as the Locust CheckoutShopper does."""
    deadline = time.monotonic() + seconds
    counts, errors = [0] * concurrency, []

    def shopper(slot: int) -> None:
        try:
            with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
                customer_id = conn.execute("INSERT INTO customers DEFAULT VALUES RETURNING id").fetchone()["id"]
                while time.monotonic() < deadline:
                    cart = {random.choice(hot_products): 1}
                    order_transaction(conn, customer_id, cart, SHIPPING, uuid.uuid4().hex)
                    counts[slot] += 1
        except Exception as exc:  # reported with the figures: a floor with errors is no floor
            errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=shopper, args=(slot,)) for slot in range(concurrency)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return {"orders": sum(counts), "seconds": elapsed, "orders_per_s": sum(counts) / elapsed, "errors": errors}
