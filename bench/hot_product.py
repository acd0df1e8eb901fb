"""One doorbuster is one hot row: the storefront's checkout transaction (serving.checkout.service.order_transaction)
from 50 connections with every buyer on one product, against the same load spread over 100 products, straight
into PostgreSQL (bench.checkout_floor.raw_checkouts: no HTTP, no pool, so the row is what is measured). Interleaved
rounds, best of each. Then no product oversold, and the units sold equal the stock taken.

Usage: python -m bench.hot_product [--seconds 15] [--rounds 2] [--concurrency 50]    (its own services, a small
catalog; `make bench-hot-product`; `make bench-serve` prints the same comparison on the full catalog)
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import psycopg

from bench.checkout_floor import raw_checkouts, synchronous_commit
from datagen import purchases
from support.services import running_services, schema_and_catalog

STOCK = 1_000_000  # far from scarce: the default limit of a scarce product does not apply
SPREAD = 100


def prepare(database_url: str) -> list[int]:
    """101 products with ample stock and no purchase limit: the hot one first."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM products ORDER BY id LIMIT %s", (SPREAD + 1,))]
        conn.execute("DELETE FROM purchase_limits WHERE product_id = ANY(%s)", (ids,))
        conn.execute("UPDATE products SET stock = %s WHERE id = ANY(%s)", (STOCK, ids))
    return ids


def sold_and_taken(database_url: str, ids: list[int]) -> tuple[int, int, int]:
    """(units ordered of these products, stock taken from them, products below zero)."""
    with psycopg.connect(database_url) as conn:
        sold = conn.execute(
            "SELECT coalesce(sum(quantity), 0) FROM order_items WHERE product_id = ANY(%s)", (ids,)
        ).fetchone()[0]
        stock, below = conn.execute(
            "SELECT sum(stock), count(*) FILTER (WHERE stock < 0) FROM products WHERE id = ANY(%s)", (ids,)
        ).fetchone()
    return int(sold), STOCK * len(ids) - int(stock), int(below)


def compare(database_url: str, concurrency: int, seconds: float, rounds: int) -> dict:
    """Orders/s, best of `rounds` interleaved rounds, with every buyer on one product and spread over 100."""
    ids = prepare(database_url)
    hot, spread = ids[:1], ids[1:]
    runs: dict[str, list[dict]] = {"one product": [], f"{SPREAD} products": []}
    for _ in range(rounds):
        runs["one product"].append(raw_checkouts(database_url, hot, concurrency, seconds))
        runs[f"{SPREAD} products"].append(raw_checkouts(database_url, spread, concurrency, seconds))
    best = {name: max(found, key=lambda r: r["orders_per_s"]) for name, found in runs.items()}
    sold, taken, below = sold_and_taken(database_url, ids)
    errors = [error for found in runs.values() for run in found for error in run["errors"]]
    return {"best": best, "sold": sold, "taken": taken, "below": below, "errors": errors}


def report(result: dict, concurrency: int, seconds: float, commit: str) -> list[tuple[bool, str]]:
    """Prints the comparison; returns the checks (a failed one fails the run)."""
    best = result["best"]
    hot, spread = best["one product"]["orders_per_s"], best[f"{SPREAD} products"]["orders_per_s"]
    print(f"\nOne hot product: {concurrency} buyers, the checkout transaction straight into PostgreSQL, {seconds:g} s"
          f" rounds, best of each (synchronous_commit={commit})")  # fmt: skip
    for name, run in best.items():
        print(f"  {name:<14}{run['orders_per_s']:>9,.1f} orders/s  ({run['orders']:,} orders)")
    ratio = hot / spread if spread else 0.0
    print(f"  ratio one / spread  {ratio:>7.2f}   goal >= 0.8: {'met' if ratio >= 0.8 else 'MISSED'}")
    checks = [
        (not result["errors"], f"no error in any round: {result['errors'][:1] or 'none'}"),
        (result["below"] == 0, f"no product oversold: {result['below']} below zero"),
        (result["sold"] == result["taken"], f"units sold {result['sold']:,} = stock taken {result['taken']:,}"),
    ]
    for ok, what in checks:
        print(f"{'check met   ' if ok else 'check FAILED'} {what}")
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.hot_product", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args(argv)
    state = Path(tempfile.mkdtemp(prefix="bfp-bench-hot-"))
    with running_services(state / "services", "bfp_bench_hot", destroy=True) as services:
        schema_and_catalog(services, state, purchases.Scale("hot", rows=3_000, products=400, customers=60))
        result = compare(services.database_url, args.concurrency, args.seconds, args.rounds)
        checks = report(result, args.concurrency, args.seconds, synchronous_commit(services.database_url))
    return 0 if all(ok for ok, _ in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
