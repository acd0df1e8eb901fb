"""The steps after the extract, as plain functions the DAG tasks call: Spark transform -> DQ gate -> partition
registration -> the publication record (the Asset event's extra). Each logs one structured JSON line."""

from __future__ import annotations

import json
import logging

from pipeline import catalog, quality, spark_jobs
from pipeline.lake import Lake
from pipeline.settings import Settings

log = logging.getLogger("pipeline.publish")
CURATED_TABLE = "curated.order_lines"


def _log(event: dict) -> dict:
    log.info(json.dumps(event, default=str, sort_keys=True))
    return event


def written_partitions(refresh: dict) -> dict[str, list[str]]:
    """Table -> partitions a refresh run wrote (what registration adds)."""
    tables = {}
    if "order_lines" in refresh:
        tables[CURATED_TABLE] = refresh["order_lines"]["partitions"]
    tables.update(refresh.get("marts", {}).get("partitions", {}))  # keyed by table: marts.daily_sales, ...
    return tables


def removed_partitions(refresh: dict) -> dict[str, list[str]]:
    """Table -> partitions every row moved out of (what registration drops)."""
    removed = refresh.get("order_lines", {}).get("partitions_removed", [])
    tables = {CURATED_TABLE: removed} if removed else {}
    tables.update(refresh.get("marts", {}).get("partitions_removed", {}))  # season marts a new as-of date shrank
    return tables


def transform(settings: Settings, run_id: str, job_args: list[str], rows_in: int | None = None) -> dict:
    """Runs the Spark refresh job; an extract window without orders skips Spark (nothing to merge)."""
    if rows_in == 0:
        return _log({"event": "transform", "status": "skipped", "reason": "no orders in the window", "run_id": run_id})
    refresh = spark_jobs.run_refresh(settings, run_id, job_args)
    _log(
        {
            "event": "transform",
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
        }
    )
    return refresh


def dq_gate(settings: Settings, run_id: str, windows: list[str], refresh: dict, attempt: int = 1) -> dict:
    """Validates the run's raw windows, curated partitions and marts; raises DataQualityError on a failure."""
    lake = Lake.from_uri(settings.lake_uri)
    checks = quality.checks_for_run(lake, windows, refresh)
    try:
        summary = quality.gate(lake, run_id, checks, settings.expectations_dir, attempt)
    except quality.DataQualityError as exc:
        log.error(
            json.dumps(
                {
                    "event": "dq_gate",
                    "verdict": "failed",
                    "run_id": run_id,
                    "windows": windows,
                    "error": str(exc).splitlines()[1:],
                    "next_step": "see docs/runbook.md#dq-gate-failed",
                }
            )
        )
        raise
    return _log({"event": "dq_gate", "run_id": run_id, "windows": windows, **summary})


def make_catalog(settings: Settings):
    tables = catalog.load_table_defs(settings.athena_ddl_dir)
    views = catalog.load_view_defs(settings.athena_ddl_dir)
    if settings.target == "aws":
        return catalog.AthenaCatalog(
            tables,
            settings.lake_uri,
            settings.athena_output_uri,
            settings.athena_workgroup,
            settings.aws_conn_id,
            views,
        )
    return catalog.LocalCatalog(tables, settings.lake_uri, settings.catalog_path, views)


def register(settings: Settings, refresh: dict, full_repair: bool = False) -> dict:
    """Registers exactly the partitions the run wrote (and drops the emptied ones); with full_repair, every
    table is repaired from the lake instead (MSCK REPAIR TABLE on Athena)."""
    target = make_catalog(settings)
    written, removed = written_partitions(refresh), removed_partitions(refresh)
    if full_repair:
        for table in target.tables:
            target.repair(table)
    else:
        for table in sorted(set(written) | set(removed)):
            target.register(table, written.get(table, []), removed.get(table, []))
    target.ensure_views()
    return _log(
        {
            "event": "register",
            "target": settings.target,
            "mode": "full_repair" if full_repair else "partitions",
            "registered": written,
            "dropped": removed,
            "catalog": settings.catalog_path if settings.target == "local" else "athena",
        }
    )


def publication(windows: list[str], refresh: dict, dq: dict, rows: dict) -> dict:
    """What the Asset event carries: the windows, rows, the partitions now visible, the DQ verdict."""
    return _log(
        {
            "event": "publish",
            "windows": windows,
            "import": refresh.get("import_purchases", {}).get("import_id"),
            "rows": rows,
            "partitions": written_partitions(refresh),
            "dq_verdict": dq.get("verdict"),
            "dq_results": len(dq.get("results", [])),
        }
    )
