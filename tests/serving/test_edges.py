"""The storefront's edges, each a case a security and SRE review found: the metrics' method label, database
connections that give up on a blackholed endpoint, keep-alive beyond the balancer's idle timeout, a signing key
rotated without logging anyone out, a COMMIT whose answer was lost, a reload of the checkout form, a key whose
order was removed, and a migration behind a long transaction."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from serving import create_app
from serving.cursors import decode_cursor, encode_cursor
from serving.db import Database
from serving.migrate import MigrationError, apply_migrations
from tests.serving.conftest import SHIPPING, product_in_stock, wait_until

ROOT = Path(__file__).resolve().parents[2]


def test_an_unknown_http_method_makes_no_new_metric_series(client):
    for method in ("FOOBAR", "XYZZYQ", "PROPFINDX"):
        client.open("/api/v1/categories", method=method)
    metrics = client.get("/metrics").get_data(as_text=True)
    assert not re.search(r'method="(FOOBAR|XYZZYQ|PROPFINDX)"', metrics)
    assert 'method="other"' in metrics


def test_a_connection_to_a_blackholed_database_gives_up_within_its_connect_timeout(config):
    with socket.socket() as listener:  # accepts TCP (the kernel does) and never answers: a blackholed endpoint
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = listener.getsockname()[1]
        database = Database(
            replace(config, database_url=f"postgresql://bfp@127.0.0.1:{port}/bfp", db_connect_timeout_seconds=2)
        )
        started = time.monotonic()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(database.config.database_url, **database.connection_kwargs())
        assert time.monotonic() - started < 5  # libpq's default waits for the kernel: minutes
    kwargs = database.connection_kwargs()
    assert kwargs["keepalives"] == 1 and kwargs["keepalives_idle"] <= 60


def test_gunicorn_keeps_an_idle_connection_longer_than_the_load_balancer():
    # in a process of its own: the config file sets environment variables for the workers it configures
    code = f"import runpy; print(runpy.run_path({str(ROOT / 'serving' / 'gunicorn.conf.py')!r})['keepalive'])"
    env = {name: value for name, value in os.environ.items() if name != "BFP_KEEPALIVE_SECONDS"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert int(done.stdout.split()[-1]) > 60  # the ALB's default idle timeout: it, not the pod, closes idle ones


def test_a_rotated_key_keeps_sessions_and_cursors_and_only_a_dropped_key_logs_out(config, sql):
    old, new = config.secret_key, "n" * 32
    product = product_in_stock(sql)
    before = create_app(config)
    shopper = before.test_client()
    assert shopper.post("/api/v1/cart/items", json={"product_id": product["id"]}).status_code == 200
    with before.test_request_context():
        cursor = encode_cursor("test", "next", "k", 7)
    rotated = create_app(replace(config, secret_key=new, secret_key_fallbacks=(old,)))
    dropped = create_app(replace(config, secret_key=new))
    try:
        cookie = shopper.get_cookie("session").value
        for app, kept in ((rotated, True), (dropped, False)):
            client = app.test_client()
            client.set_cookie("session", cookie)
            lines = client.get("/api/v1/cart").get_json()["lines"]
            assert bool(lines) is kept
        with rotated.test_request_context():
            assert decode_cursor("test", cursor) == ("next", "k", 7)
    finally:
        for app in (before, rotated, dropped):
            app.extensions["bfp_database"].close()


def test_a_commit_whose_answer_was_lost_says_the_outcome_is_unknown_and_the_same_key_makes_one_order(app, client, sql):
    product = product_in_stock(sql)
    sql.execute(
        "CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(1.5);"
        " RETURN NULL; END $$"
    )
    sql.execute(
        "CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON orders DEFERRABLE INITIALLY DEFERRED"
        " FOR EACH ROW EXECUTE FUNCTION slow_commit()"
    )
    assert client.post("/api/v1/cart/items", json={"product_id": product["id"]}).status_code == 200
    answers = []
    checkout = threading.Thread(
        target=lambda: answers.append(client.post("/api/v1/checkout", json=SHIPPING, headers={"Idempotency-Key": "k1"}))
    )
    checkout.start()

    def committing_backend():  # the checkout's COMMIT, running the deferred trigger
        row = sql.execute("SELECT pid FROM pg_stat_activity WHERE wait_event = 'PgSleep'")
        found = row.fetchone()
        return found[0] if found else None

    pid = wait_until(committing_backend, 10, "the checkout's COMMIT")
    sql.execute("SELECT pg_terminate_backend(%s)", (pid,))  # the connection is lost at the COMMIT
    checkout.join(timeout=10)
    (lost,) = answers
    assert lost.status_code == 503 and lost.get_json()["code"] == "order_outcome_unknown"
    assert (
        "same Idempotency-Key" in lost.get_json()["message"] and "nothing was changed" not in lost.get_json()["message"]
    )
    sql.execute("DROP TRIGGER slow_commit ON orders")
    again = client.post("/api/v1/checkout", json=SHIPPING, headers={"Idempotency-Key": "k1"})
    assert again.status_code == 201
    assert sql.execute("SELECT count(*) FROM orders").fetchone()[0] == 1


def test_reloading_the_checkout_form_keeps_its_key_and_an_order_changes_it(client, sql):
    product = product_in_stock(sql)
    assert client.post("/api/v1/cart/items", json={"product_id": product["id"]}).status_code == 200

    def token() -> str:
        return re.search(r'name="idempotency_key" value="([^"]+)"', client.get("/checkout").get_data(as_text=True))[1]

    first, reloaded = token(), token()
    assert first == reloaded  # a reload after a lost answer submits the same key: one order
    assert client.post("/api/v1/checkout", json=SHIPPING, headers={"Idempotency-Key": first}).status_code == 201
    assert client.post("/api/v1/cart/items", json={"product_id": product["id"]}).status_code == 200
    assert token() != first  # the same cart again, after an order: a new order


def test_a_key_whose_order_was_removed_is_a_clear_409_not_a_500(client, sql):
    product = product_in_stock(sql)
    assert client.post("/api/v1/cart/items", json={"product_id": product["id"]}).status_code == 200
    assert client.post("/api/v1/checkout", json=SHIPPING, headers={"Idempotency-Key": "gone"}).status_code == 201
    sql.execute("UPDATE orders SET deleted_at = now()")
    replayed = client.post("/api/v1/checkout", json=SHIPPING, headers={"Idempotency-Key": "gone"})
    assert replayed.status_code == 409 and replayed.get_json()["code"] == "idempotency_key_order_removed"


def test_a_migration_behind_a_long_transaction_gives_up_instead_of_queueing_every_query(oltp_url, tmp_path):
    (tmp_path / "9999_probe.sql").write_text("ALTER TABLE products ADD COLUMN probe integer;")
    with psycopg.connect(oltp_url) as holder:
        holder.execute("LOCK TABLE products IN ACCESS SHARE MODE")  # a long read, its transaction left open
        started = time.monotonic()
        with pytest.raises(MigrationError, match="waited more than 300 ms for a lock"):
            apply_migrations(oltp_url, tmp_path, lock_timeout_ms=300)
        assert time.monotonic() - started < 5
        holder.rollback()
    with psycopg.connect(oltp_url) as conn:
        assert conn.execute("SELECT count(*) FROM schema_migrations WHERE version = '9999_probe'").fetchone()[0] == 0
