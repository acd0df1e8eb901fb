"""Trust over weeks (`make drill-trust`, about 1.5 h): a real `airflow standalone` on 5-minute windows, orders
committed every few seconds the whole time, and the weeks' accidents one after another:

  1. the scheduler stopped for 3 windows while orders arrive, then started again: no order missing from
     analysts' view within 2 windows of the restart, with no manual step;
  2. a window's gate fails (its raw files damaged after the extract), then 3 scheduled windows run: analysts see
     no row built on it (the catalog is unchanged, the polling analyst never sees a rejected row), at most one
     alert per run; after the repair (its run re-extracted) the lake equals a full rebuild from raw (row hashes);
  3. a published raw window lost (deleted, then the lake rebuilt from raw): the reconciliation alerts naming the
     day; the same day before the loss raised no alarm; re-extracting it closes the incident;
  4. kill -9 of the Spark job mid-transform, and of compaction mid-delete: after the re-run (a retry, a second
     compaction) the lake equals a full rebuild;
  5. the extract's role loses pg_read_all_stats: the extract refuses, naming the grant; after the grant no order
     is lost;
  6. `make bench-hourly`'s touched-month axis: the hourly run with a 1,000x larger month against today's.

Prints each goal met or missed and the table `make drill-trust` writes into dags/README.md. Exit 1 when a step
could not be run (an error, a timeout); a missed goal is printed and recorded, and fails only with --strict.

Usage: python -m drills.trust [--keep] [--strict] [--only STEP ...] [--skip-bench]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import psycopg2
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from datagen import purchases
from datagen.simulate import Simulator
from drills.airflow_api import Airflow, pipeline_env, standalone
from drills.lake_faults import corrupt_window
from drills.pipeline import Reader, spark_jvm, wait_for
from pipeline import compaction, progress
from pipeline import settings as pipeline_settings
from pipeline.extract.watermark import label_end
from pipeline.gate import reconcile
from pipeline.lake import Lake
from pipeline.run_ids import file_safe
from support.net import free_port
from support.services import schema_and_catalog, start_services

ROOT = Path(__file__).resolve().parents[1]
STATE = ROOT / ".local" / "drill-trust"
SCRIPT = ROOT / "scripts" / "airflow.sh"
WINDOW = dt.timedelta(minutes=5)
EXTRACT_LOGIN = "bfp_trust_extract"  # the pipeline's login, a member of pipeline_extract (migration 0008)
ORDER_EVERY_SECONDS = 6.0
console = Console(width=160)


@dataclass
class Goal:
    step: str
    goal: str
    measured: str
    met: bool


@dataclass
class Steps:
    goals: list[Goal] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, step: str, goal: str, measured: str, met: bool) -> None:
        self.goals.append(Goal(step, goal, measured, met))
        console.print(f"goal {'met   ' if met else 'MISSED'} [{step}] {goal}: {measured}")


class Orders(threading.Thread):
    """A shop taking an order every few seconds, each committed in its own transaction; remembers when."""

    def __init__(self, database_url: str):
        super().__init__(daemon=True)
        self.simulator = Simulator(database_url, seed=31)
        self.stop = threading.Event()
        self.committed: list[tuple[int, float]] = []  # (order id, time.time() after its commit)

    def run(self) -> None:
        while not self.stop.is_set():
            (placed,) = self.simulator.place_orders(1)
            self.committed.append((placed.id, time.time()))
            self.stop.wait(ORDER_EVERY_SECONDS)

    def before(self, moment: float) -> set[int]:
        return {order_id for order_id, at in self.committed if at < moment}


class Trust:
    def __init__(self, flow: Airflow, owner_url: str, orders: Orders, steps: Steps, reader: Reader):
        self.flow, self.owner_url, self.orders, self.steps, self.reader = flow, owner_url, orders, steps, reader
        self.lake = Lake.from_uri(flow.env["BFP_LAKE_URI"])
        self.catalog = Path(flow.env["BFP_CATALOG_PATH"])
        self.alerts_path = Path(flow.env["BFP_ALERTS_PATH"])

    # --- what analysts and on-call see ---------------------------------------------------------------------

    def visible(self) -> set[int]:
        """The OLTP orders in analysts' view (the catalog), by id."""
        for _ in range(20):  # the catalog is being written: read it at the next tick
            with contextlib.suppress(duckdb.Error), duckdb.connect(str(self.catalog), read_only=True) as conn:
                rows = conn.execute("SELECT DISTINCT order_id FROM curated.order_lines WHERE source = 'oltp'")
                return {int(order_id.removeprefix("o-")) for (order_id,) in rows.fetchall()}
            time.sleep(0.5)
        raise RuntimeError(f"the catalog {self.catalog} could not be read")

    def alerts(self) -> list[dict]:
        if not self.alerts_path.exists():
            return []
        return [json.loads(line) for line in self.alerts_path.read_text().splitlines() if line]

    def scheduled_runs_after(self, moment: dt.datetime) -> list[dict]:
        return sorted(
            (r for r in self.flow.runs() if r["run_type"] == "scheduled" and _time(r["run_after"]) > moment),
            key=lambda r: r["run_after"],
        )

    def wait_published_past(self, moment: dt.datetime, seconds: float) -> None:
        wait_for(lambda: (progress.published_mark(self.lake) or moment) > moment, seconds)

    def finished_scheduled_runs(self, after: dt.datetime, count: int, state: str, seconds: float) -> list[dict]:
        """The first `count` scheduled runs due after `after` that ended in `state` (waits for them)."""

        def found() -> list[dict] | None:
            runs = [r for r in self.scheduled_runs_after(after) if r["state"] == state]
            return runs[:count] if len(runs) >= count else None

        return wait_for(found, seconds)

    def pause(self, paused: bool) -> None:
        self.flow.api("PATCH", "/dags/orders_pipeline", json={"is_paused": paused})
        if paused:  # let a run in flight finish: nothing writes the lake while the drill compares
            wait_for(lambda: not [r for r in self.flow.runs() if r["state"] in ("running", "queued")], 900)

    def rebuild_matches(self) -> tuple[bool, str]:
        """The published lake against a full rebuild from its raw windows (a copy, by Spark on all windows):
        the same curated rows, compared by a hash of every row."""
        scratch = STATE / "rebuild"
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.copytree(Path(self.lake.root) / "raw", scratch / "raw")
        rebuilt = subprocess.run(
            [sys.executable, "-m", "drills.rebuild_rows", scratch.as_uri(), str(scratch / "rows.json")],
            capture_output=True, text=True, timeout=1800, check=False,
            env={**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'dags'}:{ROOT / 'spark'}"},
        )  # fmt: skip
        if rebuilt.returncode != 0:
            raise RuntimeError(f"the rebuild failed: {rebuilt.stderr[-2000:]}")
        expected = json.loads((scratch / "rows.json").read_text())
        with duckdb.connect(str(self.catalog), read_only=True) as conn:
            # the column list is this module's constant
            rows = conn.execute(f"SELECT {ROW_COLUMNS} FROM curated.order_lines WHERE source = 'oltp'").fetchall()  # noqa: S608
        got = rows_hash(rows)
        return got == expected["hash"], f"{len(rows):,} lines, hash {got[:12]} vs rebuild {expected['hash'][:12]}"

    # --- the steps --------------------------------------------------------------------------------------------

    def outage(self) -> None:
        started = dt.datetime.now(dt.UTC)
        self.wait_published_past(started + WINDOW, 3 * WINDOW.total_seconds() + 300)  # steady: runs publish
        subprocess.run([str(SCRIPT), "down"], env=self.flow.env, capture_output=True, timeout=120, check=True)
        console.print("  scheduler stopped for 3 windows")
        time.sleep(3 * WINDOW.total_seconds())
        up = subprocess.run([str(SCRIPT), "up"], env=self.flow.env, capture_output=True, text=True, timeout=400)
        if up.returncode != 0:
            raise RuntimeError(f"scripts/airflow.sh up: {up.stderr[-2000:]}")
        restarted = time.time()
        waiting = self.orders.before(restarted)
        deadline = restarted + 2 * WINDOW.total_seconds()
        all_in = None
        while time.time() < deadline:
            if not waiting - self.visible():
                all_in = time.time() - restarted
                break
            time.sleep(10)
        missing = len(waiting - self.visible())
        self.steps.add(
            "outage",
            "0 orders missing from analysts' view within 2 windows of the restart, 0 manual steps",
            f"{missing} of {len(waiting)} missing"
            + (f", all visible {all_in / 60:.1f} min after the restart" if all_in is not None else ""),
            missing == 0,
        )

    def failed_gate(self) -> None:
        moment = dt.datetime.now(dt.UTC)
        (good,) = self.finished_scheduled_runs(moment, 1, "success", 3 * WINDOW.total_seconds() + 300)
        record = self.lake.read_json(self.lake.path("_runs", "publish", f"{file_safe(good['dag_run_id'])}.json"))
        label = record["windows"][-1]
        self.pause(True)
        published = self.catalog.read_bytes()
        corrupt_window(self.lake, label)
        self.flow.clear(good["dag_run_id"], ["transform"], downstream=True)
        self.pause(False)
        gate = self.flow.wait_for_try(good["dag_run_id"], "dq_gate", 2, 600)
        quarantined = [mark.label for mark in progress.quarantined(self.lake)]
        held_after = dt.datetime.now(dt.UTC)
        held = self.finished_scheduled_runs(held_after, 3, "failed", 6 * WINDOW.total_seconds() + 600)
        unchanged = self.catalog.read_bytes() == published
        per_run = max(sum(1 for a in self.alerts() if a.get("run_id") == r["dag_run_id"]) for r in held)
        holding = all(self.flow.task_instances(r["dag_run_id"])["transform"]["state"] == "failed" for r in held)
        self.steps.add(
            "failed gate",
            "3 scheduled runs after a failed gate: 0 rows built on the failed window visible, <= 1 alert per run",
            f"gate {gate}, quarantined {quarantined}; 3 runs held: {holding}; catalog unchanged: {unchanged};"
            f" rejected rows ever seen: {self.reader.worst}; alerts per held run <= {per_run}",
            gate == "failed" and label in quarantined and holding and unchanged and self.reader.worst == 0
            and per_run <= 1,
        )  # fmt: skip
        self.flow.clear(good["dag_run_id"], ["extract_orders_window"], downstream=True)  # the runbook's repair
        repaired = self.flow.wait_for_try(good["dag_run_id"], "extract_orders_window", 2, 900)
        self.pause(True)
        same, told = self.rebuild_matches()
        lifted = progress.quarantined(self.lake) == []
        self.steps.add(
            "failed gate",
            "after the repair and re-run, the lake equals a full rebuild (row hashes)",
            f"repair run {repaired}, quarantine lifted: {lifted}; {told}",
            repaired == "success" and lifted and same,
        )

    def lost_window(self) -> None:
        today = dt.datetime.now(dt.UTC).date()
        settings = pipeline_settings.from_env(self.flow.env)
        clean = reconcile.reconcile(settings, "drill-trust-clean", [today])
        alerts_before = len(self.alerts())
        self.steps.add(
            "lost window",
            "a clean day gives 0 false alarms",
            f"{today}: {clean['status']}, alerts raised: {len(self.alerts()) - alerts_before}",
            clean["mismatched_days"] == [],
        )
        published = self.lake.read_json(self.lake.path("_progress", "published.json"))
        label = published["label"]
        lost = _window_order_ids(self.lake, label)
        for table in ("orders", "order_items"):  # as compaction deletes: the manifest first
            folder = self.lake.path("raw", table, f"window={label}")
            with contextlib.suppress(FileNotFoundError):
                self.lake.fs.delete_file(f"{folder}/_manifest.json")
            self.lake.delete_dir(folder)
        rebuilt = self.trigger_rebuild()
        after = reconcile.reconcile(settings, "drill-trust-loss", [today])
        named = [a for a in self.alerts()[alerts_before:] if a.get("incident") == f"reconcile_{today.isoformat()}"]
        self.steps.add(
            "lost window",
            "a published raw window lost: the reconciliation alerts naming the day",
            f"window {label} ({len(lost)} orders) deleted, lake_rebuild {rebuilt}: {after['status']} "
            f"{after['mismatched_days']}; alert: {named[0]['error'][:90] if named else 'none'}",
            after["mismatched_days"] == [today.isoformat()] and len(named) == 1 and str(len(lost)) in named[0]["error"],
        )
        # the runbook: re-extract it, on a running pipeline (a paused DAG's manual run would wait for the unpause)
        self.pause(False)
        run_id = self.flow.trigger(label_end(label) - WINDOW, length=WINDOW)
        self.flow.wait_for_run(run_id, 900)
        closed = reconcile.reconcile(settings, "drill-trust-repaired", [today])
        still_open = self.lake.exists(self.lake.path("_progress", "incidents", f"reconcile_{today}.json"))
        self.steps.add(
            "lost window",
            "re-extracting the window closes the incident",
            f"{closed['status']}; incident still open: {still_open}",
            closed["mismatched_days"] == [] and not still_open,
        )

    def kills(self) -> None:
        self.pause(False)
        moment = dt.datetime.now(dt.UTC)
        pid = wait_for(lambda: spark_jvm(self.flow), 3 * WINDOW.total_seconds() + 300)
        time.sleep(4)  # mid-transform: reading the state, writing versions
        os.kill(pid, signal.SIGKILL)
        run = wait_for(lambda: [r for r in self.flow.runs() if r["state"] == "running"], 60)[0]
        state = self.flow.wait_for_run(run["dag_run_id"], 900)
        tries = self.flow.task_instances(run["dag_run_id"])["transform"]["try_number"]
        self.pause(True)
        same, told = self.rebuild_matches()
        self.steps.add(
            "kill -9",
            "kill -9 of the transform mid-write, then its retry: the lake equals a full rebuild",
            f"run {state} on transform try {tries}; {told}",
            state == "success" and tries >= 2 and same,
        )
        killed_at = self.kill_compaction(moment)
        same, told = self.rebuild_matches()
        self.steps.add(
            "kill -9",
            "kill -9 of compaction mid-delete, then the next compaction: the lake equals a full rebuild",
            f"killed {killed_at}; {told}",
            same,
        )

    def kill_compaction(self, cutoff: dt.datetime) -> str:
        """Compaction of every published window in a process of its own, killed once its first month's index is
        written (its window folders being deleted), then run again to its end."""
        code = (
            "import datetime as dt, sys; from pipeline import compaction; from pipeline.lake import Lake;"
            "compaction.compact(Lake.from_uri(sys.argv[1]), dt.datetime.fromisoformat(sys.argv[2]), 'drill-trust')"
        )
        env = {**self.flow.env, "PYTHONPATH": f"{ROOT}:{ROOT / 'dags'}"}
        command = [sys.executable, "-c", code, self.lake.uri, cutoff.isoformat()]
        indexes = Path(self.lake.root) / compaction.COMPACTED
        before = {p: p.stat().st_mtime_ns for p in indexes.rglob(compaction.INDEX)} if indexes.exists() else {}
        worker = subprocess.Popen(command, env=env)
        try:
            wait_for(lambda: any(p.stat().st_mtime_ns != before.get(p) for p in indexes.rglob(compaction.INDEX))
                     if indexes.exists() else None, 300)  # fmt: skip
            worker.send_signal(signal.SIGKILL)
        finally:
            worker.wait()
        left = sum(1 for _ in (Path(self.lake.root) / "raw" / "orders").glob("window=*"))
        subprocess.run(command, env=env, check=True, timeout=600)
        return f"after its first index ({left} window folders left), then finished by a second run"

    def blind_role(self) -> None:
        self.pause(False)
        with psycopg2.connect(self.owner_url) as conn, conn.cursor() as cur:
            cur.execute(f"REVOKE pipeline_extract FROM {EXTRACT_LOGIN}")
            cur.execute(f"GRANT SELECT ON orders, order_items TO {EXTRACT_LOGIN}")  # it can read, but not see
        conn.close()
        revoked = dt.datetime.now(dt.UTC)
        (refused,) = self.finished_scheduled_runs(revoked, 1, "failed", 2 * WINDOW.total_seconds() + 300)
        alert = next((a for a in self.alerts() if a.get("run_id") == refused["dag_run_id"]), {})
        extract = self.flow.task_instances(refused["dag_run_id"])["extract_orders_window"]
        with psycopg2.connect(self.owner_url) as conn, conn.cursor() as cur:
            cur.execute(f"GRANT pipeline_extract TO {EXTRACT_LOGIN}")  # the runbook's fix
        conn.close()
        granted = time.time()
        waiting = self.orders.before(granted)
        wait_for(lambda: not (waiting - self.visible()), 3 * WINDOW.total_seconds() + 300)
        named = f"GRANT pipeline_extract TO {EXTRACT_LOGIN}" in alert.get("error", "")
        self.steps.add(
            "blind role",
            "the extract as a role without pg_read_all_stats refuses, naming the grant; 0 orders lost",
            f"extract {extract['state']} on try {extract['try_number']}, alert names the grant: {named}; "
            f"after the grant {len(waiting - self.visible())} of {len(waiting)} orders missing",
            named and extract["try_number"] == 1 and not (waiting - self.visible()),
        )

    def trigger_rebuild(self) -> str:
        self.flow.api("PATCH", "/dags/lake_rebuild", json={"is_paused": False})
        known = {r["dag_run_id"] for r in self.flow.runs("lake_rebuild")}
        conf = {"include_windows": True, "import_id": None, "as_of": dt.datetime.now(dt.UTC).date().isoformat()}
        self.flow.cli("dags", "trigger", "lake_rebuild", "-c", json.dumps(conf))
        run_id = wait_for(
            lambda: [r["dag_run_id"] for r in self.flow.runs("lake_rebuild") if r["dag_run_id"] not in known], 60
        )[0]
        return self.flow.wait_for_run(run_id, 900, dag_id="lake_rebuild")


ROW_COLUMNS = "order_id, line_no, order_date, status, quantity, unit_price, revenue, source_ref"


def rows_hash(rows: list[tuple]) -> str:
    """An order-independent hash of curated rows (ROW_COLUMNS), the same from DuckDB and from Spark."""
    digest = hashlib.sha256()
    for row in sorted(tuple(str(value) for value in row) for row in rows):
        digest.update("|".join(row).encode())
    return digest.hexdigest()


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _window_order_ids(lake: Lake, label: str) -> set[int]:
    folder = lake.path("raw", "orders", f"window={label}")
    return {
        row["id"]
        for info in lake.list_files(folder)
        if info.path.endswith(".parquet")
        for row in pq.read_table(info.path, filesystem=lake.fs, columns=["id"]).to_pylist()
    }


def month_axis(steps: Steps) -> None:
    """bench-hourly's touched-month axis (its own run, on a lake of its own)."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.hourly", "--work", str(STATE / "bench-hourly"), "--ages", "24",
         "--window-scales", "", "--month-scales", "1000"],
        capture_output=True, text=True, timeout=3600, check=False,
        env={**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'dags'}"},
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"bench.hourly: {done.stderr[-2000:]}")
    printed = done.stdout.split("touched month size", 1)[-1]
    console.print(f"touched month size{printed}")
    for line in printed.splitlines():
        if line.startswith("goal "):
            steps.add("month size", line[12:].split(":")[0], line.split(":", 1)[1].strip(), line.startswith("goal met"))


STEPS = ("outage", "failed_gate", "lost_window", "kills", "blind_role")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep .local/drill-trust/ afterwards")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed")
    parser.add_argument("--only", choices=STEPS, action="append", help="run only this step (repeatable)")
    parser.add_argument("--skip-bench", action="store_true", help="leave out bench-hourly's touched-month axis")
    args = parser.parse_args(argv)
    shutil.rmtree(STATE, ignore_errors=True)
    STATE.mkdir(parents=True)
    steps = Steps()
    services = start_services(STATE / "services", "bfp_drill_trust", fresh=False)
    try:
        schema_and_catalog(services, STATE, purchases.Scale("drill", rows=3_000, products=400, customers=60))
        with psycopg2.connect(services.database_url) as conn, conn.cursor() as cur:
            cur.execute(f"CREATE ROLE {EXTRACT_LOGIN} LOGIN IN ROLE pipeline_extract")
        conn.close()
        extract_url = make_url(services.database_url).set(username=EXTRACT_LOGIN).render_as_string(hide_password=False)
        env = pipeline_env(STATE / "airflow", free_port(), services.database_url)  # Airflow's metadata: the owner's
        env |= {"DATABASE_URL": extract_url}  # the pipeline reads the shop as its own login
        env |= {"BFP_WINDOW_MINUTES": str(int(WINDOW.total_seconds() // 60)), "BFP_COMPACT_AFTER_HOURS": "48"}
        orders = Orders(services.database_url)
        orders.start()
        with standalone(env) as flow:
            console.print(f"drill Airflow: {flow.url} (admin / admin), 5-minute windows, state {STATE}")
            trust = Trust(flow, services.database_url, orders, steps, Reader(Path(env["BFP_CATALOG_PATH"])))
            trust.reader.start()
            for name in args.only or STEPS:
                console.print(f"step: {name} …")
                try:
                    getattr(trust, name)()
                except (AssertionError, TimeoutError, RuntimeError, subprocess.SubprocessError) as exc:
                    steps.errors.append(f"{name}: {exc}"[:400])
                    console.print(f"[red]step {name} could not be run: {exc}"[:600])
            trust.reader.stop.set()
        orders.stop.set()
        if not args.skip_bench and not args.only:
            try:
                month_axis(steps)
            except (RuntimeError, subprocess.SubprocessError) as exc:
                steps.errors.append(f"month size: {exc}"[:400])
    finally:
        services.run("down")
        if not args.keep:
            shutil.rmtree(STATE / "services", ignore_errors=True)
    table = Table(
        "step", "goal", "measured", "verdict", title="make drill-trust: real airflow standalone, 5-minute windows"
    )
    for goal in steps.goals:
        table.add_row(goal.step, goal.goal, goal.measured, "met" if goal.met else "MISSED")
    console.print(table)
    for error in steps.errors:
        console.print(f"could not run: {error}")
    if steps.errors:
        return 1
    return 1 if args.strict and not all(goal.met for goal in steps.goals) else 0


if __name__ == "__main__":
    raise SystemExit(main())
