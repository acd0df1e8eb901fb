"""Black Friday calendar as Spark columns. Thanksgiving is the 4th Thursday of November; the Black Friday
window runs from Thanksgiving through Cyber Monday (the following Monday). The seed project's fixed flag,
November 22-28 of every year, is kept beside it for comparison."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

THURSDAY = 5  # Spark's dayofweek: 1 = Sunday .. 7 = Saturday


def thanksgiving(year: Column) -> Column:
    november_first = F.make_date(year, F.lit(11), F.lit(1))
    first_thursday = F.date_add(november_first, (F.lit(THURSDAY) - F.dayofweek(november_first) + 7) % 7)
    return F.date_add(first_thursday, 21)


def black_friday(year: Column) -> Column:
    return F.date_add(thanksgiving(year), 1)


def cyber_monday(year: Column) -> Column:
    return F.date_add(thanksgiving(year), 4)


def with_black_friday_flags(frame: DataFrame, date_column: str = "order_date") -> DataFrame:
    """Adds is_black_friday_week (the seed's fixed Nov 22-28), is_black_friday_window (Thanksgiving ..
    Cyber Monday), is_black_friday and is_cyber_monday for the date column."""
    day = F.col(date_column)
    year = F.year(day)
    return frame.withColumns(
        {
            "is_black_friday_week": (F.month(day) == 11) & F.dayofmonth(day).between(22, 28),
            "is_black_friday_window": day.between(thanksgiving(year), cyber_monday(year)),
            "is_black_friday": day == black_friday(year),
            "is_cyber_monday": day == cyber_monday(year),
        }
    )
