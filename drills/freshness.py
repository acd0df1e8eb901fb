"""Freshness drill (`make drill-freshness`): how long an order takes from its commit in PostgreSQL to an
analyst's query, under the real scheduler with 15-minute windows (BFP_WINDOW_MINUTES=15) and the production
extract lag (BFP_EXTRACT_LAG_SECONDS=120).

A real `airflow standalone` (scripts/airflow.sh, on services of its own) runs `orders_pipeline` on its
schedule; orders are committed one at a time at a steady pace for `--minutes`; an analyst polls the catalog
every 5 s and notes when each order's lines first show in `curated.order_lines`. Prints the freshness of
every order (p50, p95, worst) and of each scheduled run (window end to publication). Goal: p95 <= 20 min.
Exits 1 when it is missed or an order never shows (nothing may be lost).

Usage: python -m drills.freshness [--minutes 45] [--every 20]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import shutil
import threading
import time
from pathlib import Path

import duckdb

from datagen import purchases
from datagen.simulate import Simulator
from drills.airflow_api import pipeline_env, standalone
from drills.serve import console
from support.net import free_port, wait_until
from support.report import goal_table
from support.services import schema_and_catalog, start_services

ROOT = Path(__file__).resolve().parents[1]
STATE = ROOT / ".local" / "drill-freshness"
GOAL_P95_MINUTES = 20.0
WINDOW_MINUTES = 15


class Analyst(threading.Thread):
    """Polls the catalog: when each OLTP order first showed."""

    def __init__(self, catalog: Path):
        super().__init__(daemon=True)
        self.catalog, self.stop, self.first_seen = catalog, threading.Event(), {}

    def run(self) -> None:
        while not self.stop.is_set():
            with contextlib.suppress(duckdb.Error):  # no catalog yet, or being written: the next tick reads it
                with duckdb.connect(str(self.catalog), read_only=True) as conn:
                    rows = conn.execute(
                        "SELECT DISTINCT order_id FROM curated.order_lines WHERE source = 'oltp'"
                    ).fetchall()
                now = time.time()
                for (order_id,) in rows:
                    self.first_seen.setdefault(order_id, now)
            self.stop.wait(5)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=45.0, help="how long orders are placed (%(default)s)")
    parser.add_argument("--every", type=float, default=20.0, help="seconds between orders (%(default)s)")
    args = parser.parse_args(argv)
    shutil.rmtree(STATE, ignore_errors=True)
    STATE.mkdir(parents=True)
    services = start_services(STATE / "services", "bfp_drill_freshness")
    committed: dict[str, float] = {}
    try:
        schema_and_catalog(services, STATE, purchases.Scale("drill", rows=3_000, products=400, customers=60))
        env = pipeline_env(STATE / "airflow", free_port(), services.database_url)
        env |= {"BFP_WINDOW_MINUTES": str(WINDOW_MINUTES), "BFP_EXTRACT_LAG_SECONDS": "120"}
        simulator = Simulator(services.database_url, seed=11)
        with standalone(env) as flow:  # orders_pipeline unpaused: its runs come from the schedule, no trigger
            console.print(f"drill-freshness: {flow.url}; orders every {args.every:.0f} s for {args.minutes:.0f} min")
            analyst = Analyst(Path(env["BFP_CATALOG_PATH"]))
            analyst.start()
            until = time.time() + args.minutes * 60
            while time.time() < until:
                (order,) = simulator.place_orders(1)  # committed when it returns
                committed[f"o-{order.id}"] = time.time()
                time.sleep(args.every)  # a steady pace of orders, not a synchronisation

            # the last order's window ends within 15 min; its run publishes a few minutes later
            def everything_seen() -> bool:
                return set(committed) <= set(analyst.first_seen)

            with contextlib.suppress(AssertionError):  # what is still not visible then is reported as such
                wait_until(everything_seen, (WINDOW_MINUTES + 15) * 60, "every order to be visible", every=5)
            analyst.stop.set()
            runs = [
                run
                for run in flow.runs()
                if run["run_type"] == "scheduled" and run["state"] == "success" and run.get("data_interval_end")
            ]
    finally:
        services.run("down")
    fresh = [(analyst.first_seen[oid] - at) / 60 for oid, at in committed.items() if oid in analyst.first_seen]
    lost = len(committed) - len(fresh)
    p95 = percentile(fresh, 0.95) if fresh else float("inf")
    rows: list[tuple[str, str, str, bool | None]] = [
        ("orders committed; never visible", f"{len(committed)}; {lost}", "0 lost", lost == 0)
    ]
    if fresh:
        figure = f"{percentile(fresh, 0.5):.1f} / {p95:.1f} / {max(fresh):.1f}"
        rows.append(
            ("freshness p50 / p95 / worst (min)", figure, f"p95 ≤ {GOAL_P95_MINUTES:.0f}", p95 <= GOAL_P95_MINUTES)
        )
    else:
        rows.append(("freshness", "no order became visible", f"p95 ≤ {GOAL_P95_MINUTES:.0f}", False))
    for run in sorted(runs, key=lambda r: r["data_interval_end"]):
        end = dt.datetime.fromisoformat(run["data_interval_end"].replace("Z", "+00:00"))
        finished = dt.datetime.fromisoformat(run["end_date"].replace("Z", "+00:00"))
        after = (finished - end).total_seconds() / 60
        rows.append((f"scheduled run, window ending {end:%H:%M}", f"published {after:.1f} min after it", "—", None))
    return goal_table(console, "make drill-freshness: commit → analyst's query", rows)


if __name__ == "__main__":
    raise SystemExit(main())
