"""Value lists shared by the deployables are declared once (sql/value_lists.json, beside the DDL they belong
to): the GX suites name them and get them when loaded (pipeline.quality.load_suite); every other place that spells
them out is checked against it: the OLTP DDL, the storefront's schemas (its image carries serving/ alone) and the
data generator."""

from __future__ import annotations

import json
import re

from datagen import vocab
from seasons import calendar
from serving import schemas
from tests.conftest import ROOT

VALUES = json.loads((ROOT / "sql" / "value_lists.json").read_text())


def suite_value_sets(column: str) -> list[tuple[str, list[str]]]:
    found = []
    for path in sorted((ROOT / "expectations").glob("*.json")):
        for expectation in json.loads(path.read_text()).get("expectations", []):
            kwargs = expectation.get("kwargs", {})
            if kwargs.get("column") == column and "value_set" in kwargs:
                found.append((path.name, kwargs["value_set"]))
    return found


def test_the_storefront_ships_to_exactly_the_declared_states():
    assert list(schemas.US_STATES) == VALUES["us_states"]


def test_the_generator_draws_home_states_from_the_declared_states():
    generated = {state for state, _ in vocab.STATE_POPULATIONS}
    assert generated <= set(VALUES["us_states"])
    assert set(VALUES["us_states"]) - generated == {"PR"}  # census weights cover the 50 states and DC


def test_every_suite_names_the_declared_lists_for_states_statuses_and_sources_and_gets_them_when_loaded():
    from pipeline import quality

    for column, declared in (
        ("shipping_state", "us_states"),
        ("state", "us_states"),
        ("status", "order_statuses"),
        ("source", "line_sources"),
    ):
        sets = suite_value_sets(column)
        assert sets, column
        for suite, value_set in sets:
            expected = "season_statuses" if suite.startswith("marts_black_friday") else declared  # a season's
            assert value_set == {"value_list": expected}, (suite, column)  # named, not copied
            loaded = quality.load_suite(ROOT / "expectations", suite.removesuffix(".json"))
            in_set = [e.configuration.kwargs for e in loaded.expectations if "value_set" in e.configuration.kwargs]
            assert [k["value_set"] for k in in_set if k["column"] == column] == [VALUES[expected]], (suite, column)


def test_a_suite_naming_a_list_nobody_declared_is_refused_with_its_name(tmp_path):
    import pytest

    from pipeline import quality

    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "value_lists.json").write_text(json.dumps({"order_statuses": ["paid"]}))
    (tmp_path / "suites").mkdir()
    expectation = {
        "type": "expect_column_values_to_be_in_set",
        "kwargs": {"column": "status", "value_set": {"value_list": "statuses"}},
    }
    (tmp_path / "suites" / "s.json").write_text(json.dumps({"name": "s", "expectations": [expectation]}))
    with pytest.raises(KeyError, match="statuses"):
        quality.load_suite(tmp_path / "suites", "s")


def test_the_calendar_names_exactly_the_declared_season_statuses():
    assert [calendar.NOT_STARTED, calendar.IN_PROGRESS, calendar.COMPLETE] == VALUES["season_statuses"]


def test_the_ddl_allows_exactly_the_declared_order_statuses():
    ddl = (ROOT / "sql" / "oltp" / "0004_orders.sql").read_text()
    allowed = re.search(r"CHECK \(status IN \(([^)]*)\)\)", ddl).group(1)
    assert re.findall(r"'(\w+)'", allowed) == VALUES["order_statuses"]
