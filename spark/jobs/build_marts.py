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

from contracts.lake_paths import CURATED_ORDER_LINES
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


def build(
    spark: SparkSession,
    lake: str,
    months: list[tuple[int, int]] | None,
    as_of: dt.date,
    tables: lake_io.JobTables | None = None,
) -> dict:
    """Rebuilds the marts of `months` (None: every month) from their curated lines, the yearly marts of their
    years from the customer cells, and the season marts from the whole daily mart; returns the summary. Writes
    are new versions: with `tables` (refresh.py, sharing curated's this-job writes) the caller switches them; else
    they become current here."""
    started = time.perf_counter()
    lake = lake.rstrip("/")
    own = tables is None
    tables = tables or lake_io.JobTables(spark, lake, lake_io.new_stamp(None))
    curated = tables.table(CURATED_ORDER_LINES, order_lines.PARTITION_COLUMNS, order_lines.CURATED_SCHEMA)
    if months is None:
        present = curated.partitions()
    else:
        present = [values for month in months for values in curated.partitions(month)]
    if months is None and not present:
        raise ValueError(f"{curated.uri} has no partitions: run build_order_lines first")
    lines = curated.read(present)
    rows_in = lines.count()  # every curated line read, cancelled ones included (from the Parquet footers)
    # Only what the marts read is cached: the titles alone are most of the curated bytes.
    lines = marts.mart_lines(lines).cache()
    cells = marts.customer_cells(lines).cache()  # written, and the cube's input
    # Both caches filled by one job before the tables are written: concurrent writes (a merge's) would each compute
    # the lines' order windows and the cells themselves while neither cache was filled yet.
    cells.count()
    rows, versions = {}, {}
    monthly = {CUSTOMER_CELLS: (cells, ["year", "month"]), **mart_tables(lines, cells)}
    _write_all(monthly, tables, rows, versions, at_once=months is not None)
    touched = None if months is None else [tuple(m) for m in months]
    for table in monthly:  # a touched month left without lines loses its partitions (registration drops them)
        _remove_unwritten(versions[table], touched)
    years = sorted({year for year, _ in months}) if months is not None else None
    # A full build has every cell at hand; a merge sums its years' cells of every month, the untouched ones too.
    yearly = yearly_tables(cells if years is None else read_cells(versions[CUSTOMER_CELLS], years))
    _write_all(yearly, tables, rows, versions, at_once=years is not None)
    for table in yearly:
        _remove_unwritten(versions[table], None if years is None else [(year,) for year in years])
    monthly[DAILY][0].unpersist()
    cells.unpersist()
    lines.unpersist()
    # The season marts compare years: they are rebuilt from the whole daily mart (a few rows per day), so every
    # year's status follows the as-of date even when only this month's lines changed.
    daily = versions[DAILY]
    all_days = daily.read(daily.partitions(), monthly[DAILY][0].schema).cache()
    years = marts.years_of(all_days, as_of)
    seasonal = season_tables(spark, all_days, as_of, years)
    before = {table: tables.table(_path(table), ["year"]).partitions() for table in seasonal}
    if months is not None and before.get(CALENDAR) == calendar_years(years.every):
        del seasonal[CALENDAR]  # the calendar depends on its years alone: a merge leaves the same years' rows
    _write_all(seasonal, tables, rows, versions, at_once=months is not None)
    for table in seasonal:  # replaced whole: a year the new as-of date does not reach yet goes
        _remove_unwritten(versions[table], None)
    all_days.unpersist()
    if own:
        tables.switch()
    internal = versions.pop(CUSTOMER_CELLS).summary()  # not an analysts' table: nothing to register
    rows.pop(CUSTOMER_CELLS)
    summaries = {table: table_versions.summary() for table, table_versions in versions.items()}
    summary = {
        "event": "build_marts",
        "status": "success",
        "stamp": tables.stamp,
        "rows_in": rows_in,
        "rows_out": rows,
        "partitions": {table: s["partitions"] for table, s in summaries.items()},
        "partitions_removed": {
            table: s["partitions_removed"] for table, s in summaries.items() if s["partitions_removed"]
        },
        "locations": {table: s["locations"] for table, s in summaries.items()},
        "customer_cells": internal,
        "months": "all" if months is None else [f"{y}-{m:02d}" for y, m in months],
        "as_of": as_of.isoformat(),
        "path": f"{lake}/marts",
        "duration_seconds": round(time.perf_counter() - started, 2),
    }
    log.info(json.dumps(summary))
    return summary


def _path(table: str) -> str:
    """An analysts' table name's lake folder: marts.daily_sales -> marts/daily_sales."""
    return table.replace(".", "/")


def read_cells(cells: lake_io.VersionedTable, years: list[int]) -> DataFrame:
    """The customer cells of every month of the given years (this job's new ones included): one listing per year."""
    months = [values for year in years for values in cells.partitions((year,))]
    return cells.read(months, marts.CUSTOMER_CELL_SCHEMA)


def calendar_years(years: list[int]) -> list[tuple]:
    """The partitions of the calendar the daily mart's years need (every year from the first to the last)."""
    return [(year,) for year in range(min(years), max(years) + 1)] if years else []


def _remove_unwritten(versions: lake_io.VersionedTable, scope: list[tuple] | None) -> None:
    """Partitions in `scope` (None: every current one) that this job did not write lose their pointer."""
    present = versions.partitions() if scope is None else scope
    versions.remove([values for values in present if tuple(values) not in versions.written])


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


def season_tables(
    spark: SparkSession, all_days: DataFrame, as_of: dt.date, years: marts.Years | None = None
) -> dict[str, tuple[DataFrame, list[str]]]:
    """The season marts of the whole daily mart as of `as_of`, and the calendar of the years it holds (`years`:
    marts.years_of(all_days, as_of), one job, when the caller has it)."""
    years = years or marts.years_of(all_days, as_of)
    seasonal = {
        "marts.black_friday_summary": (marts.black_friday_summary(all_days, as_of, years), ["year"]),
        "marts.season_to_date": (marts.season_to_date(all_days, as_of, years), ["year"]),
    }
    if years.every:
        seasonal[CALENDAR] = (calendar.calendar_frame(spark, min(years.every), max(years.every)), ["year"])
    return seasonal


def _write_all(
    outputs: dict, tables: lake_io.JobTables, rows: dict, versions: dict, options: dict | None = None, at_once=False
) -> None:
    """Writes each table's frame as new versions of its partitions; records each table's rows and versions.
    `at_once`: the tables concurrently, each a Spark job of its own (a merge's marts are small, and one after
    another they would wait on each other's planning and commits; a full build's would fight over the cores)."""

    def write(table: str) -> int:
        frame, partitions = outputs[table]
        versions[table] = tables.table(_path(table), partitions, frame.schema)
        count, _ = versions[table].write(frame, options=options)
        return count

    if at_once:
        with ThreadPoolExecutor(max_workers=len(outputs) or 1) as pool:
            counts = dict(zip(outputs, pool.map(write, outputs), strict=True))
    else:  # in this thread: its job group (what bench-transform's breakdown reads) goes with the jobs
        counts = {table: write(table) for table in outputs}
    rows.update(counts)


if __name__ == "__main__":
    sys.exit(main())
