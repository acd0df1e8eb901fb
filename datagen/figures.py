"""The Black Friday figures of a purchases file, measured (not assumed): surge, November share, peak day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from datagen.catalog import SQL_DIR, named_statements

BF_WEEK_DAYS = 7


@dataclass(frozen=True)
class YearFigures:
    year: int  # 0 for all years pooled
    bf_week: tuple[dt.date, dt.date] | None
    bf_week_days: int
    bf_week_orders: int
    rest_of_nov_orders: int
    rest_of_nov_days: int
    bf_week_nov_revenue: float
    seed_flag_revenue: float
    nov_revenue: float
    peak_day: dt.date
    peak_orders: int

    @property
    def surge(self) -> float:
        """How much higher BF-week daily orders are than the rest of November's (0.36 = +36%)."""
        bf_daily = self.bf_week_orders / self.bf_week_days
        return bf_daily / (self.rest_of_nov_orders / self.rest_of_nov_days) - 1

    @property
    def november_share(self) -> float:
        """Share of November revenue earned in the BF-week days that fall in November."""
        return self.bf_week_nov_revenue / self.nov_revenue

    @property
    def seed_flag_share(self) -> float:
        """Share of November revenue in the seed's fixed Nov 22-28 window."""
        return self.seed_flag_revenue / self.nov_revenue


def seasonality_figures(con: duckdb.DuckDBPyConnection) -> list[YearFigures]:
    """Figures per year of the `purchases` table, then one row (year 0) pooling all years."""
    rows = con.execute(named_statements(SQL_DIR / "seasonality_figures.sql")["by_year"]).fetchall()
    years = [
        YearFigures(
            year=year,
            bf_week=(first, last),
            bf_week_days=BF_WEEK_DAYS,
            bf_week_orders=int(bf),
            rest_of_nov_orders=int(rest),
            rest_of_nov_days=int(rest_days),
            bf_week_nov_revenue=float(bf_rev),
            seed_flag_revenue=float(seed_rev),
            nov_revenue=float(nov_rev),
            peak_day=peak_day,
            peak_orders=int(peak),
        )
        for year, first, last, bf, rest, rest_days, bf_rev, seed_rev, nov_rev, peak_day, peak in rows
    ]
    if not years:
        return []
    busiest = max(years, key=lambda y: y.peak_orders)
    pooled = YearFigures(
        year=0,
        bf_week=None,
        bf_week_days=BF_WEEK_DAYS * len(years),
        bf_week_orders=sum(y.bf_week_orders for y in years),
        rest_of_nov_orders=sum(y.rest_of_nov_orders for y in years),
        rest_of_nov_days=sum(y.rest_of_nov_days for y in years),
        bf_week_nov_revenue=sum(y.bf_week_nov_revenue for y in years),
        seed_flag_revenue=sum(y.seed_flag_revenue for y in years),
        nov_revenue=sum(y.nov_revenue for y in years),
        peak_day=busiest.peak_day,
        peak_orders=busiest.peak_orders,
    )
    return [*years, pooled]


def format_figures(figures: list[YearFigures]) -> str:
    """A plain-text table of the figures, one line per year and one for all years."""
    lines = [f"{'year':<6}{'BF week':<25}{'surge':>8}{'Nov share':>11}{'seed flag':>11}{'peak day':>13}{'orders':>8}"]
    for f in figures:
        week = f"{f.bf_week[0]}..{f.bf_week[1]}" if f.bf_week else "(all years pooled)"
        lines.append(
            f"{f.year or 'all':<6}{week:<25}{f.surge:>+8.1%}{f.november_share:>11.1%}{f.seed_flag_share:>11.1%}"
            f"{f.peak_day!s:>13}{f.peak_orders:>8}"
        )
    return "\n".join(lines)
