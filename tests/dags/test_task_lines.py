"""On-call's search: every task attempt logs one line under `bfp_task`, failures included (a transform whose
Spark job dies, a registration that cannot register), with what to do next."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import types

import pytest

from pipeline import register_step, spark_jobs, table_registry, transform_step


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
