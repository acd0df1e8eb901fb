"""DAG orders_extract: hourly watermark windows of changed orders, PostgreSQL -> raw lake. Wiring only."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, CronDataIntervalTimetable, Param, task

from pipeline import alerts

DOC = """
### orders_extract

Every hour, extracts the orders changed in the hour that just ended — the run's data interval
`[data_interval_start, data_interval_end)` — with their lines, from the OLTP PostgreSQL into
`raw/orders/window=<end>/` and `raw/order_items/window=<end>/` (Parquet + `_manifest.json`, written last).

* **Schedule**: `CronDataIntervalTimetable("0 * * * *", UTC)` (a cron string would give zero-width windows).
  Catchup is off: a new deployment starts with the current hour. `max_active_runs=1`.
* **Safety**: a window is extracted only when it ended at least `BFP_EXTRACT_LAG_SECONDS` ago and no
  transaction that began before its end is still open. Otherwise the task fails and retries (exponential
  backoff); the window is never shrunk or skipped.
* **Re-run a window**: clear the task of that run; the window folder is replaced exactly.
* **Manual window**: trigger with params `window_start`/`window_end` (ISO-8601 with zone); `dry_run` counts
  without writing.
* **Backfill**: `airflow backfill create --dag-id orders_extract --from-date 2026-11-01 --to-date 2026-11-02
  --max-active-runs 1` (re-running windows gives the same rows).
* **Audit / gaps**: `python -m pipeline.audit runs`, `python -m pipeline.audit gaps --from ... --to ...`.
* **On failure**: one alert after the last retry (local: `BFP_ALERTS_PATH`; aws: SNS). Runbook: docs/.
"""

with DAG(
    dag_id="orders_extract",
    doc_md=DOC,
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),  # the earliest window a backfill can reach
    catchup=False,
    max_active_runs=1,
    tags=["extract", "orders", "lake"],
    default_args={
        "owner": "data-engineering",
        "retries": 8,
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=20),
        "on_failure_callback": alerts.on_task_failure,
    },
    params={
        "window_start": Param(
            None, type=["null", "string"], format="date-time", description="manual window start (with both)"
        ),
        "window_end": Param(
            None, type=["null", "string"], format="date-time", description="manual window end (with both)"
        ),
        "dry_run": Param(False, type="boolean", description="count what would be extracted, write nothing"),
    },
) as dag:

    @task
    def extract_orders_window(params=None, data_interval_start=None, data_interval_end=None) -> dict:
        """Extract the run's window (see pipeline.orders_extract)."""
        from pipeline import orders_extract, settings

        window = orders_extract.window_for_run(data_interval_start, data_interval_end, params)
        return orders_extract.run(window, settings.from_env(), dry_run=params["dry_run"])

    extract_orders_window()
