"""Black Friday marts from curated order_lines: marts/daily_sales, state_sales, category_sales, olap_cube
(with --years only those years' partitions are rebuilt), then, from the whole daily mart, the season marts as
of --as-of: black_friday_summary and season_to_date, and the date dimension curated/calendar (Parquet, zstd).

    spark-submit spark/jobs/build_marts.py --lake file:///abs/data/lake [--years 2021,2022] [--as-of 2026-11-27]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import time

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import entry, lake_io
from transforms import calendar, marts, order_lines

log = logging.getLogger("jobs.build_marts")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="build_marts", description=__doc__.splitlines()[0])
    parser.add_argument("--lake", required=True, help="lake root URI (file:///... or s3://bucket/prefix)")
    parser.add_argument("--years", help="comma-separated years to rebuild (default: every year)")
    add_as_of_argument(parser)
    parser.add_argument("--master", help="Spark master when not run by spark-submit, e.g. local[2]")
    args = parser.parse_args(argv)
    try:
        args.year_list = [int(y) for y in args.years.split(",")] if args.years else None
    except ValueError:
        parser.error(f"--years must be comma-separated years, got {args.years!r}")
    return args


def add_as_of_argument(parser: argparse.ArgumentParser) -> None:
    """--as-of: the date the season marts describe (a season is complete once this date is past its end)."""

    def as_of(text: str) -> dt.date:
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a date YYYY-MM-DD, got {text!r}") from None

    today = dt.datetime.now(dt.UTC).date()
    parser.add_argument("--as-of", type=as_of, default=today, help="as-of date YYYY-MM-DD (default: today, UTC)")


def main(argv: list[str] | None = None) -> int:
    return entry.run_main("build_marts", parse_args, run, argv)


def run(spark: SparkSession, args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    lake = args.lake.rstrip("/")
    curated_uri = f"{lake}/curated/order_lines"
    if not lake_io.exists(spark, curated_uri):
        raise ValueError(f"{curated_uri} does not exist: run build_order_lines first")
    lines = spark.read.schema(order_lines.CURATED_SCHEMA).parquet(curated_uri)
    if args.year_list:
        lines = lines.where(F.col("year").isin(args.year_list))
    rows_in = lines.count()  # every curated line read, cancelled ones included (from the Parquet footers)
    # Only what the marts read is cached: the titles alone are most of the curated bytes.
    lines = marts.mart_lines(lines).cache()
    outputs = mart_tables(lines)
    rows, written = {}, {}
    _write_all(outputs, lake, rows, written)
    outputs["marts.daily_sales"][0].unpersist()
    lines.unpersist()
    # The season marts compare years: they are rebuilt from the whole daily mart (a few rows per day), so every
    # year's status follows the as-of date even when only this year's lines changed.
    stored = spark.read.parquet(f"{lake}/marts/daily_sales")  # partition values are read as text
    all_days = stored.withColumns({c: F.col(c).cast("int") for c in ("year", "month")}).cache()
    seasonal = season_tables(spark, all_days, args.as_of)
    # Replaced whole (static overwrite): a year the new as-of date does not reach yet leaves no stale row behind;
    # its partition is reported as removed, for registration to drop.
    removed = {}
    for table in seasonal:
        before = lake_io.list_dirs(spark, f"{lake}/{table.replace('.', '/')}")
        _write_all({table: seasonal[table]}, lake, rows, written, {"partitionOverwriteMode": "static"})
        removed[table] = sorted(set(before) - set(written[table]))
    all_days.unpersist()
    summary = {
        "event": "build_marts",
        "status": "success",
        "rows_in": rows_in,
        "rows_out": rows,
        "partitions": written,
        "partitions_removed": {table: specs for table, specs in removed.items() if specs},
        "years": args.year_list or "all",
        "as_of": args.as_of.isoformat(),
        "path": f"{lake}/marts",
        "duration_seconds": round(time.perf_counter() - started, 2),
    }
    log.info(json.dumps(summary))
    return summary


def mart_tables(lines: DataFrame) -> dict[str, tuple[DataFrame, list[str]]]:
    """The marts of curated lines (through marts.mart_lines) and their partition columns, keyed by the analysts'
    table name (the lake folder is the same name with a slash). tests/spark/test_contract.py checks each frame
    against its DDL in sql/athena/."""
    daily = marts.daily_sales(lines).cache()  # written, then read again by the summary
    return {
        "marts.daily_sales": (daily, ["year", "month"]),
        "marts.state_sales": (marts.state_sales(lines), ["year"]),
        "marts.category_sales": (marts.category_sales(lines), ["year"]),
        "marts.olap_cube": (marts.olap_cube(lines), ["year", "month"]),
    }


def season_tables(spark: SparkSession, all_days: DataFrame, as_of: dt.date) -> dict[str, tuple[DataFrame, list[str]]]:
    """The season marts of the whole daily mart as of `as_of`, and the calendar of the years it holds."""
    seasonal = {
        "marts.black_friday_summary": (marts.black_friday_summary(all_days, as_of), ["year"]),
        "marts.season_to_date": (marts.season_to_date(all_days, as_of), ["year"]),
    }
    years = [row.year for row in all_days.select("year").distinct().collect()]
    if years:
        seasonal["curated.calendar"] = (calendar.calendar_frame(spark, min(years), max(years)), ["year"])
    return seasonal


def _write_all(outputs: dict, lake: str, rows: dict, written: dict, options: dict | None = None) -> None:
    """Writes each table's frame under its folder; records its rows and the partitions written."""
    for table, (frame, partitions) in outputs.items():
        uri = f"{lake}/{table.replace('.', '/')}"
        rows[table], values = lake_io.write_partitioned(frame, uri, partitions, options=options)
        written[table] = [lake_io.partition_spec(partitions, value) for value in values]


if __name__ == "__main__":
    sys.exit(main())
