"""The transform task on aws: an EMR Serverless job run (moto server, the only stand-in allowed) that the task
defers on with the amazon provider's trigger; a retry resumes the run already started, a clear starts a new
one, a killed or failed task cancels it."""

from __future__ import annotations

import asyncio
import json
import logging
import types

import boto3
import pytest
from airflow.providers.amazon.aws.triggers.emr import EmrServerlessStartJobTrigger
from airflow.sdk.exceptions import TaskDeferred

from pipeline.lake import Lake
from pipeline.transform import spark_jobs
from pipeline.transform.transform_operator import RefreshPlan, SparkRefreshOperator, plan_for_rebuild

ROLE = "arn:aws:iam::123456789012:role/bfp-emr"
RUN_ID = "manual__2026-11-27T10:00:00+00:00"
SAFE_RUN_ID = "manual__2026-11-27T10_00_00_00_00"
JOB_ARGS = ["--windows", "20261127T1100", "--as-of", "2026-11-27"]


@pytest.fixture
def emr(aws_endpoint, monkeypatch):
    """An EMR Serverless application on the moto server and the aws target's settings in the environment."""
    client = boto3.client("emr-serverless", endpoint_url=aws_endpoint, region_name="us-east-1")
    app_id = client.create_application(name="bfp", releaseLabel="emr-7.9.0", type="SPARK")["applicationId"]
    for name, value in {
        "BFP_TARGET": "aws",
        "BFP_LAKE_URI": "s3://bfp-lake/prod",
        "DATABASE_URL": "postgresql://db.example/bfp",
        "BFP_ALERTS_SNS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:bfp-alerts",
        "BFP_ATHENA_OUTPUT_URI": "s3://bfp-lake/athena/",
        "BFP_EMR_APPLICATION_ID": app_id,
        "BFP_EMR_EXECUTION_ROLE_ARN": ROLE,
        "BFP_SPARK_CODE_URI": "s3://bfp-code/bfp/",
        "BFP_SPARK_CONF": "spark.emr-serverless.driverEnv.BFP_SPARK_SHUFFLE_PARTITIONS=64",
    }.items():
        monkeypatch.setenv(name, value)
    return types.SimpleNamespace(client=client, app_id=app_id)


def job_runs(emr) -> list[dict]:
    return emr.client.list_job_runs(applicationId=emr.app_id)["jobRuns"]


def set_state(emr, job_run_id: str, state: str) -> None:
    """Moves a job run on: moto's job runs end at once, a real one runs for minutes (the moto server runs in
    this process, its backend is reachable)."""
    from moto.emrserverless.models import emrserverless_backends

    backend = emrserverless_backends["123456789012"]["us-east-1"]
    (run,) = [r for r in backend.job_runs[emr.app_id] if r.id == job_run_id]
    run.state = state


def attempt(try_number: int, max_tries: int = 2) -> dict:
    """The context of one attempt of `transform` (Airflow raises max_tries when the task is cleared)."""
    ti = types.SimpleNamespace(try_number=try_number, max_tries=max_tries)
    return {"run_id": RUN_ID, "ti": ti}


def operator() -> SparkRefreshOperator:
    return SparkRefreshOperator(task_id="transform", plan=lambda context: RefreshPlan(list(JOB_ARGS), rows_in=3))


def deferred(context: dict) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as deferral:
        operator().execute(context)
    return deferral.value


def test_the_task_starts_the_job_run_and_defers_on_the_providers_trigger(emr):
    deferral = deferred(attempt(1))

    (run,) = job_runs(emr)
    assert isinstance(deferral.trigger, EmrServerlessStartJobTrigger)
    assert (deferral.trigger.job_id, deferral.trigger.cancel_on_kill) == (run["id"], True)
    assert deferral.method_name == "execute_complete" and deferral.kwargs["job_run_id"] == run["id"]
    assert run["name"] == f"bfp-refresh-{SAFE_RUN_ID}-g2"
    driver = emr.client.get_job_run(applicationId=emr.app_id, jobRunId=run["id"])["jobRun"]["jobDriver"]
    assert driver["sparkSubmit"]["entryPoint"] == "s3://bfp-code/bfp/jobs/refresh.py"
    assert driver["sparkSubmit"]["sparkSubmitParameters"] == (
        "--py-files s3://bfp-code/bfp/bfp_spark.zip"
        " --conf spark.emr-serverless.driverEnv.BFP_SPARK_SHUFFLE_PARTITIONS=64"
    )
    assert driver["sparkSubmit"]["entryPointArguments"] == [
        "--lake",
        "s3://bfp-lake/prod",
        "--summary-uri",
        f"s3://bfp-lake/prod/_runs/refresh/{SAFE_RUN_ID}.json",
        *("--run-id", SAFE_RUN_ID),
        *JOB_ARGS,
    ]


def test_a_retry_after_a_lost_worker_resumes_the_running_job_instead_of_starting_another(emr):
    first = deferred(attempt(1))
    set_state(emr, first.kwargs["job_run_id"], "RUNNING")

    second = deferred(attempt(2))  # the worker of attempt 1 was lost: Airflow retries the task

    assert second.kwargs["job_run_id"] == first.kwargs["job_run_id"]
    assert len(job_runs(emr)) == 1


def test_a_retry_after_the_job_succeeded_reads_its_summary_and_starts_nothing(emr, caplog):
    first = deferred(attempt(1))  # moto's job run ends at once: SUCCESS
    lake = Lake.from_uri("s3://bfp-lake/prod")
    summary = {"status": "success", "order_lines": {"partitions": ["year=2026/month=11"], "rows_out": 5}}
    lake.write_json(spark_jobs.summary_path(lake, SAFE_RUN_ID), summary)

    with caplog.at_level(logging.INFO, logger="pipeline.tasks"):
        refresh = operator().execute(attempt(2))

    assert refresh == summary and len(job_runs(emr)) == 1
    (line,) = [json.loads(r.getMessage()) for r in caplog.records if '"bfp_task"' in r.getMessage()]
    assert (line["status"], line["emr_job_run"]) == ("success", first.kwargs["job_run_id"])


def test_a_retry_after_the_job_failed_starts_a_new_run_and_a_clear_starts_a_new_one_too(emr):
    first = deferred(attempt(1))
    set_state(emr, first.kwargs["job_run_id"], "FAILED")
    retried = deferred(attempt(2))
    assert retried.kwargs["job_run_id"] != first.kwargs["job_run_id"]

    cleared = deferred(attempt(3, max_tries=4))  # a clear raised max_tries: the data may have changed, run again

    assert cleared.kwargs["job_run_id"] not in (first.kwargs["job_run_id"], retried.kwargs["job_run_id"])
    assert len(job_runs(emr)) == 3


def test_a_killed_task_cancels_its_job_run(emr):
    running = operator()
    with pytest.raises(TaskDeferred) as deferral:
        running.execute(attempt(1))
    job_run_id = deferral.value.kwargs["job_run_id"]
    set_state(emr, job_run_id, "RUNNING")

    asyncio.run(deferral.value.trigger.on_kill())  # killed while deferred: Airflow 3.3's triggerer calls this
    state = emr.client.get_job_run(applicationId=emr.app_id, jobRunId=job_run_id)["jobRun"]["state"]
    assert state == "CANCELLED"

    set_state(emr, job_run_id, "RUNNING")
    running.on_kill()  # killed before it deferred (the same operator that started it)
    state = emr.client.get_job_run(applicationId=emr.app_id, jobRunId=job_run_id)["jobRun"]["state"]
    assert state == "CANCELLED"


def test_a_failed_or_timed_out_wait_cancels_the_job_and_says_where_to_look(emr, caplog):
    job_run_id = deferred(attempt(1)).kwargs["job_run_id"]
    set_state(emr, job_run_id, "RUNNING")

    with caplog.at_level(logging.INFO, logger="pipeline.tasks"), pytest.raises(spark_jobs.SparkJobError) as failure:
        operator().execute_complete(attempt(1), {"status": "failure", "message": "max attempts"}, JOB_ARGS, job_run_id)

    assert emr.client.get_job_run(applicationId=emr.app_id, jobRunId=job_run_id)["jobRun"]["state"] == "CANCELLED"
    assert f"EMR Serverless job run {job_run_id} ended CANCELLED" in str(failure.value)
    assert "clear this task" in str(failure.value)
    (line,) = [json.loads(r.getMessage()) for r in caplog.records if '"bfp_task"' in r.getMessage()]
    assert (line["bfp_task"], line["status"]) == ("transform", "failed")


def test_the_trigger_reports_the_job_runs_end_to_the_task(emr):
    deferral = deferred(attempt(1))  # moto's job run is already SUCCESS

    async def first_event():
        async for event in deferral.trigger.run():
            return event.payload

    assert asyncio.run(first_event())["status"] == "success"


def rebuild_context(**params) -> dict:
    defaults = {"import_id": "demo", "max_bad_share": 0.001, "as_of": "2026-12-01", "purchases_csv": None}
    return {"params": defaults | {"include_windows": True} | params, "logical_date": None}


def test_lake_rebuild_merges_windows_alone_when_no_import_is_named():
    assert plan_for_rebuild(rebuild_context(import_id=None)).job_args == [
        *("--max-bad-share", "0.001", "--as-of", "2026-12-01", "--all-windows"),
    ]
    assert "--import-id" in plan_for_rebuild(rebuild_context()).job_args
    with pytest.raises(ValueError, match="purchases_csv needs an import_id"):
        plan_for_rebuild(rebuild_context(import_id=None, purchases_csv="/data/p.csv"))
