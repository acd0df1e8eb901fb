"""The generated purchases file: exact schema, determinism, and the Black Friday shape of the data."""

from __future__ import annotations

import datetime as dt
import re

import duckdb
import pandas as pd
import pytest

from datagen import figures, purchases, purchases_file
from seasons import calendar

FIELD_PATTERNS = {
    "Order Date": r"20(18|19|20|21|22)-\d\d-\d\d",
    "Purchase Price Per Unit": r"\d+\.\d\d",
    "Quantity": r"[1-5]\.0",
    "Shipping Address State": r"[A-Z]{2}",
    "Title": r".+",
    "ASIN/ISBN (Product Code)": r"(B0[0-9A-Z]{8}|\d{9}[\dX])",
    "Category": r"[A-Z][A-Z_]+",
    "Survey ResponseID": r"R_[A-Za-z0-9]{15}",
}


@pytest.fixture(scope="module")
def demo_frame(demo_purchases_csv) -> pd.DataFrame:
    frame = pd.read_csv(demo_purchases_csv, dtype=str, keep_default_na=False)
    frame["day"] = pd.to_datetime(frame["Order Date"], format="%Y-%m-%d")
    frame["revenue"] = frame["Purchase Price Per Unit"].astype(float) * frame["Quantity"].astype(float)
    return frame


# The first line of the real file (Open e-commerce 1.0): the outside fact contracts/purchases.py declares.
REAL_FILE_HEADER = (
    "Order Date,Purchase Price Per Unit,Quantity,Shipping Address State,Title,ASIN/ISBN (Product Code),Category,"
    "Survey ResponseID"
)


def test_header_is_exactly_the_open_ecommerce_schema(demo_purchases_csv):
    with open(demo_purchases_csv, newline="") as handle:
        assert handle.readline().rstrip("\r\n") == REAL_FILE_HEADER


def test_every_field_has_the_real_file_format(demo_frame):
    for column, pattern in FIELD_PATTERNS.items():
        bad = demo_frame[~demo_frame[column].str.fullmatch(pattern)]
        assert bad.empty, f"{column}: {bad[column].head(3).tolist()} do not match {pattern}"
    assert demo_frame["day"].min() == pd.Timestamp("2018-01-01")
    assert demo_frame["day"].max() == pd.Timestamp("2022-12-31")


def test_isbn_check_digits_are_valid(demo_frame):
    isbns = demo_frame.loc[demo_frame["Category"] == "ABIS_BOOK", "ASIN/ISBN (Product Code)"].unique()
    assert len(isbns) > 1000
    for isbn in isbns[:2000]:
        total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(isbn))
        assert total % 11 == 0, isbn


def test_demo_scale_has_the_promised_counts(demo_frame):
    scale = purchases.SCALES["demo"]
    assert len(demo_frame) == scale.rows
    # Every product of the catalog is bought at least once, so distinct codes == catalog size.
    assert demo_frame["ASIN/ISBN (Product Code)"].nunique() == scale.products
    assert 0.95 * scale.customers <= demo_frame["Survey ResponseID"].nunique() <= scale.customers
    # Each product keeps one title and one category.
    per_product = demo_frame.groupby("ASIN/ISBN (Product Code)")[["Title", "Category"]].nunique()
    assert (per_product == 1).all().all()


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(demo_purchases_csv, tmp_path):
    demo = purchases.SCALES["demo"]
    again = purchases.write_purchases_csv(
        purchases.generate_purchases(demo, purchases.DEFAULT_SEED), tmp_path / "a.csv"
    )
    other = purchases.write_purchases_csv(purchases.generate_purchases(demo, 7), tmp_path / "b.csv")
    assert again.read_bytes() == demo_purchases_csv.read_bytes()
    assert other.read_bytes() != demo_purchases_csv.read_bytes()


def test_the_default_range_holds_five_complete_seasons_and_runs_to_yesterday():
    # Cyber Monday 2026: the 2026 season runs, 2025 is the last complete one
    assert purchases.default_days(dt.date(2026, 11, 30)) == (dt.date(2021, 1, 1), dt.date(2026, 11, 29))
    assert purchases.default_days(dt.date(2026, 12, 1)) == (dt.date(2022, 1, 1), dt.date(2026, 11, 30))
    table = purchases.generate_purchases(
        purchases.Scale("tiny", rows=3_000, products=100, customers=20),
        days=purchases.default_days(dt.date(2026, 11, 30)),
    )
    days = table.column("Order Date").to_pylist()
    assert min(days) >= "2021-01-01" and max(days) <= "2026-11-29" and max(days) >= "2026-11-01"


def test_a_range_that_ends_before_it_starts_is_refused():
    with pytest.raises(purchases.GenerateError, match="first day 2022-01-02 is after the last day 2022-01-01"):
        purchases.generate_purchases(purchases.SCALES["demo"], days=(dt.date(2022, 1, 2), dt.date(2022, 1, 1)))


def peak_week(year: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Independently of seasons/calendar.py: the Tuesday before the 4th Thursday of November .. the Monday after."""
    thursdays = [d for d in pd.date_range(f"{year}-11-01", f"{year}-11-30") if d.dayofweek == 3]
    return thursdays[3] - pd.Timedelta(days=2), thursdays[3] + pd.Timedelta(days=4)


def independent_figures(frame: pd.DataFrame) -> tuple[float, float]:
    """Pooled peak-week surge and November share, computed with pandas from the raw lines."""
    bf_orders = rest_orders = rest_days = 0
    bf_nov_revenue = nov_revenue = 0.0
    for year in range(2018, 2023):
        first, last = peak_week(year)
        in_week = frame["day"].between(first, last)
        november = (frame["day"].dt.year == year) & (frame["day"].dt.month == 11)
        bf_orders += int(in_week.sum())
        rest_orders += int((november & ~in_week).sum())
        rest_days += 30 - sum(1 for d in pd.date_range(first, last) if d.month == 11)
        bf_nov_revenue += frame.loc[november & in_week, "revenue"].sum()
        nov_revenue += frame.loc[november, "revenue"].sum()
    surge = (bf_orders / 35) / (rest_orders / rest_days) - 1
    return surge, bf_nov_revenue / nov_revenue


def test_black_friday_surge_and_november_share_match_the_seed(demo_frame, demo_purchases_csv, tmp_path):
    surge, share = independent_figures(demo_frame)
    # The seed: ~36% more daily orders in its week; 25-39% of November revenue in that week (here: the peak week).
    assert 0.26 <= surge <= 0.46
    assert 0.25 <= share <= 0.39
    # The SQL figures (used by `datagen figures` and the benchmark) agree with this independent count.
    con = duckdb.connect()
    purchases_file.check_purchases(con, demo_purchases_csv, tmp_path)
    pooled = figures.seasonality_figures(con, dt.date(2023, 1, 1))[-1]
    assert pooled.year == 0
    assert pooled.surge == pytest.approx(surge, abs=1e-9)
    assert pooled.november_share == pytest.approx(share, abs=1e-9)


def test_black_friday_is_the_busiest_day_of_recent_years(demo_frame):
    daily = demo_frame.groupby("day").size()
    for year in (2020, 2021, 2022):
        in_year = daily[daily.index.year == year]
        assert in_year.idxmax().date() == calendar.black_friday(year), year


def test_products_longtail_most_sell_once(demo_frame):
    sold = demo_frame.groupby("ASIN/ISBN (Product Code)").size()
    assert (sold == 1).mean() > 0.5
    assert sold.max() > 20 * sold.median()


def test_unwritable_output_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    table = purchases.generate_purchases(purchases.Scale("tiny", rows=50, products=10, customers=5))
    with pytest.raises(purchases.GenerateError, match=re.escape(f"cannot write {blocker / 'x.csv'}")):
        purchases.write_purchases_csv(table, blocker / "x.csv")
