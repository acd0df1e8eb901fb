"""The transform task's plain functions: runs the Spark refresh job on the local target (the EMR path is in
transform_operator.py) and logs its line; an extract window without orders skips Spark."""

from __future__ import annotations

from pipeline.lake import Lake
from pipeline.settings import Settings
from pipeline.task_log import failure_logged, line
from pipeline.transform import spark_jobs
from pipeline.transform.refresh_summary import written_partitions

TRANSFORM_NEXT_STEP = "see docs/runbook.md#transform; then clear this task"


def transform(
    settings: Settings, run_id: str, job_args: list[str], rows_in: int | None = None, windows: list[str] | None = None
) -> dict:
    """Runs the Spark refresh job (local target); an extract window without orders skips Spark."""
    if rows_in == 0:
        return transform_skipped(run_id, windows or [])
    with failure_logged("transform", run_id, TRANSFORM_NEXT_STEP):
        refresh = spark_jobs.run_refresh(settings, run_id, job_args)
    return transform_succeeded(settings, run_id, job_args, refresh)


def transform_skipped(run_id: str, windows: list[str]) -> dict:
    """An extract window without orders: nothing to merge, Spark is not started (its windows still publish)."""
    return line(
        {
            "bfp_task": "transform",
            "status": "skipped",
            "reason": "no orders in the window",
            "run_id": run_id,
            "windows": windows,
        }
    )


def transform_succeeded(settings: Settings, run_id: str, job_args: list[str], refresh: dict, **extra) -> dict:
    """The transform's line for a finished job (`extra`: e.g. the EMR job run); returns the job's summary."""
    line(
        {
            "bfp_task": "transform",
            "status": "success",
            "run_id": run_id,
            "args": job_args,
            "rows_in": refresh.get("marts", {}).get("rows_in"),
            "rows_out": {
                "order_lines": refresh.get("order_lines", {}).get("rows_out"),
                **refresh.get("marts", {}).get("rows_out", {}),
            },
            "partitions": {table: len(specs) for table, specs in written_partitions(refresh).items()},
            "summary": spark_jobs.summary_path(Lake.from_uri(settings.lake_uri), run_id),
            **extra,
        }
    )
    return refresh
