"""The DAGs: they import cleanly without touching a database or the lake, have the intended structure, and
run end to end through Airflow on the local target."""

from __future__ import annotations

import datetime as dt
import json
import types

import pendulum
import psycopg2
import pytest

from pipeline import alerts, audit, orders_extract
from pipeline.lake import Lake
from tests.conftest import ROOT
from tests.dags.conftest import read_window, set_updated_at

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
    assert "orders_extract" in dagbag.dags


@pytest.fixture(scope="module")
def dags():
    return load_dagbag().dags


@pytest.mark.parametrize("dag_id", ["orders_extract"])
def test_dag_structure(dags, dag_id):
    dag = dags[dag_id]
    assert dag.tags and dag.doc_md and "backfill" in dag.doc_md
    assert dag.catchup is False and dag.max_active_runs == 1
    for task in dag.tasks:
        assert task.owner == "data-engineering"
        assert task.retries >= 3 and task.retry_exponential_backoff
        assert task.on_failure_callback, f"{task.task_id} has no failure alert"
        assert not task.on_retry_callback, "alerts are raised once, after the last retry"


def test_extract_windows_come_from_a_data_interval_timetable(dags):
    timetable = dags["orders_extract"].timetable
    assert type(timetable).__name__ == "CronDataIntervalTimetable"  # a cron string would give zero-width windows
    assert (timetable.expression, str(timetable.timezone)) == ("0 * * * *", "UTC")


def test_manual_params_are_validated(dags):
    from airflow.sdk.exceptions import ParamValidationError

    params = dags["orders_extract"].params
    assert params.validate() == {"window_start": None, "window_end": None, "dry_run": False}
    with pytest.raises(ParamValidationError, match="yes please"):
        params.get_param("dry_run").resolve("yes please")
    with pytest.raises(ParamValidationError, match="date-time"):
        params.get_param("window_start").resolve("last tuesday")
    assert params.get_param("window_end").resolve("2026-11-27T00:00:00Z") == "2026-11-27T00:00:00Z"


def test_a_manual_window_needs_both_ends():
    start = pendulum.datetime(2026, 1, 1, tz="UTC")
    with pytest.raises(ValueError, match="both window_start and window_end"):
        orders_extract.window_for_run(start, start, {"window_start": "2026-01-01T00:00:00Z", "window_end": None})
    window = orders_extract.window_for_run(
        start, start, {"window_start": "2026-01-01T00:00:00+00:00", "window_end": "2026-01-01T06:00:00Z"}
    )
    assert (window.start, window.end) == (start, start + dt.timedelta(hours=6))


def run_env(monkeypatch, settings) -> None:
    monkeypatch.setenv("BFP_TARGET", "local")
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("BFP_LAKE_URI", settings.lake_uri)
    monkeypatch.setenv("BFP_EXTRACT_LAG_SECONDS", "0")
    monkeypatch.setenv("BFP_ALERTS_PATH", settings.alerts_path)


def test_the_dag_extracts_its_window_through_airflow(airflow_db, dags, settings, simulator, lake, monkeypatch):
    run_env(monkeypatch, settings)
    placed = simulator.place_orders(5)
    hour_end = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)
    set_updated_at(
        settings.database_url, {p.id: hour_end - dt.timedelta(minutes=5 * (i + 1)) for i, p in enumerate(placed)}
    )

    dagrun = dags["orders_extract"].test(logical_date=pendulum.instance(hour_end))

    assert dagrun.state == "success"
    assert (dagrun.data_interval_start, dagrun.data_interval_end) == (hour_end - dt.timedelta(hours=1), hour_end)
    rows = read_window(lake, "orders", "20260115T1200")
    assert sorted(r["id"] for r in rows) == sorted(p.id for p in placed)
    (attempt,) = audit.attempts(lake)
    assert (attempt["status"], attempt["rows_out"]["orders"]) == ("success", 5)


def test_a_failing_run_alerts_once_and_is_a_gap(airflow_db, dags, settings, lake, monkeypatch):
    run_env(monkeypatch, settings)
    monkeypatch.setenv("DATABASE_URL", "postgresql://bfp@127.0.0.1:9/nowhere")  # nothing listens on port 9
    dag = dags["orders_extract"]
    for task in dag.tasks:
        monkeypatch.setattr(task, "retries", 0)
    hour_end = dt.datetime(2026, 1, 15, 13, 0, tzinfo=dt.UTC)

    dagrun = dag.test(logical_date=pendulum.instance(hour_end))

    assert dagrun.state == "failed"
    with open(settings.alerts_path) as handle:
        (alert,) = [json.loads(line) for line in handle]
    assert (alert["dag_id"], alert["task_id"]) == ("orders_extract", "extract_orders_window")
    assert alert["window"]["end"].startswith("2026-01-15 13:00:00")
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
    context = {"ti": ti, "exception": RuntimeError("boom"), "data_interval_start": 1, "data_interval_end": 2}
    alerts.on_task_failure(context)
    alerts.on_task_failure(context)
    with open(settings.alerts_path) as handle:
        assert len(handle.readlines()) == 1
