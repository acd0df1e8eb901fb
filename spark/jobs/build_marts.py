"""Black Friday marts from curated order_lines: the monthly marts daily_sales and olap_cube (with --months only
those months are rewritten; in a refresh, a month is revised from the lines of the orders the job changed when
its marts summarise the curated versions the job replaced: see month_change and revise_months), the yearly
state_sales and category_sales of those months' years (summed from the per-month customer cells,
state/customer_cells, not from a year of lines), then, from the whole daily mart, the season marts as of
--as-of: black_friday_summary and season_to_date, and the date dimension curated/calendar (Parquet, zstd).

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
from typing import NamedTuple

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from contracts.lake_paths import CURATED_ORDER_LINES
from jobs import entry, lake_io
from transforms import calendar, marts, order_lines
from transforms.session import local_frame

log = logging.getLogger("jobs.build_marts")
# Internal: one row per customer and cell, and one per day and customer, per month (marts.customer_cells,
# marts.day_customers); not registered for analysts.
CUSTOMER_CELLS = "state.customer_cells"
DAY_CUSTOMERS = "state.day_customers"
INTERNAL = (CUSTOMER_CELLS, DAY_CUSTOMERS)
DAILY = "marts.daily_sales"  # the season marts are built from it
CUBE = "marts.olap_cube"
MONTH = ["year", "month"]
# In each customer-cells month version: the curated partitions and versions the month's marts summarise.
BUILT_FROM = "_built_from.json"
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
    inputs = monthly_inputs(tables, curated, months, present)
    cells = inputs.cells.cache()  # written, and the cube's input
    # Both caches filled by one job before the tables are written: concurrent writes (a merge's) would each compute
    # the lines' order windows and the cells themselves while neither cache was filled yet.
    cells.count()
    rows, versions = {}, {}
    monthly = {
        CUSTOMER_CELLS: (cells, MONTH),
        DAY_CUSTOMERS: (inputs.day_customers, MONTH),
        **mart_tables(inputs.daily.cache(), cells),
    }
    _write_all(monthly, tables, rows, versions, at_once=months is not None)
    record_built_from(curated, versions[CUSTOMER_CELLS])
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
    for frame in inputs.cached:
        frame.unpersist()
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
    internal = {table: versions.pop(table).summary() for table in INTERNAL}  # not analysts' tables: not registered
    for table in INTERNAL:
        rows.pop(table)
    summaries = {table: table_versions.summary() for table, table_versions in versions.items()}
    summary = {
        "event": "build_marts",
        "status": "success",
        "stamp": tables.stamp,
        "rows_in": inputs.rows_in,
        "rows_out": rows,
        "partitions": {table: s["partitions"] for table, s in summaries.items()},
        "partitions_removed": {
            table: s["partitions_removed"] for table, s in summaries.items() if s["partitions_removed"]
        },
        "locations": {table: s["locations"] for table, s in summaries.items()},
        "customer_cells": internal[CUSTOMER_CELLS],
        "day_customers": internal[DAY_CUSTOMERS],
        "months": "all" if months is None else [f"{y}-{m:02d}" for y, m in months],
        "months_revised": inputs.months_revised,
        "customers_revised": inputs.customers_revised,
        "days_revised": inputs.days_revised,
        "as_of": as_of.isoformat(),
        "path": f"{lake}/marts",
        "duration_seconds": round(time.perf_counter() - started, 2),
    }
    log.info(json.dumps(summary))
    return summary


class MonthlyInputs(NamedTuple):
    cells: DataFrame  # the customer cells of the months
    day_customers: DataFrame  # their rows per day and customer
    daily: DataFrame  # their daily sales
    rows_in: int  # the curated lines read whole (cancelled ones included)
    months_revised: list[str]
    customers_revised: int
    days_revised: int
    cached: list[DataFrame]  # to unpersist once the marts are written


def monthly_inputs(
    tables: lake_io.JobTables, curated: lake_io.VersionedTable, months: list | None, present: list[tuple]
) -> MonthlyInputs:
    """The customer cells and daily sales of the curated partitions `present` (of `months`; None: every month).
    A touched month whose marts summarise the curated versions this job replaced is revised from the orders this
    job changed (month_change says when); any other (a first build, an import, after a job that
    died while switching, a window larger than the rest of its month) is built from all its lines."""
    changes = {} if months is None else {tuple(month): month_change(tables, curated, month) for month in months}
    revised = {month: change for month, change in changes.items() if change is not None}
    frames, rows_in, cached = [], 0, []
    whole_months = [values for values in present if tuple(values[:2]) not in revised]
    if whole_months or not revised:
        whole = curated.read(whole_months)
        rows_in = whole.count()  # from the Parquet footers
        # Only what the marts read is cached: the titles alone are most of the curated bytes.
        lines = marts.mart_lines(whole).cache()
        frames.append((marts.customer_cells(lines), marts.day_customers(lines), marts.daily_sales(lines)))
        cached.append(lines)
    customers = days = 0
    if revised:
        revision = revise_months(tables, curated, revised)
        frames.append((revision.cells, revision.day_customers, revision.daily))
        customers, days, cached = revision.customers, revision.days, cached + revision.cached
    cells, rows, daily = frames[0]
    for more_cells, more_rows, more_daily in frames[1:]:
        cells, rows, daily = cells.unionByName(more_cells), rows.unionByName(more_rows), daily.unionByName(more_daily)
    months_revised = [f"{y}-{m:02d}" for y, m in sorted(revised)]
    return MonthlyInputs(cells, rows, daily, rows_in, months_revised, customers, days, cached)


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


def mart_tables(daily: DataFrame, cells: DataFrame) -> dict[str, tuple[DataFrame, list[str]]]:
    """The monthly marts: the daily sales (marts.daily_sales, written, then read by the season marts) and the cube
    of the customer cells, with their partition columns, keyed by the analysts' table name (the lake folder is the
    same name with a slash). tests/spark/test_contract.py checks each frame against its DDL in sql/athena/."""
    return {DAILY: (daily, MONTH), CUBE: (marts.olap_cube(cells), MONTH)}


# --- a merge's months: revised from the customers whose lines changed ------------------------------------------


class MonthChange(NamedTuple):
    """What this job changed in a month of curated whose marts summarise the versions it replaced."""

    replaced: list[str]  # the folders of the versions this job replaced or removed
    written: list[tuple]  # the partitions this job wrote
    unchanged: list[tuple]  # the month's other partitions


def month_change(tables: lake_io.JobTables, curated: lake_io.VersionedTable, month: tuple) -> MonthChange | None:
    """The month's change when its marts (customer cells, day customers, daily sales and cube, all of one job) were
    built from exactly the curated versions the lake pointed at before this job, as their BUILT_FROM says, and
    revising them costs less than building the month whole; else None (the month is built whole). A changed purchases
    partition (an import) builds the month whole too: every historical customer would be revised."""
    month = tuple(month)
    pointers = [tables.table(_path(t), MONTH).pointer(month) for t in (CUSTOMER_CELLS, DAY_CUSTOMERS, DAILY, CUBE)]
    if None in pointers or len({pointer["stamp"] for pointer in pointers}) != 1:
        return None
    built_from = lake_io.read_json(tables.spark, f"{pointers[0]['location']}/{BUILT_FROM}")
    values = set(curated.partitions(month)) | {v for v in curated.removed if v[:2] == month}
    before = {v: pointer["location"] for v in values if (pointer := curated.pointer(v))}
    if built_from != {curated.spec(v): location for v, location in before.items()}:
        return None
    changed = [v for v in values if v in curated.written or v in curated.removed]
    if any(v[-1] == order_lines.PURCHASES_BUCKET for v in changed):
        return None
    change = MonthChange(
        replaced=sorted(before[v] for v in changed if v in before),
        written=sorted(v for v in changed if v in curated.written),
        unchanged=sorted(v for v in values if v not in changed),
    )
    # Revising shuffles the changed partitions' two versions to compare them and reads the month's cells and
    # day-customer rows; building whole shuffles the whole month once. Revised when the unchanged partitions hold
    # more lines than the changed ones: a Black Friday month's hourly window, not a first day or a huge window.
    return change if unchanged_lines_exceed_written(curated, change) else None


FIRST_COUNTED_PARTITIONS = 4


def unchanged_lines_exceed_written(curated: lake_io.VersionedTable, change: MonthChange) -> bool:
    """Whether the month's unchanged partitions hold more lines than the ones this job wrote, counted from the
    Parquet footers (no column is read). The unchanged ones are counted a few at a time, twice as many each
    time, until they do: a month of 400 order-id buckets cost 4-5 s for every footer (and a distributed listing
    of its 400 folders) where one bucket's footer already decides; the first count takes the written side too
    (one job)."""
    written, unchanged, start, batch = None, 0, 0, FIRST_COUNTED_PARTITIONS
    while written is None or start < len(change.unchanged):
        sides = curated.read(change.unchanged[start : start + batch]).select(F.lit("unchanged").alias("side"))
        if written is None:
            sides = sides.unionByName(curated.read(change.written).select(F.lit("written").alias("side")))
        counts = {row.side: row["count"] for row in sides.groupBy("side").count().collect()}
        written = counts.get("written", 0) if written is None else written
        unchanged += counts.get("unchanged", 0)
        if unchanged > written:
            return True
        start, batch = start + batch, batch * 2
    return False


# the keys a revision finds, as frames (transforms.session.local_frame)
MONTH_KEY = [T.StructField("year", T.IntegerType()), T.StructField("month", T.IntegerType())]
CUSTOMER_KEY = T.StructType([*MONTH_KEY, T.StructField("customer_id", T.StringType())])
DAY_KEY = T.StructType([*MONTH_KEY, T.StructField("order_date", T.DateType())])
DAY_CUSTOMER_KEY = T.StructType([*DAY_KEY.fields, T.StructField("customer_id", T.StringType())])


class Revision(NamedTuple):
    cells: DataFrame
    day_customers: DataFrame
    daily: DataFrame
    customers: int  # customers whose orders changed
    days: int  # days summed again
    cached: list[DataFrame]  # to unpersist once the marts are written


def revise_months(
    tables: lake_io.JobTables, curated: lake_io.VersionedTable, changes: dict[tuple, MonthChange]
) -> Revision:
    """The customer cells, day-customer rows and daily sales of the months in `changes`, revised from the orders
    this job changed (their lines in the replaced and in the new versions of the partitions it rewrote: one small
    job finds their customers and days). Cells and day-customer rows are sums over orders: the changed
    customers' cells, and the rows of the changed orders' days and customers, are netted with what those
    partitions gave before and give now (marts.revise_customer_cells, marts.revise_day_customers); everyone
    else's are kept. The changed days' daily sales are summed again from their day-customer rows (a row per
    customer: their number is the day's unique customers), not from the day's lines; every other day is kept.
    No curated partition the job did not rewrite is read."""
    columns = [*marts.MART_INPUT_COLUMNS, "source", "line_no"]
    before = curated.read_locations([f for change in changes.values() for f in change.replaced]).select(*columns)
    after = curated.read([values for change in changes.values() for values in change.written]).select(*columns)
    # a line counted -1 before and +1 after: what nets to zero is unchanged (exact for repeated lines too); an
    # order's date and customer are the order's, on every line
    signed = before.withColumn("side", F.lit(-1)).unionByName(after.withColumn("side", F.lit(1)))
    changed = signed.groupBy(*columns).agg(F.sum("side").alias("net")).where("net != 0")
    found = changed.select("year", "month", "order_date", "customer_id").distinct().collect()
    key = ["year", "month", "customer_id"]
    customers = sorted({(row.year, row.month, row.customer_id) for row in found})
    # planned in the JVM: a frame made from Python rows starts Python workers in each new JVM (seconds of CPU)
    theirs = F.broadcast(local_frame(tables.spark, customers, CUSTOMER_KEY))
    months = sorted(changes)
    cells_now = tables.table(_path(CUSTOMER_CELLS), MONTH).read(months, marts.CUSTOMER_CELL_SCHEMA).cache()
    revised = marts.revise_customer_cells(
        cells_now.join(theirs, key, "left_semi"),
        # the rewritten partitions whole: what their unchanged orders give cancels out
        marts.customer_cells(marts.mart_lines(before)),
        marts.customer_cells(marts.mart_lines(after)),
    )
    others = cells_now.join(theirs, key, "left_anti")  # a join puts its keys first: back in the schema's order
    cells = others.select(*marts.CUSTOMER_CELL_SCHEMA.fieldNames()).unionByName(revised)
    # a changed order's day and customer: their rows netted the same way; the days' rows (revised) give their
    # daily sales, everyone else's rows and every other day are kept
    spark = tables.spark
    day_customers = sorted({(row.year, row.month, row.order_date, row.customer_id) for row in found})
    their_days = F.broadcast(local_frame(spark, day_customers, DAY_CUSTOMER_KEY))
    day_key = [*marts.DAY, "customer_id"]
    rows_now = tables.table(_path(DAY_CUSTOMERS), MONTH).read(months, marts.DAY_CUSTOMER_SCHEMA).cache()
    revised_rows = marts.revise_day_customers(
        rows_now.join(their_days, day_key, "left_semi"),
        marts.day_customers(marts.mart_lines(before)),
        marts.day_customers(marts.mart_lines(after)),
    )
    other_rows = rows_now.join(their_days, day_key, "left_anti").select(*marts.DAY_CUSTOMER_SCHEMA.fieldNames())
    rows = other_rows.unionByName(revised_rows)
    days = sorted({key[:3] for key in day_customers})
    day_frame = F.broadcast(local_frame(spark, days, DAY_KEY))
    daily_now = tables.table(_path(DAILY), MONTH).read(months, marts.daily_sales_of_day_customers(rows_now).schema)
    daily = marts.revise_daily_sales(daily_now, day_frame, rows.join(day_frame, list(marts.DAY), "left_semi"))
    return Revision(cells, rows, daily, len(customers), len(days), [cells_now, rows_now])


def record_built_from(curated: lake_io.VersionedTable, cells: lake_io.VersionedTable) -> None:
    """Notes in each customer-cells month this job wrote the curated versions its marts summarise (BUILT_FROM)."""
    for month, location in sorted(cells.written.items()):
        built_from = {curated.spec(v): curated.current(v) for v in curated.partitions(month)}
        lake_io.write_json(cells.spark, f"{location}/{BUILT_FROM}", built_from)


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
