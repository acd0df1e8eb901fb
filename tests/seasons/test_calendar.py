"""The Black Friday calendar (seasons/calendar.py): Thanksgiving checked against an independent rule, the named
periods, and season status from the as-of date alone."""

from __future__ import annotations

import calendar as stdlib_calendar
import datetime as dt

import pytest

from seasons import calendar

D = dt.date
YEARS = range(calendar.FIRST_YEAR, calendar.LAST_YEAR + 1)


@pytest.mark.parametrize("year", YEARS)
def test_thanksgiving_is_the_fourth_thursday_of_november(year):
    # independently: the Thursdays of November from the standard library's month table
    thursdays = [week[stdlib_calendar.THURSDAY] for week in stdlib_calendar.monthcalendar(year, 11) if week[3]]
    assert calendar.thanksgiving(year) == D(year, 11, thursdays[3])
    assert calendar.black_friday(year).weekday() == 4 and calendar.cyber_monday(year).weekday() == 0


def test_known_seasons_including_late_thanksgivings_whose_window_runs_into_december():
    assert [
        (calendar.thanksgiving(y), calendar.cyber_monday(y), calendar.season_end(y)) for y in (2018, 2019, 2024)
    ] == [
        (D(2018, 11, 22), D(2018, 11, 26), D(2018, 11, 30)),
        (D(2019, 11, 28), D(2019, 12, 2), D(2019, 12, 2)),
        (D(2024, 11, 28), D(2024, 12, 2), D(2024, 12, 2)),
    ]


def test_each_period_has_one_meaning():
    assert {name: period.days(2024) for name, period in calendar.PERIODS.items()} == {
        "black_friday": (D(2024, 11, 29), D(2024, 11, 29)),
        "cyber_monday": (D(2024, 12, 2), D(2024, 12, 2)),
        "black_friday_window": (D(2024, 11, 28), D(2024, 12, 2)),
        "peak_week": (D(2024, 11, 26), D(2024, 12, 2)),
        "seed_week": (D(2024, 11, 22), D(2024, 11, 28)),
        "comparison_days": (D(2024, 11, 7), D(2024, 12, 2)),
    }
    assert [calendar.PERIODS[name].length for name in ("black_friday_window", "peak_week", "seed_week")] == [5, 7, 7]


@pytest.mark.parametrize(
    ("as_of", "status_2023", "status_2024", "latest_completed"),
    [
        # 2023: Thanksgiving Nov 23, Cyber Monday Nov 27 (early); 2024: Nov 28 .. Dec 2 (late)
        (D(2024, 10, 31), "complete", "not_started", 2023),
        (D(2024, 11, 21), "complete", "in_progress", 2023),  # a week before Thanksgiving
        (D(2024, 11, 29), "complete", "in_progress", 2023),  # Black Friday
        (D(2024, 11, 30), "complete", "in_progress", 2023),
        (D(2024, 12, 1), "complete", "in_progress", 2023),  # November is over, the window is not
        (D(2024, 12, 2), "complete", "in_progress", 2023),  # Cyber Monday
        (D(2024, 12, 3), "complete", "complete", 2024),  # the day after a December Cyber Monday
    ],
)
def test_season_status_follows_the_as_of_date(as_of, status_2023, status_2024, latest_completed):
    assert (calendar.season_status(2023, as_of), calendar.season_status(2024, as_of)) == (status_2023, status_2024)
    assert calendar.latest_completed_season(as_of) == latest_completed


def test_an_early_season_completes_on_december_first():
    assert [calendar.season_status(2023, D(2023, 11, day)) for day in (23, 24, 30)] == ["in_progress"] * 3
    assert calendar.season_status(2023, D(2023, 12, 1)) == "complete"


def test_the_date_dimension_has_every_day_and_its_flags():
    rows = calendar.calendar_days(2019, 2019)
    assert len(rows) == 365 and rows[0]["order_date"] == D(2019, 1, 1)
    by_day = {row["order_date"]: row for row in rows}
    cyber_monday = by_day[D(2019, 12, 2)]
    assert cyber_monday["weekday"] == "Monday" and cyber_monday["days_from_thanksgiving"] == 4
    assert cyber_monday["is_black_friday_window"] and cyber_monday["is_cyber_monday"]
    assert not cyber_monday["is_seed_week"]
    assert by_day[D(2019, 11, 28)]["is_seed_week"] and by_day[D(2019, 11, 28)]["is_black_friday_window"]
