"""Fixtures for the pipeline: a database with a small catalog, a lake folder, settings, lake readers."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import psycopg2
import pyarrow.parquet as pq
import pytest
from psycopg.conninfo import make_conninfo

from pipeline import settings as settings_module
from pipeline.lake import Lake
from support.net import free_port, wait_until

EXTRACT_LOGIN = "bfp_extract"  # the pipeline's login: a member of pipeline_extract (migration 0008), no more


def as_role(url: str, role: str) -> str:
    return make_conninfo(url, user=role)


@pytest.fixture
def extract_url(oltp_url) -> str:
    """The test's database as the extract's own login, as on RDS: SELECT on the extracted tables and
    pg_read_all_stats through pipeline_extract, not the owner nor a superuser."""
    conn = psycopg2.connect(oltp_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (EXTRACT_LOGIN,))
        if cur.fetchone() is None:
            cur.execute(f"CREATE ROLE {EXTRACT_LOGIN} LOGIN IN ROLE pipeline_extract")
    conn.close()
    return as_role(oltp_url, EXTRACT_LOGIN)


@pytest.fixture
def settings(extract_url, tmp_path):
    """Local-target settings on the test's database (as the extract's login) and lake; no lag, small pages to
    exercise paging."""
    base = settings_module.from_env({"BFP_TARGET": "local"})
    return replace(
        base,
        database_url=extract_url,
        lake_uri=(tmp_path / "lake").as_uri(),
        extract_lag=dt.timedelta(0),
        page_rows=7,
        alerts_path=str(tmp_path / "alerts.jsonl"),
        catalog_path=str(tmp_path / "catalog.duckdb"),
        report_dir=str(tmp_path / "report"),
        spark_package=tmp_path / "dist" / "bfp_spark.zip",
        spark_driver_memory="1g",
    )


def db_now(database_url: str) -> dt.datetime:
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT now()")
        value = cur.fetchone()[0]
    conn.close()
    return value


def wait_until_db_time_passes(database_url: str, moment: dt.datetime, timeout: float = 10.0) -> None:
    """Waits (polling the database clock, with a deadline) until the database's now() is past `moment`."""
    wait_until(lambda: db_now(database_url) > moment, timeout, f"the database clock to pass {moment}", every=0.005)


def read_window(lake: Lake, table: str, label: str):
    """Rows of one complete window (manifest present) as a list of dicts, or None if incomplete."""
    folder = lake.path("raw", table, f"window={label}")
    manifest = lake.manifest(folder)
    if manifest is None:
        return None
    rows = []
    for info in lake.list_files(folder):
        if info.path.endswith(".parquet"):
            rows.extend(pq.read_table(info.path, filesystem=lake.fs).to_pylist())
    return rows


def complete_windows(lake: Lake, table: str = "orders") -> dict[str, list[dict]]:
    """Every complete window of a raw table: label -> rows."""
    found = {}
    for folder in lake.list_dirs(lake.path("raw", table)):
        label = folder.removeprefix("window=")
        rows = read_window(lake, table, label)
        if rows is not None:
            found[label] = rows
    return found


@pytest.fixture
def lake(settings) -> Lake:
    return Lake.from_uri(settings.lake_uri)


@pytest.fixture
def simulator(oltp_url):
    from datagen.simulate import Simulator

    return Simulator(oltp_url, seed=11)


@pytest.fixture
def aws_endpoint(monkeypatch):
    """A moto server standing in for AWS (the only stand-in allowed), with the bucket s3://bfp-lake; boto3,
    pyarrow's S3 and the Airflow connection aws_default all point at it."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_S3": endpoint,
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(
            {"conn_type": "aws", "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"}}
        ),
    }.items():
        monkeypatch.setenv(name, value)
    import boto3

    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="bfp-lake")
    yield endpoint
    server.stop()
