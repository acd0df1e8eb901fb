"""The Black Friday calendar (seasons.calendar, its one definition) as a Spark date dimension: the rows of
curated.calendar, and the period flags joined onto any frame with a date column."""

from __future__ import annotations

import functools

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from seasons import calendar

CALENDAR_SCHEMA = T.StructType(
    [
        T.StructField("order_date", T.DateType(), False),
        T.StructField("weekday", T.StringType(), False),
        T.StructField("iso_weekday", T.IntegerType(), False),
        T.StructField("thanksgiving", T.DateType(), False),
        T.StructField("black_friday", T.DateType(), False),
        T.StructField("cyber_monday", T.DateType(), False),
        T.StructField("season_end", T.DateType(), False),
        T.StructField("days_from_thanksgiving", T.IntegerType(), False),
        *[T.StructField(f"is_{name}", T.BooleanType(), False) for name in calendar.PERIODS],
        T.StructField("year", T.IntegerType(), False),
        T.StructField("month", T.IntegerType(), False),
    ]
)
FLAG_COLUMNS = tuple(f"is_{name}" for name in calendar.FLAG_PERIODS)


def calendar_frame(spark: SparkSession, first_year: int, last_year: int) -> DataFrame:
    """curated.calendar's rows for every day of first_year .. last_year."""
    rows = calendar.calendar_days(first_year, last_year)
    return spark.createDataFrame([tuple(row[f.name] for f in CALENDAR_SCHEMA.fields) for row in rows], CALENDAR_SCHEMA)


@functools.lru_cache(maxsize=4)
def _flags_by_day(spark: SparkSession) -> DataFrame:
    """Every calendar day and its flags, built once per session (a job flags purchases, OLTP lines and the
    daily mart with it; building every day's row in Python each time was a visible part of a small run), and
    cached: otherwise each use ships the rows through a Python worker again (a stage of its own per use)."""
    return (
        calendar_frame(spark, calendar.FIRST_YEAR, calendar.LAST_YEAR)
        .select(F.col("order_date").alias("_calendar_day"), *FLAG_COLUMNS)
        .cache()
    )


def with_period_flags(frame: DataFrame, date_column: str = "order_date") -> DataFrame:
    """Adds the period flags (FLAG_COLUMNS) of each row's date, looked up in the calendar."""
    days = _flags_by_day(frame.sparkSession)
    joined = frame.join(F.broadcast(days), on=F.col(date_column) == F.col("_calendar_day"), how="left")
    # a date outside the calendar's years would get null flags silently: fail the job, naming the date
    out_of_range = F.col(date_column).isNotNull() & F.col("_calendar_day").isNull()
    first = FLAG_COLUMNS[0]
    message = F.concat(F.lit(f"{date_column} "), F.col(date_column).cast("string"), F.lit(" is outside the calendar"))
    checked = joined.withColumn(first, F.when(out_of_range, F.raise_error(message)).otherwise(F.col(first)))
    return checked.drop("_calendar_day")
