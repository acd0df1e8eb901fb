"""Freshness and completeness, watched after every orders_pipeline run (its `watch` task, whatever the run's
outcome) and measured at every publication:

* stale: the newest published window ended longer ago than BFP_FRESHNESS_WINDOWS windows (2) plus the extract's
  lag. One alert per incident (pipeline.alerts.incident), closed when a publication catches up; not raised while
  a quarantine holds the runs (each held run alerts already, naming the window: one page, not two).
* gaps: an expected window of the last day (since the lake's first window) without an orders manifest. The alert
  names the command that re-extracts them.
* aws: every publication puts CloudWatch metrics (BFP/Pipeline: WindowsPublished, PublishedWindowAgeSeconds); the
  alarm on them (missing data = breaching) pages when nothing is published, even when the scheduler is down.
"""

from __future__ import annotations

import datetime as dt
import json

from pipeline import alerts, audit, metrics, progress
from pipeline.extract.watermark import label_end
from pipeline.lake import Lake
from pipeline.settings import Settings
from pipeline.task_log import line

RUNBOOK_STALE = "docs/runbook.md#the-lake-is-stale-or-has-gaps"


def stale_threshold(settings: Settings) -> dt.timedelta:
    """How old the newest published window may be: BFP_FRESHNESS_WINDOWS windows plus the extract's lag."""
    return settings.freshness_windows * settings.window_length + settings.extract_lag


def not_watched(params: dict, run_type, interval_end: dt.datetime | None) -> str | None:
    """Why a run does not watch (None: it does). Runs on the schedule's clock watch; a manual window or a backfill
    of the past says nothing about how fresh the lake is now."""
    if params.get("window_start") or params.get("window_end"):
        return "a manual window: freshness is watched by the runs on the schedule"
    if "backfill" in str(getattr(run_type, "value", run_type)).lower() or interval_end is None:
        return "a backfill: freshness is watched by the runs on the schedule"
    return None


def watch(settings: Settings, run_id: str, as_of: dt.datetime) -> dict:
    """Checks freshness and the last day's gaps as of `as_of` (the run's interval end: a run watches the lake as its
    own schedule should have left it); opens (alerts once) or closes each incident; logs one line."""
    as_of = dt.datetime.fromisoformat(as_of.isoformat())  # Airflow's pendulum time as a plain datetime
    lake = Lake.from_uri(settings.lake_uri)
    published = progress.published_mark(lake)
    held = progress.quarantined(lake)
    age = as_of - published if published else None
    stale = age is not None and age > stale_threshold(settings)
    stale_alert = None
    if stale and not held:
        stale_alert = {
            "bfp_task": "watch",
            "run_id": run_id,
            "error": f"the lake is stale: the newest published window ended {published.isoformat()}, "
            f"{age.total_seconds() / 60:.0f} min ago (threshold {stale_threshold(settings).total_seconds() / 60:.0f}"
            " min)",
            "next_step": "runs catch up by themselves once they succeed: find the failing task with "
            f"`python -m pipeline.audit runs` and its alert; {RUNBOOK_STALE}",
        }
    alerts.incident(settings, "stale_lake", stale_alert)
    gaps = last_day_gaps(lake, settings, as_of)
    gap_alert = None
    if gaps:
        first, last = gaps[0], gaps[-1]
        fix = json.dumps({"window_start": first["start"], "window_end": last["end"]})
        gap_alert = {
            "bfp_task": "watch",
            "run_id": run_id,
            "window": {"start": first["start"], "end": last["end"]},
            "error": f"{len(gaps)} window(s) of the last day have no orders manifest: "
            + ", ".join(f"{gap['window']} ({gap['last_status']})" for gap in gaps[:10]),
            "next_step": f"re-extract and merge them in one run: airflow dags trigger orders_pipeline -c '{fix}'; "
            f"{RUNBOOK_STALE}",
        }
    alerts.incident(settings, "gaps", gap_alert)
    return line(
        {
            "bfp_task": "watch",
            "run_id": run_id,
            "as_of": as_of.isoformat(),
            "published_through": published.isoformat() if published else None,
            "age_minutes": round(age.total_seconds() / 60, 1) if age is not None else None,
            "stale": stale,
            "quarantined": [mark.label for mark in held],
            "gaps": [gap["window"] for gap in gaps],
        }
    )


def last_day_gaps(lake: Lake, settings: Settings, as_of: dt.datetime) -> list[dict]:
    """The gap report over the last day of windows the extract should hold by `as_of` (a run's interval end): from
    a day before (or the lake's first window) to the window ending at it."""
    since = progress.extracted_since(lake)
    if since is None:
        return []
    length = settings.window_length
    newest_end = progress.grid_floor(as_of, length)
    first_start = max(progress.grid_floor(as_of - dt.timedelta(days=1), length), since)
    return audit.gap_report(lake, progress.grid_windows(first_start, newest_end, length))


def publication_metrics(settings: Settings, labels: list[str], now: dt.datetime | None = None) -> dict | None:
    """aws: the metrics of one publication (what the stale-lake alarm watches); local: nothing to send."""
    if settings.target != "aws" or not labels:
        return None
    now = now or dt.datetime.now(dt.UTC)
    age = (now - max(label_end(label) for label in labels)).total_seconds()
    return metrics.put(
        settings,
        [
            {"MetricName": "WindowsPublished", "Value": len(labels), "Unit": "Count"},
            {"MetricName": "PublishedWindowAgeSeconds", "Value": age, "Unit": "Seconds"},
        ],
    )
