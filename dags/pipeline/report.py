"""The bf_report step: renders the Black Friday dashboard (analytics.dashboard) from the analysts' catalog after
a publication, and logs one structured line saying what it rendered and for which publication."""

from __future__ import annotations

import json
import logging

from pipeline.settings import Settings

log = logging.getLogger("pipeline.report")


def render_dashboard(settings: Settings, run_id: str, publications: list[dict]) -> dict:
    """Renders data/report/index.html (BFP_REPORT_DIR) from the local DuckDB catalog; returns the log record."""
    if settings.target != "local":
        # The dashboard queries the DuckDB catalog; the aws target's analysts use Athena with the same SQL.
        record = {
            "bfp_task": "bf_report",
            "status": "skipped",
            "run_id": run_id,
            "reason": "aws target: no DuckDB catalog",
        }
        log.warning(json.dumps(record))
        return record
    from analytics import dashboard
    from pipeline.task_log import failure_logged

    with failure_logged("bf_report", run_id, "see docs/runbook.md#bf_report; the previous page stays in place"):
        path = dashboard.render(settings.catalog_path, settings.report_dir)
    record = {
        "bfp_task": "bf_report",
        "status": "success",
        "run_id": run_id,
        "path": str(path),
        "publications": publications,
    }
    log.info(json.dumps(record, default=str))
    return record
