"""Storefront fault drill (`make drill-serve`): shoppers under load against gunicorn with the production config,
and, one at a time, a worker killed with -9, PostgreSQL restarted, Redis stopped, Redis frozen. One table per
drill: requests, 2xx / 4xx / 503 / other 5xx, connection errors, committed orders lost, seconds to recover.

Targets: 0 x other 5xx, 0 committed orders lost, recovery <= 2 s: no request fails later than 2 s after the
service is back.

Shoppers behave as a careful client does: a checkout that gets a 503 or loses its connection is retried with
the same Idempotency-Key (the order is made once). Committed = answered 201; lost = answered 201 and not in
the database at the end. Runs on services of its own (.local/drill-services), never the demo's.

Usage: python -m drills.serve [--shoppers 8] [--seconds 4]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests
from rich.console import Console
from rich.table import Table

from support.drill_services import Services, drill_services, schema_and_catalog
from support.gunicorn import Gunicorn, running_gunicorn

ROOT = Path(__file__).resolve().parents[1]
STATE = ROOT / ".local" / "drill-services"
SERVICES = ROOT / "scripts" / "services.sh"
RECOVERY_TARGET_SECONDS = 2.0
CHECKOUT_RETRIES = 20
console = Console(width=150)


@dataclass
class Tally:
    """What the shoppers saw during one drill."""

    statuses: Counter = field(default_factory=Counter)
    connection_errors: int = 0
    committed: dict[str, int] = field(default_factory=dict)  # idempotency key -> order id answered 201
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_failure: float = 0.0  # when a request last got a 5xx or lost its connection

    def record(self, status: int | None) -> None:
        with self.lock:
            if status is None:
                self.connection_errors += 1
            else:
                self.statuses[status] += 1
            if status is None or status >= 500:
                self.last_failure = time.monotonic()


class Shopper(threading.Thread):
    """Browses, searches, adds to the cart and checks out in a loop until told to stop."""

    def __init__(self, base: str, products: list[int], categories: list[str], tally: Tally, stop: threading.Event):
        super().__init__(daemon=True)
        self.base, self.products, self.categories, self.tally, self.stop = base, products, categories, tally, stop
        self.session = requests.Session()
        self.rng = random.Random()

    def call(self, method: str, path: str, **kwargs) -> requests.Response | None:
        try:
            response = self.session.request(method, self.base + path, timeout=10, **kwargs)
        except requests.RequestException:
            self.tally.record(None)
            return None
        self.tally.record(response.status_code)
        return response

    def checkout(self) -> None:
        key = uuid.uuid4().hex
        body = {"name": "Drill Shopper", "address": "1 Main St", "city": "Austin", "state": "TX", "zip": "73301"}
        for _ in range(CHECKOUT_RETRIES):
            response = self.call("POST", "/api/v1/checkout", json=body, headers={"Idempotency-Key": key})
            if response is not None and response.status_code == 201:
                with self.tally.lock:
                    self.tally.committed[key] = response.json()["id"]
                return
            if response is not None and response.status_code not in (503,):
                return  # a 4xx (sold out, rate limit) is an answer, not a fault
            time.sleep(0.2)  # 503 or a lost connection: the same key again

    def run(self) -> None:
        while not self.stop.is_set():
            self.call("GET", f"/api/v1/categories/{self.rng.choice(self.categories)}/products", params={"limit": 12})
            self.call("GET", f"/api/v1/products/{self.rng.choice(self.products)}")
            self.call("GET", "/api/v1/search", params={"q": self.rng.choice(["the", "pro", "kit"]), "limit": 5})
            added = self.call("POST", "/api/v1/cart/items", json={"product_id": self.rng.choice(self.products)})
            if added is not None and added.status_code == 200:
                self.checkout()


@contextlib.contextmanager
def gunicorn(services: Services, **overrides: str) -> Iterator[Gunicorn]:
    """gunicorn with the production config on the drill's services; `overrides` replace its settings."""
    settings = {
        "BFP_SECRET_KEY": secrets.token_hex(16),
        "DATABASE_URL": services.database_url,
        "REDIS_URL": services.redis_url,
        "BFP_CACHE_REDIS_URL": services.cache_redis_url,
        "BFP_WORKERS": "4",
        "BFP_ACCESS_LOG": str(STATE / "access.log"),
        "BFP_CHECKOUT_RATE_LIMIT": "1000 per second",
        # the drill's shoppers all come from 127.0.0.1
        "BFP_NEW_SHOPPER_RATE_LIMIT": "1000 per second",
        "BFP_SEARCH_RATE_LIMIT": "1000 per second",
        "PROMETHEUS_MULTIPROC_DIR": str(STATE / "metrics"),
        **overrides,
    }
    with running_gunicorn(settings, STATE / "gunicorn.log") as server:
        yield server


def worker_pids(master: subprocess.Popen) -> list[int]:
    children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
    return [int(pid) for pid in children]


@dataclass
class Drill:
    name: str
    fault: Callable[[], None]  # returns when the service is back (or the fault is over)


def run_drill(drill: Drill, base: str, products: list[int], categories: list[str], shoppers: int, seconds: float):
    tally, stop = Tally(), threading.Event()
    threads = [Shopper(base, products, categories, tally, stop) for _ in range(shoppers)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)  # steady load first
    drill.fault()
    back = time.monotonic()  # the service is back (or the worker is dead: its master replaces it)
    time.sleep(seconds)  # and load after it
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    # recovery: how long after the service was back requests still failed (0 when none did)
    return tally, max(0.0, tally.last_failure - back)


def lost_orders(database_url: str, committed: dict[str, int]) -> int:
    """Orders answered 201 that the database does not hold."""
    if not committed:
        return 0
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT id FROM orders WHERE id = ANY(%s)", (list(committed.values()),))
        found = {row[0] for row in rows}
    return sum(1 for order_id in committed.values() if order_id not in found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shoppers", type=int, default=8, help="concurrent shoppers (%(default)s)")
    parser.add_argument("--seconds", type=float, default=4.0, help="load before and after each fault (%(default)s)")
    args = parser.parse_args(argv)
    STATE.mkdir(parents=True, exist_ok=True)
    services = drill_services(STATE, "bfp_drill", fresh=False)
    try:
        schema_and_catalog(services, STATE)
        with psycopg.connect(services.database_url) as conn:
            conn.execute("UPDATE products SET stock = 1000000")  # the drill is about faults, not sell-outs
            products = [r[0] for r in conn.execute("SELECT id FROM products ORDER BY random() LIMIT 500")]
            categories = [r[0] for r in conn.execute("SELECT code FROM categories")]
        with gunicorn(services) as server:
            master = server.process

            def kill_worker() -> None:
                os.kill(random.choice(worker_pids(master)), signal.SIGKILL)

            def stop_redis() -> None:
                services.run("stop-redis")
                time.sleep(3)
                services.run("start-redis")

            def freeze_redis() -> None:
                services.run("freeze-redis")
                time.sleep(3)
                services.run("thaw-redis")

            drills = [
                Drill("kill -9 a gunicorn worker", kill_worker),
                Drill("restart PostgreSQL", lambda: services.run("restart-postgres")),
                Drill("stop Redis for 3 s", stop_redis),
                Drill("freeze Redis (SIGSTOP) for 3 s", freeze_redis),
            ]
            columns = ("drill", "requests", "2xx", "4xx", "503", "other 5xx", "conn. errors", "orders", "lost")
            table = Table(
                *columns,
                "failing after back (s)",
                "verdict",
                title=f"make drill-serve: {args.shoppers} shoppers, production gunicorn",
            )
            failed = False
            for drill in drills:
                console.print(f"drill: {drill.name} …")
                tally, recovered = run_drill(drill, server.url, products, categories, args.shoppers, args.seconds)
                by_class = Counter()
                for status, count in tally.statuses.items():
                    by_class["503" if status == 503 else f"{status // 100}xx"] += count
                lost = lost_orders(services.database_url, tally.committed)
                other_5xx = by_class["5xx"]
                ok = other_5xx == 0 and lost == 0 and recovered <= RECOVERY_TARGET_SECONDS
                failed |= not ok
                table.add_row(
                    drill.name,
                    f"{sum(tally.statuses.values()) + tally.connection_errors:,}",
                    f"{by_class['2xx']:,}",
                    f"{by_class['4xx']:,}",
                    f"{by_class['503']:,}",
                    str(other_5xx),
                    str(tally.connection_errors),
                    f"{len(tally.committed):,}",
                    str(lost),
                    f"{recovered:.2f}",
                    "[green]met[/green]" if ok else "[red]missed[/red]",
                )
            console.print(table)
            console.print(
                "targets: 0 other 5xx, 0 committed orders lost, no failure later than 2 s after the service is back; "
                f"gunicorn log: {STATE / 'gunicorn.log'}"
            )
        return 1 if failed else 0
    finally:
        services.run("down")


if __name__ == "__main__":
    sys.exit(main())
