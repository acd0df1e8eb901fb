"""Full-scale Spark benchmark: the 1.8M-line purchases file through import, curated order_lines and all
marts on local[2] (or a cluster's master), Spark start-up included; per-stage seconds, rows/s, the full build
against a floor measured in the same session (a plain CSV -> Parquet pass of the same file), CSV size against
Parquet size.

Usage: python -m bench.transform [--scales 1,2,4] [--master spark://…] [--data data/bench] [--lake …]
(each size's CSV is generated first if it does not exist; with several sizes, a table of seconds per million
lines, the ratio to the floor and the driver's peak heap at each size follows). On local[2] the driver is also
the only executor, so its heap holds the executor's caches and shuffle buffers; on a cluster
(`make bench-transform-cluster`, the standalone cluster of `make spark-cluster`) the executors are other JVMs
and the driver's heap is the driver's alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import Outcome, add_strict
from bench.spark_stages import format_stages, stages_by_group
from datagen import purchases

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "spark"))
from jobs import build_marts, build_order_lines, import_purchases
from transforms.session import build_session

FLOOR = "floor: plain CSV -> Parquet, same session"


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*.parquet"))


def scaled_csv(folder: Path, scale: int) -> Path:
    """The purchases file at `scale` times the real file's size (generated once): as many lines, products and
    shoppers per line as the full scale, over the same days."""
    csv = folder / ("amazon-purchases.csv" if scale == 1 else f"amazon-purchases-x{scale}.csv")
    if not csv.exists():
        full = purchases.SCALES["full"]
        size = purchases.Scale(f"full-x{scale}", full.rows * scale, full.products * scale, full.customers * scale)
        purchases.write_purchases_csv(purchases.generate_purchases(size), csv)
    return csv


def peak_heap_mb(spark) -> float:
    """The driver JVM's peak heap use so far (every heap pool's peak), in MB (on local[2] also the executor's)."""
    management = spark.sparkContext._jvm.java.lang.management.ManagementFactory
    total = 0
    for pool in management.getMemoryPoolMXBeans():
        if str(pool.getType()) == "Heap memory":
            total += pool.getPeakUsage().getUsed()
    return total / 1e6


def live_heap_mb(spark) -> float:
    """The driver JVM's heap in use after a full collection, in MB: what it still holds, garbage aside (its
    peak also counts garbage not yet collected, which moves with the collector's timing, not with what is kept)."""
    jvm = spark.sparkContext._jvm
    jvm.java.lang.System.gc()  # G1: a full, stop-the-world collection (ExplicitGCInvokesConcurrent is off)
    return jvm.java.lang.management.ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() / 1e6


def build(csv: Path, lake_folder: Path, breakdown: bool, master: str, executor_memory: str) -> dict:
    """Floor, then import -> curated -> marts in one fresh session; the figures of the run."""
    shutil.rmtree(lake_folder, ignore_errors=True)
    lake = lake_folder.resolve().as_uri()
    wall = time.perf_counter()
    stages = []
    started = time.perf_counter()
    event_dir = Path(tempfile.mkdtemp(prefix="bfp-bench-events-"))
    spark = build_session(
        "bench-transform",
        master=master,
        # every stage's metrics, for the stage-by-stage breakdown printed below
        extra_conf={
            "spark.executor.memory": executor_memory,  # a cluster's executors (local[2] has none apart)
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
    spark.read.option("header", True).csv(str(csv.resolve())).write.mode("overwrite").parquet(f"{lake}/_floor")
    floor = time.perf_counter() - started
    steps = (
        (
            "import purchases (CSV -> typed Parquet)",
            lambda: import_purchases.import_file(spark, str(csv.resolve()), lake, "bench"),
        ),
        ("curated order_lines", lambda: build_order_lines.build(spark, lake, purchases_import="bench")),
        ("marts (4 + 2 season marts, calendar)", lambda: build_marts.build(spark, lake, None, dt.date.today())),
    )
    live = []
    for name, step in steps:
        started = time.perf_counter()
        spark.sparkContext.setJobGroup(name, name)
        assert step()["status"] == "success", name
        stages.append((name, time.perf_counter() - started))
        live.append(live_heap_mb(spark))  # after the step's clock stopped
    spark.sparkContext.setJobGroup("bench", "bench")
    rows = spark.read.parquet(f"{lake}/raw/purchases/import=bench").count()
    heap = peak_heap_mb(spark)
    spark.stop()
    by_step = stages_by_group(next(event_dir.iterdir())) if breakdown else {}
    shutil.rmtree(event_dir, ignore_errors=True)
    return {
        "master": master,
        "rows": rows,
        "stages": stages,
        "floor": floor,
        "build": sum(seconds for name, seconds in stages if name != "Spark start-up"),
        "wall": time.perf_counter() - wall,
        "heap_mb": heap,
        "live_heap_mb": max(live),
        "by_step": by_step,
        "csv_bytes": csv.stat().st_size,
        "raw_bytes": folder_bytes(lake_folder / "raw" / "purchases"),
        "curated_bytes": folder_bytes(lake_folder / "curated" / "order_lines"),
    }


def print_build(result: dict, outcome: Outcome) -> None:
    rows, stages, floor = result["rows"], result["stages"], result["floor"]
    print(f"bench-transform: {rows:,} purchase lines, {result['master']}")
    print(f"{'stage':<42}{'seconds':>9}{'rows/s':>12}")
    for name, seconds in stages:
        rate = f"{rows / seconds:>12,.0f}" if name != "Spark start-up" else f"{'':>12}"
        print(f"{name:<42}{seconds:>9.1f}{rate}")
    print(f"{FLOOR:<42}{floor:>9.1f}{rows / floor:>12,.0f}")
    print(f"wall, start-up and floor included: {result['wall']:.1f}s (the seed: 2-3 min on EMR)")
    csv_bytes, raw_bytes = result["csv_bytes"], result["raw_bytes"]
    print(
        f"CSV {csv_bytes / 1e6:,.1f} MB -> raw Parquet {raw_bytes / 1e6:,.1f} MB "
        f"({1 - raw_bytes / csv_bytes:.1%} smaller), curated {result['curated_bytes'] / 1e6:,.1f} MB"
    )
    outcome.goal("full build (import -> curated -> marts) / floor", result["build"] / floor, "<=", 3)
    outcome.goal("raw Parquet smaller than the CSV, share", 1 - raw_bytes / csv_bytes, ">=", 0.9)
    if result["by_step"]:
        print("\nStage by stage (Spark event log; wall time of each stage, its tasks' time on 2 cores, what it moved):")
        for name, seconds in [(FLOOR, floor), *stages[1:]]:
            print(f"  {name}: {seconds:.1f} s")
            print("\n".join(format_stages(result["by_step"].get(name, []))))


def print_scales(results: dict[int, dict], outcome: Outcome) -> None:
    """The build at each size: seconds per million lines, the ratio to the floor, the driver's heap (its peak,
    and the most it held after a step, measured after a full collection)."""
    header = f"{'scale':<7}{'lines':>12}{'build s':>9}{'s / M lines':>13}{'floor s':>9}{'/floor':>8}"
    print(f"\n{header}{'driver heap MB: peak':>21}{'held':>6}")
    for scale, r in results.items():
        per_million = r["build"] / (r["rows"] / 1e6)
        print(
            f"{scale:>4}x  {r['rows']:>12,}{r['build']:>9.1f}{per_million:>13.1f}{r['floor']:>9.1f}"
            f"{r['build'] / r['floor']:>8.2f}{r['heap_mb']:>21,.0f}{r['live_heap_mb']:>6,.0f}"
        )
    first, last = results[min(results)], results[max(results)]
    growth = (last["build"] / last["rows"]) / (first["build"] / first["rows"])
    heap_growth = last["live_heap_mb"] / first["live_heap_mb"]
    if first["master"].startswith("local"):
        print(
            f"driver heap at {max(results)}x / at {min(results)}x: {heap_growth:.2f}, not a driver figure on "
            f"{first['master']} (its driver is the executor): make bench-transform-cluster measures the driver alone"
        )
    outcome.goal(f"seconds per million lines at {max(results)}x / at {min(results)}x", growth, "<=", 1.1)
    for scale, r in results.items():
        outcome.goal(f"{scale}x build / floor", r["build"] / r["floor"], "<=", 3)
    if not first["master"].startswith("local"):
        # "flat": what the driver holds must not grow with the input (nothing proportional to it is collected)
        outcome.goal(f"driver heap held at {max(results)}x / at {min(results)}x (flat)", heap_growth, "<=", 1.2)


def scales_arg(text: str) -> list[int]:
    """--scales: positive whole multiples of the 1.8M lines, comma-separated (e.g. 1,2,4)."""
    try:
        scales = sorted({int(part) for part in text.split(",")})
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give whole numbers separated by commas, e.g. 1,2,4") from None
    if scales[0] < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: each size is a multiple of the 1.8M lines, 1 or more")
    return scales


def master_arg(text: str) -> str:
    """--master: local[N] / local[*] or a standalone master's spark://host:port."""
    if not re.fullmatch(r"local\[(\d+|\*)\]|spark://[\w.-]+:\d+", text):
        raise argparse.ArgumentTypeError(f"{text!r}: give local[2] (or local[N]) or spark://host:port")
    return text


def memory_arg(text: str) -> str:
    """--executor-memory: a JVM heap size the way Spark takes it (e.g. 1g, 1536m)."""
    if not re.fullmatch(r"\d+[kmgt]", text.lower()):
        raise argparse.ArgumentTypeError(f"{text!r}: give a size with its unit, e.g. 1g or 1536m")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.transform", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/bench"), help="where the CSVs are (made once)")
    parser.add_argument("--lake", type=Path, default=Path("data/bench/spark-lake"))
    parser.add_argument(
        "--scales", type=scales_arg, default=[1], help="sizes to build, times the 1.8M lines: e.g. 1,2,4 (1)"
    )
    parser.add_argument(
        "--master", type=master_arg, default="local[2]", help="where the jobs run: local[2] or spark://host:port"
    )
    parser.add_argument(
        "--executor-memory", type=memory_arg, default="1g", help="each executor's heap on a cluster (%(default)s)"
    )
    add_strict(parser)
    args = parser.parse_args(argv)
    outcome = Outcome("bench-transform")
    scales = args.scales
    results = {}
    for scale in scales:
        csv = scaled_csv(args.data, scale)
        results[scale] = build(csv, args.lake, scale == scales[0], args.master, args.executor_memory)
        if scale == scales[0]:
            print_build(results[scale], outcome)
    if len(scales) > 1:
        print_scales(results, outcome)
    outcome.figure(
        "scales",
        {
            str(scale): {
                "lines": r["rows"], "build_s": r["build"], "floor_s": r["floor"],
                "s_per_million_lines": r["build"] / (r["rows"] / 1e6),
                "driver_heap_peak_mb": r["heap_mb"], "driver_heap_held_mb": r["live_heap_mb"],
            }
            for scale, r in results.items()
        },
    )  # fmt: skip
    outcome.control(all(r["rows"] > 0 for r in results.values()), "every build read its purchase lines")
    return outcome.finish(args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
