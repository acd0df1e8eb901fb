"""Infrastructure faults, on a PostgreSQL cluster and a redis-server of this module's own (scripts/services.sh,
so the same commands the drill uses): a database restart under requests answers 200 or 503, never another 5xx,
and is served again within 2 s; a Redis restart keeps the carts; a frozen Redis answers 503 within the budget.
gunicorn's own refusals come in the error shape."""

from __future__ import annotations

import concurrent.futures
import itertools
import json
import secrets
import select
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator

import psycopg
import pytest
import requests
from psycopg_pool import ConnectionPool

from datagen import purchases
from datagen.load import load_catalog
from serving import create_app, metrics
from serving.config import ServingConfig
from serving.db import check_idle_connection
from serving.migrate import apply_migrations
from support.services import Services, running_services
from tests.conftest import SMALL_SCALE
from tests.serving.conftest import ONE_ADDRESS_LIMITS, product_in_stock, wait_until

RECOVERY_SECONDS = 2.0
REDIS_BUDGET_SECONDS = 1.0


@pytest.fixture(scope="module")
def own(tmp_path_factory) -> Iterator[Services]:
    state = tmp_path_factory.mktemp("own-services")
    with running_services(state / "services", "bfp_faults", destroy=True) as started:
        apply_migrations(started.database_url)
        csv_path = purchases.write_purchases_csv(purchases.generate_purchases(SMALL_SCALE, 3), state / "p.csv")
        load_catalog(csv_path, started.database_url, state / "quarantine")
        yield started


@pytest.fixture
def app(own, request):
    config = ServingConfig.from_env(
        {
            "BFP_SECRET_KEY": secrets.token_hex(16),
            "DATABASE_URL": own.database_url,
            "REDIS_URL": own.redis_url,
            "BFP_CACHE_REDIS_URL": own.cache_redis_url,
            **ONE_ADDRESS_LIMITS,
            "BFP_SEARCH_CONNECTIONS": "8",  # the searches below open several pooled connections on purpose
            **getattr(request, "param", {}),  # a test's own settings (indirect parametrisation)
        }
    )
    app = create_app(config)
    yield app
    app.extensions["bfp_database"].close()


SEARCHES = itertools.count()


def search(client) -> int:
    """A request that reaches the database every time: a search not asked before (searches are cached)."""
    return client.get("/api/v1/search", query_string={"q": f"the {next(SEARCHES)}", "limit": 5}).status_code


def test_a_database_restart_under_requests_is_200_or_503_and_served_again_within_2_s(app, own):
    client = app.test_client()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:  # open several pooled connections first
        assert set(pool.map(lambda _: search(app.test_client()), range(32))) == {200}
    statuses: Counter[int] = Counter()
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            statuses[search(app.test_client())] += 1

    loaders = [threading.Thread(target=load) for _ in range(4)]
    for thread in loaders:
        thread.start()
    own.run("restart-postgres")  # returns once the server accepts connections again
    back = time.monotonic()
    first_success = None
    while first_success is None and time.monotonic() - back < 10:
        if search(client) == 200:
            first_success = time.monotonic() - back
    stop.set()
    for thread in loaders:
        thread.join()

    assert set(statuses) <= {200, 503}, statuses  # a lost connection is a 503 with Retry-After, never a 500
    assert first_success is not None and first_success <= RECOVERY_SECONDS
    # the pool found and replaced every connection that died: sixty requests in a row all succeed
    assert Counter(search(client) for _ in range(60)) == Counter({200: 60})


def test_after_a_database_restart_the_first_shoppers_are_served_not_turned_away_by_dead_idle_connections(app, own):
    """A restart ends every idle pooled connection, and nothing notices until a request draws one. Each dead
    one drawn must cost a request nothing but a replacement: psycopg_pool's getconn sleeps after a failed check
    (its backoff, capped by the request's wait), so with 8 dead idle connections a lone shopper got eight 503s,
    4 s of them, after the database was back."""
    client = app.test_client()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:  # open several pooled connections first
        assert set(pool.map(lambda _: search(app.test_client()), range(32))) == {200}
    idle = app.extensions["bfp_database"].pool().get_stats()["pool_available"]
    assert idle >= 4, idle
    own.run("restart-postgres")  # no request meanwhile: every idle connection is dead and nobody knows
    back = time.monotonic()
    first = search(client)
    first_answered = time.monotonic() - back
    assert first == 200 and first_answered <= RECOVERY_SECONDS, (first, first_answered)
    assert Counter(search(client) for _ in range(60)) == Counter({200: 60})


OUTAGE_SECONDS = 8.0


def test_after_an_outage_of_seconds_under_light_traffic_requests_are_served_within_2_s_of_the_databases_return(
    app, own
):
    """While the database is down, the replacement of a lost connection keeps retrying; its retries must not
    drift away from the outage's end. psycopg_pool doubles a replacement's delay from 1 s on each failure and
    counts it as a member of the pool meanwhile, so requests cannot open another: after an 8 s outage a shopper
    asking every half second got 503s for 5 s and more after the database was back."""
    client = app.test_client()
    assert search(client) == 200  # light traffic: one pooled connection
    own.run("stop-postgres")
    down = time.monotonic()
    during: Counter[int] = Counter()
    while time.monotonic() - down < OUTAGE_SECONDS:  # a shopper keeps asking while it is down
        during[search(client)] += 1
    own.run("start-postgres")  # returns once the server accepts connections again
    back = time.monotonic()
    first_success = None
    while first_success is None and time.monotonic() - back < 20:
        if search(client) == 200:
            first_success = time.monotonic() - back

    assert set(during) == {503}, during
    assert first_success is not None and first_success <= RECOVERY_SECONDS, first_success
    assert Counter(search(client) for _ in range(30)) == Counter({200: 30})


def test_the_pool_check_runs_a_query_only_on_a_connection_the_server_wrote_to(own, monkeypatch):
    queried = []
    monkeypatch.setattr(ConnectionPool, "check_connection", lambda conn: queried.append(conn) or conn.execute(""))
    with psycopg.connect(own.database_url, autocommit=True) as healthy, psycopg.connect(own.database_url) as ended:
        healthy.execute("SELECT 1")
        for _ in range(3):
            check_idle_connection(healthy)  # idle and untouched: no round trip
        assert queried == []
        healthy.execute("SELECT pg_terminate_backend(%s)", (ended.info.backend_pid,))
        wait_until(lambda: select.select([ended.fileno()], [], [], 0)[0], 5, "the server to end the session")
        with pytest.raises(psycopg.OperationalError):
            check_idle_connection(ended)  # the server wrote (its FATAL message, then EOF): checked, found dead
        assert queried == [ended]


def test_pooled_connections_the_server_ended_while_idle_are_replaced_not_used(app, own):
    client = app.test_client()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:  # open several pooled connections first
        assert set(pool.map(lambda _: search(app.test_client()), range(32))) == {200}
    with psycopg.connect(own.database_url, autocommit=True) as admin:
        ended = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        ).fetchall()
        assert len(ended) >= 2
    statuses = [search(client) for _ in range(40)]
    # while the pool replaces them a request may wait past its budget (503 database_busy), never a 500; then
    # every request is served
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[-20:] == [200] * 20


def test_a_redis_restart_keeps_the_carts(app, own):
    client = app.test_client()
    product = a_product_in_stock(own)
    assert client.post("/api/v1/cart/items", json={"product_id": product, "quantity": 2}).status_code == 200
    own.run("restart-redis")
    cart = client.get("/api/v1/cart")
    assert cart.status_code == 200
    assert [(line["product_id"], line["quantity"]) for line in cart.get_json()["lines"]] == [(product, 2)]


def test_a_frozen_redis_answers_503_within_the_budget(app, own):
    client = app.test_client()
    product = a_product_in_stock(own)
    assert client.post("/api/v1/cart/items", json={"product_id": product}).status_code == 200
    own.run("freeze-redis")
    try:
        for call in (
            lambda: client.get("/api/v1/cart"),
            lambda: client.post("/api/v1/cart/items", json={"product_id": product}),
            lambda: client.put(f"/api/v1/cart/items/{product}", json={"quantity": 3}),
            lambda: client.get("/cart"),
        ):
            started = time.monotonic()
            response = call()
            took = time.monotonic() - started
            assert response.status_code == 503 and response.headers["Retry-After"] == "1"
            assert took < REDIS_BUDGET_SECONDS, f"{took:.2f} s before the 503"
        assert "nothing was changed" in client.get("/api/v1/cart").get_json()["message"]
    finally:
        own.run("thaw-redis")
    # the worker's breaker lets one call try again within its recovery time (1 s): served again after it
    wait_until(lambda: client.get("/api/v1/cart").status_code == 200, 2.5, "the cart to be served after the thaw")


# Eight searches at once while reads may hold six connections (two kept for checkouts): two wait for one. On a
# loaded machine a search outlasts the default half-second wait and the waiting one is shed (503), which is the pool
# working, not the breaker failing: here they wait.
@pytest.mark.parametrize("app", [{"BFP_DB_POOL_WAIT_SECONDS": "10"}], indirect=True)
def test_a_frozen_redis_costs_a_worker_one_timeout_per_second_not_one_per_request(app, own):
    """The worker's threads share one breaker per Redis role: once two calls timed out, the others fail at
    once (and the reads go to PostgreSQL) until one trial a second finds Redis answering again."""
    refused_at_once = metrics.REDIS_SHORT_CIRCUITED.labels("cache")
    before = refused_at_once._value.get()
    own.run("freeze-redis")
    try:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:  # 40 searches never asked before: cache misses
            statuses = list(pool.map(lambda _: search(app.test_client()), range(40)))
    finally:
        own.run("thaw-redis")
    assert statuses == [200] * 40  # every one answered from PostgreSQL
    # at most the first wave (8 threads) and a trial or two paid the timeout; the rest were refused at once
    assert refused_at_once._value.get() - before >= 28


def a_product_in_stock(own: Services) -> int:
    with psycopg.connect(own.database_url) as conn:
        return product_in_stock(conn)["id"]


def raw_request(url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Sends bytes as they are (requests would refuse some of these) and reads the whole answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize(
    ("what", "request_bytes", "status", "code"),
    [
        ("URL past gunicorn's limit", b"GET /api/v1/search?q=" + b"x" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414,
         "uri_too_long"),
        ("URL past the app's limit", b"GET /api/v1/search?q=" + b"x" * 5000 + b" HTTP/1.1\r\nHost: a\r\n"
         b"Connection: close\r\n\r\n", 414, "uri_too_long"),
        ("header past gunicorn's limit", b"GET /api/v1/categories HTTP/1.1\r\nHost: a\r\nX-Pad: " + b"y" * 9000
         + b"\r\n\r\n", 431, "request_header_fields_too_large"),
        ("malformed request line", b"NOT HTTP\r\n\r\n", 400, "bad_request"),
    ],
)  # fmt: skip
def test_server_layer_refusals_come_in_the_error_shape(live_server, what, request_bytes, status, code):
    got_status, headers, body = raw_request(live_server.url, request_bytes)
    assert got_status == status, what
    assert headers["Content-Type"].startswith("application/json"), what
    assert json.loads(body)["code"] == code


def test_a_body_of_megabytes_is_refused_with_413(live_server):
    response = requests.post(
        live_server.url + "/api/v1/cart/items", data=b"{" + b" " * 5_000_000 + b"}", timeout=30,
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert (response.status_code, response.json()["code"]) == (413, "payload_too_large")
