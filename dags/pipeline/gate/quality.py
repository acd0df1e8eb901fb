"""The DQ gate: Great Expectations Core 1.x suites (expectations/*.json) run on what a pipeline run wrote.

Data is read from the lake with pyarrow (file:// and s3:// alike), reconciliations are computed with DuckDB over
those Arrow tables, and every check is validated on a pandas batch of an ephemeral GX context. Each result is
written to <lake>/_dq/<suite>/<run>/<attempt>.json. If any expectation fails, DataQualityError names the failed
expectations with sample bad values, and the DAG stops before registration and publication.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import posixpath
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from contracts.lake_paths import CURATED_ORDER_LINES
from pipeline.extract import raw_tables
from pipeline.lake import MANIFEST, Lake
from pipeline.publish import table_registry
from pipeline.staging import current_folder, current_specs_under

log = logging.getLogger("pipeline.gate.quality")
SAMPLES = 5  # bad values shown per failed expectation
SQL_DIR = Path(__file__).with_name("sql")  # the reconciliation queries


class DataQualityError(RuntimeError):
    """At least one expectation failed; the message names them and shows sample bad values, `failed_targets`
    what was validated (a lake path or a description) for each failed check."""

    def __init__(self, message: str, failed_targets: list[str] | None = None):
        super().__init__(message)
        self.failed_targets = failed_targets or []


@dataclass
class Check:
    suite: str  # expectations/<suite>.json
    target: str  # what was validated, for people: a lake path or a description
    frame: pd.DataFrame
    parameters: dict = field(default_factory=dict)


# --- reading what a run wrote ------------------------------------------------------------------------------


def read_folder(lake: Lake, folder: str, partition: str = "") -> pa.Table | None:
    """The Parquet files directly in `folder` as one table, plus the partition columns of `partition`
    ("year=2022/month=11", as integers); None if the folder has no Parquet files."""
    files = [info.path for info in lake.list_files(folder) if info.path.endswith(".parquet")]
    if not files:
        return None
    table = pa.concat_tables([pq.read_table(path, filesystem=lake.fs) for path in files], promote_options="default")
    for name, value in (pair.split("=", 1) for pair in partition.split("/") if pair):
        table = table.append_column(name, pa.array([int(value)] * table.num_rows, pa.int32()))
    return table


def read_partitions(
    lake: Lake, table_path: str, specs: list[str], already_read: dict | None = None, staged: dict | None = None
) -> pa.Table:
    """The partitions `specs` of a table as one table: the version the run wrote where `staged` ((table path,
    spec) -> folder) has one, else the partition's current version. `already_read` (spec -> table) is used and
    filled, so a partition two checks need is read from the lake once."""
    cache = {} if already_read is None else already_read
    for spec in specs:
        if spec not in cache:
            folder = (staged or {}).get((table_path, spec)) or current_folder(lake, table_path, spec)
            cache[spec] = read_folder(lake, folder, spec) if folder else None
    parts = [cache[spec] for spec in specs if cache[spec] is not None]
    if not parts:
        return pa.schema([]).empty_table()
    return pa.concat_tables(parts, promote_options="default")


def _window_bounds(manifest: dict) -> dict:
    return {
        "manifest_rows": manifest["rows"],
        "window_start": pd.Timestamp(manifest["window"]["start"]).tz_convert("UTC"),
        "window_end": pd.Timestamp(manifest["window"]["end"]).tz_convert("UTC"),
    }


def checks_for_run(lake: Lake, windows: list[str], refresh: dict, staged: dict | None = None) -> list[Check]:
    """The checks of one pipeline run: its raw windows, the curated partitions and marts it wrote (their staged
    copies: what registration will publish), and the reconciliations between them. `refresh` is the Spark
    refresh job's summary; `staged` maps (table path, spec) to the copy's folder."""
    checks: list[Check] = []
    written = refresh.get("order_lines", {}).get("partitions", [])
    curated_read: dict[str, pa.Table | None] = {}
    curated = read_partitions(lake, CURATED_ORDER_LINES, written, curated_read, staged)
    if curated.num_rows or written:
        where = f"{CURATED_ORDER_LINES} {table_registry.describe(written)}"
        checks.append(Check("curated_order_lines", where, curated.to_pandas()))
    state = _state_of(lake, refresh.get("order_lines", {}))
    for label in windows:
        checks += _window_checks(lake, label, state, curated_read, staged)
    checks += _mart_checks(lake, refresh.get("marts", {}).get("partitions", {}), curated_read, staged)
    return checks


@functools.cache
def _sql(sql_file: str) -> str:
    return (SQL_DIR / sql_file).read_text()


def _reconcile(sql_file: str, **tables: pa.Table):
    """Runs one reconciliation query (pipeline/gate/sql/<file>, read once) on DuckDB over the given Arrow tables."""
    sql = duckdb.connect()
    for name, table in tables.items():
        sql.register(name, table)
    return sql.execute(_sql(sql_file)).df()


def _state_of(lake: Lake, order_lines: dict) -> pa.Table:
    """Where the orders' latest state says each order of the buckets the run touched is now (the version the run
    wrote, else the current one): (id, live, partition), live when its newest version is not deleted and has
    lines, partition its curated partition ("year=2026/month=11/bucket=3")."""
    written = order_lines.get("state", {}).get("locations", {})
    parts = []
    for spec in order_lines.get("state_buckets", []):  # an order's curated bucket is its state bucket
        folder = lake.path_of(written[spec]) if spec in written else current_folder(lake, "state/orders", spec)
        if folder is None:
            continue
        bucket = int(spec.removeprefix("bucket="))
        for info in lake.list_files(folder):
            if info.path.endswith(".parquet"):
                rows = pq.read_table(info.path, filesystem=lake.fs, columns=["id", "created_at", "deleted_at", "lines"])
                parts.append(rows.append_column("bucket", pa.array([bucket] * rows.num_rows, pa.int64())))
    if not parts:
        return pa.table(
            {"id": pa.array([], pa.int64()), "live": pa.array([], pa.bool_()), "partition": pa.array([], pa.string())}
        )
    rows = pa.concat_tables(parts)
    sql = duckdb.connect()
    sql.register("state", rows)
    return sql.sql(_sql("state_of_orders.sql")).to_arrow_table()


def _window_checks(lake: Lake, label: str, state: pa.Table, curated_read: dict, staged: dict | None) -> list[Check]:
    """A raw window's two tables against their suites, and every order of it where the orders' state says it
    is: in its curated month when its newest version is live, nowhere when deleted."""
    checks, window_rows = [], {}
    for table in ("orders", "order_items"):
        folder = lake.path("raw", table, f"window={label}")
        manifest = lake.read_json(posixpath.join(folder, MANIFEST))
        if manifest is None:
            raise DataQualityError(f"raw/{table}/window={label} has no manifest: the extract did not finish")
        rows = read_folder(lake, folder)
        if rows is None:  # an empty window has a manifest and no files
            rows = raw_tables.RAW_TABLES[table].empty_table()
        window_rows[table] = (rows, manifest)
        checks.append(Check(f"raw_{table}", f"raw/{table}/window={label}", rows.to_pandas(), _window_bounds(manifest)))
    orders, manifest = window_rows["orders"]
    ids = set(orders.column("id").to_pylist())
    specs = sorted(
        {
            p
            for i, live, p in zip(*(state.column(c).to_pylist() for c in ("id", "live", "partition")), strict=True)
            if live and i in ids
        }
    )
    curated = read_partitions(lake, CURATED_ORDER_LINES, specs, curated_read, staged)
    in_curated = curated.select(["order_id"]) if curated.num_rows else pa.table({"order_id": pa.array([], pa.string())})
    reconciled = _reconcile(
        "reconcile_window_to_curated.sql", window_orders=orders.select(["id"]), state=state, curated=in_curated
    )
    where = f"raw/orders/window={label} -> {CURATED_ORDER_LINES}"
    checks.append(Check("reconcile_window_to_curated", where, reconciled, {"manifest_rows": manifest["rows"]}))
    return checks


def _mart_checks(lake: Lake, marts: dict, curated_read: dict, staged: dict | None) -> list[Check]:
    """The daily mart and the season summary the run wrote, and curated revenue against the daily mart's, month
    by month over the months the run rebuilt (the same partition specs in both tables)."""
    months = marts.get("marts.daily_sales", [])
    if not months:
        return []
    daily = read_partitions(lake, "marts/daily_sales", months, staged=staged)
    where = table_registry.describe(months)
    checks = [Check("marts_daily_sales", f"marts/daily_sales {where}", daily.to_pandas())]
    summary_specs = marts.get("marts.black_friday_summary", [])
    if summary_specs:  # none when the as-of date precedes every day the run wrote
        summary = read_partitions(lake, "marts/black_friday_summary", summary_specs, staged=staged)
        checks.append(
            Check("marts_black_friday_summary", f"marts/black_friday_summary {summary_specs}", summary.to_pandas())
        )
    buckets = [spec for month in months for spec in current_specs_under(lake, CURATED_ORDER_LINES, 1, month)]
    lines = read_partitions(lake, CURATED_ORDER_LINES, buckets, curated_read, staged)
    difference = _reconcile(
        "reconcile_revenue.sql", lines=lines.select(["order_date", "revenue", "status"]), daily=daily
    )
    checks.append(Check("reconcile_revenue", f"{CURATED_ORDER_LINES} vs marts/daily_sales {where}", difference))
    return checks


# --- validating --------------------------------------------------------------------------------------------


def value_lists_beside(suites_dir: Path) -> dict[str, list]:
    """The value lists every deployable shares (sql/value_lists.json), beside the suites' folder: the repository's
    sql/, or the MWAA bundle's (scripts/mwaa_bundle.py ships both)."""
    path = suites_dir.parent / "sql" / "value_lists.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: the GX suites name its lists; keep sql/ beside {suites_dir}")
    return json.loads(path.read_text())


def contract_columns(table: str) -> list[str]:
    """The columns, in order, of a table declared in contracts/: raw.orders, raw.order_items (what the extract
    writes) or curated.order_lines (its partition columns last, as Spark writes it)."""
    from contracts import lake_tables, raw_tables

    declared = {f"raw.{name}": (columns,) for name, columns in raw_tables.RAW_TABLES.items()} | lake_tables.TABLES
    if table not in declared:
        raise KeyError(f"no table {table!r} in contracts/; declared: {sorted(declared)}")
    return [name for group in declared[table] for name, _ in group]


def load_suite(suites_dir: Path, name: str):
    """A suite of suites_dir, its references to what is declared once filled in (the suites name them instead of
    copying them): a value set written `{"value_list": "<name>"}` is that list of sql/value_lists.json, a column
    set or list written `{"columns_of": "<table>"}` that table's columns in contracts/."""
    from great_expectations.core.expectation_suite import ExpectationSuite

    path = suites_dir / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"GX suite {name!r} not found at {path}; set BFP_EXPECTATIONS_DIR")
    document = json.loads(path.read_text())
    lists = None
    for expectation in document["expectations"]:
        kwargs = expectation.get("kwargs", {})
        wanted = kwargs.get("value_set")
        if isinstance(wanted, dict):
            lists = lists or value_lists_beside(suites_dir)
            if wanted.get("value_list") not in lists:
                raise KeyError(f"GX suite {name!r} names value list {wanted!r}, not in sql/value_lists.json")
            kwargs["value_set"] = lists[wanted["value_list"]]
        for key in ("column_set", "column_list"):
            if isinstance(kwargs.get(key), dict):
                try:
                    kwargs[key] = contract_columns(kwargs[key].get("columns_of"))
                except KeyError as missing:
                    raise KeyError(f"GX suite {name!r}: {key} {kwargs[key]!r}: {missing.args[0]}") from None
    return ExpectationSuite(name=document["name"], expectations=document["expectations"], meta=document.get("meta"))


def _failure(result) -> dict:
    config = result.expectation_config
    details = result.result or {}
    samples = details.get("partial_unexpected_list") or []
    return {
        "expectation": config.type,
        "kwargs": {k: v for k, v in config.kwargs.items() if k not in ("batch_id",)},
        "observed": details.get("observed_value"),
        "unexpected_count": details.get("unexpected_count"),
        "samples": [str(s) for s in samples[:SAMPLES]],
        "error": (result.exception_info or {}).get("exception_message") if not result.success else None,
    }


def validate(checks: list[Check], suites_dir: Path) -> list[dict]:
    """Validates every check with GX Core; returns one JSON-ready result per check."""
    # GX logs hundreds of INFO lines per run; on-call reads the gate's own line (and GX's warnings)
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    source = context.data_sources.add_pandas("lake")
    outcomes = []
    for number, check in enumerate(checks):
        suite = load_suite(suites_dir, check.suite)
        batch = source.add_dataframe_asset(f"{check.suite}_{number}").add_batch_definition_whole_dataframe("all")
        result = batch.get_batch(batch_parameters={"dataframe": check.frame}).validate(
            suite,
            expectation_parameters=check.parameters,
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLES},
        )
        failed = [_failure(r) for r in result.results if not r.success]
        outcomes.append(
            {
                "suite": check.suite,
                "suite_version": (suite.meta or {}).get("version"),
                "target": check.target,
                "rows": len(check.frame),
                "success": bool(result.success),
                "evaluated": len(result.results),
                "failed": failed,
                "parameters": {k: str(v) for k, v in check.parameters.items()},
            }
        )
    return outcomes


def gate(lake: Lake, run_id: str, checks: list[Check], suites_dir: Path, attempt: int = 1) -> dict:
    """Validates, writes each result to _dq/<suite>/<run_id>/<attempt>[-n].json (a re-run never overwrites the
    evidence of a failed attempt), and raises if anything failed."""
    outcomes = validate(checks, suites_dir)
    paths = []
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome["suite"]] = counts.get(outcome["suite"], 0) + 1
        suffix = "" if counts[outcome["suite"]] == 1 else f"-{counts[outcome['suite']]}"
        path = lake.path("_dq", outcome["suite"], run_id, f"{attempt}{suffix}.json")
        validated_at = dt.datetime.now(dt.UTC).isoformat()
        lake.write_json(path, {**outcome, "run_id": run_id, "attempt": attempt, "validated_at": validated_at})
        paths.append(lake.uri_of(path))
    failed = [o for o in outcomes if not o["success"]]
    summary = {
        "verdict": "failed" if failed else "passed",
        "checks": len(outcomes),
        "expectations": sum(o["evaluated"] for o in outcomes),
        "failed": [
            {"suite": o["suite"], "target": o["target"], "expectations": [f["expectation"] for f in o["failed"]]}
            for o in failed
        ],
        "results": paths,
    }
    if failed:
        lines = [
            f"{o['suite']} on {o['target']}: {f['expectation']} {json.dumps(f['kwargs'], default=str)}"
            f" -> {f['unexpected_count'] or f['observed'] or f['error']} bad, e.g. {f['samples']}"
            for o in failed
            for f in o["failed"]
        ]
        raise DataQualityError(
            "DQ gate failed; nothing was registered or published. Failed expectations:\n  "
            + "\n  ".join(lines)
            + f"\nResults: {lake.uri_of(lake.path('_dq'))}/<suite>/{run_id}/{attempt}.json. Fix the data (or the suite,"
            " if it"
            " is wrong), then clear this run's tasks.",
            [o["target"] for o in failed],
        )
    return summary
