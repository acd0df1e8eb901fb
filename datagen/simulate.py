"""Order activity in the OLTP database, for tests, the demo and benchmarks.

New orders (each in its own transaction, prices read from the catalog), status transitions, bursts of orders
sharing one updated_at (one transaction), transactions held open across a window end, and a set-based bulk
load. Needs a loaded catalog (python -m datagen load).
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import psycopg2

from datagen.sql_files import statements

STATEMENTS = statements("simulate.sql")
CITIES = ("Springfield", "Riverside", "Franklin", "Greenville", "Fairview", "Madison", "Georgetown")
SHIPPING_FEE = Decimal("4.99")
FREE_SHIPPING_FROM = Decimal("35.00")


class SimulationError(RuntimeError):
    """The simulator cannot run (e.g. an empty catalog)."""


@dataclass(frozen=True)
class Product:
    id: int
    asin: str
    title: str
    category_code: str
    price: Decimal


@dataclass(frozen=True)
class PlacedOrder:
    id: int
    updated_at: object  # datetime from the database


class Simulator:
    """Makes order activity against one database, from a fixed random seed."""

    def __init__(self, database_url: str, seed: int = 1, pool_size: int = 2_000) -> None:
        self.database_url = database_url
        self.rng = random.Random(seed)
        with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
            cur.execute(STATEMENTS["product_pool"], {"size": pool_size})
            self.products = [Product(*row) for row in cur.fetchall()]
            cur.execute(STATEMENTS["customer_pool"], {"size": pool_size})
            self.customers = cur.fetchall()
        conn.close()
        if not self.products or not self.customers:
            raise SimulationError("no products or customers: load a catalog first (python -m datagen load)")

    @contextlib.contextmanager
    def connection(self) -> Iterator:
        """A connection of the simulator, closed when the block ends."""
        conn = psycopg2.connect(self.database_url, application_name="bfp-simulator")
        try:
            yield conn
        finally:
            conn.close()

    def insert_order(self, cur, lines: int | None = None) -> PlacedOrder:
        """Inserts one order with 1-4 lines in the caller's transaction."""
        customer_id, state = self.rng.choice(self.customers)
        picked = self.rng.sample(self.products, lines or self.rng.randint(1, 4))
        quantities = [self.rng.choice((1, 1, 1, 2, 3)) for _ in picked]
        subtotal = sum((p.price * q for p, q in zip(picked, quantities, strict=True)), Decimal("0"))
        fee = Decimal("0") if subtotal >= FREE_SHIPPING_FROM else SHIPPING_FEE
        cur.execute(
            STATEMENTS["insert_order"],
            {
                "customer_id": customer_id,
                "item_count": sum(quantities),
                "subtotal": subtotal,
                "shipping_fee": fee,
                "total": subtotal + fee,
                "name": f"Shopper {customer_id}",
                "address": f"{self.rng.randint(1, 9999)} Main St",
                "city": self.rng.choice(CITIES),
                "state": state,
                "zip": f"{self.rng.randint(10000, 99999)}",
            },
        )
        order_id, updated_at = cur.fetchone()
        for line_no, (product, quantity) in enumerate(zip(picked, quantities, strict=True), start=1):
            cur.execute(
                STATEMENTS["insert_item"],
                {
                    "order_id": order_id,
                    "line_no": line_no,
                    "product_id": product.id,
                    "asin": product.asin,
                    "title": product.title,
                    "category_code": product.category_code,
                    "unit_price": product.price,
                    "quantity": quantity,
                },
            )
        return PlacedOrder(order_id, updated_at)

    def place_orders(self, count: int) -> list[PlacedOrder]:
        """`count` orders, each committed in its own transaction."""
        placed = []
        with self.connection() as conn:
            for _ in range(count):
                with conn, conn.cursor() as cur:
                    placed.append(self.insert_order(cur))
        return placed

    def burst(self, count: int) -> list[PlacedOrder]:
        """`count` orders in one transaction: they all share one updated_at (a tie on the watermark)."""
        with self.connection() as conn, conn, conn.cursor() as cur:
            return [self.insert_order(cur) for _ in range(count)]

    def advance(self, order_ids: list[int], cancel_share: float = 0.1) -> list[tuple[int, str, object]]:
        """Moves each order one lifecycle step (or cancels it), one transaction; returns (id, status, updated_at)."""
        with self.connection() as conn, conn, conn.cursor() as cur:
            cur.execute(
                STATEMENTS["advance_status"],
                {"order_ids": list(order_ids), "cancel": self.rng.random() < cancel_share},
            )
            return cur.fetchall()

    @contextlib.contextmanager
    def open_transaction(self) -> Iterator[tuple[object, PlacedOrder]]:
        """Inserts an order in a transaction left open until the block ends, then commits it: a late commit."""
        with self.connection() as conn:
            placed = self.insert_order(conn.cursor())
            yield conn, placed
            conn.commit()

    def bulk(self, count: int) -> int:
        """`count` one-line orders in one set-based statement (benchmark volumes); returns lines inserted."""
        with self.connection() as conn, conn, conn.cursor() as cur:
            cur.execute(STATEMENTS["bulk_orders"], {"count": count})
            return cur.rowcount


def backdate_orders(database_url: str, stamps: dict[int, object]) -> None:
    """Gives orders chosen updated_at values (to place them in past windows: tests and the pipeline drill), with
    the stamping trigger off for that moment."""
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("ALTER TABLE orders DISABLE TRIGGER orders_set_updated_at")
        for order_id, stamp in stamps.items():
            cur.execute("UPDATE orders SET updated_at = %s WHERE id = %s", (stamp, order_id))
        cur.execute("ALTER TABLE orders ENABLE TRIGGER orders_set_updated_at")
    conn.close()
