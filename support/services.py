"""The services a test session or a drill runs on: PostgreSQL and both Redis roles of its own (scripts/services.sh
on free ports in a folder of its own), the schema, a catalog, and a watcher of PostgreSQL's connections."""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from datagen import purchases
from datagen.load import load_catalog
from serving.migrate import apply_migrations
from support.net import free_port

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ROOT / "scripts" / "services.sh"


def services_sh(command: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """scripts/services.sh `command` [args] with `env` (its BFP_STATE_DIR, ports, database name)."""
    return subprocess.run(
        [str(SERVICES), command, *args], env=env, capture_output=True, text=True, check=False, timeout=600
    )


def parse_env_lines(text: str) -> dict[str, str]:
    """The NAME=value lines services.sh prints (its URLs)."""
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


@dataclass
class Services:
    """scripts/services.sh with one environment: its URLs once `up` printed them."""

    env: dict[str, str]
    database_url: str = ""
    redis_url: str = ""
    cache_redis_url: str = ""

    def run(self, command: str, *args: str) -> None:
        """services.sh `command` (up, down, destroy, restart-postgres, stop-redis [state|cache], freeze-redis…);
        raises with its output when it fails."""
        done = services_sh(command, self.env, *args)
        if done.returncode != 0:
            raise RuntimeError(f"services.sh {command} failed:\n{done.stdout}\n{done.stderr}")
        urls = parse_env_lines(done.stdout)
        self.database_url = urls.get("DATABASE_URL", self.database_url)
        self.redis_url = urls.get("REDIS_URL", self.redis_url)
        self.cache_redis_url = urls.get("BFP_CACHE_REDIS_URL", self.cache_redis_url)


def start_services(state_dir: Path, db_name: str, fresh: bool = True) -> Services:
    """Started services of their own in `state_dir` on free ports; `fresh`: data of earlier runs deleted first,
    so the figures are this run's (else a previous run's are stopped and reused)."""
    services = Services(
        {
            **os.environ,
            "BFP_STATE_DIR": str(state_dir),
            "BFP_PG_PORT": str(free_port()),
            "BFP_REDIS_PORT": str(free_port()),
            "BFP_REDIS_CACHE_PORT": str(free_port()),
            "BFP_DB_NAME": db_name,
        }
    )
    services.run("destroy" if fresh else "down")
    services.run("up")
    return services


@contextlib.contextmanager
def running_services(state_dir: Path, db_name: str, fresh: bool = True, destroy: bool = False) -> Iterator[Services]:
    """`start_services`, stopped (or, with `destroy`, deleted) on exit."""
    services = start_services(state_dir, db_name, fresh)
    try:
        yield services
    finally:
        services_sh("destroy" if destroy else "down", services.env)


def schema_and_catalog(services: Services, state: Path, scale: purchases.Scale | None = None) -> None:
    """The OLTP schema and a catalog from a generated purchases file (the demo's scale unless given)."""
    apply_migrations(services.database_url)
    csv_path = state / f"purchases-{(scale or purchases.SCALES['demo']).name}.csv"
    if not csv_path.exists():
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        purchases.write_purchases_csv(purchases.generate_purchases(scale or purchases.SCALES["demo"]), csv_path)
    load_catalog(csv_path, services.database_url, state / "quarantine")


class ConnectionWatcher(threading.Thread):
    """Samples how many client connections PostgreSQL holds for one database (its own excluded) until stopped."""

    def __init__(self, database_url: str, every: float = 0.1):
        super().__init__(daemon=True)
        self.database_url, self.every = database_url, every
        self.seen: list[int] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            while not self.stopped.is_set():
                count = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
                ).fetchone()[0]
                self.seen.append(count)
                self.stopped.wait(self.every)

    def stop(self) -> int:
        """Stops sampling; the most connections seen."""
        self.stopped.set()
        self.join(timeout=10)
        return max(self.seen, default=0)
