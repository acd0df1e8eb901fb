"""Black Friday marts from curated order_lines: the monthly marts daily_sales and olap_cube (with --months only
those months are read and rewritten), the yearly state_sales and category_sales of those months' years (summed
from the per-month customer cells, marts/_customer_cells, not from a year of lines), then, from the whole daily
mart, the season marts as of --as-of: black_friday_summary and season_to_date, and the date dimension
curated/calendar (Parquet, zstd).

    spark-submit spark/jobs/build_marts.py --lake file:///abs/data/lake [--months 2026-11,2026-12] [--as-of 2026-11-27]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import entry, lake_io
from transforms import calendar, marts, order_lines

log = logging.getLogger("jobs.build_marts")
# Internal: one row per customer and cell, per month (marts.customer_cells); not registered for analysts.
CUSTOMER_CELLS = "state.customer_cells"
DAILY = "marts.daily_sales"  # the season marts are built from it
CALENDAR = "curated.calendar"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="build_marts", description=__doc__.splitlines()[0])
    parser.add_argument("--lake", required=True, help="lake root URI (file:///... or s3://bucket/prefix)")
    parser.add_argument(
        "--months", type=month_list, help="comma-separated months YYYY-MM to rebuild (default: every month)"
    )
    add_as_of_argument(parser)
    parser.add_argument("--master", help="Spark master when not run by spark-submit, e.g. local[2]")
    return parser.parse_args(argv)


def month_list(text: str) -> list[tuple[int, int]]:
    """--months: 2026-11,2026-12 -> [(2026, 11), (2026, 12)]."""
    try:
        months = sorted({(int(y), int(m)) for y, m in (part.strip().split("-") for part in text.split(","))})
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be comma-separated months YYYY-MM, got {text!r}") from None
    if not months or any(not 1 <= month <= 12 for _, month in months):
        raise argparse.ArgumentTypeError(f"must be comma-separated months YYYY-MM, got {text!r}")
    return months


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
    return build(spark, args.lake, args.months, args.as_of)


def build(spark: SparkSession, lake: str, months: list[tuple[int, int]] | None, as_of: dt.date) -> dict:
    """Rebuilds the marts of `months` (None: every month) from their curated lines, the yearly marts of their
    years from the customer cells, and the season marts from the whole daily mart; returns the summary."""
    started = time.perf_counter()
    lake = lake.rstrip("/")
    curated_uri = f"{lake}/curated/order_lines"
    if not lake_io.exists(spark, curated_uri):
        raise ValueError(f"{curated_uri} does not exist: run build_order_lines first")
    if months is None:
        lines = spark.read.schema(order_lines.CURATED_SCHEMA).parquet(curated_uri)
    else:
        lines = read_months(spark, curated_uri, order_lines.CURATED_SCHEMA, months)
    rows_in = lines.count()  # every curated line read, cancelled ones included (from the Parquet footers)
    # Only what the marts read is cached: the titles alone are most of the curated bytes.
    lines = marts.mart_lines(lines).cache()
    cells = marts.customer_cells(lines).cache()  # written, and the cube's input
    rows, written, removed = {}, {}, {}
    monthly = {CUSTOMER_CELLS: (cells, ["year", "month"]), **mart_tables(lines, cells)}
    _write_all(monthly, lake, rows, written, at_once=months is not None)
    if months is not None:  # a touched month left without lines: its partitions go (registration drops them)
        touched = [lake_io.partition_spec(("year", "month"), m) for m in months]
        _remove_emptied(spark, lake, monthly, touched, written, removed)
    years = sorted({year for year, _ in months}) if months is not None else None
    # A full build has every cell at hand; a merge sums its years' cells of every month, the untouched ones too.
    yearly = yearly_tables(cells if years is None else read_cells(spark, lake, years))
    _write_all(yearly, lake, rows, written, at_once=years is not None)
    if years is not None:
        _remove_emptied(spark, lake, yearly, [f"year={year}" for year in years], written, removed)
    monthly[DAILY][0].unpersist()
    cells.unpersist()
    lines.unpersist()
    # The season marts compare years: they are rebuilt from the whole daily mart (a few rows per day), so every
    # year's status follows the as-of date even when only this month's lines changed.
    stored = spark.read.parquet(f"{lake}/marts/daily_sales")  # partition values are read as text
    all_days = stored.withColumns({c: F.col(c).cast("int") for c in ("year", "month")}).cache()
    seasonal = season_tables(spark, all_days, as_of)
    # Replaced whole (static overwrite): a year the new as-of date does not reach yet leaves no stale row behind;
    # its partition is reported as removed, for registration to drop.
    before = {table: lake_io.list_dirs(spark, f"{lake}/{table.replace('.', '/')}") for table in seasonal}
    if months is not None and before.get(CALENDAR) == calendar_years(all_days):
        del seasonal[CALENDAR]  # the calendar depends on its years alone: a merge leaves the same years' rows
    _write_all(seasonal, lake, rows, written, {"partitionOverwriteMode": "static"}, at_once=months is not None)
    for table in seasonal:
        removed[table] = sorted(set(before[table]) - set(written[table]))
    all_days.unpersist()
    del rows[CUSTOMER_CELLS], written[CUSTOMER_CELLS]  # not an analysts' table: nothing to register
    removed.pop(CUSTOMER_CELLS, None)
    summary = {
        "event": "build_marts",
        "status": "success",
        "rows_in": rows_in,
        "rows_out": rows,
        "partitions": written,
        "partitions_removed": {table: specs for table, specs in removed.items() if specs},
        "months": "all" if months is None else [f"{y}-{m:02d}" for y, m in months],
        "as_of": as_of.isoformat(),
        "path": f"{lake}/marts",
        "duration_seconds": round(time.perf_counter() - started, 2),
    }
    log.info(json.dumps(summary))
    return summary


def read_months(spark: SparkSession, table_uri: str, schema, months: list[tuple[int, int]]) -> DataFrame:
    """The given (year, month) partitions of a table that exist: one `exists` each, no listing of the table."""
    paths = [f"{table_uri}/{lake_io.partition_spec(('year', 'month'), m)}" for m in months]
    present = [path for path in paths if lake_io.exists(spark, path)]
    if not present:
        return spark.createDataFrame([], schema)
    return spark.read.schema(schema).option("basePath", table_uri).parquet(*present)


def read_cells(spark: SparkSession, lake: str, years: list[int]) -> DataFrame:
    """The customer cells of every month of the given years, for their yearly marts: one listing per year."""
    cells_uri = f"{lake}/{CUSTOMER_CELLS.replace('.', '/')}"
    months = [
        (year, int(folder.removeprefix("month=")))
        for year in years
        for folder in lake_io.list_dirs(spark, f"{cells_uri}/year={year}")
    ]
    return read_months(spark, cells_uri, marts.CUSTOMER_CELL_SCHEMA, months)


def calendar_years(all_days: DataFrame) -> list[str]:
    """The partitions of the calendar the daily mart's years need (every year from the first to the last)."""
    bounds = all_days.agg(F.min("year").alias("first"), F.max("year").alias("last")).first()
    return [] if bounds.first is None else [f"year={year}" for year in range(bounds.first, bounds.last + 1)]


def _remove_emptied(
    spark: SparkSession, lake: str, outputs: dict, touched: list[str], written: dict, removed: dict
) -> None:
    """Deletes each table's touched partitions that the write did not produce (dynamic overwrite keeps them)."""
    for table in outputs:
        gone = sorted(set(touched) - set(written[table]))
        for spec in gone:
            lake_io.delete(spark, f"{lake}/{table.replace('.', '/')}/{spec}")
        removed[table] = gone


def mart_tables(lines: DataFrame, cells: DataFrame) -> dict[str, tuple[DataFrame, list[str]]]:
    """The monthly marts of curated lines (through marts.mart_lines) and of their customer cells, with their
    partition columns, keyed by the analysts' table name (the lake folder is the same name with a slash).
    tests/spark/test_contract.py checks each frame against its DDL in sql/athena/."""
    return {
        DAILY: (marts.daily_sales(lines).cache(), ["year", "month"]),  # written, then read by the summary
        "marts.olap_cube": (marts.olap_cube(cells), ["year", "month"]),
    }


def yearly_tables(cells: DataFrame) -> dict[str, tuple[DataFrame, list[str]]]:
    """The yearly marts, summed from customer cells (a year's cells are far fewer than its lines)."""
    return {
        "marts.state_sales": (marts.state_sales(cells), ["year"]),
        "marts.category_sales": (marts.category_sales(cells), ["year"]),
    }


def season_tables(spark: SparkSession, all_days: DataFrame, as_of: dt.date) -> dict[str, tuple[DataFrame, list[str]]]:
    """The season marts of the whole daily mart as of `as_of`, and the calendar of the years it holds."""
    seasonal = {
        "marts.black_friday_summary": (marts.black_friday_summary(all_days, as_of), ["year"]),
        "marts.season_to_date": (marts.season_to_date(all_days, as_of), ["year"]),
    }
    years = [row.year for row in all_days.select("year").distinct().collect()]
    if years:
        seasonal[CALENDAR] = (calendar.calendar_frame(spark, min(years), max(years)), ["year"])
    return seasonal


def _write_all(
    outputs: dict, lake: str, rows: dict, written: dict, options: dict | None = None, at_once: bool = False
) -> None:
    """Writes each table's frame under its folder; records each table's rows and the partitions written.
    `at_once`: the tables concurrently, each a Spark job of its own (a merge's marts are small, and one after
    another they would wait on each other's planning and commits; a full build's would fight over the cores)."""

    def write(table: str) -> tuple[int, list[tuple]]:
        frame, partitions = outputs[table]
        return lake_io.write_partitioned(frame, f"{lake}/{table.replace('.', '/')}", partitions, options=options)

    if at_once:
        with ThreadPoolExecutor(max_workers=len(outputs) or 1) as pool:
            results = dict(zip(outputs, pool.map(write, outputs), strict=True))
    else:  # in this thread: its job group (what bench-transform's breakdown reads) goes with the jobs
        results = {table: write(table) for table in outputs}
    for table, (count, values) in results.items():
        rows[table] = count
        written[table] = [lake_io.partition_spec(outputs[table][1], value) for value in values]


if __name__ == "__main__":
    sys.exit(main())
