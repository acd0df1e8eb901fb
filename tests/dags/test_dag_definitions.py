"""The DAGs: they import cleanly without touching a database or the lake, have the intended structure, and
run end to end through Airflow on the local target."""

from __future__ import annotations

import datetime as dt
import inspect
import json
import logging
import os
import subprocess
import sys
import types
from pathlib import Path

import duckdb
import pendulum
import psycopg2
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from airflow.sdk.exceptions import AirflowFailException

from datagen.simulate import backdate_orders
from pipeline import alerts, audit, progress
from pipeline.extract import extract_step
from pipeline.lake import Lake
from pipeline.run_ids import file_safe
from pipeline.wiring import LAKE_WRITER_POOL, logged_task
from tests.conftest import ROOT
from tests.dags.conftest import read_window
from transforms import order_lines

DAG_FOLDER = ROOT / "dags"


def load_dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAG_FOLDER))


def test_every_dag_imports_without_errors_and_without_io(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("a DAG file touched a database or the lake while being parsed")

    monkeypatch.setattr(psycopg2, "connect", forbidden)
    monkeypatch.setattr(Lake, "from_uri", forbidden)
    dagbag = load_dagbag()
    assert dagbag.import_errors == {}
    assert {"orders_pipeline", "lake_rebuild", "bf_report", "lake_housekeeping"} <= set(dagbag.dags)


@pytest.fixture(scope="module")
def dags():
    return load_dagbag().dags


def test_the_readmes_list_of_dags_and_tasks_is_what_the_dag_files_define(dags):
    from bench.record import markers
    from support import dag_table

    start, end = markers("dag-tasks")
    written = (DAG_FOLDER / "README.md").read_text().split(start, 1)[1].split(end, 1)[0]
    listed = dag_table.task_list(dags)
    assert "orders_pipeline: cron 0 * * * *" in listed and "  dq_gate                        0  -" in listed
    assert listed in written, "dags/README.md lists other DAGs, tasks or retries than the DAG files: run make dag-tasks"


@pytest.mark.parametrize("dag_id", ["orders_pipeline", "lake_rebuild", "bf_report", "lake_housekeeping"])
def test_dag_structure(dags, dag_id):
    dag = dags[dag_id]
    assert dag.tags and dag.doc_md and "re-run" in dag.doc_md.lower()
    assert dag.catchup is False and dag.max_active_runs == 1
    for task in dag.tasks:
        assert task.owner == "data-engineering"
        # the DQ gate fails the same way on the same data: it alerts at once instead of retrying
        assert task.retries == 0 if task.task_id == "dq_gate" else task.retries >= 1
        # a fixed delay: exponential backoff grows with every clear (the try number is not reset)
        assert not task.retry_exponential_backoff and task.retry_delay.total_seconds() <= 60
        # every task that reads or writes the working folders or the catalog takes the one slot
        one_at_a_time = ("extract_orders_window", "transform", "dq_gate", "register_partitions", "compact_raw_windows")
        if task.task_id in one_at_a_time or task.task_id == "render_dashboard":
            assert task.pool == LAKE_WRITER_POOL, f"{dag_id}.{task.task_id} outside the one-writer pool"
        assert task.on_failure_callback, f"{task.task_id} has no failure alert"
        assert not task.on_retry_callback, "alerts are raised once, after the last retry"


def test_the_report_is_scheduled_on_every_publication(dags):
    from pipeline.wiring import LAKE_PUBLISHED

    timetable = dags["bf_report"].timetable
    assert type(timetable).__name__ == "AssetTriggeredTimetable"
    assert [(a.name, a.uri) for a in timetable.asset_condition.objects] == [
        (LAKE_PUBLISHED.name, "bfp://lake/published")
    ]


def test_both_dags_that_write_curated_tables_end_with_the_one_publish_chain(dags):
    from support.dag_table import tasks_in_order

    chain = ["dq_gate", "register_partitions", "publish"]
    for dag_id, before in (
        ("orders_pipeline", {"extract_orders_window", "transform"}),
        ("lake_rebuild", {"transform"}),
    ):
        dag = dags[dag_id]
        assert [t.task_id for t in tasks_in_order(dag.task_group_dict["publish_chain"])] == chain
        assert dag.get_task("dq_gate").upstream_task_ids == before  # the gate reads the extract's own windows
        assert dag.get_task("register_partitions").upstream_task_ids == {"transform", "dq_gate"}
        assert dag.get_task("publish").upstream_task_ids == before | {"dq_gate", "register_partitions"}
    for task_id in chain:  # one definition, not two that agree
        callables = {
            inspect.unwrap(dags[d].get_task(task_id).python_callable).__code__
            for d in ("orders_pipeline", "lake_rebuild")
        }
        assert len(callables) == 1, task_id


def test_a_window_run_gates_and_publishes_what_it_merged_and_a_rebuild_no_raw_window():
    from pipeline.gate import dq_gate_step
    from pipeline.publish import publish_step

    extract = {"windows": ["20261127T1000"], "rows_out": {"orders": 3, "order_items": 5}}
    merged = {"order_lines": {"windows": ["20261127T0900", "20261127T1000"], "rows_out": 9}}
    assert dq_gate_step.windows_to_check(merged, extract) == (merged["order_lines"]["windows"], extract["windows"])
    assert dq_gate_step.windows_to_check({"order_lines": {"rows_out": 0}}, extract) == (["20261127T1000"],) * 2
    assert dq_gate_step.windows_to_check(merged, None) == ([], None)
    assert publish_step.published_windows_and_rows(merged, extract) == (
        merged["order_lines"]["windows"],
        extract["rows_out"],
    )
    assert publish_step.published_windows_and_rows(merged, None) == (
        merged["order_lines"]["windows"],
        {"order_lines": 9},
    )


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"window_start": "2026-11-27T10:00:00+00:00"}, "give both window_start and window_end"),
        ({"window_start": "2026-11-27T10:00:00", "window_end": "2026-11-27T11:00:00"}, "timezone-aware"),
        ({"window_start": "2026-11-27T10:07:00+00:00", "window_end": "2026-11-27T13:00:00+00:00"}, "not on it"),
    ],
)
def test_a_manual_trigger_whose_params_name_no_window_fails_at_once_saying_why(
    dags, tmp_path, monkeypatch, params, reason
):
    """Not 30 retries a minute apart: the task fails for good on its first try, with the reason and what to do,
    before the lake is touched."""
    monkeypatch.setenv("BFP_LAKE_URI", (tmp_path / "lake").as_uri())
    extract = inspect.unwrap(dags["orders_pipeline"].get_task("extract_orders_window").python_callable)
    interval = (pendulum.datetime(2026, 11, 27, 9, tz="UTC"), pendulum.datetime(2026, 11, 27, 10, tz="UTC"))
    with pytest.raises(AirflowFailException, match=reason) as failed:
        extract(params=params, data_interval_start=interval[0], data_interval_end=interval[1], run_id="manual_1",
                ti=types.SimpleNamespace(try_number=1))  # fmt: skip
    assert "trigger again with corrected params" in str(failed.value)
    assert not (tmp_path / "lake").exists()
    assert extract_step.ParamsError.next_step.startswith("trigger the DAG again")  # its failed line's advice


def test_an_error_that_knows_what_to_do_says_it_in_the_failed_line(caplog):
    caplog.set_level(logging.INFO, logger="pipeline")

    @logged_task("extract_window")
    def extract_orders_window(run_id=None):
        try:
            extract_step.windows_for_run(
                None, None, {"window_start": "2026-11-27T10:00:00+00:00"}, dt.timedelta(hours=1)
            )
        except ValueError as exc:
            raise AirflowFailException(str(exc)) from extract_step.ParamsError(str(exc))

    with pytest.raises(AirflowFailException):
        extract_orders_window(run_id="manual_2")
    (line,) = [json.loads(r.getMessage()) for r in caplog.records if r.getMessage().startswith('{"bfp_task"')]
    assert line["next_step"] == extract_step.ParamsError.next_step


def test_the_season_marts_are_as_of_the_window_end_or_the_rebuild_param():
    from pipeline.run_ids import as_of_date

    assert as_of_date("2026-12-01T00:00:00+00:00") == "2026-12-01"  # the window [Nov 30 23:00, Dec 1 00:00)
    assert as_of_date("2026-11-30T23:30:00-05:00") == "2026-12-01"  # in UTC
    assert as_of_date("2024-11-30") == "2024-11-30"
    assert as_of_date(pendulum.datetime(2024, 12, 3, 8, tz="UTC")) == "2024-12-03"


def test_extract_windows_come_from_a_data_interval_timetable(dags):
    timetable = dags["orders_pipeline"].timetable
    assert type(timetable).__name__ == "CronDataIntervalTimetable"  # a cron string would give zero-width windows
    assert (timetable.expression, str(timetable.timezone)) == ("0 * * * *", "UTC")


def test_manual_params_are_validated(dags):
    from airflow.sdk.exceptions import ParamValidationError

    params = dags["orders_pipeline"].params
    assert params.validate() == {"window_start": None, "window_end": None, "dry_run": False}
    with pytest.raises(ParamValidationError, match="yes please"):
        params.get_param("dry_run").resolve("yes please")
    with pytest.raises(ParamValidationError, match="date-time"):
        params.get_param("window_start").resolve("last tuesday")
    assert params.get_param("window_end").resolve("2026-11-27T00:00:00Z") == "2026-11-27T00:00:00Z"


def test_a_manual_window_needs_both_ends():
    start = pendulum.datetime(2026, 1, 1, tz="UTC")
    with pytest.raises(ValueError, match="both window_start and window_end"):
        extract_step.window_for_run(start, start, {"window_start": "2026-01-01T00:00:00Z", "window_end": None})
    window = extract_step.window_for_run(
        start, start, {"window_start": "2026-01-01T00:00:00+00:00", "window_end": "2026-01-01T06:00:00Z"}
    )
    assert (window.start, window.end) == (start, start + dt.timedelta(hours=6))


def run_env(monkeypatch, settings, dags=None) -> None:
    """The pipeline's environment for a dag.test() run; without retries (they would wait minutes)."""
    for dag in (dags or {}).values():
        for task in dag.tasks:
            monkeypatch.setattr(task, "retries", 0)
    monkeypatch.setenv("BFP_TARGET", "local")
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BFP_LAKE_URI", settings.lake_uri)
    monkeypatch.setenv("BFP_EXTRACT_LAG_SECONDS", "0")
    monkeypatch.setenv("BFP_ALERTS_PATH", settings.alerts_path)
    monkeypatch.setenv("BFP_CATALOG_PATH", settings.catalog_path)
    monkeypatch.setenv("BFP_REPORT_DIR", settings.report_dir)
    monkeypatch.setenv("BFP_SPARK_PACKAGE", str(settings.spark_package))
    monkeypatch.setenv("BFP_SPARK_DRIVER_MEMORY", settings.spark_driver_memory)


def place_orders_in_window(simulator, settings, count: int, hour_end: dt.datetime) -> list:
    placed = simulator.place_orders(count)
    backdate_orders(
        simulator.database_url, {p.id: hour_end - dt.timedelta(minutes=5 * (i + 1)) for i, p in enumerate(placed)}
    )
    return placed


def order_facts(database_url: str, ids: list[int]) -> tuple:
    """From the source: the orders' revenue, and the curated partitions their creation months fall in."""
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT sum(quantity * unit_price) FROM order_items WHERE order_id = ANY(%s)", (ids,))
        revenue = cur.fetchone()[0]
        cur.execute(
            "SELECT DISTINCT format('year=%%s/month=%%s/bucket=%%s', extract(year FROM created_at AT TIME ZONE 'UTC'),"
            " extract(month FROM created_at AT TIME ZONE 'UTC'), id / %s) FROM orders WHERE id = ANY(%s)",
            (order_lines.ORDERS_PER_BUCKET, ids),
        )
        months = sorted(r[0] for r in cur.fetchall())
    conn.close()
    return revenue, months


def analyst_query(settings, sql: str) -> list[tuple]:
    """What an analyst sees: the DuckDB catalog, read-only."""
    with duckdb.connect(settings.catalog_path, read_only=True) as conn:
        return conn.execute(sql).fetchall()


def task_states(dagrun) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in dagrun.get_task_instances()}


def asset_events() -> list[dict]:
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    with create_session() as session:
        return [event.extra for event in session.query(AssetEvent).order_by(AssetEvent.id)]


def test_the_dag_chain_publishes_a_window_and_a_failed_gate_on_the_next_changes_nothing_analysts_see(
    airflow_db, dags, settings, simulator, lake, monkeypatch
):
    """A window extracted, transformed, checked, registered and published; then the next window, whose extract
    writes one order twice: its gate fails after Spark wrote new versions, and analysts, the catalog and the Asset
    events are as the good run left them; the alert names the window, which is quarantined: the next run holds
    with one alert; the repaired re-run publishes both windows and lifts it; the audit tells the runs."""
    run_env(monkeypatch, settings, dags)
    hour_end = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)
    placed = place_orders_in_window(simulator, settings, 5, hour_end)
    events_before = len(asset_events())

    dagrun = dags["orders_pipeline"].test(logical_date=pendulum.instance(hour_end))

    assert dagrun.state == "success", task_states(dagrun)
    assert set(task_states(dagrun).values()) == {"success"}
    assert (dagrun.data_interval_start, dagrun.data_interval_end) == (hour_end - dt.timedelta(hours=1), hour_end)
    rows = read_window(lake, "orders", "20260115T1200")
    assert sorted(r["id"] for r in rows) == sorted(p.id for p in placed)
    (attempt,) = audit.attempts(lake)
    assert (attempt["status"], attempt["rows_out"]["orders"]) == ("success", 5)
    # curated and marts are registered: analysts see the five orders and their revenue
    curated = analyst_query(settings, "SELECT DISTINCT order_id FROM curated.order_lines WHERE source = 'oltp'")
    assert sorted(r[0] for r in curated) == sorted(f"o-{p.id}" for p in placed)
    expected_revenue, months = order_facts(settings.database_url, [p.id for p in placed])
    assert analyst_query(settings, "SELECT sum(revenue) FROM marts.daily_sales") == [(expected_revenue,)]
    # the DQ results are in the lake, one per suite
    run = file_safe(dagrun.run_id)
    raw_result = lake.read_json(lake.path("_dq", "raw_orders", run, "1.json"))
    assert raw_result["success"] and raw_result["rows"] == 5
    assert lake.read_json(lake.path("_dq", "reconcile_revenue", run, "1.json"))["success"]
    # the Asset event says what was published
    events = asset_events()[events_before:]
    assert len(events) == 1
    assert events[0]["windows"] == ["20260115T1200"] and events[0]["rows"]["orders"] == 5
    assert events[0]["dq_verdict"] == "passed"
    assert events[0]["partitions"]["curated.order_lines"] == months
    good_run, events_before = dagrun, len(asset_events())
    seen = "SELECT order_id, line_no, revenue FROM curated.order_lines ORDER BY order_id, line_no"
    before = analyst_query(settings, seen), analyst_query(settings, "SELECT sum(revenue) FROM marts.daily_sales")
    catalog_bytes = Path(settings.catalog_path).read_bytes()

    # the next window's orders land in the same curated and mart partitions, and its gate fails
    bad_end = hour_end + dt.timedelta(hours=1)
    bad = place_orders_in_window(simulator, settings, 3, bad_end)
    monkeypatch.setattr(extract_step, "run", duplicating_an_order(extract_step.run, lake))
    dagrun = dags["orders_pipeline"].test(logical_date=pendulum.instance(bad_end))

    assert dagrun.state == "failed"
    states = task_states(dagrun)
    assert states["transform"] == "success" and states["dq_gate"] == "failed"
    assert (states["register_partitions"], states["publish"]) == ("upstream_failed", "upstream_failed")
    # Spark wrote new versions of the partitions, but analysts read the registered ones: nothing changed for them
    assert Path(settings.catalog_path).read_bytes() == catalog_bytes
    after = analyst_query(settings, seen), analyst_query(settings, "SELECT sum(revenue) FROM marts.daily_sales")
    assert after == before
    assert len(asset_events()) == events_before  # the good run's only
    with open(settings.alerts_path) as handle:
        (alert,) = [json.loads(line) for line in handle]
    assert (alert["task_id"], alert["window"]["end"][:19]) == ("dq_gate", "2026-01-15T13:00:00")
    assert alert["next_step"].endswith("runbook: docs/runbook.md#dq_gate")
    assert "expect_column_values_to_be_unique" in alert["error"] and "expect_table_row_count_to_equal" in alert["error"]
    assert any(str(p.id) in alert["error"] for p in bad)  # a sample bad value
    assert [mark.label for mark in progress.quarantined(lake)] == ["20260115T1300"]

    # the next scheduled window (extracted as it should be) holds: its orders wait, nothing is built on the rejected
    monkeypatch.undo()
    run_env(monkeypatch, settings, dags)
    held_end = bad_end + dt.timedelta(hours=1)
    later = place_orders_in_window(simulator, settings, 2, held_end)
    held = dags["orders_pipeline"].test(logical_date=pendulum.instance(held_end))
    held_states = task_states(held)
    assert (held_states["extract_orders_window"], held_states["transform"]) == ("success", "failed")
    assert Path(settings.catalog_path).read_bytes() == catalog_bytes and len(asset_events()) == events_before
    with open(settings.alerts_path) as handle:
        alerts_now = [json.loads(line) for line in handle]
    assert len(alerts_now) == 2 and "20260115T1300" in alerts_now[1]["error"]  # one alert, naming the window
    assert "docs/runbook.md#a-window-is-quarantined" in alerts_now[1]["error"]

    # the repair: the rejected window re-run (its extract no longer doubles an order) publishes it and the held one
    repaired = dags["orders_pipeline"].test(logical_date=pendulum.instance(bad_end))
    assert repaired.state == "success", task_states(repaired)
    assert progress.quarantined(lake) == [] and progress.pending_labels(lake) == []
    assert progress.published_mark(lake) == held_end
    curated = analyst_query(settings, "SELECT DISTINCT order_id FROM curated.order_lines WHERE source = 'oltp'")
    assert sorted(r[0] for r in curated) == sorted(f"o-{p.id}" for p in [*placed, *bad, *later])

    # one run id across every record a run leaves: the audit CLI tells each run's story from the lake alone
    kinds = {run.run_id: [r["kind"] for r in audit.run_story(lake, run.run_id)] for run in (dagrun, good_run)}
    assert "reconcile" in [r["kind"] for r in audit.run_story(lake, repaired.run_id)]
    assert {"extract", "transform", "dq", "alert"} <= set(kinds[dagrun.run_id])
    assert "register" not in kinds[dagrun.run_id] and "publish" not in kinds[dagrun.run_id]
    assert {"extract", "transform", "dq", "register", "publish"} <= set(kinds[good_run.run_id])
    for run in (dagrun, good_run):
        assert {r["record"]["run_id"] for r in audit.run_story(lake, run.run_id) if r["kind"] != "alert"} == {
            file_safe(run.run_id)
        }
    told = subprocess.run(
        [sys.executable, "-m", "pipeline.audit", "--lake", settings.lake_uri, "run", dagrun.run_id],
        capture_output=True, text=True, check=False, env={**os.environ, "PYTHONPATH": str(ROOT / "dags")},
    )  # fmt: skip
    assert told.returncode == 0 and "FAILED" in told.stdout and "dq_gate try 1" in told.stdout


def test_an_empty_window_skips_spark_and_still_passes_the_gate_and_publishes(
    airflow_db, dags, settings, lake, monkeypatch
):
    run_env(monkeypatch, settings, dags)
    events_before = len(asset_events())
    hour_end = dt.datetime(2026, 1, 17, 9, 0, tzinfo=dt.UTC)  # nothing changed in this hour

    dagrun = dags["orders_pipeline"].test(logical_date=pendulum.instance(hour_end))

    assert dagrun.state == "success", task_states(dagrun)
    run = file_safe(dagrun.run_id)
    raw_result = lake.read_json(lake.path("_dq", "raw_orders", run, "1.json"))
    assert raw_result["success"] and raw_result["rows"] == 0
    assert not lake.exists(lake.path("_runs", "refresh", f"{run}.json"))  # Spark was not started
    (event,) = asset_events()[events_before:]
    assert (event["windows"], event["rows"]["orders"], event["partitions"]) == (["20260117T0900"], 0, {})


def duplicating_an_order(real_run, lake):
    """The extract, then one order of its window written twice (the same order id): a window the gate rejects."""

    def extract_then_duplicate_an_order(window, run_settings, **kwargs):
        summary = real_run(window, run_settings, **kwargs)
        folder = lake.path("raw", "orders", f"window={window.label}")
        (part,) = [f.path for f in lake.list_files(folder) if f.path.endswith(".parquet")]
        table = pq.read_table(part)
        pq.write_table(pa.concat_tables([table, table.slice(0, 1)]), part)
        return summary

    return extract_then_duplicate_an_order


def test_a_failing_run_alerts_once_and_is_a_gap(airflow_db, dags, settings, lake, monkeypatch):
    run_env(monkeypatch, settings)
    monkeypatch.setenv("DATABASE_URL", "postgresql://bfp@127.0.0.1:9/nowhere")  # nothing listens on port 9
    dag = dags["orders_pipeline"]
    for task in dag.tasks:
        monkeypatch.setattr(task, "retries", 0)
    hour_end = dt.datetime(2026, 1, 15, 13, 0, tzinfo=dt.UTC)

    dagrun = dag.test(logical_date=pendulum.instance(hour_end))

    assert dagrun.state == "failed"
    with open(settings.alerts_path) as handle:
        (alert,) = [json.loads(line) for line in handle]
    assert (alert["dag_id"], alert["task_id"]) == ("orders_pipeline", "extract_orders_window")
    assert alert["window"]["end"].startswith("2026-01-15T13:00:00")
    assert "OperationalError" in alert["error"]
    gaps = audit.gap_report(
        lake, audit.expected_windows(hour_end - dt.timedelta(hours=2), hour_end, dt.timedelta(hours=1))
    )
    assert [(g["window"], g["last_status"]) for g in gaps] == [
        ("20260115T1200", "never attempted"),
        ("20260115T1300", "failed"),
    ]


def test_the_same_failed_attempt_alerts_only_once(settings, monkeypatch):
    run_env(monkeypatch, settings)
    ti = types.SimpleNamespace(dag_id="d", task_id="t", run_id="r", try_number=3, log_url="http://log")
    start = pendulum.datetime(2026, 11, 27, 9, tz="UTC")
    context = {
        "ti": ti,
        "exception": RuntimeError("boom"),
        "data_interval_start": start,
        "data_interval_end": start.add(hours=1),
    }
    alerts.on_task_failure(context)
    alerts.on_task_failure(context)
    with open(settings.alerts_path) as handle:
        assert len(handle.readlines()) == 1


def test_an_alert_names_the_window_of_every_kind_of_run():
    ti = types.SimpleNamespace(dag_id="orders_pipeline", task_id="transform", run_id="manual__x", try_number=1)
    manual = {"ti": ti, "exception": RuntimeError("boom"), "data_interval_start": None, "data_interval_end": None}
    manual["params"] = {"window_start": "2026-11-27T09:00:00Z", "window_end": "2026-11-27T10:00:00Z"}
    assert alerts.build_alert(manual)["window"] == {
        "start": "2026-11-27T09:00:00Z",
        "end": "2026-11-27T10:00:00Z",
        "from": "params",
    }
    start = pendulum.datetime(2026, 11, 27, 9, tz="UTC")
    scheduled = {"ti": ti, "exception": RuntimeError("boom"), "params": {"window_start": None, "window_end": None}}
    scheduled |= {"data_interval_start": start, "data_interval_end": start.add(hours=1)}
    assert alerts.build_alert(scheduled)["window"]["start"] == "2026-11-27T09:00:00+00:00"
    rebuild = {"ti": ti, "exception": RuntimeError("boom"), "params": {"import_id": "demo"}}
    alert = alerts.build_alert(rebuild)
    assert (alert["window"], alert["import"], alert["run_id"]) == (None, "demo", "manual__x")


def test_lake_rebuild_imports_a_purchases_file_publishes_it_and_the_report_follows(
    airflow_db, dags, settings, lake, monkeypatch, tmp_path
):
    from datagen import purchases

    run_env(monkeypatch, settings, dags)
    # two seasons, the second running past the as-of date: the marts' cost is per month, not per line
    two_seasons = (dt.date(2021, 10, 1), dt.date(2022, 12, 31))
    table = purchases.generate_purchases(
        purchases.Scale("tiny", rows=400, products=80, customers=20), 3, days=two_seasons
    )
    csv_path = purchases.write_purchases_csv(table, tmp_path / "purchases.csv")
    events_before = len(asset_events())

    dagrun = dags["lake_rebuild"].test(
        run_conf={"purchases_csv": str(csv_path), "import_id": "t400", "full_repair": True, "as_of": "2022-11-30"}
    )

    assert dagrun.state == "success", task_states(dagrun)
    counted = analyst_query(
        settings, "SELECT source, count(*), count(DISTINCT order_id) FROM curated.order_lines GROUP BY 1"
    )
    assert counted == [("purchases", 400, 400)]  # every file line is one order
    seasons = analyst_query(settings, "SELECT year, status, as_of FROM marts.black_friday_summary ORDER BY year")
    assert [year for year, _, _ in seasons] == sorted({int(d[:4]) for d in table.column("Order Date").to_pylist()})
    # as of Nov 30, 2022 (the param) the 2022 season is still running, whatever the file holds after that day
    assert seasons[-1] == (2022, "in_progress", dt.date(2022, 11, 30))
    assert analyst_query(settings, "SELECT year FROM marts.latest_completed_season") == [(2021,)]
    (event,) = asset_events()[events_before:]
    assert event["import"] == "t400" and event["rows"] == {"order_lines": 400} and event["dq_verdict"] == "passed"
    assert lake.read_json(lake.path("_dq", "curated_order_lines", file_safe(dagrun.run_id), "1.json"))["rows"] == 400

    # the publication schedules bf_report (its Asset); run here, it renders the page from the published tables
    report = dags["bf_report"].test()

    assert report.state == "success", task_states(report)
    page = (Path(settings.report_dir) / "index.html").read_text()
    assert "Data as of 2022-11-30" in page and "latest completed season:\n    2021" in page


def test_a_manual_range_longer_than_a_window_is_split_on_the_schedules_grid():
    hour = dt.timedelta(hours=1)
    params = {"window_start": "2026-01-01T00:00:00Z", "window_end": "2026-01-01T03:00:00Z"}
    windows = extract_step.windows_for_run(None, None, params, hour)
    assert [w.label for w in windows] == ["20260101T0100", "20260101T0200", "20260101T0300"]
    assert [w.label for w in extract_step.windows_for_run(None, None, params, 3 * hour)] == ["20260101T0300"]
    quarters = extract_step.windows_for_run(None, None, params, dt.timedelta(minutes=15))
    assert len(quarters) == 12 and quarters[0].end == quarters[1].start
    with pytest.raises(ValueError, match="2026-01-01T00:30:00"):
        extract_step.windows_for_run(None, None, {**params, "window_start": "2026-01-01T00:30:00Z"}, hour)
    with pytest.raises(ValueError, match="holds 876603 windows; one run takes at most 744"):
        extract_step.windows_for_run(None, None, {**params, "window_start": "1926-01-01T00:00:00Z"}, hour)


def test_a_manual_range_of_fifteen_minute_windows_extracts_each_and_merges_them_in_one_spark_job(
    airflow_db, settings, simulator, lake, monkeypatch
):
    """With BFP_WINDOW_MINUTES=15 the schedule, a scheduled run's data interval and a manual range's split are
    quarter hours; the range's three windows are extracted one by one and merged by one Spark job."""
    monkeypatch.setenv("BFP_WINDOW_MINUTES", "15")
    quarter = load_dagbag().dags  # parsed again: the schedule is read from the environment at parse time
    assert quarter["orders_pipeline"].timetable.expression == "*/15 * * * *"
    last_end = dt.datetime(2026, 1, 20, 12, 0, tzinfo=dt.UTC)
    run_env(monkeypatch, settings, quarter)
    ends = [last_end - dt.timedelta(minutes=back) for back in (30, 15, 0)]
    placed = [p for end in ends for p in place_orders_in_window(simulator, settings, 2, end)]
    events_before = len(asset_events())
    conf = {"window_start": "2026-01-20T11:15:00Z", "window_end": "2026-01-20T12:00:00Z"}

    dagrun = quarter["orders_pipeline"].test(logical_date=pendulum.instance(last_end), run_conf=conf)

    assert dagrun.state == "success", task_states(dagrun)
    quarter_hour = (last_end - dt.timedelta(minutes=15), last_end)  # the timetable's interval for the date
    assert (dagrun.data_interval_start, dagrun.data_interval_end) == quarter_hour
    labels = ["20260120T1130", "20260120T1145", "20260120T1200"]
    assert [sorted(r["id"] for r in read_window(lake, "orders", label)) for label in labels] == [
        sorted(p.id for p in placed[i : i + 2]) for i in (0, 2, 4)
    ]
    run = file_safe(dagrun.run_id)
    refresh = lake.read_json(lake.path("_runs", "refresh", f"{run}.json"))  # one Spark job for the three
    assert refresh["order_lines"]["windows"] == labels and refresh["order_lines"]["orders_changed"] == 6
    (event,) = asset_events()[events_before:]
    assert (event["windows"], event["rows"]["orders"]) == (labels, 6)
    for label in labels:  # each window went through the gate
        assert any(r["target"] == f"raw/orders/window={label}" for r in dq_results(lake, run, "raw_orders"))
    curated = analyst_query(settings, "SELECT DISTINCT order_id FROM curated.order_lines WHERE source = 'oltp'")
    assert sorted(r[0] for r in curated) == sorted(f"o-{p.id}" for p in placed)


def dq_results(lake, run: str, suite: str) -> list[dict]:
    return [lake.read_json(info.path) for info in lake.list_files(lake.path("_dq", suite, run))]
