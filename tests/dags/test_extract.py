"""The watermark extract against a real PostgreSQL: ties, late commits, updates, DST, empty windows,
crashes, re-runs and dry runs."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import time
from dataclasses import replace

import psycopg2
import pytest

from datagen.simulate import backdate_orders
from pipeline.extract import window_extract
from pipeline.extract.watermark import BlindExtractRoleError, UnsafeWindowError, Window
from pipeline.lake import Lake
from tests.dags.conftest import (
    EXTRACT_LOGIN,
    as_role,
    complete_windows,
    read_window,
    wait_until_db_time_passes,
)

UTC = dt.UTC
BOUNDARY = dt.datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
HOUR = dt.timedelta(hours=1)
MICROSECOND = dt.timedelta(microseconds=1)


def versions(rows: list[dict]) -> list[tuple[int, dt.datetime]]:
    return [(r["id"], r["updated_at"]) for r in rows]


def test_ties_on_a_window_boundary_are_extracted_exactly_once(settings, simulator, lake, oltp_url):
    placed = simulator.burst(40)
    ids = [p.id for p in placed]
    stamps = {i: BOUNDARY for i in ids[:25]}  # 25 rows exactly on the boundary: they belong to the later window
    stamps |= {i: BOUNDARY - MICROSECOND for i in ids[25:32]}
    stamps |= {i: BOUNDARY + MICROSECOND for i in ids[32:]}
    backdate_orders(oltp_url, stamps)

    before = window_extract.extract_window(Window(BOUNDARY - HOUR, BOUNDARY), settings)
    after = window_extract.extract_window(Window(BOUNDARY, BOUNDARY + HOUR), settings)

    earlier_rows = read_window(lake, "orders", before.window.label)
    later_rows = read_window(lake, "orders", after.window.label)
    assert sorted(r["id"] for r in earlier_rows) == sorted(ids[25:32])
    assert sorted(r["id"] for r in later_rows) == sorted(ids[:25] + ids[32:])
    assert after.pages == 5  # 33 rows in pages of 7: ties on the boundary span several pages
    every = versions(earlier_rows) + versions(later_rows)
    assert len(every) == len(set(every)) == 40
    # Lines travel with their orders: every line of every extracted order, none of any other order.
    lines = read_window(lake, "order_items", after.window.label)
    with psycopg2.connect(settings.database_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT order_id, line_no FROM order_items WHERE order_id = ANY(%s)", ([r["id"] for r in later_rows],)
        )
        expected_lines = sorted(cur.fetchall())
    conn.close()
    assert sorted((line["order_id"], line["line_no"]) for line in lines) == expected_lines


def test_a_late_commit_defers_the_window_and_lands_in_it_once_safe(settings, simulator, lake):
    with simulator.open_transaction() as (_conn, placed):
        window = Window(placed.updated_at - dt.timedelta(minutes=5), placed.updated_at + dt.timedelta(milliseconds=1))
        wait_until_db_time_passes(settings.database_url, window.end)
        with pytest.raises(UnsafeWindowError, match="still open"):
            window_extract.extract_window(window, settings)
        assert read_window(lake, "orders", window.label) is None  # nothing marked done
    # committed now, stamped before the window end: the retried window must hold it
    result = window_extract.extract_window(window, settings)
    assert result.orders.rows == 1
    assert [r["id"] for r in read_window(lake, "orders", window.label)] == [placed.id]


def test_an_open_read_only_session_from_before_the_end_also_defers(settings, simulator):
    # A transaction that has written nothing yet may still write rows stamped with its (early) start time.
    idle = psycopg2.connect(settings.database_url)
    try:
        with idle.cursor() as cur:
            cur.execute("SELECT now()")
            began = cur.fetchone()[0]
        window = Window(began - HOUR, began + dt.timedelta(milliseconds=1))
        wait_until_db_time_passes(settings.database_url, window.end)
        with pytest.raises(UnsafeWindowError, match="idle in transaction"):
            window_extract.extract_window(window, settings)
    finally:
        idle.close()


def test_a_window_that_ended_less_than_the_lag_ago_is_deferred(settings):
    now = dt.datetime.now(UTC)
    lagged = settings.__class__(**{**settings.__dict__, "extract_lag": dt.timedelta(hours=1)})
    with pytest.raises(UnsafeWindowError, match="less than the lag"):
        window_extract.extract_window(Window(now - 2 * HOUR, now - dt.timedelta(minutes=30)), lagged)


def test_a_row_updated_after_its_window_appears_again_in_a_later_window(settings, simulator, lake):
    (placed,) = simulator.place_orders(1)
    first = Window(placed.updated_at - dt.timedelta(seconds=1), placed.updated_at + dt.timedelta(milliseconds=1))
    wait_until_db_time_passes(settings.database_url, first.end)
    window_extract.extract_window(first, settings)
    ((order_id, status, updated_at),) = simulator.advance([placed.id], cancel_share=0.0)
    second = Window(first.end, updated_at + dt.timedelta(milliseconds=1))
    wait_until_db_time_passes(settings.database_url, second.end)
    window_extract.extract_window(second, settings)

    (old,) = read_window(lake, "orders", first.label)
    (new,) = read_window(lake, "orders", second.label)
    assert (old["id"], old["status"]) == (order_id, "pending")
    assert (new["id"], new["status"], new["updated_at"]) == (order_id, status, updated_at)
    assert status == "paid"


def test_an_empty_window_gets_a_zero_row_manifest(settings, lake):
    result = window_extract.extract_window(Window(BOUNDARY - HOUR, BOUNDARY), settings)
    manifest = lake.manifest(lake.path("raw", "orders", f"window={result.window.label}"))
    assert (manifest["rows"], manifest["files"]) == (0, [])
    assert manifest["window"] == {
        "start": "2026-01-15T11:00:00+00:00",
        "end": "2026-01-15T12:00:00+00:00",
        "label": "20260115T1200",
    }
    assert read_window(lake, "orders", result.window.label) == []


def test_a_crash_before_the_manifest_leaves_an_incomplete_window_that_a_rerun_completes(
    settings, simulator, lake, monkeypatch, oltp_url
):
    placed = simulator.place_orders(10)
    backdate_orders(oltp_url, {p.id: BOUNDARY - dt.timedelta(minutes=i + 1) for i, p in enumerate(placed)})
    window = Window(BOUNDARY - HOUR, BOUNDARY)
    original_write_json = Lake.write_json

    def crash_on_orders_manifest(self, path, document):
        if "/raw/orders/" in path:
            raise OSError("disk went away")  # the process dies after the lines and the orders files moved
        return original_write_json(self, path, document)

    monkeypatch.setattr(Lake, "write_json", crash_on_orders_manifest)
    with pytest.raises(OSError, match="disk went away"):
        window_extract.extract_window(window, settings)
    folder = lake.path("raw", "orders", f"window={window.label}")
    assert [i.base_name for i in lake.list_files(folder)] == ["part-00000.parquet"]  # data, but no manifest
    assert read_window(lake, "orders", window.label) is None  # so readers ignore it

    monkeypatch.setattr(Lake, "write_json", original_write_json)
    result = window_extract.extract_window(window, settings)
    assert result.orders.rows == 10
    assert sorted(r["id"] for r in read_window(lake, "orders", window.label)) == sorted(p.id for p in placed)
    assert not lake.exists(lake.path("_staging", "orders_extract", f"window={window.label}"))


def test_rerunning_a_window_replaces_it_with_the_same_rows(settings, simulator, lake, oltp_url):
    placed = simulator.place_orders(9)
    backdate_orders(oltp_url, {p.id: BOUNDARY - dt.timedelta(seconds=i + 1) for i, p in enumerate(placed)})
    window = Window(BOUNDARY - HOUR, BOUNDARY)
    window_extract.extract_window(window, settings)
    first = read_window(lake, "orders", window.label)
    first_lines = read_window(lake, "order_items", window.label)
    window_extract.extract_window(window, settings)
    assert read_window(lake, "orders", window.label) == first
    assert read_window(lake, "order_items", window.label) == first_lines
    assert len(lake.list_files(lake.path("raw", "orders", f"window={window.label}"))) == 2  # part + manifest


def test_a_dry_run_counts_and_writes_nothing(settings, simulator, lake, oltp_url):
    placed = simulator.place_orders(4)
    backdate_orders(oltp_url, {p.id: BOUNDARY - MICROSECOND for p in placed})
    result = window_extract.extract_window(Window(BOUNDARY - HOUR, BOUNDARY), settings, dry_run=True)
    assert (result.status, result.orders.rows) == ("dry_run", 4)
    assert result.order_items.rows >= 4
    assert not lake.exists(lake.path("raw"))


def test_the_manifest_describes_the_window(settings, simulator, lake, oltp_url):
    placed = simulator.place_orders(3)
    stamps = {p.id: BOUNDARY - dt.timedelta(minutes=10 * (i + 1)) for i, p in enumerate(placed)}
    backdate_orders(oltp_url, stamps)
    result = window_extract.extract_window(Window(BOUNDARY - HOUR, BOUNDARY), settings)
    manifest = lake.manifest(lake.path("raw", "orders", f"window={result.window.label}"))
    assert manifest["rows"] == 3
    assert manifest["min_updated_at"] == min(stamps.values()).isoformat()
    assert manifest["max_updated_at"] == max(stamps.values()).isoformat()
    assert manifest["snapshot"]["snapshot"] and manifest["snapshot"]["lag_seconds"] == 0
    assert "ORDER BY updated_at, id" in manifest["query"]
    assert len(manifest["code_version"]) == 16
    assert manifest["files"] == [f"{settings.lake_uri}/raw/orders/window=20260115T1200/part-00000.parquet"]


def test_windows_across_a_dst_change_with_a_non_utc_server_have_no_gap_or_overlap(settings, simulator, lake, oltp_url):
    # US clocks jumped from 02:00 to 03:00 EST->EDT on 2026-03-08 (07:00 UTC).
    with psycopg2.connect(oltp_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT current_database()")
        cur.execute(f"ALTER DATABASE {cur.fetchone()[0]} SET timezone = 'America/New_York'")
    conn.close()
    previous_tz = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"  # this process too runs in a non-UTC zone
    time.tzset()
    try:
        placed = simulator.place_orders(36)
        start = dt.datetime(2026, 3, 8, 4, 0, tzinfo=UTC)
        stamps = {p.id: start + dt.timedelta(minutes=10 * i) for i, p in enumerate(placed)}  # 04:00..09:50 UTC
        backdate_orders(oltp_url, stamps)

        windows = scheduled_windows(start, start + 6 * HOUR)
        assert len(windows) == 6
        for previous, following in itertools.pairwise(windows):
            assert following.start == previous.end  # contiguous: no gap, no overlap
        for window in windows:
            window_extract.extract_window(window, settings)
        extracted = [v for rows in complete_windows(lake).values() for v in versions(rows)]
        assert sorted(extracted) == sorted(stamps.items())
    finally:
        if previous_tz is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = previous_tz
        time.tzset()


def scheduled_windows(earliest: dt.datetime, latest_end: dt.datetime) -> list[Window]:
    """The windows the scheduler would give the orders_pipeline DAG's runs, from its own timetable."""
    from airflow.serialization.encoders import coerce_to_core_timetable  # what the scheduler runs
    from airflow.timetables.base import TimeRestriction

    from orders_pipeline_dag import dag

    timetable = coerce_to_core_timetable(dag.timetable)
    import pendulum

    restriction = TimeRestriction(earliest=pendulum.instance(earliest), latest=None, catchup=True)
    windows, last = [], None
    while True:
        info = timetable.next_dagrun_info(last_automated_data_interval=last, restriction=restriction)
        if info.data_interval.end > latest_end:
            return windows
        last = info.data_interval
        windows.append(Window(last.start, last.end))


def test_an_extract_role_that_cannot_see_other_transactions_refuses_naming_the_grant(
    settings, simulator, lake, oltp_url
):
    blind_role = "bfp_blind_extract"  # SELECT on the tables, no pg_read_all_stats: what RDS gives a plain role
    with psycopg2.connect(oltp_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (blind_role,))
        if cur.fetchone() is None:
            cur.execute(f"CREATE ROLE {blind_role} LOGIN")
        cur.execute(f"GRANT USAGE ON SCHEMA public TO {blind_role}")
        cur.execute(f"GRANT SELECT ON orders, order_items TO {blind_role}")
    conn.close()
    blind = replace(settings, database_url=as_role(oltp_url, blind_role))
    with simulator.open_transaction() as (writer, placed):
        window = Window(placed.updated_at - dt.timedelta(minutes=5), placed.updated_at + dt.timedelta(milliseconds=1))
        wait_until_db_time_passes(settings.database_url, window.end)
        with psycopg2.connect(blind.database_url) as conn, conn.cursor() as cur:  # why the guard exists
            cur.execute("SELECT xact_start FROM pg_stat_activity WHERE pid = %s", (writer.get_backend_pid(),))
            assert cur.fetchone() == (None,)  # the open transaction is invisible to this role
        conn.close()

        with pytest.raises(BlindExtractRoleError, match=f"GRANT pipeline_extract TO {blind_role}"):
            window_extract.extract_window(window, blind)
        assert read_window(lake, "orders", window.label) is None  # nothing marked done
        with pytest.raises(UnsafeWindowError, match="still open"):  # the extract's own login sees it: it waits
            window_extract.extract_window(window, settings)
    result = window_extract.extract_window(window, settings)
    assert [r["id"] for r in read_window(lake, "orders", window.label)] == [placed.id]  # 0 orders lost
    assert result.orders.rows == 1


def test_the_extract_runs_as_its_own_login_not_the_owner(settings):
    with psycopg2.connect(settings.database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
        user, superuser = cur.fetchone()
        cur.execute("SELECT has_table_privilege('orders', 'UPDATE'), pg_has_role('pg_read_all_stats', 'USAGE')")
        can_update, sees_all = cur.fetchone()
    conn.close()
    assert (user, superuser, can_update, sees_all) == (EXTRACT_LOGIN, False, False, True)
