"""Partition registration: the local DuckDB catalog (real) and Athena (moto server, the rendered statements)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlparse

import boto3
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline import registry_cli, staging
from pipeline.lake import Lake
from pipeline.publish import register_step, table_registry
from tests.conftest import ROOT

TABLES = table_registry.load_table_defs(ROOT / "sql" / "athena")


def write_state_sales(lake_root, year: int, states: dict[str, int], run: str = "spark") -> str:
    """One partition as a Spark job leaves it: a new version and the partition's `_current.json` naming it;
    returns the version's URI."""
    stamp = staging.new_stamp(run)
    folder = lake_root / "marts" / "state_sales" / staging.VERSIONS / stamp / f"year={year}"
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "state": list(states),
            "orders": pa.array(list(states.values()), pa.int64()),
            "quantity": pa.array(list(states.values()), pa.int64()),
            "revenue": pa.array([v * 10 for v in states.values()], pa.decimal128(16, 2)),
            "unique_customers": pa.array([1] * len(states), pa.int64()),
        }
    )
    pq.write_table(table, folder / "part-00000.zstd.parquet")
    pointer = lake_root / "marts" / "state_sales" / f"year={year}" / staging.CURRENT
    pointer.parent.mkdir(parents=True, exist_ok=True)
    pointer.write_text(json.dumps({"stamp": stamp, "location": f"file://{folder}"}))  # as Spark writes it
    return f"file://{folder}"


def visible(catalog_path, sql: str) -> list[tuple]:
    with duckdb.connect(catalog_path, read_only=True) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture
def local(tmp_path):
    lake_root = tmp_path / "lake"
    write_state_sales(lake_root, 2021, {"CA": 5, "TX": 3})
    write_state_sales(lake_root, 2022, {"CA": 7})
    target = table_registry.LocalCatalog(TABLES, lake_root.as_uri(), str(tmp_path / "catalog.duckdb"))
    target.ensure_tables()
    return target


def test_the_ddl_defines_every_curated_table_and_mart():
    assert sorted(TABLES) == [
        "curated.calendar",
        "curated.order_lines",
        "marts.black_friday_summary",
        "marts.category_sales",
        "marts.daily_sales",
        "marts.olap_cube",
        "marts.season_to_date",
        "marts.state_sales",
    ]
    assert sorted(table_registry.load_view_defs(ROOT / "sql" / "athena")) == ["marts.latest_completed_season"]
    lines = TABLES["curated.order_lines"]
    assert lines.partition_columns == (("year", "INTEGER"), ("month", "INTEGER"), ("bucket", "INTEGER"))
    assert ("revenue", "DECIMAL(14, 2)") in lines.columns and lines.lake_path == "curated/order_lines"


def test_unregistered_partitions_are_invisible_and_registering_shows_them(local):
    query = "SELECT year, state, orders FROM marts.state_sales ORDER BY year, state"
    assert visible(local.path, query) == []  # written, not registered

    local.register("marts.state_sales", ["year=2021"])

    assert visible(local.path, query) == [(2021, "CA", 5), (2021, "TX", 3)]  # 2022 is still invisible
    local.register("marts.state_sales", ["year=2022"])
    assert visible(local.path, query) == [(2021, "CA", 5), (2021, "TX", 3), (2022, "CA", 7)]
    column_types = visible(local.path, "SELECT typeof(year), typeof(revenue) FROM marts.state_sales LIMIT 1")
    assert column_types == [("INTEGER", "DECIMAL(16,2)")]


def test_registration_is_idempotent(local):
    for _ in range(3):
        assert local.register("marts.state_sales", ["year=2021", "year=2021"]) == ["year=2021"]
    assert visible(local.path, "SELECT count(*) FROM marts.state_sales") == [(2,)]


def test_a_dropped_partition_disappears_and_repair_finds_what_is_in_the_lake(local, tmp_path):
    local.register("marts.state_sales", ["year=2021", "year=2022"])
    local.register("marts.state_sales", [], removed=["year=2021"])
    assert visible(local.path, "SELECT DISTINCT year FROM marts.state_sales") == [(2022,)]

    write_state_sales(tmp_path / "lake", 2023, {"NY": 1})
    assert local.repair("marts.state_sales") == ["year=2021", "year=2022", "year=2023"]
    assert visible(local.path, "SELECT count(*) FROM marts.state_sales") == [(4,)]


def test_bad_partitions_are_refused_with_the_reason(local):
    with pytest.raises(table_registry.CatalogError, match=r"expected year=…/month=…/bucket=…"):
        local.register("curated.order_lines", ["year=2022/month=1"])
    with pytest.raises(table_registry.CatalogError, match="year must be an integer, got 'x'"):
        local.register("marts.state_sales", ["year=x"])
    with pytest.raises(table_registry.CatalogError, match=r"no Parquet files in partitions \['year=1999'\]"):
        local.register("marts.state_sales", ["year=1999"])
    with pytest.raises(table_registry.CatalogError, match=r"unknown table 'marts\.nope'"):
        local.register("marts.nope", ["year=2022"])


def test_the_registry_cli_initialises_lists_and_repairs(local, monkeypatch, capsys):
    monkeypatch.setenv("BFP_LAKE_URI", local.lake_uri)
    monkeypatch.setenv("BFP_CATALOG_PATH", local.path)
    assert registry_cli.main(["repair", "--table", "marts.state_sales"]) == 0
    assert "marts.state_sales: 2 partitions ['year=2021', 'year=2022']" in capsys.readouterr().out
    assert registry_cli.main(["register", "--table", "marts.state_sales", "--partition", "year=x"]) == 1
    assert "year must be an integer" in capsys.readouterr().err


def test_athena_statements_are_batched_and_carry_each_location():
    table = TABLES["curated.order_lines"]
    specs = [f"year=2022/month={m}/bucket=0" for m in range(1, 13)]
    statements = table_registry.render_add_partitions(table, specs, "s3://bucket/lake/", batch=5)
    assert len(statements) == 3
    assert statements[0].startswith(
        "ALTER TABLE curated.order_lines ADD IF NOT EXISTS\n  PARTITION (year=2022, month=1, bucket=0)"
    )
    assert "LOCATION 's3://bucket/lake/curated/order_lines/year=2022/month=12/bucket=0/'" in statements[2]
    drops = table_registry.render_drop_partitions(table, specs[:2])
    assert drops == [
        "ALTER TABLE curated.order_lines DROP IF EXISTS PARTITION (year=2022, month=1, bucket=0),"
        " PARTITION (year=2022, month=2, bucket=0)"
    ]


@pytest.fixture
def athena(aws_endpoint):
    return boto3.client("athena", endpoint_url=aws_endpoint, region_name="us-east-1")


def test_on_aws_registration_switches_the_partitions_to_the_versions_the_gate_passed(athena, aws_endpoint, settings):
    aws = replace(
        settings,
        target="aws",
        lake_uri="s3://bfp-lake/prod",
        athena_output_uri="s3://bfp-athena-results/",
        aws_conn_id="aws_default",
    )
    stamp = staging.new_stamp("run_7")
    curated = f"s3://bfp-lake/prod/curated/order_lines/_v/{stamp}/year=2026/month=11/bucket=0"
    state_sales = f"s3://bfp-lake/prod/marts/state_sales/_v/{stamp}/year=2026"
    refresh = {
        "stamp": stamp,
        "order_lines": {
            "partitions": ["year=2026/month=11/bucket=0"],
            "partitions_removed": ["year=2026/month=10/bucket=0"],
            "locations": {"year=2026/month=11/bucket=0": curated},
        },
        "marts": {
            "partitions": {"marts.state_sales": ["year=2026"]},
            "partitions_removed": {"marts.season_to_date": ["year=2027"]},
            "locations": {"marts.state_sales": {"year=2026": state_sales}},
        },
    }
    s3 = boto3.client("s3", endpoint_url=aws_endpoint)
    for uri in (curated, state_sales):
        s3.put_object(Bucket="bfp-lake", Key=uri.removeprefix("s3://bfp-lake/") + "/part-0.parquet", Body=b"PAR1")
    _, staged, _ = staging.versions_of_run(aws, refresh)

    logged = register_step.register_run(aws, refresh, run_id="run_7", dq={"stamp": stamp, "staged": staged})

    executions = athena.list_query_executions()["QueryExecutionIds"]
    ran = [athena.get_query_execution(QueryExecutionId=i)["QueryExecution"] for i in executions]
    queries = sorted(q["Query"] for q in ran)
    assert logged["stamp"] == stamp
    assert any(q.startswith("CREATE EXTERNAL TABLE IF NOT EXISTS curated.order_lines") for q in queries)
    assert "LOCATION 's3://bfp-lake/prod/curated/order_lines/'" in "\n".join(queries)
    partition = "PARTITION (year=2026, month=11, bucket=0)"
    assert f"ALTER TABLE curated.order_lines ADD IF NOT EXISTS\n  {partition} LOCATION '{curated}/'" in queries
    # a partition registered before moves to the new version: write-audit-publish on Athena, nothing copied
    assert f"ALTER TABLE curated.order_lines {partition} SET LOCATION '{curated}/'" in queries
    assert "ALTER TABLE curated.order_lines DROP IF EXISTS PARTITION (year=2026, month=10, bucket=0)" in queries
    assert (
        f"ALTER TABLE marts.state_sales ADD IF NOT EXISTS\n  PARTITION (year=2026) LOCATION '{state_sales}/'" in queries
    )
    assert "ALTER TABLE marts.season_to_date DROP IF EXISTS PARTITION (year=2027)" in queries
    pointer = json.loads(
        s3.get_object(Bucket="bfp-lake", Key="prod/curated/order_lines/year=2026/month=11/bucket=0/_registered.json")[
            "Body"
        ].read()
    )
    assert pointer == {"stamp": stamp, "location": curated}
    view = next(q for q in queries if q.startswith("CREATE OR REPLACE VIEW marts.latest_completed_season"))
    assert "WHERE status = 'complete'" in view  # the one place the season rule is applied
    assert all(q["ResultConfiguration"]["OutputLocation"].startswith("s3://bfp-athena-results/") for q in ran)
    assert {q["WorkGroup"] for q in ran} == {"primary"}


def test_on_aws_a_full_repair_publishes_every_partitions_current_version(athena, aws_endpoint, settings):
    aws = replace(settings, target="aws", lake_uri="s3://bfp-lake/prod", athena_output_uri="s3://r/")
    s3 = boto3.client("s3", endpoint_url=aws_endpoint)
    versions = {}
    for year in (2025, 2026):
        version = f"prod/marts/state_sales/_v/{staging.new_stamp('spark')}/year={year}"
        s3.put_object(Bucket="bfp-lake", Key=f"{version}/p.parquet", Body=b"PAR1")
        versions[year] = f"s3://bfp-lake/{version}"
        pointer = json.dumps({"stamp": version.split("/")[-2], "location": versions[year]})
        s3.put_object(Bucket="bfp-lake", Key=f"prod/marts/state_sales/year={year}/_current.json", Body=pointer)

    logged = register_step.register_run(aws, {}, full_repair=True, run_id="repair")

    executions = athena.list_query_executions()["QueryExecutionIds"]
    queries = {athena.get_query_execution(QueryExecutionId=i)["QueryExecution"]["Query"] for i in executions}
    assert logged["registered"]["marts.state_sales"] == ["year=2025", "year=2026"]
    for year in (2025, 2026):
        assert f"ALTER TABLE marts.state_sales PARTITION (year={year}) SET LOCATION '{versions[year]}/'" in queries


def test_registration_points_at_the_new_version_and_the_sweep_removes_superseded_ones_after_retention(local, settings):
    lake_root = Path(urlparse(local.lake_uri).path)
    lake = Lake.from_uri(local.lake_uri)
    table = TABLES["marts.state_sales"]
    query = "SELECT state, orders FROM marts.state_sales WHERE year = 2021 ORDER BY state"
    register_step.register_partitions(settings, {"marts.state_sales": ["year=2021"]}, {}, run_id="run_a")
    assert visible(local.path, query) == [("CA", 5), ("TX", 3)]
    first = staging.registered_stamp(lake, table, "year=2021")

    write_state_sales(lake_root, 2021, {"NY": 9})  # the next Spark job: a new version, current, not registered
    assert visible(local.path, query) == [("CA", 5), ("TX", 3)]  # analysts still read the registered version
    assert staging.sweep_versions(lake, table.lake_path, dt.timedelta(0)) == 0  # both versions are named
    register_step.register_partitions(settings, {"marts.state_sales": ["year=2021"]}, {}, run_id="run_b")
    assert visible(local.path, query) == [("NY", 9)]
    second = staging.registered_stamp(lake, table, "year=2021")
    versions = lake_root / "marts" / "state_sales" / staging.VERSIONS
    year_2021 = sorted(p.parent.name for p in versions.glob("*/year=2021"))
    assert year_2021 == sorted([first, second]) and second > first

    assert staging.sweep_versions(lake, table.lake_path, dt.timedelta(hours=24)) == 0  # readers may be on it
    assert staging.sweep_versions(lake, table.lake_path, dt.timedelta(0)) == 1  # the superseded one goes
    assert sorted(p.parent.name for p in versions.glob("*/year=2021")) == [second]  # never the registered one
    assert visible(local.path, query) == [("NY", 9)]


def test_registration_only_moves_forward(local, settings):
    """A run that registers after a later run published the same partition keeps the later version."""
    lake_root = Path(urlparse(local.lake_uri).path)
    older = write_state_sales(lake_root, 2021, {"OLD": 1}, run="old")
    newer = write_state_sales(lake_root, 2021, {"NY": 9}, run="newer")
    register_step.register_partitions(settings, {"marts.state_sales": ["year=2021"]}, {}, run_id="newer")
    old_stamp = older.split(f"/{staging.VERSIONS}/")[1].split("/")[0]
    logged = register_step.register_partitions(
        settings,
        {"marts.state_sales": ["year=2021"]},
        {},
        run_id="old",
        staged=(old_stamp, {"marts.state_sales": {"year=2021": older}}),
    )
    assert logged["kept_newer"] == {"marts.state_sales": ["year=2021"]}
    assert visible(local.path, "SELECT state FROM marts.state_sales WHERE year = 2021") == [("NY",)]
    assert staging.registered_stamp(Lake.from_uri(local.lake_uri), TABLES["marts.state_sales"], "year=2021") in newer
