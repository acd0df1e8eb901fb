"""Submitting the Spark refresh job locally with spark-submit: a real failure, quoted for on-call. (On aws:
tests/dags/test_transform_operator.py.)"""

from __future__ import annotations

import pytest

from pipeline.lake import Lake
from pipeline.transform import spark_jobs

pytestmark = pytest.mark.slow  # each test starts spark-submit


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
