"""What the DAG files share: task defaults, the lake writers' pool, the published Asset, the window schedule, and
the decorator every task's callable wears (its failure line)."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from datetime import timedelta

from airflow.sdk import Asset

from pipeline import alerts, settings
from pipeline.run_ids import file_safe
from pipeline.task_log import failure_logged

# One slot: tasks that write or register lake tables run one at a time across DAGs, manual runs and backfills
# (pipeline.airflow_setup creates it).
LAKE_WRITER_POOL = "bfp_lake_writer"
# Consumers (reports, downstream DAGs) schedule on this; each event's extra names the windows, rows and partitions.
LAKE_PUBLISHED = Asset(name="bfp_lake_published", uri="bfp://lake/published")

DEFAULT_ARGS = {
    "owner": "data-engineering",
    "retries": 8,
    # A fixed delay: Airflow's exponential backoff grows with the try number, which clearing a task does not
    # reset, so a task cleared a few times would wait its 20-minute cap after a one-off failure.
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": False,
    "on_failure_callback": alerts.on_task_failure,
}
# Tasks that write or register lake tables.
LAKE_WRITER = {"pool": LAKE_WRITER_POOL}
# A failed DQ gate fails again on the same data: alert at once instead of retrying.
NO_RETRIES = {"retries": 0}


def window_cron() -> str:
    """orders_pipeline's schedule: every BFP_WINDOW_MINUTES (60: "0 * * * *"); read from the environment when the
    DAG file is parsed (no database, no lake)."""
    minutes = settings.window_minutes(os.environ)
    return "0 * * * *" if minutes == 60 else f"*/{minutes} * * * *"


def logged_task(bfp_task: str) -> Callable[[Callable], Callable]:
    """Put under `@task`: a failure inside the task logs its `bfp_task` line (status failed, the error, and what to
    do next: its runbook section, docs/runbook.md#<task id>, then clear it) before it propagates, once whatever
    the step logged itself; a skip is not a failure. The alert comes after the last try (DEFAULT_ARGS'
    on_failure_callback, pipeline.alerts), naming the same section."""

    def decorate(function: Callable) -> Callable:
        next_step = f"see docs/runbook.md#{function.__name__}; then clear this task"

        @functools.wraps(function)  # Airflow reads the wrapped signature for the context it passes (run_id, ti)
        def run(*args, **kwargs):
            from airflow.sdk.exceptions import AirflowSkipException

            run_id = kwargs.get("run_id")
            with failure_logged(bfp_task, run_id and file_safe(run_id), next_step, passes=(AirflowSkipException,)):
                return function(*args, **kwargs)

        run.bfp_task = bfp_task
        return run

    return decorate
