"""Black Friday marts from curated order_lines. Orders = distinct order ids that were not cancelled;
revenue already excludes cancelled orders (their lines carry revenue 0).

The marts read `mart_lines(order_lines)`: the live lines with two flags that turn order counts into sums,
`first_of_order` (1 on one line of each order) and `first_of_order_category` (1 on one line of each order and
category). That is exact because an order's date and shipping state are the order's (all its lines share
them): within any group of the marts an order's lines differ by category only. Counting distinct order ids
instead made Spark expand every line once per distinct column and grouping set (the cube shuffled and spilled
most of what the marts cost at full scale)."""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from seasons import calendar
from transforms.calendar import FLAG_COLUMNS, calendar_frame, with_period_flags
from transforms.session import empty_frame, local_frame

# The curated columns the marts read.
MART_INPUT_COLUMNS = (
    "year",
    "month",
    "order_date",
    "order_id",
    "customer_id",
    "state",
    "category",
    "quantity",
    "revenue",
    "status",
)


def mart_lines(order_lines: DataFrame) -> DataFrame:
    """The lines of orders that were not cancelled, the columns the marts read, and the two order flags."""
    live = order_lines.where(F.col("status") != "cancelled").select(*MART_INPUT_COLUMNS, "source")
    # A historical purchase is an order of one line (order_lines.from_purchases): both flags are 1 without
    # looking at other lines. Only OLTP orders, which may have several, are grouped by order id: numbering
    # every line by order id shuffled and sorted the whole curated table (most of it purchases).
    single_line = live.where(F.col("source") == "purchases").withColumns(
        {"first_of_order": F.lit(1), "first_of_order_category": F.lit(1)}
    )
    by_order = Window.partitionBy("order_id").orderBy("category")
    first = F.row_number().over(by_order) == 1
    multi_line = live.where(F.col("source") != "purchases").withColumns(
        {
            "first_of_order": first.cast("int"),
            # categories sort together within the order: a line starts its category when the one before differs
            "first_of_order_category": _starts_group(first, "category", by_order),
        }
    )
    # the order ids (the widest column), statuses and sources have done their part: they are not cached
    return single_line.unionByName(multi_line).drop("order_id", "status", "source")


def _measures(order_flag: str) -> list[Column]:
    return [
        F.sum(order_flag).cast("long").alias("orders"),
        F.sum("quantity").cast("long").alias("quantity"),
        F.sum("revenue").cast("decimal(16,2)").alias("revenue"),
        F.count_distinct("customer_id").alias("unique_customers"),
    ]


DAY = ("year", "month", "order_date")


def daily_sales(lines: DataFrame) -> DataFrame:
    """One row per day: orders, quantity, revenue, average order value, unique customers, calendar flags.
    `lines` (here and below): what mart_lines returns."""
    return _daily_columns(lines.groupBy(*DAY).agg(*_measures("first_of_order")))


def revise_daily_sales(current: DataFrame, days: DataFrame, day_customer_rows: DataFrame) -> DataFrame:
    """daily_sales after some days' lines changed: `current` (the mart's rows of the months concerned) with the
    rows of `days` (year, month, order_date) summed again from `day_customer_rows` (those days' rows of
    day_customers, already revised). A day's unique customers are no sum over orders (a customer's other orders
    that day decide), but they are the number of its day-customer rows; a day left without a live line goes."""
    fresh = daily_sales_of_day_customers(day_customer_rows)
    kept = current.join(F.broadcast(days.select(*DAY)), list(DAY), "left_anti")
    return kept.select(*fresh.columns).unionByName(fresh)


# One row per day and customer of the live lines (what the daily mart is made of: its orders, quantity and revenue
# are sums of these rows, its unique customers their number). Kept per month in the lake (state/day_customers, not
# an analysts' table), so a day an hourly run changed is revised from its changed customers' rows instead of
# summed again from all its lines (a Black Friday day is most of its month).
DAY_CUSTOMER_SCHEMA = T.StructType(
    [
        T.StructField("order_date", T.DateType()),
        T.StructField("customer_id", T.StringType()),
        T.StructField("orders", T.LongType()),
        T.StructField("quantity", T.LongType()),
        T.StructField("revenue", T.DecimalType(24, 2)),
        T.StructField("year", T.IntegerType()),
        T.StructField("month", T.IntegerType()),
    ]
)
DAY_CUSTOMER_MEASURES = ("orders", "quantity", "revenue")


def day_customers(lines: DataFrame) -> DataFrame:
    """One row per day and customer of `lines` (what mart_lines returns), in DAY_CUSTOMER_SCHEMA."""
    rows = lines.groupBy(*DAY, "customer_id").agg(
        F.sum("first_of_order").alias("orders"),
        F.sum("quantity").alias("quantity"),
        F.sum("revenue").alias("revenue"),
    )
    return _in_schema(rows, DAY_CUSTOMER_SCHEMA)


def daily_sales_of_day_customers(rows: DataFrame) -> DataFrame:
    """daily_sales from day_customers rows: the same figures as from the lines (a row per customer: their number is
    the day's unique customers)."""
    per_day = rows.groupBy(*DAY).agg(
        F.sum("orders").cast("long").alias("orders"),
        F.sum("quantity").cast("long").alias("quantity"),
        F.sum("revenue").cast("decimal(16,2)").alias("revenue"),
        F.count(F.lit(1)).alias("unique_customers"),
    )
    return _daily_columns(per_day)


def revise_day_customers(current: DataFrame, removed: DataFrame, added: DataFrame) -> DataFrame:
    """As revise_customer_cells, for day_customers rows (a row's measures are sums over the customer's orders
    that day, and an order is on one day): `current` (the changed days and customers' rows now) less `removed`
    (day_customers of the changed orders' lines before) plus `added` (of their lines now)."""
    return _netted(current, removed, added, [*DAY, "customer_id"], DAY_CUSTOMER_MEASURES, DAY_CUSTOMER_SCHEMA)


def _daily_columns(per_day: DataFrame) -> DataFrame:
    """Per-day measures -> daily_sales: the average order value and the calendar flags added, in its order."""
    with_aov = per_day.withColumn("average_order_value", F.round(F.col("revenue") / F.col("orders"), 2))
    return with_period_flags(with_aov).select(
        "year",
        "month",
        "order_date",
        "orders",
        "quantity",
        "revenue",
        "average_order_value",
        "unique_customers",
        *FLAG_COLUMNS,
    )


# One row per customer and cell (year, month, state, category) of the live lines: what the cube, state_sales and
# category_sales are made of. Kept per month in the lake (marts/_customer_cells, not an analysts' table), so the
# yearly marts of a touched year are summed from these small rows instead of a year of curated lines.
CELL_COLUMNS = ("year", "month", "state", "category")
CUSTOMER_CELL_SCHEMA = T.StructType(
    [
        T.StructField("state", T.StringType()),
        T.StructField("category", T.StringType()),
        T.StructField("customer_id", T.StringType()),
        T.StructField("orders", T.LongType()),  # orders of the cell (first_of_order_category)
        T.StructField("orders_of_all_categories", T.LongType()),  # orders counted once over categories
        T.StructField("quantity", T.LongType()),
        T.StructField("revenue", T.DecimalType(24, 2)),
        T.StructField("year", T.IntegerType()),
        T.StructField("month", T.IntegerType()),
    ]
)


def customer_cells(lines: DataFrame) -> DataFrame:
    """One row per customer and cell of `lines` (what mart_lines returns), in CUSTOMER_CELL_SCHEMA."""
    cells = (
        lines.repartition("year", "month", "customer_id")  # serves the aggregation and the cube's windows
        .groupBy(*CELL_COLUMNS, "customer_id")
        .agg(
            F.sum("first_of_order_category").alias("orders"),
            F.sum("first_of_order").alias("orders_of_all_categories"),
            F.sum("quantity").alias("quantity"),
            F.sum("revenue").alias("revenue"),
        )
    )
    return _in_schema(cells, CUSTOMER_CELL_SCHEMA)


CELL_MEASURES = ("orders", "orders_of_all_categories", "quantity", "revenue")


def revise_customer_cells(current: DataFrame, removed: DataFrame, added: DataFrame) -> DataFrame:
    """The customer cells of some customers after orders of theirs changed: `current` (their cells now) less
    `removed` (customer_cells of the changed orders' lines before) plus `added` (of their lines now). Exact: every
    cell measure is a sum over orders, and what an order gives depends on its own lines alone; a cell whose orders
    net to 0 has no live line left and goes. Orders that did not change may be in both `removed` and `added`:
    they cancel out (their customers' cells, not in `current`, net to nothing)."""
    return _netted(current, removed, added, [*CELL_COLUMNS, "customer_id"], CELL_MEASURES, CUSTOMER_CELL_SCHEMA)


def _netted(
    current: DataFrame, removed: DataFrame, added: DataFrame, key: list[str], measures: tuple, schema: T.StructType
) -> DataFrame:
    """current - removed + added per `key`, summed `measures`; a key whose orders net to 0 goes."""
    negated = removed.select(*key, *[(-F.col(m)).alias(m) for m in measures])
    signed = current.select(*key, *measures).unionByName(negated).unionByName(added.select(*key, *measures))
    netted = signed.groupBy(*key).agg(*[F.sum(m).alias(m) for m in measures]).where(F.col("orders") > 0)
    return _in_schema(netted, schema)


def _in_schema(frame: DataFrame, schema: T.StructType) -> DataFrame:
    return frame.select(*[F.col(f.name).cast(f.dataType).alias(f.name) for f in schema.fields])


def state_sales(cells: DataFrame) -> DataFrame:
    """One row per year and shipping state, from customer_cells (an order has one state: counted once)."""
    return cells.groupBy("year", "state").agg(*_measures("orders_of_all_categories"))


def category_sales(cells: DataFrame) -> DataFrame:
    """One row per year and category, from customer_cells (an order counts once in each of its categories)."""
    return cells.groupBy("year", "category").agg(*_measures("orders"))


def olap_cube(cells: DataFrame) -> DataFrame:
    """Per year and month, from customer_cells: every state x category, each state over all categories, each
    category over all states, and the month's total (null stands for 'all')."""
    cell = list(CELL_COLUMNS)
    # Flags mark a customer's first cell of the month, of a state and of a category within the month, so
    # distinct customers are sums in every grouping set as well: no line is expanded per grouping set with its
    # customer id.
    customer_month = Window.partitionBy("year", "month", "customer_id")
    by_state, by_category = customer_month.orderBy("state", "category"), customer_month.orderBy("category", "state")
    first_of_month = F.row_number().over(by_state) == 1
    flagged = cells.withColumns(
        {
            "customer_first_of_month": first_of_month.cast("int"),
            "customer_first_of_state": _starts_group(first_of_month, "state", by_state),
            "customer_first_of_category": _starts_group(F.row_number().over(by_category) == 1, "category", by_category),
        }
    )
    # year and month belong in every set: a column left out of a set is null in that set's rows
    grouped = flagged.groupingSets(
        [cell, ["year", "month", "state"], ["year", "month", "category"], ["year", "month"]], *cell
    ).agg(
        F.sum("orders").alias("orders"),
        F.sum("orders_of_all_categories").alias("orders_of_all_categories"),
        F.sum("quantity").cast("long").alias("quantity"),
        F.sum("revenue").cast("decimal(16,2)").alias("revenue"),
        F.count(F.lit(1)).alias("customers_of_cell"),
        F.sum("customer_first_of_state").alias("customers_of_state"),
        F.sum("customer_first_of_category").alias("customers_of_category"),
        F.sum("customer_first_of_month").alias("customers_of_month"),
        F.grouping("state").alias("all_states"),
        F.grouping("category").alias("all_categories"),
    )
    all_states, all_categories = F.col("all_states") == 1, F.col("all_categories") == 1
    orders = F.when(all_categories, F.col("orders_of_all_categories")).otherwise(F.col("orders"))
    customers = (
        F.when(all_states & all_categories, F.col("customers_of_month"))
        .when(all_states, F.col("customers_of_category"))
        .when(all_categories, F.col("customers_of_state"))
        .otherwise(F.col("customers_of_cell"))
    )
    return grouped.select(
        *cell,
        orders.cast("long").alias("orders"),
        "quantity",
        "revenue",
        customers.cast("long").alias("unique_customers"),
    )


def _starts_group(first_row: Column, column: str, window: Window) -> Column:
    """1 where a row starts a run of equal `column` values in the window's order (nulls equal), else 0."""
    return (first_row | ~F.lag(column).over(window).eqNullSafe(F.col(column))).cast("int")


SEASON_SCHEMA = T.StructType(
    [
        T.StructField("year", T.IntegerType(), False),
        T.StructField("thanksgiving", T.DateType(), False),
        T.StructField("black_friday", T.DateType(), False),
        T.StructField("cyber_monday", T.DateType(), False),
        T.StructField("season_end", T.DateType(), False),
        T.StructField("status", T.StringType(), False),
        T.StructField("as_of", T.DateType(), False),
        T.StructField("window_days", T.IntegerType(), False),
        T.StructField("november_days_outside_window", T.IntegerType(), False),
        T.StructField("seed_week_days", T.IntegerType(), False),
        T.StructField("november_days_outside_seed_week", T.IntegerType(), False),
    ]
)


def seasons(spark: SparkSession, years: list[int], as_of: dt.date) -> DataFrame:
    """One row per year: its season's dates and status as of `as_of`, and the day counts the surges divide by,
    all from the calendar (seasons.calendar)."""
    window, seed_week = calendar.PERIODS["black_friday_window"], calendar.PERIODS["seed_week"]
    rows = []
    for year in years:
        november = [dt.date(year, 11, day) for day in range(1, 31)]
        rows.append(
            (
                year,
                calendar.thanksgiving(year),
                calendar.black_friday(year),
                calendar.cyber_monday(year),
                calendar.season_end(year),
                calendar.season_status(year, as_of),
                as_of,
                window.length,
                sum(not window.contains(day) for day in november),
                seed_week.length,
                sum(not seed_week.contains(day) for day in november),
            )
        )
    return local_frame(spark, rows, SEASON_SCHEMA)


class Years(NamedTuple):
    """The daily mart's years, and those of them with a day up to the as-of date (the season marts' rows)."""

    every: list[int]
    known: list[int]


def years_of(daily: DataFrame, as_of: dt.date) -> Years:
    """The daily mart's years, in one small job (the season marts and the calendar all need them)."""
    firsts = daily.groupBy("year").agg(F.min("order_date").alias("first_day")).collect()
    return Years(sorted(r.year for r in firsts), sorted(r.year for r in firsts if r.first_day <= as_of))


def black_friday_summary(daily: DataFrame, as_of: dt.date, years: Years | None = None) -> DataFrame:
    """Per year, from the daily mart up to `as_of`: the season's dates, its status as of that date, the Black
    Friday window (its revenue, and the part of it in November) and the seed's week each as its daily-order
    surge over the rest of November and its share of November revenue, the peak day, Black Friday and Cyber
    Monday figures. Surges and shares are given only for
    a complete season: until then they are null, never a share of an unfinished November. `years`: years_of(daily,
    as_of) when the caller has it."""
    known = daily.where(F.col("order_date") <= F.lit(as_of))
    november, window, seed_week = F.col("month") == 11, F.col("is_black_friday_window"), F.col("is_seed_week")

    def total(column: str, condition: Column) -> Column:
        return F.coalesce(F.sum(F.when(condition, F.col(column))), F.lit(0))

    per_year = known.groupBy("year").agg(
        total("orders", november).alias("november_orders"),
        total("revenue", november).alias("november_revenue"),
        total("orders", window).alias("window_orders"),
        total("revenue", window).alias("window_revenue"),
        total("orders", november & ~window).alias("rest_of_november_orders_window"),
        total("revenue", november & window).alias("window_november_revenue"),
        total("orders", seed_week).alias("seed_week_orders"),
        total("orders", november & ~seed_week).alias("rest_of_november_orders_seed"),
        total("revenue", seed_week).alias("seed_week_revenue"),
        F.max_by("order_date", F.struct("orders", "order_date")).alias("peak_day"),
        F.max("orders").alias("peak_day_orders"),
        total("orders", F.col("is_black_friday")).alias("black_friday_orders"),
        total("revenue", F.col("is_black_friday")).alias("black_friday_revenue"),
        total("orders", F.col("is_cyber_monday")).alias("cyber_monday_orders"),
        total("revenue", F.col("is_cyber_monday")).alias("cyber_monday_revenue"),
    )
    complete = F.col("status") == calendar.COMPLETE

    # Surges and shares are stored at full precision: they are rounded once, where they are shown (the
    # analysts' queries and the dashboard), never here (a share rounded here and again there showed 19.4%
    # for a true 19.3457%).
    def surge(orders: str, days: str, rest_orders: str, rest_days: str) -> Column:
        """How much higher the period's daily orders are than the rest of November's (0.36 = +36%)."""
        ratio = F.try_divide(F.col(orders) / F.col(days), F.col(rest_orders) / F.col(rest_days))
        return F.when(complete, (ratio - 1).cast("double"))

    def share(revenue: str) -> Column:
        """The revenue's share of November's, from exact decimal sums (0.25 = 25%)."""
        return F.when(complete, F.try_divide(F.col(revenue), F.col("november_revenue")).cast("double"))

    known_years = (years or years_of(daily, as_of)).known
    with_season = per_year.join(seasons(daily.sparkSession, known_years, as_of), on="year", how="inner")
    return with_season.select(
        "year",
        "thanksgiving",
        "black_friday",
        "cyber_monday",
        "season_end",
        "status",
        "as_of",
        "november_orders",
        F.col("november_revenue").cast("decimal(26,2)").alias("november_revenue"),
        "window_orders",
        F.col("window_revenue").cast("decimal(26,2)").alias("window_revenue"),
        # the window's November days only (Cyber Monday can fall in December): the part its share is of
        F.col("window_november_revenue").cast("decimal(26,2)").alias("window_november_revenue"),
        surge("window_orders", "window_days", "rest_of_november_orders_window", "november_days_outside_window").alias(
            "window_daily_order_surge"
        ),
        share("window_november_revenue").alias("window_november_share"),
        surge(
            "seed_week_orders", "seed_week_days", "rest_of_november_orders_seed", "november_days_outside_seed_week"
        ).alias("seed_week_daily_order_surge"),
        share("seed_week_revenue").alias("seed_week_november_share"),
        "peak_day",
        "peak_day_orders",
        "black_friday_orders",
        F.col("black_friday_revenue").cast("decimal(26,2)").alias("black_friday_revenue"),
        "cyber_monday_orders",
        F.col("cyber_monday_revenue").cast("decimal(26,2)").alias("cyber_monday_revenue"),
    )


def season_to_date(daily: DataFrame, as_of: dt.date, years: Years | None = None) -> DataFrame:
    """Per year, each comparison day (Thanksgiving-21 .. Cyber Monday) up to `as_of`: the day's orders and
    revenue and the season's running totals, aligned on days from Thanksgiving so that seasons compare day by
    day. The as-of day itself is marked incomplete (its orders are still coming in). `years`: years_of(daily,
    as_of) when the caller has it."""
    spark = daily.sparkSession
    years = (years or years_of(daily, as_of)).known
    if not years:
        return empty_frame(spark, SEASON_TO_DATE_SCHEMA)
    days = calendar_frame(spark, min(years), max(years)).where(
        F.col("is_comparison_days") & F.col("year").isin(years) & (F.col("order_date") <= F.lit(as_of))
    )
    sales = daily.select("order_date", "orders", "revenue")
    joined = days.join(sales, on="order_date", how="left").fillna(0, subset=["orders"])
    by_season = Window.partitionBy("year").orderBy("days_from_thanksgiving")
    revenue = F.coalesce(F.col("revenue"), F.lit(0)).cast("decimal(16,2)")
    return joined.select(
        "year",
        "days_from_thanksgiving",
        "order_date",
        "weekday",
        F.col("orders").cast("long").alias("orders"),
        revenue.alias("revenue"),
        F.sum("orders").over(by_season).cast("long").alias("orders_to_date"),
        F.sum(revenue).over(by_season).cast("decimal(26,2)").alias("revenue_to_date"),
        (F.col("order_date") < F.lit(as_of)).alias("is_complete_day"),
        F.lit(as_of).alias("as_of"),
    )


SEASON_TO_DATE_SCHEMA = T.StructType(
    [
        T.StructField("year", T.IntegerType()),
        T.StructField("days_from_thanksgiving", T.IntegerType()),
        T.StructField("order_date", T.DateType()),
        T.StructField("weekday", T.StringType()),
        T.StructField("orders", T.LongType()),
        T.StructField("revenue", T.DecimalType(16, 2)),
        T.StructField("orders_to_date", T.LongType()),
        T.StructField("revenue_to_date", T.DecimalType(26, 2)),
        T.StructField("is_complete_day", T.BooleanType()),
        T.StructField("as_of", T.DateType()),
    ]
)
