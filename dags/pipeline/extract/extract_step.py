"""The orders extract task: builds the window from the DAG run, extracts it, records the attempt, and logs
one structured line. The DAG file only wires this in."""

from __future__ import annotations

import datetime as dt
import json
import logging

from pipeline import alerts, audit, progress
from pipeline.extract import window_extract
from pipeline.extract.watermark import EPOCH, UnsafeWindowError, Window
from pipeline.lake import Lake
from pipeline.settings import Settings
from pipeline.task_log import logged

log = logging.getLogger("pipeline.extract.extract_step")


class ParamsError(ValueError):
    """A manual trigger's params name no window (one bound, a bad time, off the grid, too many windows): a
    corrected trigger fixes it, not a retry."""

    next_step = "trigger the DAG again with corrected params: clearing this task would repeat the same ones"


def window_for_run(data_interval_start: dt.datetime, data_interval_end: dt.datetime, params: dict) -> Window:
    """The run's data interval, or the manual override from params (both window_start and window_end)."""
    start, end = params.get("window_start"), params.get("window_end")
    if bool(start) != bool(end):
        raise ValueError("params: give both window_start and window_end, or neither")
    if start:
        return Window.parse(start, end)
    return Window(data_interval_start, data_interval_end)


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


def catch_up_windows(
    interval: Window, extracted_mark: dt.datetime | None, length: dt.timedelta, bound: int
) -> tuple[list[Window], int]:
    """A scheduled run's windows: from the lake's extracted mark (the end of the newest window it holds) to the
    run's interval end, on the schedule's grid, at most `bound` of them (the oldest first: no gap opens); and how
    many further windows are left for the next run. The scheduler skips intervals after an outage, a paused DAG
    or an overrunning run (catchup=False); this does not. A run behind the mark (a backfill, a clear of an old
    run) or on a new lake extracts its own interval."""
    if extracted_mark is None or extracted_mark >= interval.start:
        return [interval], 0
    windows = progress.grid_windows(extracted_mark, interval.end, length)
    return windows[:bound], max(len(windows) - bound, 0)


def run_for_dag_run(
    settings: Settings,
    data_interval_start: dt.datetime,
    data_interval_end: dt.datetime,
    params: dict,
    run_id: str,
    attempt: int = 1,
) -> dict:
    """The extract task: a manual range as asked (params), else every window from the extracted mark to the
    interval's end (bounded; beyond the bound one alert, and the next run goes on from where this one stops)."""
    if params.get("window_start") or params.get("window_end"):
        try:
            windows = windows_for_run(data_interval_start, data_interval_end, params, settings.window_length)
        except ValueError as exc:  # before anything is read or written
            raise ParamsError(f"{exc}; trigger again with corrected params (nothing was extracted)") from exc
        return run_windows(windows, settings, run_id=run_id, attempt=attempt, dry_run=params.get("dry_run", False))
    lake = Lake.from_uri(settings.lake_uri)
    interval = Window(data_interval_start, data_interval_end)
    mark = progress.extracted_mark(lake)
    windows, left = catch_up_windows(interval, mark, settings.window_length, settings.catch_up_windows)
    if params.get("dry_run"):
        return run_windows(windows, settings, run_id=run_id, attempt=attempt, dry_run=True)
    alerts.incident(settings, "extract_behind", _behind_alert(windows, left, interval, run_id) if left else None)
    summary = run_windows(windows, settings, run_id=run_id, attempt=attempt)
    return {**summary, "caught_up_from": mark.isoformat() if len(windows) > 1 else None, "windows_left": left}


def _behind_alert(windows: list[Window], left: int, interval: Window, run_id: str) -> dict:
    return {
        "bfp_task": "extract_behind",
        "run_id": run_id,
        "window": {"start": windows[0].start.isoformat(), "end": interval.end.isoformat()},
        "error": f"the extract is {len(windows) + left} windows behind the schedule; this run takes the oldest "
        f"{len(windows)} (up to {windows[-1].end.isoformat()}), the next runs go on from there",
        "next_step": "nothing to do unless it stays behind: each run catches up BFP_CATCH_UP_WINDOWS windows; "
        "to catch up faster, trigger a manual range (docs/runbook.md#catching-up)",
    }


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
        logged(exc)  # told in this line: the task's decorator adds no second one
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
        logged(exc)  # told in this line: the task's decorator adds no second one
        raise
    summary = result.summary()
    if not dry_run:
        audit.record_attempt(lake, window, run_id, attempt, "success", summary)
    log.info(json.dumps(summary, default=str, sort_keys=True))
    return summary
