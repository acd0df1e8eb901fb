"""A real `airflow standalone` for the pipeline drill and the real-scheduler tests: started and stopped by the
script `make airflow` uses (scripts/airflow.sh), driven through Airflow's REST API and its CLI, as data
engineers drive it."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests
from sqlalchemy.engine import make_url

from pipeline import airflow_setup
from pipeline.lake import Lake
from support.net import wait_until

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "airflow.sh"
FINISHED = ("success", "failed")


@dataclass(frozen=True)
class Airflow:
    url: str
    token: str
    lake: Lake
    env: dict
    state: Path

    def api(self, method: str, path: str, **kwargs) -> dict:
        response = requests.request(
            method, f"{self.url}/api/v2{path}", headers={"Authorization": f"Bearer {self.token}"}, timeout=30, **kwargs
        )
        if response.status_code >= 300:
            raise AssertionError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response.json()

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """The runbook's `airflow …` commands, as `scripts/airflow.sh cli …` runs them beside `make airflow`."""
        done = subprocess.run(
            [str(SCRIPT), "cli", *args], env=self.env, capture_output=True, text=True, timeout=300, check=False
        )
        if done.returncode != 0:
            raise AssertionError(f"airflow {' '.join(args)}: {done.stdout[-1500:]} {done.stderr[-3000:]}")
        return done

    def python(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """The runbook's `python -m pipeline.…` commands, with the same environment."""
        env = {**self.env, "PYTHONPATH": f"{ROOT}:{ROOT / 'dags'}"}
        done = subprocess.run(
            [sys.executable, *args], env=env, capture_output=True, text=True, timeout=300, check=False
        )
        if check and done.returncode != 0:
            raise AssertionError(done.stdout[-1500:] + done.stderr[-3000:])
        return done

    def trigger(
        self, start: dt.datetime, hours: int = 1, dag_id: str = "orders_pipeline", length: dt.timedelta | None = None
    ) -> str:
        """A manual run of the window [start, start + hours) (or of `length`: the DAG's window params)."""
        end = start + (length or dt.timedelta(hours=hours))
        conf = {"window_start": start.isoformat(), "window_end": end.isoformat()}
        run = self.api("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf})
        return run["dag_run_id"]

    def runs(self, dag_id: str = "orders_pipeline") -> list[dict]:
        return self.api("GET", f"/dags/{dag_id}/dagRuns", params={"limit": 100})["dag_runs"]

    def task_instances(self, run_id: str, dag_id: str = "orders_pipeline") -> dict[str, dict]:
        found = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
        return {ti["task_id"]: ti for ti in found}

    def clear(self, run_id: str, task_ids: list[str], downstream: bool = False) -> None:
        """docs/runbook.md, "Re-run a window": a manual run is cleared by its run id through the REST API."""
        body = {"dag_run_id": run_id, "task_ids": task_ids, "only_failed": False, "dry_run": False}
        self.api("POST", "/dags/orders_pipeline/clearTaskInstances", json=body | {"include_downstream": downstream})

    def wait_for_run(self, run_id: str, seconds: float = 240, dag_id: str = "orders_pipeline") -> str:
        def finished() -> str | None:
            state = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]
            return state if state in FINISHED else None

        try:
            return wait_until(finished, seconds, f"{run_id} to finish", every=1)
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {self.task_instances(run_id, dag_id)}") from None

    def wait_for_try(self, run_id: str, task_id: str, try_number: int, seconds: float = 300) -> str:
        """Waits until `task_id` ran its try `try_number` and the run finished; returns the run's state."""
        deadline = time.monotonic() + seconds

        def reached() -> bool:
            return self.task_instances(run_id)[task_id]["try_number"] >= try_number

        wait_until(reached, seconds, f"{task_id} of {run_id} to reach try {try_number}", every=1)
        return self.wait_for_run(run_id, max(deadline - time.monotonic(), 1))


def pipeline_env(state: Path, port: int, database_url: str) -> dict[str, str]:
    """`make airflow`'s settings, in a folder of its own: its Airflow home and metadata database (dropped by
    `standalone` on exit), lake, catalog and alerts."""
    shop = make_url(database_url)
    metadata = shop.set(drivername="postgresql+psycopg2", database=f"bfp_airflow_{uuid.uuid4().hex[:12]}")
    return {
        **os.environ,
        "BFP_AIRFLOW_STATE": str(state),
        "AIRFLOW_HOME": str(state),
        airflow_setup.METADATA_URL_SETTING: metadata.render_as_string(hide_password=False),
        "BFP_AIRFLOW_PORT": str(port),
        "BFP_DAGS_PAUSED": "True",  # only orders_pipeline is unpaused: no runs of the others
        "DATABASE_URL": database_url,
        "BFP_LAKE_URI": (state / "lake").as_uri(),
        "BFP_CATALOG_PATH": str(state / "catalog.duckdb"),
        "BFP_ALERTS_PATH": str(state / "alerts.jsonl"),
        "BFP_REPORT_DIR": str(state / "report"),
        "BFP_EXTRACT_LAG_SECONDS": "0",
    }


@contextlib.contextmanager
def standalone(env: dict[str, str]) -> Iterator[Airflow]:
    """`scripts/airflow.sh up` with `env` (see pipeline_env), orders_pipeline unpaused; `down` and its metadata
    database dropped on exit."""
    state, port = Path(env["BFP_AIRFLOW_STATE"]), env["BFP_AIRFLOW_PORT"]
    started = subprocess.run([str(SCRIPT), "up"], env=env, capture_output=True, text=True, timeout=400, check=False)
    try:
        if started.returncode != 0:
            log = state / "standalone.log"  # absent when the script failed before starting Airflow
            raise RuntimeError(started.stderr[-3000:] + (log.read_text()[-3000:] if log.exists() else ""))
        url = f"http://127.0.0.1:{port}"
        token = requests.post(f"{url}/auth/token", json={"username": "admin", "password": "admin"}, timeout=30)
        flow = Airflow(url, token.json()["access_token"], Lake.from_uri(env["BFP_LAKE_URI"]), env, state)

        def unpause() -> dict:  # the dag-processor registers the DAG a few seconds after start: 404 until then
            return flow.api("PATCH", "/dags/orders_pipeline", json={"is_paused": False})

        wait_until(unpause, 120, "orders_pipeline to be registered and unpaused", every=1, ignore=(AssertionError,))
        yield flow
    finally:
        subprocess.run([str(SCRIPT), "down"], env=env, capture_output=True, timeout=120, check=False)
        airflow_setup.drop_database(env[airflow_setup.METADATA_URL_SETTING])
