"""On-call's search: every task attempt logs one line under `bfp_task`, failures included (a transform whose
Spark job dies, a registration that cannot register), with what to do next."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import types

import pytest
from airflow.sdk.exceptions import AirflowSkipException

from pipeline.publish import register_step, table_registry
from pipeline.transform import spark_jobs, transform_step
from pipeline.wiring import logged_task  # imports Airflow, which configures logging once: before caplog, not during


def task_lines(caplog) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.getMessage().startswith('{"bfp_task"')]


def test_a_transform_whose_spark_job_fails_logs_its_failed_line(settings, caplog):
    broken = dataclasses.replace(settings, spark_submit="/bin/false")  # spark-submit exits 1 at once
    caplog.set_level(logging.INFO, logger="pipeline")
    with pytest.raises(spark_jobs.SparkJobError):
        transform_step.transform(broken, "manual_run_1", ["--windows", "20261127T1000"])
    (line,) = task_lines(caplog)
    assert (line["bfp_task"], line["status"], line["run_id"]) == ("transform", "failed", "manual_run_1")
    assert "SparkJobError" in line["error"] and "runbook" in line["next_step"]


def test_a_registration_that_fails_logs_its_failed_line(settings, caplog):
    caplog.set_level(logging.INFO, logger="pipeline")
    spec = "year=2026/month=11/bucket=0"
    refresh = {"order_lines": {"partitions": [spec], "partitions_removed": []}}  # never written
    with pytest.raises(table_registry.CatalogError, match="no partition year=2026/month=11/bucket=0 in the lake"):
        register_step.register_run(settings, refresh, run_id="manual_run_2")
    (line,) = task_lines(caplog)
    assert (line["bfp_task"], line["status"], line["run_id"]) == ("register", "failed", "manual_run_2")
    assert "register_partitions" in line["next_step"]


def test_on_aws_the_alert_goes_to_sns_through_the_configured_connection(aws_endpoint, monkeypatch):
    import boto3

    from pipeline import alerts

    sns = boto3.client("sns", endpoint_url=aws_endpoint)
    topic = sns.create_topic(Name="bfp-alerts")["TopicArn"]
    queue = boto3.client("sqs", endpoint_url=aws_endpoint)
    queue_url = queue.create_queue(QueueName="on-call")["QueueUrl"]
    queue_arn = queue.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    # the pipeline's AWS connection is not aws_default: the alert must use it too
    monkeypatch.setenv("AIRFLOW_CONN_BFP_AWS", os.environ["AIRFLOW_CONN_AWS_DEFAULT"])
    monkeypatch.delenv("AIRFLOW_CONN_AWS_DEFAULT")
    aws_settings = {
        "BFP_TARGET": "aws",
        "BFP_AWS_CONN_ID": "bfp_aws",
        "BFP_LAKE_URI": "s3://bfp-lake/prod",
        "DATABASE_URL": "postgresql://db.example/bfp",
        "BFP_ALERTS_SNS_TOPIC_ARN": topic,
        "BFP_ATHENA_OUTPUT_URI": "s3://bfp-lake/athena/",
        "BFP_EMR_APPLICATION_ID": "app",
        "BFP_EMR_EXECUTION_ROLE_ARN": "arn:aws:iam::123456789012:role/emr",
        "BFP_SPARK_CODE_URI": "s3://bfp-lake/code/",
    }
    for name, value in aws_settings.items():
        monkeypatch.setenv(name, value)
    ti = types.SimpleNamespace(dag_id="orders_pipeline", task_id="dq_gate", run_id="manual__x", try_number=1)
    alerts.on_task_failure({"ti": ti, "exception": RuntimeError("boom"), "params": {"import_id": None}})

    messages = queue.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"]
    alert = json.loads(json.loads(messages[0]["Body"])["Message"])
    assert (alert["bfp_task"], alert["task_id"], alert["run_id"]) == ("task_failed", "dq_gate", "manual__x")


def test_every_python_task_of_the_dags_logs_a_failed_line_with_its_runbook_section():
    """Each task's callable wears pipeline.wiring.logged_task, under the bfp_task name its step logs (the
    transform is an operator that logs its own), and every task has its section in the runbook."""
    from airflow.dag_processing.dagbag import DagBag

    from tests.conftest import ROOT

    dags = DagBag(dag_folder=str(ROOT / "dags")).dags
    worn = {
        (dag_id, task.task_id): getattr(task.python_callable, "bfp_task", None)
        for dag_id, dag in dags.items()
        for task in dag.tasks
        if hasattr(task, "python_callable")
    }
    assert worn == {
        ("orders_pipeline", "extract_orders_window"): "extract_window",
        ("orders_pipeline", "dq_gate"): "dq_gate",
        ("orders_pipeline", "register_partitions"): "register",
        ("orders_pipeline", "publish"): "publish",
        ("orders_pipeline", "reconcile"): "reconcile",
        ("orders_pipeline", "watch"): "watch",
        ("lake_rebuild", "dq_gate"): "dq_gate",
        ("lake_rebuild", "register_partitions"): "register",
        ("lake_rebuild", "publish"): "publish",
        ("lake_housekeeping", "compact_raw_windows"): "compact_raw_windows",
        ("lake_housekeeping", "sweep_versions"): "sweep_versions",
        ("lake_housekeeping", "reconcile_recent_days"): "reconcile",
        ("bf_report", "render_dashboard"): "bf_report",
    }
    # the section each failed line and each alert (pipeline.alerts) names: docs/runbook.md#<task id>
    runbook = (ROOT / "docs" / "runbook.md").read_text()
    assert {
        t.task_id for dag in dags.values() for t in dag.tasks if f'<a id="{t.task_id}"></a>' not in runbook
    } == set()


def test_a_task_that_fails_logs_one_failed_line_naming_its_section_and_a_skip_logs_none(caplog):
    from pipeline.task_log import failure_logged

    caplog.set_level(logging.INFO, logger="pipeline")

    @logged_task("sweep_versions")
    def sweep_versions(run_id=None):
        raise OSError("the lake is read-only")

    with pytest.raises(OSError):
        sweep_versions(run_id="scheduled__2026-12-07T03:30:00+00:00")
    (line,) = task_lines(caplog)
    assert (line["bfp_task"], line["status"], line["run_id"]) == (
        "sweep_versions", "failed", "scheduled__2026-12-07T03_30_00_00_00"
    )  # fmt: skip
    assert line["error"] == "OSError: the lake is read-only"
    assert line["next_step"] == "see docs/runbook.md#sweep_versions; then clear this task"

    caplog.clear()

    @logged_task("register")
    def register_partitions(run_id=None):
        with failure_logged("register", run_id, "the step's own words"):
            raise ValueError("no partition")

    with pytest.raises(ValueError):
        register_partitions(run_id="r1")
    assert [line["next_step"] for line in task_lines(caplog)] == ["the step's own words"]  # once, the innermost

    caplog.clear()

    @logged_task("watch")
    def watch(run_id=None):
        raise AirflowSkipException("not a scheduled run")

    with pytest.raises(AirflowSkipException):
        watch(run_id="r2")
    assert task_lines(caplog) == []


def test_an_extract_attempt_that_waits_logs_its_own_deferred_line_and_no_failed_one(settings, caplog):
    """A window that has not ended yet is retried, not failed: the step's `deferred` line is the attempt's only
    line (the task's decorator adds none)."""
    import datetime as dt

    from pipeline.extract import extract_step
    from pipeline.extract.watermark import UnsafeWindowError, Window

    end = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(hours=1)  # ends in an hour
    caplog.set_level(logging.INFO, logger="pipeline")

    @logged_task("extract_window")
    def extract_orders_window(run_id=None):
        return extract_step.run(Window(end - dt.timedelta(hours=1), end), settings, run_id=run_id)

    with pytest.raises(UnsafeWindowError):
        extract_orders_window(run_id="scheduled_run_3")
    assert [(line["bfp_task"], line["status"]) for line in task_lines(caplog)] == [("extract_window", "deferred")]
