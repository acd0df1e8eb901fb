"""The lake reconciled with its source: per day, orders and revenue in PostgreSQL against what analysts see in
curated order_lines (docs/architecture.md, "The watermark rules" 9).

Both sides describe the same orders: every window up to the published mark is in the lake, so PostgreSQL's side
counts the orders last changed before that mark, and the lake's leaves out the few changed since (their newest
version is not published yet). A day that differs alerts once, naming the day and the difference (one incident
per day, closed when the day agrees again); the result is kept with the run id (_runs/reconcile/<run>.json) and
shown by `python -m pipeline.audit reconciliations`. orders_pipeline reconciles the days its run touched;
lake_housekeeping the last BFP_RECONCILE_DAYS days, once a day.
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa

from pipeline import alerts, audit, progress
from pipeline.extract import source_db
from pipeline.gate import quality
from pipeline.lake import Lake
from pipeline.publish import table_registry
from pipeline.settings import Settings
from pipeline.staging import registered_folders
from pipeline.task_log import line

SQL_DIR = Path(__file__).with_name("sql")
CURATED = "curated.order_lines"
LAKE_COLUMNS = ["order_id", "order_date", "revenue", "status", "source"]


@functools.cache
def _sql(name: str) -> str:
    return (SQL_DIR / name).read_text()


def source_days(settings: Settings, days: list[dt.date], through: dt.datetime) -> tuple[dict, list[str]]:
    """PostgreSQL: day -> (orders, revenue) for the days' live orders changed before `through`, and the curated
    ids of the orders changed since (left out of the lake's side)."""
    bounds = {"first_day": min(days), "end_day": max(days) + dt.timedelta(days=1), "through": through}
    conn = source_db.connect(settings, "bfp-reconcile")
    try:
        conn.set_session(readonly=True)
        with conn.cursor() as cur:
            cur.execute(_sql("source_days.sql"), bounds)
            per_day = {row[0]: (row[1], row[2]) for row in cur.fetchall()}
            cur.execute(_sql("source_changed_since.sql"), bounds)
            changed = [f"o-{row[0]}" for row in cur.fetchall()]
        conn.rollback()
    finally:
        conn.close()
    return per_day, changed


def lake_days(lake: Lake, settings: Settings, days: list[dt.date], changed: list[str]) -> dict:
    """Curated as analysts see it (the registered partitions of the days' months): day -> (orders, revenue)."""
    table = table_registry.table_def(table_registry.load_table_defs(settings.athena_ddl_dir), CURATED)
    months = sorted({(day.year, day.month) for day in days})
    parts = []
    for year, month in months:
        for _spec, folder in registered_folders(lake, table, f"year={year}/month={month}"):
            found = quality.read_folder(lake, folder)
            if found is not None:
                parts.append(found.select(LAKE_COLUMNS))
    if not parts:
        return {}
    sql = duckdb.connect()
    sql.register("lines", pa.concat_tables(parts, promote_options="default"))
    sql.register("changed", pa.table({"order_id": pa.array(changed, pa.string())}))
    end_day = max(days) + dt.timedelta(days=1)
    rows = sql.execute(_sql("lake_days.sql"), {"first_day": min(days), "end_day": end_day}).fetchall()
    return {row[0]: (row[1], row[2]) for row in rows}


def reconcile(settings: Settings, run_id: str, days: list[dt.date], kind: str = "run") -> dict:
    """Compares the given days (after the run's publication); alerts once per differing day, closes the incident of
    a day that agrees; records and logs the result."""
    lake = Lake.from_uri(settings.lake_uri)
    through = progress.published_mark(lake)
    days = sorted(set(days))
    if not days or through is None:
        return line({"bfp_task": "reconcile", "run_id": run_id, "days": [], "status": "nothing to compare"})
    source, changed = source_days(settings, days, through)
    in_lake = lake_days(lake, settings, days, changed)
    results = []
    for day in days:
        pg_orders, pg_revenue = source.get(day, (0, Decimal(0)))
        lake_orders, lake_revenue = in_lake.get(day, (0, Decimal(0)))
        result = {
            "day": day.isoformat(),
            "postgres": {"orders": pg_orders, "revenue": str(pg_revenue)},
            "lake": {"orders": lake_orders, "revenue": str(lake_revenue)},
            "orders_missing": pg_orders - lake_orders,
            "revenue_missing": str(Decimal(pg_revenue) - Decimal(lake_revenue)),
            "match": pg_orders == lake_orders and Decimal(pg_revenue) == Decimal(lake_revenue),
        }
        results.append(result)
        alerts.incident(settings, f"reconcile_{day.isoformat()}", None if result["match"] else _alert(result, run_id))
    mismatched = [r["day"] for r in results if not r["match"]]
    record = {
        "bfp_task": "reconcile",
        "kind": kind,
        "run_id": run_id,
        "through": through.isoformat(),
        "days": results,
        "mismatched_days": mismatched,
        "status": "mismatch" if mismatched else "match",
        "reconciled_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    audit.record_run(settings, "reconcile", run_id, record)
    return line({**record, "days": [r["day"] for r in results]})


def _alert(result: dict, run_id: str) -> dict:
    source, lake = result["postgres"], result["lake"]
    return {
        "bfp_task": "reconcile",
        "run_id": run_id,
        "day": result["day"],
        "error": f"{result['day']}: PostgreSQL has {source['orders']} orders / {source['revenue']} revenue, the lake "
        f"{lake['orders']} / {lake['revenue']} (missing {result['orders_missing']} orders, "
        f"{result['revenue_missing']} revenue)",
        "next_step": "find the day's windows that are missing or were lost (`python -m pipeline.audit gaps`), "
        "re-extract them with a manual range; docs/runbook.md#the-lake-and-postgresql-disagree",
    }


def run_days(refresh: dict) -> list[dt.date]:
    """The order days a refresh touched (its changed orders' old and new days)."""
    return [dt.date.fromisoformat(day) for day in refresh.get("order_lines", {}).get("days", [])]


def recent_days(today: dt.date, count: int) -> list[dt.date]:
    """The last `count` days up to and including `today`."""
    return [today - dt.timedelta(days=offset) for offset in range(count)]
