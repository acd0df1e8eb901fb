"""The lake's tables are declared once. curated.order_lines and the raw tables in contracts/: the Athena DDL of
curated.order_lines is rendered from it (scripts/render_ddl.py), Spark's and pyarrow's schemas are made of it, and the
GX suites name a table's columns instead of listing them. The marts in their Athena DDL (sql/athena/, what analysts
see): the frames Spark computes for each (names, types, order, partitions) are checked against it here, so a column
added in one place fails this test, not a run in production; so are the columns every suite names."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pyarrow as pa
import pytest
from pyspark.sql import types as T
from sqlglot import exp

from jobs import build_marts
from pipeline.extract import raw_tables
from pipeline.publish import table_registry
from tests.conftest import ROOT
from transforms import contract_schemas, marts, order_lines

TABLES = table_registry.load_table_defs(ROOT / "sql" / "athena")
SUITES = {path.stem: json.loads(path.read_text()) for path in (ROOT / "expectations").glob("*.json")}


def loaded_suite(name: str) -> list[tuple[str, dict]]:
    """A suite's expectations as the gate runs them (pipeline.gate.quality.load_suite: named columns filled in)."""
    from pipeline.gate import quality

    suite = quality.load_suite(ROOT / "expectations", name)
    return [(e.expectation_type, dict(e.configuration.kwargs)) for e in suite.expectations]


# pyarrow type -> the Spark type the transform reads it as
ARROW_TO_SPARK = {
    pa.int64(): T.LongType(),
    pa.int32(): T.IntegerType(),
    pa.int16(): T.ShortType(),
    pa.string(): T.StringType(),
    pa.decimal128(12, 2): T.DecimalType(12, 2),
    pa.timestamp("us", tz="UTC"): T.TimestampType(),
}


def canonical(type_text: str, dialect: str) -> str:
    """A type as Hive writes it (bigint, decimal(16,2)), whichever dialect spelled it."""
    return exp.DataType.build(type_text, dialect=dialect).sql(dialect="hive").lower().replace(" ", "")


def declared(table: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    definition = TABLES[table]
    return tuple(
        [(name, canonical(kind, "athena")) for name, kind in columns]
        for columns in (definition.columns, definition.partition_columns)
    )


def written(frame, partitions: list[str]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """What a partitioned write of `frame` lays down: the data columns in order, then the partition columns."""
    fields = {f.name: canonical(f.dataType.simpleString(), "spark") for f in frame.schema.fields}
    return [(name, kind) for name, kind in fields.items() if name not in partitions], [
        (name, fields[name]) for name in partitions
    ]


@pytest.fixture(scope="module")
def lake_frames(spark):
    """Every curated and mart table as the jobs build it, from one curated line of a Black Friday."""
    row = {
        "order_ts": dt.datetime(2025, 11, 28, 10), "order_date": dt.date(2025, 11, 28), "order_id": "o-1",
        "line_no": 1, "customer_id": "c-1", "asin": "B000000001", "title": "T", "category": "TOYS", "state": "CA",
        "quantity": 2, "unit_price": Decimal("5.00"), "revenue": Decimal("10.00"), "status": "delivered",
        "source": "oltp", "source_ref": "20251128T1100",
    }  # fmt: skip
    base = T.StructType([f for f in order_lines.CURATED_SCHEMA.fields if f.name in row])
    lines = order_lines._finish(spark.createDataFrame([tuple(row[f.name] for f in base.fields)], base))
    frames = {"curated.order_lines": (lines, list(order_lines.PARTITION_COLUMNS))}
    facts = marts.mart_lines(lines)
    cells = marts.customer_cells(facts)
    frames |= build_marts.mart_tables(marts.daily_sales(facts), cells) | build_marts.yearly_tables(cells)
    frames |= build_marts.season_tables(spark, frames["marts.daily_sales"][0], dt.date(2026, 12, 1))
    return frames


def test_every_table_in_the_ddl_is_written_by_spark_and_the_reverse(lake_frames):
    assert set(lake_frames) == set(TABLES)


@pytest.mark.parametrize("table", sorted(TABLES))
def test_spark_writes_each_table_exactly_as_its_ddl_declares(lake_frames, table):
    frame, partitions = lake_frames[table]
    assert written(frame, partitions) == declared(table)


def test_a_revised_month_of_daily_sales_is_written_as_a_built_one(lake_frames):
    """A merge's month revised from the orders it changed (build_marts.revise_months) lays down the columns and
    types of one built from all its lines: its daily sales, its customer cells and its day-customer rows."""
    facts = marts.mart_lines(lake_frames["curated.order_lines"][0])
    built = lake_frames["marts.daily_sales"][0]
    days = built.select("year", "month", "order_date")
    rows = marts.day_customers(facts)
    month = ["year", "month"]
    assert written(marts.revise_daily_sales(built, days, rows), month) == written(built, month)
    cells = marts.customer_cells(facts)
    assert written(marts.revise_customer_cells(cells, cells, cells), month) == written(cells, month)
    assert written(marts.revise_day_customers(rows, rows, rows), month) == written(rows, month)


def test_the_curated_ddl_is_what_the_contract_renders():
    from scripts import render_ddl

    for table in render_ddl.FILES:
        assert render_ddl.path_of(table).read_text() == render_ddl.render(table), (
            f"{render_ddl.path_of(table)} is not what contracts/lake_tables.py renders: run scripts/render_ddl.py"
        )


def test_the_curated_schema_spark_writes_and_reads_with_has_the_ddls_types(spark):
    schema = spark.createDataFrame([], order_lines.CURATED_SCHEMA)
    assert written(schema, list(order_lines.PARTITION_COLUMNS)) == declared("curated.order_lines")


@pytest.mark.parametrize("suite", sorted(name for name in SUITES if name.startswith(("curated_", "marts_"))))
def test_each_table_suite_names_only_the_ddls_columns(suite):
    table = suite.replace("_", ".", 1)
    data, partitions = declared(table)
    columns = [name for name, _ in (*data, *partitions)]
    for kind, kwargs in loaded_suite(suite):
        if kind == "expect_table_columns_to_match_set":
            assert sorted(kwargs["column_set"]) == sorted(columns), suite
        for name in [kwargs.get("column"), *kwargs.get("column_list", [])]:
            assert name is None or name in columns, f"{suite}: {kind} on unknown column {name}"


@pytest.mark.parametrize("table", sorted(raw_tables.RAW_TABLES))
def test_the_raw_tables_pyarrow_and_spark_schemas_match_and_the_raw_suites_name_their_columns(table):
    arrow = raw_tables.RAW_TABLES[table]
    spark_schema = {"orders": contract_schemas.ORDERS, "order_items": contract_schemas.ORDER_ITEMS}[table]
    assert [(f.name, ARROW_TO_SPARK[f.type]) for f in arrow] == [(f.name, f.dataType) for f in spark_schema.fields]
    for kind, kwargs in loaded_suite(f"raw_{table}"):
        if kind == "expect_table_columns_to_match_ordered_list":
            assert kwargs["column_list"] == arrow.names
        for name in [kwargs.get("column"), *kwargs.get("column_list", [])]:
            assert name is None or name in arrow.names, f"raw_{table}: unknown column {name}"


def test_the_suites_name_the_contracts_columns_instead_of_listing_them():
    named = {
        name: expectation["kwargs"].get("column_set", expectation["kwargs"].get("column_list"))
        for name, suite in SUITES.items()
        for expectation in suite["expectations"]
        if expectation["type"] in ("expect_table_columns_to_match_set", "expect_table_columns_to_match_ordered_list")
    }
    assert named == {
        "curated_order_lines": {"columns_of": "curated.order_lines"},
        "raw_orders": {"columns_of": "raw.orders"},
    }


def test_a_suite_naming_a_table_the_contracts_do_not_declare_is_refused_with_its_name(tmp_path):
    from pipeline.gate import quality

    (tmp_path / "suites").mkdir()
    expectation = {"type": "expect_table_columns_to_match_set", "kwargs": {"column_set": {"columns_of": "raw.order"}}}
    (tmp_path / "suites" / "s.json").write_text(json.dumps({"name": "s", "expectations": [expectation]}))
    with pytest.raises(KeyError, match=r"raw\.order'.*declared"):
        quality.load_suite(tmp_path / "suites", "s")


def test_a_column_added_in_one_place_only_is_caught(lake_frames):
    """The drift check itself: a frame with one more column, or a suite naming one, does not pass."""
    frame, partitions = lake_frames["marts.state_sales"]
    assert written(frame, partitions) == declared("marts.state_sales")
    assert written(frame.withColumn("extra", frame["orders"]), partitions) != declared("marts.state_sales")
    assert written(frame.drop("orders"), partitions) != declared("marts.state_sales")


def test_the_catalog_loaders_sql_names_the_purchases_file_header_of_the_contract():
    """The generator and the Spark import take the header from contracts/purchases.py; the catalog loader's
    DuckDB SQL names the same fields itself (a SQL file cannot import it): every field it reads is the header's,
    and it reads them all."""
    import re

    from contracts.purchases import FILE_COLUMNS

    sql = (ROOT / "datagen" / "sql" / "check_purchases.sql").read_text()
    assert set(re.findall(r'"([A-Z][^"\']*)"', sql)) == set(FILE_COLUMNS)
