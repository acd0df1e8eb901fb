"""The register_partitions task's plain functions: the catalog (Athena on AWS, DuckDB locally) is switched to
the versions the gate validated, one transaction per table; a full repair publishes every partition's current
version (the MSCK REPAIR equivalent). `python -m pipeline.registry_cli` calls the same functions."""

from __future__ import annotations

from pipeline import audit, progress
from pipeline.lake import Lake
from pipeline.publish import table_registry
from pipeline.settings import Settings
from pipeline.staging import (
    VERSIONS,
    current_folder,
    current_partitions,
    forget_registered,
    record_registered,
    registered_stamp,
)
from pipeline.task_log import failure_logged, line
from pipeline.transform.refresh_summary import merged_windows, removed_partitions, written_partitions


def catalog_for(settings: Settings):
    """The analysts' catalog of the settings' target."""
    tables = table_registry.load_table_defs(settings.athena_ddl_dir)
    views = table_registry.load_view_defs(settings.athena_ddl_dir)
    if settings.target == "aws":
        return table_registry.AthenaCatalog(
            tables,
            settings.lake_uri,
            settings.athena_output_uri,
            settings.athena_workgroup,
            settings.aws_conn_id,
            views,
        )
    return table_registry.LocalCatalog(tables, settings.lake_uri, settings.catalog_path, views)


def register_run(
    settings: Settings, refresh: dict, full_repair: bool = False, run_id: str | None = None, dq: dict | None = None
) -> dict:
    """Publishes the partitions the run wrote (and drops the emptied ones): the catalog is switched to the versions
    the gate validated (`dq`: its result), one transaction per table (Athena: ADD / SET LOCATION). With
    full_repair every partition's current version is published instead (the MSCK REPAIR equivalent)."""
    staged = None if full_repair or dq is None else (dq.get("stamp"), dq.get("staged", {}))
    written, removed = written_partitions(refresh), removed_partitions(refresh)
    registered = register_partitions(settings, written, removed, full_repair, run_id, staged)
    # Analysts see the windows now: no later run needs to merge them again; a quarantine they were in is lifted.
    progress.windows_published(Lake.from_uri(settings.lake_uri), merged_windows(refresh), run_id or "manual")
    return registered


def register_partitions(
    settings: Settings,
    written: dict[str, list[str]],
    removed: dict[str, list[str]],
    full_repair: bool = False,
    run_id: str | None = None,
    staged: tuple[str, dict] | None = None,
) -> dict:
    """register_run() for given partitions per table (also what `python -m pipeline.registry_cli` runs). `staged`
    (stamp, table -> spec -> URI): the versions a run wrote and its gate validated; without it a partition's
    current version is registered. A partition registered at a newer version (a later run published first) keeps
    it: registration only moves forward."""
    kept_newer: dict[str, list[str]] = {}
    with failure_logged("register", run_id, "see docs/runbook.md#register_partitions; then clear this task"):
        target = catalog_for(settings)
        lake = Lake.from_uri(settings.lake_uri)
        current = {}
        if full_repair:
            current = {name: current_partitions(lake, table) for name, table in target.tables.items()}
            written = {name: sorted(found) for name, found in current.items()}
            removed = {name: sorted(set(target.registered(name)) - set(written[name])) for name in target.tables}
        for name in sorted(set(written) | set(removed)):
            table = table_registry.table_def(target.tables, name)
            locations = staged[1].get(name, {}) if staged else current.get(name) or _current_of(lake, table, written)
            stamps = {spec: _stamp_of(location) for spec, location in locations.items()}
            specs = written.get(name, [])
            newer = [spec for spec in specs if registered_stamp(lake, table, spec) > stamps[spec]]
            specs = [spec for spec in specs if spec not in newer]
            target.register(name, specs, removed.get(name, []), locations={s: locations[s] for s in specs})
            for spec in specs:
                record_registered(lake, table, spec, stamps[spec], locations[spec])
            for spec in removed.get(name, []):
                forget_registered(lake, table, spec)
            if newer:
                kept_newer[name] = newer
        target.ensure_views()
    return audit.record_run(
        settings,
        "register",
        run_id,
        line(
            {
                "bfp_task": "register",
                "status": "success",
                "run_id": run_id,
                "target": settings.target,
                "mode": "full_repair" if full_repair else "partitions",
                "registered": written,
                "dropped": removed,
                "stamp": staged[0] if staged else None,
                "kept_newer": kept_newer,
                "catalog": settings.catalog_path if settings.target == "local" else "athena",
            }
        ),
    )


def _current_of(lake: Lake, table: table_registry.TableDef, written: dict[str, list[str]]) -> dict[str, str]:
    """spec -> URI of the current version of the partitions asked for by hand (registry_cli register)."""
    locations = {}
    for spec in written.get(table.qualified, []):
        table_registry.parse_spec(table, spec)
        folder = current_folder(lake, table.lake_path, spec)
        if folder is None:
            raise table_registry.CatalogError(f"{table.qualified}: no partition {spec} in the lake; run the transform")
        locations[spec] = lake.uri_of(folder)
    return locations


def _stamp_of(location: str) -> str:
    """The version stamp in a version's location (<table>/_v/<stamp>/<spec>)."""
    return location.split(f"/{VERSIONS}/", 1)[1].split("/", 1)[0]
