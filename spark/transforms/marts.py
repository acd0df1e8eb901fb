"""Black Friday marts from curated order_lines. Orders = distinct order ids that were not cancelled;
revenue already excludes cancelled orders (their lines carry revenue 0).

The marts read `mart_lines(order_lines)`: the live lines with two flags that turn order counts into sums,
`first_of_order` (1 on one line of each order) and `first_of_order_category` (1 on one line of each order and
category). That is exact because an order's date and shipping state are the order's (all its lines share
them): within any group of the marts an order's lines differ by category only. Counting distinct order ids
instead made Spark expand every line once per distinct column and grouping set (the cube: 10M shuffled rows,
2 GB spilled, 18 s of the 46 s the marts took at full scale)."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from transforms.calendar import cyber_monday, thanksgiving, with_black_friday_flags

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
SEED_WEEK_DAYS = 7  # the seed's fixed Nov 22-28
NOVEMBER_DAYS = 30


def mart_lines(order_lines: DataFrame) -> DataFrame:
    """The lines of orders that were not cancelled, the columns the marts read, and the two order flags."""
    live = order_lines.where(F.col("status") != "cancelled").select(*MART_INPUT_COLUMNS)
    by_order = Window.partitionBy("order_id").orderBy("category")
    first = F.row_number().over(by_order) == 1
    flagged = live.withColumns(
        {
            "first_of_order": first.cast("int"),
            # categories sort together within the order: a line starts its category when the one before differs
            "first_of_order_category": _starts_group(first, "category", by_order),
        }
    )
    # the order ids (the widest column) and statuses have done their part: they are not cached
    return flagged.drop("order_id", "status")


def _measures(order_flag: str) -> list[Column]:
    return [
        F.sum(order_flag).cast("long").alias("orders"),
        F.sum("quantity").cast("long").alias("quantity"),
        F.sum("revenue").cast("decimal(16,2)").alias("revenue"),
        F.count_distinct("customer_id").alias("unique_customers"),
    ]


def daily_sales(lines: DataFrame) -> DataFrame:
    """One row per day: orders, quantity, revenue, average order value, unique customers, calendar flags.
    `lines` (here and below): what mart_lines returns."""
    per_day = lines.groupBy("year", "month", "order_date").agg(*_measures("first_of_order"))
    with_aov = per_day.withColumn("average_order_value", F.round(F.col("revenue") / F.col("orders"), 2))
    return with_black_friday_flags(with_aov).select(
        "year",
        "month",
        "order_date",
        "orders",
        "quantity",
        "revenue",
        "average_order_value",
        "unique_customers",
        "is_black_friday_week",
        "is_black_friday_window",
        "is_black_friday",
        "is_cyber_monday",
    )


def state_sales(lines: DataFrame) -> DataFrame:
    """One row per year and shipping state."""
    return lines.groupBy("year", "state").agg(*_measures("first_of_order"))


def category_sales(lines: DataFrame) -> DataFrame:
    """One row per year and category."""
    return lines.groupBy("year", "category").agg(*_measures("first_of_order_category"))


def olap_cube(lines: DataFrame) -> DataFrame:
    """Per year and month: every state x category, each state over all categories, each category over all
    states, and the month's total (null stands for 'all')."""
    cell = ["year", "month", "state", "category"]
    # First one row per customer and cell. Flags mark a customer's first cell of the month, of a state and of a
    # category within the month, so distinct customers are sums in every grouping set as well: no line is
    # expanded per grouping set with its customer id (1.2M customer cells of 1.8M lines at full scale).
    customer_cells = (
        lines.repartition("year", "month", "customer_id")  # serves the aggregation and the windows: one shuffle
        .groupBy(*cell, "customer_id")
        .agg(
            F.sum("first_of_order_category").alias("orders"),
            F.sum("first_of_order").alias("orders_of_all_categories"),
            F.sum("quantity").alias("quantity"),
            F.sum("revenue").alias("revenue"),
        )
    )
    customer_month = Window.partitionBy("year", "month", "customer_id")
    by_state, by_category = customer_month.orderBy("state", "category"), customer_month.orderBy("category", "state")
    first_of_month = F.row_number().over(by_state) == 1
    flagged = customer_cells.withColumns(
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


def black_friday_summary(daily: DataFrame) -> DataFrame:
    """Per year: the Black Friday window (Thanksgiving .. Cyber Monday) and the seed's fixed week (Nov 22-28),
    each as its daily-order surge over the rest of November and its share of November revenue; the peak day;
    Black Friday and Cyber Monday figures."""
    year = F.col("year")
    november = F.col("month") == 11
    window, seed_week = F.col("is_black_friday_window"), F.col("is_black_friday_week")
    window_days = F.datediff(cyber_monday(year), thanksgiving(year)) + 1
    window_days_in_november = (
        F.datediff(F.least(cyber_monday(year), F.make_date(year, F.lit(11), F.lit(30))), thanksgiving(year)) + 1
    )

    def surge(orders: str, days: Column, rest_orders: str, rest_days: Column) -> Column:
        """How much higher the period's daily orders are than the rest of November's (0.36 = +36%)."""
        # try_divide: null, not a failed job, when there is no rest of November (data of a few days only)
        return F.round(F.try_divide(F.col(orders) / days, F.col(rest_orders) / rest_days) - 1, 4).cast("double")

    def share(revenue: str) -> Column:
        return F.round(F.try_divide(F.col(revenue), F.col("november_revenue")), 4).cast("double")

    def total(column: str, condition: Column) -> Column:
        return F.coalesce(F.sum(F.when(condition, F.col(column))), F.lit(0))

    per_year = daily.groupBy("year").agg(
        F.max("order_date").alias("last_day"),
        total("orders", window).alias("window_orders"),
        total("orders", november & ~window).alias("rest_of_november_orders_window"),
        total("orders", seed_week).alias("seed_week_orders"),
        total("orders", november & ~seed_week).alias("rest_of_november_orders_seed"),
        total("revenue", november & window).alias("window_november_revenue"),
        total("revenue", seed_week).alias("seed_week_revenue"),
        total("revenue", november).alias("november_revenue"),
        F.max_by("order_date", F.struct("orders", "order_date")).alias("peak_day"),
        F.max("orders").alias("peak_day_orders"),
        total("orders", F.col("is_black_friday")).alias("black_friday_orders"),
        total("revenue", F.col("is_black_friday")).alias("black_friday_revenue"),
        total("orders", F.col("is_cyber_monday")).alias("cyber_monday_orders"),
        total("revenue", F.col("is_cyber_monday")).alias("cyber_monday_revenue"),
    )
    # Surges and shares compare with the whole of November: until the data reaches Nov 30 (this year's, during
    # the season) they are null, not a -100% drop.
    november_complete = F.col("last_day") >= F.make_date(year, F.lit(11), F.lit(30))

    return per_year.select(
        "year",
        thanksgiving(year).alias("thanksgiving"),
        cyber_monday(year).alias("cyber_monday"),
        F.when(
            november_complete,
            surge(
                "window_orders", window_days, "rest_of_november_orders_window", NOVEMBER_DAYS - window_days_in_november
            ),
        ).alias("window_daily_order_surge"),
        F.when(november_complete, share("window_november_revenue")).alias("window_november_share"),
        F.when(
            november_complete,
            surge(
                "seed_week_orders",
                F.lit(SEED_WEEK_DAYS),
                "rest_of_november_orders_seed",
                F.lit(NOVEMBER_DAYS - SEED_WEEK_DAYS),
            ),
        ).alias("seed_week_daily_order_surge"),
        F.when(november_complete, share("seed_week_revenue")).alias("seed_week_november_share"),
        "peak_day",
        "peak_day_orders",
        "black_friday_orders",
        "black_friday_revenue",
        "cyber_monday_orders",
        "cyber_monday_revenue",
    )
