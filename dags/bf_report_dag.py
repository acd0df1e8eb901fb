"""DAG bf_report: renders the Black Friday dashboard after every publication of the lake (data-aware schedule on
the bfp_lake_published Asset). Wiring only."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task

from pipeline.wiring import DEFAULT_ARGS, LAKE_PUBLISHED, LAKE_WRITER, logged_task

DOC = """
### bf_report

Runs whenever `orders_pipeline` or `lake_rebuild` publishes (an event on the Asset `bfp_lake_published`) and
renders the interactive Black Friday dashboard from the registered tables through the canonical queries
(`sql/analytics`) into `BFP_REPORT_DIR/index.html` (local: `data/report/index.html`). The page says the data's
as-of date; a season still running is marked, never shown as finished.

* **By hand**: `make report` does the same outside Airflow; or trigger this DAG
  (`airflow dags trigger bf_report`).
* **Re-run**: clear the task; the page is rewritten from the catalog as it is now.
"""

with DAG(
    dag_id="bf_report",
    doc_md=DOC,
    schedule=[LAKE_PUBLISHED],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["report", "dashboard", "analytics"],
    default_args={**DEFAULT_ARGS, "retries": 2},
) as dag:

    @task(**LAKE_WRITER)  # reads the catalog: not while a registration writes it
    @logged_task("bf_report")
    def render_dashboard(run_id=None, triggering_asset_events=None) -> dict:
        from pipeline import report, settings

        publications = [
            event.extra for events in (triggering_asset_events or {}).values() for event in events if event.extra
        ]
        return report.render_dashboard(settings.from_env(), run_id, publications)

    render_dashboard()
