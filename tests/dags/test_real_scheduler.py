"""Through the real scheduler (`airflow standalone`, started by the same script as `make airflow`), where the
behaviour depends on it: two manual runs at once never write the lake at the same time (the one-slot pool); the
runbook's commands (CLI trigger and dry run, backfill, clear by dates and by run id, the gap report) do what it
says; a failed gate changes nothing analysts see, alerts with the manual run's window, and each DQ attempt's
result stays through the runbook's clears of a manual run by its run id (the gate and what follows it, then from
the extract). Most windows are empty (Spark is skipped): the first of the two runs at once has orders, so one
Spark job runs under the scheduler (submitted by its task process) while the other run waits for the slot."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import Iterator

import duckdb
import pytest

from drills.airflow_api import Airflow, pipeline_env, standalone
from drills.lake_faults import corrupt_window
from pipeline.lake import Lake
from pipeline.run_ids import file_safe
from pipeline.wiring import LAKE_WRITER_POOL
from support.net import free_port, wait_until

POOL_TASKS = {"extract_orders_window", "transform", "dq_gate", "register_partitions"}


@pytest.fixture(scope="module")
def airflow(services, catalog_template, tmp_path_factory) -> Iterator[Airflow]:
    from tests.conftest import database_from_template

    state = tmp_path_factory.mktemp("real-airflow")
    with database_from_template(services, catalog_template) as database_url:  # a catalog, no orders
        # The tests' runs are manual and backfilled: no scheduled run of the hour the module starts in (or turns
        # into) runs beside them (make drill-trust and drill-freshness watch the scheduled ones)
        env = {**pipeline_env(state, free_port(), database_url), "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False"}
        with standalone(env) as flow:
            yield flow


def parse(moment: str) -> dt.datetime:
    return dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))


def place_orders(airflow: Airflow, count: int, window_end: dt.datetime) -> list:
    from datagen.simulate import Simulator, backdate_orders

    placed = Simulator(airflow.env["DATABASE_URL"], seed=5).place_orders(count)
    backdate_orders(
        airflow.env["DATABASE_URL"], {p.id: window_end - dt.timedelta(minutes=5 + i) for i, p in enumerate(placed)}
    )
    return placed


def test_two_manual_runs_at_once_write_the_lake_one_task_at_a_time(airflow):
    pool = airflow.api("GET", f"/pools/{LAKE_WRITER_POOL}")
    assert pool["slots"] == 1
    placed = place_orders(airflow, 3, dt.datetime(2026, 11, 27, 10, tzinfo=dt.UTC))
    first = airflow.trigger(dt.datetime(2026, 11, 27, 9, tzinfo=dt.UTC))  # the window [09:00, 10:00): Spark runs
    second = airflow.trigger(dt.datetime(2026, 11, 27, 10, tzinfo=dt.UTC))

    assert (airflow.wait_for_run(first, 400), airflow.wait_for_run(second, 400)) == ("success", "success")
    refresh = airflow.lake.read_json(airflow.lake.path("_runs", "refresh", f"{file_safe(first)}.json"))
    assert refresh["order_lines"]["orders_changed"] == len(placed)

    spans = []
    for run_id in (first, second):
        for task_id, ti in airflow.task_instances(run_id).items():
            if task_id in POOL_TASKS:
                assert ti["pool"] == LAKE_WRITER_POOL
                spans.append((parse(ti["start_date"]), parse(ti["end_date"]), run_id, task_id))
    spans.sort()
    for (_, end, *earlier), (start, _, *later) in itertools.pairwise(spans):
        assert end <= start, f"{earlier} and {later} wrote the lake at the same time"


def seen_by_analysts(catalog) -> dict[str, list[str]]:
    """Every table and view of the catalog with its rows, as analysts' queries get them. (Not the file's bytes: a
    run that re-registers the same partitions rewrites the file.)"""

    def read() -> dict[str, list[str]]:
        with duckdb.connect(str(catalog), read_only=True) as conn:
            names = conn.execute(
                "SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal"
                " UNION ALL SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal ORDER BY 1, 2"
            ).fetchall()
            # the names come from the catalog itself
            query = 'SELECT * FROM "{}"."{}"'
            return {f"{s}.{n}": sorted(map(repr, conn.execute(query.format(s, n)).fetchall())) for s, n in names}

    return wait_until(read, 60, "the catalog to open between writers", every=1, ignore=(duckdb.IOException,))


def labels_of(lake: Lake) -> set[str]:
    return {folder.removeprefix("window=") for folder in lake.list_dirs(lake.path("raw", "orders"))}


def test_the_runbooks_commands_trigger_backfill_clear_and_report_gaps(airflow):
    """docs/runbook.md, "Re-run a window" and "Read the gap report", command by command."""
    manual = {"window_start": "2026-11-26T00:00:00Z", "window_end": "2026-11-26T01:00:00Z"}
    airflow.cli("dags", "trigger", "orders_pipeline", "-c", json.dumps(manual))
    airflow.cli("dags", "trigger", "orders_pipeline", "-c", json.dumps(
        {"window_start": "2026-11-26T01:00:00Z", "window_end": "2026-11-26T02:00:00Z", "dry_run": True}
    ))  # fmt: skip
    triggered = {run["conf"].get("window_start"): run for run in airflow.runs() if run["conf"]}
    for start in ("2026-11-26T00:00:00Z", "2026-11-26T01:00:00Z"):
        assert airflow.wait_for_run(triggered[start]["dag_run_id"]) == "success"
    dry = airflow.task_instances(triggered["2026-11-26T01:00:00Z"]["dag_run_id"])
    assert (dry["extract_orders_window"]["state"], dry["transform"]["state"]) == ("success", "skipped")

    airflow.cli(
        "backfill", "create", "--dag-id", "orders_pipeline", "--from-date", "2026-11-26T03:00:00Z",
        "--to-date", "2026-11-26T04:00:00Z", "--max-active-runs", "1",
    )  # fmt: skip

    def backfill_finished() -> list[dict] | None:
        backfilled = [r for r in airflow.runs() if r["run_type"] == "backfill"]
        return backfilled if backfilled and all(r["state"] in ("success", "failed") for r in backfilled) else None

    backfilled = wait_until(backfill_finished, 300, "the backfill's runs to finish", every=1)
    assert {r["state"] for r in backfilled} == {"success"}
    assert {"20261126T0100", "20261126T0400"} <= labels_of(airflow.lake)
    assert "20261126T0200" not in labels_of(airflow.lake)  # the dry run wrote nothing

    # a scheduled or backfilled run is cleared by its dates
    run = next(r for r in backfilled if r["data_interval_start"].startswith("2026-11-26T03:00"))
    airflow.cli("tasks", "clear", "orders_pipeline", "-s", run["logical_date"], "-e", run["logical_date"], "--yes")
    assert airflow.wait_for_try(run["dag_run_id"], "extract_orders_window", 2) == "success"

    gaps = airflow.python("-m", "pipeline.audit", "gaps", "--from", "2026-11-26T00:00:00Z",
                          "--to", "2026-11-26T05:00:00Z", check=False)  # fmt: skip
    assert gaps.returncode == 1  # gaps found: the dry-run hour and the hours nobody ran
    reported = {line.split()[0]: line for line in gaps.stdout.splitlines() if line.startswith("2026")}
    assert {"20261126T0200", "20261126T0300"} <= set(reported)
    assert "20261126T0100" not in reported and "20261126T0400" not in reported
    runs = airflow.python("-m", "pipeline.audit", "runs").stdout
    assert "20261126T0100" in runs and "20261126T0400" in runs
    assert airflow.python("-m", "pipeline.registry_cli", "list").returncode == 0


def test_a_failed_gate_changes_nothing_analysts_see_alerts_with_the_window_and_keeps_each_attempt(airflow):
    """Through the scheduler: a window published, then its raw files corrupted (a made-up order twice, its line at a
    negative price) and the gate cleared: it fails; analysts' tables and views return what they did, the alert
    names the manual run's window, the failed DQ result survives the runbook's recovery (re-extract the window).
    The window is empty, so Spark is skipped: that a gate failing after Spark rewrote the working partitions
    changes nothing analysts see is tests/dags/test_dag_definitions.py's."""
    window_end = dt.datetime(2026, 11, 25, 11, tzinfo=dt.UTC)
    run_id = airflow.trigger(window_end - dt.timedelta(hours=1))
    assert airflow.wait_for_run(run_id) == "success"
    catalog = airflow.state / "catalog.duckdb"
    published = seen_by_analysts(catalog)

    corrupt_window(airflow.lake, "20261125T1100")
    airflow.clear(run_id, ["dq_gate"], downstream=True)
    assert airflow.wait_for_try(run_id, "dq_gate", 2) == "failed"

    tis = airflow.task_instances(run_id)
    assert (tis["dq_gate"]["state"], tis["register_partitions"]["state"]) == ("failed", "upstream_failed")
    assert seen_by_analysts(catalog) == published
    alerts = [json.loads(line) for line in (airflow.state / "alerts.jsonl").read_text().splitlines()]
    (alert,) = [a for a in alerts if a["run_id"] == run_id]
    assert alert["task_id"] == "dq_gate"
    window = alert["window"]
    assert (window["start"], window["end"]) == ("2026-11-25T10:00:00+00:00", "2026-11-25T11:00:00+00:00")

    airflow.clear(run_id, ["extract_orders_window"], downstream=True)  # runbook: re-run the window from the extract
    assert airflow.wait_for_try(run_id, "dq_gate", 3) == "success"
    results = {n: airflow.lake.read_json(airflow.lake.path("_dq", "raw_orders", file_safe(run_id), f"{n}.json"))
               for n in (1, 2, 3)}  # fmt: skip
    assert [results[n]["success"] for n in (1, 2, 3)] == [True, False, True]
    assert [results[n]["rows"] for n in (1, 2, 3)] == [0, 2, 0]  # the made-up order twice, then the window again
