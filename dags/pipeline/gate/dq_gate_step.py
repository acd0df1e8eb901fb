"""The dq_gate task's plain function: validates the raw windows and the partition versions the run's Spark job
wrote (pipeline.staging) with the GX suites (pipeline.gate.quality), and logs its line; a failure leaves those versions
unregistered and quarantines the windows it blames (pipeline.progress): later runs hold until a re-run of them
passes."""

from __future__ import annotations

import logging
import re

from pipeline import metrics, progress
from pipeline.gate import quality
from pipeline.lake import Lake
from pipeline.settings import Settings
from pipeline.staging import versions_of_run
from pipeline.task_log import line, logged
from pipeline.transform.refresh_summary import merged_windows


def windows_to_check(refresh: dict, extract: dict | None) -> tuple[list[str], list[str] | None]:
    """(the raw windows the gate checks, those the run extracted itself). A window run (`extract` given) checks
    every window its refresh merged, its own or earlier ones still pending; lake_rebuild (none) checks the curated
    and mart versions it wrote, not each of the windows it re-merges."""
    if extract is None:
        return [], None
    own = extract["windows"]
    return merged_windows(refresh) or own, own


def blamed_windows(failed_targets: list[str], own: list[str]) -> list[str]:
    """The windows a failed gate quarantines: those a failed raw-window check names; when only curated or mart
    checks failed, the run's own windows (what it extracted: a re-run of it is the repair)."""
    named = sorted({m.group(1) for t in failed_targets for m in [re.search(r"window=(\w+)", t)] if m})
    return named or own


def dq_gate(
    settings: Settings, run_id: str, windows: list[str], refresh: dict, attempt: int = 1, own: list[str] | None = None
) -> dict:
    """Validates the raw windows and the curated and mart versions the run wrote; raises DataQualityError on a
    failure (those versions are then never registered, the blamed windows are quarantined). `windows`: every
    window the run merged; `own`: those it extracted itself."""
    lake = Lake.from_uri(settings.lake_uri)
    stamp, staged, folders = versions_of_run(settings, refresh)
    checks = quality.checks_for_run(lake, windows, refresh, folders)
    try:
        summary = quality.gate(lake, run_id, checks, settings.expectations_dir, attempt)
    except quality.DataQualityError as exc:
        quarantined = blamed_windows(exc.failed_targets, own if own is not None else windows)
        first_failure = (str(exc).splitlines()[1:] or [str(exc)])[0].strip()
        progress.quarantine(lake, quarantined, run_id, first_failure)
        failed = {
            "bfp_task": "dq_gate",
            "verdict": "failed",
            "run_id": run_id,
            "windows": windows,
            "error": str(exc).splitlines()[1:],
            "quarantined": quarantined,
            "metrics": metrics.gate_verdict(settings, failed=True),
            "next_step": f"see {progress.RUNBOOK_QUARANTINE}: later runs hold until these windows are repaired",
        }
        line(failed, logging.ERROR)
        logged(exc)  # told in this line: the task's decorator adds no second one
        raise
    return line(
        {
            "bfp_task": "dq_gate",
            "run_id": run_id,
            "windows": windows,
            **summary,
            "stamp": stamp,
            "staged": staged,
            "metrics": metrics.gate_verdict(settings, failed=False),
        }
    )
