"""One local Spark session for the whole test run; spark/ is importable as with --py-files on EMR."""

from __future__ import annotations

import logging
import os

import pytest

# pandas-on-Spark (used by assertDataFrameEqual) asks for this before the first session starts
os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")
# py4j logs an INFO line at interpreter exit, after pytest has closed its capture streams
logging.getLogger("py4j").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def spark():
    from transforms.session import build_session

    session = build_session("bfp-tests", master="local[2]")
    yield session
    session.stop()
