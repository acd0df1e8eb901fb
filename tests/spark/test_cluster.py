"""Past one JVM: the full refresh (import → curated → marts) submitted to a Spark standalone cluster (a master and
two one-core workers, scripts/spark_cluster.sh as `make spark-cluster` starts it, the job shipped as the
package spark-submit gets) writes exactly the rows the same job writes in a local[2] session, with the driver
allowed to collect only 1 MB (nothing that grows with the input comes back to it) and the lake reached through
its URI alone."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pyarrow.dataset as ds
import pytest
import requests

from datagen import purchases
from jobs import lake_io
from jobs import refresh as refresh_job
from pipeline import settings as pipeline_settings
from pipeline.transform import spark_jobs
from support.net import free_port
from support.services import parse_env_lines
from tests.conftest import ROOT, SHORT_JOB_JAVA_OPTIONS, SMALL_SCALE

SCRIPT = ROOT / "scripts" / "spark_cluster.sh"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> tuple[str, str]:
    """(master URL, the master's JSON status URL)."""
    state = tmp_path_factory.mktemp("spark-cluster")
    webui = free_port()
    env = {
        **os.environ,
        "BFP_SPARK_CLUSTER_DIR": str(state),
        "BFP_SPARK_MASTER_PORT": str(free_port()),
        "BFP_SPARK_WEBUI_PORT": str(webui),
    }
    started = subprocess.run([str(SCRIPT), "up"], env=env, capture_output=True, text=True, timeout=300, check=False)
    try:
        assert started.returncode == 0, started.stderr + "".join(p.read_text() for p in (state / "logs").glob("*"))
        yield parse_env_lines(started.stdout)["BFP_SPARK_MASTER"], f"http://127.0.0.1:{webui}/json/"
    finally:
        subprocess.run([str(SCRIPT), "down"], env=env, capture_output=True, timeout=120, check=False)


def refresh(tmp: Path, name: str, csv_path: Path, master: str, conf: str = "") -> tuple[Path, dict]:
    lake = tmp / name / "lake"
    env = {
        **os.environ,
        "BFP_LAKE_URI": lake.as_uri(),
        "BFP_SPARK_MASTER": master,
        "BFP_SPARK_CONF": conf,
        "BFP_SPARK_PACKAGE": str(tmp / name / "bfp_spark.zip"),
        "BFP_SPARK_DRIVER_MEMORY": "1g",
    }
    summary = spark_jobs.run_refresh(
        pipeline_settings.from_env(env), f"cluster-test-{name}", ["--purchases-csv", str(csv_path), "--import-id", "t"]
    )
    return lake, summary


def tables(lake: Path) -> dict[str, list[tuple]]:
    """Every table the refresh wrote (curated, marts, state): the rows of its current versions, sorted."""
    found = {}
    for area in ("curated", "marts", "state"):
        for folder in sorted(p for p in (lake / area).iterdir() if p.is_dir()):
            rows = []
            for pointer in sorted(folder.rglob(lake_io.CURRENT)):
                spec = dict(part.split("=", 1) for part in pointer.parent.relative_to(folder).parts)
                version = Path(urlparse(json.loads(pointer.read_text())["location"]).path)
                for row in ds.dataset(version, format="parquet").to_table().to_pylist():
                    rows.append(tuple(repr(v) for v in {**row, **spec}.values()))
            found[f"{area}.{folder.name}"] = sorted(rows)
    return found


def test_the_refresh_on_a_standalone_cluster_writes_the_rows_a_local_run_writes(cluster, spark, tmp_path):
    master, status_url = cluster
    # one season (October to December): what is compared is per partition, and more months only repeat it
    season = purchases.generate_purchases(SMALL_SCALE, 5, days=(dt.date(2022, 10, 1), dt.date(2022, 12, 31)))
    csv_path = purchases.write_purchases_csv(season, tmp_path / "p.csv")
    # the reference: the same job in this session's local[2] (spark-submit of it is tests/spark/test_spark_submit.py)
    local_lake = tmp_path / "local" / "lake"
    args = ["--lake", local_lake.as_uri(), "--purchases-csv", str(csv_path), "--import-id", "t"]
    args += ["--summary-uri", (tmp_path / "local" / "summary.json").as_uri()]
    local = refresh_job.run(spark, refresh_job.parse_args(args))
    # the driver as every test job (tests/conftest.py: C1, the class archive); the executors with C1
    short_jobs = f"{os.environ['BFP_SPARK_CONF']},spark.executor.extraJavaOptions={SHORT_JOB_JAVA_OPTIONS}"
    cluster_lake, on_cluster = refresh(
        tmp_path, "cluster", csv_path, master, f"spark.driver.maxResultSize=1m,{short_jobs}"
    )
    assert local["status"] == on_cluster["status"] == "success"
    expected, got = tables(local_lake), tables(cluster_lake)
    assert {"curated.order_lines", "marts.daily_sales", "marts.black_friday_summary"} <= set(expected)
    assert set(got) == set(expected)
    for name in expected:
        assert got[name] == expected[name], name
    assert sum(len(rows) for rows in expected.values()) > SMALL_SCALE.rows
    status = requests.get(status_url, timeout=10).json()  # the master ran it, on both workers
    assert len(status["workers"]) == 2 and all(worker["state"] == "ALIVE" for worker in status["workers"])
    assert [app["name"] for app in status["completedapps"]] == ["refresh"]
    assert status["completedapps"][0]["cores"] == 2
