"""The orders extract task: builds the window from the DAG run, extracts it, records the attempt, and logs
one structured line. The DAG file only wires this in."""

from __future__ import annotations

import datetime as dt
import json
import logging

from pipeline import audit, window_extract
from pipeline.lake import Lake
from pipeline.settings import Settings
from pipeline.watermark import UnsafeWindowError, Window

log = logging.getLogger("pipeline.extract_step")


def window_for_run(data_interval_start: dt.datetime, data_interval_end: dt.datetime, params: dict) -> Window:
    """The run's data interval, or the manual override from params (both window_start and window_end)."""
    start, end = params.get("window_start"), params.get("window_end")
    if bool(start) != bool(end):
        raise ValueError("params: give both window_start and window_end, or neither")
    if start:
        return Window.parse(start, end)
    return Window(data_interval_start, data_interval_end)


def run(window: Window, settings: Settings, run_id: str, attempt: int = 1, dry_run: bool = False) -> dict:
    """Extracts one window for the run `run_id` (Airflow's, file-safe: the key every record of the run carries)
    and records the attempt; re-raises failures after recording them."""
    lake = Lake.from_uri(settings.lake_uri)
    try:
        result = window_extract.extract_window(window, settings, dry_run=dry_run, run_id=run_id)
    except UnsafeWindowError as exc:
        audit.record_attempt(lake, window, run_id, attempt, "deferred", {"error": str(exc)})
        log.warning(
            json.dumps(
                {
                    "bfp_task": "extract_window",
                    "status": "deferred",
                    "window": window.as_dict(),
                    "error": str(exc),
                    "next_step": "none: Airflow retries this window",
                }
            )
        )
        raise
    except Exception as exc:
        audit.record_attempt(lake, window, run_id, attempt, "failed", {"error": f"{type(exc).__name__}: {exc}"})
        log.error(
            json.dumps(
                {
                    "bfp_task": "extract_window",
                    "status": "failed",
                    "window": window.as_dict(),
                    "error": f"{type(exc).__name__}: {exc}",
                    "next_step": "fix the cause, then clear the task to re-run this window",
                }
            )
        )
        raise
    summary = result.summary()
    if not dry_run:
        audit.record_attempt(lake, window, run_id, attempt, "success", summary)
    log.info(json.dumps(summary, default=str, sort_keys=True))
    return summary
