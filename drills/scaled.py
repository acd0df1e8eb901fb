"""Storefront scale-out drill (`make drill-scaled`): several instances behind HAProxy with PostgreSQL behind
PgBouncer (support/scaled.py), on services of its own, against the same shoppers straight to one instance.

Measures, in one run: the shopper mix's requests per second through the load balancer and pooler against
straight to one gunicorn with as many workers (goal >= 0.85 of direct: on 2 cores throughput cannot grow with
N, so this is the cost of the hops); the worst time for a price change through one instance to be served by
every instance (goal <= 50 ms); an instance killed with -9 under load (seconds until every request succeeds
again, goal <= 2 s; requests failed; committed orders lost or doubled, goal 0); the most PostgreSQL
connections seen (goal <= the pooler's pool). Prints one table; exits 1 when a goal is missed.

Usage: python -m drills.scaled [--instances 3] [--clients 12] [--seconds 15]
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time

import psycopg
import redis
import requests

from drills.serve import STATE, console, gunicorn
from support.report import goal_table
from support.scaled import scaled_storefront
from support.services import ConnectionWatcher, schema_and_catalog, start_services
from support.shopper import Answers, Catalog, Habits, Shopper, run_for

ADMIN_TOKEN = "drill-scaled-admin-token-0123456789abcdef"
SHIPPING = {"name": "Drill", "address": "1 Elm Road", "city": "Austin", "state": "TX", "zip": "73301"}
POOL_SIZE = 12


# clients without pause (measuring hops, not people), retrying a lost answer or a 503 at once with the same key
HABITS = Habits(search_share=0.0, checkout_attempts=5, retry_pause=0.0, shipping=SHIPPING)


class Load:
    """Clients running the shopper mix (category page, product, cart, checkout) without pause."""

    def __init__(self, url: str, catalog: Catalog, clients: int):
        self.answers, self.stop = Answers(), threading.Event()
        self.threads = [
            Shopper(url, catalog, self.answers, self.stop, HABITS, seed=n, address=f"198.51.100.{n + 1}")
            for n in range(clients)
        ]

    def run(self, seconds: float) -> float:
        """Requests per second over `seconds` of load."""
        run_for(self.threads, seconds)
        return self.answers.requests / seconds


def worst_staleness(scaled, product: int, changes: int = 10) -> float:
    """The longest time from a price change's answer to every instance serving the new price."""
    worst = 0.0
    for change in range(changes):
        price = f"{50 + change}.{change:02d}"
        changed = requests.patch(
            f"{scaled.instances[change % len(scaled.instances)].internal_url}/api/v1/admin/products/{product}",
            json={"price": price},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            timeout=5,
        )
        changed.raise_for_status()
        acked = time.monotonic()
        pending = set(range(len(scaled.instances)))
        while pending and time.monotonic() - acked < 5:
            for n in list(pending):
                shown = requests.get(f"{scaled.instances[n].url}/api/v1/products/{product}", timeout=5).json()
                if shown["price"] == price:
                    pending.discard(n)
                    worst = max(worst, time.monotonic() - acked)
        if pending:
            return float("inf")
    return worst


def orders_lost_and_doubled(database_url: str, committed: dict[str, int]) -> tuple[int, int]:
    with psycopg.connect(database_url) as conn:
        found = {
            row[0] for row in conn.execute("SELECT id FROM orders WHERE id = ANY(%s)", (list(committed.values()),))
        }
        doubled = conn.execute(
            "SELECT count(*) FROM (SELECT idempotency_key FROM checkout_idempotency_keys WHERE idempotency_key = "
            "ANY(%s) GROUP BY customer_id, idempotency_key HAVING count(*) > 1) d",
            (list(committed),),
        ).fetchone()[0]
    return sum(order not in found for order in committed.values()), doubled


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=3)
    parser.add_argument("--clients", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args(argv)
    STATE.mkdir(parents=True, exist_ok=True)
    services = start_services(STATE / "services", "bfp_drill_scaled")
    settings = {
        "BFP_ADMIN_TOKEN": ADMIN_TOKEN,
        "BFP_CHECKOUT_RATE_LIMIT": "100000 per minute",  # clients without pause: measuring hops, not limits
        "BFP_NEW_SHOPPER_RATE_LIMIT": "100000 per minute",
    }
    try:
        schema_and_catalog(services, STATE)
        with psycopg.connect(services.database_url) as conn:
            conn.execute("UPDATE products SET stock = 1000000")
            catalog = Catalog(
                tuple(r[0] for r in conn.execute("SELECT id FROM products ORDER BY random() LIMIT 300")),
                tuple(r[0] for r in conn.execute("SELECT code FROM categories")),
            )

        console.print(f"drill-scaled: straight to one instance ({args.instances} workers), {args.seconds:.0f} s …")
        overrides = {**settings, "BFP_WORKERS": str(args.instances), "BFP_TRUSTED_PROXIES": "1"}
        with gunicorn(services, **overrides) as server:
            direct = Load(server.url, catalog, args.clients).run(args.seconds)
        for url in (services.redis_url, services.cache_redis_url):
            redis.Redis.from_url(url).flushdb()

        console.print(f"drill-scaled: {args.instances} instances behind HAProxy and PgBouncer …")
        with scaled_storefront(
            services.database_url,
            services.redis_url,
            services.cache_redis_url,
            args.instances,
            POOL_SIZE,
            state=STATE / "scaled",
            **settings,
        ) as scaled:
            watcher = ConnectionWatcher(services.database_url)
            watcher.start()
            balanced_load = Load(scaled.url, catalog, args.clients)
            balanced = balanced_load.run(args.seconds)
            staleness = worst_staleness(scaled, catalog.products[0])

            console.print("drill-scaled: kill -9 of one instance's master under load …")
            killed = Load(scaled.url, catalog, args.clients)
            for thread in killed.threads:
                thread.start()
            time.sleep(3)  # load before the kill
            os.kill(scaled.instances[-1].process.pid, signal.SIGKILL)
            killed_at = time.monotonic()
            time.sleep(6)  # and after it
            killed.stop.set()
            for thread in killed.threads:
                thread.join(timeout=30)
            most_connections = watcher.stop()
        failures = killed.answers.failed_at()
        failed_after_kill = [when for when in failures if when >= killed_at]
        recovered = max(failed_after_kill, default=killed_at) - killed_at
        committed = {**balanced_load.answers.committed, **killed.answers.committed}
        lost, doubled = orders_lost_and_doubled(services.database_url, committed)
        statuses = balanced_load.answers.statuses + killed.answers.statuses
    finally:
        services.run("down")

    ratio = balanced / direct
    other_5xx = sum(count for status, count in statuses.items() if status >= 500 and status != 503)
    rows = [
        ("requests/s: straight to one instance → through HAProxy + PgBouncer",
         f"{direct:,.0f} → {balanced:,.0f} ({ratio:.2f})", "≥ 0.85", ratio >= 0.85),
        (f"worst price-change staleness across {args.instances} instances (10 changes)",
         f"{staleness * 1000:.0f} ms", "≤ 50 ms", staleness <= 0.05),
        ("kill -9 of one master: failing until", f"{recovered:.2f} s after the kill ({len(failed_after_kill)} failed)",
         "≤ 2 s", recovered <= 2.0),
        ("orders committed; lost / doubled", f"{len(committed):,}; {lost} / {doubled}", "0 / 0", lost == doubled == 0),
        ("5xx other than 503", str(other_5xx), "0", other_5xx == 0),
        ("PostgreSQL connections, most seen", str(most_connections), f"≤ pool {POOL_SIZE}",
         most_connections <= POOL_SIZE),
    ]  # fmt: skip
    return goal_table(console, f"make drill-scaled: {args.instances} instances", rows)


if __name__ == "__main__":
    raise SystemExit(main())
