"""One doorbuster is one hot row: the storefront's checkout transaction (serving.checkout.service.order_transaction)
from 50 connections with every buyer on one product, on the same product with its stock split over 16 slots (PUT
/api/v1/admin/products/{id}/stock-slots: what a shop does for a doorbuster), and the same load spread over 100
products, straight into PostgreSQL (bench.checkout_floor.raw_checkouts: no HTTP, no pool, so the rows are what is
measured). Interleaved rounds, best of each. Then no product oversold, and the units sold equal the stock taken.

Usage: python -m bench.hot_product [--seconds 15] [--rounds 2] [--concurrency 50]    (its own services, a small
catalog; `make bench-hot-product`; `make bench-serve` prints the same comparison on the full catalog)
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import psycopg

from bench.checkout_floor import raw_checkouts, synchronous_commit
from bench.harness import Outcome, add_strict
from datagen import purchases
from serving.admin.api import lay_out_stock
from support.services import running_services, schema_and_catalog

STOCK = 1_000_000  # far from scarce: the default limit of a scarce product does not apply
SPREAD = 100
SLOTS = 16
ONE, SPLIT, SPREAD_NAME = "one product", f"one, {SLOTS} slots", f"{SPREAD} products"


def prepare(database_url: str) -> list[int]:
    """102 products with ample stock and no purchase limit: the hot one first, then the split one."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM products ORDER BY id LIMIT %s", (SPREAD + 2,))]
        conn.execute("DELETE FROM purchase_limits WHERE product_id = ANY(%s)", (ids,))
        conn.execute("UPDATE products SET stock = %s WHERE id = ANY(%s)", (STOCK, ids))
        with conn.transaction():
            conn.execute("SELECT 1 FROM products WHERE id = %s FOR UPDATE", (ids[1],))
            lay_out_stock(conn, ids[1], STOCK, SLOTS)
    return ids


def sold_and_taken(database_url: str, ids: list[int]) -> tuple[int, int, int]:
    """(units ordered of these products, stock taken from them, rows below zero)."""
    with psycopg.connect(database_url) as conn:
        sold = conn.execute(
            "SELECT coalesce(sum(quantity), 0) FROM order_items WHERE product_id = ANY(%s)", (ids,)
        ).fetchone()[0]
        stock, below = conn.execute(
            "SELECT sum(stock), count(*) FILTER (WHERE stock < 0) FROM ("
            " SELECT stock FROM products WHERE id = ANY(%(ids)s)"
            " UNION ALL SELECT stock FROM product_stock_slots WHERE product_id = ANY(%(ids)s)) AS rows",
            {"ids": ids},
        ).fetchone()
    return int(sold), STOCK * len(ids) - int(stock), int(below)


def compare(database_url: str, concurrency: int, seconds: float, rounds: int) -> dict:
    """Orders/s, best of `rounds` interleaved rounds, with every buyer on one product (one row, then split over
    slots) and spread over 100."""
    ids = prepare(database_url)
    hot, split, spread = ids[:1], ids[1:2], ids[2:]
    runs: dict[str, list[dict]] = {ONE: [], SPLIT: [], SPREAD_NAME: []}
    for _ in range(rounds):
        runs[ONE].append(raw_checkouts(database_url, hot, concurrency, seconds))
        runs[SPLIT].append(raw_checkouts(database_url, split, concurrency, seconds))
        runs[SPREAD_NAME].append(raw_checkouts(database_url, spread, concurrency, seconds))
    best = {name: max(found, key=lambda r: r["orders_per_s"]) for name, found in runs.items()}
    sold, taken, below = sold_and_taken(database_url, ids)
    errors = [error for found in runs.values() for run in found for error in run["errors"]]
    return {"best": best, "sold": sold, "taken": taken, "below": below, "errors": errors}


def report(result: dict, concurrency: int, seconds: float, commit: str) -> Outcome:
    """Prints the comparison; returns the outcome (its figures, the goal, the checks: a failed one fails the run)."""
    best = result["best"]
    hot, split, spread = (best[name]["orders_per_s"] for name in (ONE, SPLIT, SPREAD_NAME))
    print(f"\nOne hot product: {concurrency} buyers, the checkout transaction straight into PostgreSQL, {seconds:g} s"
          f" rounds, best of each (synchronous_commit={commit})")  # fmt: skip
    for name, run in best.items():
        print(f"  {name:<16}{run['orders_per_s']:>9,.1f} orders/s  ({run['orders']:,} orders)")
    ratio, split_ratio = (hot / spread, split / spread) if spread else (0.0, 0.0)
    print(f"  ratio one row / spread      {ratio:>7.2f}   (one row: about one order per WAL flush)")
    outcome = Outcome("bench-hot-product")
    outcome.figure("one_product_orders_per_s", hot)
    outcome.figure("split_orders_per_s", split)
    outcome.figure("spread_orders_per_s", spread)
    outcome.figure("split_slots", SLOTS)
    outcome.figure("buyers", concurrency)
    outcome.goal(f"one product's stock split over {SLOTS} slots / spread over {SPREAD}", split_ratio, ">=", 0.8)
    outcome.control(not result["errors"], f"no error in any round: {result['errors'][:1] or 'none'}")
    outcome.control(result["below"] == 0, f"no product oversold: {result['below']} below zero")
    outcome.control(
        result["sold"] == result["taken"], f"units sold {result['sold']:,} = stock taken {result['taken']:,}"
    )
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hot_product", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=50)
    add_strict(parser)
    args = parser.parse_args(argv)
    state = Path(tempfile.mkdtemp(prefix="bfp-bench-hot-"))
    with running_services(state / "services", "bfp_bench_hot", destroy=True) as services:
        schema_and_catalog(services, state, purchases.Scale("hot", rows=3_000, products=400, customers=60))
        result = compare(services.database_url, args.concurrency, args.seconds, args.rounds)
        outcome = report(result, args.concurrency, args.seconds, synchronous_commit(services.database_url))
    return outcome.finish(args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
