"""Failure alerts: the DAGs' on_failure_callback. Local target: one log line plus a JSON line appended to an
alerts file. aws target: an SNS message through the amazon provider. Both keep a copy in the lake. Airflow
calls on_failure_callback only when a task has used up its retries, so a retried failure alerts once; a
repeated call for the same task attempt is ignored as well."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

from pipeline import settings as settings_module

log = logging.getLogger("pipeline.alerts")
# task id -> the `bfp_task` of the one structured line the task logs (docs/runbook.md lists them)
LOG_EVENTS = {
    "extract_orders_window": "extract_window",
    "transform": "transform",
    "dq_gate": "dq_gate",
    "register_partitions": "register",
    "publish": "publish",
}


def run_window(context: dict) -> dict | None:
    """The window the run covers, whatever kind of run it is: the manual window_start/window_end params, else
    the data interval; None for a run that covers no window (lake_rebuild)."""
    params = context.get("params") or {}
    start, end = params.get("window_start"), params.get("window_end")
    if start and end:
        return {"start": str(start), "end": str(end), "from": "params"}
    interval_start, interval_end = context.get("data_interval_start"), context.get("data_interval_end")
    if interval_start is not None and interval_end is not None and interval_start != interval_end:
        return {"start": interval_start.isoformat(), "end": interval_end.isoformat(), "from": "data interval"}
    return None


def build_alert(context: dict) -> dict:
    """What on-call needs: which task of which run failed, on which window (or import), why, and where the log
    is."""
    ti = context["ti"]
    params = context.get("params") or {}
    return {
        "bfp_task": "task_failed",
        "dag_id": ti.dag_id,
        "task_id": ti.task_id,
        "run_id": ti.run_id,
        "try_number": ti.try_number,
        "window": run_window(context),
        "import": params.get("import_id"),
        "error": f"{type(context.get('exception')).__name__}: {context.get('exception')}",
        "log_url": getattr(ti, "log_url", None),
        "next_step": f"read the error above and the task's log line ({LOG_EVENTS.get(ti.task_id, ti.task_id)!r} event);"
        f" runbook: docs/runbook.md#{ti.task_id}",
        "raised_at": dt.datetime.now(dt.UTC).isoformat(),
    }


def _dedup_key(alert: dict) -> tuple:
    """What makes two alerts the same alert: the failed task attempt, or an incident's key and opening."""
    if "incident" in alert:
        return ("incident", alert["incident"], alert["opened_at"])
    return (alert.get("dag_id"), alert.get("task_id"), alert.get("run_id"), alert.get("try_number"))


def _already_sent(path: Path, alert: dict) -> bool:
    if not path.exists():
        return False
    key = _dedup_key(alert)
    with path.open() as handle:
        return any(_dedup_key(json.loads(line)) == key for line in handle)


def keep_in_lake(settings, alert: dict) -> None:
    """The alert also stays in the lake beside the run's other records (_alerts/<run>/<name>.json), so
    `python -m pipeline.audit run <run>` tells the whole story. Best effort: the alert itself matters more."""
    from pipeline.lake import Lake
    from pipeline.run_ids import file_safe

    try:
        lake = Lake.from_uri(settings.lake_uri)
        if "incident" in alert:
            name = f"{alert['incident']}.json"
        else:
            name = f"{alert['dag_id']}.{alert['task_id']}.{alert['try_number']}.json"
        lake.write_json(lake.path("_alerts", file_safe(alert.get("run_id") or "none"), name), alert)
    except Exception:  # the lake may be what failed; the alert goes out regardless
        log.exception("could not keep the alert in the lake; it is still sent")


def send(settings, alert: dict) -> None:
    """Raises one alert: an error log line, a copy in the lake, then SNS (aws) or a line in the alerts file
    (local; an alert already in the file is not written again)."""
    log.error(json.dumps(alert, sort_keys=True, default=str))
    keep_in_lake(settings, alert)
    subject = alert.get("incident") or f"{alert.get('dag_id')}.{alert.get('task_id')} failed"
    if settings.target == "aws":
        from airflow.providers.amazon.aws.hooks.sns import SnsHook

        SnsHook(aws_conn_id=settings.aws_conn_id).publish_to_target(  # the connection Athena and EMR use
            target_arn=settings.sns_topic_arn,
            message=json.dumps(alert, sort_keys=True, default=str),
            subject=f"[bfp] {subject}"[:100],
        )
        return
    path = Path(settings.alerts_path)
    if _already_sent(path, alert):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.write(json.dumps(alert, sort_keys=True, default=str) + "\n")


def incident(settings, key: str, alert: dict | None) -> bool:
    """A condition watched run after run (the extract behind, a stale lake, gaps): `alert` given opens the incident
    `key` and sends it once, not again while it stays open; None closes it (the next occurrence alerts anew).
    The open incident is a mark in the lake (_progress/incidents/<key>.json). Returns whether an alert was sent."""
    from pipeline.lake import Lake

    lake = Lake.from_uri(settings.lake_uri)
    path = lake.path("_progress", "incidents", f"{key}.json")
    if alert is None:
        if lake.exists(path):
            lake.fs.delete_file(path)
            log.info(json.dumps({"bfp_task": "incident_closed", "incident": key}))
        return False
    if lake.exists(path):
        return False
    opened = {**alert, "incident": key, "opened_at": dt.datetime.now(dt.UTC).isoformat()}
    lake.write_json(path, opened)
    send(settings, opened)
    return True


def on_task_failure(context: dict) -> None:
    """on_failure_callback: raise one alert for the failed task attempt."""
    send(settings_module.from_env(), build_alert(context))
