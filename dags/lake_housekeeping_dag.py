"""DAG lake_housekeeping: daily compaction of raw windows into one file per table and month, the sweep of old
partition versions, and the reconciliation of the last days with PostgreSQL. Wiring only."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, CronDataIntervalTimetable, task

from pipeline.run_ids import file_safe
from pipeline.wiring import DEFAULT_ARGS, LAKE_WRITER, logged_task

DOC = """
### lake_housekeeping

Daily at 03:30 UTC. **compact_raw_windows** absorbs every raw window extracted more than
`BFP_COMPACT_AFTER_HOURS` (48 h) before the run's data interval end into
`raw/compacted/<table>/month=YYYY-MM/` (one Parquet file per table and month, with a `window` column, and
`_index.json` naming the file and every window in it), then deletes those window folders. The raw lake then
holds two days of window folders and one file per month, however old it is.

* **Why**: hourly runs never read old windows (they read their own and the orders' state), but a rebuild
  (`lake_rebuild` with `include_windows`) and S3 pay per file: 17,520 small folders a year otherwise.
* **Safe beside hourly runs**: it runs in the pool `bfp_lake_writer` like every task that reads or writes the
  working folders, and only touches windows written two days ago (a backfill's fresh windows stay folders).
* **Idempotent**: the index is the commit point; a run that died is finished by the next one (clear the task).
* **sweep_versions**: partition versions (`<table>/_v/<stamp>/`) that neither `_current.json` nor
  `_registered.json` names any more (superseded, or written by a run that died or failed its gate) are deleted
  once older than `BFP_PUBLISHED_RETENTION_HOURS` (24 h: a query that began on one finishes first).
* **reconcile_recent_days**: PostgreSQL against the lake, orders and revenue per day over the last
  `BFP_RECONCILE_DAYS` (7); a differing day alerts once, naming it.
* **Record**: `_runs/compact/<run>.json` (`python -m pipeline.audit run <run_id>`), one `bfp_task` log line.
* **Re-run / catch up**: clear the task, or trigger the DAG; each run compacts everything due.
"""

with DAG(
    dag_id="lake_housekeeping",
    doc_md=DOC,
    schedule=CronDataIntervalTimetable("30 3 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["lake", "housekeeping", "compaction"],
    default_args=DEFAULT_ARGS,
) as dag:

    @task(**LAKE_WRITER)
    @logged_task("compact_raw_windows")
    def compact_raw_windows(data_interval_end=None, run_id=None) -> dict:
        """Compact the raw windows due (see pipeline.compaction)."""
        from pipeline import compaction, settings

        return compaction.run(settings.from_env(), file_safe(run_id), data_interval_end)

    @task
    @logged_task("reconcile")
    def reconcile_recent_days(data_interval_end=None, run_id=None) -> dict:
        """PostgreSQL against the lake over the last BFP_RECONCILE_DAYS days (see pipeline.gate.reconcile)."""
        from pipeline import settings
        from pipeline.gate import reconcile

        config = settings.from_env()
        days = reconcile.recent_days(data_interval_end.date(), config.reconcile_days)
        return reconcile.reconcile(config, file_safe(run_id), days, kind="daily")

    @task(**LAKE_WRITER)
    @logged_task("sweep_versions")
    def sweep_versions(run_id=None) -> dict:
        """Remove partition versions no pointer names, once past the retention (see pipeline.staging)."""
        from pipeline import settings, staging

        return staging.sweep(settings.from_env(), file_safe(run_id))

    compact_raw_windows() >> sweep_versions() >> reconcile_recent_days()
