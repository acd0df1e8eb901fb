"""Through the real scheduler (`airflow standalone`, started by the same script as `make airflow`), where the
behaviour depends on it: two manual runs at once never write the lake at the same time (the one-slot pool),
the runbook's REST clear re-runs a task of a manual run, and the failed-or-not DQ result of each attempt stays.
The windows are empty (Spark is skipped), so the runs take seconds."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from pipeline.lake import Lake
from pipeline.wiring import LAKE_WRITER_POOL, file_safe
from tests.conftest import ROOT, free_port

SCRIPT = ROOT / "scripts" / "airflow.sh"
POOL_TASKS = {"extract_orders_window", "transform", "register_partitions"}


@dataclass(frozen=True)
class Airflow:
    url: str
    token: str
    lake: Lake

    def api(self, method: str, path: str, **kwargs) -> dict:
        response = requests.request(
            method, f"{self.url}/api/v2{path}", headers={"Authorization": f"Bearer {self.token}"}, timeout=30, **kwargs
        )
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text[:500]}"
        return response.json()

    def trigger(self, start: dt.datetime) -> str:
        conf = {"window_start": start.isoformat(), "window_end": (start + dt.timedelta(hours=1)).isoformat()}
        run = self.api("POST", "/dags/orders_pipeline/dagRuns", json={"logical_date": None, "conf": conf})
        return run["dag_run_id"]

    def task_instances(self, run_id: str) -> dict[str, dict]:
        found = self.api("GET", f"/dags/orders_pipeline/dagRuns/{run_id}/taskInstances")["task_instances"]
        return {ti["task_id"]: ti for ti in found}

    def wait_for_run(self, run_id: str, seconds: float = 240) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            state = self.api("GET", f"/dags/orders_pipeline/dagRuns/{run_id}")["state"]
            if state in ("success", "failed"):
                return state
            time.sleep(1)
        raise AssertionError(f"{run_id} did not finish within {seconds} s: {self.task_instances(run_id)}")


@pytest.fixture(scope="module")
def airflow(services, catalog_template, tmp_path_factory) -> Iterator[Airflow]:
    from tests.conftest import database_from_template

    state = tmp_path_factory.mktemp("real-airflow")
    port = free_port()
    with database_from_template(services, catalog_template) as database_url:  # a catalog, no orders
        env = {
            **os.environ,
            "BFP_AIRFLOW_STATE": str(state),
            "AIRFLOW_HOME": str(state),
            "BFP_AIRFLOW_PORT": str(port),
            "BFP_DAGS_PAUSED": "True",  # only orders_pipeline is unpaused below: no hourly runs of the others
            "DATABASE_URL": database_url,
            "BFP_LAKE_URI": (state / "lake").as_uri(),
            "BFP_CATALOG_PATH": str(state / "catalog.duckdb"),
            "BFP_ALERTS_PATH": str(state / "alerts.jsonl"),
            "BFP_REPORT_DIR": str(state / "report"),
            "BFP_EXTRACT_LAG_SECONDS": "0",
        }
        started = subprocess.run([str(SCRIPT), "up"], env=env, capture_output=True, text=True, timeout=400, check=False)
        try:
            assert started.returncode == 0, started.stderr[-3000:] + (state / "standalone.log").read_text()[-3000:]
            url = f"http://127.0.0.1:{port}"
            token = requests.post(
                f"{url}/auth/token", json={"username": "admin", "password": "admin"}, timeout=30
            ).json()["access_token"]
            flow = Airflow(url, token, Lake.from_uri(env["BFP_LAKE_URI"]))
            deadline = time.monotonic() + 120
            while True:  # the dag-processor registers the DAG a few seconds after start
                response = requests.patch(
                    f"{url}/api/v2/dags/orders_pipeline",
                    json={"is_paused": False},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=30,
                )
                if response.status_code == 200 or time.monotonic() > deadline:
                    break
                time.sleep(1)
            assert response.status_code == 200, response.text
            yield flow
        finally:
            subprocess.run([str(SCRIPT), "down"], env=env, capture_output=True, timeout=120, check=False)


def parse(moment: str) -> dt.datetime:
    return dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))


def test_two_manual_runs_at_once_write_the_lake_one_task_at_a_time(airflow):
    pool = airflow.api("GET", f"/pools/{LAKE_WRITER_POOL}")
    assert pool["slots"] == 1
    first = airflow.trigger(dt.datetime(2026, 11, 27, 9, tzinfo=dt.UTC))
    second = airflow.trigger(dt.datetime(2026, 11, 27, 10, tzinfo=dt.UTC))

    assert (airflow.wait_for_run(first), airflow.wait_for_run(second)) == ("success", "success")

    spans = []
    for run_id in (first, second):
        for task_id, ti in airflow.task_instances(run_id).items():
            if task_id in POOL_TASKS:
                assert ti["pool"] == LAKE_WRITER_POOL
                spans.append((parse(ti["start_date"]), parse(ti["end_date"]), run_id, task_id))
    spans.sort()
    for (_, end, *earlier), (start, _, *later) in itertools.pairwise(spans):
        assert end <= start, f"{earlier} and {later} wrote the lake at the same time"


def test_the_runbook_clear_reruns_a_manual_runs_task_and_keeps_each_dq_attempt(airflow):
    run_id = airflow.trigger(dt.datetime(2026, 11, 27, 11, tzinfo=dt.UTC))
    assert airflow.wait_for_run(run_id) == "success"

    # docs/runbook.md, "Re-run a window": a manual run is cleared by its run id through the REST API
    airflow.api(
        "POST",
        "/dags/orders_pipeline/clearTaskInstances",
        json={"dag_run_id": run_id, "task_ids": ["dq_gate"], "only_failed": False, "dry_run": False},
    )
    deadline = time.monotonic() + 180
    while airflow.task_instances(run_id)["dq_gate"]["try_number"] < 2 or airflow.wait_for_run(run_id) != "success":
        assert time.monotonic() < deadline, airflow.task_instances(run_id)
        time.sleep(1)

    dq_gate = airflow.task_instances(run_id)["dq_gate"]
    assert (dq_gate["state"], dq_gate["try_number"]) == ("success", 2)
    run = file_safe(run_id)
    attempts = [airflow.lake.read_json(airflow.lake.path("_dq", "raw_orders", run, f"{n}.json")) for n in (1, 2)]
    assert [(a["attempt"], a["success"], a["rows"]) for a in attempts] == [(1, True, 0), (2, True, 0)]
