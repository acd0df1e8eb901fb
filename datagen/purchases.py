"""Generates the historical purchases file in the Open e-commerce 1.0 schema (amazon-purchases.csv).

One row is one purchased line: a shopper (Survey ResponseID) bought Quantity units of a product on a day.
Everything is drawn from one seeded numpy Generator, and the CSV is written by pyarrow with fixed
formatting, so the same seed and scale give a byte-identical file.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from tqdm import tqdm

from contracts.purchases import FILE_COLUMNS
from datagen import seasonality, vocab
from seasons import calendar

PURCHASES_COLUMNS = FILE_COLUMNS  # the file's header (contracts/purchases.py)
# The real file's range; the CLI's default range follows today instead (see default_days).
REAL_FILE_DAYS = (dt.date(2018, 1, 1), dt.date(2022, 12, 31))
HISTORY_SEASONS = 5  # complete seasons in the CLI's default range, as in the real file
DEFAULT_SEED = 20221125
CSV_CHUNK_ROWS = 100_000


@dataclass(frozen=True)
class Scale:
    """How much data a run makes: purchase lines, distinct products, distinct shoppers."""

    name: str
    rows: int
    products: int
    customers: int


SCALES = {
    # 1/20 of full: seconds to make and load, large enough for the seasonality figures to show.
    "demo": Scale("demo", rows=90_000, products=43_663, customers=1_000),
    # The size of the real file: ~1.8M lines, 873,263 products, ~5K shoppers.
    "full": Scale("full", rows=1_800_000, products=873_263, customers=5_000),
}

QUANTITIES = ("1.0", "2.0", "3.0", "4.0", "5.0")  # the real file writes Quantity as a float
QUANTITY_SHARE = (0.91, 0.06, 0.018, 0.007, 0.005)
SHIPPED_ELSEWHERE_SHARE = 0.04  # lines shipped to another state than the shopper's home (gifts)
CATEGORY_ZIPF_EXPONENT = 1.1
PRODUCT_POPULARITY_SIGMA = 1.8  # log-normal spread of product popularity: the long tail of one-off buys
CUSTOMER_ACTIVITY_SIGMA = 1.2
PRICE_SIGMA = 0.45
ALPHANUMERIC = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"))


class GenerateError(RuntimeError):
    """The generator cannot do what was asked (bad scale, unwritable output)."""


@dataclass(frozen=True)
class Products:
    asin: pa.Array
    title: pa.Array
    category: pa.Array
    price_cents: np.ndarray


def _category_weights() -> np.ndarray:
    ranks = np.arange(1, len(vocab.CATEGORIES) + 1)
    weights = 1.0 / ranks**CATEGORY_ZIPF_EXPONENT
    return weights / weights.sum()


def _asins(category_idx: np.ndarray) -> list[str]:
    """Unique product codes: ISBN-10 for books, B0 + 8 base-36 characters for everything else."""
    # i -> (i * a + b) mod m is a bijection when a is coprime with m, so codes never collide.
    index = np.arange(len(category_idx), dtype=np.int64)
    books = category_idx == 0
    isbn_body = (index * 7_654_321 + 123_456_789) % 1_000_000_000
    base36 = (index * 2_147_483_647 + 1_234_567) % 36**8
    digits36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    codes = []
    for is_book, body, b36 in zip(books.tolist(), isbn_body.tolist(), base36.tolist(), strict=True):
        if is_book:
            text = f"{body:09d}"
            check = (11 - sum((10 - k) * int(c) for k, c in enumerate(text)) % 11) % 11
            codes.append(text + ("X" if check == 10 else str(check)))
        else:
            chars = []
            for _ in range(8):
                b36, r = divmod(b36, 36)
                chars.append(digits36[r])
            codes.append("B0" + "".join(reversed(chars)))
    return codes


def make_products(rng: np.random.Generator, count: int) -> Products:
    """The catalog behind the purchases: code, title, category and list price of each product."""
    category_idx = rng.choice(len(vocab.CATEGORIES), size=count, p=_category_weights())
    brand_idx = rng.integers(0, len(vocab.BRANDS), size=count)
    adjective_idx = rng.integers(0, len(vocab.ADJECTIVES), size=count)
    variant_idx = rng.integers(0, len(vocab.VARIANTS), size=count)
    noun_pick = rng.random(size=count)
    series = rng.integers(100, 1000, size=count)
    series_letter = rng.integers(0, 26, size=count)
    price_factor = rng.lognormal(0.0, PRICE_SIGMA, size=count)

    titles = []
    medians = np.array([c.median_price for c in vocab.CATEGORIES])
    for i, c in enumerate(category_idx.tolist()):
        category = vocab.CATEGORIES[c]
        noun = category.nouns[int(noun_pick[i] * len(category.nouns))]
        titles.append(
            f"{vocab.BRANDS[brand_idx[i]]} {vocab.ADJECTIVES[adjective_idx[i]]} {noun} "
            f"{chr(65 + series_letter[i])}-{series[i]}, {vocab.VARIANTS[variant_idx[i]]}"
        )
    # Prices end in .99 like most retail list prices; nothing is cheaper than $0.99.
    dollars = np.maximum(np.rint(medians[category_idx] * price_factor), 1).astype(np.int64)
    codes = [c.code for c in vocab.CATEGORIES]
    return Products(
        asin=pa.array(_asins(category_idx), pa.string()),
        title=pa.array(titles, pa.string()),
        category=pa.array(codes, pa.string()).take(pa.array(category_idx)),
        price_cents=dollars * 100 - 1,
    )


def make_response_ids(rng: np.random.Generator, count: int) -> pa.Array:
    """Distinct survey response ids shaped like the real file's (R_ + 15 alphanumerics)."""
    ids: list[str] = []
    seen: set[str] = set()
    while len(ids) < count:
        for row in ALPHANUMERIC[rng.integers(0, len(ALPHANUMERIC), size=(count - len(ids), 15))]:
            text = "R_" + "".join(row)
            if text not in seen:
                seen.add(text)
                ids.append(text)
    return pa.array(ids, pa.string())


def _format_cents(cents: np.ndarray) -> pa.Array:
    """12345 -> '123.45'."""
    whole = pc.cast(pa.array(cents // 100), pa.string())
    fraction = pc.utf8_lpad(pc.cast(pa.array(cents % 100), pa.string()), 2, "0")
    return pc.binary_join_element_wise(whole, fraction, ".")


def default_days(today: dt.date) -> tuple[dt.date, dt.date]:
    """The CLI's default range: from January 1 of the fifth-latest season completed before `today` through
    yesterday, so the history holds five complete seasons and continues into the live one, where the
    storefront's orders of today carry on."""
    last_complete = calendar.latest_completed_season(today)
    return dt.date(last_complete - HISTORY_SEASONS + 1, 1, 1), today - dt.timedelta(days=1)


def generate_purchases(
    scale: Scale, seed: int = DEFAULT_SEED, progress: bool = False, days: tuple[dt.date, dt.date] = REAL_FILE_DAYS
) -> pa.Table:
    """All purchase lines of `scale` over `days` (first, last inclusive), in date order, as a table of strings
    in the file's column order."""
    if days[0] > days[1]:
        raise GenerateError(f"the first day {days[0]} is after the last day {days[1]}")
    if scale.products > scale.rows:
        raise GenerateError(f"scale {scale.name}: more products ({scale.products}) than rows ({scale.rows})")
    rng = np.random.default_rng(seed)
    steps = tqdm(total=4, desc=f"generate {scale.name}", unit="step", disable=not progress)

    products = make_products(rng, scale.products)
    # Every product is bought at least once (the catalog is what was bought); the remaining lines go to
    # products by a long-tailed popularity, so most products sell once and a few sell thousands of times.
    popularity = rng.lognormal(0.0, PRODUCT_POPULARITY_SIGMA, size=scale.products)
    extra = rng.multinomial(scale.rows - scale.products, popularity / popularity.sum())
    row_product = rng.permutation(np.repeat(np.arange(scale.products), 1 + extra))
    steps.update()

    all_days = seasonality.days_between(*days)
    weights = seasonality.daily_weights(all_days)
    row_day = np.repeat(all_days, rng.multinomial(scale.rows, weights / weights.sum()))
    steps.update()

    states = np.array([s for s, _ in vocab.STATE_POPULATIONS])
    state_p = np.array([p for _, p in vocab.STATE_POPULATIONS], dtype=float)
    state_p /= state_p.sum()
    home_state = rng.choice(len(states), size=scale.customers, p=state_p)
    activity = rng.lognormal(0.0, CUSTOMER_ACTIVITY_SIGMA, size=scale.customers)
    row_customer = rng.choice(scale.customers, size=scale.rows, p=activity / activity.sum())
    row_state = home_state[row_customer]
    elsewhere = rng.random(scale.rows) < SHIPPED_ELSEWHERE_SHARE
    row_state[elsewhere] = rng.choice(len(states), size=int(elsewhere.sum()), p=state_p)
    response_ids = make_response_ids(rng, scale.customers)

    row_quantity = rng.choice(len(QUANTITIES), size=scale.rows, p=QUANTITY_SHARE)
    discounted = seasonality.in_peak_week(row_day) & (rng.random(scale.rows) < seasonality.PEAK_WEEK_DISCOUNT_SHARE)
    row_cents = products.price_cents[row_product]
    row_cents = np.where(discounted, np.rint(row_cents * seasonality.PEAK_WEEK_DISCOUNT), row_cents).astype(np.int64)
    steps.update()

    product_idx = pa.array(row_product)
    table = pa.table(
        [
            pa.array(np.datetime_as_string(row_day, unit="D"), pa.string()),
            _format_cents(row_cents),
            pa.array(QUANTITIES, pa.string()).take(pa.array(row_quantity)),
            pa.array(states, pa.string()).take(pa.array(row_state)),
            products.title.take(product_idx),
            products.asin.take(product_idx),
            products.category.take(product_idx),
            response_ids.take(pa.array(row_customer)),
        ],
        names=list(PURCHASES_COLUMNS),
    )
    steps.update()
    steps.close()
    return table


def write_purchases_csv(table: pa.Table, path: Path, progress: bool = False) -> Path:
    """Writes the table as CSV, atomically: a temp file renamed into place.

    Quoting is minimal (only fields with a comma or quote), as in the real file; pyarrow's writer quotes
    every string, so the stdlib csv writer is used.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(table.column_names)
            chunks = range(0, table.num_rows, CSV_CHUNK_ROWS)
            for start in tqdm(chunks, desc=f"write {path.name}", unit="chunk", disable=not progress):
                chunk = table.slice(start, CSV_CHUNK_ROWS)
                writer.writerows(zip(*(column.to_pylist() for column in chunk.columns), strict=True))
        tmp.replace(path)
    except OSError as exc:
        raise GenerateError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path
