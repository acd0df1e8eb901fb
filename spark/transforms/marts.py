"""Black Friday marts from curated order_lines. Orders = distinct order ids that were not cancelled;
revenue already excludes cancelled orders (their lines carry revenue 0)."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
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


def _measures() -> list[Column]:
    return [
        F.count_distinct("order_id").alias("orders"),
        F.sum("quantity").cast("long").alias("quantity"),
        F.sum("revenue").cast("decimal(16,2)").alias("revenue"),
        F.count_distinct("customer_id").alias("unique_customers"),
    ]


def live_lines(order_lines: DataFrame) -> DataFrame:
    return order_lines.where(F.col("status") != "cancelled")


def daily_sales(order_lines: DataFrame) -> DataFrame:
    """One row per day: orders, quantity, revenue, average order value, unique customers, calendar flags."""
    per_day = live_lines(order_lines).groupBy("year", "month", "order_date").agg(*_measures())
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


def state_sales(order_lines: DataFrame) -> DataFrame:
    """One row per year and shipping state."""
    return live_lines(order_lines).groupBy("year", "state").agg(*_measures())


def category_sales(order_lines: DataFrame) -> DataFrame:
    """One row per year and category."""
    return live_lines(order_lines).groupBy("year", "category").agg(*_measures())


def olap_cube(order_lines: DataFrame) -> DataFrame:
    """Per year and month: every state x category, each state over all categories, each category over all
    states, and the month's total (null stands for 'all')."""
    return (
        live_lines(order_lines)
        # year and month belong in every set: a column left out of a set is null in that set's rows
        .groupingSets(
            [
                ["year", "month", "state", "category"],
                ["year", "month", "state"],
                ["year", "month", "category"],
                ["year", "month"],
            ],
            "year",
            "month",
            "state",
            "category",
        )
        .agg(*_measures())
    )


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
