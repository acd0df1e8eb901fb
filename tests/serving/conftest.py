"""Storefront fixtures: the app on the test's own database (small catalog) and the session's Redis, and a
running gunicorn for the tests where concurrency matters."""

from __future__ import annotations

import contextlib
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import psycopg
import pytest
import redis

from serving import create_app
from serving.config import ServingConfig
from support.gunicorn import running_gunicorn as support_gunicorn
from support.net import free_port, wait_until
from support.services import Services
from tests.conftest import database_from_template

ADMIN_TOKEN = "test-admin-token-0123456789abcdef"
SHIPPING = {"name": "Ann Shopper", "address": "1 Main St", "city": "Austin", "state": "TX", "zip": "73301"}


# Every test client comes from one address: the per-address limits are lifted here and tested on their own
# (tests/serving/test_abuse.py), as the drills and benchmarks lift them for their simulated shoppers.
ONE_ADDRESS_LIMITS = {"BFP_NEW_SHOPPER_RATE_LIMIT": "100000 per minute", "BFP_SEARCH_RATE_LIMIT": "100000 per minute"}

# A test client's app opens its pool on its first request; with Spark jobs of other tests on both cores, the first
# connection took longer than the production half-second wait and a plain GET was shed (503 database_busy). The
# tests of shedding set their own wait; the others wait as long as a loaded test machine needs.
TEST_MACHINE_POOL_WAIT = {"BFP_DB_POOL_WAIT_SECONDS": "10"}


def config_for(database_url: str, redis_url: str, cache_redis_url: str) -> ServingConfig:
    env = {
        "BFP_SECRET_KEY": secrets.token_hex(16),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "BFP_CACHE_REDIS_URL": cache_redis_url,
        "BFP_ADMIN_TOKEN": ADMIN_TOKEN,
        **ONE_ADDRESS_LIMITS,
        **TEST_MACHINE_POOL_WAIT,
    }
    return ServingConfig.from_env(env)


@pytest.fixture
def config(oltp_url, services, redis_client) -> ServingConfig:
    return config_for(oltp_url, services.redis_url, services.cache_redis_url)


@pytest.fixture
def app(config):
    app = create_app(config)
    app.config.update(TESTING=True)
    yield app
    app.extensions["bfp_database"].close()


@pytest.fixture
def make_app(config):
    """Apps built from the test's config with some settings replaced; closed after the test."""
    apps = []

    def build(**changes):
        app = create_app(replace(config, **changes))
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.extensions["bfp_database"].close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def sql(oltp_url) -> Iterator[psycopg.Connection]:
    """A direct autocommit connection to the test's database, to arrange rows and check results."""
    with psycopg.connect(oltp_url, autocommit=True) as conn:
        yield conn


def product_in_stock(conn: psycopg.Connection) -> dict:
    row = conn.execute(
        "SELECT p.id, p.price, p.stock, c.code FROM products p JOIN categories c ON c.id = p.category_id "
        "WHERE p.stock > 0 ORDER BY p.id LIMIT 1"
    ).fetchone()
    return {"id": row[0], "price": row[1], "stock": row[2], "category": row[3]}


@dataclass(frozen=True)
class LiveServer:
    url: str  # the public listener (shoppers)
    internal_url: str  # the internal listener (metrics, probes, admin, API docs)
    database_url: str
    process: subprocess.Popen
    log_path: Path


@contextlib.contextmanager
def live_gunicorn(database_url: str, services: Services, tmp: Path, **env_overrides: str) -> Iterator[LiveServer]:
    """gunicorn with the production config (gthread) on free ports (public and internal); stopped on exit."""
    settings = {
        "BFP_SECRET_KEY": secrets.token_hex(16),
        "BFP_ADMIN_TOKEN": ADMIN_TOKEN,
        "DATABASE_URL": database_url,
        "REDIS_URL": services.redis_url,
        "BFP_CACHE_REDIS_URL": services.cache_redis_url,
        "BFP_WORKERS": "2",
        **ONE_ADDRESS_LIMITS,
        **env_overrides,
    }
    with support_gunicorn(settings, tmp / f"gunicorn-{secrets.token_hex(4)}.log") as server:
        yield LiveServer(server.url, server.internal_url, database_url, server.process, server.log_path)


@pytest.fixture(scope="module")
def live_database(services, catalog_template) -> Iterator[str]:
    with database_from_template(services, catalog_template) as url:
        yield url


@pytest.fixture(scope="module")
def live_server(live_database, services, tmp_path_factory) -> Iterator[LiveServer]:
    for url in (services.redis_url, services.cache_redis_url):
        redis.Redis.from_url(url).flushdb()
    with live_gunicorn(live_database, services, tmp_path_factory.mktemp("gunicorn")) as server:
        yield server


@pytest.fixture
def stoppable_redis(tmp_path) -> Iterator[str]:
    """A redis-server of this test alone, so the test can stop it; yields its URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"

    def pings():
        try:
            return redis.Redis.from_url(url, socket_timeout=1).ping()
        except redis.ConnectionError:
            return False

    wait_until(pings, 10, "the test's redis-server")
    yield url
    process.kill()
    process.wait(timeout=10)


def with_redis(config: ServingConfig, redis_url: str) -> ServingConfig:
    """The config with both Redis roles on `redis_url` (a test's own server, which it stops)."""
    return replace(config, redis_url=redis_url, cache_redis_url=redis_url)
