"""One bounded PostgreSQL pool per process, opened lazily after gunicorn forks.

A request waits at most `db_pool_wait_seconds` for a connection; past that (or when too many already wait)
it answers 503 with Retry-After instead of hanging. Connections are checked before a request gets them, and a
connection lost mid-request is a 503 too, never a 500.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
from collections.abc import Iterator

import psycopg
from flask import current_app
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout, TooManyRequests

from serving import metrics
from serving.aws_auth import IamAuthConnection
from serving.config import ServingConfig
from serving.errors import ServiceUnavailable

_lock = threading.Lock()


def check_idle_connection(conn: psycopg.Connection) -> None:
    """The check of a pooled connection before a request gets it (`Database._live_connection`), without a round
    trip when nothing happened: an idle connection's socket turns readable only when the server wrote to it
    unasked, which is how it ends a session (restart, failover, idle timeout: an error message, then EOF). Only
    then is the full check run (a query, raising if the connection is dead, so it is handed back and replaced).
    psycopg_pool's own check runs the query every time: one more round trip on every request that touches the
    database."""
    if conn.closed or conn.broken:
        raise psycopg.OperationalError("the pooled connection is closed")
    readable, _, _ = select.select([conn.fileno()], [], [], 0)
    if readable:
        ConnectionPool.check_connection(conn)


class Database:
    """The process's pool, created on first use in this process (never shared across a fork)."""

    def __init__(self, config: ServingConfig):
        self.config = config
        self._pool: ConnectionPool | None = None
        self._pid: int | None = None
        # Reads (pages, searches, a cache-role outage's loads) may hold all but `db_checkout_reserved` connections
        # at once: whatever reads do, a checkout finds a connection.
        readers = max(1, config.db_pool_size - config.db_checkout_reserved)
        self._readers = threading.BoundedSemaphore(readers)

    def pool(self) -> ConnectionPool:
        if self._pool is None or self._pid != os.getpid():
            with _lock:
                if self._pool is None or self._pid != os.getpid():
                    self._pool = ConnectionPool(
                        self.config.database_url,
                        min_size=1,
                        max_size=self.config.db_pool_size,
                        timeout=self.config.db_pool_wait_seconds,
                        max_waiting=self.config.db_pool_max_waiting,
                        # psycopg_pool retries a lost connection's replacement with a doubling delay (1, 2, 4, 8 s…
                        # for up to 5 min) and counts it as a member meanwhile, so requests cannot open another:
                        # after an 8 s outage the next try came seconds after the database was back, every
                        # request a 503 until then. Given up after this long, a replacement frees its place and
                        # the next request that finds no connection opens one at once.
                        reconnect_timeout=self.config.db_reconnect_seconds,
                        kwargs=self.connection_kwargs(),
                        # AWS: a fresh IAM token as the password of every connection the pool opens
                        connection_class=IamAuthConnection if self.config.database_iam_auth else psycopg.Connection,
                        # no `check=`: a connection is checked in `connection()` (below), which goes
                        # on to the next one at once when a check fails
                        open=True,
                        name="storefront",
                    )
                    self._pid = os.getpid()
        return self._pool

    def connection_kwargs(self) -> dict:
        """What every pooled connection is opened with."""
        return {
            "autocommit": True,  # reads need no transaction; checkout opens its own
            # None: never prepare (behind a transaction pooler); 5 is psycopg's default
            "prepare_threshold": 5 if self.config.db_prepared_statements else None,
            "row_factory": dict_row,
            "options": (
                f"-c statement_timeout={self.config.statement_timeout_ms}"
                # a request waiting on a row lock (a doorbuster's checkouts queue on its row) gives its pooled
                # connection back instead of holding it: 503 + Retry-After
                f" -c lock_timeout={self.config.lock_timeout_ms}"
            ),
            # a blackholed endpoint fails an attempt in seconds (libpq's default waits for the kernel, ~2 min, and
            # the pool's replacements stall that long); keepalives find a peer that vanished without a word
            "connect_timeout": self.config.db_connect_timeout_seconds,
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 10,
            "keepalives_count": 3,
        }

    @contextlib.contextmanager
    def connection(self, checkout: bool = False) -> Iterator[psycopg.Connection]:
        """A pooled connection, or ServiceUnavailable (503, Retry-After: 1) when none frees up in time. Only a
        `checkout` may take the connections reserved for checkouts."""
        if checkout:
            with self._connection("checkout") as conn:
                yield conn
            return
        if not self._readers.acquire(timeout=self.config.db_pool_wait_seconds):
            metrics.POOL_EXHAUSTED.inc()
            raise ServiceUnavailable(
                "the database is busy with reads; retry in a second (checkouts keep their connections)",
                code="database_busy",
            )
        try:
            with self._connection("read") as conn:
                yield conn
        finally:
            self._readers.release()

    @contextlib.contextmanager
    def _connection(self, kind: str) -> Iterator[psycopg.Connection]:
        pool = self.pool()
        try:
            with metrics.POOL_WAIT.time():
                conn = self._live_connection(pool)
        except (PoolTimeout, TooManyRequests) as exc:
            metrics.POOL_EXHAUSTED.inc()
            raise ServiceUnavailable("the database is busy; retry in a second", code="database_busy") from exc
        held_from = time.perf_counter()
        try:
            yield conn  # an OperationalError escaping here is answered 503 (serving.errors)
        finally:
            metrics.POOL_HOLD.labels(kind).observe(time.perf_counter() - held_from)
            pool.putconn(conn)  # the pool rolls back anything a failed request left open, or drops a dead one

    def _live_connection(self, pool: ConnectionPool) -> psycopg.Connection:
        """The next pooled connection that passes `check_idle_connection`, within the request's wait. A
        connection that died with the server (a restart, an RDS failover) is handed back, so the pool discards
        it and opens a replacement, and the next one is tried at once: after a restart every idle connection
        is dead, and psycopg_pool's own `check=` loop sleeps after each failed check (its reconnection backoff,
        capped by the wait), which turned a lone shopper's first requests into 503s after the server was back.
        """
        deadline = time.monotonic() + self.config.db_pool_wait_seconds
        while True:
            # PoolTimeout when the wait is spent; TooManyRequests when too many already wait
            conn = pool.getconn(timeout=deadline - time.monotonic())
            try:
                check_idle_connection(conn)
            except psycopg.Error:
                metrics.POOL_DEAD_CONNECTIONS.inc()
                pool.putconn(conn)  # broken: discarded, and a replacement is opened in the background
                continue
            return conn

    def close(self) -> None:
        if self._pool is not None and self._pid == os.getpid():
            self._pool.close()
        self._pool = None


def database() -> Database:
    return current_app.extensions["bfp_database"]
