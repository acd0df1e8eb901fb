"""Pipeline configuration, read once from the environment (Airflow variables/connections on MWAA)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

TARGETS = ("local", "aws")
DAGS_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = DAGS_DIR.parent


def _bundled(relative: str) -> Path:
    """A contract folder (sql/athena, expectations): inside the dags bundle on MWAA (`make mwaa-bundle` copies
    it there), else the repository's copy."""
    inside = DAGS_DIR / relative
    return inside if inside.exists() else REPO_ROOT / relative


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    target: str  # local | aws
    database_url: str  # the OLTP database the extract reads
    lake_uri: str  # file:///... or s3://bucket/prefix
    extract_lag: timedelta  # a window may be extracted only this long after its end
    window_length: timedelta  # the schedule's window (BFP_WINDOW_MINUTES): a longer manual range is split in these
    page_rows: int  # orders per keyset page (one Parquet row group)
    catch_up_windows: int  # a scheduled run behind the extracted mark extracts at most this many windows
    freshness_windows: int  # alert when the newest published window is older than this many windows (+ the lag)
    reconcile_days: int  # the daily reconciliation compares this many days of PostgreSQL with the lake
    alerts_path: str  # local target: where failure alerts are appended (JSON lines)
    sns_topic_arn: str | None  # aws target: where failure alerts are published
    expectations_dir: Path  # the GX suites (expectations/*.json)
    athena_ddl_dir: Path  # the table definitions (sql/athena/*.sql)
    catalog_path: str  # local target: the DuckDB catalog file analysts query
    report_dir: str  # local target: where the bf_report DAG writes the dashboard (index.html)
    published_retention: timedelta  # superseded published partition copies are removed once this old
    compact_after: timedelta  # raw windows extracted longer ago than this are compacted into their month
    athena_output_uri: str | None  # aws target: s3:// folder for Athena query results
    athena_workgroup: str
    aws_conn_id: str  # aws target: the Airflow connection for Athena, EMR, SNS
    spark_submit: str  # local target: the spark-submit command
    spark_package: Path  # local target: the --py-files archive (built from spark/ before each submit)
    spark_jobs_dir: Path  # local target: where spark/jobs/refresh.py is
    spark_driver_memory: str
    spark_master: str  # local target: local[2], or a standalone cluster (make spark-cluster: spark://127.0.0.1:7077)
    spark_conf: tuple[tuple[str, str], ...]  # extra --conf key=value pairs of the job, local or EMR (BFP_SPARK_CONF)
    emr_application_id: str | None  # aws target: EMR Serverless application that runs the Spark jobs
    emr_execution_role_arn: str | None
    spark_code_uri: str | None  # aws target: s3:// folder holding jobs/refresh.py and bfp_spark.zip
    database_iam_auth: bool = False  # connect as DATABASE_URL's user with an RDS IAM token (no password anywhere)


def _switch(env: dict[str, str], name: str) -> bool:
    raw = (env.get(name) or "off").strip().lower()
    if raw not in ("on", "off"):
        raise SettingsError(f"{name} must be on or off, got {raw!r}")
    return raw == "on"


def _int(env: dict[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be >= {minimum}, got {value}")
    return value


WINDOW_MINUTES = (5, 10, 15, 20, 30, 60)  # window lengths that tile the hour (the cron schedule can express them)


def window_minutes(env: dict[str, str] | os._Environ) -> int:
    """BFP_WINDOW_MINUTES: the orders_pipeline window length (60: hourly, the default; 15 for fresher data)."""
    minutes = _int(dict(env), "BFP_WINDOW_MINUTES", 60, 1)
    if minutes not in WINDOW_MINUTES:
        raise SettingsError(f"BFP_WINDOW_MINUTES must be one of {WINDOW_MINUTES} (it tiles the hour), got {minutes}")
    return minutes


def _spark_conf(raw: str) -> tuple[tuple[str, str], ...]:
    """BFP_SPARK_CONF: `key=value` pairs separated by commas, e.g. spark.driver.maxResultSize=2m."""
    pairs = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.startswith("spark.") or not value:
            raise SettingsError(f"BFP_SPARK_CONF: {item!r} is not spark.<key>=<value>")
        pairs.append((key, value))
    return tuple(pairs)


def from_env(env: dict[str, str] | None = None) -> Settings:
    """Settings from environment variables; the defaults serve the local target."""
    env = dict(os.environ if env is None else env)
    target = env.get("BFP_TARGET", "local")
    if target not in TARGETS:
        raise SettingsError(f"BFP_TARGET must be one of {TARGETS}, got {target!r}")
    default_lake = (REPO_ROOT / "data" / "lake").as_uri() if target == "local" else ""
    lake_uri = env.get("BFP_LAKE_URI", default_lake).rstrip("/")
    if not lake_uri:
        raise SettingsError("BFP_LAKE_URI is required on the aws target (s3://bucket/prefix)")
    database_url = env.get("DATABASE_URL", "postgresql://bfp@127.0.0.1:55432/bfp" if target == "local" else "")
    if not database_url:
        raise SettingsError(
            "DATABASE_URL is required on the aws target (the stack sets it as the MWAA option bfp.database_url)"
        )
    sns_topic_arn = env.get("BFP_ALERTS_SNS_TOPIC_ARN") or None
    if target == "aws" and not sns_topic_arn:
        raise SettingsError("BFP_ALERTS_SNS_TOPIC_ARN is required on the aws target")
    athena_output_uri = env.get("BFP_ATHENA_OUTPUT_URI") or None
    emr = {
        name: env.get(name) or None
        for name in ("BFP_EMR_APPLICATION_ID", "BFP_EMR_EXECUTION_ROLE_ARN", "BFP_SPARK_CODE_URI")
    }
    if target == "aws":
        for name, value in {"BFP_ATHENA_OUTPUT_URI": athena_output_uri, **emr}.items():
            if not value:
                raise SettingsError(f"{name} is required on the aws target (see docs/configuration.md)")
    return Settings(
        target=target,
        database_url=database_url,
        lake_uri=lake_uri,
        extract_lag=timedelta(seconds=_int(env, "BFP_EXTRACT_LAG_SECONDS", 120, 0)),
        window_length=timedelta(minutes=window_minutes(env)),
        page_rows=_int(env, "BFP_EXTRACT_PAGE_ROWS", 200_000, 1),
        catch_up_windows=_int(env, "BFP_CATCH_UP_WINDOWS", 744, 1),
        freshness_windows=_int(env, "BFP_FRESHNESS_WINDOWS", 2, 1),
        reconcile_days=_int(env, "BFP_RECONCILE_DAYS", 7, 1),
        alerts_path=env.get("BFP_ALERTS_PATH", str(REPO_ROOT / "data" / "alerts.jsonl")),
        sns_topic_arn=sns_topic_arn,
        expectations_dir=Path(env.get("BFP_EXPECTATIONS_DIR") or _bundled("expectations")),
        athena_ddl_dir=Path(env.get("BFP_ATHENA_DDL_DIR") or _bundled("sql/athena")),
        catalog_path=env.get("BFP_CATALOG_PATH", str(REPO_ROOT / "data" / "catalog.duckdb")),
        report_dir=env.get("BFP_REPORT_DIR", str(REPO_ROOT / "data" / "report")),
        published_retention=timedelta(hours=_int(env, "BFP_PUBLISHED_RETENTION_HOURS", 24, 0)),
        compact_after=timedelta(hours=_int(env, "BFP_COMPACT_AFTER_HOURS", 48, 1)),
        athena_output_uri=athena_output_uri,
        athena_workgroup=env.get("BFP_ATHENA_WORKGROUP", "primary"),
        aws_conn_id=env.get("BFP_AWS_CONN_ID", "aws_default"),
        spark_submit=env.get("BFP_SPARK_SUBMIT") or str(Path(sys.executable).with_name("spark-submit")),
        spark_package=Path(env.get("BFP_SPARK_PACKAGE") or REPO_ROOT / ".local" / "dist" / "bfp_spark.zip"),
        spark_jobs_dir=Path(env.get("BFP_SPARK_JOBS_DIR") or REPO_ROOT / "spark" / "jobs"),
        spark_driver_memory=env.get("BFP_SPARK_DRIVER_MEMORY", "4g"),
        spark_master=env.get("BFP_SPARK_MASTER") or "local[2]",
        spark_conf=_spark_conf(env.get("BFP_SPARK_CONF", "")),
        emr_application_id=emr["BFP_EMR_APPLICATION_ID"],
        emr_execution_role_arn=emr["BFP_EMR_EXECUTION_ROLE_ARN"],
        spark_code_uri=emr["BFP_SPARK_CODE_URI"],
        database_iam_auth=_switch(env, "BFP_DATABASE_IAM_AUTH"),
    )
