"""The checkout ceiling for `make bench-serve`: bare Flask answering the Locust checkout loop with the storefront's
own transaction (serving.checkout.service.order_transaction) on a pool of the storefront's size, and nothing
else: no session, cart, Redis, request validation, rate or purchase limits beyond the transaction's, no cache
update. Under the same gunicorn config and the same Locust user as the storefront, it is the most any Flask
storefront adding work to that transaction could reach on this machine; the storefront's distance to it is
what its own work costs.

Like the floor, each order buys one random hot product (nothing remembers the cart line of the first request)
for one customer per server thread.
"""

from __future__ import annotations

import json
import os
import random
import threading
from pathlib import Path

from flask import Flask, jsonify, request
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from serving.checkout.service import order_transaction
from serving.config import ServingConfig

app = Flask(__name__)
HOT_PRODUCTS = json.loads(Path(os.environ["BFP_BENCH_CATALOG"]).read_text(encoding="utf-8"))["hot_products"]
CONFIG = ServingConfig.from_env(os.environ)
pool = ConnectionPool(
    CONFIG.database_url,
    min_size=CONFIG.db_pool_size,
    max_size=CONFIG.db_pool_size,
    kwargs={"autocommit": True, "row_factory": dict_row},
    open=False,
)
_shopper = threading.local()  # a customer per server thread: the transaction serialises one customer's orders
_opened = threading.Lock()


@app.get("/ping")
def ping():
    return jsonify(status="ok")


@app.post("/api/v1/cart/items")
def add_to_cart():
    return jsonify(items=[request.get_json()])


@app.post("/api/v1/checkout")
def checkout():
    shipping = request.get_json()
    with _opened:  # opened in the worker, not in gunicorn's master before the fork
        if pool.closed:
            pool.open()
    with pool.connection() as conn:
        if not hasattr(_shopper, "customer_id"):
            _shopper.customer_id = conn.execute("INSERT INTO customers DEFAULT VALUES RETURNING id").fetchone()["id"]
        cart = {random.choice(HOT_PRODUCTS): 1}
        result = order_transaction(conn, _shopper.customer_id, cart, shipping, request.headers["Idempotency-Key"])
    return jsonify(result.order), 201
