"""The DQ gate's evidence: each attempt's results are kept; a re-run never overwrites a failed attempt's."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from pipeline.gate import quality
from pipeline.lake import Lake
from tests.conftest import ROOT

SUITES = ROOT / "expectations"


def revenue_check(difference: float) -> quality.Check:
    frame = pd.DataFrame(
        {"order_date": [dt.date(2026, 11, 27)], "curated_revenue": [10.0], "mart_revenue": [10.0 - difference]}
    )
    return quality.Check("reconcile_revenue", "curated vs daily_sales", frame.assign(difference=difference))


def test_a_failed_attempt_keeps_its_result_when_the_rerun_passes(tmp_path):
    lake = Lake.from_uri((tmp_path / "lake").as_uri())
    with pytest.raises(quality.DataQualityError, match=r"_dq\)?/<suite>/manual_1/1.json"):
        quality.gate(lake, "manual_1", [revenue_check(3.0)], SUITES, attempt=1)
    summary = quality.gate(lake, "manual_1", [revenue_check(0.0)], SUITES, attempt=2)

    failed = lake.read_json(lake.path("_dq", "reconcile_revenue", "manual_1", "1.json"))
    passed = lake.read_json(lake.path("_dq", "reconcile_revenue", "manual_1", "2.json"))
    assert (failed["success"], failed["attempt"], passed["success"], passed["attempt"]) == (False, 1, True, 2)
    assert summary["verdict"] == "passed" and summary["results"][0].endswith("/manual_1/2.json")
