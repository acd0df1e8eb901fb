"""Thanksgiving, Black Friday and Cyber Monday as Spark columns, exact for 2018-2022, and the flags."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from transforms import calendar

D = dt.date


def test_holiday_dates_2018_to_2022(spark):
    years = spark.createDataFrame([(y,) for y in range(2018, 2023)], "year int")
    got = years.select(
        "year",
        calendar.thanksgiving(F.col("year")).alias("thanksgiving"),
        calendar.black_friday(F.col("year")).alias("black_friday"),
        calendar.cyber_monday(F.col("year")).alias("cyber_monday"),
    )
    expected = spark.createDataFrame(
        [
            (2018, D(2018, 11, 22), D(2018, 11, 23), D(2018, 11, 26)),
            (2019, D(2019, 11, 28), D(2019, 11, 29), D(2019, 12, 2)),
            (2020, D(2020, 11, 26), D(2020, 11, 27), D(2020, 11, 30)),
            (2021, D(2021, 11, 25), D(2021, 11, 26), D(2021, 11, 29)),
            (2022, D(2022, 11, 24), D(2022, 11, 25), D(2022, 11, 28)),
        ],
        "year int, thanksgiving date, black_friday date, cyber_monday date",
    )
    assertDataFrameEqual(got, expected)


def test_flags_follow_thanksgiving_and_keep_the_seed_window(spark):
    days = spark.createDataFrame(
        [
            (D(2019, 11, 22),),
            (D(2019, 11, 28),),
            (D(2019, 11, 29),),
            (D(2019, 12, 2),),
            (D(2019, 12, 3),),
            (D(2022, 11, 21),),
            (D(2022, 11, 25),),
        ],
        "order_date date",
    )
    got = calendar.with_black_friday_flags(days)
    expected = spark.createDataFrame(
        [
            # date, seed flag (Nov 22-28), Thanksgiving..Cyber Monday, Black Friday, Cyber Monday
            (D(2019, 11, 22), True, False, False, False),
            (D(2019, 11, 28), True, True, False, False),  # Thanksgiving 2019: last day of the seed's window
            (D(2019, 11, 29), False, True, True, False),  # Black Friday 2019 falls outside the seed's flag
            (D(2019, 12, 2), False, True, False, True),
            (D(2019, 12, 3), False, False, False, False),
            (D(2022, 11, 21), False, False, False, False),
            (D(2022, 11, 25), True, True, True, False),
        ],
        "order_date date, is_black_friday_week boolean, is_black_friday_window boolean, "
        "is_black_friday boolean, is_cyber_monday boolean",
    )
    assertDataFrameEqual(got, expected)
