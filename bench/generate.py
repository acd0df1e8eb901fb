"""Full-scale generation + catalog load, against a plain COPY of the same file in the same run.

Usage: python -m bench.generate [--scale full] [--database-url URL]
Works in a scratch database (bfp_bench) of the local cluster, so the demo's data is never touched.
"""

from __future__ import annotations

import argparse
import datetime
import os
import resource
import time
from pathlib import Path

import duckdb
import psycopg2

from bench.harness import Outcome, add_strict
from datagen import figures, purchases, purchases_file
from datagen.load import load_catalog
from serving.migrate import apply_migrations

BENCH_DB = "bfp_bench"
COPY_BASELINE_TABLE = """
CREATE UNLOGGED TABLE copy_baseline (
  order_date text, unit_price text, quantity text, state text, title text, asin text, category text,
  survey_response_id text
)
"""


def recreate_database(database_url: str, name: str) -> str:
    admin = psycopg2.connect(database_url.rsplit("/", 1)[0] + "/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        cur.execute(f"CREATE DATABASE {name}")
    admin.close()
    return database_url.rsplit("/", 1)[0] + "/" + name


def plain_copy_seconds(database_url: str, csv_path: Path) -> float:
    """Seconds to COPY the purchases file as-is into an unindexed, unlogged table of text columns."""
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(COPY_BASELINE_TABLE)
        started = time.perf_counter()
        with open(csv_path, encoding="utf-8") as handle:
            cur.copy_expert("COPY copy_baseline FROM STDIN (FORMAT csv, HEADER true)", handle)
        conn.commit()
        elapsed = time.perf_counter() - started
        cur.execute("DROP TABLE copy_baseline")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(purchases.SCALES), default="full")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), required=False)
    parser.add_argument("--out", type=Path, default=Path("data/bench/amazon-purchases.csv"))
    add_strict(parser)
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("set DATABASE_URL or pass --database-url (make services-up prints it)")
    scale = purchases.SCALES[args.scale]
    bench_url = recreate_database(args.database_url, BENCH_DB)
    apply_migrations(bench_url)

    wall = time.perf_counter()
    started = time.perf_counter()
    table = purchases.generate_purchases(scale, purchases.DEFAULT_SEED)
    generate_s = time.perf_counter() - started
    started = time.perf_counter()
    purchases.write_purchases_csv(table, args.out)
    write_s = time.perf_counter() - started
    del table
    result = load_catalog(args.out, bench_url, args.out.parent / "quarantine")
    wall_s = time.perf_counter() - wall
    copy_s = plain_copy_seconds(bench_url, args.out)

    rows = scale.rows
    catalog_rows = sum(result.derived.values())
    load_total_s = sum(result.seconds.values())
    print(
        f"bench-generate, scale {scale.name}: {rows:,} purchase lines -> {args.out} "
        f"({args.out.stat().st_size / 1e6:,.0f} MB)"
    )
    print(f"{'stage':<34}{'seconds':>9}{'rows/s':>12}")
    for stage, seconds, count in [
        ("generate (numpy)", generate_s, rows),
        ("write CSV", write_s, rows),
        ("check lines (DuckDB)", result.seconds["check"], rows),
        ("derive catalog (DuckDB)", result.seconds["derive"], rows),
        (f"load {catalog_rows:,} catalog rows (COPY+upsert)", result.seconds["load"], catalog_rows),
        ("plain COPY of the purchases file", copy_s, rows),
    ]:
        print(f"{stage:<34}{seconds:>9.1f}{count / seconds:>12,.0f}")
    print(f"derived: {', '.join(f'{n:,} {name}' for name, n in result.derived.items())}")
    print(
        f"load (check+derive+load) / plain COPY of the same file: {load_total_s / copy_s:.2f}x "
        f"(database stage alone: {result.seconds['load'] / copy_s:.2f}x)"
    )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"wall, generate + write + load: {wall_s:.1f}s; peak RSS {peak_mb:,.0f} MB")
    con = duckdb.connect()
    purchases_file.check_purchases(con, args.out, args.out.parent / "quarantine")
    print(figures.format_figures(figures.seasonality_figures(con, datetime.date.today())))
    outcome = Outcome("bench-generate")
    outcome.figure("wall_s", wall_s)
    outcome.figure("load_over_plain_copy", load_total_s / copy_s)
    outcome.figure("peak_rss_mb", peak_mb)
    outcome.figure("catalog_rows", result.derived)
    outcome.goal("generate + write + load, seconds", wall_s, "<=", 120)
    outcome.control(catalog_rows > 0, f"the catalog was derived and loaded: {catalog_rows:,} rows")
    return outcome.finish(args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
