"""Full-scale Spark benchmark: the 1.8M-line purchases file through import, curated order_lines and all
marts on local[2], Spark start-up included; per-stage seconds, rows/s, the full build against a floor measured
in the same session (a plain CSV -> Parquet pass of the same file), CSV size against Parquet size.

Usage: python -m bench.transform [--csv data/bench/amazon-purchases.csv] [--lake data/bench/spark-lake]
(the CSV is generated at full scale first if it does not exist).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.spark_stages import format_stages, stages_by_group
from datagen import purchases

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "spark"))
from jobs import build_marts, build_order_lines, import_purchases
from transforms.session import build_session

FLOOR = "floor: plain CSV -> Parquet, same session"


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*.parquet"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.transform", description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=Path("data/bench/amazon-purchases.csv"))
    parser.add_argument("--lake", type=Path, default=Path("data/bench/spark-lake"))
    args = parser.parse_args(argv)
    if not args.csv.exists():
        purchases.write_purchases_csv(purchases.generate_purchases(purchases.SCALES["full"]), args.csv)
    shutil.rmtree(args.lake, ignore_errors=True)
    lake = args.lake.resolve().as_uri()

    wall = time.perf_counter()
    stages = []
    started = time.perf_counter()
    event_dir = Path(tempfile.mkdtemp(prefix="bfp-bench-events-"))
    spark = build_session(
        "bench-transform",
        master="local[2]",
        # every stage's metrics, for the stage-by-stage breakdown printed below
        extra_conf={
            "spark.eventLog.enabled": "true",
            "spark.eventLog.dir": event_dir.as_uri(),
            "spark.eventLog.compress": "false",
            "spark.eventLog.rolling.enabled": "false",
        },
    )
    stages.append(("Spark start-up", time.perf_counter() - started))
    # The floor, in the same session: the plainest pass over the same file (read the CSV, write Parquet).
    started = time.perf_counter()
    spark.sparkContext.setJobGroup(FLOOR, FLOOR)
    spark.read.option("header", True).csv(str(args.csv.resolve())).write.mode("overwrite").parquet(f"{lake}/_floor")
    floor = time.perf_counter() - started
    for name, job, job_args in (
        (
            "import purchases (CSV -> typed Parquet)",
            import_purchases,
            ["--input", str(args.csv.resolve()), "--lake", lake, "--import-id", "bench"],
        ),
        ("curated order_lines", build_order_lines, ["--lake", lake, "--purchases-import", "bench"]),
        ("marts (4 + 2 season marts, calendar)", build_marts, ["--lake", lake]),
    ):
        started = time.perf_counter()
        spark.sparkContext.setJobGroup(name, name)
        assert job.run(spark, job.parse_args(job_args))["status"] == "success", name
        stages.append((name, time.perf_counter() - started))
    spark.sparkContext.setJobGroup("bench", "bench")
    rows = spark.read.parquet(f"{lake}/raw/purchases/import=bench").count()
    spark.stop()
    wall_s = time.perf_counter() - wall
    by_step = stages_by_group(next(event_dir.iterdir()))
    shutil.rmtree(event_dir, ignore_errors=True)

    csv_bytes = args.csv.stat().st_size
    raw_bytes = folder_bytes(args.lake / "raw" / "purchases")
    curated_bytes = folder_bytes(args.lake / "curated" / "order_lines")
    print(f"bench-transform: {rows:,} purchase lines, local[2]")
    print(f"{'stage':<42}{'seconds':>9}{'rows/s':>12}")
    for name, seconds in stages:
        rate = f"{rows / seconds:>12,.0f}" if name != "Spark start-up" else f"{'':>12}"
        print(f"{name:<42}{seconds:>9.1f}{rate}")
    build = sum(seconds for name, seconds in stages if name != "Spark start-up")
    print(f"{FLOOR:<42}{floor:>9.1f}{rows / floor:>12,.0f}")
    print(f"full build (import -> curated -> marts) / floor: {build / floor:.2f}x (goal <= 3x)")
    print(f"wall, start-up and floor included: {wall_s:.1f}s (the seed: 2-3 min on EMR)")
    print(
        f"CSV {csv_bytes / 1e6:,.1f} MB -> raw Parquet {raw_bytes / 1e6:,.1f} MB "
        f"({1 - raw_bytes / csv_bytes:.1%} smaller; goal >= 90%), curated {curated_bytes / 1e6:,.1f} MB"
    )
    print("\nStage by stage (Spark event log; wall time of each stage, its tasks' time on 2 cores, what it moved):")
    for name, seconds in [(FLOOR, floor), *stages[1:]]:
        print(f"  {name}: {seconds:.1f} s")
        print("\n".join(format_stages(by_step.get(name, []))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
