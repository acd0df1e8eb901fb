"""Raw window compaction: the housekeeping that keeps the raw lake from growing by two small folders an hour.

Windows extracted more than `keep` ago (by their manifest's `written_at`, so a window a backfill has just
extracted again stays a folder until its run has merged and checked it) are absorbed into one file per table
and month, `raw/compacted/<table>/month=YYYY-MM/<file>.parquet`, with a `window` column, and listed in that
month's `_index.json`; then their folders are deleted. Per month and table:

1. a new file is written: the month's current file without the windows being absorbed (a window absorbed
   again replaces its earlier rows), then each window's rows;
2. the index is written naming the new file and every window in it: the commit point (readers use only files
   an index names; an unfinished compaction's file is deleted by the next one);
3. the previous file and the absorbed window folders are deleted, each window's manifests first: on S3 a folder
   goes object by object, and a manifest left beside deleted data would call a partial window complete.

A compaction that dies anywhere is finished by the next one, which gives the same files and removes what a
killed one left (a window folder it had begun to delete: no manifest, listed by an index): it is idempotent.
Windows still pending publication (pipeline.progress) are not compacted: the transform that merges them reads
their folders.
Hourly runs never read compacted months (they read their own windows and the orders' state); a rebuild
(`--all-windows`) reads the compacted months and the remaining folders. Runs under the one-writer pool.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import posixpath
import time
from collections import defaultdict

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from contracts.lake_paths import COMPACTION_INDEX as INDEX
from contracts.lake_paths import RAW_COMPACTED as COMPACTED
from pipeline import progress
from pipeline.extract import raw_tables
from pipeline.extract.watermark import WINDOW_LABEL_FORMAT
from pipeline.lake import MANIFEST, Lake
from pipeline.settings import Settings

log = logging.getLogger("pipeline.compaction")
TABLES = ("order_items", "orders")  # the orders manifest marks a window complete: its folder goes last


def window_end(label: str) -> dt.datetime:
    """A window label's end (labels of manual windows carry seconds and microseconds after the minute)."""
    return dt.datetime.strptime(label[:13], WINDOW_LABEL_FORMAT).replace(tzinfo=dt.UTC)


def month_of(label: str) -> str:
    """The compacted month a window belongs to: the month of its end, YYYY-MM."""
    return f"{label[:4]}-{label[4:6]}"


def compacted_schema(table: str) -> pa.Schema:
    return raw_tables.RAW_TABLES[table].append(pa.field("window", pa.string()))


def leftover_windows(lake: Lake, cutoff: dt.datetime) -> dict[str, list[str]]:
    """month -> labels of window folders (of either table) without a manifest that ended before `cutoff`: an
    extract that died (its retry replaces it) or a compaction that died while deleting (compact() removes those
    its index holds)."""
    found = defaultdict(set)
    for table in TABLES:
        for folder in lake.list_dirs(lake.path("raw", table)):
            label = folder.removeprefix("window=")
            if folder.startswith("window=") and window_end(label) < cutoff:
                if lake.manifest(lake.path("raw", table, folder)) is None:
                    found[month_of(label)].add(label)
    return {month: sorted(labels) for month, labels in sorted(found.items())}


def due_windows(lake: Lake, cutoff: dt.datetime) -> dict[str, list[str]]:
    """month -> labels of the complete windows that ended and were written before `cutoff` and are published."""
    due = defaultdict(list)
    pending = set(progress.pending_labels(lake))
    for folder in lake.list_dirs(lake.path("raw", "orders")):
        label = folder.removeprefix("window=")
        if not folder.startswith("window=") or window_end(label) >= cutoff or label in pending:
            continue
        manifest = lake.manifest(lake.path("raw", "orders", folder))
        if manifest is None:  # incomplete: see leftover_windows
            continue
        written_at = manifest.get("written_at")
        if (dt.datetime.fromisoformat(written_at) if written_at else window_end(label)) < cutoff:
            due[month_of(label)].append(label)
    return {month: sorted(labels) for month, labels in sorted(due.items())}


def run(settings: Settings, run_id: str, as_of: dt.datetime) -> dict:
    """The housekeeping task: compacts the windows due `settings.compact_after` before `as_of` (the run's data
    interval end) and keeps the record at _runs/compact/<run_id>.json."""
    lake = Lake.from_uri(settings.lake_uri)
    record = compact(lake, as_of.astimezone(dt.UTC) - settings.compact_after, run_id)
    lake.write_json(lake.path("_runs", "compact", f"{run_id}.json"), record)
    return record


def indexed_windows(lake: Lake, months: list[str]) -> set[str]:
    """The window labels the compaction indexes of `months` (YYYY-MM) hold: one read per month."""
    found = set()
    for month in months:
        index = lake.read_json(lake.path(COMPACTED, "orders", f"month={month}", INDEX))
        found |= set((index or {}).get("windows", {}))
    return found


def compact(lake: Lake, cutoff: dt.datetime, run_id: str) -> dict:
    """Absorbs every window due before `cutoff` into its month; returns (and logs) the run's record."""
    started = time.perf_counter()
    months, leftovers = {}, leftover_windows(lake, cutoff)
    for month, labels in due_windows(lake, cutoff).items():
        months[month] = {table: compact_month(lake, table, month, labels, run_id) for table in TABLES}
        for label in labels:
            delete_window(lake, label)
    removed = []
    for month, labels in leftovers.items():  # a compaction killed while deleting them: already in the index
        absorbed = indexed_windows(lake, [month])
        for label in labels:
            if label in absorbed:
                delete_window(lake, label)
                removed.append(label)
    record = {
        "bfp_task": "compact_raw_windows",
        "status": "success",
        "run_id": run_id,
        "cutoff": cutoff.isoformat(),
        "windows": sum(len(m["orders"]["absorbed"]) for m in months.values()),
        "months": months,
        "leftovers_removed": removed,
        "path": lake.uri_of(lake.path(COMPACTED)),
        "duration_seconds": round(time.perf_counter() - started, 3),
    }
    log.info(json.dumps(record, sort_keys=True))
    return record


def delete_window(lake: Lake, label: str) -> None:
    """Deletes an absorbed window's folders, manifests first (the orders one first of all): from the first delete
    on, readers see the window as incomplete, never as complete with part of its data gone."""
    for table in reversed(TABLES):
        manifest = lake.path("raw", table, f"window={label}", MANIFEST)
        if lake.exists(manifest):
            lake.fs.delete_file(manifest)
    for table in reversed(TABLES):
        lake.delete_dir(lake.path("raw", table, f"window={label}"))


def compact_month(lake: Lake, table: str, month: str, labels: list[str], run_id: str) -> dict:
    """Rewrites one table's compacted file of `month` with `labels` absorbed; commits by writing the index."""
    folder = lake.path(COMPACTED, table, f"month={month}")
    index = lake.read_json(posixpath.join(folder, INDEX)) or {"windows": {}}
    previous = index.get("file")
    for info in lake.list_files(folder):  # an unfinished compaction's file, never named by an index
        if info.base_name not in (INDEX, previous):
            lake.fs.delete_file(info.path)
    stamp = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}"
    name = f"part-{stamp}.parquet"
    absorbing = set(labels)
    windows = {label: facts for label, facts in index["windows"].items() if label not in absorbing}
    rows = 0
    lake.fs.create_dir(folder, recursive=True)
    schema = compacted_schema(table)
    with pq.ParquetWriter(posixpath.join(folder, name), schema, filesystem=lake.fs, compression="zstd") as writer:
        if previous:  # streamed batch by batch: a month's file is never held in memory whole
            absorbed = pa.array(sorted(absorbing), pa.string())
            with lake.fs.open_input_file(posixpath.join(folder, previous)) as handle:
                for batch in pq.ParquetFile(handle).iter_batches():
                    kept = pa.Table.from_batches([batch]).filter(pc.invert(pc.is_in(batch["window"], absorbed)))
                    if kept.num_rows:
                        writer.write_table(kept.cast(schema))
                        rows += kept.num_rows
        for label in labels:
            window_folder = lake.path("raw", table, f"window={label}")
            manifest = lake.read_json(posixpath.join(window_folder, MANIFEST)) or {}
            for info in lake.list_files(window_folder):
                if info.base_name.endswith(".parquet"):
                    part = pq.read_table(info.path, filesystem=lake.fs, schema=raw_tables.RAW_TABLES[table])
                    writer.write_table(part.append_column("window", pa.array([label] * part.num_rows, pa.string())))
                    rows += part.num_rows
            windows[label] = {k: manifest.get(k) for k in ("rows", "run_id", "written_at")}
    lake.write_json(
        posixpath.join(folder, INDEX),
        {"table": table, "month": month, "file": name, "rows": rows, "windows": windows, "run_id": run_id},
    )
    if previous and previous != name:
        lake.fs.delete_file(posixpath.join(folder, previous))
    return {"absorbed": labels, "file": lake.uri_of(posixpath.join(folder, name)), "rows": rows}
