"""Calendar of the synthetic purchases: the moving Black Friday week and the expected orders per day.

Black Friday week here is the 7 days centred on Black Friday: from the Tuesday before Thanksgiving (the
4th Thursday of November) through Cyber Monday. The seed project flagged a fixed Nov 22-28 instead; that
flag is kept (`in_seed_flag_window`) so the two can be compared. In 2022 both windows coincide.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

BF_WEEK_DAYS_BEFORE = 3  # Tuesday, Wednesday, Thanksgiving
BF_WEEK_DAYS_AFTER = 3  # Saturday, Sunday, Cyber Monday
SEED_FLAG_FIRST_DAY, SEED_FLAG_LAST_DAY = 22, 28  # the seed's fixed November window

# Relative expected orders per day. Calibrated (see README "Data") so that, measured on the generated file,
# BF week averages ~36% more orders per day than the rest of November, holds 25-39% of November revenue, and
# Black Friday 2022 peaks near 3,000 orders at full scale.
YEAR_WEIGHT = {2018: 0.62, 2019: 0.78, 2020: 1.00, 2021: 1.06, 2022: 1.14}
WEEKDAY_WEIGHT = (1.06, 1.04, 1.01, 0.99, 0.96, 0.93, 1.01)  # Monday .. Sunday
MONTH_WEIGHT = (0.93, 0.88, 0.95, 0.95, 0.98, 0.98, 1.04, 0.99, 0.95, 1.00, 1.05, 1.22)  # Jan .. Dec
# Day offset from Black Friday -> multiplier; the mean over the week is 1.36.
BF_WEEK_WEIGHT = {-3: 1.05, -2: 1.10, -1: 0.95, 0: 2.45, 1: 1.35, 2: 1.12, 3: 1.50}
CHRISTMAS_WEIGHT = {24: 0.75, 25: 0.55, 26: 0.85}  # December day -> multiplier
BF_WEEK_DISCOUNT_SHARE = 0.3  # share of BF-week lines sold at a discount
BF_WEEK_DISCOUNT = 0.85  # price factor of a discounted line


def thanksgiving(year: int) -> dt.date:
    """US Thanksgiving: the fourth Thursday of November."""
    first = dt.date(year, 11, 1)
    first_thursday = first + dt.timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + dt.timedelta(weeks=3)


def black_friday(year: int) -> dt.date:
    """The day after Thanksgiving."""
    return thanksgiving(year) + dt.timedelta(days=1)


def black_friday_week(year: int) -> tuple[dt.date, dt.date]:
    """First and last day (inclusive) of the 7-day Black Friday week of `year`."""
    friday = black_friday(year)
    return friday - dt.timedelta(days=BF_WEEK_DAYS_BEFORE), friday + dt.timedelta(days=BF_WEEK_DAYS_AFTER)


def in_seed_flag_window(day: dt.date) -> bool:
    """The seed project's fixed flag: November 22-28 of any year."""
    return day.month == 11 and SEED_FLAG_FIRST_DAY <= day.day <= SEED_FLAG_LAST_DAY


def days_between(first: dt.date, last: dt.date) -> np.ndarray:
    """All days from first to last inclusive, as datetime64[D]."""
    return np.arange(np.datetime64(first), np.datetime64(last) + 1, dtype="datetime64[D]")


def black_friday_offsets(days: np.ndarray) -> np.ndarray:
    """Per day: its offset in days from its year's Black Friday (any integer; BF week is -3..3)."""
    years = days.astype("datetime64[Y]").astype(int) + 1970
    fridays = {y: np.datetime64(black_friday(int(y))) for y in np.unique(years)}
    friday_of_day = np.array([fridays[y] for y in years], dtype="datetime64[D]")
    return (days - friday_of_day).astype(int)


def daily_weights(days: np.ndarray) -> np.ndarray:
    """Expected relative orders for each day (datetime64[D] array)."""
    years = days.astype("datetime64[Y]").astype(int) + 1970
    months = days.astype("datetime64[M]").astype(int) % 12  # 0 = January
    weekdays = (days.astype(int) + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    month_day = (days - days.astype("datetime64[M]")).astype(int) + 1
    unknown_years = sorted(set(np.unique(years).tolist()) - YEAR_WEIGHT.keys())
    if unknown_years:
        raise ValueError(f"no year weight for {unknown_years}; the generator covers {sorted(YEAR_WEIGHT)}")
    weights = (
        np.array([YEAR_WEIGHT[y] for y in years]) * np.take(WEEKDAY_WEIGHT, weekdays) * np.take(MONTH_WEIGHT, months)
    )
    offsets = black_friday_offsets(days)
    for offset, factor in BF_WEEK_WEIGHT.items():
        weights[offsets == offset] *= factor
    for day, factor in CHRISTMAS_WEIGHT.items():
        weights[(months == 11) & (month_day == day)] *= factor
    return weights
