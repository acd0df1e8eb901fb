"""The Black Friday calendar, defined once: Thanksgiving, the named periods around it, each season's dates and
its status as of a date.

Every consumer takes its dates from here: the Spark jobs (which publish this calendar as the date dimension
`curated.calendar` and flag order lines and marts from it), the data generator and its figures, and the
tests. Standard library only, so it ships with the Spark jobs (--py-files) unchanged.

Thanksgiving (T) is the fourth Thursday of November. The periods:

| name                  | days                          | what it is for                                        |
|-----------------------|-------------------------------|-------------------------------------------------------|
| black_friday          | T+1                           | the day itself                                        |
| cyber_monday          | T+4                           | the Monday after                                      |
| black_friday_window   | T .. T+4 (5 days)             | the platform's measure: surge and November share      |
| peak_week             | T-2 .. T+4 (7 days)           | the generator's surge week (Tuesday .. Cyber Monday)  |
| seed_week             | Nov 22 .. Nov 28 (7 days)     | the seed project's fixed flag, kept for comparison    |
| comparison_days       | T-21 .. T+4 (26 days)         | the days every season has: season to date aligns them |

A season (of a year) runs from November 1 to its last day, the later of November 30 and Cyber Monday (Dec 2
when Thanksgiving falls on Nov 28). As of a date it is `not_started` before November 1, `complete` once the
as-of date is past its last day, else `in_progress`: the calendar decides, never how far the data reaches.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

NOT_STARTED, IN_PROGRESS, COMPLETE = "not_started", "in_progress", "complete"
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
FIRST_YEAR, LAST_YEAR = 2000, 2040  # the years the calendar is checked for


@dataclass(frozen=True)
class Period:
    """A named run of days each year: offsets from Thanksgiving, or fixed November days (seed_week)."""

    name: str
    first: int
    last: int
    anchor: str  # "thanksgiving": first/last are day offsets from it; "november": they are days of November
    description: str

    def days(self, year: int) -> tuple[dt.date, dt.date]:
        """First and last day (inclusive) of the period in `year`."""
        if self.anchor == "november":
            return dt.date(year, 11, self.first), dt.date(year, 11, self.last)
        start = thanksgiving(year)
        return start + dt.timedelta(days=self.first), start + dt.timedelta(days=self.last)

    def contains(self, day: dt.date) -> bool:
        first, last = self.days(day.year)
        return first <= day <= last

    @property
    def length(self) -> int:
        return self.last - self.first + 1


PERIODS = {
    period.name: period
    for period in (
        Period("black_friday", 1, 1, "thanksgiving", "Black Friday, the day after Thanksgiving"),
        Period("cyber_monday", 4, 4, "thanksgiving", "Cyber Monday, the Monday after Thanksgiving"),
        Period("black_friday_window", 0, 4, "thanksgiving", "Thanksgiving .. Cyber Monday"),
        Period("peak_week", -2, 4, "thanksgiving", "the Tuesday before Thanksgiving .. Cyber Monday"),
        Period("seed_week", 22, 28, "november", "November 22-28, the seed project's fixed flag"),
        Period("comparison_days", -21, 4, "thanksgiving", "three weeks before Thanksgiving .. Cyber Monday"),
    )
}
# The flags the order lines, the daily mart and the date dimension carry, named after their period.
FLAG_PERIODS = ("black_friday_window", "peak_week", "seed_week", "black_friday", "cyber_monday")


def thanksgiving(year: int) -> dt.date:
    """US Thanksgiving: the fourth Thursday of November."""
    first = dt.date(year, 11, 1)
    first_thursday = first + dt.timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + dt.timedelta(weeks=3)


def black_friday(year: int) -> dt.date:
    return PERIODS["black_friday"].days(year)[0]


def cyber_monday(year: int) -> dt.date:
    return PERIODS["cyber_monday"].days(year)[0]


def season_start(year: int) -> dt.date:
    return dt.date(year, 11, 1)


def season_end(year: int) -> dt.date:
    """The season's last day: the later of November 30 and Cyber Monday."""
    return max(dt.date(year, 11, 30), cyber_monday(year))


def season_status(year: int, as_of: dt.date) -> str:
    """not_started / in_progress / complete: complete only once `as_of` is past November and the window."""
    if as_of < season_start(year):
        return NOT_STARTED
    return COMPLETE if as_of > season_end(year) else IN_PROGRESS


def latest_completed_season(as_of: dt.date) -> int:
    """The newest season complete as of `as_of` (every season ends by December 2, so it is this year's or the
    year before's)."""
    return as_of.year if season_status(as_of.year, as_of) == COMPLETE else as_of.year - 1


def days_from_thanksgiving(day: dt.date) -> int:
    return (day - thanksgiving(day.year)).days


def calendar_day(day: dt.date) -> dict:
    """One row of the date dimension (curated.calendar): the day, its season's dates, its period flags."""
    year = day.year
    return {
        "order_date": day,
        "weekday": WEEKDAYS[day.weekday()],
        "iso_weekday": day.isoweekday(),
        "thanksgiving": thanksgiving(year),
        "black_friday": black_friday(year),
        "cyber_monday": cyber_monday(year),
        "season_end": season_end(year),
        "days_from_thanksgiving": days_from_thanksgiving(day),
        **{f"is_{name}": period.contains(day) for name, period in PERIODS.items()},
        "year": year,
        "month": day.month,
    }


def calendar_days(first_year: int, last_year: int) -> list[dict]:
    """The date dimension's rows for every day of `first_year` .. `last_year`."""
    day, last = dt.date(first_year, 1, 1), dt.date(last_year, 12, 31)
    rows = []
    while day <= last:
        rows.append(calendar_day(day))
        day += dt.timedelta(days=1)
    return rows
