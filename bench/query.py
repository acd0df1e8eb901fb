"""Full-scale publish benchmark: the 1.8M-line purchases file through the lake_rebuild DAG's task functions
(Spark refresh via spark-submit -> GX gate -> registration -> publication record), timed per step; then every
canonical analyst query on the registered full-scale lake, p50/p95 over repeated runs (sqlglot translation
included, as the CLI runs them).

Usage: python -m bench.query [--csv data/bench/amazon-purchases.csv] [--lake data/bench/publish-lake]
       [--runs 30] [--skip-pipeline]   (the CSV is generated at full scale first if it does not exist)
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import time
from dataclasses import replace
from pathlib import Path

from analytics import dashboard, queries
from bench.athena_scan import ATHENA_MINIMUM_BYTES, ATHENA_USD_PER_TB, MeteredAnalyst, Scan, cost_usd
from bench.harness import Outcome, add_strict
from datagen import purchases
from pipeline import settings as pipeline_settings
from pipeline.gate import dq_gate_step
from pipeline.publish import register_step
from pipeline.transform import transform_step

GOAL_P95_MS = 100
GOAL_PIPELINE_S = 180


def run_pipeline(settings, csv: Path) -> list[tuple[str, float]]:
    """The lake_rebuild DAG's tasks, in its order, with its arguments."""
    stages = []
    started = time.perf_counter()
    refresh = transform_step.transform(
        settings, "bench", ["--import-id", "bench", "--purchases-csv", str(csv.resolve()), "--all-windows"]
    )
    stages.append(("transform: spark-submit refresh.py (import, curated, marts)", time.perf_counter() - started))
    for part in ("import_purchases", "order_lines", "marts"):
        stages.append((f"  of which {part} (inside Spark)", refresh[part]["duration_seconds"]))
    started = time.perf_counter()
    dq = dq_gate_step.dq_gate(settings, "bench", [], refresh)
    stages.append((f"dq_gate: {dq['checks']} suites, {dq['expectations']} expectations", time.perf_counter() - started))
    started = time.perf_counter()
    registered = register_step.register_run(settings, refresh)
    partitions = sum(len(specs) for specs in registered["registered"].values())
    stages.append((f"register_partitions: {partitions} partitions", time.perf_counter() - started))
    return stages


def time_queries(catalog_path: str, runs: int) -> list[tuple[str, int, float, float, float]]:
    rows = []
    with queries.Analyst(catalog_path) as analyst:
        for name, path in queries.canonical_queries().items():
            sql = path.read_text()
            values = queries.bind(sql, {})  # each parameter at its default (the latest season)
            for _ in range(3):  # warm-up: file metadata and the OS cache
                analyst.run_sql(sql, values=values)
            times, translate = [], []
            for _ in range(runs):
                started = time.perf_counter()
                queries.to_duckdb(sql)
                translate.append(time.perf_counter() - started)
                started = time.perf_counter()
                result = analyst.run_sql(sql, values=values)
                times.append(time.perf_counter() - started)
            times.sort()
            p95 = times[max(0, round(0.95 * len(times)) - 1)]
            rows.append(
                (name, len(result.rows), statistics.median(times) * 1e3, p95 * 1e3, statistics.median(translate) * 1e3)
            )
    return rows


def measure_scans(catalog_path: str) -> tuple[dict[str, Scan], list[Scan], Scan]:
    """(each canonical query's scan with its default parameters, the scans of one dashboard refresh, an analyst's
    scan of every column of curated.order_lines)."""
    with MeteredAnalyst(catalog_path) as analyst:
        canonical = {}
        for name in queries.canonical_queries():
            analyst.run_canonical(name)
            canonical[name] = analyst.scans[-1]
        before = len(analyst.scans)
        dashboard.collect(analyst)
        refresh = analyst.scans[before:]
        analyst.run_sql("SELECT max(COLUMNS(*)) FROM curated.order_lines", dialect="duckdb")
        return canonical, refresh, analyst.scans[-1]


def print_scans(canonical: dict[str, Scan], refresh: list[Scan], full: Scan, outcome: Outcome) -> None:
    print(
        f"\nBytes scanned (DuckDB's profile: the Parquet column chunks read after pruning, what Athena bills at "
        f"${ATHENA_USD_PER_TB:.0f}/TB, at least {ATHENA_MINIMUM_BYTES // 2**20} MB a query)"
    )
    print(f"  {'query':<44} {'files':>6} {'bytes scanned':>14} {'USD billed':>11}")
    rows = [
        (name, scan.files_read, scan.bytes_scanned, cost_usd(scan.bytes_scanned)) for name, scan in canonical.items()
    ]
    rows.append(
        (
            f"dashboard refresh ({len(refresh)} queries)",
            sum(scan.files_read for scan in refresh),
            sum(scan.bytes_scanned for scan in refresh),
            sum(cost_usd(scan.bytes_scanned) for scan in refresh),  # each query billed on its own
        )
    )
    rows.append(
        ("curated.order_lines, every column", full.files_read, full.bytes_scanned, cost_usd(full.bytes_scanned))
    )
    for name, files, scanned, usd in rows:
        print(f"  {name:<44} {files:>6,} {scanned:>14,} {usd:>11.6f}")
    outcome.figure("query_bytes", {name: scan.bytes_scanned for name, scan in canonical.items()})
    outcome.figure("dashboard", {"queries": len(refresh), "bytes": rows[-2][2], "usd": rows[-2][3]})
    outcome.figure("full_scan_bytes", full.bytes_scanned)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.query", description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=Path("data/bench/amazon-purchases.csv"))
    parser.add_argument("--lake", type=Path, default=Path("data/bench/publish-lake"))
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--skip-pipeline", action="store_true", help="reuse the lake and catalog of a previous run")
    add_strict(parser)
    args = parser.parse_args(argv)
    outcome = Outcome("bench-query")
    lake = args.lake.resolve()
    settings = replace(
        pipeline_settings.from_env({"BFP_TARGET": "local"}),
        lake_uri=lake.as_uri(),
        catalog_path=str(lake.parent / "publish-catalog.duckdb"),
    )
    if not args.skip_pipeline:
        if not args.csv.exists():
            purchases.write_purchases_csv(purchases.generate_purchases(purchases.SCALES["full"]), args.csv)
        shutil.rmtree(lake, ignore_errors=True)
        Path(settings.catalog_path).unlink(missing_ok=True)
        wall = time.perf_counter()
        stages = run_pipeline(settings, args.csv)
        wall_s = time.perf_counter() - wall
        lines = sum(1 for _ in args.csv.open()) - 1
        print(f"\nFull pipeline, lake_rebuild's tasks on {lines:,} purchase lines ({args.csv}), local[2]")
        for name, seconds in stages:
            print(f"  {name:<62} {seconds:7.1f} s")
        print(f"  {'end to end':<62} {outcome.figure('pipeline_s', wall_s):7.1f} s")
        outcome.goal("full pipeline end to end, seconds", wall_s, "<=", GOAL_PIPELINE_S)

    rows = time_queries(settings.catalog_path, args.runs)
    print(f"\nCanonical queries on the registered full-scale lake (DuckDB, {args.runs} runs each after 3 warm-ups)")
    print(f"  {'query':<18} {'rows':>5} {'p50 ms':>8} {'p95 ms':>8} {'sqlglot ms':>11}")
    for name, count, p50, p95, translate in rows:
        print(f"  {name:<18} {count:>5} {p50:>8.1f} {p95:>8.1f} {translate:>11.2f}")
    outcome.figure("p95_ms", {name: p95 for name, _, _, p95, _ in rows})
    outcome.goal("worst canonical query p95, ms", max(r[3] for r in rows), "<=", GOAL_P95_MS)
    canonical, refresh, full = measure_scans(settings.catalog_path)
    print_scans(canonical, refresh, full, outcome)
    # a query that returns nothing on the full lake times nothing; a profile that saw no bytes is blind
    empty = [name for name, count, *_ in rows if count == 0]
    outcome.control(not empty, f"every canonical query returns rows on the registered lake: {empty or 'yes'}")
    unseen = [name for name, scan in canonical.items() if scan.bytes_scanned == 0]
    unseen += ["the full scan"] if full.bytes_scanned == 0 else []
    outcome.control(not unseen, f"the profile saw the bytes every query scanned: {unseen or 'yes'}")
    return outcome.finish(args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
