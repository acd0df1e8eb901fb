"""The season view end to end, as analysts get it: curated lines -> the marts job with an explicit --as-of ->
the partitions registered in a DuckDB catalog -> the canonical queries. As-of dates around an early (2023:
Thanksgiving Nov 23) and a late Thanksgiving (2024: Nov 28, Cyber Monday Dec 2), with and without orders placed
on the as-of day itself (the storefront's, in state IL): every query answers for the right season and nothing
divides by an unfinished November."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pyspark.sql import functions as F

from analytics import queries
from jobs import build_marts, lake_io
from pipeline.publish import table_registry
from seasons import calendar
from tests.conftest import ROOT
from transforms import order_lines

D = dt.date
HISTORY_STATE = {2022: "NY", 2023: "CA", 2024: "TX"}  # each year's orders ship to one state: the answer shows the year
TODAY_STATE = "IL"


def curated_lines(spark, as_of: dt.date, with_today: bool):
    """One order a day of every season's months (October to December) from October 1 of the year before `as_of`
    to the day before `as_of` (two on Black Friday), and, with_today, three storefront orders on the as-of day.
    (Older seasons and the other months would only add partitions: no season query reads them.)"""
    rows, day, n = [], D(as_of.year - 1, 10, 1), 0
    while day < as_of:
        for _ in range(2 if day == calendar.black_friday(day.year) else 1):
            n += 1
            rows.append((day, f"o-{n}", HISTORY_STATE[day.year], Decimal("10.00")))
        day += dt.timedelta(days=1)
        if day.month < 10:  # past December: the next season's October
            day = D(day.year, 10, 1)
    if with_today:
        rows += [(as_of, f"t-{i}", TODAY_STATE, Decimal("1.00")) for i in range(3)]
    frame = spark.createDataFrame(rows, "order_date date, order_id string, state string, revenue decimal(14,2)")
    filled = frame.withColumns(
        {
            "order_ts": F.col("order_date").cast("timestamp"),
            "line_no": F.lit(1),
            "customer_id": F.col("order_id"),
            "asin": F.lit("B000000001"),
            "title": F.lit("T"),
            "category": F.lit("TOYS"),
            "quantity": F.lit(1),
            "unit_price": F.col("revenue").cast("decimal(12,2)"),
            "status": F.lit("paid"),
            "source": F.lit("oltp"),
            "source_ref": F.lit("w"),
        }
    )
    return order_lines._finish(filled)


def analysts_view(spark, tmp_path, as_of: dt.date, with_today: bool) -> queries.Analyst:
    lake = (tmp_path / "lake").as_uri()
    curated = lake_io.VersionedTable(
        spark, f"{lake}/curated/order_lines", order_lines.PARTITION_COLUMNS, None, lake_io.new_stamp("test")
    )
    curated.write(curated_lines(spark, as_of, with_today))
    curated.switch()
    build_marts.run(spark, build_marts.parse_args(["--lake", lake, "--as-of", as_of.isoformat()]))
    ddl = ROOT / "sql" / "athena"
    registry = table_registry.LocalCatalog(
        table_registry.load_table_defs(ddl), lake, str(tmp_path / "catalog.duckdb"), table_registry.load_view_defs(ddl)
    )
    for table in registry.tables:
        registry.repair(table)
    registry.ensure_views()
    return queries.Analyst(str(tmp_path / "catalog.duckdb"))


CASES = [
    # as-of, with today's orders, latest completed season, the season in progress (None: none)
    (D(2023, 11, 24), True, 2022, 2023),  # Black Friday of an early Thanksgiving
    (D(2023, 11, 30), True, 2022, 2023),  # November 30: today's orders reach the month's last day
    (D(2023, 12, 1), False, 2023, None),  # the day after: complete
    (D(2023, 12, 1), True, 2023, None),
    (D(2024, 11, 21), True, 2023, 2024),  # a week before a late Thanksgiving
    (D(2024, 11, 29), True, 2023, 2024),  # Black Friday
    (D(2024, 11, 30), False, 2023, 2024),
    (D(2024, 11, 30), True, 2023, 2024),
    (D(2024, 12, 1), True, 2023, 2024),  # November is over, the window runs to Cyber Monday, Dec 2
    (D(2024, 12, 3), True, 2024, None),  # the day after a December Cyber Monday
]


@pytest.mark.parametrize(("as_of", "with_today", "latest_completed", "running"), CASES)
def test_every_canonical_query_answers_for_the_right_season(
    spark, tmp_path, as_of, with_today, latest_completed, running
):
    with analysts_view(spark, tmp_path, as_of, with_today) as analyst:
        assert analyst.run_sql("SELECT year, as_of FROM marts.latest_completed_season").rows == [
            (latest_completed, as_of)
        ]
        by_year = {r["year"]: r for r in analyst.run_canonical("black_friday_by_year").records()}
        assert by_year[latest_completed]["status"] == "complete"
        assert by_year[latest_completed]["window_surge_pct"] > 0  # two orders on Black Friday, one on other days
        if running:
            assert by_year[running]["status"] == "in_progress" and by_year[running]["as_of"] == as_of.isoformat()
            assert (by_year[running]["window_surge_pct"], by_year[running]["seed_week_surge_pct"]) == (None, None)
            shares = {r["year"]: r for r in analyst.run_canonical("november_share").records()}
            assert (shares[running]["window_share_pct"], shares[running]["seed_week_share_pct"]) == (None, None)
        assert max(by_year) == as_of.year

        # the season-parameterised queries default to the latest completed season, never the running one
        states = [r["state"] for r in analyst.run_canonical("top_states").records()]
        assert states == [HISTORY_STATE[latest_completed]] + (
            [TODAY_STATE] if as_of.year == latest_completed and with_today else []
        )
        trend = analyst.run_canonical("daily_trend").records()
        assert {r["order_date"][:4] for r in trend} == {str(latest_completed)}
        assert {r["category"] for r in analyst.run_canonical("category_mix").records() if r["year"] == latest_completed}
        cube = analyst.run_canonical("olap_cube_slice").records()
        assert {r["state"] for r in cube} == {HISTORY_STATE[latest_completed]}

        # season to date: the newest season that has begun, up to the as-of day, against the same days last year
        to_date = analyst.run_canonical("season_to_date").records()
        assert to_date[-1]["order_date"] == min(as_of, calendar.cyber_monday(as_of.year)).isoformat()
        assert to_date[-1]["is_complete_day"] == (as_of > calendar.cyber_monday(as_of.year))
        assert all(r["last_year_date"][:4] == str(as_of.year - 1) for r in to_date)
        complete_days = [r for r in to_date if r["is_complete_day"]]
        assert all(r["orders"] == (2 if r["days_from_thanksgiving"] == 1 else 1) for r in complete_days)
