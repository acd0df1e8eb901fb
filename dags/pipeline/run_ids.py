"""Run ids and as-of dates: a leaf module (no Airflow import), so the audit CLI, the alerts and the DAG files
share one rule for naming a run's records in the lake and for a run's as-of date."""

from __future__ import annotations

import datetime as dt
import re


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
