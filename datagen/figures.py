"""The Black Friday figures of a purchases file, measured (not assumed) per complete season: the peak week's
surge and November share, the seed week's share, the peak day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from datagen.sql_files import statements
from seasons import calendar

PEAK_WEEK, SEED_WEEK = calendar.PERIODS["peak_week"], calendar.PERIODS["seed_week"]


@dataclass(frozen=True)
class YearFigures:
    year: int  # 0 for all years pooled
    peak_week: tuple[dt.date, dt.date] | None
    peak_week_days: int
    peak_week_orders: int
    rest_of_nov_orders: int
    rest_of_nov_days: int
    peak_week_nov_revenue: float
    seed_week_revenue: float
    nov_revenue: float
    peak_day: dt.date
    peak_orders: int

    @property
    def surge(self) -> float:
        """How much higher the peak week's daily orders are than the rest of November's (0.36 = +36%)."""
        peak_daily = self.peak_week_orders / self.peak_week_days
        return peak_daily / (self.rest_of_nov_orders / self.rest_of_nov_days) - 1

    @property
    def november_share(self) -> float:
        """Share of November revenue earned in the peak-week days that fall in November."""
        return self.peak_week_nov_revenue / self.nov_revenue

    @property
    def seed_week_share(self) -> float:
        """Share of November revenue in the seed week (Nov 22-28)."""
        return self.seed_week_revenue / self.nov_revenue


def _seasons(years: list[int]) -> pa.Table:
    """Per year, the calendar's peak week and seed week, and the November days outside the peak week."""
    rows = []
    for year in years:
        peak_first, peak_last = PEAK_WEEK.days(year)
        seed_first, seed_last = SEED_WEEK.days(year)
        outside = sum(not PEAK_WEEK.contains(dt.date(year, 11, day)) for day in range(1, 31))
        rows.append((year, peak_first, peak_last, seed_first, seed_last, outside))
    names = ["year", "peak_first", "peak_last", "seed_first", "seed_last", "november_days_outside_peak_week"]
    return pa.table(list(zip(*rows, strict=True)) if rows else [[] for _ in names], names=names)


def seasonality_figures(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> list[YearFigures]:
    """Figures of the `purchases` table for each season complete as of `as_of` (the calendar decides, not how
    far the file reaches), then one row (year 0) pooling them."""
    years = [y for (y,) in con.execute("SELECT DISTINCT year(order_date) FROM purchases ORDER BY 1").fetchall()]
    complete = [y for y in years if calendar.season_status(y, as_of) == calendar.COMPLETE]
    con.register("seasons", _seasons(complete))
    rows = con.execute(statements("seasonality_figures.sql")["by_year"]).fetchall()
    years = [
        YearFigures(
            year=year,
            peak_week=(first, last),
            peak_week_days=PEAK_WEEK.length,
            peak_week_orders=int(peak),
            rest_of_nov_orders=int(rest),
            rest_of_nov_days=int(rest_days),
            peak_week_nov_revenue=float(peak_rev),
            seed_week_revenue=float(seed_rev),
            nov_revenue=float(nov_rev),
            peak_day=peak_day,
            peak_orders=int(peak_orders),
        )
        for year, first, last, peak, rest, rest_days, peak_rev, seed_rev, nov_rev, peak_day, peak_orders in rows
    ]
    if not years:
        return []
    busiest = max(years, key=lambda y: y.peak_orders)
    pooled = YearFigures(
        year=0,
        peak_week=None,
        peak_week_days=PEAK_WEEK.length * len(years),
        peak_week_orders=sum(y.peak_week_orders for y in years),
        rest_of_nov_orders=sum(y.rest_of_nov_orders for y in years),
        rest_of_nov_days=sum(y.rest_of_nov_days for y in years),
        peak_week_nov_revenue=sum(y.peak_week_nov_revenue for y in years),
        seed_week_revenue=sum(y.seed_week_revenue for y in years),
        nov_revenue=sum(y.nov_revenue for y in years),
        peak_day=busiest.peak_day,
        peak_orders=busiest.peak_orders,
    )
    return [*years, pooled]


def format_figures(figures: list[YearFigures]) -> str:
    """A plain-text table of the figures, one line per year and one for all years."""
    header = f"{'year':<6}{'peak week':<25}{'surge':>8}{'Nov share':>11}{'seed week':>11}{'peak day':>13}{'orders':>8}"
    lines = [header]
    for f in figures:
        week = f"{f.peak_week[0]}..{f.peak_week[1]}" if f.peak_week else "(complete seasons pooled)"
        lines.append(
            f"{f.year or 'all':<6}{week:<25}{f.surge:>+8.1%}{f.november_share:>11.1%}{f.seed_week_share:>11.1%}"
            f"{f.peak_day!s:>13}{f.peak_orders:>8}"
        )
    return "\n".join(lines)
