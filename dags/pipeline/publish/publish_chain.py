"""The chain every DAG that rewrites curated tables ends with, written once: the DQ gate, then partition
registration, then publication (an event on LAKE_PUBLISHED). orders_pipeline passes its extract (the windows and
rows it extracted itself); lake_rebuild passes none. Wiring only: the tasks call pipeline.gate.dq_gate_step,
pipeline.publish.register_step and pipeline.publish.publish_step."""

from __future__ import annotations

from typing import NamedTuple

from airflow.sdk import TaskGroup, task

from pipeline.run_ids import file_safe
from pipeline.wiring import LAKE_PUBLISHED, LAKE_WRITER, NO_RETRIES, logged_task


class Published(NamedTuple):
    checked: object  # the gate's XComArg
    registered: object
    published: object


def publish_chain(refreshed, extracted=None) -> Published:
    """dq_gate -> register_partitions -> publish after `refreshed` (the transform's output); task ids without a
    group prefix (the runbook's `airflow tasks clear -t dq_gate` names them so)."""
    with TaskGroup("publish_chain", prefix_group_id=False, tooltip="gate, register, publish"):

        @task(**NO_RETRIES, **LAKE_WRITER)  # it copies the working folders a transform rewrites: one at a time
        @logged_task("dq_gate")
        def dq_gate(refresh: dict, extract: dict | None = None, run_id=None, ti=None) -> dict:
            from pipeline import settings
            from pipeline.gate import dq_gate_step

            windows, own = dq_gate_step.windows_to_check(refresh, extract)
            return dq_gate_step.dq_gate(settings.from_env(), file_safe(run_id), windows, refresh, ti.try_number, own)

        @task(**LAKE_WRITER)
        @logged_task("register")
        def register_partitions(refresh: dict, dq: dict, params=None, run_id=None) -> dict:
            from pipeline import settings
            from pipeline.publish import register_step

            repair = bool((params or {}).get("full_repair", False))  # lake_rebuild's param
            config = settings.from_env()
            return register_step.register_run(config, refresh, full_repair=repair, run_id=file_safe(run_id), dq=dq)

        @task(outlets=[LAKE_PUBLISHED])
        @logged_task("publish")
        def publish(
            refresh: dict, dq: dict, registered: dict, extract: dict | None = None, outlet_events=None, run_id=None
        ) -> dict:
            from pipeline import settings
            from pipeline.publish import publish_step

            windows, rows = publish_step.published_windows_and_rows(refresh, extract)
            extra = publish_step.publication(settings.from_env(), file_safe(run_id), windows, refresh, dq, rows)
            outlet_events[LAKE_PUBLISHED].extra = extra
            return extra

        checked = dq_gate(refreshed, extracted)
        registered = register_partitions(refreshed, checked)
        published = publish(refreshed, checked, registered, extracted)
    return Published(checked, registered, published)
