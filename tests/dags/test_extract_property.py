"""Property: over random interleavings of inserts, updates, commits and extracts on several connections,
the windows together hold every order's final committed version, only committed versions, each inside its
window, and no (id, updated_at) twice."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import replace

import psycopg2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.extract import window_extract
from pipeline.extract.watermark import UnsafeWindowError, Window
from pipeline.lake import Lake
from tests.dags.conftest import complete_windows, db_now, wait_until_db_time_passes

CONNECTIONS = 3
operations = st.lists(
    st.one_of(
        st.tuples(st.just("insert"), st.integers(0, CONNECTIONS - 1), st.integers(1, 4)),
        st.tuples(st.just("update"), st.integers(0, CONNECTIONS - 1), st.integers(0, 10_000)),
        st.tuples(st.just("commit"), st.integers(0, CONNECTIONS - 1), st.just(0)),
        st.tuples(st.just("extract"), st.just(0), st.just(0)),
    ),
    min_size=5,
    max_size=30,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_windows_hold_every_committed_version_once(settings, simulator, tmp_path, ops, oltp_url):
    lake_settings = replace(settings, lake_uri=(tmp_path / f"lake-{uuid.uuid4().hex[:8]}").as_uri())
    lake = Lake.from_uri(lake_settings.lake_uri)
    connections = [psycopg2.connect(oltp_url) for _ in range(CONNECTIONS)]
    pending: list[dict[int, dt.datetime]] = [{} for _ in range(CONNECTIONS)]  # open transaction -> versions
    committed: dict[int, list[dt.datetime]] = {}  # order id -> committed versions in commit order
    window_start = db_now(settings.database_url)
    windows: list[Window] = []

    def commit(index: int) -> None:
        connections[index].commit()
        for order_id, stamp in pending[index].items():
            committed.setdefault(order_id, []).append(stamp)
        pending[index] = {}

    def try_extract() -> None:
        nonlocal window_start
        end = db_now(settings.database_url)
        window = Window(window_start, end)
        wait_until_db_time_passes(settings.database_url, end)
        try:
            window_extract.extract_window(window, lake_settings)
        except UnsafeWindowError:
            return  # an open transaction began before the end: retried at a later step
        windows.append(window)
        window_start = end

    try:
        for op, index, arg in ops:
            cur = connections[index].cursor()
            if op == "insert":
                for _ in range(arg):
                    placed = simulator.insert_order(cur)
                    pending[index][placed.id] = placed.updated_at
            elif op == "update":
                # only rows no other open transaction holds, so the single-threaded test never blocks
                busy = {i for k, p in enumerate(pending) if k != index for i in p}
                free = sorted(set(committed) - busy)
                if free:
                    order_id = free[arg % len(free)]
                    cur.execute(
                        "UPDATE orders SET shipping_name = shipping_name || '.' WHERE id = %s RETURNING updated_at",
                        (order_id,),
                    )
                    pending[index][order_id] = cur.fetchone()[0]
            elif op == "commit":
                commit(index)
            else:
                try_extract()
        for index in range(CONNECTIONS):
            commit(index)
        try_extract()
    finally:
        for conn in connections:
            conn.close()

    extracted = []
    for label, rows in complete_windows(lake).items():
        (window,) = [w for w in windows if w.label == label]
        for row in rows:
            assert window.start <= row["updated_at"] < window.end
            extracted.append((row["id"], row["updated_at"]))
    assert len(extracted) == len(set(extracted)), "a version was extracted twice"
    all_committed = {(i, stamp) for i, stamps in committed.items() for stamp in stamps}
    assert set(extracted) <= all_committed, "an extracted version was never committed"
    finals = {(i, stamps[-1]) for i, stamps in committed.items()}
    assert finals <= set(extracted), f"lost final versions: {sorted(finals - set(extracted))}"
