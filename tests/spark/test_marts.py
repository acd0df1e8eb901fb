"""Marts on small hand-built curated rows (exact), and on a generated file at demo scale (the calibrated figures)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from pyspark.sql import functions as F

from datagen import figures, purchases, purchases_file
from jobs import build_marts, build_order_lines, import_purchases, lake_io
from support import hadoop_fs_calls
from tests.spark.conftest import assert_frames_equal
from transforms import marts, order_lines
from transforms.calendar import with_period_flags

D = dt.date


def curated(spark, rows: list[tuple], source: str = "oltp"):
    """Curated rows from (date, order_id, customer, state, category, quantity, revenue, status)."""
    frame = spark.createDataFrame(
        rows,
        "order_date date, order_id string, customer_id string, state string, category string, "
        "quantity int, revenue decimal(14,2), status string",
    )
    filled = frame.withColumns(
        {
            "order_ts": F.col("order_date").cast("timestamp"),
            "line_no": F.lit(1),
            "asin": F.lit("B000000001"),
            "title": F.lit("T"),
            "unit_price": F.col("revenue").cast("decimal(12,2)"),
            "source": F.lit(source),
            "source_ref": F.lit("w"),
        }
    )
    return order_lines._finish(filled)


def test_daily_sales_counts_orders_customers_and_excludes_cancelled(spark):
    lines = curated(
        spark,
        [
            (D(2022, 11, 25), "o-1", "c-1", "CA", "TOYS", 2, Decimal("20.00"), "paid"),
            (D(2022, 11, 25), "o-1", "c-1", "CA", "BOOKS", 1, Decimal("5.00"), "paid"),
            (D(2022, 11, 25), "o-2", "c-2", "NY", "TOYS", 1, Decimal("7.00"), "delivered"),
            (D(2022, 11, 25), "o-3", "c-3", "NY", "TOYS", 9, Decimal("0.00"), "cancelled"),
            (D(2022, 11, 30), "o-4", "c-1", "CA", "TOYS", 1, Decimal("10.00"), "shipped"),
        ],
    )
    expected = spark.createDataFrame(
        [
            (2022, 11, D(2022, 11, 25), 2, 4, Decimal("32.00"), 16.0, 2, True, True, True, True, False),
            (2022, 11, D(2022, 11, 30), 1, 1, Decimal("10.00"), 10.0, 1, False, False, False, False, False),
        ],
        "year int, month int, order_date date, orders long, quantity long, revenue decimal(16,2), "
        "average_order_value double, unique_customers long, is_black_friday_window boolean, is_peak_week boolean, "
        "is_seed_week boolean, is_black_friday boolean, is_cyber_monday boolean",
    )
    got = marts.daily_sales(marts.mart_lines(lines)).withColumn(
        "average_order_value", F.col("average_order_value").cast("double")
    )
    assert_frames_equal(got, expected)


def test_olap_cube_has_every_grouping(spark):
    lines = curated(
        spark,
        [
            (D(2022, 11, 25), "o-1", "c-1", "CA", "TOYS", 1, Decimal("1.00"), "paid"),
            (D(2022, 11, 25), "o-2", "c-2", "NY", "BOOKS", 1, Decimal("2.00"), "paid"),
        ],
    )
    got = [
        (r.year, r.month, r.state, r.category, r.revenue)
        for r in marts.olap_cube(marts.customer_cells(marts.mart_lines(lines))).collect()
    ]
    assert sorted(got, key=str) == sorted(
        [
            (2022, 11, "CA", "TOYS", Decimal("1.00")),
            (2022, 11, "NY", "BOOKS", Decimal("2.00")),
            (2022, 11, "CA", None, Decimal("1.00")),
            (2022, 11, "NY", None, Decimal("2.00")),
            (2022, 11, None, "TOYS", Decimal("1.00")),
            (2022, 11, None, "BOOKS", Decimal("2.00")),
            (2022, 11, None, None, Decimal("3.00")),  # the partition keys are never null
        ],
        key=str,
    )


def test_order_and_customer_counts_equal_distinct_counts_in_every_mart(spark):
    # Orders with lines in two categories, a customer in two states and two categories in one month, a cancelled
    # order: the flag sums must give what count(DISTINCT ...) gives for every grouping.
    lines = curated(
        spark,
        [
            (D(2022, 11, 25), "o-1", "c-1", "CA", "TOYS", 1, Decimal("1.00"), "paid"),
            (D(2022, 11, 25), "o-1", "c-1", "CA", "TOYS", 2, Decimal("2.00"), "paid"),
            (D(2022, 11, 25), "o-1", "c-1", "CA", "BOOKS", 1, Decimal("3.00"), "paid"),
            (D(2022, 11, 26), "o-2", "c-1", "NY", "BOOKS", 1, Decimal("4.00"), "paid"),
            (D(2022, 11, 26), "o-3", "c-2", "NY", "TOYS", 1, Decimal("5.00"), "delivered"),
            (D(2022, 11, 26), "o-4", "c-2", "NY", "TOYS", 1, Decimal("6.00"), "delivered"),
            (D(2022, 11, 27), "o-5", "c-3", "TX", "GAMES", 1, Decimal("7.00"), "paid"),
            (D(2022, 11, 27), "o-6", "c-3", "CA", "TOYS", 1, Decimal("0.00"), "cancelled"),
            (D(2022, 12, 1), "o-7", "c-1", "CA", "TOYS", 3, Decimal("8.00"), "paid"),
        ],
    ).unionByName(
        curated(  # historical purchases, one line per order, sharing customers, days and cells with OLTP orders
            spark,
            [
                (D(2022, 11, 25), "p-1", "c-1", "CA", "TOYS", 1, Decimal("9.00"), "delivered"),
                (D(2022, 11, 25), "p-2", "c-9", "CA", "BOOKS", 1, Decimal("9.50"), "delivered"),
                (D(2022, 11, 26), "p-3", "c-2", "NY", "TOYS", 2, Decimal("3.00"), "delivered"),
                (D(2022, 12, 1), "p-4", "c-1", "TX", "GAMES", 1, Decimal("1.00"), "delivered"),
            ],
            source="purchases",
        )
    )
    live = lines.where("status != 'cancelled'")

    def distinct_counts(*keys):
        return live.groupBy(*keys).agg(
            F.count_distinct("order_id").alias("orders"), F.count_distinct("customer_id").alias("unique_customers")
        )

    facts = marts.mart_lines(lines)
    for got, keys in (
        (marts.daily_sales(facts), ["year", "month", "order_date"]),
        (marts.state_sales(marts.customer_cells(facts)), ["year", "state"]),
        (marts.category_sales(marts.customer_cells(facts)), ["year", "category"]),
    ):
        assert sorted(got.select(*keys, "orders", "unique_customers").collect()) == sorted(
            distinct_counts(*keys).collect()
        )

    cube = marts.olap_cube(marts.customer_cells(facts))
    for keys in (["state", "category"], ["state"], ["category"], []):
        # a grouping's rows: the columns outside it are null ('all')
        others = [c for c in ("state", "category") if c not in keys]
        grouped = cube.where(" AND ".join([f"{c} IS NULL" for c in others]) or "true")
        expected = distinct_counts("year", "month", *keys).select(
            "year",
            "month",
            *[F.col(c) if c in keys else F.lit(None).cast("string").alias(c) for c in ("state", "category")],
            "orders",
            "unique_customers",
        )
        if keys:
            grouped = grouped.where(" AND ".join(f"{c} IS NOT NULL" for c in keys))
        assert sorted(grouped.select(*expected.columns).collect(), key=str) == sorted(expected.collect(), key=str)
    assert cube.where("state IS NULL AND category IS NULL AND month = 11").first().unique_customers == 4


def daily_frame(spark, days: list[tuple]):
    """The daily mart's rows from (date, orders, revenue), flagged from the calendar."""
    columns = marts.daily_sales(marts.mart_lines(spark.createDataFrame([], order_lines.CURATED_SCHEMA))).columns
    frame = spark.createDataFrame(
        [(d.year, d.month, d, orders, orders, Decimal(revenue)) for d, orders, revenue in days],
        "year int, month int, order_date date, orders long, quantity long, revenue decimal(16,2)",
    )
    filled = frame.withColumns({"average_order_value": F.lit(1.0), "unique_customers": F.lit(1).cast("long")})
    return with_period_flags(filled).select(*columns)


def november_2022(spark):
    # 2022: Thanksgiving Nov 24 .. Cyber Monday Nov 28. 10 orders a day on the other 25 November days,
    # 20 a day in the window (5 days), Black Friday 40; then December.
    days = []
    for day in range(1, 31):
        orders = 40 if day == 25 else 20 if 24 <= day <= 28 else 10
        days.append((D(2022, 11, day), orders, orders))
    return daily_frame(spark, [*days, (D(2022, 12, 1), 5, 5)])


def test_black_friday_summary_by_hand(spark):
    daily = november_2022(spark)
    summary = marts.black_friday_summary(daily, D(2022, 12, 1)).collect()[0]
    window_orders = 20 * 4 + 40
    assert (summary.thanksgiving, summary.black_friday, summary.cyber_monday) == (
        D(2022, 11, 24),
        D(2022, 11, 25),
        D(2022, 11, 28),
    )
    assert (summary.status, summary.as_of, summary.season_end) == ("complete", D(2022, 12, 1), D(2022, 11, 30))
    # stored at full precision (rounded once, where shown): exact ratios of the parts, not 4-decimal values
    assert summary.window_daily_order_surge == pytest.approx((window_orders / 5) / 10 - 1, rel=1e-12)
    assert summary.window_november_share == pytest.approx(window_orders / (window_orders + 250), rel=1e-12)
    assert summary.window_november_share != round(summary.window_november_share, 4)  # 120/370 has more digits
    assert summary.window_november_revenue == summary.window_revenue == window_orders  # all of it in November
    seed_orders = 10 + 10 + 20 * 3 + 40 + 20  # Nov 22..28
    november = 250 + window_orders
    assert summary.seed_week_daily_order_surge == pytest.approx(
        (seed_orders / 7) / ((november - seed_orders) / 23) - 1, rel=1e-12
    )
    assert (summary.november_orders, summary.window_orders) == (november, window_orders)
    assert (summary.peak_day, summary.peak_day_orders) == (D(2022, 11, 25), 40)
    assert (summary.black_friday_orders, summary.cyber_monday_orders) == (40, 20)


@pytest.mark.parametrize("as_of", [D(2022, 11, 17), D(2022, 11, 25), D(2022, 11, 30)])
def test_a_running_season_has_no_surge_or_share_even_when_the_data_reaches_november_30(spark, as_of):
    # the data holds the whole of November (and a December day): the as-of date decides, not the data
    summary = marts.black_friday_summary(november_2022(spark), as_of).collect()[0]
    assert (summary.status, summary.as_of) == ("in_progress", as_of)
    assert (summary.window_daily_order_surge, summary.window_november_share) == (None, None)
    assert (summary.seed_week_daily_order_surge, summary.seed_week_november_share) == (None, None)
    known = [10 if d < 24 else 40 if d == 25 else 20 if d <= 28 else 10 for d in range(1, as_of.day + 1)]
    assert summary.november_orders == sum(known)  # the days up to the as-of date count, later ones do not


def test_a_season_before_november_has_not_started(spark):
    summary = marts.black_friday_summary(november_2022(spark), D(2022, 10, 31)).collect()
    assert summary == []  # no day of the data is known yet as of October 31
    daily = daily_frame(spark, [(D(2022, 10, 30), 3, 3)])
    row = marts.black_friday_summary(daily, D(2022, 10, 31)).collect()[0]
    assert (row.status, row.november_orders, row.window_november_share) == ("not_started", 0, None)


def test_season_to_date_aligns_seasons_on_days_from_thanksgiving(spark):
    # 2021: Thanksgiving Nov 25; 2022: Nov 24. As of Black Friday 2022 (still filling).
    days = [(D(2021, 11, 4) + dt.timedelta(days=i), 1 + i, 1 + i) for i in range(30)]
    days += [(D(2022, 11, 3) + dt.timedelta(days=i), 2, 2) for i in range(22)]  # Nov 3 (T-21) .. Nov 24
    rows = marts.season_to_date(daily_frame(spark, days), D(2022, 11, 25)).orderBy("year", "days_from_thanksgiving")
    got = [tuple(r) for r in rows.select("year", "days_from_thanksgiving", "order_date", "orders_to_date").collect()]
    last_year = [r for r in got if r[0] == 2021]
    assert [r[1] for r in last_year] == list(range(-21, 5))  # every comparison day of a complete season
    assert last_year[0] == (2021, -21, D(2021, 11, 4), 1) and last_year[-1][3] == sum(range(1, 27))
    this_year = [r for r in got if r[0] == 2022]
    assert [r[1] for r in this_year] == list(range(-21, 2))  # up to the as-of day, Black Friday
    assert this_year[-1] == (2022, 1, D(2022, 11, 25), 2 * 22)  # Nov 25 has no orders yet: 0, not missing
    complete = rows.where("year = 2022").select("is_complete_day").collect()
    assert [r.is_complete_day for r in complete] == [True] * 22 + [False]


@pytest.fixture(scope="module")
def two_seasons_csv(tmp_path_factory) -> Path:
    """The demo scale's lines over two seasons (October 2021 to December 2022), default seed: the marts' cost is
    per month, and more seasons would only repeat the comparison."""
    table = purchases.generate_purchases(
        purchases.SCALES["demo"], purchases.DEFAULT_SEED, days=(D(2021, 10, 1), D(2022, 12, 31))
    )
    return purchases.write_purchases_csv(table, tmp_path_factory.mktemp("two-seasons") / "purchases.csv")


def test_a_generated_files_season_summary_matches_the_generator_figures(spark, two_seasons_csv, tmp_path):
    lake = (tmp_path / "lake").as_uri()
    assert import_purchases.import_file(spark, str(two_seasons_csv), lake, "demo")["status"] == "success"
    assert (
        build_order_lines.run(spark, build_order_lines.parse_args(["--lake", lake, "--purchases-import", "demo"]))[
            "status"
        ]
        == "success"
    )
    as_of = ["--as-of", "2023-01-01"]  # every season of the file complete
    assert build_marts.run(spark, build_marts.parse_args(["--lake", lake, *as_of]))["status"] == "success"

    summary = {
        int(r.year): r for r in lake_io.read_current_table(spark, f"{lake}/marts/black_friday_summary").collect()
    }
    con = duckdb.connect()
    purchases_file.check_purchases(con, two_seasons_csv, tmp_path / "q")
    by_year = {f.year: f for f in figures.seasonality_figures(con, D(2023, 1, 1)) if f.year}
    assert sorted(summary) == sorted(by_year) == [2021, 2022]
    daily = lake_io.read_current_table(spark, f"{lake}/marts/daily_sales").toPandas()
    for year, measured in by_year.items():
        row = summary[int(year)]
        # Two engines, one file: the seed-week share and the peak agree exactly.
        assert row.seed_week_november_share == pytest.approx(measured.seed_week_share, rel=1e-9)
        # every share and surge recomputed from its parts in the daily mart, at full precision
        days = daily[daily.year.astype(int) == int(year)]
        november = days[days.month.astype(int) == 11]
        window = november[november.is_black_friday_window]
        assert row.window_november_revenue == window.revenue.sum()
        assert row.window_november_share == pytest.approx(
            float(window.revenue.sum()) / float(november.revenue.sum()), rel=1e-12
        )
        seed = days[days.is_seed_week]
        assert row.seed_week_november_share == pytest.approx(
            float(seed.revenue.sum()) / float(november.revenue.sum()), rel=1e-12
        )
        whole_window = days[days.is_black_friday_window]  # Thursday to Cyber Monday, December days too
        rest = november[~november.is_black_friday_window]  # (every day of the demo file has orders: a row)
        surge = (whole_window.orders.sum() / len(whole_window)) / (rest.orders.sum() / len(rest)) - 1
        assert row.window_daily_order_surge == pytest.approx(surge, rel=1e-12)
        assert row.status == "complete"
        assert (row.peak_day, row.peak_day_orders) == (measured.peak_day, measured.peak_orders)
        assert row.window_daily_order_surge > 0.3  # the calibrated surge shows in the Thu..Mon window too
    daily_total = lake_io.read_current_table(spark, f"{lake}/marts/daily_sales").agg(F.sum("orders")).first()[0]
    assert daily_total == 90_000
    # the yearly marts (summed from the per-month customer cells) hold every order too
    for table in ("state_sales", "category_sales"):
        total = lake_io.read_current_table(spark, f"{lake}/marts/{table}").agg(F.sum("orders")).first()[0]
        assert total == 90_000, table


def test_a_merge_rebuilds_only_its_months_and_the_yearly_marts_stay_exact(spark, tmp_path):
    """An hourly merge rewrites the months it touched; the yearly marts of their year, summed from the customer
    cells of every month, equal a full rebuild's; a month every order left is removed from the monthly marts."""
    from tests.spark.raw_windows import line, order, ts, write_window

    lake = tmp_path / "lake"
    jan, feb = ts(2026, 1, 20, 10), ts(2026, 2, 3, 10)
    write_window(
        lake, "20260203T1100", [order(1, jan, feb), order(2, feb, feb, customer=8)], [line(1, feb), line(2, feb)]
    )
    build_order_lines.build(spark, lake.as_uri(), windows=["20260203T1100"])
    build_marts.build(spark, lake.as_uri(), None, D(2026, 3, 1))
    moved = ts(2026, 2, 4, 9)  # order 1 moves from January to February: January is left empty
    write_window(lake, "20260204T1000", [order(1, feb, moved)], [line(1, moved, quantity=2)])
    lines = build_order_lines.build(spark, lake.as_uri(), windows=["20260204T1000"])
    assert (lines["partitions"], lines["partitions_removed"]) == (
        ["year=2026/month=2/bucket=0"],
        ["year=2026/month=1/bucket=0"],
    )
    merged = build_marts.build(spark, lake.as_uri(), [(2026, 1), (2026, 2)], D(2026, 3, 1))
    assert merged["partitions"]["marts.daily_sales"] == ["year=2026/month=2"]
    assert merged["partitions_removed"]["marts.daily_sales"] == ["year=2026/month=1"]
    assert not (lake / "marts" / "daily_sales" / "year=2026" / "month=1" / lake_io.CURRENT).exists()

    def yearly(table):
        return sorted(lake_io.read_current_table(spark, f"{lake.as_uri()}/marts/{table}").collect(), key=repr)

    incremental = {table: yearly(table) for table in ("state_sales", "category_sales", "olap_cube")}
    build_marts.build(spark, lake.as_uri(), None, D(2026, 3, 1))
    assert incremental == {table: yearly(table) for table in incremental}
    assert [(r.orders, r.quantity, r.unique_customers) for r in incremental["state_sales"]] == [(2, 3, 2)]


def every_mart(spark, lake: Path) -> dict[str, list]:
    """Each mart table, the customer cells and the day-customer rows as the lake's current versions hold them."""
    tables = ["marts/" + t for t in ("daily_sales", "olap_cube", "state_sales", "category_sales")]
    return {
        table: sorted(map(repr, lake_io.read_current_table(spark, f"{lake.as_uri()}/{table}").collect()))
        for table in [*tables, "state/customer_cells", "state/day_customers"]
    }


def revised(month: lake_io.VersionedTable, parts: list[tuple], written: int) -> bool:
    """build_marts' size rule for a month whose last `written` partitions this job wrote."""
    change = build_marts.MonthChange([], written=parts[-written:], unchanged=parts[:-written])
    return build_marts.unchanged_lines_exceed_written(month, change)


def test_revise_or_build_whole_counts_a_few_footers_whatever_the_number_of_the_months_buckets(spark, tmp_path):
    """month_change's size rule (revised when the unchanged partitions hold more lines than the ones the job
    wrote) counts the unchanged partitions a few at a time, twice as many each time: the files it opens to decide
    do not grow with the month's buckets (400 buckets cost 4-5 s of footers and a distributed listing)."""
    schema = "year int, month int, bucket int, line long"
    opened, decided = {}, {}
    for buckets in (8, 40):
        lake = (tmp_path / f"buckets-{buckets}").as_uri()
        tables = lake_io.JobTables(spark, lake, lake_io.new_stamp("arrange"))
        table = tables.table(
            "curated/order_lines", order_lines.PARTITION_COLUMNS, spark.createDataFrame([], schema).schema
        )
        table.write(spark.createDataFrame([(2026, 3, b, i) for b in range(buckets) for i in range(5)], schema))
        tables.switch()
        month = lake_io.JobTables(spark, lake, lake_io.new_stamp("decide")).table(
            "curated/order_lines", order_lines.PARTITION_COLUMNS, table.schema
        )
        parts = month.partitions((2026, 3))

        hadoop_fs_calls.reset(spark)
        assert revised(month, parts, written=1)  # an hourly window: 5 lines against the rest of the month
        opened[buckets] = hadoop_fs_calls.calls(spark)["open"]
        decided[buckets] = revised(month, parts, written=5), revised(month, parts, written=buckets - 1)
    assert opened[8] == opened[40], opened
    # 25 written lines: 3 unchanged partitions (15 lines) do not hold more, 35 do (counted 4, then 8 more); a
    # window larger than the rest of its month is built whole
    assert decided == {8: (False, False), 40: (True, False)}


def test_an_hourly_refresh_revises_its_month_from_the_changed_orders_and_equals_a_rebuild(spark, tmp_path):
    """refresh.py as orders_pipeline submits it: a month built whole; then a window that adds an order of a known
    customer (who also has an untouched order in another bucket), cancels another customer's order and brings a
    new customer revises the month from those three orders and their two days (whose other lines are in another
    bucket), and every mart equals a full rebuild's. After curated was switched without its marts
    (build_order_lines run alone), the next merge cannot trust the month's marts: it builds the month whole, and
    again equals a rebuild. A window with more lines than the rest of its month builds it whole too (revising
    would cost more)."""
    from jobs import refresh
    from tests.spark.raw_windows import line, order, ts, write_window

    lake, far = tmp_path / "lake", order_lines.ORDERS_PER_BUCKET  # order ids from `far` are in bucket 1

    def run(label: str) -> dict:
        args = ["--lake", lake.as_uri(), "--windows", label, "--as-of", "2026-04-01"]
        return refresh.run(spark, refresh.parse_args([*args, "--summary-uri", (tmp_path / f"{label}.json").as_uri()]))

    def rebuilt() -> dict[str, list]:
        revised = every_mart(spark, lake)
        build_marts.build(spark, lake.as_uri(), None, D(2026, 4, 1))
        return revised

    first, second = ts(2026, 3, 2, 10), ts(2026, 3, 3, 10)
    books = {"category_code": "BOOKS", "asin": "B000000002"}
    write_window(
        lake, "20260303T1100",
        [order(1, first, first, customer=7), order(2, first, first, customer=8), order(3, second, second, customer=9),
         order(far + 1, first, first, customer=7), *[order(far + c, first, first, customer=c) for c in range(20, 28)]],
        [line(1, first), {**line(1, first, line_no=2, price="4.50"), **books}, line(2, first, quantity=2),
         line(3, second), line(far + 1, first, price="7.00"), *[line(far + c, first) for c in range(20, 28)]],
    )  # fmt: skip
    assert run("20260303T1100")["marts"]["months_revised"] == []  # a first build: nothing to revise
    later = ts(2026, 3, 3, 11, 30)
    write_window(
        lake, "20260303T1200",
        [order(4, later, later, customer=7), order(2, first, later, "cancelled", customer=8),
         order(5, later, later, customer=11)],
        [{**line(4, later), **books}, line(2, later, quantity=2), line(5, later, price="3.25")],
    )  # fmt: skip
    summary = run("20260303T1200")["marts"]
    assert (summary["months_revised"], summary["customers_revised"], summary["days_revised"]) == (["2026-03"], 3, 2)
    assert rebuilt() == every_mart(spark, lake)

    gone = ts(2026, 3, 3, 12, 40)  # curated alone: the month's marts no longer summarise its versions
    write_window(lake, "20260303T1300", [order(3, second, gone, deleted=gone, customer=9)], [line(3, gone)])
    build_order_lines.build(spark, lake.as_uri(), windows=["20260303T1300"])
    write_window(lake, "20260303T1400", [order(6, gone, gone, customer=9)], [line(6, gone, quantity=3)])
    assert run("20260303T1400")["marts"]["months_revised"] == []
    assert rebuilt() == every_mart(spark, lake)

    # a window larger than the rest of its month: building the month whole costs less than revising it
    big = ts(2026, 3, 3, 14, 10)
    write_window(
        lake, "20260303T1500", [order(i, big, big, customer=30 + i) for i in range(10, 22)],
        [line(i, big) for i in range(10, 22)],
    )  # fmt: skip
    assert run("20260303T1500")["marts"]["months_revised"] == []
