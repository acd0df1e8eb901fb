"""DAG orders_pipeline: hourly watermark windows of changed orders, PostgreSQL -> raw lake -> Spark (curated
order_lines + marts) -> GX gate -> partition registration -> Asset event. Wiring only."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, CronDataIntervalTimetable, Param, TriggerRule, task

from pipeline.publish.publish_chain import publish_chain
from pipeline.run_ids import file_safe
from pipeline.transform.transform_operator import SparkRefreshOperator, plan_for_window
from pipeline.wiring import DEFAULT_ARGS, LAKE_WRITER, logged_task, window_cron

DOC = """
### orders_pipeline

Every window (`BFP_WINDOW_MINUTES`, hourly by default), for the window that just ended — the run's data interval
`[data_interval_start, data_interval_end)`:

1. **extract_orders_window**: changed orders and their lines, PostgreSQL -> `raw/orders/window=<end>/` and
   `raw/order_items/window=<end>/` (Parquet + `_manifest.json`, written last). A scheduled run extracts every
   window from the lake's extracted mark to its own interval's end (after an outage, a paused DAG or an
   overrunning run the scheduler skips intervals; the extract does not), at most `BFP_CATCH_UP_WINDOWS` per run
   (one alert beyond that; the next run goes on). A manual range longer than one window is extracted as the
   schedule's windows, one after another.
2. **transform**: Spark `refresh.py --windows <label>[,<label>…]` over the run's windows and any earlier window
   still pending publication; it holds (one alert, no retry) while a window it does not extract itself is
   quarantined. Latest-wins merge through the orders' state
   into `curated/order_lines` (it reads the run's windows, the state buckets of their orders and the curated
   months they leave or enter, never the lake's other windows), then the marts of the touched months and the
   season marts as of the last window end's date (`--as-of`). Skipped when no orders. On aws an EMR Serverless
   job run the task defers on (a retry resumes it; a killed task cancels it).
3. **dq_gate**: GX suites on each raw window, the curated partitions and marts written, and the
   reconciliations (each window order where the orders' state says it is; curated revenue = daily_sales
   revenue, by rebuilt month). Results in
   `_dq/<suite>/<run>/<attempt>.json` (a re-run keeps a failed attempt's).
   A failure stops the run here: nothing is registered or published, one alert names the failed expectations,
   and the windows it blames are quarantined until a re-run of them passes (docs/runbook.md).
4. **register_partitions**: exactly the partitions written (`ALTER TABLE … ADD IF NOT EXISTS PARTITION` on
   Athena; the DuckDB catalog locally). Until then they are invisible to analysts.
5. **publish**: an event on the Asset `bfp_lake_published`; its extra carries window, rows and partitions
   (aws: the CloudWatch metrics the stale-lake alarm watches).
6. **reconcile**: orders and revenue per day the run touched, PostgreSQL against curated; a differing day
   alerts once, naming it (`python -m pipeline.audit reconciliations`).
7. **watch** (whatever the run's outcome): the newest published window older than `BFP_FRESHNESS_WINDOWS`
   windows, or a window of the last day missing, alerts once per incident, naming the command that fixes it.

* **Schedule**: `CronDataIntervalTimetable("0 * * * *", UTC)` when hourly (a cron string would give zero-width
  windows); `*/15 * * * *` with `BFP_WINDOW_MINUTES=15`.
  Catchup is off: a new deployment starts with the current hour. `max_active_runs=1`.
* **Safety**: a window is extracted only when it ended at least `BFP_EXTRACT_LAG_SECONDS` ago and no
  transaction that began before its end is still open. Otherwise the task fails and retries every minute
  (30 times, then one alert); the window is never shrunk or skipped.
* **One writer**: the extract, transform, DQ gate and registration run in the pool `bfp_lake_writer` (one slot),
  so a manual run, a backfill, `lake_rebuild` and `lake_housekeeping` queue instead of using the lake at once.
* **Re-run a window**: clear the run's tasks; the window folder and the partitions are replaced exactly.
* **Manual window**: trigger with params `window_start`/`window_end` (ISO-8601 with zone); `dry_run` counts
  without writing (later steps are skipped). Params that name no window (one bound, no zone, off the grid) fail
  the run at once, saying why; nothing is extracted.
* **Catch up / backfill in one run**: trigger with `window_start`/`window_end` spanning many windows (on the
  window grid): each window is extracted, one Spark job merges them all, the gate checks each. Or
  `airflow backfill create --dag-id orders_pipeline --from-date 2026-11-01 --to-date 2026-11-02
  --max-active-runs 1` (one run per window). Re-running windows gives the same rows.
* **Audit / gaps**: `python -m pipeline.audit runs`, `python -m pipeline.audit gaps --from ... --to ...`.
* **On failure**: one alert after the last retry (local: `BFP_ALERTS_PATH`; aws: SNS). Runbook: docs/runbook.md.
"""

with DAG(
    dag_id="orders_pipeline",
    doc_md=DOC,
    schedule=CronDataIntervalTimetable(window_cron(), timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),  # the earliest window a backfill can reach
    catchup=False,
    max_active_runs=1,
    tags=["extract", "orders", "lake", "spark", "dq", "publish"],
    default_args=DEFAULT_ARGS,
    params={
        "window_start": Param(
            None, type=["null", "string"], format="date-time", description="manual window start (with both)"
        ),
        "window_end": Param(
            None, type=["null", "string"], format="date-time", description="manual window end (with both)"
        ),
        "dry_run": Param(False, type="boolean", description="count what would be extracted, write nothing"),
    },
) as dag:

    @task(retries=30, **LAKE_WRITER)  # an unsafe window is retried every minute for half an hour, then alerts
    @logged_task("extract_window")
    def extract_orders_window(params=None, data_interval_start=None, data_interval_end=None, run_id=None, ti=None):
        """Extract from the lake's extracted mark to the interval's end, or a manual range
        (pipeline.extract.extract_step)."""
        from airflow.sdk.exceptions import AirflowFailException

        from pipeline import settings
        from pipeline.extract import extract_step
        from pipeline.extract.watermark import BlindExtractRoleError

        interval = (data_interval_start, data_interval_end)
        try:
            return extract_step.run_for_dag_run(
                settings.from_env(), *interval, params, file_safe(run_id), ti.try_number
            )
        except (BlindExtractRoleError, extract_step.ParamsError) as exc:
            raise AirflowFailException(str(exc)) from exc  # a grant or a corrected trigger fixes it, not a retry

    transform = SparkRefreshOperator(task_id="transform", plan=plan_for_window, retries=2, **LAKE_WRITER)

    @task
    @logged_task("reconcile")
    def reconcile(refresh: dict, registered: dict, run_id=None) -> dict:
        from pipeline import settings
        from pipeline.gate import reconcile

        return reconcile.reconcile(settings.from_env(), file_safe(run_id), reconcile.run_days(refresh))

    # After registration, whatever its outcome (a failed or held run is when it matters); a leaf beside publish and
    # reconcile, so a failed run still ends failed (Airflow judges a run by its leaves).
    @task(trigger_rule=TriggerRule.ALL_DONE)
    @logged_task("watch")
    def watch(params=None, data_interval_end=None, dag_run=None, run_id=None) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from pipeline import freshness, settings

        skip = freshness.not_watched(params, dag_run.run_type, data_interval_end)
        if skip:
            raise AirflowSkipException(skip)
        return freshness.watch(settings.from_env(), file_safe(run_id), data_interval_end)

    extracted = extract_orders_window()
    extracted >> transform
    refreshed = transform.output
    registered = publish_chain(refreshed, extracted).registered
    reconcile(refreshed, registered)
    registered >> watch()
