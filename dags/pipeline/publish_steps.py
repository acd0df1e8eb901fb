"""The steps after the extract, as plain functions the DAG tasks call: Spark transform -> DQ gate -> partition
registration -> the publication record (the Asset event's extra). Each attempt logs one structured JSON line
under the key `bfp_task` (which Airflow's own JSON log lines never use), whether it succeeded or failed."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import posixpath
from collections.abc import Iterator

from pipeline import quality, spark_jobs, table_registry
from pipeline.lake import Lake
from pipeline.settings import Settings

log = logging.getLogger("pipeline.publish")
CURATED_TABLE = "curated.order_lines"
# <lake>/_published/<table folder>/<partition>/<stamp>/: the copies the gate validates and the catalog points at
PUBLISHED = "_published"
STAMP_FORMAT = "%Y%m%dT%H%M%S%f"  # a copy's folder: <when, to the microsecond: they sort>_<run id>
REGISTERED = "_registered.json"  # beside a partition's copies: the stamp of the one the catalog points at
TRANSFORM_NEXT_STEP = "see docs/runbook.md#transform; then clear this task"


def _log(event: dict, level: int = logging.INFO) -> dict:
    log.log(level, json.dumps(event, default=str, sort_keys=True))
    return event


@contextlib.contextmanager
def failure_logged(task: str, run_id: str | None, next_step: str) -> Iterator[None]:
    """A failure inside logs the task's line (status failed, the error, what to do) before it propagates."""
    try:
        yield
    except Exception as exc:
        _log(
            {
                "bfp_task": task,
                "status": "failed",
                "run_id": run_id,
                "error": f"{type(exc).__name__}: {exc}"[:3000],
                "next_step": next_step,
            },
            logging.ERROR,
        )
        raise


def written_partitions(refresh: dict) -> dict[str, list[str]]:
    """Table -> partitions a refresh run wrote (what registration adds)."""
    tables = {}
    if "order_lines" in refresh:
        tables[CURATED_TABLE] = refresh["order_lines"]["partitions"]
    tables.update(refresh.get("marts", {}).get("partitions", {}))  # keyed by table: marts.daily_sales, ...
    return tables


def removed_partitions(refresh: dict) -> dict[str, list[str]]:
    """Table -> partitions every row moved out of (what registration drops)."""
    removed = refresh.get("order_lines", {}).get("partitions_removed", [])
    tables = {CURATED_TABLE: removed} if removed else {}
    tables.update(refresh.get("marts", {}).get("partitions_removed", {}))  # season marts a new as-of date shrank
    return tables


def transform(settings: Settings, run_id: str, job_args: list[str], rows_in: int | None = None) -> dict:
    """Runs the Spark refresh job (local target); an extract window without orders skips Spark."""
    if rows_in == 0:
        return transform_skipped(run_id)
    with failure_logged("transform", run_id, TRANSFORM_NEXT_STEP):
        refresh = spark_jobs.run_refresh(settings, run_id, job_args)
    return transform_succeeded(settings, run_id, job_args, refresh)


def transform_skipped(run_id: str) -> dict:
    """An extract window without orders: nothing to merge, Spark is not started."""
    return _log({"bfp_task": "transform", "status": "skipped", "reason": "no orders in the window", "run_id": run_id})


def transform_succeeded(settings: Settings, run_id: str, job_args: list[str], refresh: dict, **extra) -> dict:
    """The transform's line for a finished job (`extra`: e.g. the EMR job run); returns the job's summary."""
    _log(
        {
            "bfp_task": "transform",
            "status": "success",
            "run_id": run_id,
            "args": job_args,
            "rows_in": refresh.get("marts", {}).get("rows_in"),
            "rows_out": {
                "order_lines": refresh.get("order_lines", {}).get("rows_out"),
                **refresh.get("marts", {}).get("rows_out", {}),
            },
            "partitions": {table: len(specs) for table, specs in written_partitions(refresh).items()},
            "summary": spark_jobs.summary_path(Lake.from_uri(settings.lake_uri), run_id),
            **extra,
        }
    )
    return refresh


def stage(settings: Settings, refresh: dict, run_id: str) -> tuple[str, dict[str, dict[str, str]], dict]:
    """Write-audit-publish's first step: copies every partition the run wrote to its run-stamped location (what
    the gate validates and registration publishes; later writes to the working folders do not touch it).
    Returns the stamp, table -> spec -> URI, and (table path, spec) -> folder for the checks."""
    lake = Lake.from_uri(settings.lake_uri)
    tables = table_registry.load_table_defs(settings.athena_ddl_dir)
    stamp = f"{dt.datetime.now(dt.UTC):{STAMP_FORMAT}}_{run_id or 'manual'}"
    staged, folders = {}, {}
    for name, specs in written_partitions(refresh).items():
        table = table_registry.table_def(tables, name)
        staged[name] = snapshot(lake, table, specs, stamp)
        folders |= {(table.lake_path, spec): lake.path(PUBLISHED, table.lake_path, spec, stamp) for spec in specs}
    return stamp, staged, folders


def dq_gate(settings: Settings, run_id: str, windows: list[str], refresh: dict, attempt: int = 1) -> dict:
    """Stages the run's partitions, validates the raw windows and the staged curated partitions and marts;
    raises DataQualityError on a failure (the staged copies are then never registered)."""
    lake = Lake.from_uri(settings.lake_uri)
    stamp, staged, folders = stage(settings, refresh, run_id)
    checks = quality.checks_for_run(lake, windows, refresh, folders)
    try:
        summary = quality.gate(lake, run_id, checks, settings.expectations_dir, attempt)
    except quality.DataQualityError as exc:
        log.error(
            json.dumps(
                {
                    "bfp_task": "dq_gate",
                    "verdict": "failed",
                    "run_id": run_id,
                    "windows": windows,
                    "error": str(exc).splitlines()[1:],
                    "next_step": "see docs/runbook.md#dq-gate-failed",
                }
            )
        )
        raise
    return _log(
        {"bfp_task": "dq_gate", "run_id": run_id, "windows": windows, **summary, "stamp": stamp, "staged": staged}
    )


def make_catalog(settings: Settings):
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


def register(
    settings: Settings, refresh: dict, full_repair: bool = False, run_id: str | None = None, dq: dict | None = None
) -> dict:
    """Publishes the partitions the run wrote (and drops the emptied ones): the catalog is switched to the copies
    the gate validated (`dq`: its result), one transaction per table (Athena: ADD / SET LOCATION). With
    full_repair every partition found in the lake is copied and published instead (the MSCK REPAIR equivalent).
    """
    staged = None if full_repair or dq is None else (dq.get("stamp"), dq.get("staged", {}))
    return publish(settings, written_partitions(refresh), removed_partitions(refresh), full_repair, run_id, staged)


def publish(
    settings: Settings,
    written: dict[str, list[str]],
    removed: dict[str, list[str]],
    full_repair: bool = False,
    run_id: str | None = None,
    staged: tuple[str, dict] | None = None,
) -> dict:
    """register() for given partitions per table (also what `python -m pipeline.registry_cli` runs). `staged`
    (stamp, table -> spec -> URI): copies made and validated already; otherwise copies are made here. A
    partition whose registered copy is newer than this one (a later run published first) keeps it."""
    stamp = staged[0] if staged else f"{dt.datetime.now(dt.UTC):{STAMP_FORMAT}}_{run_id or 'manual'}"
    superseded, kept_newer = 0, {}
    with failure_logged("register", run_id, "see docs/runbook.md#register_partitions; then clear this task"):
        target = make_catalog(settings)
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
    return run_record(
        settings,
        "register",
        run_id,
        _log(
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


def run_record(settings: Settings, kind: str, run_id: str | None, record: dict) -> dict:
    """Keeps a step's record in the lake beside the run's others (_runs/<kind>/<run>.json; `python -m
    pipeline.audit run <run>` reads them all); returns the record."""
    if run_id:
        lake = Lake.from_uri(settings.lake_uri)
        lake.write_json(lake.path("_runs", kind, f"{run_id}.json"), record)
    return record


def publication(settings: Settings, run_id: str, windows: list[str], refresh: dict, dq: dict, rows: dict) -> dict:
    """What the Asset event carries: the run, the windows, rows, the partitions now visible, the DQ verdict."""
    return run_record(
        settings,
        "publish",
        run_id,
        _log(
            {
                "bfp_task": "publish",
                "run_id": run_id,
                "windows": windows,
                "import": refresh.get("import_purchases", {}).get("import_id"),
                "rows": rows,
                "partitions": written_partitions(refresh),
                "dq_verdict": dq.get("verdict"),
                "dq_results": len(dq.get("results", [])),
            }
        ),
    )
