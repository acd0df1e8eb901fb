"""Write-audit-publish's copies: every partition a run wrote is copied to a run-stamped folder under
<lake>/_published/ (what the DQ gate validates and the catalog points at), so a later run rewriting the
working folders (and maybe failing its gate) changes nothing analysts see. Registration only moves forward
(a pointer file per partition), and superseded copies go once no reader can still be on them."""

from __future__ import annotations

import datetime as dt
import posixpath

from pipeline import table_registry
from pipeline.lake import Lake
from pipeline.refresh_summary import written_partitions
from pipeline.settings import Settings

# <lake>/_published/<table folder>/<partition>/<stamp>/: the copies the gate validates and the catalog points at
PUBLISHED = "_published"
STAMP_FORMAT = "%Y%m%dT%H%M%S%f"  # a copy's folder: <when, to the microsecond: they sort>_<run id>
REGISTERED = "_registered.json"  # beside a partition's copies: the stamp of the one the catalog points at


def new_stamp(run_id: str | None) -> str:
    """A copy folder's name for this run, now: later stamps sort after earlier ones."""
    return f"{dt.datetime.now(dt.UTC):{STAMP_FORMAT}}_{run_id or 'manual'}"


def stage(settings: Settings, refresh: dict, run_id: str) -> tuple[str, dict[str, dict[str, str]], dict]:
    """Write-audit-publish's first step: copies every partition the run wrote to its run-stamped location (what
    the gate validates and registration publishes; later writes to the working folders do not touch it).
    Returns the stamp, table -> spec -> URI, and (table path, spec) -> folder for the checks."""
    lake = Lake.from_uri(settings.lake_uri)
    tables = table_registry.load_table_defs(settings.athena_ddl_dir)
    stamp = new_stamp(run_id)
    staged, folders = {}, {}
    for name, specs in written_partitions(refresh).items():
        table = table_registry.table_def(tables, name)
        staged[name] = snapshot(lake, table, specs, stamp)
        folders |= {(table.lake_path, spec): lake.path(PUBLISHED, table.lake_path, spec, stamp) for spec in specs}
    return stamp, staged, folders


def partitions_in_lake(lake: Lake, table: table_registry.TableDef) -> list[str]:
    """Every partition folder of a table that holds files ("year=2022/month=11"), for a full repair."""
    specs = [""]
    for _ in table.partition_columns:
        specs = [posixpath.join(spec, d) for spec in specs for d in lake.list_dirs(lake.path(table.lake_path, spec))]
    return sorted(spec for spec in specs if lake.list_files(lake.path(table.lake_path, spec)))


def snapshot(lake: Lake, table: table_registry.TableDef, specs: list[str], stamp: str) -> dict[str, str]:
    """Copies each written partition to its published location (write-audit-publish): the catalog points at the
    copy, so the next run rewriting the table's folder (and maybe failing its gate) changes nothing analysts
    see. Returns spec -> URI of the copy."""
    for spec in specs:
        table_registry.parse_spec(table, spec)
    missing = [spec for spec in specs if not lake.exists(lake.path(table.lake_path, spec))]
    if missing:
        raise table_registry.CatalogError(f"{table.qualified}: no partition folders {missing}; run the transform first")
    locations = {}
    for spec in specs:
        target = lake.path(PUBLISHED, table.lake_path, spec, stamp)
        lake.copy_dir(lake.path(table.lake_path, spec), target)
        locations[spec] = lake.uri_of(target)
    return locations


def registered_stamp(lake: Lake, table: table_registry.TableDef, spec: str) -> str:
    """The stamp of the copy a partition is registered at ("" when none): registration only moves forward."""
    pointer = lake.read_json(lake.path(PUBLISHED, table.lake_path, spec, REGISTERED))
    return pointer["stamp"] if pointer else ""


def remove_superseded(
    lake: Lake, table: table_registry.TableDef, specs: list[str], stamp: str, keep: dt.timedelta
) -> int:
    """Deletes a partition's earlier published copies once older than `keep` (a reader that began on one before
    the switch finishes first); never the one just registered. Returns how many went."""
    removed = 0
    cutoff = dt.datetime.now(dt.UTC) - keep
    for spec in specs:
        folder = lake.path(PUBLISHED, table.lake_path, spec)
        for older in lake.list_dirs(folder):
            published_at = dt.datetime.strptime(older.split("_", 1)[0], STAMP_FORMAT).replace(tzinfo=dt.UTC)
            if older != stamp and published_at <= cutoff:
                lake.delete_dir(posixpath.join(folder, older))
                removed += 1
    return removed
