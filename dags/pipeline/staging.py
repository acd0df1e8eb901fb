"""Write-audit-publish over versioned partitions (the lake layout's contract with spark/jobs/lake_io.py):

    <table>/_v/<stamp>/<spec>/part-*.parquet   a version: what one Spark job wrote, never changed afterwards
    <table>/<spec>/_current.json               the version the next Spark job builds on (switched at its end)
    <table>/<spec>/_registered.json            the version analysts see: switched by registration, after the gate

A run's Spark job writes the partitions it changes as new versions and makes them current; the DQ gate validates
exactly those versions; registration points the catalog at them (Athena SET LOCATION, the DuckDB views) and
moves `_registered.json` forward. Nothing is copied, nothing overwritten in place: a failed gate leaves analysts on
the versions they had. Versions no pointer names are removed by housekeeping once older than the retention (a
query that began on one finishes first)."""

from __future__ import annotations

import datetime as dt
import posixpath

import pyarrow.fs as pafs

from pipeline.lake import Lake
from pipeline.publish import table_registry
from pipeline.settings import Settings
from pipeline.task_log import line
from pipeline.transform.refresh_summary import version_locations

VERSIONS = "_v"
CURRENT = "_current.json"
REGISTERED = "_registered.json"
STAMP_FORMAT = "%Y%m%dT%H%M%S%f"  # a version's folder: <when, to the microsecond: they sort>_<run id>
INTERNAL_TABLES = ("state/orders", "state/customer_cells", "state/day_customers")  # versioned, current-only: no catalog


def new_stamp(run_id: str | None) -> str:
    """A version folder's name made now (spark/jobs/lake_io.py makes the Spark jobs' the same way)."""
    return f"{dt.datetime.now(dt.UTC):{STAMP_FORMAT}}_{run_id or 'manual'}"


def versions_of_run(settings: Settings, refresh: dict) -> tuple[str, dict[str, dict[str, str]], dict]:
    """The versions a refresh wrote: its stamp, table -> spec -> URI (what registration points the catalog at),
    and (table path, spec) -> folder for the checks."""
    lake = Lake.from_uri(settings.lake_uri)
    tables = table_registry.load_table_defs(settings.athena_ddl_dir)
    locations = version_locations(refresh)
    folders = {}
    for name, by_spec in locations.items():
        table = table_registry.table_def(tables, name)
        folders |= {(table.lake_path, spec): lake.path_of(uri) for spec, uri in by_spec.items()}
    return refresh.get("stamp", ""), locations, folders


def _pointer(lake: Lake, table_path: str, spec: str, name: str) -> dict | None:
    return lake.read_json(lake.path(table_path, spec, name))


def current_folder(lake: Lake, table_path: str, spec: str) -> str | None:
    """The folder of a partition's current version (None when it has none)."""
    pointer = _pointer(lake, table_path, spec, CURRENT)
    return lake.path_of(pointer["location"]) if pointer else None


def registered_stamp(lake: Lake, table: table_registry.TableDef, spec: str) -> str:
    """The stamp of the version a partition is registered at ("" when none): registration only moves forward."""
    pointer = _pointer(lake, table.lake_path, spec, REGISTERED)
    return pointer["stamp"] if pointer else ""


def record_registered(lake: Lake, table: table_registry.TableDef, spec: str, stamp: str, location: str) -> None:
    lake.write_json(lake.path(table.lake_path, spec, REGISTERED), {"stamp": stamp, "location": location})


def forget_registered(lake: Lake, table: table_registry.TableDef, spec: str) -> None:
    path = lake.path(table.lake_path, spec, REGISTERED)
    if lake.exists(path):
        lake.fs.delete_file(path)


def _partition_specs(lake: Lake, table_path: str, depth: int, prefix: str = "") -> list[str]:
    """Partition folders (`col=value` at every level) `depth` levels below `prefix`: one listing per level."""
    specs = [prefix]
    for _ in range(depth):
        specs = [
            posixpath.join(spec, name)
            for spec in specs
            for name in lake.list_dirs(lake.path(table_path, spec))
            if "=" in name
        ]
    return specs


def registered_folders(lake: Lake, table: table_registry.TableDef, prefix: str) -> list[tuple[str, str]]:
    """(spec, folder) of every registered partition of `table` under `prefix` ("year=2026/month=11"): what
    analysts see there. One listing per level below the prefix, one pointer read per partition."""
    found = []
    for spec in _partition_specs(lake, table.lake_path, len(table.partition_columns) - len(prefix.split("/")), prefix):
        pointer = _pointer(lake, table.lake_path, spec, REGISTERED)
        if pointer:
            found.append((spec, lake.path_of(pointer["location"])))
    return found


def current_specs_under(lake: Lake, table_path: str, depth: int, prefix: str) -> list[str]:
    """The partitions `depth` levels below `prefix` that have a current version (e.g. a curated month's buckets)."""
    specs = _partition_specs(lake, table_path, depth, prefix)
    return [spec for spec in specs if lake.exists(lake.path(table_path, spec, CURRENT))]


def current_partitions(lake: Lake, table: table_registry.TableDef) -> dict[str, str]:
    """spec -> URI of the current version of every partition of a table, for a full repair (lists the table)."""
    found = {}
    for spec in _partition_specs(lake, table.lake_path, len(table.partition_columns)):
        pointer = _pointer(lake, table.lake_path, spec, CURRENT)
        if pointer:
            found[spec] = pointer["location"]
    return found


def sweep_versions(lake: Lake, table_path: str, keep: dt.timedelta, now: dt.datetime | None = None) -> int:
    """Deletes the versions of a table that neither pointer of their partition names, once older than `keep`
    (superseded ones, and those of jobs that died or failed their gate); returns how many partition versions
    went. Housekeeping: one listing of the table's versions, one recursive listing per old one."""
    cutoff = (now or dt.datetime.now(dt.UTC)) - keep
    removed = 0
    root = lake.path(table_path, VERSIONS)
    for stamp in lake.list_dirs(root):
        written_at = dt.datetime.strptime(stamp.split("_", 1)[0], STAMP_FORMAT).replace(tzinfo=dt.UTC)
        if written_at > cutoff:
            continue
        folder = posixpath.join(root, stamp)
        infos = lake.fs.get_file_info(pafs.FileSelector(folder, recursive=True))
        specs = sorted(
            {posixpath.relpath(posixpath.dirname(i.path), folder) for i in infos if i.type == pafs.FileType.File}
        )
        kept = 0
        for spec in specs:
            names = {(_pointer(lake, table_path, spec, name) or {}).get("stamp") for name in (CURRENT, REGISTERED)}
            if stamp in names:
                kept += 1
            else:
                lake.delete_dir(posixpath.join(folder, spec))
                removed += 1
        if not kept:
            lake.delete_dir(folder)
    return removed


def sweep(settings: Settings, run_id: str) -> dict:
    """lake_housekeeping: sweeps every versioned table (the catalog's and the orders' state); logs one line."""
    lake = Lake.from_uri(settings.lake_uri)
    paths = sorted({t.lake_path for t in table_registry.load_table_defs(settings.athena_ddl_dir).values()})
    removed = {path: sweep_versions(lake, path, settings.published_retention) for path in [*paths, *INTERNAL_TABLES]}
    return line(
        {
            "bfp_task": "sweep_versions",
            "run_id": run_id,
            "retention_hours": settings.published_retention.total_seconds() / 3600,
            "removed": {path: count for path, count in removed.items() if count},
        }
    )
