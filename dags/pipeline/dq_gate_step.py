"""The dq_gate task's plain function: stages the run's partitions (pipeline.staging), validates the raw windows
and the staged copies with the GX suites (pipeline.quality), and logs its line; a failure leaves the staged
copies unregistered."""

from __future__ import annotations

import logging

from pipeline import quality
from pipeline.lake import Lake
from pipeline.settings import Settings
from pipeline.staging import stage
from pipeline.task_log import line


def dq_gate(settings: Settings, run_id: str, windows: list[str], refresh: dict, attempt: int = 1) -> dict:
    """Stages the run's partitions, validates the raw windows and the staged curated partitions and marts;
    raises DataQualityError on a failure (the staged copies are then never registered)."""
    lake = Lake.from_uri(settings.lake_uri)
    stamp, staged, folders = stage(settings, refresh, run_id)
    checks = quality.checks_for_run(lake, windows, refresh, folders)
    try:
        summary = quality.gate(lake, run_id, checks, settings.expectations_dir, attempt)
    except quality.DataQualityError as exc:
        failed = {
            "bfp_task": "dq_gate",
            "verdict": "failed",
            "run_id": run_id,
            "windows": windows,
            "error": str(exc).splitlines()[1:],
            "next_step": "see docs/runbook.md#dq-gate-failed",
        }
        line(failed, logging.ERROR)
        raise
    return line(
        {"bfp_task": "dq_gate", "run_id": run_id, "windows": windows, **summary, "stamp": stamp, "staged": staged}
    )
