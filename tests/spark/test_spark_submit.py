"""A job runs the way make and EMR run it: spark-submit with the --py-files archive, as its own process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from package_spark import package

from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # each test starts spark-submit


def test_import_job_runs_under_spark_submit_with_the_package(tmp_path):
    archive = package(tmp_path / "bfp_spark.zip")
    csv_path = tmp_path / "p.csv"
    csv_path.write_text(
        "Order Date,Purchase Price Per Unit,Quantity,Shipping Address State,Title,ASIN/ISBN (Product Code),"
        "Category,Survey ResponseID\n2022-11-25,9.99,1.0,TX,Mug,B0000000AA,KITCHEN,R_aaaaaaaaaaaaaaa\n"
    )
    lake = tmp_path / "lake"
    spark_submit = Path(sys.executable).with_name("spark-submit")
    done = subprocess.run(
        [
            str(spark_submit),
            "--master",
            "local[1]",
            "--conf",
            "spark.ui.enabled=false",
            "--py-files",
            str(archive),
            str(ROOT / "spark" / "jobs" / "import_purchases.py"),
            "--input",
            str(csv_path),
            "--lake",
            lake.as_uri(),
            "--import-id",
            "cli",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PATH": f"{spark_submit.parent}:{os.environ['PATH']}"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    manifest = json.loads((lake / "raw" / "purchases" / "import=cli" / "_manifest.json").read_text())
    assert (manifest["status"], manifest["rows_out"]) == ("success", 1)
    assert '"event": "import_purchases"' in done.stdout + done.stderr  # the one structured log line


def test_bad_arguments_exit_with_a_message(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "spark" / "jobs" / "import_purchases.py"),
            "--input",
            "x.csv",
            "--lake",
            "file:///tmp/l",
            "--import-id",
            "no spaces please",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": f"{ROOT / 'spark'}:{ROOT}"},  # as the package: jobs, contracts, seasons
    )
    assert done.returncode == 2
    assert "--import-id 'no spaces please'" in done.stderr
