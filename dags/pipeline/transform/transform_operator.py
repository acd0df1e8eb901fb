"""The `transform` task of both DAGs: the Spark refresh job for the run.

local target: spark-submit runs to its end inside the task (pipeline.transform.spark_jobs.run_refresh).
aws target: the task starts the run's EMR Serverless job run, or resumes the one an earlier attempt of the same
clear started (found by its name), and defers on the amazon provider's EmrServerlessStartJobTrigger: no worker
slot waits on the job, a retry after a lost worker never starts a second run writing the same partitions, and a
killed task cancels the job run (the trigger's on_kill; before deferring, this operator's). The bfp_lake_writer
pool counts deferred tasks (pipeline.airflow_setup), so the lake keeps one writer while the job runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowSkipException

from pipeline.run_ids import as_of_date, file_safe

# how often the trigger polls the job run, and for how long (EMR jobs of this pipeline take minutes)
WAITER_DELAY_SECONDS = 30
WAITER_MAX_ATTEMPTS = 480  # 4 hours


@dataclass(frozen=True)
class RefreshPlan:
    job_args: list[str]  # refresh.py's arguments for this run (--windows ... or --import-id ...)
    rows_in: int | None = None  # orders in the extracted window: 0 skips Spark
    windows: tuple[str, ...] = ()  # the windows the run merges (published together)


def plan_for_window(context: dict) -> RefreshPlan:
    """orders_pipeline: merge the run's extracted windows and every earlier window still pending publication (a
    run that failed after its extract), in one job; the season marts are as of the newest window's end. Holds
    (fails at once, one alert) while a window it does not extract itself is quarantined."""
    from airflow.sdk.exceptions import AirflowFailException

    from pipeline import progress, settings
    from pipeline.extract.watermark import label_end
    from pipeline.lake import Lake

    if context["params"]["dry_run"]:
        raise AirflowSkipException("dry run: nothing was extracted")
    extract = context["ti"].xcom_pull(task_ids="extract_orders_window")
    own = list(extract["windows"])
    lake = Lake.from_uri(settings.from_env().lake_uri)
    try:
        progress.hold_if_quarantined(lake, own)
    except progress.WindowQuarantinedError as exc:
        raise AirflowFailException(str(exc)) from exc  # retrying changes nothing until someone repairs it
    windows = sorted(set(own) | set(progress.pending_labels(lake)), key=label_end)
    args = ["--windows", ",".join(windows), "--as-of", as_of_date(label_end(windows[-1]))]
    rows_in = extract["rows_out"]["orders"] if set(windows) == set(own) else None
    return RefreshPlan(args, rows_in=rows_in, windows=tuple(windows))


def plan_for_rebuild(context: dict) -> RefreshPlan:
    """lake_rebuild: import a purchases file and/or re-merge every complete window, as of the `as_of` param. Holds
    while a window is quarantined (a rebuild would merge it: repair it first)."""
    from airflow.sdk.exceptions import AirflowFailException

    from pipeline import progress, settings
    from pipeline.lake import Lake

    params = context["params"]
    if params["include_windows"]:
        try:
            progress.hold_if_quarantined(Lake.from_uri(settings.from_env().lake_uri), [])
        except progress.WindowQuarantinedError as exc:
            raise AirflowFailException(str(exc)) from exc
    as_of = as_of_date(params["as_of"] or context.get("logical_date") or context["dag_run"].run_after)
    if params["purchases_csv"] and not params["import_id"]:
        raise ValueError("params: purchases_csv needs an import_id (the name its rows are kept under)")
    args = ["--max-bad-share", str(params["max_bad_share"]), "--as-of", as_of]
    args += ["--import-id", params["import_id"]] if params["import_id"] else []  # null: OLTP windows only
    args += ["--purchases-csv", params["purchases_csv"]] if params["purchases_csv"] else []
    args += ["--all-windows"] if params["include_windows"] else []
    return RefreshPlan(args)


class SparkRefreshOperator(BaseOperator):
    """Runs spark/jobs/refresh.py for the run as `plan(context)` describes; returns the job's summary."""

    def __init__(self, *, plan: Callable[[dict], RefreshPlan], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.plan = plan
        self.job_run_id: str | None = None

    def execute(self, context: Any) -> dict:
        from pipeline import settings, task_log
        from pipeline.transform import spark_jobs, transform_step

        run_id = file_safe(context["run_id"])
        plan = self.plan(context)
        config = settings.from_env()
        if config.target != "aws" or plan.rows_in == 0:
            return transform_step.transform(config, run_id, plan.job_args, plan.rows_in, list(plan.windows))
        ti = context["ti"]
        with task_log.failure_logged("transform", run_id, transform_step.TRANSFORM_NEXT_STEP):
            job = spark_jobs.start_or_resume_emr(
                config,
                spark_jobs.job_arguments(config, run_id, plan.job_args),
                name=spark_jobs.emr_job_name(run_id, ti.max_tries),
                attempt=ti.try_number,
            )
        self.job_run_id = job.job_run_id
        if job.state == "SUCCESS":  # finished while the worker that started it was lost
            return self.execute_complete(context, {"status": "success"}, plan.job_args, job.job_run_id)
        from airflow.providers.amazon.aws.triggers.emr import EmrServerlessStartJobTrigger

        self.defer(
            trigger=EmrServerlessStartJobTrigger(
                application_id=config.emr_application_id,
                job_id=job.job_run_id,
                waiter_delay=WAITER_DELAY_SECONDS,
                waiter_max_attempts=WAITER_MAX_ATTEMPTS,
                aws_conn_id=config.aws_conn_id,
                cancel_on_kill=True,
            ),
            method_name="execute_complete",
            kwargs={"job_args": plan.job_args, "job_run_id": job.job_run_id},
            timeout=dt.timedelta(seconds=WAITER_DELAY_SECONDS * WAITER_MAX_ATTEMPTS),
        )

    def execute_complete(
        self, context: Any, event: dict | None = None, job_args: list[str] | None = None, job_run_id: str = ""
    ) -> dict:
        from pipeline import settings, task_log
        from pipeline.transform import spark_jobs, transform_step

        run_id = file_safe(context["run_id"])
        config = settings.from_env()
        with task_log.failure_logged("transform", run_id, transform_step.TRANSFORM_NEXT_STEP):
            if not event or event.get("status") != "success":
                spark_jobs.cancel_emr(config, job_run_id)  # a timed-out wait leaves no job behind
                raise spark_jobs.emr_failure(config, job_run_id)
            summary = spark_jobs.read_summary(config, run_id)
        return transform_step.transform_succeeded(config, run_id, job_args or [], summary, emr_job_run=job_run_id)

    def on_kill(self) -> None:
        if self.job_run_id:
            from pipeline import settings
            from pipeline.transform import spark_jobs

            spark_jobs.cancel_emr(settings.from_env(), self.job_run_id)
