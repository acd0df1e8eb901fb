"""Runs the Spark refresh job (spark/jobs/refresh.py) for a pipeline run and returns its summary.

local target: spark-submit --master BFP_SPARK_MASTER (local[2], or the standalone cluster of make spark-cluster)
with the --py-files archive, as a child process.
aws target: an EMR Serverless job run with the entry point and archive uploaded under BFP_SPARK_CODE_URI, named
after the pipeline run so a retry resumes it (the task defers on it: pipeline.transform.transform_operator).
Either way the job writes its summary to <lake>/_runs/refresh/<run_id>.json, which is read back from the lake.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import subprocess
import sys
from dataclasses import dataclass

from pipeline.lake import Lake
from pipeline.settings import REPO_ROOT, Settings

log = logging.getLogger("pipeline.transform.spark_jobs")
LOG_TAIL_LINES = 40  # lines of the job's own output quoted in an error
# how far back a retry looks for the job run an earlier attempt started (retries come within hours)
EMR_LOOKBACK = dt.timedelta(days=2)


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
        *("--master", settings.spark_master, "--driver-memory", settings.spark_driver_memory),
        *("--conf", "spark.ui.enabled=false", "--py-files", str(settings.spark_package)),
        *(arg for key, value in settings.spark_conf for arg in ("--conf", f"{key}={value}")),
        str(settings.spark_jobs_dir / "refresh.py"),
        *job_args,
    ]
    # spark-submit finds its Spark home through the python3 first on PATH: the one running this task
    env = {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}:{os.environ.get('PATH', '')}"}
    # the driver's listeners (its RPC endpoint and block manager) on loopback, like the cluster's own JVMs:
    # without it Spark binds them to the host's first interface
    env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        output = [line for line in (done.stdout + done.stderr).splitlines() if " INFO " not in line]
        raise SparkJobError(
            f"spark-submit refresh.py exited {done.returncode}:\n"
            + "\n".join(output[-LOG_TAIL_LINES:])
            + "\nFix the cause shown above, then clear this task to re-run it (the job replaces what it wrote)."
        )


@dataclass(frozen=True)
class EmrJobRun:
    job_run_id: str
    state: str
    resumed: bool  # an earlier attempt started it: this attempt waits for it instead of starting another


def emr_job_name(run_id: str, generation: int) -> str:
    """The job run's name: one per pipeline run and clear of its transform (`generation`, the task's max_tries,
    which a clear raises and a retry keeps), so a retry or a restarted worker finds the run already started."""
    return f"bfp-refresh-{run_id}-g{generation}"[:256]


def _emr_hook(settings: Settings):
    from airflow.providers.amazon.aws.hooks.emr import EmrServerlessHook

    return EmrServerlessHook(aws_conn_id=settings.aws_conn_id)


def _job_runs_named(hook, application_id: str, name: str) -> list[dict]:
    since = dt.datetime.now(dt.UTC) - EMR_LOOKBACK
    try:
        pages = list(
            hook.conn.get_paginator("list_job_runs").paginate(applicationId=application_id, createdAtAfter=since)
        )
    except hook.conn.exceptions.ResourceNotFoundException:
        return []  # an application without job runs yet (moto answers so); a wrong id fails at start_job_run
    return [run for page in pages for run in page["jobRuns"] if run.get("name") == name]


def start_or_resume_emr(settings: Settings, job_args: list[str], name: str, attempt: int) -> EmrJobRun:
    """The job run named `name` that is still running or succeeded, else a new one. Starting is idempotent per
    attempt (clientToken): a request retried by boto or a re-executed attempt never starts a second run."""
    hook = _emr_hook(settings)
    found = _job_runs_named(hook, settings.emr_application_id, name)
    for run in sorted(found, key=lambda r: r["createdAt"], reverse=True):
        if run["state"] in hook.JOB_INTERMEDIATE_STATES | hook.JOB_SUCCESS_STATES:
            log.info("EMR Serverless job run %s (%s) already %s: resuming it", run["id"], name, run["state"])
            return EmrJobRun(run["id"], run["state"], resumed=True)
    code = settings.spark_code_uri.rstrip("/")
    confs = [f"--conf {key}={value}" for key, value in settings.spark_conf]
    response = hook.conn.start_job_run(
        applicationId=settings.emr_application_id,
        clientToken=hashlib.sha256(f"{name}/{attempt}".encode()).hexdigest()[:64],
        executionRoleArn=settings.emr_execution_role_arn,
        name=name,
        jobDriver={
            "sparkSubmit": {
                "entryPoint": f"{code}/jobs/refresh.py",
                "entryPointArguments": job_args,
                # BFP_SPARK_CONF too: the stack sets the job's shuffle sizing there (the plan's partition bound,
                # and AQE sizing the partitions from the shuffle's bytes)
                "sparkSubmitParameters": " ".join([f"--py-files {code}/bfp_spark.zip", *confs]),
            }
        },
    )
    log.info(
        "EMR Serverless job run %s (%s) started on application %s",
        response["jobRunId"],
        name,
        settings.emr_application_id,
    )
    return EmrJobRun(response["jobRunId"], "SUBMITTED", resumed=False)


def cancel_emr(settings: Settings, job_run_id: str) -> bool:
    """Asks EMR to cancel a job run that is still going (a killed or failed task leaves nothing running);
    False when it had already ended."""
    hook = _emr_hook(settings)
    state = hook.conn.get_job_run(applicationId=settings.emr_application_id, jobRunId=job_run_id)["jobRun"]["state"]
    if state not in hook.JOB_INTERMEDIATE_STATES:
        return False
    log.warning("cancelling EMR Serverless job run %s (was %s)", job_run_id, state)
    hook.conn.cancel_job_run(applicationId=settings.emr_application_id, jobRunId=job_run_id)
    return True


def emr_failure(settings: Settings, job_run_id: str) -> SparkJobError:
    run = _emr_hook(settings).conn.get_job_run(applicationId=settings.emr_application_id, jobRunId=job_run_id)
    return SparkJobError(
        f"EMR Serverless job run {job_run_id} ended {run['jobRun']['state']}: {run['jobRun'].get('stateDetails')}."
        " Read its driver log in the EMR Studio console, fix the cause, then clear this task."
    )


def read_summary(settings: Settings, run_id: str) -> dict:
    """The job's own summary (it writes <lake>/_runs/refresh/<run_id>.json at its end), checked."""
    lake = Lake.from_uri(settings.lake_uri)
    summary = lake.read_json(summary_path(lake, run_id))
    if summary is None or summary.get("status") != "success":
        raise SparkJobError(f"the refresh job reported {summary}; see its next_step, then clear this task")
    return summary


def job_arguments(settings: Settings, run_id: str, job_args: list[str]) -> list[str]:
    """refresh.py's arguments: the lake and where to write its summary, then the run's own."""
    lake = Lake.from_uri(settings.lake_uri)
    summary = lake.uri_of(summary_path(lake, run_id))
    return ["--lake", settings.lake_uri, "--summary-uri", summary, "--run-id", run_id, *job_args]


def run_refresh(settings: Settings, run_id: str, job_args: list[str]) -> dict:
    """Local target: runs refresh.py with `job_args` to the end and returns the job's summary. (aws: the
    transform task starts or resumes an EMR job run and defers: pipeline.transform.transform_operator.)"""
    _submit_local(settings, job_arguments(settings, run_id, job_args))
    return read_summary(settings, run_id)
