"""The watermark extract: every order changed in a window, with its lines, from PostgreSQL to the raw lake.

Rules kept (docs/architecture.md, "The watermark rules"): one REPEATABLE READ READ ONLY transaction with the
session in UTC; the window's safety is judged in that snapshot (fail and retry, never shrink); keyset pages on
(updated_at, id) streamed to Parquet (zstd) one row group at a time; files staged, then moved into the window
folder; the manifest written last. Re-running a window replaces exactly that window.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import psycopg2.extensions
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pipeline import progress
from pipeline.extract import raw_tables, source_db
from pipeline.extract.watermark import EPOCH, SnapshotFacts, Window, check_window_safe
from pipeline.lake import Lake
from pipeline.settings import Settings

log = logging.getLogger("pipeline.extract.window_extract")
SQL_DIR = Path(__file__).with_name("sql")
PACKAGE_DIR = Path(__file__).resolve().parents[1]  # the pipeline package, every stage of it


@dataclass
class TableOutput:
    """What one raw table received from a window."""

    rows: int = 0
    files: list[str] = field(default_factory=list)


@dataclass
class ExtractResult:
    window: Window
    run_id: str
    status: str  # success | dry_run
    orders: TableOutput
    order_items: TableOutput
    min_updated_at: dt.datetime | None
    max_updated_at: dt.datetime | None
    snapshot: SnapshotFacts
    duration_seconds: float
    pages: int

    def summary(self) -> dict:
        """The task's one structured log line (also its return value / XCom)."""
        return {
            "bfp_task": "extract_window",
            "status": self.status,
            "window": self.window.as_dict(),
            "run_id": self.run_id,
            "rows_out": {"orders": self.orders.rows, "order_items": self.order_items.rows},
            "paths": self.orders.files + self.order_items.files,
            "pages": self.pages,
            "min_updated_at": self.min_updated_at.isoformat() if self.min_updated_at else None,
            "max_updated_at": self.max_updated_at.isoformat() if self.max_updated_at else None,
            "snapshot": self.snapshot.as_dict(),
            "duration_seconds": round(self.duration_seconds, 3),
        }


def code_version() -> str:
    """A content hash of this package's code and SQL: which extract logic wrote a window."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*")):
        if path.suffix in (".py", ".sql"):
            digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def micros_to_datetime(micros: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=micros)


def copy_page(cur, sql: str, params: dict, schema: pa.Schema) -> pa.Table:
    """Runs a COPY (query) TO STDOUT and parses its CSV with the table's explicit schema."""
    buffer = io.BytesIO()
    cur.copy_expert(cur.mogrify(sql, params).decode(), buffer)
    if buffer.tell() == 0:
        return schema.empty_table()
    buffer.seek(0)
    table = pacsv.read_csv(
        buffer,
        read_options=pacsv.ReadOptions(column_names=schema.names),
        # COPY writes NULL as an empty unquoted field and an empty string as "": keep them apart.
        convert_options=pacsv.ConvertOptions(
            column_types=raw_tables.csv_column_types(schema),
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    return raw_tables.cast_timestamps(table, schema)


def connect_snapshot(settings: Settings):
    """A connection whose next transaction is REPEATABLE READ READ ONLY, with the session in UTC."""
    conn = source_db.connect(settings, "bfp-extract")
    conn.set_session(isolation_level=psycopg2.extensions.ISOLATION_LEVEL_REPEATABLE_READ, readonly=True)
    return conn


def window_folder(lake: Lake, table: str, window: Window) -> str:
    return lake.path("raw", table, f"window={window.label}")


def extract_window(
    window: Window, settings: Settings, dry_run: bool = False, run_id: str | None = None
) -> ExtractResult:
    """Extracts `window` into the raw lake (or, with dry_run, only counts what it would write)."""
    started = time.perf_counter()
    run_id = run_id or f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    lake = Lake.from_uri(settings.lake_uri)
    conn = connect_snapshot(settings)
    try:
        with conn.cursor() as cur:
            facts = check_window_safe(cur, window, settings.extract_lag)  # first statement: fixes the snapshot
            if dry_run:
                return _dry_run(cur, window, run_id, facts, started)
            # Per window, not per run: a re-run first clears what a crashed attempt left behind.
            staging = lake.path("_staging", "orders_extract", f"window={window.label}")
            lake.delete_dir(staging)
            result = _stream_pages(cur, lake, staging, window, settings.page_rows)
        conn.rollback()  # read only: nothing to commit; the snapshot is released
    finally:
        conn.close()

    orders, items, pages, min_ts, max_ts = result
    duration = time.perf_counter() - started
    common = {
        "window": window.as_dict(),
        "run_id": run_id,
        "snapshot": facts.as_dict(),
        "code_version": code_version(),
        "written_at": dt.datetime.now(dt.UTC).isoformat(),
        "duration_seconds": round(duration, 3),
        "min_updated_at": min_ts.isoformat() if min_ts else None,
        "max_updated_at": max_ts.isoformat() if max_ts else None,
    }
    # Lines first, orders last: the orders manifest is what marks the window complete.
    for table, output, query in (
        ("order_items", items, "extract_order_items_page.sql"),
        ("orders", orders, "extract_orders_page.sql"),
    ):
        target = window_folder(lake, table, window)
        manifest = {
            **common,
            "table": table,
            "rows": output.rows,
            "files": [lake.uri_of(f"{target}/{Path(f).name}") for f in output.files],
            "query": (SQL_DIR / query).read_text(),
            "page_rows": settings.page_rows,
        }
        published = lake.publish(output.files, target, manifest)
        output.files = [lake.uri_of(p) for p in published]
    lake.delete_dir(staging)
    progress.window_extracted(lake, window, run_id)  # after the manifest: pending publication from here on
    return ExtractResult(window, run_id, "success", orders, items, min_ts, max_ts, facts, duration, pages)


def _dry_run(cur, window: Window, run_id: str, facts: SnapshotFacts, started: float) -> ExtractResult:
    cur.execute((SQL_DIR / "count_window.sql").read_text(), {"start": window.start, "end": window.end})
    orders, items, min_ts, max_ts = cur.fetchone()
    return ExtractResult(
        window,
        run_id,
        "dry_run",
        TableOutput(orders),
        TableOutput(items),
        min_ts,
        max_ts,
        facts,
        time.perf_counter() - started,
        0,
    )


def _stream_pages(cur, lake: Lake, staging: str, window: Window, page_rows: int):
    """Pages through the window, writing each page (and its orders' lines) as a Parquet row group."""
    orders_sql = (SQL_DIR / "extract_orders_page.sql").read_text()
    items_sql = (SQL_DIR / "extract_order_items_page.sql").read_text()
    orders, items = TableOutput(), TableOutput()
    writers: dict[str, pq.ParquetWriter] = {}
    after = (window.start, -1)  # ids are positive: (start, -1) precedes every row at start
    pages = 0
    min_ts = max_ts = None

    def write(table_name: str, output: TableOutput, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        if table_name not in writers:
            lake.fs.create_dir(f"{staging}/{table_name}", recursive=True)
            path = f"{staging}/{table_name}/part-00000.parquet"
            writers[table_name] = pq.ParquetWriter(
                path, raw_tables.RAW_TABLES[table_name], filesystem=lake.fs, compression="zstd"
            )
            output.files.append(path)
        writers[table_name].write_table(table)
        output.rows += table.num_rows

    try:
        while True:
            bounds = {"start": window.start, "end": window.end, "after_updated_at": after[0], "after_id": after[1]}
            page = copy_page(cur, orders_sql, {**bounds, "page_rows": page_rows}, raw_tables.ORDERS)
            if page.num_rows == 0:
                break
            pages += 1
            last_micros = page.column("updated_at").cast(pa.int64())[-1].as_py()
            last = (micros_to_datetime(last_micros), page.column("id")[-1].as_py())
            lines = copy_page(
                cur, items_sql, {**bounds, "last_updated_at": last[0], "last_id": last[1]}, raw_tables.ORDER_ITEMS
            )
            write("orders", orders, page)
            write("order_items", items, lines)
            if min_ts is None:
                min_ts = page.column("updated_at")[0].as_py()
            max_ts = last[0]
            if page.num_rows < page_rows:
                break
            after = last
    finally:
        for writer in writers.values():
            writer.close()
    return orders, items, pages, min_ts, max_ts
