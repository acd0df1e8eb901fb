"""Runs the Spark refresh job (spark/jobs/refresh.py) for a pipeline run and returns its summary.

local target: spark-submit --master local[2] with the --py-files archive, as a child process.
aws target: an EMR Serverless job run (the amazon provider's EmrServerlessHook and its completion waiter) with
the entry point and archive uploaded under BFP_SPARK_CODE_URI.
Either way the job writes its summary to <lake>/_runs/refresh/<run_id>.json, which is read back from the lake.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys

from pipeline.lake import Lake
from pipeline.settings import REPO_ROOT, Settings

log = logging.getLogger("pipeline.spark_jobs")
LOG_TAIL_LINES = 40  # lines of the job's own output quoted in an error


class SparkJobError(RuntimeError):
    """The Spark job failed; the message quotes its output and says where to look next."""


def summary_path(lake: Lake, run_id: str) -> str:
    return lake.path("_runs", "refresh", f"{run_id}.json")


def _submit_local(settings: Settings, job_args: list[str]) -> None:
    # The archive is rebuilt from spark/ for every run, so a local run never uses stale transforms.
    subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "package_spark.py"), str(settings.spark_package)],
        check=True,
        capture_output=True,
    )
    command = [
        settings.spark_submit,
        *("--master", "local[2]", "--driver-memory", settings.spark_driver_memory),
        *("--conf", "spark.ui.enabled=false", "--py-files", str(settings.spark_package)),
        str(settings.spark_jobs_dir / "refresh.py"),
        *job_args,
    ]
    # spark-submit finds its Spark home through the python3 first on PATH: the one running this task
    env = {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}:{os.environ.get('PATH', '')}"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        output = [line for line in (done.stdout + done.stderr).splitlines() if " INFO " not in line]
        raise SparkJobError(
            f"spark-submit refresh.py exited {done.returncode}:\n"
            + "\n".join(output[-LOG_TAIL_LINES:])
            + "\nFix the cause shown above, then clear this task to re-run it (the job replaces what it wrote)."
        )


def _submit_emr_serverless(settings: Settings, job_args: list[str], run_id: str) -> None:
    from airflow.providers.amazon.aws.hooks.emr import EmrServerlessHook

    hook = EmrServerlessHook(aws_conn_id=settings.aws_conn_id)
    code = settings.spark_code_uri.rstrip("/")
    response = hook.conn.start_job_run(
        applicationId=settings.emr_application_id,
        executionRoleArn=settings.emr_execution_role_arn,
        name=f"bfp-refresh-{run_id}"[:256],
        jobDriver={
            "sparkSubmit": {
                "entryPoint": f"{code}/jobs/refresh.py",
                "entryPointArguments": job_args,
                "sparkSubmitParameters": f"--py-files {code}/bfp_spark.zip",
            }
        },
    )
    job_run_id = response["jobRunId"]
    log.info("EMR Serverless job run %s started on application %s", job_run_id, settings.emr_application_id)
    hook.get_waiter("serverless_job_completed").wait(
        applicationId=settings.emr_application_id,
        jobRunId=job_run_id,
        WaiterConfig={"Delay": 30, "MaxAttempts": 240},
    )
    state = hook.conn.get_job_run(applicationId=settings.emr_application_id, jobRunId=job_run_id)["jobRun"]
    if state["state"] != "SUCCESS":
        raise SparkJobError(
            f"EMR Serverless job run {job_run_id} ended {state['state']}: {state.get('stateDetails')}."
            " Read its driver log in the EMR Studio console, fix the cause, then clear this task."
        )


def run_refresh(settings: Settings, run_id: str, job_args: list[str]) -> dict:
    """Submits refresh.py with `job_args` (plus --lake and --summary-uri) and returns the job's summary."""
    lake = Lake.from_uri(settings.lake_uri)
    path = summary_path(lake, run_id)
    args = ["--lake", settings.lake_uri, "--summary-uri", lake.uri_of(path), *job_args]
    if settings.target == "aws":
        _submit_emr_serverless(settings, args, run_id)
    else:
        _submit_local(settings, args)
    summary = lake.read_json(path)
    if summary is None or summary.get("status") != "success":
        raise SparkJobError(f"the refresh job reported {summary}; see its next_step, then clear this task")
    return summary
