"""Analyst SQL and the report on a hand-built lake of marts, registered in a real DuckDB catalog."""

from __future__ import annotations

import datetime as dt
import re
import sys
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from analytics import __main__ as cli
from analytics import queries
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "dags"))
from pipeline import catalog

TABLES = catalog.load_table_defs(ROOT / "sql" / "athena")
D = dt.date


def arrow_type(athena_type: str) -> pa.DataType:
    kind = athena_type.upper()
    if kind.startswith("DECIMAL"):
        precision, scale = (int(n) for n in re.findall(r"\d+", kind))
        return pa.decimal128(precision, scale)
    return {
        "VARCHAR": pa.string(),
        "STRING": pa.string(),
        "BIGINT": pa.int64(),
        "INT": pa.int32(),
        "INTEGER": pa.int32(),
        "DOUBLE": pa.float64(),
        "DATE": pa.date32(),
        "BOOLEAN": pa.bool_(),
        "TIMESTAMP": pa.timestamp("us"),
    }[kind]


def write_partition(lake, qualified: str, spec: str, rows: list[dict]) -> None:
    """Rows of one partition, typed from the table's DDL (missing columns are null)."""
    table = TABLES[qualified]
    schema = pa.schema([(name, arrow_type(kind)) for name, kind in table.columns])
    folder = lake / table.lake_path / spec
    folder.mkdir(parents=True, exist_ok=True)
    columns = {name: [row.get(name) for row in rows] for name in schema.names}
    pq.write_table(pa.table(columns, schema=schema), folder / "part-00000.zstd.parquet")


def summary_row(year, thanksgiving, cyber_monday, surge, share, seed_surge, seed_share, peak_day, peak_orders) -> dict:
    return {
        "thanksgiving": thanksgiving,
        "cyber_monday": cyber_monday,
        "window_daily_order_surge": surge,
        "window_november_share": share,
        "seed_week_daily_order_surge": seed_surge,
        "seed_week_november_share": seed_share,
        "peak_day": peak_day,
        "peak_day_orders": peak_orders,
        "black_friday_orders": peak_orders,
        "cyber_monday_orders": 9,
    }


def day(date, orders, revenue, window=False) -> dict:
    return {"order_date": date, "orders": orders, "revenue": Decimal(revenue), "is_black_friday_window": window}


@pytest.fixture(scope="module")
def catalog_path(tmp_path_factory):
    root = tmp_path_factory.mktemp("analytics")
    lake = root / "lake"
    write_partition(
        lake,
        "marts.black_friday_summary",
        "year=2021",
        [summary_row(2021, D(2021, 11, 25), D(2021, 11, 29), 0.45, 0.25, 0.339, 0.3, D(2021, 11, 26), 151)],
    )
    write_partition(
        lake,
        "marts.black_friday_summary",
        "year=2022",
        [summary_row(2022, D(2022, 11, 24), D(2022, 11, 28), 0.48, 0.2, -0.029, 0.31, D(2022, 11, 25), 160)],
    )
    write_partition(
        lake,
        "marts.daily_sales",
        "year=2021/month=11",
        [day(D(2021, 11, 1), 10, "100.00"), day(D(2021, 11, 26), 30, "300.00", window=True)],
    )
    write_partition(
        lake,
        "marts.daily_sales",
        "year=2022/month=11",
        [day(D(2022, 11, 1), 10, "50.00"), day(D(2022, 11, 25), 40, "150.00", window=True)],
    )
    write_partition(lake, "marts.daily_sales", "year=2022/month=12", [day(D(2022, 12, 1), 4, "20.00")])
    write_partition(lake, "marts.state_sales", "year=2021", [{"state": "NY", "orders": 99, "revenue": Decimal(999)}])
    write_partition(
        lake,
        "marts.state_sales",
        "year=2022",
        [
            {"state": "TX", "orders": 1, "revenue": Decimal("100.00")},
            {"state": "CA", "orders": 3, "revenue": Decimal("300.00")},
        ],
    )
    for year, books, toys in ((2021, "30.00", "70.00"), (2022, "60.00", "40.00")):
        write_partition(
            lake,
            "marts.category_sales",
            f"year={year}",
            [{"category": "BOOKS", "revenue": Decimal(books)}, {"category": "TOYS", "revenue": Decimal(toys)}],
        )
    write_partition(
        lake,
        "marts.olap_cube",
        "year=2022/month=11",
        [
            {"state": "CA", "category": "TOYS", "orders": 2, "revenue": Decimal("30.00")},
            {"state": "CA", "category": "BOOKS", "orders": 1, "revenue": Decimal("10.00")},
            {"state": "TX", "category": "TOYS", "orders": 1, "revenue": Decimal("60.00")},
            {"state": "CA", "category": None, "orders": 3, "revenue": Decimal("40.00")},
            {"state": "TX", "category": None, "orders": 1, "revenue": Decimal("60.00")},
            {"state": None, "category": "TOYS", "orders": 3, "revenue": Decimal("90.00")},
            {"state": None, "category": None, "orders": 4, "revenue": Decimal("100.00")},
        ],
    )
    path = str(root / "catalog.duckdb")
    registry = catalog.LocalCatalog(TABLES, lake.as_uri(), path)
    for table in TABLES:
        registry.repair(table)
    # written but not registered: analysts must not see it
    write_partition(lake, "marts.state_sales", "year=2023", [{"state": "WY", "orders": 1, "revenue": Decimal(1)}])
    return path


def run(catalog_path, name) -> list[tuple]:
    with queries.Analyst(catalog_path) as analyst:
        return analyst.run_canonical(name).rows


def test_bf_week_by_year(catalog_path):
    assert run(catalog_path, "bf_week_by_year") == [
        (2021, "2021-11-25", "2021-11-29", 45.0, 33.9, "2021-11-26", 5, 151, 151, 9),
        (2022, "2022-11-24", "2022-11-28", 48.0, -2.9, "2022-11-25", 5, 160, 160, 9),
    ]


def test_november_share(catalog_path):
    assert run(catalog_path, "november_share") == [(2021, 400.0, 300.0, 25.0, 30.0), (2022, 200.0, 150.0, 20.0, 31.0)]


def test_daily_trend_is_the_latest_year_with_a_moving_average(catalog_path):
    assert run(catalog_path, "daily_trend") == [
        (D(2022, 11, 1), 10, 50.0, 10.0, False),
        (D(2022, 11, 25), 40, 150.0, 25.0, True),
        (D(2022, 12, 1), 4, 20.0, 18.0, False),
    ]


def test_top_states_of_the_latest_registered_year(catalog_path):
    # 2023 is written to the lake but not registered: the latest year is 2022
    assert run(catalog_path, "top_states") == [("CA", 3, 300.0, 75.0), ("TX", 1, 100.0, 25.0)]


def test_category_mix(catalog_path):
    assert run(catalog_path, "category_mix") == [
        (2021, "BOOKS", 30.0),
        (2022, "BOOKS", 60.0),
        (2021, "TOYS", 70.0),
        (2022, "TOYS", 40.0),
    ]


def test_olap_cube_slice_uses_the_state_and_month_totals(catalog_path):
    assert run(catalog_path, "olap_cube_slice") == [
        ("TX", "TOYS", 1, 60.0, 100.0, 60.0),
        ("CA", "TOYS", 2, 30.0, 75.0, 30.0),
        ("CA", "BOOKS", 1, 10.0, 25.0, 10.0),
    ]


@pytest.mark.parametrize("name", sorted(queries.canonical_queries()))
def test_each_canonical_query_is_athena_sql_that_translates_to_duckdb(name):
    source = queries.canonical_queries()[name].read_text()
    translated = queries.to_duckdb(source)
    assert translated and translated != source
    assert "date_format" not in translated.lower() and "day_of_week" not in translated.lower()


def test_the_cli_runs_a_query_ad_hoc_sql_and_explains_errors(catalog_path, capsys):
    assert cli.main(["--catalog", catalog_path, "query", "top_states", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "state,orders,revenue,revenue_share_pct",
        "CA,3,300.0,75.0",
        "TX,1,100.0,25.0",
    ]
    sql = "SELECT year, day_of_week(peak_day) AS dow FROM marts.black_friday_summary ORDER BY year"
    assert cli.main(["--catalog", catalog_path, "query", "--sql", sql, "--format", "csv", "--show-sql"]) == 0
    out = capsys.readouterr().out
    assert "ISODOW" in out and out.endswith("year,dow\n2021,5\n2022,5\n")
    assert cli.main(["--catalog", catalog_path, "query", "nope"]) == 1
    assert "no canonical query 'nope'" in capsys.readouterr().err
    assert cli.main(["--catalog", catalog_path, "query", "--sql", "SELECT FROM WHERE ("]) == 1
    assert "does not parse" in capsys.readouterr().err
    assert cli.main(["--catalog", catalog_path, "query", "--sql", "SELECT * FROM marts.nope"]) == 1
    assert "failed on DuckDB" in capsys.readouterr().err
    assert cli.main(["--catalog", catalog_path, "query", "--sql", "DROP TABLE marts.state_sales"]) == 1  # read-only
    assert cli.main(["--catalog", "/nonexistent/catalog.duckdb", "query", "top_states"]) == 1
    assert "run `make demo`" in capsys.readouterr().err


def test_the_report_renders_its_charts(catalog_path, tmp_path, capsys):
    assert cli.main(["--catalog", catalog_path, "report", "--out", str(tmp_path / "report")]) == 0
    html = (tmp_path / "report" / "index.html").read_text()
    charts = re.findall(r'<img src="([^"]+)"', html)
    assert charts == [
        "daily_trend.png",
        "surge_by_year.png",
        "november_share.png",
        "top_states.png",
        "category_mix.png",
    ]
    for chart in charts:
        with Image.open(tmp_path / "report" / chart) as image:
            assert image.format == "PNG" and image.size[0] >= 600
    assert "2022-11-25" in html and "<th>window_share_pct</th>" in html  # the tables carry the numbers
