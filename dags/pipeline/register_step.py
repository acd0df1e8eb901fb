"""The register_partitions task's plain functions: the catalog (Athena on AWS, DuckDB locally) is switched to
the copies the gate validated, one transaction per table; a full repair publishes every partition found in the
lake (the MSCK REPAIR equivalent). `python -m pipeline.registry_cli` calls the same functions."""

from __future__ import annotations

from pipeline import audit, table_registry
from pipeline.lake import Lake
from pipeline.refresh_summary import removed_partitions, written_partitions
from pipeline.settings import Settings
from pipeline.staging import (
    PUBLISHED,
    REGISTERED,
    new_stamp,
    partitions_in_lake,
    registered_stamp,
    remove_superseded,
    snapshot,
)
from pipeline.task_log import failure_logged, line


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
    """Publishes the partitions the run wrote (and drops the emptied ones): the catalog is switched to the copies
    the gate validated (`dq`: its result), one transaction per table (Athena: ADD / SET LOCATION). With
    full_repair every partition found in the lake is copied and published instead (the MSCK REPAIR equivalent).
    """
    staged = None if full_repair or dq is None else (dq.get("stamp"), dq.get("staged", {}))
    written, removed = written_partitions(refresh), removed_partitions(refresh)
    return register_partitions(settings, written, removed, full_repair, run_id, staged)


def register_partitions(
    settings: Settings,
    written: dict[str, list[str]],
    removed: dict[str, list[str]],
    full_repair: bool = False,
    run_id: str | None = None,
    staged: tuple[str, dict] | None = None,
) -> dict:
    """register_run() for given partitions per table (also what `python -m pipeline.registry_cli` runs). `staged`
    (stamp, table -> spec -> URI): copies made and validated already; otherwise copies are made here. A
    partition whose registered copy is newer than this one (a later run published first) keeps it."""
    stamp = staged[0] if staged else new_stamp(run_id)
    superseded, kept_newer = 0, {}
    with failure_logged("register", run_id, "see docs/runbook.md#register_partitions; then clear this task"):
        target = catalog_for(settings)
        lake = Lake.from_uri(settings.lake_uri)
        if full_repair:
            written = {name: partitions_in_lake(lake, table) for name, table in target.tables.items()}
            removed = {name: sorted(set(target.registered(name)) - set(written[name])) for name in target.tables}
        for name in sorted(set(written) | set(removed)):
            table = table_registry.table_def(target.tables, name)
            specs = written.get(name, [])
            newer = [spec for spec in specs if registered_stamp(lake, table, spec) > stamp]
            specs = [spec for spec in specs if spec not in newer]
            locations = staged[1].get(name, {}) if staged else snapshot(lake, table, specs, stamp)
            target.register(name, specs, removed.get(name, []), locations={s: locations[s] for s in specs})
            for spec in specs:
                lake.write_json(lake.path(PUBLISHED, table.lake_path, spec, REGISTERED), {"stamp": stamp})
            superseded += remove_superseded(lake, table, specs, stamp, settings.published_retention)
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
                "published": lake.uri_of(lake.path(PUBLISHED)) + f"/<table>/<partition>/{stamp}",
                "superseded_removed": superseded,
                "kept_newer": kept_newer,
                "catalog": settings.catalog_path if settings.target == "local" else "athena",
            }
        ),
    )
