"""A hand-built lake of marts, registered in a real DuckDB catalog: two complete seasons and a running one
(as of Black Friday 2023), for the analyst queries and the dashboard."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline import staging
from pipeline.publish import table_registry
from seasons import calendar
from tests.conftest import ROOT

D = dt.date
TABLES = table_registry.load_table_defs(ROOT / "sql" / "athena")
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
    """Rows of one partition, typed from the table's DDL (missing columns are null), as the Spark jobs leave them:
    a version folder and the partition's `_current.json` pointing at it (staging.VERSIONS, staging.CURRENT)."""
    table = TABLES[qualified]
    schema = pa.schema([(name, arrow_type(kind)) for name, kind in table.columns])
    stamp = staging.new_stamp("test")
    folder = lake / table.lake_path / staging.VERSIONS / stamp / spec
    folder.mkdir(parents=True, exist_ok=True)
    columns = {name: [row.get(name) for row in rows] for name in schema.names}
    pq.write_table(pa.table(columns, schema=schema), folder / "part-00000.zstd.parquet")
    pointer = lake / table.lake_path / spec / staging.CURRENT
    pointer.parent.mkdir(parents=True, exist_ok=True)
    pointer.write_text(json.dumps({"stamp": stamp, "location": f"file://{folder}"}))  # as Spark writes it


def summary_row(year, status, as_of, surge, share, seed_surge, seed_share, peak_day, peak_orders) -> dict:
    complete = status == "complete"
    return {
        "thanksgiving": calendar.thanksgiving(year),
        "black_friday": calendar.black_friday(year),
        "cyber_monday": calendar.cyber_monday(year),
        "season_end": calendar.season_end(year),
        "status": status,
        "as_of": as_of,
        "window_orders": 100,
        # the share's parts: a share is stored at full precision and its part has a column of its own
        "november_revenue": Decimal("1000000.00"),
        "window_november_revenue": Decimal(str(share)) * Decimal("1000000.00"),
        "window_revenue": Decimal(str(share)) * Decimal("1000000.00") + Decimal("12345.67"),  # + December days
        "window_daily_order_surge": surge if complete else None,
        "window_november_share": share if complete else None,
        "seed_week_daily_order_surge": seed_surge if complete else None,
        "seed_week_november_share": seed_share if complete else None,
        "peak_day": peak_day,
        "peak_day_orders": peak_orders,
        "black_friday_orders": peak_orders,
        "cyber_monday_orders": 9,
    }


def day(date, orders, revenue, window=False) -> dict:
    return {"order_date": date, "orders": orders, "revenue": Decimal(revenue), "is_black_friday_window": window}


def to_date(year, offset, orders, to_date_orders, complete=True) -> dict:
    date = calendar.thanksgiving(year) + dt.timedelta(days=offset)
    return {
        "days_from_thanksgiving": offset,
        "order_date": date,
        "weekday": calendar.WEEKDAYS[date.weekday()],
        "orders": orders,
        "revenue": Decimal(orders),
        "orders_to_date": to_date_orders,
        "revenue_to_date": Decimal(to_date_orders),
        "is_complete_day": complete,
        "as_of": AS_OF,
    }


AS_OF = D(2023, 11, 24)  # Black Friday 2023: the 2023 season is running


@pytest.fixture(scope="module")
def catalog_path(tmp_path_factory):
    root = tmp_path_factory.mktemp("analytics")
    lake = root / "lake"
    for year, status, surge, share, seed_surge, seed_share, peak, orders in (
        (2021, "complete", 0.45, 0.25, 0.339, 0.3, D(2021, 11, 26), 151),
        # 19.3457%: a share rounded to 4 decimals in the mart and again in the query showed 19.4
        (2022, "complete", 0.48, 0.193457, -0.029, 0.31, D(2022, 11, 25), 160),
        (2023, "in_progress", 0.9, 0.9, 0.9, 0.9, D(2023, 11, 24), 170),
    ):
        row = summary_row(year, status, AS_OF, surge, share, seed_surge, seed_share, peak, orders)
        write_partition(lake, "marts.black_friday_summary", f"year={year}", [row])
    for year in (2021, 2022, 2023):
        rows = [row for row in calendar.calendar_days(year, year)]
        write_partition(lake, "curated.calendar", f"year={year}", rows)
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
    write_partition(lake, "marts.daily_sales", "year=2023/month=11", [day(D(2023, 11, 24), 50, "80.00", window=True)])
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
    # the running season's orders so far (the trap: the newest registered year is not a completed season)
    write_partition(lake, "marts.state_sales", "year=2023", [{"state": "IL", "orders": 40, "revenue": Decimal(80)}])
    for year, books, toys in ((2021, "30.00", "70.00"), (2022, "60.00", "40.00"), (2023, "1.00", "0.00")):
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
    write_partition(
        lake, "marts.season_to_date", "year=2022", [to_date(2022, o, 10, 10 * (o + 22)) for o in range(-21, 5)]
    )
    write_partition(
        lake,
        "marts.season_to_date",
        "year=2023",
        [to_date(2023, o, 12, 12 * (o + 22)) for o in range(-21, 1)] + [to_date(2023, 1, 50, 314, complete=False)],
    )
    path = str(root / "catalog.duckdb")
    registry = table_registry.LocalCatalog(
        TABLES, lake.as_uri(), path, table_registry.load_view_defs(ROOT / "sql" / "athena")
    )
    for table in TABLES:
        registry.repair(table)
    registry.ensure_views()
    # written but not registered: analysts must not see it
    write_partition(lake, "marts.state_sales", "year=2024", [{"state": "WY", "orders": 1, "revenue": Decimal(1)}])
    return path
