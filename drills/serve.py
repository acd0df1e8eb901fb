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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from rich.console import Console
from rich.table import Table

from support.gunicorn import Gunicorn, running_gunicorn
from support.services import Services, schema_and_catalog, start_services
from support.shopper import Answers, Catalog, Habits, Shopper

ROOT = Path(__file__).resolve().parents[1]
STATE = ROOT / ".local" / "drill-services"
RECOVERY_TARGET_SECONDS = 2.0
# a checkout that gets a 503 or loses its connection is tried again with the same key, every 0.2 s, 20 times
HABITS = Habits(
    checkout_attempts=20,
    retry_pause=0.2,
    shipping={"name": "Drill Shopper", "address": "1 Main St", "city": "Austin", "state": "TX", "zip": "73301"},
)
console = Console(width=150)


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


def run_drill(drill: Drill, base: str, catalog: Catalog, shoppers: int, seconds: float) -> tuple[Answers, float]:
    answers, stop = Answers(), threading.Event()
    threads = [Shopper(base, catalog, answers, stop, HABITS, seed=n) for n in range(shoppers)]
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
    return answers, max(0.0, answers.last_failure - back)


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
    services = start_services(STATE / "services", "bfp_drill", fresh=False)
    try:
        schema_and_catalog(services, STATE)
        with psycopg.connect(services.database_url) as conn:
            conn.execute("UPDATE products SET stock = 1000000")  # the drill is about faults, not sell-outs
            catalog = Catalog(
                tuple(r[0] for r in conn.execute("SELECT id FROM products ORDER BY random() LIMIT 500")),
                tuple(r[0] for r in conn.execute("SELECT code FROM categories")),
                words=("the", "pro", "kit"),
            )
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
                answers, recovered = run_drill(drill, server.url, catalog, args.shoppers, args.seconds)
                by_class = answers.by_class()
                lost = lost_orders(services.database_url, answers.committed)
                other_5xx = by_class["5xx"]
                ok = other_5xx == 0 and lost == 0 and recovered <= RECOVERY_TARGET_SECONDS
                failed |= not ok
                table.add_row(
                    drill.name,
                    f"{answers.requests:,}",
                    f"{by_class['2xx']:,}",
                    f"{by_class['4xx']:,}",
                    f"{by_class['503']:,}",
                    str(other_5xx),
                    str(by_class["lost"]),
                    f"{len(answers.committed):,}",
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
