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


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# One run extracts its windows one after another and passes their labels to one Spark job: a month of hourly
# windows fits; a range of years is several runs (each bounded in time, XCom size and command line).
MAX_WINDOWS_PER_RUN = 744


def windows_for_run(
    data_interval_start: dt.datetime, data_interval_end: dt.datetime, params: dict, length: dt.timedelta
) -> list[Window]:
    """The run's windows: its data interval; or a manual range, split into the schedule's windows of `length`
    when longer than one (the same folders a scheduled run or a backfill writes: a backlog or a backfill costs
    one run and one Spark job, not one per window)."""
    whole = window_for_run(data_interval_start, data_interval_end, params)
    if not params.get("window_start") or whole.end - whole.start <= length:
        return [whole]
    off_grid = [moment for moment in (whole.start, whole.end) if (moment - EPOCH) % length]
    if off_grid:
        raise ValueError(
            f"params: a range longer than one window ({int(length.total_seconds() // 60)} min) is split into the "
            f"schedule's windows, so it must start and end on their grid; {off_grid[0].isoformat()} is not on it"
        )
    count = (whole.end - whole.start) // length
    if count > MAX_WINDOWS_PER_RUN:
        raise ValueError(
            f"params: {whole.start.isoformat()} .. {whole.end.isoformat()} holds {count} windows; one run takes at"
            f" most {MAX_WINDOWS_PER_RUN}: trigger several consecutive ranges"
        )
    return [Window(whole.start + i * length, whole.start + (i + 1) * length) for i in range(count)]


def run_windows(
    windows: list[Window], settings: Settings, run_id: str, attempt: int = 1, dry_run: bool = False
) -> dict:
    """Extracts each window in turn (each in its own snapshot, each checked safe, each recorded) and returns the
    run's summary: the whole range as `window`, every label in `windows`, the rows of all of them. A failure
    stops at that window; the retry extracts them all again (each replaces its folder exactly)."""
    summaries = [run(window, settings, run_id=run_id, attempt=attempt, dry_run=dry_run) for window in windows]
    if len(summaries) == 1:
        return {**summaries[0], "windows": [windows[0].label]}
    rows = {table: sum(s["rows_out"][table] for s in summaries) for table in ("orders", "order_items")}
    summary = {
        "bfp_task": "extract_window",
        "status": summaries[-1]["status"],
        "run_id": run_id,
        "window": Window(windows[0].start, windows[-1].end).as_dict() | {"label": windows[-1].label},
        "windows": [window.label for window in windows],
        "rows_out": rows,
        "rows_by_window": {w.label: s["rows_out"]["orders"] for w, s in zip(windows, summaries, strict=True)},
    }
    log.info(json.dumps(summary, default=str, sort_keys=True))
    return summary


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
