"""What both DAG files share: task defaults, the published Asset, and a file-safe run id."""

from __future__ import annotations

import datetime as dt
import re
from datetime import timedelta

from airflow.sdk import Asset

from pipeline import alerts

# Consumers (reports, downstream DAGs) schedule on this; each event's extra names the windows, rows and partitions.
LAKE_PUBLISHED = Asset(name="bfp_lake_published", uri="bfp://lake/published")

DEFAULT_ARGS = {
    "owner": "data-engineering",
    "retries": 8,
    "retry_delay": timedelta(minutes=1),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=20),
    "on_failure_callback": alerts.on_task_failure,
}
# A failed DQ gate fails again on the same data: alert at once instead of retrying.
NO_RETRIES = {"retries": 0}


def file_safe(run_id: str) -> str:
    """An Airflow run id (manual__2026-01-15T12:00:00+00:00) as a name for files in the lake."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", run_id)


def as_of_date(moment: dt.datetime | str | None) -> str:
    """The as-of date of the season marts (YYYY-MM-DD, UTC) for a run whose data reaches `moment`: a window's
    end, a manual param, or the run's logical date; today when a run has none of them."""
    if moment is None:
        return dt.datetime.now(dt.UTC).date().isoformat()
    if isinstance(moment, str):
        moment = (
            dt.datetime.fromisoformat(moment) if "T" in moment else dt.datetime.fromisoformat(moment + "T00:00+00:00")
        )
    return moment.astimezone(dt.UTC).date().isoformat()
