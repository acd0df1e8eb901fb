"""One local Spark session for the whole test run; spark/ is importable as with --py-files on EMR."""

from __future__ import annotations

import logging
import math

import pytest

# py4j logs an INFO line at interpreter exit, after pytest has closed its capture streams
logging.getLogger("py4j").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def spark():
    from support import hadoop_fs_calls
    from tests.conftest import SHORT_JOB_JAVA_OPTIONS, SHORT_JOB_SPARK_CONF
    from transforms.session import build_session

    # file:// goes through a file system that counts its calls; C1 only, no generated code: tests/conftest.py says why
    conf = {
        **hadoop_fs_calls.spark_conf(),
        **SHORT_JOB_SPARK_CONF,
        "spark.driver.extraJavaOptions": SHORT_JOB_JAVA_OPTIONS,
    }
    session = build_session("bfp-tests", master="local[2]", extra_conf=conf)
    yield session
    session.stop()


def assert_frames_equal(got, expected, rel_tol: float = 1e-9) -> None:
    """The same column names and types (nullability aside) and the same rows in any order, floats within
    `rel_tol`. (pyspark.testing.assertDataFrameEqual imports pandas-on-Spark, which pyspark 4.0 cannot import
    beside pandas 3, MWAA's pandas.)"""
    assert [(f.name, f.dataType.simpleString()) for f in got.schema.fields] == [
        (f.name, f.dataType.simpleString()) for f in expected.schema.fields
    ]
    got_rows, expected_rows = (
        sorted(map(tuple, got.collect()), key=repr),
        sorted(map(tuple, expected.collect()), key=repr),
    )
    assert len(got_rows) == len(expected_rows), f"{len(got_rows)} rows, expected {len(expected_rows)}"
    for got_row, expected_row in zip(got_rows, expected_rows, strict=True):
        same = all(
            math.isclose(a, b, rel_tol=rel_tol) if isinstance(a, float) and isinstance(b, float) else a == b
            for a, b in zip(got_row, expected_row, strict=True)
        )
        assert same, f"{got_row} != {expected_row}"
