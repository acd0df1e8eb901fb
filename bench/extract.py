"""Extract benchmark: a full-scale window of orders to Parquet against COPY ... TO STDOUT in the same run,
peak RSS for a small and a large window, and a month of hourly windows at demo scale.

Usage: python -m bench.extract [--orders 1800000] [--database-url URL]
Works in scratch databases (bfp_bench_extract, bfp_bench_month) of the local cluster.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import psycopg2
from tqdm import tqdm

from bench.generate import recreate_database
from bench.harness import Outcome, add_strict
from datagen import purchases
from datagen.load import load_catalog
from datagen.simulate import Simulator
from serving.migrate import apply_migrations

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dags"))
from pipeline import settings as pipeline_settings
from pipeline.extract import window_extract
from pipeline.extract.watermark import Window

BULK_CHUNK = 200_000
MONTH_ORDERS = 36_000  # demo scale: ~50 orders an hour
LAST_ID = 2**63 - 1  # bigint's largest: with the window's end, a "last" bound past every order of the window


def unpaged(window: Window) -> dict[str, object]:
    """The extract's own page queries' parameters for one page holding the whole window (LIMIT NULL: no limit),
    so the baseline copies exactly the extract's columns in its order, from the same SQL files."""
    return {
        "start": window.start, "end": window.end, "after_updated_at": window.start, "after_id": -1,
        "page_rows": None, "last_updated_at": window.end, "last_id": LAST_ID,
    }  # fmt: skip


class NullSink:
    """A file-like object that discards what COPY writes (the /dev/null of the baseline)."""

    def write(self, data) -> int:
        return len(data)


def prepare_database(admin_url: str, name: str, orders: int) -> tuple[str, list[dt.datetime]]:
    """A scratch database with the demo catalog and `orders` bulk orders; returns the chunk timestamps."""
    url = recreate_database(admin_url, name)
    apply_migrations(url)
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = purchases.write_purchases_csv(
            purchases.generate_purchases(purchases.SCALES["demo"]), Path(tmp) / "p.csv"
        )
        load_catalog(csv_path, url, Path(tmp) / "quarantine")
    simulator = Simulator(url)
    for start in tqdm(range(0, orders, BULK_CHUNK), desc=f"bulk orders -> {name}", unit="chunk"):
        simulator.bulk(min(BULK_CHUNK, orders - start))
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT DISTINCT updated_at FROM orders ORDER BY 1")
        stamps = [row[0] for row in cur.fetchall()]
    conn.close()
    vacuum(url)
    return url, stamps


def vacuum(url: str) -> None:
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    conn.close()


def copy_baseline_seconds(url: str, window: Window, query_file: str) -> float:
    """Seconds for one unpaged COPY ... TO STDOUT of the window (the extract's query `query_file`, see unpaged)
    into a null sink."""
    query = (window_extract.SQL_DIR / query_file).read_text()
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        started = time.perf_counter()
        cur.copy_expert(cur.mogrify(query, unpaged(window)).decode(), NullSink())
        elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def _extract_in_child(settings, window: Window, queue) -> None:
    started = time.perf_counter()
    result = window_extract.extract_window(window, settings)
    queue.put(
        (
            time.perf_counter() - started,
            result.orders.rows,
            result.order_items.rows,
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        )
    )


def extract_in_fresh_process(settings, window: Window) -> tuple[float, int, int, float]:
    """Runs one extract in a new process, so its peak RSS is its own: (seconds, orders, lines, MB)."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_extract_in_child, args=(settings, window, queue))
    process.start()
    outcome = queue.get()
    process.join()
    return outcome


def month_of_windows(admin_url: str, lake_uri: str) -> tuple[int, float, int]:
    """Demo-scale orders spread over 30 days, extracted as 720 hourly windows in one process."""
    url, _ = prepare_database(admin_url, "bfp_bench_month", MONTH_ORDERS)
    month_start = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("ALTER TABLE orders DISABLE TRIGGER orders_set_updated_at")
        cur.execute(
            "UPDATE orders SET updated_at = %s + (id %% 720) * interval '1 hour' + (id %% 59) * interval '1 minute'",
            (month_start,),
        )
        cur.execute("ALTER TABLE orders ENABLE TRIGGER orders_set_updated_at")
    conn.close()
    vacuum(url)
    settings = replace(
        pipeline_settings.from_env({"BFP_TARGET": "local"}),
        database_url=url,
        lake_uri=lake_uri,
        extract_lag=dt.timedelta(0),
    )
    started = time.perf_counter()
    rows = 0
    for hour in tqdm(range(720), desc="a month of hourly windows", unit="window"):
        window = Window(month_start + dt.timedelta(hours=hour), month_start + dt.timedelta(hours=hour + 1))
        rows += window_extract.extract_window(window, settings).orders.rows
    return 720, time.perf_counter() - started, rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.extract", description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_800_000, help="orders in the big window (%(default)s)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--lake", type=Path, default=Path("data/bench/lake"))
    add_strict(parser)
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("set DATABASE_URL or pass --database-url (make services-up prints it)")

    url, stamps = prepare_database(args.database_url, "bfp_bench_extract", args.orders)
    lake_uri = args.lake.resolve().as_uri()
    settings = replace(
        pipeline_settings.from_env({"BFP_TARGET": "local"}),
        database_url=url,
        lake_uri=lake_uri,
        extract_lag=dt.timedelta(0),
    )
    everything = Window(stamps[0], stamps[-1] + dt.timedelta(microseconds=1))
    first_chunk = Window(stamps[0], stamps[1] if len(stamps) > 1 else everything.end)

    copy_orders_s = copy_baseline_seconds(url, everything, "extract_orders_page.sql")
    copy_s = copy_orders_s + copy_baseline_seconds(url, everything, "extract_order_items_page.sql")
    small_s, small_rows, _small_lines, small_rss = extract_in_fresh_process(settings, first_chunk)
    big_s, big_rows, big_lines, big_rss = extract_in_fresh_process(settings, everything)
    windows, month_s, month_rows = month_of_windows(args.database_url, lake_uri)

    print(
        f"bench-extract: {big_rows:,} orders (+{big_lines:,} lines) in one window, page "
        f"{settings.page_rows:,} rows, Parquet zstd -> {args.lake}"
    )
    print(f"{'run':<44}{'seconds':>9}{'orders/s':>12}{'peak RSS MB':>13}")
    print(f"{'COPY orders TO STDOUT -> null':<44}{copy_orders_s:>9.1f}{big_rows / copy_orders_s:>12,.0f}{'':>13}")
    print(f"{'COPY orders + lines TO STDOUT -> null':<44}{copy_s:>9.1f}{big_rows / copy_s:>12,.0f}{'':>13}")
    print(f"{'extract, small window':<44}{small_s:>9.1f}{small_rows / small_s:>12,.0f}{small_rss:>13,.0f}")
    print(f"{'extract, whole volume in one window':<44}{big_s:>9.1f}{big_rows / big_s:>12,.0f}{big_rss:>13,.0f}")
    print(f"extract rate / COPY rate against COPY of orders alone: {copy_orders_s / big_s:.2f}")
    print(f"peak RSS, {small_rows:,}-order window vs {big_rows:,}: {small_rss:,.0f} MB vs {big_rss:,.0f} MB")
    print(
        f"a month of hourly windows at demo scale: {windows} windows, {month_rows:,} orders, {month_s:.1f}s "
        f"({month_s / windows * 1000:.0f} ms a window, extract only; Airflow adds its own per-task overhead)"
    )
    run = Outcome("bench-extract")
    run.figure("extract_orders_per_s", big_rows / big_s)
    run.figure("extract_peak_rss_mb", big_rss)
    run.figure("copy_orders_and_lines_orders_per_s", big_rows / copy_s)
    run.figure("small_window_peak_rss_mb", small_rss)
    run.figure("month_of_hourly_windows_s", month_s)
    run.goal("extract rate / COPY rate of the same columns (orders + lines)", copy_s / big_s, ">=", 0.5)
    run.control(big_rows > 0 and month_rows > 0, f"the windows held orders: {big_rows:,} and {month_rows:,}")
    return run.finish(args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
