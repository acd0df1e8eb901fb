"""One local Spark session for the whole test run; spark/ is importable as with --py-files on EMR."""

from __future__ import annotations

import os
import sys

import pytest

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "spark"))
os.environ.setdefault("PYARROW_IGNORE_TIMEZONE", "1")  # pandas-on-Spark (used by assertDataFrameEqual) asks for it

from transforms.session import build_session


@pytest.fixture(scope="session")
def spark():
    session = build_session("bfp-tests", master="local[2]")
    yield session
    session.stop()
