"""What the aws target adds around the tasks: the extract's IAM login (no password), the gate's and the
publication's CloudWatch metrics (what the stack's alarms watch, here on moto), and MWAA's startup script
turning the environment's `bfp.*` options into the settings the tasks read."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from pipeline import freshness, metrics
from pipeline import settings as pipeline_settings
from pipeline.extract import source_db
from tests.conftest import ROOT

AWS_SETTINGS = {
    "BFP_TARGET": "aws",
    "BFP_LAKE_URI": "s3://bfp-lake/lake",
    "DATABASE_URL": "postgresql://bfp_extract@bfp.abc.us-east-1.rds.amazonaws.com:5432/bfp?sslmode=require",
    "BFP_DATABASE_IAM_AUTH": "on",
    "BFP_ALERTS_SNS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:bfp-alerts",
    "BFP_ATHENA_OUTPUT_URI": "s3://bfp-results/athena/",
    "BFP_EMR_APPLICATION_ID": "00abc",
    "BFP_EMR_EXECUTION_ROLE_ARN": "arn:aws:iam::123456789012:role/job",
    "BFP_SPARK_CODE_URI": "s3://airflow-bfp/bfp/",
}


def test_the_extract_signs_in_with_an_iam_token_for_its_own_user(aws_endpoint):
    settings = pipeline_settings.from_env(AWS_SETTINGS)
    assert settings.database_iam_auth
    token = source_db.iam_token(settings)
    signed = urlsplit("https://" + token)
    query = parse_qs(signed.query)
    assert signed.hostname == "bfp.abc.us-east-1.rds.amazonaws.com" and signed.port == 5432
    assert query["Action"] == ["connect"] and query["DBUser"] == ["bfp_extract"]
    assert "X-Amz-Signature" in query  # signed, and nothing of a password in DATABASE_URL


def test_iam_login_needs_a_user_in_the_url(aws_endpoint):
    settings = pipeline_settings.from_env(AWS_SETTINGS | {"DATABASE_URL": "postgresql://db.example/bfp"})
    with pytest.raises(ValueError, match="needs DATABASE_URL with a user"):
        source_db.iam_token(settings)


def test_the_iam_switch_takes_on_or_off_only():
    assert not pipeline_settings.from_env({}).database_iam_auth
    with pytest.raises(pipeline_settings.SettingsError, match="BFP_DATABASE_IAM_AUTH must be on or off"):
        pipeline_settings.from_env({"BFP_DATABASE_IAM_AUTH": "yes"})


def metric_values(endpoint: str, name: str) -> list[float]:
    cloudwatch = boto3.client("cloudwatch", endpoint_url=endpoint, region_name="us-east-1")
    now = dt.datetime.now(dt.UTC)
    data = cloudwatch.get_metric_data(
        MetricDataQueries=[{"Id": "m", "MetricStat": {
            "Metric": {"Namespace": metrics.METRIC_NAMESPACE, "MetricName": name}, "Period": 60, "Stat": "Sum"}}],
        StartTime=now - dt.timedelta(hours=1), EndTime=now + dt.timedelta(hours=1),
    )  # fmt: skip
    return data["MetricDataResults"][0]["Values"]


def test_gates_and_publications_put_the_metrics_the_alarms_watch(aws_endpoint):
    settings = pipeline_settings.from_env(AWS_SETTINGS)
    assert metrics.gate_verdict(settings, failed=True) == {
        "namespace": "BFP/Pipeline", "metrics": {"DqGateFailures": 1}
    }  # fmt: skip
    metrics.gate_verdict(settings, failed=False)
    sent = freshness.publication_metrics(settings, ["20261206T1100"])
    assert sent["metrics"]["WindowsPublished"] == 1 and sent["metrics"]["PublishedWindowAgeSeconds"] > 0
    assert sorted(metric_values(aws_endpoint, "DqGateFailures")) in ([1.0], [0.0, 1.0])
    assert metric_values(aws_endpoint, "WindowsPublished") == [1.0]


def test_a_lost_metric_never_hides_the_gates_verdict(monkeypatch):
    settings = dataclasses.replace(pipeline_settings.from_env({}), target="aws", aws_conn_id="no_such_connection")
    monkeypatch.delenv("AIRFLOW_CONN_AWS_DEFAULT", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens: CloudWatch unreachable
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    assert metrics.gate_verdict(settings, failed=True) is None


def test_locally_nothing_is_sent():
    assert metrics.put(pipeline_settings.from_env({}), [{"MetricName": "X", "Value": 1}]) is None


def test_the_startup_script_turns_the_environments_options_into_settings():
    options = {f"AIRFLOW__BFP__{name.removeprefix('BFP_')}": value for name, value in AWS_SETTINGS.items()}
    options["AIRFLOW__BFP__DATABASE_URL"] = options.pop("AIRFLOW__BFP__DATABASE_URL")
    shell = subprocess.run(
        ["bash", "-c", f"source {ROOT / 'scripts' / 'mwaa_startup.sh'} && env -0"],
        env={"PATH": os.environ["PATH"], **options}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    exported = dict(item.split("=", 1) for item in shell.stdout.split("\0") if "=" in item)
    assert {name: exported.get(name) for name in AWS_SETTINGS} == AWS_SETTINGS
    settings = pipeline_settings.from_env(exported)
    assert settings.target == "aws" and settings.database_iam_auth and settings.lake_uri == "s3://bfp-lake/lake"
