"""The publish task's plain function: the publication record (the Asset event's extra), kept with the run's
other records."""

from __future__ import annotations

from pipeline import audit, freshness
from pipeline.settings import Settings
from pipeline.task_log import line
from pipeline.transform.refresh_summary import merged_windows, written_partitions


def published_windows_and_rows(refresh: dict, extract: dict | None) -> tuple[list[str], dict]:
    """(the windows a publication makes visible, its rows): a window run's merged windows (else its own) and the
    rows it extracted; lake_rebuild's (no extract) the windows its refresh merged and the curated lines written."""
    if extract is None:
        return refresh["order_lines"].get("windows", []), {"order_lines": refresh["order_lines"]["rows_out"]}
    return merged_windows(refresh) or extract["windows"], extract["rows_out"]


def publication(settings: Settings, run_id: str, windows: list[str], refresh: dict, dq: dict, rows: dict) -> dict:
    """What the Asset event carries: the run, the windows, rows, the partitions now visible, the DQ verdict."""
    return audit.record_run(
        settings,
        "publish",
        run_id,
        line(
            {
                "bfp_task": "publish",
                "run_id": run_id,
                "windows": windows,
                "import": refresh.get("import_purchases", {}).get("import_id"),
                "rows": rows,
                "partitions": written_partitions(refresh),
                "dq_verdict": dq.get("verdict"),
                "dq_results": len(dq.get("results", [])),
                "metrics": freshness.publication_metrics(settings, windows),
            }
        ),
    )
