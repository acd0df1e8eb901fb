"""The Black Friday calendar (seasons.calendar, its one definition) as a Spark date dimension: the rows of
curated.calendar, and the period flags of any frame with a date column."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from seasons import calendar
from transforms.session import local_frame

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
    return local_frame(spark, [tuple(row[f.name] for f in CALENDAR_SCHEMA.fields) for row in rows], CALENDAR_SCHEMA)


def _thanksgiving_of_year() -> Column:
    """A literal map year -> Thanksgiving for the calendar's years (seasons.calendar's dates)."""
    pairs = []
    for year in range(calendar.FIRST_YEAR, calendar.LAST_YEAR + 1):
        pairs += [F.lit(year), F.lit(calendar.thanksgiving(year))]
    return F.create_map(*pairs)


def _in_period(period: calendar.Period, day: Column, thanksgiving: Column) -> Column:
    """Whether `day` falls in `period` of its year, from the period's own definition (anchor and offsets)."""
    if period.anchor == "november":
        return (F.month(day) == 11) & F.dayofmonth(day).between(period.first, period.last)
    return F.date_diff(day, thanksgiving).between(period.first, period.last)


def with_period_flags(frame: DataFrame, date_column: str = "order_date") -> DataFrame:
    """Adds the period flags (FLAG_COLUMNS) of each row's date. They are expressions over the calendar's own
    period definitions and its Thanksgiving dates, so no job joins a calendar table or builds one in Python."""
    day = F.col(date_column)
    thanksgiving = F.try_element_at(_thanksgiving_of_year(), F.year(day))
    flags = {f"is_{name}": _in_period(calendar.PERIODS[name], day, thanksgiving) for name in calendar.FLAG_PERIODS}
    # a date outside the calendar's years would get null flags silently: fail the job, naming the date
    out_of_range = day.isNotNull() & thanksgiving.isNull()
    message = F.concat(F.lit(f"{date_column} "), day.cast("string"), F.lit(" is outside the calendar"))
    first = FLAG_COLUMNS[0]
    flags[first] = F.when(out_of_range, F.raise_error(message)).otherwise(flags[first])
    return frame.withColumns(flags)
