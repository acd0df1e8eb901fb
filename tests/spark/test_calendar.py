"""Every consumer of the Black Friday calendar agrees with seasons/calendar.py for every day of 2000-2040: the
Spark flags on order lines and the daily mart, the season rows of the summary, the generator's peak week and
the generator figures' periods."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from datagen import figures, seasonality
from seasons import calendar
from tests.spark.conftest import assert_frames_equal
from transforms import calendar as spark_calendar
from transforms import marts
from transforms.session import local_frame

D = dt.date
YEARS = list(range(calendar.FIRST_YEAR, calendar.LAST_YEAR + 1))
EVERY_DAY = [row["order_date"] for row in calendar.calendar_days(calendar.FIRST_YEAR, calendar.LAST_YEAR)]


def test_spark_flags_agree_with_the_calendar_on_every_day(spark):
    days = spark.createDataFrame([(day,) for day in EVERY_DAY], "order_date date")
    got = spark_calendar.with_period_flags(days)
    expected = spark.createDataFrame(
        [(day, *(calendar.PERIODS[name].contains(day) for name in calendar.FLAG_PERIODS)) for day in EVERY_DAY],
        "order_date date, " + ", ".join(f"{flag} boolean" for flag in spark_calendar.FLAG_COLUMNS),
    )
    assert_frames_equal(got, expected)


def test_the_published_date_dimension_is_the_calendar(spark):
    frame = spark_calendar.calendar_frame(spark, 2019, 2024)
    assert [(f.name, f.dataType) for f in frame.schema] == [
        (f.name, f.dataType) for f in spark_calendar.CALENDAR_SCHEMA
    ]
    assert [row.asDict() for row in frame.orderBy("order_date").collect()] == calendar.calendar_days(2019, 2024)


def test_a_local_frame_refuses_a_value_it_cannot_carry(spark):
    # planned in the JVM from JSON: a timestamp would arrive as text a date column cannot read back
    with pytest.raises(TypeError, match=r"local_frame: datetime\.datetime\(2026, 11, 27"):
        local_frame(spark, [(dt.datetime(2026, 11, 27, 9),)], spark_calendar.CALENDAR_SCHEMA[:1])


def test_the_summary_season_rows_agree_with_the_calendar(spark):
    as_of = D(2024, 12, 1)
    rows = {row.year: row for row in marts.seasons(spark, YEARS, as_of).collect()}
    for year in YEARS:
        row = rows[year]
        assert (row.thanksgiving, row.black_friday, row.cyber_monday, row.season_end) == (
            calendar.thanksgiving(year),
            calendar.black_friday(year),
            calendar.cyber_monday(year),
            calendar.season_end(year),
        )
        assert row.status == calendar.season_status(year, as_of)
        november = [D(year, 11, day) for day in range(1, 31)]
        assert row.november_days_outside_window == sum(
            not calendar.PERIODS["black_friday_window"].contains(day) for day in november
        )


def test_the_generator_and_its_figures_agree_with_the_calendar():
    days = np.array(EVERY_DAY, dtype="datetime64[D]")
    assert seasonality.days_from_thanksgiving(days).tolist() == [calendar.days_from_thanksgiving(d) for d in EVERY_DAY]
    assert seasonality.in_peak_week(days).tolist() == [calendar.PERIODS["peak_week"].contains(d) for d in EVERY_DAY]
    assert sorted(seasonality.PEAK_WEEK_WEIGHT) == list(
        range(seasonality.PEAK_WEEK.first, seasonality.PEAK_WEEK.last + 1)
    )
    periods = figures._seasons(YEARS).to_pylist()
    assert [(p["peak_first"], p["peak_last"], p["seed_first"], p["seed_last"]) for p in periods] == [
        (*calendar.PERIODS["peak_week"].days(y), *calendar.PERIODS["seed_week"].days(y)) for y in YEARS
    ]


def test_a_date_outside_the_calendar_fails_the_job_naming_it(spark):
    days = spark.createDataFrame([(D(1999, 12, 31),)], "order_date date")
    with pytest.raises(Exception, match="1999-12-31 is outside the calendar"):
        spark_calendar.with_period_flags(days).collect()


def test_flags_of_a_late_thanksgiving(spark):
    days = spark.createDataFrame([(D(2019, 11, d),) for d in (26, 28, 29)] + [(D(2019, 12, 2),)], "order_date date")
    got = spark_calendar.with_period_flags(days).orderBy("order_date")
    assert [tuple(row) for row in got.select("order_date", *spark_calendar.FLAG_COLUMNS).collect()] == [
        # date, window, peak week, seed week, Black Friday, Cyber Monday
        (D(2019, 11, 26), False, True, True, False, False),
        (D(2019, 11, 28), True, True, True, False, False),  # Thanksgiving: the seed week's last day
        (D(2019, 11, 29), True, True, False, True, False),  # Black Friday falls outside the seed week
        (D(2019, 12, 2), True, True, False, False, True),
    ]
