"""Value lists shared by the deployables are declared once (sql/value_lists.json, beside the DDL they belong
to): the GX suites name them and get them when loaded (pipeline.gate.quality.load_suite), the storefront reads its
states from it (its image copies the file); every place that must spell them out is checked against it: the OLTP
DDL, the statuses SQL files compare with, the season statuses of the calendar and the data generator."""

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


def test_the_storefront_ships_to_exactly_the_declared_states_read_from_the_file_its_image_carries():
    assert list(schemas.US_STATES) == VALUES["us_states"]
    assert schemas.VALUE_LISTS == ROOT / "sql" / "value_lists.json"
    dockerfile = (ROOT / "docker" / "storefront.Dockerfile").read_text()
    assert "COPY sql/value_lists.json sql/value_lists.json" in dockerfile.splitlines()


def test_the_generator_draws_home_states_from_the_declared_states():
    generated = {state for state, _ in vocab.STATE_POPULATIONS}
    assert generated <= set(VALUES["us_states"])
    assert set(VALUES["us_states"]) - generated == {"PR"}  # census weights cover the 50 states and DC


def test_every_suite_names_the_declared_lists_for_states_statuses_and_sources_and_gets_them_when_loaded():
    from pipeline.gate import quality

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

    from pipeline.gate import quality

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


STATUS_LITERALS = re.compile(r"'([a-z_]+)'")


def status_literals(path) -> set[str]:
    """The quoted words on a SQL file's lines that name a status column (an error message's text aside)."""
    lines = [line for line in path.read_text().splitlines() if "status" in line and "RAISE" not in line]
    return {word for line in lines for word in STATUS_LITERALS.findall(line)}


def test_every_status_a_sql_file_compares_with_is_a_declared_one():
    """SQL cannot import the list: each file that names statuses names only declared ones (the OLTP schema's
    transitions, the simulator's, the pipeline's reconciliation; the analysts' queries name season statuses)."""
    for files, declared in (
        ("sql/oltp/*.sql", "order_statuses"),
        ("datagen/sql/*.sql", "order_statuses"),
        ("dags/pipeline/*/sql/*.sql", "order_statuses"),  # each stage's SQL
        ("sql/analytics/*.sql", "season_statuses"),
    ):
        named = {path.relative_to(ROOT): status_literals(path) for path in sorted(ROOT.glob(files))}
        assert any(named.values()), files
        for path, words in named.items():
            assert words <= set(VALUES[declared]), f"{path}: {sorted(words - set(VALUES[declared]))}"
