"""Lake pipeline fault drill (`make drill-pipeline`): a real `airflow standalone`, started by the script `make
airflow` uses (scripts/airflow.sh, the same settings) on PostgreSQL, a lake and a catalog of its own (never the
demo's), and one at a time:

  1. a transaction held open across a window's end (the extract must wait for it, not skip its order),
  2. kill -9 of the Spark job mid-transform,
  3. kill -9 of the scheduler mid-run (then `scripts/airflow.sh up`, as on-call would),
  4. a backfill run twice (`--reprocess-behavior completed`),
  5. a corrupt window (an order id twice, a negative price) published over a good one, then repaired,
  6. a manual run racing a backfill,
  7. a week of hourly windows caught up in one manual range run, timed against one window's run (goal <= 10x),
  8. the runbook's steps after a backfill: lake_rebuild as of today, then `registry_cli repair`.

After each: what analysts see in the catalog against the source orders — order lines lost, duplicated — and,
from a reader polling the catalog through the whole drill, whether any rejected row (a negative price, a
duplicated line) was ever visible. Targets: 0 lost, 0 duplicated, 0 rejected rows visible, every run ends in
success after its recovery. One table at the end; exit 1 if a target is missed.

Usage: python -m drills.pipeline [--keep] [--only DRILL ...]   (--keep leaves .local/drill-pipeline/ for inspection)
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import itertools
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psycopg2
from rich.console import Console
from rich.table import Table

from datagen import purchases
from datagen.simulate import Simulator, backdate_orders
from drills.airflow_api import Airflow, pipeline_env, standalone
from drills.lake_faults import corrupt_window
from pipeline.lake import Lake
from pipeline.run_ids import file_safe
from pipeline.wiring import LAKE_WRITER_POOL
from support.net import free_port, wait_until
from support.services import schema_and_catalog, start_services

ROOT = Path(__file__).resolve().parents[1]
STATE = ROOT / ".local" / "drill-pipeline"
SCRIPT = ROOT / "scripts" / "airflow.sh"
DAY = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)  # the past day whose hourly windows the drills use
POOL_TASKS = {"extract_orders_window", "transform", "dq_gate", "register_partitions"}
CATCH_UP_WINDOWS = 168  # a week of hourly windows
console = Console(width=160)


@dataclass
class Outcome:
    drill: str
    outcome: str = ""
    recovered_seconds: float | None = None
    lost: int = 0
    duplicated: int = 0
    rejected_seen: int = 0
    ok: bool = False


class Reader(threading.Thread):
    """An analyst polling the catalog through the whole drill: the most rejected rows it ever saw at once."""

    def __init__(self, catalog: Path):
        super().__init__(daemon=True)
        self.catalog, self.stop, self.worst, self.samples = catalog, threading.Event(), 0, 0

    def run(self) -> None:
        sql = (
            "SELECT count(*) FILTER (WHERE unit_price < 0) + count(*) - count(DISTINCT order_id || '#' || line_no)"
            " FROM curated.order_lines"
        )
        while not self.stop.is_set():
            with contextlib.suppress(duckdb.Error):  # the catalog is being written: read it at the next tick
                with duckdb.connect(str(self.catalog), read_only=True) as conn:
                    self.worst = max(self.worst, conn.execute(sql).fetchone()[0])
                    self.samples += 1
            self.stop.wait(1.0)


class Drill:
    def __init__(self, flow: Airflow, database_url: str, reader: Reader):
        self.flow, self.database_url, self.reader = flow, database_url, reader
        self.simulator = Simulator(database_url, seed=7)
        self.expected: set[int] = set()  # orders that must be visible, exactly once per line

    def place(self, count: int, window_start: dt.datetime) -> list[int]:
        """`count` orders changed inside the hour starting at `window_start`."""
        placed = [p.id for p in self.simulator.place_orders(count)]
        backdate_orders(self.database_url, {oid: window_start + dt.timedelta(minutes=7 * (i + 1))
                                            for i, oid in enumerate(placed)})  # fmt: skip
        self.expected.update(placed)
        return placed

    def ledger(self) -> tuple[int, int]:
        """(lines lost, lines duplicated): the source's lines of the expected orders against the catalog's."""
        with psycopg2.connect(self.database_url) as conn, conn.cursor() as cur:
            cur.execute("SELECT 'o-' || order_id, line_no FROM order_items WHERE order_id = ANY(%s)",
                        (sorted(self.expected),))  # fmt: skip
            source = set(cur.fetchall())
        conn.close()
        with duckdb.connect(str(self.flow.env["BFP_CATALOG_PATH"]), read_only=True) as catalog:
            visible = catalog.execute(
                "SELECT order_id, line_no, count(*) FROM curated.order_lines WHERE source = 'oltp' GROUP BY 1, 2"
            ).fetchall()
        seen = {(order_id, line_no) for order_id, line_no, _ in visible}
        return len(source - seen), sum(n - 1 for _, _, n in visible)

    def finish(self, result: Outcome, states: list[str], started: float | None) -> Outcome:
        result.lost, result.duplicated = self.ledger()
        result.rejected_seen = self.reader.worst
        if started is not None:
            result.recovered_seconds = time.monotonic() - started
        result.ok = set(states) == {"success"} and result.lost == result.duplicated == result.rejected_seen == 0
        result.outcome = result.outcome or ", ".join(states)
        return result

    # --- the drills ------------------------------------------------------------------------------------------

    def held_transaction(self) -> Outcome:
        result = Outcome("transaction held across the window end")
        end = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)).replace(microsecond=0)
        with self.simulator.open_transaction() as (_, late):  # begun before the window's end, committed after
            self.expected.add(late.id)
            while dt.datetime.now(dt.UTC) < end + dt.timedelta(seconds=1):
                time.sleep(0.2)
            run_id = self.flow.trigger(end - dt.timedelta(hours=1))
            wait_for(lambda: self.flow.task_instances(run_id)["extract_orders_window"]["state"] == "up_for_retry", 120)
            holders = self.long_transactions(end)  # the runbook's query finds what holds the window
            committed = time.monotonic()
        state = self.flow.wait_for_run(run_id, 400)
        tries = self.flow.task_instances(run_id)["extract_orders_window"]["try_number"]
        result.outcome = (
            f"{state}: the extract deferred (the runbook's query found {holders} open transaction(s)),"
            f" then took the late order on try {tries}"
        )
        return self.finish(result, [state], committed)

    def kill_spark(self) -> Outcome:
        result = Outcome("kill -9 of the Spark job mid-transform")
        self.place(4, DAY.replace(hour=1))
        run_id = self.flow.trigger(DAY.replace(hour=1))
        pid = wait_for(lambda: spark_jvm(self.flow), 180)
        time.sleep(3)  # mid-transform: the job is reading and writing
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        state = self.flow.wait_for_run(run_id, 400)
        tries = self.flow.task_instances(run_id)["transform"]["try_number"]
        result.outcome = f"{state}: transform failed, retried (try {tries})"
        return self.finish(result, [state], killed)

    def kill_scheduler(self) -> Outcome:
        result = Outcome("kill -9 of the scheduler mid-run")
        self.place(4, DAY.replace(hour=2))
        run_id = self.flow.trigger(DAY.replace(hour=2))
        wait_for(lambda: self.flow.task_instances(run_id)["transform"]["state"] == "running", 180)
        scheduler = airflow_process(self.flow, "airflow scheduler")
        os.kill(scheduler, signal.SIGKILL)
        killed = time.monotonic()
        subprocess.run([str(SCRIPT), "down"], env=self.flow.env, capture_output=True, timeout=120, check=False)
        up = subprocess.run([str(SCRIPT), "up"], env=self.flow.env, capture_output=True, text=True, timeout=400)
        if up.returncode != 0:
            raise RuntimeError(up.stderr[-2000:])
        state = self.flow.wait_for_run(run_id, 900)
        result.outcome = f"{state} after `scripts/airflow.sh up`"
        return self.finish(result, [state], killed)

    def backfill_twice(self) -> Outcome:
        result = Outcome("a backfill run twice")
        for hour in (4, 5):
            self.place(3, DAY.replace(hour=hour))
        first_hour, last_hour = DAY.replace(hour=4), DAY.replace(hour=5)
        first = self.wait_backfill(self.backfill(first_hour, last_hour), first_hour, last_hour)
        before = self.analysts_view()
        again_id = self.backfill(first_hour, last_hour, "--reprocess-behavior", "completed")
        again = self.wait_backfill(again_id, first_hour, last_hour)
        identical = self.analysts_view() == before
        result.outcome = f"{len(first)} + {len(again)} runs; curated and marts identical: {identical}"
        return self.finish(result, [*first, *again, "success" if identical else "changed"], None)

    def corrupt(self) -> Outcome:
        result = Outcome("a corrupt window (an order id twice, a negative price)")
        self.place(3, DAY.replace(hour=7))
        run_id = self.flow.trigger(DAY.replace(hour=7))
        states = [self.flow.wait_for_run(run_id, 400)]
        catalog = Path(self.flow.env["BFP_CATALOG_PATH"])
        published = catalog.read_bytes()
        corrupt_window(self.flow.lake, "20261120T0800")
        self.flow.clear(run_id, ["transform"], downstream=True)
        gate = self.flow.wait_for_try(run_id, "dq_gate", 2, 400)
        unchanged = catalog.read_bytes() == published
        repaired_at = time.monotonic()
        self.flow.clear(run_id, ["extract_orders_window"], downstream=True)  # the runbook: re-extract the window
        states.append(self.flow.wait_for_try(run_id, "dq_gate", 3, 400))
        result.outcome = f"gate {gate}, catalog unchanged: {unchanged}; re-extracted: {states[-1]}"
        return self.finish(result, [*states, "success" if gate == "failed" and unchanged else "leaked"], repaired_at)

    def race(self) -> Outcome:
        result = Outcome("a manual run racing a backfill")
        self.place(3, DAY.replace(hour=10))
        self.place(3, DAY.replace(hour=11))
        started = time.monotonic()
        manual = self.flow.trigger(DAY.replace(hour=10))
        hour = DAY.replace(hour=11)
        backfill_id = self.backfill(hour, hour)
        states = [self.flow.wait_for_run(manual, 600), *self.wait_backfill(backfill_id, hour, hour)]
        overlaps = overlapping_writers(self.flow, [manual, *(r["dag_run_id"] for r in self.backfill_runs(hour, hour))])
        result.outcome = f"{', '.join(states)}; lake writers overlapping: {overlaps}"
        return self.finish(result, [*states, "success" if overlaps == 0 else "overlap"], started)

    def catch_up(self) -> Outcome:
        """A week of hourly windows (a backlog after an outage) in one manual range run, against one hourly run:
        the goal is the week within 10x the one window (one Spark job, not 168)."""
        result = Outcome("a week of windows in one run (catch-up)")
        week_start = DAY - dt.timedelta(days=8)
        one = week_start - dt.timedelta(hours=1)
        self.place(2, one)
        started = time.monotonic()
        single = self.flow.wait_for_run(self.flow.trigger(one), 400)
        one_run = time.monotonic() - started
        for hour in range(CATCH_UP_WINDOWS):
            self.place(2, week_start + dt.timedelta(hours=hour))
        started = time.monotonic()
        run_id = self.flow.trigger(week_start, hours=CATCH_UP_WINDOWS)
        state = self.flow.wait_for_run(run_id, 1800)
        week = time.monotonic() - started
        lake = Lake.from_uri(self.flow.env["BFP_LAKE_URI"])  # the run's publication record says what it merged
        windows = len(
            (lake.read_json(lake.path("_runs", "publish", f"{file_safe(run_id)}.json")) or {}).get("windows", [])
        )
        ratio = week / one_run
        result.outcome = f"{windows} windows in {week:.0f} s, one window {one_run:.0f} s: {ratio:.1f}x (goal <= 10x)"
        states = [single, state, "success" if ratio <= 10 and windows == CATCH_UP_WINDOWS else "too slow"]
        return self.finish(result, states, started)

    def rebuild_and_repair(self) -> Outcome:
        """The runbook's after-a-backfill steps: lake_rebuild as of today, then the catalog CLI's full repair."""
        result = Outcome("lake_rebuild as of today, then registry_cli repair")
        self.flow.api("PATCH", "/dags/lake_rebuild", json={"is_paused": False})
        # the drill's lake has no historical import: the runbook's variant for such a lake
        conf = {"include_windows": True, "as_of": dt.datetime.now(dt.UTC).date().isoformat(), "import_id": None}
        known = {r["dag_run_id"] for r in self.flow.runs("lake_rebuild")}
        self.flow.cli("dags", "trigger", "lake_rebuild", "-c", json.dumps(conf))
        run_id = wait_for(
            lambda: [r["dag_run_id"] for r in self.flow.runs("lake_rebuild") if r["dag_run_id"] not in known], 60
        )[0]
        rebuilt = self.flow.wait_for_run(run_id, 900, dag_id="lake_rebuild")
        repaired = self.flow.python("-m", "pipeline.registry_cli", "repair", check=False).returncode
        result.outcome = f"lake_rebuild {rebuilt}; registry_cli repair exit {repaired}"
        return self.finish(result, [rebuilt, "success" if repaired == 0 else "failed"], None)

    # --- helpers ---------------------------------------------------------------------------------------------

    def long_transactions(self, window_end: dt.datetime) -> int:
        """docs/runbook.md, extract_orders_window: the transactions open since before the window's end."""
        with psycopg2.connect(self.database_url) as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT pid, xact_start, state, query FROM pg_stat_activity WHERE xact_start < %s", (window_end,)
            )
            found = cur.fetchall()
        conn.close()
        return len(found)

    def backfill(self, first: dt.datetime, last: dt.datetime, *extra: str) -> int:
        """`airflow backfill create` of the windows starting from `first` to `last`; returns its id."""
        known = {b["id"] for b in self.backfills()}
        self.flow.cli("backfill", "create", "--dag-id", "orders_pipeline", "--from-date", first.isoformat(),
                      "--to-date", last.isoformat(), "--max-active-runs", "1", *extra)  # fmt: skip
        return wait_for(lambda: [b["id"] for b in self.backfills() if b["id"] not in known], 60)[0]

    def backfills(self) -> list[dict]:
        return self.flow.api("GET", "/backfills", params={"dag_id": "orders_pipeline"})["backfills"]

    def wait_backfill(self, backfill_id: int, first: dt.datetime, last: dt.datetime) -> list[str]:
        """Waits for the backfill to complete; the states of the runs of its windows."""
        wait_for(lambda: [b for b in self.backfills() if b["id"] == backfill_id and b["completed_at"]], 900)
        return [r["state"] for r in self.backfill_runs(first, last)]

    def backfill_runs(self, first: dt.datetime, last: dt.datetime) -> list[dict]:
        return [r for r in self.flow.runs() if r["run_type"] == "backfill"
                and first <= dt.datetime.fromisoformat(r["data_interval_start"]) <= last]  # fmt: skip

    def analysts_view(self) -> tuple:
        with duckdb.connect(str(self.flow.env["BFP_CATALOG_PATH"]), read_only=True) as catalog:
            lines = catalog.execute(
                "SELECT * EXCLUDE (year, month) FROM curated.order_lines ORDER BY order_id, line_no"
            )
            marts = catalog.execute("SELECT * FROM marts.daily_sales ORDER BY ALL")
            return tuple(lines.fetchall()), tuple(marts.fetchall())


def wait_for(found: Callable, seconds: float):
    """`found()`'s first truthy value; a task or a row not there yet (KeyError) is "not yet", an assertion fails."""
    return wait_until(found, seconds, str(found), every=0.5, ignore=(KeyError,))


def process_env(pid: int) -> dict[str, str]:
    with contextlib.suppress(OSError):
        raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        return dict(item.decode(errors="replace").split("=", 1) for item in raw if b"=" in item)
    return {}


def processes(pattern: str) -> list[int]:
    done = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True, check=False)
    return [int(pid) for pid in done.stdout.split()]


def airflow_process(flow: Airflow, pattern: str) -> int:
    """The process of this drill's Airflow (not another `make airflow` on the machine)."""
    state = flow.env["BFP_AIRFLOW_STATE"]
    (pid,) = [pid for pid in processes(pattern) if process_env(pid).get("BFP_AIRFLOW_STATE") == state]
    return pid


def spark_jvm(flow: Airflow) -> int | None:
    """The Spark driver JVM of this drill's lake, once it runs."""
    lake = flow.env["BFP_LAKE_URI"]
    found = [pid for pid in processes("org.apache.spark.deploy.SparkSubmit")
             if lake in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")]  # fmt: skip
    return found[0] if found else None


def overlapping_writers(flow: Airflow, run_ids: list[str]) -> int:
    """Pairs of lake-writing task attempts (the pool's tasks) that ran at the same time."""
    spans = []
    for run_id in run_ids:
        for task_id, ti in flow.task_instances(run_id).items():
            if task_id in POOL_TASKS and ti["start_date"] and ti["end_date"]:
                assert ti["pool"] == LAKE_WRITER_POOL
                spans.append((dt.datetime.fromisoformat(ti["start_date"]), dt.datetime.fromisoformat(ti["end_date"])))
    spans.sort()
    return sum(1 for (_, end), (start, _) in itertools.pairwise(spans) if start < end)


DRILLS = ("held_transaction", "kill_spark", "kill_scheduler", "backfill_twice", "corrupt", "race", "catch_up",
          "rebuild_and_repair")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep .local/drill-pipeline/ afterwards")
    parser.add_argument("--only", choices=DRILLS, action="append", help="run only this drill (repeatable)")
    args = parser.parse_args(argv)
    shutil.rmtree(STATE, ignore_errors=True)
    STATE.mkdir(parents=True)
    services = start_services(STATE / "services", "bfp_drill_pipeline", fresh=False)
    results: list[Outcome] = []
    try:
        schema_and_catalog(services, STATE, purchases.Scale("drill", rows=3_000, products=400, customers=60))
        env = pipeline_env(STATE / "airflow", free_port(), services.database_url)
        with standalone(env) as flow:
            console.print(f"drill Airflow: {flow.url} (admin / admin), state {STATE}")
            reader = Reader(Path(env["BFP_CATALOG_PATH"]))
            drill = Drill(flow, services.database_url, reader)
            # a first window published, so the catalog exists for the reader
            drill.place(3, DAY)
            flow.wait_for_run(flow.trigger(DAY), 400)
            reader.start()
            for name in args.only or DRILLS:
                console.print(f"drill: {name} …")
                try:
                    results.append(getattr(drill, name)())
                except (AssertionError, TimeoutError, RuntimeError) as exc:
                    results.append(Outcome(name, outcome=f"drill error: {exc}"[:300]))
                console.print(results[-1])
            reader.stop.set()
    finally:
        services.run("down")
        if not args.keep:
            shutil.rmtree(STATE / "services", ignore_errors=True)
    table = Table("drill", "outcome", "recovered (s)", "lost", "duplicated", "rejected visible", "verdict",
                  title="make drill-pipeline: real airflow standalone, one fault at a time")  # fmt: skip
    for r in results:
        table.add_row(r.drill, r.outcome, "" if r.recovered_seconds is None else f"{r.recovered_seconds:.0f}",
                      str(r.lost), str(r.duplicated), str(r.rejected_seen),
                      "[green]met[/green]" if r.ok else "[red]missed[/red]")  # fmt: skip
    console.print(table)
    console.print(
        "targets: 0 lines lost, 0 duplicated, 0 rejected rows ever visible to the polling analyst; every run"
        " succeeds after its recovery. recovered = from the fault (or the fix) to the run's success."
    )
    return 0 if results and all(r.ok for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
