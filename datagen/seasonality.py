"""Expected orders per day of the synthetic purchases: year growth, weekday, month, the Christmas dip and the
surge of the peak week (the Tuesday before Thanksgiving .. Cyber Monday). Every date comes from the one
calendar, seasons/calendar.py.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from seasons import calendar

# Relative expected orders per day. Calibrated (see README "Data") so that, measured on the generated file,
# the peak week averages ~36% more orders per day than the rest of November and holds 25-39% of November
# revenue (the seed's figures for its week), and Black Friday 2022 peaks near 3,000 orders at full scale.
# Year weight by distance from the range's last year (the real file's 2022 .. 2018); older years shrink on.
YEAR_GROWTH = (1.14, 1.06, 1.00, 0.78, 0.62)
OLDER_YEAR_FACTOR = 0.8
WEEKDAY_WEIGHT = (1.06, 1.04, 1.01, 0.99, 0.96, 0.93, 1.01)  # Monday .. Sunday
MONTH_WEIGHT = (0.93, 0.88, 0.95, 0.95, 0.98, 0.98, 1.04, 0.99, 0.95, 1.00, 1.05, 1.22)  # Jan .. Dec
PEAK_WEEK = calendar.PERIODS["peak_week"]
# Day of the peak week, as days from Thanksgiving -> multiplier; the mean over the week is 1.36.
PEAK_WEEK_WEIGHT = {-2: 1.05, -1: 1.10, 0: 0.95, 1: 2.45, 2: 1.35, 3: 1.12, 4: 1.50}
CHRISTMAS_WEIGHT = {24: 0.75, 25: 0.55, 26: 0.85}  # December day -> multiplier
PEAK_WEEK_DISCOUNT_SHARE = 0.3  # share of peak-week lines sold at a discount
PEAK_WEEK_DISCOUNT = 0.85  # price factor of a discounted line


def year_weight(year: int, last_year: int) -> float:
    back = last_year - year
    if back < len(YEAR_GROWTH):
        return YEAR_GROWTH[back]
    return YEAR_GROWTH[-1] * OLDER_YEAR_FACTOR ** (back - len(YEAR_GROWTH) + 1)


def days_between(first: dt.date, last: dt.date) -> np.ndarray:
    """All days from first to last inclusive, as datetime64[D]."""
    return np.arange(np.datetime64(first), np.datetime64(last) + 1, dtype="datetime64[D]")


def days_from_thanksgiving(days: np.ndarray) -> np.ndarray:
    """Per day: days from its year's Thanksgiving (the peak week is PEAK_WEEK.first .. PEAK_WEEK.last)."""
    years = days.astype("datetime64[Y]").astype(int) + 1970
    thursdays = {y: np.datetime64(calendar.thanksgiving(int(y))) for y in np.unique(years)}
    thanksgiving_of_day = np.array([thursdays[y] for y in years], dtype="datetime64[D]")
    return (days - thanksgiving_of_day).astype(int)


def in_peak_week(days: np.ndarray) -> np.ndarray:
    offsets = days_from_thanksgiving(days)
    return (offsets >= PEAK_WEEK.first) & (offsets <= PEAK_WEEK.last)


def daily_weights(days: np.ndarray) -> np.ndarray:
    """Expected relative orders for each day (datetime64[D] array)."""
    years = days.astype("datetime64[Y]").astype(int) + 1970
    months = days.astype("datetime64[M]").astype(int) % 12  # 0 = January
    weekdays = (days.astype(int) + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    month_day = (days - days.astype("datetime64[M]")).astype(int) + 1
    last_year = int(years.max())
    by_year = {int(y): year_weight(int(y), last_year) for y in np.unique(years)}
    weights = np.array([by_year[y] for y in years]) * np.take(WEEKDAY_WEIGHT, weekdays) * np.take(MONTH_WEIGHT, months)
    offsets = days_from_thanksgiving(days)
    for offset, factor in PEAK_WEEK_WEIGHT.items():
        weights[offsets == offset] *= factor
    for day, factor in CHRISTMAS_WEIGHT.items():
        weights[(months == 11) & (month_day == day)] *= factor
    return weights
