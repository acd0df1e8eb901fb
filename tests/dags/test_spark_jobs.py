"""Submitting the Spark refresh job: locally with spark-submit (a real failure, quoted for on-call), and on aws
as an EMR Serverless job run (moto server: the request as EMR received it)."""

from __future__ import annotations

from dataclasses import replace

import boto3
import pytest

from pipeline import spark_jobs
from pipeline.lake import Lake


def test_a_failing_local_job_is_reported_with_its_own_words(settings):
    with pytest.raises(spark_jobs.SparkJobError) as failure:
        spark_jobs.run_refresh(settings, "no-such-window", ["--windows", "20260101T0000"])
    message = str(failure.value)
    assert "spark-submit refresh.py exited 1" in message
    assert "windows without a manifest" in message and "20260101T0000" in message
    assert "clear this task" in message
    summary = Lake.from_uri(settings.lake_uri).read_json(
        Lake.from_uri(settings.lake_uri).path("_runs", "refresh", "no-such-window.json")
    )
    assert summary["status"] == "failed" and "ValueError" in summary["error"]


def test_on_aws_the_job_runs_on_emr_serverless_and_its_summary_is_read_from_s3(aws_endpoint, settings):
    emr = boto3.client("emr-serverless", endpoint_url=aws_endpoint, region_name="us-east-1")
    app_id = emr.create_application(name="bfp", releaseLabel="emr-7.9.0", type="SPARK")["applicationId"]
    on_aws = replace(
        settings,
        target="aws",
        lake_uri="s3://bfp-lake/prod",
        emr_application_id=app_id,
        emr_execution_role_arn="arn:aws:iam::123456789012:role/bfp-emr",
        spark_code_uri="s3://bfp-code/bfp/",
        aws_conn_id="aws_default",
    )
    lake = Lake.from_uri(on_aws.lake_uri)
    # what refresh.py writes at its end on EMR (moto runs no Spark)
    lake.write_json(spark_jobs.summary_path(lake, "run-1"), {"status": "success", "order_lines": {"partitions": []}})

    summary = spark_jobs.run_refresh(on_aws, "run-1", ["--windows", "20261124T1800"])

    assert summary["status"] == "success"
    (run,) = emr.list_job_runs(applicationId=app_id)["jobRuns"]
    driver = emr.get_job_run(applicationId=app_id, jobRunId=run["id"])["jobRun"]["jobDriver"]["sparkSubmit"]
    assert driver["entryPoint"] == "s3://bfp-code/bfp/jobs/refresh.py"
    assert driver["sparkSubmitParameters"] == "--py-files s3://bfp-code/bfp/bfp_spark.zip"
    assert driver["entryPointArguments"] == [
        "--lake",
        "s3://bfp-lake/prod",
        "--summary-uri",
        "s3://bfp-lake/prod/_runs/refresh/run-1.json",
        "--windows",
        "20261124T1800",
    ]
