"""Locust shoppers for `make bench-serve` (mirrors the seed's load test: browse, product, cart, checkout, history).

The catalog sample comes from the JSON file named by BFP_BENCH_CATALOG (written by bench.serve): category codes
and a hot set of products, because Black Friday traffic concentrates on few products.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from pathlib import Path

from locust import FastHttpUser, between, constant, task

from bench.shopper_mix import SHOPPER_WAIT_SECONDS

SAMPLE = json.loads(Path(os.environ["BFP_BENCH_CATALOG"]).read_text(encoding="utf-8"))
SHIPPING = {"name": "Load Test", "address": "1 Bench Way", "city": "Austin", "state": "TX", "zip": "73301"}


def expect(response, *statuses: int) -> None:
    """Counts anything but the expected statuses as a failure named by its status (for the 5xx/503 split)."""
    if response.status_code not in statuses:
        response.failure(f"status {response.status_code}")


class Shopper(FastHttpUser):
    """Browses categories and hot products, sometimes buys, sometimes looks at past orders."""

    wait_time = between(*SHOPPER_WAIT_SECONDS)

    def on_start(self):
        self.cart_lines = 0

    @task(3)
    def browse_category(self):
        code = random.choice(SAMPLE["categories"])
        sort = random.choice(["price", "price", "newest", "title"])
        with self.client.get(
            f"/api/v1/categories/{code}/products?sort={sort}",
            name="/api/v1/categories/[code]/products",
            catch_response=True,
        ) as response:
            expect(response, 200)

    @task(6)
    def view_product(self):
        with self.client.get(
            f"/api/v1/products/{random.choice(SAMPLE['hot_products'])}",
            name="/api/v1/products/[id]",
            catch_response=True,
        ) as response:
            expect(response, 200)

    @task(1)
    def view_menu(self):
        with self.client.get("/api/v1/categories", catch_response=True) as response:
            expect(response, 200)

    @task(1)
    def add_to_cart(self):
        body = {"product_id": random.choice(SAMPLE["hot_products"]), "quantity": 1}
        with self.client.post("/api/v1/cart/items", json=body, catch_response=True) as response:
            expect(response, 200)
            if response.status_code == 200:
                self.cart_lines += 1

    @task(1)
    def checkout(self):
        if not self.cart_lines:
            return
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        with self.client.post("/api/v1/checkout", json=SHIPPING, headers=headers, catch_response=True) as response:
            expect(response, 201)
            if response.status_code == 201:
                self.cart_lines = 0

    @task(1)
    def order_history(self):
        with self.client.get("/api/v1/orders", catch_response=True) as response:
            expect(response, 200)


class ShopperWithoutPause(Shopper):
    """The same mix with no think time: what the storefront serves of it when shoppers never wait (its capacity
    for the mix, comparable with the bare-Flask ceiling, which wrk also measures without pauses)."""

    wait_time = constant(0)


class CheckoutShopper(FastHttpUser):
    """Checkout throughput: put one hot product in the cart, check out, repeat without pause."""

    wait_time = constant(0)

    @task
    def buy(self):
        body = {"product_id": random.choice(SAMPLE["hot_products"]), "quantity": 1}
        with self.client.post("/api/v1/cart/items", json=body, catch_response=True) as response:
            expect(response, 200)
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        with self.client.post("/api/v1/checkout", json=SHIPPING, headers=headers, catch_response=True) as response:
            expect(response, 201)


class Ping(FastHttpUser):
    """The bare-Flask ceiling's one route without pause: the ceiling under the mix's own load generator (Locust
    shares the cores with the server; wrk, which measures the ceiling, costs far less a request)."""

    wait_time = constant(0)

    @task
    def ping(self):
        with self.client.get("/ping", catch_response=True) as response:
            expect(response, 200)
