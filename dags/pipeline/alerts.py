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


def _already_sent(path: Path, alert: dict) -> bool:
    if not path.exists():
        return False
    key = (alert["dag_id"], alert["task_id"], alert["run_id"], alert["try_number"])
    with path.open() as handle:
        for line in handle:
            sent = json.loads(line)
            if (sent["dag_id"], sent["task_id"], sent["run_id"], sent["try_number"]) == key:
                return True
    return False


def keep_in_lake(settings, alert: dict) -> None:
    """The alert also stays in the lake beside the run's other records (_alerts/<run>/<dag>.<task>.<try>.json),
    so `python -m pipeline.audit run <run>` tells the whole story. Best effort: the alert itself matters more."""
    from pipeline.lake import Lake
    from pipeline.run_ids import file_safe

    try:
        lake = Lake.from_uri(settings.lake_uri)
        name = f"{alert['dag_id']}.{alert['task_id']}.{alert['try_number']}.json"
        lake.write_json(lake.path("_alerts", file_safe(alert["run_id"]), name), alert)
    except Exception:  # the lake may be what failed; the alert goes out regardless
        log.exception("could not keep the alert in the lake; it is still sent")


def on_task_failure(context: dict) -> None:
    """on_failure_callback: raise one alert for the failed task attempt."""
    settings = settings_module.from_env()
    alert = build_alert(context)
    log.error(json.dumps(alert, sort_keys=True))
    keep_in_lake(settings, alert)
    if settings.target == "aws":
        from airflow.providers.amazon.aws.hooks.sns import SnsHook

        SnsHook(aws_conn_id=settings.aws_conn_id).publish_to_target(  # the connection Athena and EMR use
            target_arn=settings.sns_topic_arn,
            message=json.dumps(alert, sort_keys=True),
            subject=f"[bfp] {alert['dag_id']}.{alert['task_id']} failed"[:100],
        )
        return
    path = Path(settings.alerts_path)
    if _already_sent(path, alert):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.write(json.dumps(alert, sort_keys=True) + "\n")
