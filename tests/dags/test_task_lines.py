"""On-call's search: every task attempt logs one line under `bfp_task`, failures included (a transform whose
Spark job dies, a registration that cannot register), with what to do next."""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest

from pipeline import catalog, publish_steps, spark_jobs


def task_lines(caplog) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.getMessage().startswith('{"bfp_task"')]


def test_a_transform_whose_spark_job_fails_logs_its_failed_line(settings, caplog):
    broken = dataclasses.replace(settings, spark_submit="/bin/false")  # spark-submit exits 1 at once
    caplog.set_level(logging.INFO, logger="pipeline")
    with pytest.raises(spark_jobs.SparkJobError):
        publish_steps.transform(broken, "manual_run_1", ["--windows", "20261127T1000"])
    (line,) = task_lines(caplog)
    assert (line["bfp_task"], line["status"], line["run_id"]) == ("transform", "failed", "manual_run_1")
    assert "SparkJobError" in line["error"] and "runbook" in line["next_step"]


def test_a_registration_that_fails_logs_its_failed_line(settings, caplog):
    caplog.set_level(logging.INFO, logger="pipeline")
    refresh = {"order_lines": {"partitions": ["year=2026/month=11"], "partitions_removed": []}}  # never written
    with pytest.raises(catalog.CatalogError, match="no Parquet files"):
        publish_steps.register(settings, refresh, run_id="manual_run_2")
    (line,) = task_lines(caplog)
    assert (line["bfp_task"], line["status"], line["run_id"]) == ("register", "failed", "manual_run_2")
    assert "register_partitions" in line["next_step"]
